#!/usr/bin/env python3
"""Trend pictures from benchmarks/perf_history.jsonl (SVG, standard library).

  python3 tools/perf/report.py --history=benchmarks/perf_history.jsonl \\
      --out=docs/perf_trend.svg [--machine=SUBSTRING]

One small panel per key metric across the recorded commits (oldest left),
SNIPER beside the single-scale baseline where both exist. Lines of one
machine only (the most recent line's, unless --machine): times from
different machines are not comparable. Benchmark names are matched without
their "/iterations:N" part, so a change of the step count keeps a series.
"""
import argparse
import html
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
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


def panel_svg(x0, y0, w, h, title, unit, series, entries):
    out = [f'<g transform="translate({x0},{y0})">',
           f'<text x="{w / 2}" y="14" text-anchor="middle" font-size="13" '
           f'font-weight="bold">{html.escape(title)}</text>']
    left, right, top, bottom = 48, 10, 24, 34
    pw, ph = w - left - right, h - top - bottom
    values = [[value(e, key, metric) for e in entries]
              for _, key, metric in series]
    flat = [v for vs in values for v in vs if v is not None]
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" '
               'fill="none" stroke="#ccc"/>')
    if not flat:
        out.append(f'<text x="{w / 2}" y="{top + ph / 2}" text-anchor="middle" '
                   'font-size="11" fill="#888">not recorded</text></g>')
        return out
    hi = max(flat) * 1.1
    lo = 0.0
    n = len(entries)

    def xy(i, v):
        x = left + (pw * (i + 0.5) / n)
        y = top + ph - ph * (v - lo) / (hi - lo)
        return x, y

    for frac in (0, 0.5, 1):
        v = lo + frac * (hi - lo)
        _, y = xy(0, v)
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" '
                   f'font-size="9">{v:.3g}</text>')
    out.append(f'<text x="4" y="{top - 6}" font-size="9" fill="#555">'
               f'{html.escape(unit)}</text>')
    for i, e in enumerate(entries):
        x, _ = xy(i, lo)
        out.append(f'<text x="{x:.1f}" y="{top + ph + 12}" text-anchor="middle"'
                   f' font-size="8" fill="#555">{e["commit"][:7]}</text>')
    for s, ((label, _, _), vs) in enumerate(zip(series, values)):
        color = (BASELINE_COLOR if BASELINE.match(label)
                 else COLORS[s % len(COLORS)])
        pts = [xy(i, v) for i, v in enumerate(vs) if v is not None]
        if len(pts) > 1:
            out.append('<polyline fill="none" stroke="%s" stroke-width="2" '
                       'points="%s"/>' % (color, " ".join(
                           f"{x:.1f},{y:.1f}" for x, y in pts)))
        for x, y in pts:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" '
                       f'fill="{color}"/>')
        out.append(f'<text x="{left + 4 + 100 * s}" y="{top + ph + 26}" '
                   f'font-size="9" fill="{color}">{html.escape(label)}</text>')
    out.append("</g>")
    return out


def render(entries, machine_label):
    cols, pw, ph = 3, 300, 190
    rows = (len(PANELS) + cols - 1) // cols
    width, height = cols * pw, rows * ph + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" font-family="sans-serif">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">'
           f'sniper-cpp performance by commit ({len(entries)} commits; '
           f'{html.escape(machine_label)})</text>']
    for k, (title, unit, series) in enumerate(PANELS):
        out += panel_svg((k % cols) * pw, 34 + (k // cols) * ph, pw, ph,
                         title, unit, series, entries)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--history", required=True)
    ap.add_argument("--out", required=True)
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
    svg = render(chosen, f"{m.get('cpu')}, {m.get('cores')} cores")
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(svg)
    os.replace(tmp, args.out)
    print(f"report.py: {len(chosen)} commits -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
