"""Dense NumPy masks with the reference COCO API's semantics, for tests.

Written plainly and independently of masks/ (the C++ run-length code):
masks here are dense boolean arrays [height, width], and every operation
(polygon rasterisation, RLE decoding and encoding, IoU) works on pixels.

  polygon_mask(xy, h, w)   the reference's rleFrPoly rule: vertices rounded
                           to a 5x grid, edges traced one fine step at a
                           time, pixel rows toggled where the trace crosses a
                           column's centre (fine x = 5 * column + 2)
  counts_mask / string_mask / mask_to_string   COCO RLE (column-major)
  tight_box(mask)          [x, y, w, h] of the set pixels (toBbox of a mask)
"""
import math

import numpy as np

FINE = 5


def _trunc(v):
    return int(v)  # C's conversion: toward zero


def polygon_mask(xy, h, w):
    k = len(xy) // 2
    vx = [_trunc(FINE * xy[2 * j] + 0.5) for j in range(k)]
    vy = [_trunc(FINE * xy[2 * j + 1] + 0.5) for j in range(k)]
    if k == 0:
        return np.zeros((h, w), dtype=bool)
    vx.append(vx[0])
    vy.append(vy[0])
    us, vs = [], []
    for j in range(k):
        x0, x1, y0, y1 = vx[j], vx[j + 1], vy[j], vy[j + 1]
        dx, dy = abs(x1 - x0), abs(y1 - y0)
        major_x = dx >= dy
        if (major_x and x0 > x1) or (not major_x and y0 > y1):
            backwards = True
            x0, x1, y0, y1 = x1, x0, y1, y0
        else:
            backwards = False
        if dx == 0 and dy == 0:
            us.append(x0)
            vs.append(y0)
            continue
        n = dx if major_x else dy
        slope = (y1 - y0) / dx if major_x else (x1 - x0) / dy
        steps = range(n, -1, -1) if backwards else range(0, n + 1)
        for t in steps:
            if major_x:
                us.append(t + x0)
                vs.append(_trunc(y0 + slope * t + 0.5))
            else:
                vs.append(t + y0)
                us.append(_trunc(x0 + slope * t + 0.5))
    # Toggle positions as column-major pixel indices, then fill by parity.
    toggles = np.zeros(h * w + 1, dtype=np.int64)
    for j in range(1, len(us)):
        if us[j] == us[j - 1]:
            continue
        xd = us[j] if us[j] < us[j - 1] else us[j] - 1
        xd = (xd + 0.5) / FINE - 0.5
        if math.floor(xd) != xd or xd < 0 or xd > w - 1:
            continue
        yd = min(vs[j], vs[j - 1])
        yd = (yd + 0.5) / FINE - 0.5
        yd = math.ceil(min(max(yd, 0.0), float(h)))
        toggles[int(xd) * h + int(yd)] += 1
    inside = (np.cumsum(toggles[: h * w]) % 2).astype(bool)
    return inside.reshape(w, h).T


def counts_mask(counts, h, w):
    flat = np.zeros(h * w, dtype=bool)
    pos, value = 0, False
    for c in counts:
        flat[pos:pos + c] = value
        pos += c
        value = not value
    return flat.reshape(w, h).T


def _counts_of(mask):
    flat = mask.T.reshape(-1)
    counts, value, run = [], False, 0
    for p in flat:
        if bool(p) != value:
            counts.append(run)
            run, value = 0, bool(p)
        run += 1
    counts.append(run)
    return counts


def mask_to_string(mask):
    counts = _counts_of(mask)
    out = []
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        while True:
            group = x & 0x1F
            x >>= 5
            more = (x != -1) if (group & 0x10) else (x != 0)
            out.append(chr(48 + (group | 0x20 if more else group)))
            if not more:
                break
    return "".join(out)


def string_mask(text, h, w):
    counts, p = [], 0
    while p < len(text):
        x, shift = 0, 0
        while True:
            c = ord(text[p]) - 48
            p += 1
            x |= (c & 0x1F) << shift
            shift += 5
            if not c & 0x20:
                if c & 0x10:
                    x -= 1 << shift
                break
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts_mask(counts, h, w)


def segmentation_mask(segm, h, w):
    """An annotation's or result's mask, as the reference's annToRLE."""
    if isinstance(segm, list):
        m = np.zeros((h, w), dtype=bool)
        for poly in segm:
            m |= polygon_mask(poly, h, w)
        return m
    sh, sw = segm["size"]
    if isinstance(segm["counts"], list):
        return counts_mask(segm["counts"], sh, sw)
    return string_mask(segm["counts"], sh, sw)


def mask_iou(dets, gts, crowd):
    """IoU of dense masks; a crowd ground truth divides by the detection's
    area; 0 without intersection."""
    out = np.zeros((len(dets), len(gts)))
    for i, d in enumerate(dets):
        for j, g in enumerate(gts):
            inter = np.count_nonzero(d & g)
            if inter == 0:
                continue
            union = np.count_nonzero(d) if crowd[j] else np.count_nonzero(d | g)
            out[i, j] = inter / union
    return out


def tight_box(mask):
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
            float(ys.max() - ys.min() + 1)]
