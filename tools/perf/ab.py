#!/usr/bin/env python3
"""A/B of two builds' benchmark binaries on this machine, in one run.

Runs every binary of the gate (benchmarks/perf_baseline.json) from both
trees interleaved, round by round (A B, B A, A B, ...: order bias cancels),
merges each side's repetitions and compares them with Google Benchmark's
compare.py (Debian's libbenchmark-tools: its Mann-Whitney U test). Then:

  FAIL     HEAD's median time AND its minimum time are both more than
           max_slowdown slower than BASE's, and compare.py's p-value is
           below alpha (noise on a shared machine only ever adds time, so
           a real slowdown moves the minimum too; a burst does not);
  faster   the same the other way (reported);
  review   an exact counter (chips, pixels, boxes, ...) differs between
           BASE and HEAD: a behaviour change, listed for review (the
           HEAD-only checks below hold it against perf_baseline.json);
  Only benchmarks matching ab.judge[binary] (our code, not the naive or
  torchvision peers that the in-run ratios need) can fail.
  HEAD-only checks: perf_baseline.json's exact counters and in-run ratios
           (perf_lib.check_exact / check_ratios) on HEAD's repetitions.

A binary with a FAIL runs a second, fresh A/B pass; the FAIL stands only if
that pass fails the benchmark too (a burst on a shared machine can slow one
side for a whole pass: seen here once on identical binaries, +38% at
p = 0.004; a real slowdown shows again).

The comparison table is written to OUT_DIR/summary.txt and printed last.
Normally run through tools/perf/ab.sh, which builds both trees.
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import perf_lib  # noqa: E402

COMPARE_PY = "/usr/share/benchmark/compare.py"


def flat(binary):
    return binary.replace("/", "_")


def run_compare(python, base_json, head_json, diff_json):
    """compare.py's table (text) and its JSON difference report."""
    cmd = [python, COMPARE_PY, "--no-color", "-d", diff_json, "benchmarks",
           base_json, head_json]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    with open(diff_json) as f:
        return out.stdout, json.load(f)


def max_slowdown_for(ab, binary, bench):
    for pattern, value in ab.get("max_slowdown_for", {}).items():
        if re.search(pattern, f"{binary}:{bench}"):
            return value
    return ab.get("max_slowdown", 0.2)


def compare_binary(binary, base, head, pvalues, ab):
    """Rows [(name, base ms, head ms, change, p, verdict)] and the
    counter changes for review."""
    rows, review = [], []
    alpha = ab.get("alpha", 0.05)
    for bench in sorted(set(base) | set(head)):
        b, h = base.get(bench), head.get(bench)
        if b is None or h is None:
            rows.append((bench, b and b["median"], h and h["median"], None,
                         None, "only in " + ("HEAD" if b is None else "BASE")))
            continue
        if b["skipped"] or h["skipped"]:
            rows.append((bench, None, None, None, None,
                         "skipped: " + (b["skipped"] or h["skipped"])))
            continue
        change = h["median"] / b["median"] - 1
        change_min = h["time"] / b["time"] - 1
        p = pvalues.get(bench)
        limit = max_slowdown_for(ab, binary, bench)
        judge = ab.get("judge", {}).get(binary)
        if judge is not None and not re.search(judge, bench):
            verdict = "not judged (a peer or reference)"
        elif p is None:
            verdict = "no U test (too few repetitions)"
        elif p < alpha and min(change, change_min) > limit:
            verdict = f"FAIL (slower by more than {limit:.0%})"
        elif p < alpha and max(change, change_min) < -limit:
            verdict = "faster"
        else:
            verdict = "ok"
        rows.append((bench, b["median"], h["median"], change, p, verdict))
        # A counter that is constant over each side's repetitions (a count:
        # chips, pixels, boxes; rates vary) and differs between the sides.
        for key in sorted(set(b["counters"]) & set(h["counters"])):
            bv, hv = set(b["counters"][key]), set(h["counters"][key])
            if (len(bv) == 1 and len(hv) == 1
                    and not perf_lib.counts_equal(next(iter(bv)),
                                                  next(iter(hv)))):
                review.append(f"{binary}:{bench}: {key} {bv.pop()} -> "
                              f"{hv.pop()}")
    return rows, review


