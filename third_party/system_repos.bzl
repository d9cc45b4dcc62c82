"""Repository rules that bring system libraries into the offline workspace.

Nothing is downloaded. Each rule inspects a prefix on this machine and writes
a BUILD file whose cc_library targets carry link options (and headers when
the prefix is not /usr, whose include directory the compiler already
searches and Bazel already trusts).

Environment variables (re-read when they change):
  SNIPER_SYSTEM_PREFIX  prefix of glog/gflags/absl/protobuf/gtest/benchmark/
                        simdjson/turbojpeg/png/zlib/cairo (default /usr).
  SNIPER_TORCH_PREFIX   a LibTorch prefix with include/ and lib/, e.g. the
                        torch/ directory of a PyTorch 2.x wheel. Unset:
                        Debian's libtorch-dev (CPU; 1.13 on Debian 12, 2.6
                        on Debian 13).
  SNIPER_CUDA_PATH      CUDA toolkit root (default /usr/local/cuda).
"""

# The Abseil components the code includes (absl/strings, status, flags,
# container, types/span); their libraries come from Abseil's pkg-config files.
_ABSL_MODULES = [
    "absl_flags",
    "absl_flags_parse",
    "absl_flags_usage",
    "absl_flat_hash_map",
    "absl_flat_hash_set",
    "absl_span",
    "absl_status",
    "absl_statusor",
    "absl_str_format",
    "absl_strings",
]

def _pc_fields(ctx, pc_dir, module):
    """(Requires module names, -l libraries) of pc_dir/module.pc."""
    path = ctx.path("%s/%s.pc" % (pc_dir, module))
    if not path.exists:
        fail("no %s: apt-get install libabsl-dev (or set SNIPER_SYSTEM_PREFIX " % path +
             "to a prefix with Abseil's lib/pkgconfig)")
    requires, libs = [], []
    for line in ctx.read(path).splitlines():
        if line.startswith("Requires:"):
            for item in line[len("Requires:"):].split(","):
                if item.strip():
                    requires.append(item.strip().split(" ")[0])
        elif line.startswith("Libs:"):
            libs += [t[2:] for t in line[len("Libs:"):].split(" ") if t.startswith("-labsl_")]
    return requires, libs

def _absl_libs(ctx, libdir):
    """The Abseil libraries _ABSL_MODULES need, dependents first.

    Read from Abseil's pkg-config files, which every release installs: how
    Abseil splits into libraries changes between releases (20240722 moved
    string_view out of absl_strings into absl_string_view), and linking every
    installed library is wrong too (absl_log_flags registers flags at load
    time and crashed binaries that never use it).
    """
    pc_dir = libdir + "/pkgconfig"
    fields = {}
    todo = list(_ABSL_MODULES)
    for _ in range(10000):  # Starlark has no while loop; the closure is ~100
        if not todo:
            break
        m = todo.pop()
        if m in fields:
            continue
        fields[m] = _pc_fields(ctx, pc_dir, m)
        todo += [r for r in fields[m][0] if r not in fields]
    # Kahn's order: a module before the modules it requires.
    indegree = {m: 0 for m in fields}
    for m in fields:
        for r in fields[m][0]:
            indegree[r] += 1
    ready = sorted([m for m in fields if indegree[m] == 0])
    libs = []
    for _ in range(len(fields)):
        if not ready:
            break
        m = ready.pop(0)
        libs += [l for l in fields[m][1] if l not in libs]
        for r in sorted(fields[m][0]):
            indegree[r] -= 1
            if indegree[r] == 0:
                ready.append(r)
    if not libs:
        fail("Abseil's pkg-config files under %s name no libraries" % pc_dir)
    return libs

# name -> (libraries, extra deps within the repository)
_SYSTEM_LIBS = {
    "gflags": (["gflags"], []),
    "glog": (["glog"], [":gflags"]),
    "absl": (None, []),  # _absl_libs: what is installed
    "protobuf": (["protobuf"], []),
    "gtest": (["gtest"], []),
    "gtest_main": (["gtest_main"], [":gtest"]),
    "gmock": (["gmock"], [":gtest"]),
    "benchmark": (["benchmark"], []),
    "benchmark_main": (["benchmark_main"], [":benchmark"]),
    "simdjson": (["simdjson"], []),
    "turbojpeg": (["turbojpeg"], []),
    "jpeg": (["jpeg"], []),
    "png": (["png16"], [":zlib"]),
    "zlib": (["z"], []),
    "cairo": (["cairo"], []),  # headers: <cairo/cairo.h> under the prefix
    "expat": (["expat"], []),  # Pascal VOC's XML (data/voc_dataset.h)
    "yaml": (["yaml"], []),  # YOLO's data.yaml (data/yolo_dataset.h)
}

_TESTONLY = ["gtest", "gtest_main", "gmock", "benchmark", "benchmark_main"]

def _lib_dir(ctx, prefix):
    for d in ["lib/x86_64-linux-gnu", "lib64", "lib"]:
        if ctx.path(prefix + "/" + d).exists:
            return prefix + "/" + d
    fail("no lib directory under " + prefix)

