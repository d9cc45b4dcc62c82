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
(slow / fast must be at most this, e.g. "within 1.5x of the baseline").

Usage:
  perf_gate.py --baseline=benchmarks/perf_baseline.json --bin_root=DIR
  perf_gate.py ... --update     # rewrite exact counters and `measured`
                                # ratios from this run (thresholds kept)
"""
import argparse
import json
import os
import subprocess
import sys


def run_binary(path, repetitions, min_time, benchmark_filter=None):
    cmd = [path, "--benchmark_format=json",
           f"--benchmark_repetitions={repetitions}",
           f"--benchmark_min_time={min_time}",
           "--benchmark_enable_random_interleaving=true"]
    if benchmark_filter:
        cmd.append(f"--benchmark_filter={benchmark_filter}")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def summarize(report):
    """name -> {"time": min real_time (ns), "counters": {...}, "skipped": msg}"""
    result = {}
    for b in report.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        name = b.get("run_name", b["name"])
        entry = result.setdefault(name, {"time": None, "counters": {},
                                         "skipped": None})
        if b.get("error_occurred"):
            entry["skipped"] = b.get("error_message", "error")
            continue
        unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        t = b["real_time"] * unit
        entry["time"] = t if entry["time"] is None else min(entry["time"], t)
        skip = {"name", "run_name", "run_type", "repetitions",
                "repetition_index", "threads", "iterations", "real_time",
                "cpu_time", "time_unit", "family_index",
                "per_family_instance_index", "items_per_second",
                "bytes_per_second", "aggregate_name", "aggregate_unit"}
        for k, v in b.items():
            if k not in skip and isinstance(v, (int, float)):
                entry["counters"][k] = v
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--bin_root", default=".")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--min_time", type=float, default=0.05)
    ap.add_argument("--update", action="store_true")
    args = ap.parse_args()

    with open(args.baseline) as f:
        baseline = json.load(f)

    results = {}
    for binary in baseline["binaries"]:
        path = os.path.join(args.bin_root, binary)
        print(f"running {binary} ...", flush=True)
        results[binary] = summarize(run_binary(
            path, baseline.get("repetitions", {}).get(binary, args.repetitions),
            args.min_time, baseline.get("filters", {}).get(binary)))

    failures, skipped = [], []
    for binary, per_bench in baseline["exact"].items():
        got_bin = results.get(binary, {})
        for bench, counters in per_bench.items():
            got = got_bin.get(bench)
            if got is None:
                failures.append(f"{binary}:{bench}: missing from this run")
                continue
            if got["skipped"]:
                skipped.append(f"{binary}:{bench}: {got['skipped']}")
                continue
            for key, want in counters.items():
                have = got["counters"].get(key)
                if args.update:
                    counters[key] = have
                elif have != want:
                    failures.append(f"{binary}:{bench}: counter {key} = {have}, "
                                    f"baseline {want} (exact)")
                else:
                    print(f"  ok   exact {bench}.{key} = {have}")

    for rule in baseline["ratios"]:
        got_bin = results.get(rule["binary"], {})
        slow, fast = got_bin.get(rule["slow"]), got_bin.get(rule["fast"])
        label = f"{rule['binary']}: {rule['slow']} / {rule['fast']}"
        if slow is None or fast is None:
            failures.append(f"{label}: benchmark missing")
            continue
        if slow["skipped"] or fast["skipped"]:
            skipped.append(f"{label}: {slow['skipped'] or fast['skipped']}")
            continue
        ratio = slow["time"] / fast["time"]
        if args.update:
            rule["measured"] = round(ratio, 2)
        lo, hi = rule.get("min_speedup"), rule.get("max_ratio")
        if lo is not None and ratio < lo:
            failures.append(f"{label} = {ratio:.2f}x, below {lo}x")
        elif hi is not None and ratio > hi:
            failures.append(f"{label} = {ratio:.2f}x, above {hi}x")
        else:
            bound = f">= {lo}x" if lo is not None else f"<= {hi}x"
            print(f"  ok   ratio {label} = {ratio:.2f}x ({bound})")

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
