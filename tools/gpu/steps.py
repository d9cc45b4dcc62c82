"""What tools/gpu/check.py and tools/gpu/measure.py share: steps run
within a deadline, one log, the machine's description, gtest reports.

  runner = Steps(start=..., deadline_s=540, out=OUT, log_name="check.log")
  runner.step("build", fn, min_s=60, max_s=420)  # fn(timeout) -> (status, detail)

Each step runs with a timeout that ends it before the deadline; a step that
cannot get its minimum time is left out ("skipped: deadline"). Every
command's output goes to the log; `steps` holds each step's status,
seconds and findings.
"""
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time


def tail(text, lines=6):
  return [l for l in text.splitlines() if l.strip()][-lines:]


class Steps:
  def __init__(self, start, deadline_s, out, log_name):
    self.start = start
    self.deadline_s = deadline_s
    self.out = out
    os.makedirs(self.out, exist_ok=True)
    self.tmp = tempfile.mkdtemp(prefix="sniper_gpu_")
    self.log = open(os.path.join(self.out, log_name), "w")
    self.steps = []
    self.last_output = ""

  def remaining(self):
    return self.start + self.deadline_s - time.time()

  def say(self, text):
    print(text, flush=True)
    self.log.write(text + "\n")
    self.log.flush()

  def run(self, cmd, timeout, env=None, cwd=None):
    """(exit status or None on timeout, output, seconds)."""
    self.log.write("\n$ %s\n" % " ".join(cmd))
    self.log.flush()
    full_env = dict(os.environ, **(env or {}))
    start = time.time()
    try:
      p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, errors="replace", timeout=timeout,
                         env=full_env, cwd=cwd)
      rc, out = p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
      rc = None
      out = e.stdout or ""
      out = out.decode(errors="replace") if isinstance(out, bytes) else out
    self.log.write(out)
    self.log.flush()
    self.last_output = out
    return rc, out, time.time() - start

  def step(self, name, fn, min_s, max_s):
    left = self.remaining() - 10  # time to write the results
    if left < min_s:
      self.record(name, "skipped", 0, {"why": "deadline: %.0f s left, needs "
                                       "%d" % (left, min_s)})
      return None
    self.say("== %s (up to %.0f s)" % (name, min(max_s, left)))
    start = time.time()
    try:
      status, detail = fn(min(max_s, left))
    except Exception as e:  # a bug here must not lose the other steps
      status, detail = "error", {"exception": repr(e)}
    self.record(name, status, time.time() - start, detail)
    return status

  def record(self, name, status, seconds, detail):
    self.steps.append({"step": name, "status": status,
                       "seconds": round(seconds, 1), "detail": detail})
    self.say("   %s: %s (%.0f s) %s" % (name, status, seconds,
                                        json.dumps(detail)[:300]))

  def binary(self, target):
    return os.path.join("bazel-bin", target.lstrip("/").replace(":", "/"))

  def build(self, bazel, targets, timeout):
    """Builds `targets` with the Bazel command `bazel` (a list)."""
    rc, out, _ = self.run(list(bazel) + list(targets), timeout)
    if rc is None:
      return "timeout", {}
    errors = [l for l in out.splitlines() if "error" in l.lower()][:10]
    if rc != 0 and not errors:
      errors = tail(out)
    return ("pass" if rc == 0 else "fail"), {"errors": errors}

  def gtest(self, name, target, timeout, env=None, wrapper=(), args=()):
    report = os.path.join(self.tmp, name + ".json")
    cmd = list(wrapper) + [self.binary(target),
                           "--gtest_output=json:" + report] + list(args)
    rc, out, _ = self.run(cmd, timeout, env)
    detail = {"exit": rc}
    if os.path.exists(report):
      with open(report) as f:
        r = json.load(f)
      cases = [c for s in r.get("testsuites", []) for c in s.get("testsuite", [])]
      detail["passed"] = sum(1 for c in cases if not c.get("failures")
                             and c.get("result") != "SKIPPED")
      detail["skipped"] = [c["name"] for c in cases
                           if c.get("result") == "SKIPPED"]
      detail["failed"] = {
          c["classname"] + "." + c["name"]:
              c["failures"][0]["failure"][:400] for c in cases
          if c.get("failures")}
    if rc is None:
      return "timeout", detail
    return ("pass" if rc == 0 else "fail"), detail

  def environment(self, device):
    """The machine: OS, glibc, compiler, nvcc, GPU, CPU, PyTorch and its
    C++ string ABI."""
    env = {"python": platform.python_version(), "device": device}
    for key, cmd in [("os", ["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"]),
                     ("glibc", ["sh", "-c", "ldd --version | head -1"]),
                     ("gcc", ["sh", "-c", "g++ --version | head -1"]),
                     ("nvcc", ["sh", "-c", "nvcc --version | tail -1"]),
                     ("gpu", ["nvidia-smi", "--query-gpu=name,memory.total,"
                              "driver_version", "--format=csv,noheader"]),
                     ("cpu", ["sh", "-c", "grep -m1 'model name' /proc/cpuinfo"
                              " | cut -d: -f2; nproc"]),
                     ("torch", [sys.executable, "-c", "import torch; print("
                                "torch.__version__, torch.version.cuda, "
                                "'cxx11_abi', int(torch._C."
                                "_GLIBCXX_USE_CXX11_ABI))"])]:
      try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        env[key] = " ".join(p.stdout.split()) or None
      except (OSError, subprocess.TimeoutExpired):
        env[key] = None
    return env

  def verdict(self):
    ran = [s for s in self.steps if s["status"] != "skipped"]
    return "pass" if ran and all(s["status"] == "pass" for s in ran) else "fail"

  def write_result(self, name, env, extra=None, after_table=None):
    """Writes OUT/name (the machine, timing, verdict, steps and `extra`),
    prints the steps' table (then `after_table()`) and the verdict, removes
    the scratch directory; the exit status: 0 when every step passed."""
    result = dict({"environment": env, "deadline_s": self.deadline_s,
                   "elapsed_s": round(time.time() - self.start, 1),
                   "verdict": self.verdict(), "steps": self.steps},
                  **(extra or {}))
    path = os.path.join(self.out, name)
    with open(path, "w") as f:
      json.dump(result, f, indent=1)
    self.print_table()
    if after_table:
      after_table()
    self.say("verdict: %s after %.0f s (%s)" % (result["verdict"],
                                               result["elapsed_s"], path))
    shutil.rmtree(self.tmp, ignore_errors=True)
    return 0 if result["verdict"] == "pass" else 1

  def print_table(self):
    self.say("\n%-34s %-8s %7s" % ("step", "status", "seconds"))
    for s in self.steps:
      self.say("%-34s %-8s %7.0f" % (s["step"], s["status"], s["seconds"]))
