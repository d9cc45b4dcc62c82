#!/usr/bin/env python3
"""Trend pictures from benchmarks/perf_history.jsonl (SVG, matplotlib).

  python3 tools/perf/report.py --history=benchmarks/perf_history.jsonl \\
      --out=docs/perf_trend.svg [--machine=SUBSTRING]

One small panel per key metric across the recorded commits (oldest left),
SNIPER beside the single-scale baseline where both exist. Lines of one
machine only (the most recent line's, unless --machine): times from
different machines are not comparable. Benchmark names are matched without
their "/iterations:N" part, so a change of the step count keeps a series.
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import charts  # noqa: E402  (tools/charts.py)
import history  # noqa: E402

# (title, unit, [(series label, "binary:benchmark", metric)]): metric is
# "time_ms" or a counter name.
PANELS = [
    ("Training images/s", "images/s", [
        ("SNIPER", "benchmarks/train_step_benchmark:BM_TrainStep/sniper/real_time",
         "images_per_s"),
        ("single scale",
         "benchmarks/train_step_benchmark:BM_TrainStep/single_scale/real_time",
         "images_per_s")]),
    ("Training pixels/image", "k px", [
        ("SNIPER", "benchmarks/train_step_benchmark:BM_TrainStep/sniper/real_time",
         "pixels_per_image/1e3"),
        ("single scale",
         "benchmarks/train_step_benchmark:BM_TrainStep/single_scale/real_time",
         "pixels_per_image/1e3")]),
    ("Training peak memory", "MiB", [
        ("SNIPER", "benchmarks/train_step_benchmark:BM_TrainStep/sniper/real_time",
         "peak_rss_mib"),
        ("single scale",
         "benchmarks/train_step_benchmark:BM_TrainStep/single_scale/real_time",
         "peak_rss_mib")]),
    ("Inference images/s", "images/s", [
        ("SNIPER 3 scales", "benchmarks/inference_benchmark:BM_Inference/sniper/real_time",
         "images_per_s"),
        ("AutoFocus (GT maps)",
         "benchmarks/inference_benchmark:BM_Inference/autofocus_ground_truth/real_time",
         "images_per_s"),
        ("single scale",
         "benchmarks/inference_benchmark:BM_Inference/single_scale/real_time",
         "images_per_s")]),
    ("Model train step (small)", "ms", [
        ("2 chips 256x256", "models/faster_rcnn_benchmark:BM_TrainSmall_Chips",
         "time_ms"),
        ("1 image 400x667", "models/faster_rcnn_benchmark:BM_TrainSmall_SingleScale",
         "time_ms")]),
    ("Chip generation, coco_mini", "ms / epoch", [
        ("SNIPER cover", "data/chips_benchmark:BM_ChipGen_CocoMini", "time_ms"),
        ("naive cover", "data/chips_benchmark:BM_ChipGen_CocoMini_Naive",
         "time_ms")]),
    ("NMS, 6000 boxes", "ms", [
        ("ours", "ops/box_ops_benchmark:BM_Nms/boxes:6000", "time_ms"),
        ("torchvision", "ops/box_ops_benchmark:BM_Nms_Torchvision/boxes:6000",
         "time_ms")]),
    ("COCO evaluation, 5k images", "ms", [
        ("ours", "evaluation/coco_eval_benchmark:BM_EvaluateCocoValSized/real_time",
         "time_ms")]),
    ("Loader, 60 synthetic images", "ms / epoch", [
        ("SNIPER chips",
         "data/chip_loader_benchmark:BM_SynLoader_SniperGrouped/real_time",
         "time_ms"),
        ("single scale",
         "data/chip_loader_benchmark:BM_SynLoader_SingleScale/real_time",
         "time_ms")]),
]
COLORS = ["#2f5aff", "#d62ad6", "#00a88f"]
BASELINE_COLOR = "#888888"  # single scale, naive, torchvision: the references
BASELINE = re.compile(r"^(single scale|naive|torchvision|1 image)")
_ITER = re.compile(r"/iterations:\d+")


def value(entry, key, metric):
    """The metric of benchmark `key` in a history line, or None."""
    benches = {_ITER.sub("", k): v for k, v in entry["benchmarks"].items()}
    b = benches.get(key)
    if b is None:
        return None
    scale = 1.0
    if "/" in metric:
        metric, div = metric.split("/")
        scale = 1.0 / float(div)
    if metric == "time_ms":
        return b["time_ns"] / 1e6
    v = b["counters"].get(metric)
    return None if v is None else v * scale


def panel_data(entries):
    """Per panel: its title, unit and series (label, whether a reference
    baseline, one value or None per entry)."""
    panels = []
    for title, unit, series in PANELS:
        panels.append({
            "title": title, "unit": unit,
            "series": [{"label": label,
                        "baseline": bool(BASELINE.match(label)),
                        "values": [value(e, key, metric) for e in entries]}
                       for label, key, metric in series]})
    return panels


def render(entries, machine_label, out):
    """The panels as one SVG at `out` (matplotlib; text kept as text)."""
    plt = charts.pyplot()
    plt.rcParams.update({"font.size": 9, "axes.titlesize": 11,
                         "axes.titleweight": "bold"})
    panels = panel_data(entries)
    cols = 3
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 4.2, rows * 2.9),
                             squeeze=False)
    commits = [e["commit"][:7] for e in entries]
    for ax, panel in zip(axes.flat, panels):
        ax.set_title(panel["title"])
        ax.set_ylabel(panel["unit"])
        ax.grid(True, color="#e4e4e4", linewidth=0.8)
        ax.set_axisbelow(True)
        drawn = 0
        for k, s in enumerate(panel["series"]):
            pts = [(i, v) for i, v in enumerate(s["values"]) if v is not None]
            if not pts:
                continue
            drawn += 1
            color = BASELINE_COLOR if s["baseline"] else COLORS[k % len(COLORS)]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                    markersize=3.5, linewidth=1.8, color=color,
                    linestyle="--" if s["baseline"] else "-", label=s["label"])
        ax.set_xticks(range(len(commits)))
        ax.set_xticklabels(commits, rotation=60, ha="right", fontsize=7)
        ax.set_xlim(-0.5, len(commits) - 0.5)
        if drawn:
            ax.set_ylim(bottom=0, top=ax.get_ylim()[1] * 1.15)
            ax.legend(fontsize=7, loc="best", framealpha=0.85)
        else:
            ax.set_yticks([])
            ax.text(0.5, 0.5, "not recorded", transform=ax.transAxes,
                    ha="center", va="center", color="#888888")
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"sniper-cpp performance by commit ({len(entries)} commits; "
                 f"{machine_label})", fontsize=12)
    fig.tight_layout()
    charts.save(plt, fig, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--history", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--data_out", default="",
                    help="also write the plotted values as JSON (tests)")
    ap.add_argument("--machine", default="",
                    help="a substring of the CPU model; default: the last "
                         "line's machine")
    args = ap.parse_args()
    try:
        entries = history.read_history(args.history)
    except (ValueError, OSError) as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 1
    if not entries:
        print(f"report.py: {args.history}: no lines", file=sys.stderr)
        return 1
    want = entries[-1]["machine"] if not args.machine else None
    chosen = [e for e in entries
              if (e["machine"] == want if want is not None
                  else args.machine in e["machine"].get("cpu", ""))]
    if not chosen:
        print(f"report.py: no line of machine '{args.machine}'",
              file=sys.stderr)
        return 1
    m = chosen[-1]["machine"]
    render(chosen, f"{m.get('cpu')}, {m.get('cores')} cores", args.out)
    if args.data_out:
        with open(args.data_out, "w") as f:
            json.dump({"commits": [e["commit"] for e in chosen],
                       "panels": panel_data(chosen)}, f, indent=1)
    print(f"report.py: {len(chosen)} commits -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
