#!/usr/bin/env python3
"""Compiles (-fsyntax-only) every translation unit that includes LibTorch
against a given set of LibTorch headers, so that API breaks between the
LibTorch versions we build against surface in CI rather than in a short GPU
window.

  torch_syntax_check.py (--torch_include=DIR | --torch_include_env=VAR)
      [--pass=cpu] [--pass=cuda] [--require=FILE:MACRO] [--min_units=N] [ROOT]

ROOT (default: the Bazel runfiles tree or the current directory) holds the
workspace's sources, generated headers included. A translation unit is a .cc
file whose #include closure (through the project's own headers) reaches
<torch/...>, <ATen/...> or <c10/...>. Passes:
  cpu   every unit with -DSNIPER_NO_CUDA (no CUDA branch), as a CPU build
  cuda  the units whose closure mentions SNIPER_TORCH_HAS_CUDA, with
        -DSNIPER_TORCH_HAS_CUDA=1 and the CUDA toolkit's headers (a GPU
        build's branches); skipped, with a line, without a CUDA toolkit
--require=FILE:MACRO fails the cuda pass when FILE compiled without MACRO
defined (the branch meant to be checked was not the one compiled).
--skip_cpu_env=VAR skips the cpu pass, printing VAR's value as the reason,
where VAR is set and not empty: tools/test.sh sets it when the same run
compiled and linked every unit against that LibTorch for real (the Debian 13
job), which the header-only pass cannot add to.

--torch_include_env=VAR reads DIR from the environment variable VAR and
skips (exit 0, with a line saying why) where VAR is unset or DIR is missing:
tools/fetch_torch_headers.sh fetches those headers, and may be refused.

Under Bazel's test sharding (shard_count; TEST_TOTAL_SHARDS and
TEST_SHARD_INDEX) each shard compiles every TOTAL-th of the compiles in a
fixed order (the CPU pass's units by name, then the CUDA pass's), so the
shards split the work evenly and together compile each exactly once; the
checks over all units (--min_units, --require) run in every shard.

Every header the compiler read is checked to come from --torch_include, not
from another LibTorch on the system search path (Debian's 1.13 lives in
/usr/include), so a header missing from DIR cannot be silently replaced.
Exit status: 0 all units compile, 1 a unit fails (its errors are printed),
2 bad usage or nothing found.
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
TORCH_PREFIXES = ("torch/", "ATen/", "c10/")
TORCH_DIRS = ("torch", "ATen", "c10", "caffe2")
STANDARD_DIRS = ("/usr/include", "/usr/local/include")
# The project's warning flags (tools/build_defs/copts.bzl).
WARNINGS = ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-sign-compare",
            "-Werror=unused-result", "-Werror=return-type"]


def default_root():
  srcdir = os.environ.get("TEST_SRCDIR")
  if srcdir:
    return os.path.join(srcdir, os.environ.get("TEST_WORKSPACE", "sniper_cpp"))
  return "."


def skip_reason(var, include):
  """Why the headers named by $var cannot be checked, or None."""
  if not include:
    return ("%s is unset or empty: tools/test.sh sets it to the headers "
            "that tools/fetch_torch_headers.sh fetched, and leaves it empty "
            "where the build links LibTorch 2.x itself" % var)
  if os.path.exists(os.path.join(include, "torch/csrc/api/include")):
    return None
  why = "%s=%s holds no LibTorch headers" % (var, include)
  # <cache>/libtorch-headers/current/usr/include: the fetch's error file.
  error = os.path.normpath(os.path.join(include, "../../../fetch_error.txt"))
  if os.path.exists(error):
    with open(error, encoding="utf-8", errors="replace") as f:
      why += "; tools/fetch_torch_headers.sh said: " + f.read().strip()
  return why


def torch_label(include):
  """LibTorch's version from its torch/version.h, and where it is."""
  version = "?"
  try:
    with open(os.path.join(include,
                           "torch/csrc/api/include/torch/version.h")) as f:
      m = re.search(r"#define TORCH_VERSION\s*\\?\s*\"([^\"]+)\"", f.read())
      version = m.group(1) if m else version
  except OSError:
    pass
  return "LibTorch %s (%s)" % (version, include)


def shard_of_env():
  """(index, total) of this Bazel test shard; (0, 1) when not sharded.
  Touches TEST_SHARD_STATUS_FILE to tell Bazel that sharding is supported."""
  total = int(os.environ.get("TEST_TOTAL_SHARDS", "1") or 1)
  index = int(os.environ.get("TEST_SHARD_INDEX", "0") or 0)
  status = os.environ.get("TEST_SHARD_STATUS_FILE")
  if status:
    open(status, "a").close()
  if total < 1 or not 0 <= index < total:
    raise SystemExit("bad test sharding: TEST_SHARD_INDEX=%d of "
                     "TEST_TOTAL_SHARDS=%d" % (index, total))
  return index, total


