#!/usr/bin/env python3
"""The steps of tools/gpu/check.sh (which sets up Bazel and calls this).

  check.py --start=EPOCH_S [--device=cuda|cpu] [--deadline_s=540]
           [--steps=300] [--out=DIR] -- BAZEL BUILD COMMAND...

Each step runs with a timeout that ends it before the deadline; a step
that cannot get its minimum time is left out ("skipped: deadline"). Every
step's output goes to check.log; check.json holds the machine, each step's
status, seconds and findings (test cases, sanitizer errors, losses), and
the verdict.
"""
import argparse
import csv
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

TARGETS = ["//ops/cuda:runtime_test", "//ops:cuda_parity_test",
           "//sniper:trainer_test", "//sniper:train",
           "//tools:compare_checkpoints"]
# The kernels with shared memory (ops/cuda/box_kernels.cu: NMS, soft-NMS).
RACECHECK_FILTER = "CudaParityTest.*Nms*"
# The default config's 300 detector steps on a CPU (FP32), for "the loss
# falls as on the CPU" when the GPU machine has no time left to run it:
# recorded on a 2-core Intel Xeon (LibTorch 1.13), one run, with
#   bazel-bin/sniper/train --set device=cpu --set precision=FP32 \
#     --set negatives.source=NONE --set schedule.max_steps=300 \
#     --set output.log_every_steps=10
# (the command default_training() runs). The same run on the GPU machine's
# CPU, when it ran, is used instead.
CPU_REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "cpu_reference_metrics.csv")
# Tiny pipelines for the distributed steps (as sniper/distributed_test.sh).
TINY = ["dataset.synthetic.train_images=12", "dataset.synthetic.val_images=2",
        "dataset.synthetic.min_side=160", "dataset.synthetic.max_side=320",
        "sampler.scales[0].size.long_side=512",
        "eval.scales[0].size.long_side=512", "negatives.source=NONE",
        "schedule.warmup_steps=1", "model.backbone.freeze_all_bn=true",
        "distributed.timeout_s=60", "schedule.max_steps=3",
        "output.log_every_steps=1"]


def tail(text, lines=6):
  return [l for l in text.splitlines() if l.strip()][-lines:]


def read_metrics(path):
  """The detector stage's rows of a run's metrics.csv."""
  with open(path) as f:
    return [r for r in csv.DictReader(f) if r["stage"] == "detector"]