def _system_libs_impl(ctx):
    prefix = ctx.os.environ.get("SNIPER_SYSTEM_PREFIX", "/usr")
    libdir = _lib_dir(ctx, prefix)
    lines = ['package(default_visibility = ["//visibility:public"])', ""]
    hdr_dep = []
    if prefix != "/usr":
        ctx.symlink(prefix + "/include", "include")
        lines.append('cc_library(name = "headers", hdrs = glob(["include/**"]), includes = ["include"])')
        hdr_dep = [":headers"]
    rpath = [] if prefix == "/usr" else ["-L" + libdir, "-Wl,-rpath," + libdir]
    for name, (libs, deps) in _SYSTEM_LIBS.items():
        if libs == None:
            libs = _absl_libs(ctx, libdir)
        lines.append("cc_library(")
        lines.append('    name = "%s",' % name)
        lines.append("    linkopts = %s," % repr(rpath + ["-l" + l for l in libs] + ["-lpthread"]))
        lines.append("    deps = %s," % repr(deps + hdr_dep))
        if name in _TESTONLY:
            lines.append("    testonly = True,")
        lines.append(")")
    ctx.file("BUILD", "\n".join(lines) + "\n")
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)

system_libs_configure = repository_rule(
    implementation = _system_libs_impl,
    environ = ["SNIPER_SYSTEM_PREFIX"],
    local = True,
)

def _torch_impl(ctx):
    prefix = ctx.os.environ.get("SNIPER_TORCH_PREFIX", "")
    if prefix:
        if not ctx.path(prefix + "/include/torch").exists:
            fail("SNIPER_TORCH_PREFIX=%s has no include/torch" % prefix)
        ctx.symlink(prefix + "/include", "include")
        ctx.symlink(prefix + "/lib", "lib")
        libdir = prefix + "/lib"
        includes = ["include", "include/torch/csrc/api/include"]
        hdrs = 'glob(["include/**"])'
    else:
        api = "/usr/include/torch/csrc/api/include"
        if not ctx.path(api).exists:
            # Declared anyway so that torch-free builds still load; using a
            # torch target fails with this message.
            ctx.file("BUILD", "\n".join([
                'package(default_visibility = ["//visibility:public"])',
                'genrule(name = "missing", outs = ["missing.h"], cmd = "echo \'LibTorch not found: apt-get install libtorch-dev or set SNIPER_TORCH_PREFIX\' >&2; exit 1")',
                'cc_library(name = "torch", hdrs = [":missing"])',
                'cc_library(name = "torch_cuda", hdrs = [":missing"])',
            ]) + "\n")
            ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
            return
        ctx.symlink(api, "api_include")
        libdir = _lib_dir(ctx, "/usr")
        includes = ["api_include"]
        hdrs = 'glob(["api_include/**"])'
    has_cuda = ctx.path(libdir + "/libtorch_cuda.so").exists
    link = ["-L" + libdir, "-Wl,-rpath," + libdir]
    if has_cuda:
        # --no-as-needed: libtorch_cuda registers its kernels at load time.
        link += ["-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed"]
    link += ["-ltorch", "-ltorch_cpu", "-lc10", "-lpthread"]
    ctx.file("BUILD", "\n".join([
        'package(default_visibility = ["//visibility:public"])',
        "cc_library(",
        '    name = "torch",',
        "    hdrs = %s," % hdrs,
        "    includes = %s," % repr(includes),
        "    defines = %s," % repr(["SNIPER_TORCH_HAS_CUDA=1"] if has_cuda else []),
        "    linkopts = %s," % repr(link),
        ")",
    ]) + "\n")
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)

torch_configure = repository_rule(
    implementation = _torch_impl,
    environ = ["SNIPER_TORCH_PREFIX"],
    local = True,
)

def _cuda_impl(ctx):
    path = ctx.os.environ.get("SNIPER_CUDA_PATH", "/usr/local/cuda")
    nvcc = path + "/bin/nvcc"
    available = ctx.path(nvcc).exists
    lines = ['package(default_visibility = ["//visibility:public"])']
    if available:
        ctx.symlink(path + "/include", "include")
        libdir = path + "/lib64"
        lines += [
            "cc_library(",
            '    name = "cudart",',
            '    hdrs = glob(["include/**/*.h", "include/**/*.hpp", "include/**/*.cuh", "include/**/*.inl"]),',
            '    includes = ["include"],',
            "    linkopts = %s," % repr(["-L" + libdir, "-Wl,-rpath," + libdir, "-lcudart", "-ldl", "-lrt", "-lpthread"]),
            ")",
        ]
    else:
        lines += ['cc_library(name = "cudart")']
    ctx.file("BUILD", "\n".join(lines) + "\n")
    ctx.file("defs.bzl", "CUDA_AVAILABLE = %s\nNVCC = %s\nCUDA_PATH = %s\n" % (
        "True" if available else "False",
        repr(nvcc),
        repr(path),
    ))
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)

cuda_configure = repository_rule(
    implementation = _cuda_impl,
    environ = ["SNIPER_CUDA_PATH"],
    local = True,
)