def find_sources(root):
  files = {}
  for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
    dirnames[:] = [d for d in dirnames
                   if not d.startswith((".", "bazel-", "_")) and d != "external"]
    for f in filenames:
      if f.endswith((".cc", ".h", ".hpp")):
        path = os.path.join(dirpath, f)
        files[os.path.relpath(path, root)] = path
  return files


class Closure:
  """The project-header closure of each file: torch use, CUDA branches."""

  def __init__(self, files):
    self.files = files
    self.memo = {}

  def _direct(self, rel):
    with open(self.files[rel], encoding="utf-8", errors="replace") as f:
      text = f.read()
    here = os.path.dirname(rel)
    local, torch = [], False
    for kind, name in INCLUDE_RE.findall(text):
      if name.startswith(TORCH_PREFIXES):
        torch = True
      elif kind == '"':
        for cand in (os.path.normpath(os.path.join(here, name)), name):
          if cand in self.files:
            local.append(cand)
            break
    return local, torch, "SNIPER_TORCH_HAS_CUDA" in text

  def of(self, rel, stack=()):
    """(uses torch, has a CUDA branch) over rel's include closure."""
    if rel in self.memo:
      return self.memo[rel]
    if rel in stack:  # include cycle: guarded headers, nothing new
      return False, False
    local, torch, cuda = self._direct(rel)
    for dep in local:
      t, c = self.of(dep, stack + (rel,))
      torch, cuda = torch or t, cuda or c
    self.memo[rel] = (torch, cuda)
    return torch, cuda


def leaked_headers(depfile, torch_include):
  """Headers of another LibTorch that the compiler read instead of ours."""
  if not os.path.exists(depfile):
    return []
  with open(depfile, encoding="utf-8", errors="replace") as f:
    deps = f.read().replace("\\\n", " ").split()
  ours = os.path.realpath(torch_include) + os.sep
  other = re.compile(r"^/usr(/local)?/include/(%s)/" % "|".join(TORCH_DIRS))
  return [d for d in deps if d.startswith(os.sep)
          and not os.path.realpath(d).startswith(ours)
          and other.match(os.path.realpath(d))]


def compile_unit(args, root, rel, extra, tmp):
  base = re.sub(r"[^A-Za-z0-9]", "_", rel)
  depfile = os.path.join(tmp, base + extra["tag"] + ".d")
  src = rel
  if extra.get("require"):
    wrapper = os.path.join(tmp, base + "_require.cc")
    macro = extra["require"]
    with open(wrapper, "w") as f:
      f.write('#include "%s"\n#ifndef %s\n#error "%s: %s is not defined: '
              'the branch meant to be checked was not compiled"\n#endif\n'
              % (rel, macro, rel, macro))
    src = wrapper
  torch = ["-isystem", os.path.join(args.torch_include,
                                    "torch/csrc/api/include")]
  # A standard directory given as -isystem would break libstdc++'s
  # #include_next; it is searched anyway.
  if os.path.realpath(args.torch_include) not in STANDARD_DIRS:
    torch = ["-isystem", args.torch_include] + torch
  cmd = ([args.cxx, "-std=" + args.std, "-fsyntax-only"] + WARNINGS +
         extra["flags"] + ["-I" + root] + torch + extra["isystem"] +
         ["-MD", "-MF", depfile, src])
  start = time.time()
  p = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
  out = p.stdout + p.stderr
  ok = p.returncode == 0
  leaks = leaked_headers(depfile, args.torch_include) if ok else []
  if leaks:
    ok = False
    out += ("%s read another LibTorch's headers instead of %s's, e.g. %s\n"
            % (rel, args.label, leaks[0]))
  warnings = out.count(": warning:")
  return rel, ok, warnings, out, time.time() - start


