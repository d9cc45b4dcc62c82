#!/usr/bin/env python3
"""Performance regression gate: benchmark JSON against a committed baseline.

Runs each benchmark binary named in the baseline with Google Benchmark's JSON
output (repetitions, random interleaving) and checks two kinds of rules:

  exact   counters that are counts (chips, pixels, bytes, boxes) must equal
          the baseline exactly. A change here is a behaviour change: review
          it, then update the baseline.
  ratios  time ratios measured inside ONE run of one binary, e.g. the naive
          greedy cover's time over ours. Machines are shared and noisy, so
          no absolute time is gated; a ratio must stay above `min_speedup`.
          The per-benchmark time is the minimum over repetitions.

Benchmarks that skip (e.g. no ../shared/data) are reported and not compared.

A binary's benchmarks can be narrowed with "filters": {binary: regex}
(Google Benchmark's --benchmark_filter) and its repetitions set with
"repetitions": {binary: n}, to keep the gate quick. A ratio rule has
"min_speedup" (slow / fast must be at least this) and/or "max_ratio"
(slow / fast must be at most this, e.g. "within 1.5x of the baseline");
with "metric" it compares a counter instead of time ("num" / "den", e.g.
SNIPER's pixels per image over the single-scale baseline's; see
perf_lib.check_ratios).

This is the HEAD-only half of the gate. CI runs the same checks inside
tools/perf/ab.sh, which also compares HEAD with the last recorded commit.

Usage:
  perf_gate.py --baseline=benchmarks/perf_baseline.json --bin_root=DIR
  perf_gate.py ... --update     # rewrite exact counters and `measured`
                                # ratios from this run (thresholds kept)
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import perf_lib  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--bin_root", default=".")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--min_time", type=float, default=0.05)
    ap.add_argument("--update", action="store_true")
    args = ap.parse_args()

    baseline = perf_lib.load_config(args.baseline)
    results = {}
    for binary in baseline["binaries"]:
        print(f"running {binary} ...", flush=True)
        report, _ = perf_lib.run_binary(
            os.path.join(args.bin_root, binary),
            baseline.get("repetitions", {}).get(binary, args.repetitions),
            args.min_time, baseline.get("filters", {}).get(binary),
            perf_lib.binary_env(baseline, binary))
        results[binary] = perf_lib.summarize(report)

    failures, skipped, oks = perf_lib.check_exact(baseline, results,
                                                  args.update)
    f2, s2, o2 = perf_lib.check_ratios(baseline, results, args.update)
    failures += f2
    skipped += s2
    for line in oks + o2:
        print(f"  ok   {line}")
    for s in skipped:
        print(f"  skip {s}")
    if args.update:
        with open(args.baseline, "w") as f:
            json.dump(baseline, f, indent=2, sort_keys=False)
            f.write("\n")
        print(f"updated {args.baseline}")
    for f_ in failures:
        print(f"  FAIL {f_}")
    print(f"perf gate: {len(failures)} failure(s), {len(skipped)} skipped")
    return 1 if failures and not args.update else 0


if __name__ == "__main__":
    sys.exit(main())