class Check:
  def __init__(self, args):
    self.args = args
    self.out = args.out
    os.makedirs(self.out, exist_ok=True)
    self.tmp = tempfile.mkdtemp(prefix="sniper_check_")
    self.log = open(os.path.join(self.out, "check.log"), "w")
    self.steps = []
    self.cuda = args.device == "cuda"
    self.last_output = ""

  def remaining(self):
    return self.args.start + self.args.deadline_s - time.time()

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

  # --- helpers -------------------------------------------------------------
  def binary(self, target):
    return os.path.join("bazel-bin", target.lstrip("/").replace(":", "/"))

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

  def sanitizer(self, tool, timeout, gtest_filter=None):
    cs = shutil.which("compute-sanitizer") or "/usr/local/cuda/bin/compute-sanitizer"
    if not os.path.exists(cs):
      return "skipped", {"why": "no compute-sanitizer"}
    wrapper = [cs, "--tool", tool, "--error-exitcode", "97"]
    args = ["--gtest_filter=" + gtest_filter] if gtest_filter else []
    # Without PyTorch's caching allocator every tensor is its own
    # allocation, so the sanitizer sees accesses past a tensor's end.
    env = {"SNIPER_PARITY_MAX_N": "1000", "PYTORCH_NO_CUDA_MEMORY_CACHING": "1"}
    status, detail = self.gtest("sanitizer_" + tool, "//ops:cuda_parity_test",
                                timeout, env, wrapper, args)
    # The sanitizer's summary: "ERROR SUMMARY: N errors" (memcheck),
    # "RACECHECK SUMMARY: N hazards displayed" (racecheck).
    m = re.search(r"(?:ERROR|RACECHECK) SUMMARY: (\d+) (?:error|hazard)",
                  self.last_output)
    if m:
      detail["sanitizer_findings"] = int(m.group(1))
    detail["sanitizer_lines"] = [
        l for l in self.last_output.splitlines()
        if l.startswith("========= ") and "SUMMARY" not in l][:12]
    if detail.get("exit") == 97:
      status = "fail"
    return status, detail

  def train(self, work, sets, timeout, env=None, extra=()):
    cmd = [self.binary("//sniper:train"), "--work_dir=" + work, "--quiet"]
    for s in sets:
      cmd += ["--set", s]
    return self.run(cmd + list(extra), timeout, env)

  def compare(self, a, b, tolerance):
    rc, out, _ = self.run([self.binary("//tools:compare_checkpoints"), a, b,
                           "--tolerance=%g" % tolerance], 120)
    m = re.search(r"largest relative difference ([0-9.eE+-]+)", out)
    return rc == 0, float(m.group(1)) if m else None

  # --- steps ---------------------------------------------------------------
  def environment(self):
    env = {"python": platform.python_version(), "device": self.args.device}
    for key, cmd in [("os", ["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"]),
                     ("glibc", ["sh", "-c", "ldd --version | head -1"]),
                     ("gcc", ["sh", "-c", "g++ --version | head -1"]),
                     ("nvcc", ["sh", "-c", "nvcc --version | tail -1"]),
                     ("gpu", ["nvidia-smi", "--query-gpu=name,memory.total,"
                              "driver_version", "--format=csv,noheader"]),
                     ("cpu", ["sh", "-c", "grep -m1 'model name' /proc/cpuinfo"
                              " | cut -d: -f2; nproc"]),
                     ("torch", [sys.executable, "-c", "import torch; print("
                                "torch.__version__, torch.version.cuda)"])]:
      try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        env[key] = " ".join(p.stdout.split()) or None
      except (OSError, subprocess.TimeoutExpired):
        env[key] = None
    return env

  def build(self, timeout):
    rc, out, _ = self.run(self.args.bazel + TARGETS, timeout)
    if rc is None:
      return "timeout", {}
    errors = [l for l in out.splitlines() if "error" in l.lower()][:10]
    if rc != 0 and not errors:
      errors = tail(out)
    return ("pass" if rc == 0 else "fail"), {"errors": errors}

  def parity(self, timeout):
    env = {} if self.cuda else {"SNIPER_TEST_DEVICE": "cpu"}
    return self.gtest("parity", "//ops:cuda_parity_test", timeout, env)

  def trainer_smoke(self, timeout):
    env = {"SNIPER_TEST_SETS": "device=%s,precision=BF16" % self.args.device,
           "TEST_TMPDIR": tempfile.mkdtemp(dir=self.tmp)}
    return self.gtest("trainer", "//sniper:trainer_test", timeout, env)

  def launched_alone(self, timeout):
    backend = "NCCL" if self.cuda else "GLOO"
    sets = TINY + ["device=" + self.args.device, "loader.batch_size=4",
                   "dataset.synthetic.cache_dir=" + self.tmp + "/syn"]
    plain, alone = self.tmp + "/plain", self.tmp + "/alone"
    rc1, out1, _ = self.train(plain, sets, timeout / 2)
    rc2, out2, _ = self.train(alone, sets + ["distributed.backend=" + backend],
                              timeout / 2, {"RANK": "0", "WORLD_SIZE": "1",
                                            "MASTER_PORT": "29561"})
    if rc1 != 0 or rc2 != 0:
      return "fail", {"exit": [rc1, rc2], "output": tail(out1) + tail(out2)}
    with open(alone + "/train.log") as f:
      named = "1 processes, %s" % ("NCCL" if self.cuda else "Gloo") in f.read()
    ok, diff = self.compare(plain + "/detector/final.pt",
                            alone + "/detector/final.pt", 1e-4)
    return ("pass" if ok and named else "fail"), {
        "backend": backend, "log_names_backend": named,
        "largest_relative_difference": diff}

  def gloo_two(self, timeout):
    sets = TINY + ["device=" + self.args.device, "distributed.backend=GLOO",
                   "dataset.synthetic.cache_dir=" + self.tmp + "/syn"]
    one, two = self.tmp + "/one", self.tmp + "/two"
    rc1, out1, _ = self.train(one, sets + ["loader.batch_size=4"], timeout / 2)
    rc2, out2, _ = self.train(two, sets + ["loader.batch_size=2"], timeout / 2,
                              extra=["--nproc=2"])
    if rc1 != 0 or rc2 != 0:
      return "fail", {"exit": [rc1, rc2], "output": tail(out1) + tail(out2)}
    ok, diff = self.compare(one + "/detector/final.pt",
                            two + "/detector/final.pt", 1e-4)
    return ("pass" if ok else "fail"), {"largest_relative_difference": diff}

  def default_training(self, device, precision, timeout):
    work = os.path.join(self.tmp, "train_" + device)
    sets = ["device=" + device, "precision=" + precision,
            "negatives.source=NONE", "schedule.max_steps=%d" % self.args.steps,
            "output.log_every_steps=10"]
    rc, out, secs = self.train(work, sets, timeout)
    metrics = os.path.join(work, "metrics.csv")
    detail = {"exit": rc, "precision": precision}
    if rc != 0:
      detail["output"] = tail(out)
    if os.path.exists(metrics):
      shutil.copy(metrics, os.path.join(self.out, "train_%s_metrics.csv" % device))
      rows = read_metrics(metrics)
      losses = [float(r["loss"]) for r in rows]
      if losses:
        k = max(1, len(losses) // 5)
        detail.update(steps=int(rows[-1]["step"]),
                      first_loss=sum(losses[:k]) / k,
                      last_loss=sum(losses[-k:]) / k,
                      chips_per_s=float(rows[-1]["chips_per_s"]))
    stats = os.path.join(work, "eval_stats.json")
    if os.path.exists(stats):
      with open(stats) as f:
        detail["AP"] = json.load(f)["stats"][0]
    if rc is None:
      return "timeout", detail
    falls = ("last_loss" in detail and
             detail["last_loss"] < 0.8 * detail["first_loss"])
    detail["loss_falls"] = falls
    return ("pass" if rc == 0 and falls else "fail"), detail

  def compare_curves(self):
    by = {s["step"]: s["detail"] for s in self.steps}
    dev = by.get("train_" + self.args.device)
    if not dev or "last_loss" not in dev:
      return
    here = os.path.join(self.out, "train_cpu_metrics.csv")
    source = here if self.cuda and os.path.exists(here) else CPU_REFERENCE
    losses = [float(r["loss"]) for r in read_metrics(source)
              if int(r["step"]) <= dev["steps"]]
    if not losses:
      return
    k = max(1, len(losses) // 5)
    cpu_last = sum(losses[-k:]) / k
    # "Falls as on the CPU": the last fifth of the curve within 25% (+0.05)
    # of the CPU run's over the same steps.
    ok = dev["last_loss"] <= 1.25 * cpu_last + 0.05
    self.record("loss_vs_cpu", "pass" if ok else "fail", 0,
                {"device_last": dev["last_loss"], "cpu_last": cpu_last,
                 "cpu_run": "this machine" if source == here else
                 "tools/gpu/cpu_reference_metrics.csv"})
    self.plot(source)

  def plot(self, cpu_source):
    try:
      import matplotlib
      matplotlib.use("Agg")
      import matplotlib.pyplot as plt
    except ImportError:
      self.say("(no matplotlib: no loss_curves.png)")
      return
    fig, ax = plt.subplots(figsize=(7, 4))
    for path, label in [
        (os.path.join(self.out, "train_%s_metrics.csv" % self.args.device),
         "CUDA, BF16" if self.cuda else "this CPU, FP32"),
        (cpu_source, "CPU, FP32" + ("" if cpu_source != CPU_REFERENCE
                                    else " (recorded reference)"))]:
      if os.path.exists(path):
        rows = read_metrics(path)
        ax.plot([int(r["step"]) for r in rows],
                [float(r["loss"]) for r in rows], label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("detector loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(self.out, "loss_curves.png"), dpi=100)

  def main(self):
    a = self.args
    self.say("sniper-cpp GPU check: device %s, deadline %d s" %
             (a.device, a.deadline_s))
    env = self.environment()
    self.say(json.dumps(env))
    if self.step("build", self.build, 60, 420) != "pass":
      return self.finish(env)
    self.step("runtime_test", lambda t: self.gtest(
        "runtime", "//ops/cuda:runtime_test", t), 10, 60)
    # Most telling first: a short window that runs out of time loses the
    # last steps (each one says so in check.json).
    self.step("cuda_parity", self.parity, 30, 180)
    self.step("trainer_smoke_bf16", self.trainer_smoke, 60, 240)
    self.step("train_" + a.device, lambda t: self.default_training(
        a.device, "BF16" if self.cuda else "FP32", t), 60, 300)
    self.step("launched_alone_" + ("nccl" if self.cuda else "gloo"),
              self.launched_alone, 30, 120)
    self.step("gloo_2_processes", self.gloo_two, 30, 120)
    if self.cuda:
      self.step("memcheck", lambda t: self.sanitizer("memcheck", t), 60, 180)
      self.step("racecheck", lambda t: self.sanitizer(
          "racecheck", t, RACECHECK_FILTER), 40, 120)
      self.step("train_cpu", lambda t: self.default_training(
          "cpu", "FP32", t), 90, 240)
    try:
      self.compare_curves()
    except Exception as e:  # never lose check.json to the comparison
      self.record("loss_vs_cpu", "error", 0, {"exception": repr(e)})
    return self.finish(env)

  def finish(self, env):
    ran = [s for s in self.steps if s["status"] != "skipped"]
    ok = all(s["status"] in ("pass",) for s in ran) and bool(ran)
    result = {"environment": env, "deadline_s": self.args.deadline_s,
              "elapsed_s": round(time.time() - self.args.start, 1),
              "verdict": "pass" if ok else "fail", "steps": self.steps}
    with open(os.path.join(self.out, "check.json"), "w") as f:
      json.dump(result, f, indent=1)
    self.say("\n%-26s %-8s %7s" % ("step", "status", "seconds"))
    for s in self.steps:
      self.say("%-26s %-8s %7.0f" % (s["step"], s["status"], s["seconds"]))
    self.say("verdict: %s after %.0f s (%s)" % (
        result["verdict"], result["elapsed_s"], os.path.join(self.out,
                                                             "check.json")))
    shutil.rmtree(self.tmp, ignore_errors=True)
    return 0 if ok else 1


def main():
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--start", type=float, default=time.time())
  ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
  ap.add_argument("--deadline_s", type=int, default=540)
  ap.add_argument("--steps", type=int, default=300)
  ap.add_argument("--out", default=os.environ.get("OUT") or "check_out")
  ap.add_argument("bazel", nargs="+", help="the Bazel build command, after --")
  return Check(ap.parse_args()).main()


if __name__ == "__main__":
  sys.exit(main())
