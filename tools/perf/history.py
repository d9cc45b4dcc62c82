#!/usr/bin/env python3
"""benchmarks/perf_history.jsonl: one line per recorded commit.

  history.py last-commit HISTORY
      prints the last recorded commit (tools/perf/ab.sh's default BASE)
  history.py record --config=CONFIG --tree=DIR --commit=SHA --date=ISO
                    --subject=TEXT --history=HISTORY [--repetitions=N]
      runs the gate's binaries built in DIR/bazel-bin and writes the line
      for SHA (replacing an older line of the same commit and machine)

A line:
  {"commit", "date" (the commit's), "subject", "recorded" (when measured),
   "machine": {"cpu", "cores"},
   "benchmarks": {"BINARY:BENCHMARK": {"time_ns": median real time,
                                       "counters": {name: median}}},
   "peak_rss_mib": {"BINARY": the process's peak resident memory}}
"""
import argparse
import datetime
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import perf_lib  # noqa: E402


def read_history(path):
    """The history's lines, oldest first; errors name the file and line."""
    entries = []
    if not os.path.exists(path):
        return entries
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{number}: not JSON: {e}") from e
            for key in ("commit", "machine", "benchmarks"):
                if key not in entry:
                    raise ValueError(f"{path}:{number}: no '{key}'")
            entries.append(entry)
    return entries


def last_commit(path):
    entries = read_history(path)
    if not entries:
        raise ValueError(f"{path}: no recorded commit "
                         "(record one: tools/perf/record.sh)")
    return entries[-1]["commit"]


def measure(config, tree, repetitions):
    benchmarks, peaks = {}, {}
    for binary in config["binaries"]:
        if not os.path.exists(os.path.join(tree, "bazel-bin", binary)):
            print(f"[record] {binary}: not built at this commit; left out",
                  flush=True)
            continue
        print(f"[record] {binary} ...", flush=True)
        report, peak = perf_lib.run_in_tree(tree, binary, config,
                                            repetitions)
        peaks[binary] = round(peak, 1)
        for name, e in perf_lib.summarize(report).items():
            if e["skipped"] or not e["times"]:
                continue
            benchmarks[f"{binary}:{name}"] = {
                "time_ns": round(e["median"], 1),
                "counters": {k: statistics.median(v)
                             for k, v in sorted(e["counters"].items())}}
    return benchmarks, peaks


def record(args):
    config = perf_lib.load_config(args.config)
    benchmarks, peaks = measure(config, args.tree, args.repetitions)
    if not benchmarks:
        raise ValueError("no benchmark ran; nothing recorded")
    entry = {"commit": args.commit, "date": args.date,
             "subject": args.subject,
             "recorded": datetime.datetime.now(datetime.timezone.utc)
             .strftime("%Y-%m-%dT%H:%M:%SZ"),
             "machine": perf_lib.machine(), "benchmarks": benchmarks,
             "peak_rss_mib": peaks}
    entries = [e for e in read_history(args.history)
               if not (e["commit"] == args.commit
                       and e["machine"] == entry["machine"])]
    entries.append(entry)
    entries.sort(key=lambda e: e.get("date", ""))
    tmp = args.history + ".tmp"
    with open(tmp, "w") as f:
        for e in entries:
            f.write(json.dumps(e, sort_keys=True) + "\n")
    os.replace(tmp, args.history)  # never half-written
    print(f"[record] {args.commit[:10]}: {len(benchmarks)} benchmarks "
          f"-> {args.history} ({len(entries)} lines)")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command", required=True)
    lc = sub.add_parser("last-commit")
    lc.add_argument("history")
    rec = sub.add_parser("record")
    rec.add_argument("--config", required=True)
    rec.add_argument("--tree", required=True)
    rec.add_argument("--commit", required=True)
    rec.add_argument("--date", required=True)
    rec.add_argument("--subject", default="")
    rec.add_argument("--history", required=True)
    rec.add_argument("--repetitions", type=int, default=3)
    args = ap.parse_args()
    try:
        if args.command == "last-commit":
            print(last_commit(args.history))
        else:
            record(args)
    except (ValueError, RuntimeError, OSError) as e:
        print(f"history.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
