"""Repository rules that bring system libraries into the offline workspace.

Nothing is downloaded. Each rule inspects a prefix on this machine and writes
a BUILD file whose cc_library targets carry link options (and headers when
the prefix is not /usr, whose include directory the compiler already
searches and Bazel already trusts).

Environment variables (re-read when they change):
  SNIPER_SYSTEM_PREFIX  prefix of glog/gflags/absl/protobuf/gtest/benchmark/
                        simdjson/turbojpeg/png/zlib (default /usr).
  SNIPER_TORCH_PREFIX   a LibTorch prefix with include/ and lib/, e.g. the
                        torch/ directory of a PyTorch 2.x wheel. Unset:
                        Debian's libtorch-dev (1.13, CPU).
  SNIPER_CUDA_PATH      CUDA toolkit root (default /usr/local/cuda).
"""

_ABSL_LIBS = [
    "absl_flags_parse",
    "absl_flags_usage",
    "absl_flags_usage_internal",
    "absl_flags_internal",
    "absl_flags_marshalling",
    "absl_flags_reflection",
    "absl_flags_private_handle_accessor",
    "absl_flags_commandlineflag",
    "absl_flags_commandlineflag_internal",
    "absl_flags_config",
    "absl_flags_program_name",
    "absl_statusor",
    "absl_status",
    "absl_cord",
    "absl_cord_internal",
    "absl_cordz_functions",
    "absl_cordz_handle",
    "absl_cordz_info",
    "absl_cordz_sample_token",
    "absl_exponential_biased",
    "absl_hashtablez_sampler",
    "absl_raw_hash_set",
    "absl_hash",
    "absl_city",
    "absl_low_level_hash",
    "absl_random_distributions",
    "absl_random_seed_sequences",
    "absl_random_internal_pool_urbg",
    "absl_random_internal_randen",
    "absl_random_internal_randen_hwaes",
    "absl_random_internal_randen_hwaes_impl",
    "absl_random_internal_randen_slow",
    "absl_random_internal_platform",
    "absl_random_internal_seed_material",
    "absl_random_seed_gen_exception",
    "absl_synchronization",
    "absl_graphcycles_internal",
    "absl_time",
    "absl_civil_time",
    "absl_time_zone",
    "absl_str_format_internal",
    "absl_strings",
    "absl_strings_internal",
    "absl_symbolize",
    "absl_stacktrace",
    "absl_debugging_internal",
    "absl_demangle_internal",
    "absl_malloc_internal",
    "absl_int128",
    "absl_throw_delegate",
    "absl_strerror",
    "absl_bad_optional_access",
    "absl_bad_variant_access",
    "absl_base",
    "absl_spinlock_wait",
    "absl_raw_logging_internal",
    "absl_log_severity",
]

# name -> (libraries, extra deps within the repository)
_SYSTEM_LIBS = {
    "gflags": (["gflags"], []),
    "glog": (["glog"], [":gflags"]),
    "absl": (_ABSL_LIBS, []),
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
