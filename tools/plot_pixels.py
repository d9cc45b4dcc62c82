#!/usr/bin/env python3
"""Pixels per image from //tools:chip_stats --json output, as a bar chart.

  python3 tools/plot_pixels.py --json=paper.json --label="paper's sampler" \\
      --json=ours.json --label="ours" --out=docs/pixels_coco_mini.svg \\
      --title="coco_mini (747 images), positive chips"

One stacked bar per --json (its chips' pixels per image, by scale), then
the single-scale 800x1333 baseline and the full 3-scale pyramid (from the
first file), each bar labelled with its total and its ratio to single
scale. matplotlib (Debian: python3-matplotlib); the SVG keeps its text as
text. --data_out writes the plotted values as JSON (tests).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import charts  # noqa: E402

SCALE_COLORS = ["#2f5aff", "#d62ad6", "#00a88f", "#f0a000"]
REFERENCE_COLOR = "#9a9a9a"


def scale_pixels(stats, source):
    """Chip pixels per image per scale (older files: chips x 512 x 512)."""
    out = []
    for k, s in enumerate(stats["scales"]):
        if "pixels_per_image" in s:
            out.append(s["pixels_per_image"])
        elif "chips_per_image" in s:
            out.append(s["chips_per_image"] * 512 * 512)
        else:
            raise SystemExit(f"{source}: scales[{k}] has no pixels_per_image")
    return out


def bars(files, labels):
    """[(name, [pixels per part], reference?)], and the single-scale pixels."""
    out = []
    first = None
    for path, label in zip(files, labels):
        try:
            with open(path) as f:
                stats = json.load(f)
        except (OSError, ValueError) as e:
            raise SystemExit(f"{path}: {e}")
        first = first or stats
        out.append((f"SNIPER chips: {label}", scale_pixels(stats, path), False))
    single = first["single_scale_pixels_per_image"]
    out.append(("single scale 800x1333", [single], True))
    out.append(("3-scale pyramid", [first["pyramid_pixels_per_image"]], True))
    return out, single, first["images"]


def render(chart, single, images, title, out):
    plt = charts.pyplot()
    plt.rcParams.update({"font.size": 10})
    fig, ax = plt.subplots(figsize=(2.2 + 1.9 * len(chart), 4.6))
    for i, (name, parts, reference) in enumerate(chart):
        bottom = 0.0
        for k, p in enumerate(parts):
            color = REFERENCE_COLOR if reference else SCALE_COLORS[k % 4]
            ax.bar(i, p / 1e6, bottom=bottom / 1e6, width=0.62, color=color,
                   label=None if reference or i else f"scale {k}")
            if not reference and p > 0.25 * single:
                ax.text(i, (bottom + p / 2) / 1e6, f"scale {k}\n{p / 1e3:.0f}k",
                        ha="center", va="center", color="white", fontsize=8)
            bottom += p
        ax.text(i, bottom / 1e6, f"{bottom / 1e6:.3f} M\n"
                f"{bottom / single:.2f}x single scale", ha="center",
                va="bottom", fontsize=9)
    ax.set_xticks(range(len(chart)))
    ax.set_xticklabels([name.replace(": ", ":\n") for name, _, _ in chart])
    ax.set_ylabel("network pixels per image (millions)")
    top = max(sum(parts) for _, parts, _ in chart)
    ax.set_ylim(0, top / 1e6 * 1.22)
    ax.grid(True, axis="y", color="#e4e4e4")
    ax.set_axisbelow(True)
    ax.set_title(f"Pixels per image: {title} ({images} images)")
    ax.legend(loc="upper left", title="chips at", fontsize=9)
    fig.tight_layout()
    charts.save(plt, fig, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="append", required=True,
                    help="chip_stats --json output; repeat to compare")
    ap.add_argument("--label", action="append", default=[],
                    help="one per --json (default: the file name)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="")
    ap.add_argument("--data_out", default="")
    args = ap.parse_args()
    labels = args.label or [os.path.basename(p) for p in args.json]
    if len(labels) != len(args.json):
        print(f"plot_pixels.py: {len(args.json)} --json but {len(labels)} "
              "--label", file=sys.stderr)
        return 2
    chart, single, images = bars(args.json, labels)
    render(chart, single, images, args.title, args.out)
    if args.data_out:
        with open(args.data_out, "w") as f:
            json.dump({"single_scale": single, "images": images,
                       "bars": [{"name": n, "parts": p, "reference": r}
                                for n, p, r in chart]}, f, indent=1)
    print(f"plot_pixels.py: {len(chart)} bars -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
