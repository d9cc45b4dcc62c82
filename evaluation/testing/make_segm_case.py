"""Writes a random COCO-format ground truth and results pair with masks.

For the segm cross-check: ground truth polygons (several per annotation,
star-shaped with jitter, so some self-intersect or leave the image, with
COCO's two decimals) and crowd regions as uncompressed RLE; results as
compressed RLE of perturbed masks, some empty, tied scores, more than 100
for one image and category, false positives; `area` fields off the mask
area, and on the small/medium borders. The results take one of the two
forms the reference's loadRes tells apart by the first result: every result
with a "bbox" (its area, not the mask's, decides the area ranges; boxes
grown or shrunk around the mask so that the two areas often fall in
different ranges), or a first result without one (mask areas; some later
results have a bbox, the others get the mask's box). Small images keep the
dense reference fast.

usage: make_segm_case.py SEED GT_JSON DETS_JSON
"""
import json
import math
import os
import random
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mask_reference  # noqa: E402


def star(rng, cx, cy, radius, n, jitter):
    pts = []
    for i in range(n):
        a = 2 * math.pi * (i + rng.uniform(-jitter, jitter)) / n
        r = radius * rng.uniform(0.5, 1.0)
        pts += [round(cx + r * math.cos(a), 2), round(cy + r * math.sin(a), 2)]
    return pts


def poly_area(xy):
    x, y = xy[0::2], xy[1::2]
    return 0.5 * abs(sum(x[i] * y[i - 1] - x[i - 1] * y[i] for i in range(len(x))))


def result_box(rng, mask):
    """The mask's tight box, or one scaled around its centre (a detector's
    box is not its mask's; the scale moves its area across 32^2 and 96^2)."""
    x, y, w, h = mask_reference.tight_box(mask)
    if rng.random() < 0.4:
        return [x, y, w, h]
    s = rng.choice([rng.uniform(0.3, 1.0), rng.uniform(1.0, 4.0)])
    cx, cy = x + w / 2, y + h / 2
    w, h = max(w, 1.0) * s, max(h, 1.0) * s
    return [round(cx - w / 2, 2), round(cy - h / 2, 2), round(w, 2), round(h, 2)]


def main():
    rng = random.Random(int(sys.argv[1]))
    n_images = rng.randint(3, 10)
    n_cats = rng.randint(1, 4)
    images = [{"id": 500 + 3 * i, "width": rng.choice([160, 200, 240]),
               "height": rng.choice([120, 160, 200])} for i in range(n_images)]
    cats = [{"id": 2 * c + 1, "name": "c%d" % c} for c in range(n_cats)]
    anns, dets = [], []
    noise = rng.choice([0.03, 0.1, 0.25])
    box_form = rng.random() < 0.5  # every result has a bbox

    def det(im, cat, polys, score):
        m = np.zeros((im["height"], im["width"]), dtype=bool)
        for p in polys:
            m |= mask_reference.polygon_mask(p, im["height"], im["width"])
        d = {"image_id": im["id"], "category_id": cat["id"], "score": score,
             "segmentation": {"size": [im["height"], im["width"]],
                              "counts": mask_reference.mask_to_string(m)}}
        if box_form or rng.random() < 0.7:
            d["bbox"] = result_box(rng, m)
        dets.append(d)

    for im in images:
        h, w = im["height"], im["width"]
        if rng.random() < 0.15:
            continue
        for _ in range(rng.randint(1, 8)):
            cat = rng.choice(cats[: max(1, n_cats - 1)])
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            radius = rng.choice([rng.uniform(2, 12), rng.uniform(10, 40), rng.uniform(30, 90)])
            crowd = 1 if rng.random() < 0.08 else 0
            if crowd:
                m = np.zeros((h, w), dtype=bool)
                for _ in range(rng.randint(1, 3)):
                    x0, y0 = rng.randrange(w), rng.randrange(h)
                    m[y0:y0 + rng.randint(5, 60), x0:x0 + rng.randint(5, 60)] = True
                counts = mask_reference._counts_of(m)
                segm = {"size": [h, w], "counts": counts}
                area = float(np.count_nonzero(m))
                polys = None
                bbox = mask_reference.tight_box(m)
            else:
                polys = [star(rng, cx, cy, radius, rng.randint(3, 12), rng.choice([0.1, 0.45, 0.9]))]
                if rng.random() < 0.25:  # a second part
                    polys.append(star(rng, cx + radius, cy, radius / 2, rng.randint(3, 7), 0.3))
                segm = polys
                area = sum(poly_area(p) for p in polys)
                r = rng.random()
                if r < 0.1:
                    area = 32.0 ** 2
                elif r < 0.2:
                    area = 96.0 ** 2
                elif r < 0.4:
                    area *= rng.uniform(0.6, 1.2)
                xs, ys = polys[0][0::2], polys[0][1::2]
                bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
            anns.append({"id": len(anns) + 1, "image_id": im["id"], "category_id": cat["id"],
                         "bbox": bbox, "area": area, "iscrowd": crowd, "segmentation": segm})
            base = polys or [star(rng, bbox[0] + bbox[2] / 2, bbox[1] + bbox[3] / 2,
                                  max(bbox[2], bbox[3]) / 2, 6, 0.2)]
            for _ in range(rng.choice([0, 1, 1, 2, 3])):
                shift = noise * radius
                moved = [[v + rng.gauss(0, shift) for v in p] for p in base]
                det(im, cat, moved, round(rng.random(), 2))
    for im in images:  # false positives and empty masks
        for _ in range(rng.randint(0, 6)):
            p = star(rng, rng.uniform(0, im["width"]), rng.uniform(0, im["height"]),
                     rng.uniform(3, 50), rng.randint(3, 9), 0.4)
            det(im, rng.choice(cats), [p] if rng.random() < 0.9 else [], round(rng.random(), 2))
    if anns:  # one image and category with more than maxDets = 100 results
        a = rng.choice([x for x in anns if not x["iscrowd"]] or anns)
        im = next(i for i in images if i["id"] == a["image_id"])
        cat = next(c for c in cats if c["id"] == a["category_id"])
        b = a["bbox"]
        for _ in range(110):
            p = star(rng, b[0] + b[2] / 2 + rng.uniform(-10, 10), b[1] + b[3] / 2 + rng.uniform(-10, 10),
                     max(2.0, max(b[2], b[3]) / 2), 6, 0.2)
            det(im, cat, [p], round(rng.random(), 3))
    rng.shuffle(dets)
    if dets and not box_form:
        dets[0].pop("bbox", None)  # the first result decides the form
    with open(sys.argv[2], "w") as f:
        json.dump({"images": images, "categories": cats, "annotations": anns}, f)
    with open(sys.argv[3], "w") as f:
        json.dump(dets, f)


if __name__ == "__main__":
    main()