def main():
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("root", nargs="?", default=default_root())
  src = ap.add_mutually_exclusive_group(required=True)
  src.add_argument("--torch_include")
  src.add_argument("--torch_include_env")
  ap.add_argument("--optional", action="store_true",
                  help="skip where --torch_include holds no LibTorch")
  ap.add_argument("--pass", dest="passes", action="append",
                  choices=["cpu", "cuda"])
  ap.add_argument("--require", action="append", default=[])
  ap.add_argument("--skip_cpu_env")
  ap.add_argument("--min_units", type=int, default=1)
  ap.add_argument("--cuda_path",
                  default=os.environ.get("SNIPER_CUDA_PATH", "/usr/local/cuda"))
  ap.add_argument("--cxx", default=os.environ.get("CXX", "g++"))
  ap.add_argument("--std", default="c++17")
  ap.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
  args = ap.parse_args()
  passes = args.passes or ["cpu"]
  covered = os.environ.get(args.skip_cpu_env, "") if args.skip_cpu_env else ""
  if covered and "cpu" in passes:
    print("SKIP cpu pass: " + covered)
    passes = [p for p in passes if p != "cpu"]
    if not passes:
      return 0
  if args.torch_include_env:
    args.torch_include = os.environ.get(args.torch_include_env, "")
    why = skip_reason(args.torch_include_env, args.torch_include)
    if why:
      print("SKIP: " + why)
      return 0
  api = os.path.join(args.torch_include, "torch/csrc/api/include/torch/torch.h")
  if not os.path.exists(api):
    if args.optional:
      print("SKIP: no LibTorch headers under %s" % args.torch_include)
      return 0
    print("no torch/csrc/api/include/torch/torch.h under --torch_include=%s"
          % args.torch_include)
    return 2
  args.label = torch_label(args.torch_include)
  root = os.path.abspath(args.root)
  files = find_sources(root)
  closure = Closure(files)
  units = sorted(r for r in files if r.endswith(".cc") and closure.of(r)[0])
  cuda_units = [r for r in units if closure.of(r)[1]]
  if len(units) < args.min_units:
    print("found %d translation units that include LibTorch under %s, "
          "expected at least %d: are the sources in the test's data?"
          % (len(units), root, args.min_units))
    return 2
  required = dict(r.split(":", 1) for r in args.require)
  for f in required:
    if f not in cuda_units:
      print("--require: %s is not a unit with a CUDA branch" % f)
      return 2

  tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
  jobs = []
  if "cpu" in passes:
    jobs += [(u, {"tag": "_cpu", "flags": ["-DSNIPER_NO_CUDA"],
                  "isystem": []}) for u in units]
  if "cuda" in passes:
    cuda_inc = os.path.join(args.cuda_path, "include")
    missing = [h for h in ("cuda_runtime_api.h", "nccl.h")
               if not os.path.exists(os.path.join(cuda_inc, h))]
    if missing:
      print("SKIP cuda pass: no %s in %s (not a CUDA toolkit with NCCL)"
            % (missing[0], cuda_inc))
    else:
      # Written by LibTorch's CMake for CUDA builds; absent from CPU packages.
      stub = os.path.join(tmp, "stub/c10/cuda/impl")
      os.makedirs(stub)
      with open(os.path.join(stub, "cuda_cmake_macros.h"), "w") as f:
        f.write("#define C10_CUDA_BUILD_SHARED_LIBS\n")
      jobs += [(u, {"tag": "_cuda", "flags": ["-DSNIPER_TORCH_HAS_CUDA=1"],
                    "isystem": ["-isystem", os.path.join(tmp, "stub"),
                                "-isystem", cuda_inc],
                    "require": required.get(u)}) for u in cuda_units]

  shard, shards = shard_of_env()
  all_jobs = len(jobs)
  jobs = jobs[shard::shards]

  start = time.time()
  failed, warned = [], 0
  with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
    futures = [pool.submit(compile_unit, args, root, u, e, tmp)
               for u, e in jobs]
    for (u, e), fut in zip(jobs, futures):
      rel, ok, warnings, out, secs = fut.result()
      what = "CUDA branch" if e["tag"] == "_cuda" else "CPU"
      warned += warnings
      print("%s %s (%s, %.1f s%s)" % ("OK  " if ok else "FAIL", rel, what,
                                       secs, ", %d warnings" % warnings
                                       if warnings else ""))
      if not ok or warnings:
        sys.stdout.write(out)
      if not ok:
        failed.append("%s (%s)" % (rel, what))
  shutil.rmtree(tmp, ignore_errors=True)
  where = ("shard %d of %d: " % (shard + 1, shards)) if shards > 1 else ""
  print("%s: %s%d of %d compiles passed (of %d in all; %d units, %d with "
        "CUDA branches), %d warnings, %.0f s"
        % (args.label, where, len(jobs) - len(failed), len(jobs), all_jobs,
           len(units), len(cuda_units), warned, time.time() - start))
  if failed:
    print("FAILED: " + ", ".join(failed))
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main())
