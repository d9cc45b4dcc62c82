#!/usr/bin/env python3
"""The table of tools/debian13/compare.sh from its output directory.

Reads r<round>.torch<1|2>.{train,infer}.json (Google Benchmark JSON) and,
when present, default.torch<1|2>.{log,seconds} (the default run's output and
wall time). Prints a Markdown table: per measure, the values of each round on
LibTorch 1.13 and 2.6 and the ratio of the medians (2.6 / 1.13).
"""
import glob
import json
import os
import re
import statistics
import sys

BENCH = [  # (file kind, benchmark prefix, counter, label)
    ("train", "BM_TrainStep/sniper/", "chips_per_s", "BM_TrainStep/sniper chips/s"),
    ("train", "BM_TrainStep/single_scale/", "images_per_s",
     "BM_TrainStep/single_scale images/s"),
    ("train", "BM_TrainStep/sniper/", "peak_rss_mib", "BM_TrainStep/sniper peak RSS MiB"),
    ("infer", "BM_Inference/sniper/", "images_per_s", "BM_Inference/sniper images/s"),
    ("infer", "BM_Inference/single_scale/", "images_per_s",
     "BM_Inference/single_scale images/s"),
]

AP_RE = re.compile(r"Average Precision\s+\(AP\) @\[ IoU=0\.50:0\.95 \| area=\s*all "
                   r"\| maxDets=100 \] = ([0-9.]+)")


def bench_values(out, kind, prefix, counter, torch):
  values = []
  for path in sorted(glob.glob(os.path.join(out, "r*.torch%d.%s.json" % (torch, kind)))):
    with open(path) as f:
      data = json.load(f)
    for b in data.get("benchmarks", []):
      if b.get("name", "").startswith(prefix) and counter in b and not b.get("error_occurred"):
        values.append(float(b[counter]))
  return values


def default_values(out, torch):
  """{label: value} from the default run's log, or {} without one."""
  log = os.path.join(out, "default.torch%d.log" % torch)
  if not os.path.exists(log):
    return {}
  text = open(log, errors="replace").read()
  got = {}
  m = re.findall(r"\[detector\] done: .*?\(([0-9.]+) chips/s\)", text)
  if m:
    got["default run: detector chips/s"] = float(m[-1])
  m = re.findall(r"\[eval\] \d+ images, .*?\(([0-9.]+) images/s\)", text)
  if m:
    got["default run: eval images/s"] = float(m[-1])
  aps = AP_RE.findall(text)
  if aps:
    got["default run: box AP"] = float(aps[0])
  if len(aps) > 1:
    got["default run: mask AP"] = float(aps[1])
  seconds = os.path.join(out, "default.torch%d.seconds" % torch)
  if os.path.exists(seconds):
    got["default run: wall time (min)"] = int(open(seconds).read()) / 60.0
  return got


def fmt(v):
  return "%.3f" % v if abs(v) < 10 else "%.1f" % v


def main():
  out = sys.argv[1]
  rows = []
  for kind, prefix, counter, label in BENCH:
    rows.append((label, bench_values(out, kind, prefix, counter, 1),
                 bench_values(out, kind, prefix, counter, 2)))
  d1, d2 = default_values(out, 1), default_values(out, 2)
  for label in d1:
    rows.append((label, [d1[label]], [d2[label]] if label in d2 else []))
  print("| measure | LibTorch 1.13 (Debian 12) | LibTorch 2.6 (Debian 13) | 2.6 / 1.13 |")
  print("| --- | --- | --- | ---: |")
  for label, a, b in rows:
    if not a and not b:
      continue
    ratio = (statistics.median(b) / statistics.median(a)
             if a and b and statistics.median(a) else float("nan"))
    print("| %s | %s | %s | %.2fx |" % (label, ", ".join(fmt(v) for v in a) or "-",
                                       ", ".join(fmt(v) for v in b) or "-", ratio))
  return 0


if __name__ == "__main__":
  sys.exit(main())
