"""embed_text: a text file compiled into a C++ string constant.

Used for embedded defaults (configs/*.pbtxt) so that binaries run with no
flags and no files beside them.

  embed_text(name = "x", src = "a.pbtxt", symbol = "kA")
gives a cc_library with header <name>.h declaring
  namespace sniper::embedded { extern const char kA[]; }
"""

def embed_text(name, src, symbol, visibility = ["//:__subpackages__"]):
    header = name + ".h"
    source = name + ".cc"
    native.genrule(
        name = name + "_gen",
        srcs = [src],
        outs = [header, source],
        cmd = " ".join([
            "$(location //tools/build_defs:embed_text)",
            "--symbol=" + symbol,
            "--input=$(location %s)" % src,
            "--header=$(location %s)" % header,
            "--source=$(location %s)" % source,
            "--include=" + native.package_name() + "/" + header,
        ]),
        tools = ["//tools/build_defs:embed_text"],
    )
    native.cc_library(
        name = name,
        srcs = [source],
        hdrs = [header],
        visibility = visibility,
    )
