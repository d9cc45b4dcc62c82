#!/usr/bin/env python3
"""The steps of tools/gpu/measure.sh (which sets up Bazel and calls this).

  measure.py --start=EPOCH_S [--device=cuda|cpu] [--deadline_s=540]
             [--steps=20] [--batch=16] [--precisions=BF16,FP32]
             [--data_dir=DIR] [--coco_images=20] [--largest_batch_cap=1024]
             [--out=DIR] -- BAZEL BUILD COMMAND...

Builds the CUDA op tests and the two end-to-end benchmarks, then, each
step within its own time budget and all before the deadline, most telling
first: the CUDA op tests (CPU vs CUDA), SNIPER vs single-scale training at
the paper's setting for ResNet-101 and ResNet-50 (the first precision), the
largest chip batch, COCO inference at the three test scales, our sampler,
the other precisions, and torchvision's Faster R-CNN as a peer. Writes
measure.json (the machine, every step, every case's counters, the summary)
and measure.log under --out, and prints the summary table last.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import steps  # noqa: E402
from steps import tail  # noqa: E402

TARGETS = ["//ops/cuda:runtime_test", "//ops:cuda_parity_test",
           "//benchmarks:train_step_benchmark",
           "//benchmarks:inference_benchmark"]
TRAIN = "//benchmarks:train_step_benchmark"
INFER = "//benchmarks:inference_benchmark"
# The end of a case's name in a --benchmark_filter (Google Benchmark
# matches the full name, ".../iterations:N/real_time").
END = "(/|$)"
# The paper's claim (SNIPER.md section 8) and issue #23's target.
TARGET_R101_IMAGES_PER_S = 30
COUNTERS = ["images_per_s", "chips_per_s", "pixels_per_image",
            "chips_per_image", "batch", "peak_gpu_allocated_mib",
            "peak_gpu_reserved_mib", "peak_rss_mib", "loader_wait_s_per_step",
            "nonfinite_steps", "largest_batch", "hit_cap", "views_per_image"]


class Measure(steps.Steps):
  def __init__(self, args):
    super().__init__(args.start, args.deadline_s, args.out, "measure.log")
    self.args = args
    self.cuda = args.device == "cuda"
    self.cases = []  # every benchmark case that ran

  def bench(self, target, regex, precision, timeout, extra=()):
    """Runs the cases of `target` matching `regex` in one process."""
    a = self.args
    report = os.path.join(self.tmp, "bench_%d.json" % len(self.steps))
    cmd = [self.binary(target), "--device=" + a.device,
           "--precision=" + precision, "--benchmark_filter=" + regex,
           "--benchmark_out=" + report, "--benchmark_out_format=json"]
    if a.data_dir:
      cmd.append("--data_dir=" + a.data_dir)
    rc, out, _ = self.run(cmd + list(extra), timeout)
    cases = []
    if os.path.exists(report):
      try:
        with open(report) as f:
          runs = json.load(f).get("benchmarks", [])
      except ValueError:  # cut short: the reporter writes it at the end
        runs = []
      for r in runs:
        case = {"name": r["name"].split("/iterations:")[0],
                "precision": precision, "seconds_per_step":
                    r.get("real_time", 0) * {"s": 1, "ms": 1e-3, "us": 1e-6,
                                             "ns": 1e-9}[r.get("time_unit", "s")],
                "steps": r.get("iterations")}
        if r.get("error_occurred"):
          case["error"] = r.get("error_message")
        for c in COUNTERS:
          if c in r:
            case[c] = r[c]
        cases.append(case)
    self.cases += cases
    detail = {"exit": rc, "cases": [c["name"] for c in cases]}
    errors = [c["error"] for c in cases if "error" in c]
    if rc != 0:
      detail["output"] = tail(out)
    if rc is None:
      return "timeout", detail
    if errors:
      detail["errors"] = errors
    ok = rc == 0 and cases and not errors
    return ("pass" if ok else "fail"), detail

  def train(self, names, precision, timeout, extra=()):
    a = self.args
    regex = "^BM_TrainStepPaper/(%s)%s" % ("|".join(names), END)
    return self.bench(TRAIN, regex, precision, timeout,
                      ["--steps=%d" % a.steps, "--batch=%d" % a.batch,
                       "--threads=%d" % a.threads] + list(extra))

  def largest(self, depth, precision, timeout):
    a = self.args
    return self.bench(TRAIN, "^BM_LargestBatch/sniper_r%d%s" % (depth, END), precision,
                      timeout, ["--largest_batch", "--batch=%d" % a.batch,
                                "--largest_batch_cap=%d" % a.largest_batch_cap,
                                "--threads=%d" % a.threads])

  def inference(self, depth, precision, timeout):
    a = self.args
    return self.bench(INFER, "^BM_InferenceCoco/.*_r%d%s" % (depth, END), precision,
                      timeout, ["--coco_images=%d" % a.coco_images,
                                "--threads=%d" % a.threads])

  def parity(self, timeout):
    env = {} if self.cuda else {"SNIPER_TEST_DEVICE": "cpu"}
    return self.gtest("parity", "//ops:cuda_parity_test", timeout, env)

  def peer(self, precision, timeout):
    a = self.args
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "torchvision_peer.py")
    batch = max(1, round(a.batch * 512 * 512 / (800 * 1333)))
    rc, out, _ = self.run([sys.executable, script, "--device=" + a.device,
                           "--precision=" + precision, "--batch=%d" % batch,
                           "--steps=%d" % a.steps], timeout)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    if rc == 3:
      return "skipped", result
    if rc is None:
      return "timeout", {}
    if rc != 0 or "images_per_s" not in result:
      return "fail", {"exit": rc, "output": tail(out)}
    result["name"] = "torchvision/fasterrcnn_resnet50_fpn"
    self.cases.append(result)
    return "pass", result

  # --- the summary ----------------------------------------------------------
  def case(self, name, precision):
    for c in self.cases:
      if c.get("name") == name and c.get("precision") == precision:
        return c
    return None

  def summary(self):
    rows, ratios = [], []
    for c in self.cases:
      if "error" in c:
        continue
      if "peak_gpu_allocated_mib" in c:
        mem, kind = c["peak_gpu_allocated_mib"], "GPU allocated"
      elif "peak_rss_mib" in c:
        mem, kind = c["peak_rss_mib"], "RSS"
      else:
        mem, kind = None, ""
      rows.append({"case": c["name"], "precision": c.get("precision"),
                   "images_per_s": c.get("images_per_s"),
                   "chips_per_s": c.get("chips_per_s"),
                   "batch": c.get("largest_batch", c.get("batch")),
                   "hit_cap": bool(c.get("hit_cap")),
                   "pixels_per_image": c.get("pixels_per_image"),
                   "peak_mib": mem, "memory": kind})
    for precision in self.args.precisions:
      for depth in (50, 101):
        s = self.case("BM_TrainStepPaper/sniper_r%d" % depth, precision)
        b = self.case("BM_TrainStepPaper/single_scale_r%d" % depth, precision)
        if s and b and "error" not in s and "error" not in b:
          ratios.append({"depth": depth, "precision": precision,
                         "sniper_images_per_s": s["images_per_s"],
                         "single_scale_images_per_s": b["images_per_s"],
                         "ratio": s["images_per_s"] / b["images_per_s"]})
    target = None
    first = self.args.precisions[0]
    s = self.case("BM_TrainStepPaper/sniper_r101", first)
    b = self.case("BM_TrainStepPaper/single_scale_r101", first)
    if self.cuda and s and b and "error" not in s and "error" not in b:
      target = {"precision": first, "images_per_s": s["images_per_s"],
                "at_least": TARGET_R101_IMAGES_PER_S,
                "met": s["images_per_s"] >= TARGET_R101_IMAGES_PER_S and
                       s["images_per_s"] >= b["images_per_s"]}
    return {"rows": rows, "sniper_vs_single_scale": ratios, "target": target}

  def print_summary(self, summary):
    def f(x, digits=2):
      return "-" if x is None else ("%.*f" % (digits, x))
    self.say("\n| case | precision | images/s | chips/s | batch | px/image | "
             "peak MiB |")
    self.say("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in summary["rows"]:
      self.say("| %s | %s | %s | %s | %s%s | %s | %s%s |" % (
          r["case"], r["precision"], f(r["images_per_s"]),
          f(r["chips_per_s"]), f(r["batch"], 0),
          " (the cap)" if r["hit_cap"] else "",
          f(r["pixels_per_image"], 0), f(r["peak_mib"], 0),
          " (%s)" % r["memory"] if r["memory"] else ""))
    for r in summary["sniper_vs_single_scale"]:
      self.say("R%d %s: SNIPER %.2f images/s vs single scale %.2f: %.2fx" % (
          r["depth"], r["precision"], r["sniper_images_per_s"],
          r["single_scale_images_per_s"], r["ratio"]))
    t = summary["target"]
    if t:
      self.say("target (SNIPER R101 %s >= %d images/s and >= single scale): "
               "%s (%.1f)" % (t["precision"], t["at_least"],
                              "met" if t["met"] else "not met",
                              t["images_per_s"]))

  # --- the run ----------------------------------------------------------------
  def main(self):
    a = self.args
    self.say("sniper-cpp GPU measurement: device %s, deadline %d s, %s" %
             (a.device, a.deadline_s, ",".join(a.precisions)))
    env = self.environment(a.device)
    self.say(json.dumps(env))
    if self.step("build", lambda t: self.build(a.bazel, TARGETS, t),
                 60, 420) != "pass":
      return self.finish(env)
    first = a.precisions[0]
    if self.cuda:
      self.step("runtime_test", lambda t: self.gtest(
          "runtime", "//ops/cuda:runtime_test", t), 10, 60)
    self.step("cuda_parity", self.parity, 30, 150)
    # Most telling first: a window that runs out loses the last steps.
    for depth in (101, 50):
      self.step("train_r%d_%s" % (depth, first), lambda t, d=depth: self.train(
          ["sniper_r%d" % d, "single_scale_r%d" % d], first, t), 40, 150)
    self.step("largest_batch_r101_" + first,
              lambda t: self.largest(101, first, t), 40, 150)
    self.step("inference_r101_" + first,
              lambda t: self.inference(101, first, t), 40, 120)
    self.step("train_ours_r101_" + first,
              lambda t: self.train(["sniper_r101_ours"], first, t), 30, 90)
    for p in a.precisions[1:]:
      self.step("train_r101_" + p, lambda t, p=p: self.train(
          ["sniper_r101", "single_scale_r101"], p, t), 40, 150)
    if self.cuda:
      self.step("torchvision_peer_" + first,
                lambda t: self.peer(first, t), 40, 120)
    self.step("largest_batch_r50_" + first,
              lambda t: self.largest(50, first, t), 40, 120)
    self.step("inference_r50_" + first,
              lambda t: self.inference(50, first, t), 30, 90)
    return self.finish(env)

  def finish(self, env):
    summary = self.summary()
    return self.write_result("measure.json", env,
                             {"cases": self.cases, "summary": summary},
                             lambda: self.print_summary(summary))

def main():
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--start", type=float, default=time.time())
  ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
  ap.add_argument("--deadline_s", type=int, default=540)
  ap.add_argument("--steps", type=int, default=20,
                  help="timed training steps per case")
  ap.add_argument("--batch", type=int, default=16,
                  help="chips per SNIPER step (the paper: 16)")
  ap.add_argument("--precisions", default="BF16,FP32",
                  help="comma-separated; the first is measured fully")
  ap.add_argument("--data_dir", default="",
                  help="COCO-format data (instances.json + images/); "
                       "default .gpu_carry/coco_subset, else coco_mini")
  ap.add_argument("--coco_images", type=int, default=20)
  ap.add_argument("--largest_batch_cap", type=int, default=1024)
  ap.add_argument("--threads", type=int, default=2,
                  help="compute threads of the benchmarks")
  ap.add_argument("--out", default=os.environ.get("OUT") or "measure_out")
  ap.add_argument("bazel", nargs="+", help="the Bazel build command, after --")
  a = ap.parse_args()
  a.precisions = [p for p in a.precisions.split(",") if p]
  bad = [p for p in a.precisions if p not in ("FP32", "BF16", "FP16")]
  if bad or not a.precisions:
    ap.error("--precisions: FP32, BF16 or FP16, got %s" % a.precisions)
  if not a.data_dir and os.path.exists(".gpu_carry/coco_subset/instances.json"):
    a.data_dir = os.path.abspath(".gpu_carry/coco_subset")
  return Measure(a).main()


if __name__ == "__main__":
  sys.exit(main())
