#!/usr/bin/env python3
"""Bar chart (SVG) of pixels per image from //tools:chip_stats --json output.

  python3 tools/plot_pixels.py --json=stats.json --out=docs/pixels.svg \
      --title="coco_mini (747 images), positive chips only"

Bars: SNIPER chips per scale (stacked), the single-scale 800x1333 baseline,
and the full 3-scale pyramid. Standard library only.
"""
import argparse
import json

COLORS = ["#2f5aff", "#d62ad6", "#00b8c4", "#888888"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="")
    args = ap.parse_args()
    st = json.load(open(args.json))
    images = st["images"]
    chip_px = 512 * 512
    per_scale = [s["chips_per_image"] * chip_px for s in st["scales"]]
    bars = [("SNIPER chips", per_scale),
            ("single-scale 800x1333", [st["single_scale_pixels_per_image"]]),
            ("3-scale pyramid", [st["pyramid_pixels_per_image"]])]
    top = max(sum(v) for _, v in bars) * 1.1
    W, H, left, bottom, bar_w = 640, 360, 70, 60, 120
    scale_y = (H - bottom - 40) / top
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W/2}" y="20" text-anchor="middle" font-size="14">'
           f'Pixels per image: {args.title}</text>']
    # y axis ticks every 500k
    tick = 500000
    v = 0
    while v <= top:
        y = H - bottom - v * scale_y
        out.append(f'<line x1="{left}" x2="{W-20}" y1="{y:.1f}" y2="{y:.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{left-6}" y="{y+4:.1f}" text-anchor="end">'
                   f'{v/1e6:.1f}M</text>')
        v += tick
    for i, (name, parts) in enumerate(bars):
        x = left + 40 + i * (bar_w + 50)
        y = H - bottom
        for k, p in enumerate(parts):
            h = p * scale_y
            color = COLORS[k] if i == 0 else COLORS[3]
            out.append(f'<rect x="{x}" y="{y-h:.1f}" width="{bar_w}" '
                       f'height="{h:.1f}" fill="{color}"/>')
            if i == 0:
                out.append(f'<text x="{x+bar_w/2}" y="{y-h/2+4:.1f}" '
                           f'text-anchor="middle" fill="white">scale {k}: '
                           f'{p/1e3:.0f}k</text>')
            y -= h
        out.append(f'<text x="{x+bar_w/2}" y="{y-6:.1f}" text-anchor="middle">'
                   f'{sum(parts)/1e6:.3f}M</text>')
        out.append(f'<text x="{x+bar_w/2}" y="{H-bottom+18}" '
                   f'text-anchor="middle">{name}</text>')
    out.append(f'<text x="{W/2}" y="{H-14}" text-anchor="middle" fill="#444">'
               f'SNIPER / single-scale = {st["ratio_vs_single_scale"]:.3f}, '
               f'SNIPER / pyramid = {st["ratio_vs_pyramid"]:.3f} '
               f'({images} images)</text>')
    out.append("</svg>")
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