def ab_binary(args, config, binary, rounds, suffix):
    """One A/B pass of one binary: (rows, counter changes, HEAD's summary,
    peak RSS per side). Files land in out_dir with `suffix`."""
    ab = config.get("ab", {})
    reps = ab.get("repetitions", {}).get(binary,
                                         ab.get("default_repetitions", 2))
    reports = {"BASE": [], "HEAD": []}
    peaks = {"BASE": 0.0, "HEAD": 0.0}
    for r in range(rounds):
        order = ["BASE", "HEAD"] if r % 2 == 0 else ["HEAD", "BASE"]
        for side in order:
            tree = args.base_tree if side == "BASE" else args.head_tree
            print(f"[ab] {binary}{suffix}: round {r + 1}/{rounds} {side}",
                  flush=True)
            report, peak = perf_lib.run_in_tree(tree, binary, config, reps)
            reports[side].append(report)
            peaks[side] = max(peaks[side], peak)
    stem = os.path.join(args.out_dir, flat(binary) + suffix)
    paths = {}
    for side in reports:
        paths[side] = f"{stem}.{side.lower()}.json"
        with open(paths[side], "w") as f:
            json.dump(perf_lib.merge_reports(reports[side]), f)
    base = perf_lib.summarize(perf_lib.merge_reports(reports["BASE"]))
    head = perf_lib.summarize(perf_lib.merge_reports(reports["HEAD"]))
    pvalues = {}
    if any(e["times"] for e in base.values()) and \
            any(e["times"] for e in head.values()):
        text, diff = run_compare(args.python, paths["BASE"], paths["HEAD"],
                                 f"{stem}.diff.json")
        with open(f"{stem}.compare.txt", "w") as f:
            f.write(text)
        for d in diff:
            if d.get("utest") and "time_pvalue" in d["utest"]:
                pvalues[d["name"]] = d["utest"]["time_pvalue"]
    rows, review = compare_binary(binary, base, head, pvalues, ab)
    return rows, review, head, peaks


def pformat(p):
    return f"{p:.4f}" if p >= 1e-4 else f"{p:.0e}"


def confirm(rows, rows2):
    """A FAIL of the first pass stands only if the fresh pass fails it too;
    the verdict names both passes."""
    second = {row[0]: row for row in rows2}
    out = []
    for row in rows:
        again = second.get(row[0])
        if not row[5].startswith("FAIL") or again is None:
            out.append(row)
            continue
        both = (f"{row[3]:+.1%} p={pformat(row[4])}, then "
                f"{again[3]:+.1%} p={pformat(again[4])}"
                if again[3] is not None and again[4] is not None else "")
        if again[5].startswith("FAIL"):
            out.append(row[:5] + (f"{row[5]}, confirmed ({both})",))
        else:
            out.append(row[:5] + (f"ok: not confirmed ({both})",))
    return out


