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
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import steps  # noqa: E402
from steps import tail  # noqa: E402

TARGETS = ["//ops/cuda:runtime_test", "//ops:cuda_parity_test",
           "//sniper:trainer_test", "//sniper:train",
           "//tools:compare_checkpoints"]
# The kernels with shared memory (ops/cuda/box_kernels.cu: NMS, soft-NMS).
RACECHECK_FILTER = "CudaParityTest.*Nms*"
# The default config's 300 detector steps on a CPU (FP32), for "the loss
# falls as on the CPU" when the GPU machine has no time left to run it:
# recorded on a 2-core AMD EPYC (LibTorch 1.13), one run, by
# tools/gpu/record_cpu_reference.sh (the command default_training() runs),
# with the SHA-256 of the default config it ran. The same run on the GPU
# machine's CPU, when it ran, is used instead.
HERE = os.path.dirname(os.path.abspath(__file__))
CPU_REFERENCE = os.path.join(HERE, "cpu_reference_metrics.csv")
CPU_REFERENCE_SHA = os.path.join(HERE, "cpu_reference_config.sha256")
DEFAULT_CONFIG = os.path.join(HERE, "..", "..", "configs",
                              "default_synthetic.pbtxt")


def reference_is_current():
  """Whether the recorded CPU curve was recorded with today's default."""
  with open(CPU_REFERENCE_SHA) as f:
    want = f.read().strip()
  with open(DEFAULT_CONFIG, "rb") as f:
    return hashlib.sha256(f.read()).hexdigest() == want
# Tiny pipelines for the distributed steps (as sniper/distributed_test.sh).
TINY = ["dataset.synthetic.train_images=12", "dataset.synthetic.val_images=2",
        "dataset.synthetic.min_side=160", "dataset.synthetic.max_side=320",
        "sampler.scales[0].size.long_side=512",
        "eval.scales[0].size.long_side=512", "negatives.source=NONE",
        "schedule.warmup_steps=1", "model.backbone.freeze_all_bn=true",
        "distributed.timeout_s=60", "schedule.max_steps=3",
        "output.log_every_steps=1"]


def read_metrics(path):
  """The detector stage's rows of a run's metrics.csv."""
  with open(path) as f:
    return [r for r in csv.DictReader(f) if r["stage"] == "detector"]


class Check(steps.Steps):
  def __init__(self, args):
    super().__init__(args.start, args.deadline_s, args.out, "check.log")
    self.args = args
    self.cuda = args.device == "cuda"

  # --- helpers -------------------------------------------------------------
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
  def build(self, timeout):
    return super().build(self.args.bazel, TARGETS, timeout)

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
    if source == CPU_REFERENCE and not reference_is_current():
      self.record("loss_vs_cpu", "skipped", 0, {
          "reason": "tools/gpu/cpu_reference_metrics.csv was recorded with "
                    "another default config (tools/gpu/record_cpu_reference.sh)"})
      return
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
    env = self.environment(a.device)
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
    return self.write_result("check.json", env)

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
