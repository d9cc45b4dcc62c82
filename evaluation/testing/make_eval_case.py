"""Writes a random COCO-format ground truth and results pair for tests.

The workload is adversarial on purpose: images without boxes, categories
without ground truth, crowd regions, `area` fields that differ from w*h,
boxes on the small/medium/large borders, tied scores, more than 100
detections for some image and category, duplicates and false positives.

usage: make_eval_case.py SEED GT_JSON DETS_JSON
"""
import json
import random
import sys


def main():
    seed = int(sys.argv[1])
    rng = random.Random(seed)
    n_images = rng.randint(5, 40)
    n_cats = rng.randint(1, 6)
    images = [{"id": 1000 + 7 * i, "width": 640, "height": 480} for i in range(n_images)]
    cats = [{"id": 3 * c + 1, "name": "c%d" % c} for c in range(n_cats)]
    anns = []
    dets = []
    noise = rng.choice([0.01, 0.04, 0.12])  # localization error: AP high to low

    def box():
        side = rng.choice([rng.uniform(4, 40), rng.uniform(20, 120), rng.uniform(80, 400),
                           32.0, 96.0])
        aspect = rng.uniform(0.4, 2.5)
        w = max(1.0, side * aspect ** 0.5)
        h = max(1.0, side / aspect ** 0.5)
        return [rng.uniform(0, 600 - w / 2), rng.uniform(0, 440 - h / 2), w, h]

    for im in images:
        if rng.random() < 0.15:
            continue  # no ground truth here
        for _ in range(rng.randint(1, 12)):
            cat = rng.choice(cats[: max(1, n_cats - 1)])  # the last: often empty
            b = box()
            area = b[2] * b[3]
            if rng.random() < 0.3:
                area *= rng.uniform(0.4, 1.0)  # a segment's area
            crowd = 1 if rng.random() < 0.06 else 0
            anns.append({"id": len(anns) + 1, "image_id": im["id"], "category_id": cat["id"],
                         "bbox": b, "area": area, "iscrowd": crowd})
            for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
                j = [v + rng.gauss(0, noise * max(b[2], b[3])) for v in b[:2]] + \
                    [max(0.5, b[2] * rng.uniform(1 - 2 * noise, 1 + 2 * noise)),
                     max(0.5, b[3] * rng.uniform(1 - 2 * noise, 1 + 2 * noise))]
                dets.append({"image_id": im["id"], "category_id": cat["id"], "bbox": j,
                             "score": round(rng.random(), 2)})
    for im in images:
        for _ in range(rng.randint(0, 15)):
            dets.append({"image_id": im["id"], "category_id": rng.choice(cats)["id"],
                         "bbox": box(), "score": round(rng.random(), 2)})
    # One image and category with more than maxDets = 100 detections.
    if anns:
        a = rng.choice(anns)
        for _ in range(130):
            b = a["bbox"]
            dets.append({"image_id": a["image_id"], "category_id": a["category_id"],
                         "bbox": [b[0] + rng.uniform(-20, 20), b[1] + rng.uniform(-20, 20), b[2], b[3]],
                         "score": round(rng.random(), 3)})
    rng.shuffle(dets)
    with open(sys.argv[2], "w") as f:
        json.dump({"images": images, "categories": cats, "annotations": anns}, f)
    with open(sys.argv[3], "w") as f:
        json.dump(dets, f)


if __name__ == "__main__":
    main()