def format_table(rows_by_binary, base_label, head_label):
    lines = [f"A/B: BASE {base_label}  vs  HEAD {head_label} "
             "(median real time, compare.py's U test p-value)",
             f"{'benchmark':<62} {'BASE ms':>10} {'HEAD ms':>10} "
             f"{'change':>8} {'p':>7}  verdict"]
    for binary, rows in rows_by_binary:
        lines.append(f"{binary}")
        for bench, bt, ht, change, p, verdict in rows:
            fmt = lambda t: f"{t / 1e6:10.3f}" if t is not None else f"{'-':>10}"
            ch = f"{change:+8.1%}" if change is not None else f"{'-':>8}"
            pv = f"{'-':>7}" if p is None else f"{pformat(p):>7}"
            lines.append(f"  {bench[:60]:<60} {fmt(bt)} {fmt(ht)} {ch} {pv}"
                         f"  {verdict}")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True,
                    help="perf_baseline.json (HEAD's)")
    ap.add_argument("--base_tree", required=True)
    ap.add_argument("--head_tree", required=True)
    ap.add_argument("--base_label", default="BASE")
    ap.add_argument("--head_label", default="HEAD")
    ap.add_argument("--out_dir", required=True)
    ap.add_argument("--binaries", default="",
                    help="comma-separated subset of the config's binaries")
    ap.add_argument("--rounds", type=int, default=0,
                    help="override the config's ab.rounds")
    ap.add_argument("--python", default="/usr/bin/python3",
                    help="the Python that has compare.py's scipy")
    args = ap.parse_args()

    config = perf_lib.load_config(args.config)
    ab = config.get("ab", {})
    rounds = args.rounds or ab.get("rounds", 3)
    binaries = config["binaries"]
    if args.binaries:
        wanted = args.binaries.split(",")
        unknown = [b for b in wanted if b not in binaries]
        if unknown:
            sys.exit(f"ab.py: not in {args.config}'s binaries: {unknown}")
        binaries = wanted
    os.makedirs(args.out_dir, exist_ok=True)

    rows_by_binary, review, head_results, notes = [], [], {}, []
    for binary in binaries:
        missing = [side for side, tree in (("BASE", args.base_tree),
                                           ("HEAD", args.head_tree))
                   if not os.path.exists(os.path.join(tree, "bazel-bin",
                                                      binary))]
        if missing:
            notes.append(f"{binary}: not built in {' and '.join(missing)}; "
                         "not compared")
            continue
        rows, rev, head, peaks = ab_binary(args, config, binary, rounds, "")
        if any(row[5].startswith("FAIL") for row in rows):
            # A transient burst on a shared machine can slow one side for a
            # whole pass; a real slowdown shows again in a fresh pass.
            rows2, _, _, _ = ab_binary(args, config, binary, rounds,
                                       ".confirm")
            rows = confirm(rows, rows2)
        rows_by_binary.append((binary, rows))
        review += rev
        head_results[binary] = head
        notes.append(f"{binary}: peak RSS BASE {peaks['BASE']:.0f} MiB, "
                     f"HEAD {peaks['HEAD']:.0f} MiB")

    # HEAD-only checks, on HEAD's repetitions of the binaries run.
    sub = dict(config)
    sub["exact"] = {b: v for b, v in config.get("exact", {}).items()
                    if b in head_results}
    sub["ratios"] = [r for r in config.get("ratios", [])
                     if r["binary"] in head_results]
    gate_fail, gate_skip, gate_ok = perf_lib.check_exact(sub, head_results)
    f2, s2, o2 = perf_lib.check_ratios(sub, head_results)
    gate_fail += f2
    gate_skip += s2
    gate_ok += o2

    lines = format_table(rows_by_binary, args.base_label, args.head_label)
    slower = [f"{b}:{row[0]} {row[3]:+.1%} (p={pformat(row[4])})"
              for b, rows in rows_by_binary for row in rows
              if row[5].startswith("FAIL")]
    for n in notes:
        lines.append(f"note: {n}")
    for r in review:
        lines.append(f"review: counter changed: {r}")
    lines.append(f"HEAD-only gate (perf_baseline.json): {len(gate_ok)} ok, "
                 f"{len(gate_skip)} skipped, {len(gate_fail)} failed")
    for s in gate_skip:
        lines.append(f"  skip {s}")
    for f_ in gate_fail:
        lines.append(f"  FAIL {f_}")
    for s in slower:
        lines.append(f"SLOWER: {s}")
    ok = not slower and not gate_fail
    lines.append(f"perf A/B: {'PASS' if ok else 'FAIL'}: {len(slower)} slower, "
                 f"{len(gate_fail)} gate failure(s), {len(review)} counter "
                 "change(s) to review")
    with open(os.path.join(args.out_dir, "summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for line in gate_ok:
        print(f"  ok   {line}")
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
