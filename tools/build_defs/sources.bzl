"""cc_sources: every C++ source and header of a package, generated ones too.

For tests that read the project's sources rather than build them
(//port:torch2_compile_test compiles each LibTorch translation unit against
other LibTorch headers). One per package:

  cc_sources(generated = [":pipeline_proto_gen"])
"""

def cc_sources(generated = []):
    native.filegroup(
        name = "cc_sources",
        srcs = native.glob(["**/*.cc", "**/*.h"]) + generated,
        testonly = True,
        visibility = ["//port:__pkg__"],
    )
