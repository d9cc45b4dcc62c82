"""An independent NumPy computation of COCO box and mask evaluation, for tests.

Follows the reference COCO API's published semantics step by step
(per-image/category matching with area ranges and maxDets, crowd
regions matched with IoA, 10 IoU thresholds, 101-point interpolated
precision, the 12 summary numbers), written plainly with NumPy arrays
and none of the C++ evaluator's data structures, so the two can be
compared on random workloads. With --segm, IoUs are those of dense
masks (mask_reference.py). A detection's area (the area-range rule) is set
as the reference's loadRes sets it, decided on the first result: w * h of
its bbox when the first result has a non-empty bbox, else its mask's area
(and a missing bbox is the mask's tight box), for boxes and masks alike.

usage: reference_coco_eval.py GT_JSON DETS_JSON OUT_JSON [--segm]
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mask_reference  # noqa: E402

IOU_THRS = np.linspace(0.5, 0.95, 10, endpoint=True)
REC_THRS = np.linspace(0.0, 1.00, 101, endpoint=True)
MAX_DETS = [1, 10, 100]
AREA_RNG = [[0, 1e5 ** 2], [0, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]


def box_iou(dets, gts, crowd):
    """IoU of every detection with every ground truth ([x, y, w, h]); a crowd
    ground truth uses the detection's area as the union."""
    out = np.zeros((len(dets), len(gts)))
    for i, d in enumerate(dets):
        for j, g in enumerate(gts):
            w = min(d[0] + d[2], g[0] + g[2]) - max(d[0], g[0])
            h = min(d[1] + d[3], g[1] + g[3]) - max(d[1], g[1])
            if w <= 0 or h <= 0:
                continue
            inter = w * h
            union = d[2] * d[3] if crowd[j] else d[2] * d[3] + g[2] * g[3] - inter
            out[i, j] = inter / union
    return out


def evaluate(gt, dets, segm=False):
    img_ids = sorted({im["id"] for im in gt["images"]})
    sizes = {im["id"]: (im.get("height"), im.get("width")) for im in gt["images"]}
    cat_ids = sorted({c["id"] for c in gt["categories"]})
    gts = {}
    for k, a in enumerate(gt.get("annotations", [])):
        a = dict(a)
        a["id"] = k + 1
        a.setdefault("area", a["bbox"][2] * a["bbox"][3])
        a["iscrowd"] = int(a.get("iscrowd", 0))
        if segm:
            h, w = sizes[a["image_id"]]
            a["mask"] = mask_reference.segmentation_mask(a["segmentation"], h, w)
        gts.setdefault((a["image_id"], a["category_id"]), []).append(a)
    dts = {}
    box_form = bool(dets) and "bbox" in dets[0] and dets[0]["bbox"] != []
    for k, d in enumerate(dets):
        d = dict(d)
        d["id"] = k + 1
        if segm or not box_form:
            d["mask"] = mask_reference.segmentation_mask(d["segmentation"], 0, 0)
        if box_form:
            d["area"] = d["bbox"][2] * d["bbox"][3]
        else:
            d["area"] = float(np.count_nonzero(d["mask"]))
            if "bbox" not in d:
                d["bbox"] = mask_reference.tight_box(d["mask"])
        dts.setdefault((d["image_id"], d["category_id"]), []).append(d)

    T, R, K, A, M = len(IOU_THRS), len(REC_THRS), len(cat_ids), len(AREA_RNG), len(MAX_DETS)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))

    for k, cat in enumerate(cat_ids):
        for a, rng in enumerate(AREA_RNG):
            # Per image: matching with the top MAX_DETS[-1] detections (a
            # detection's match depends only on higher-scored ones, so the
            # smaller maxDets take prefixes).
            per_image = []
            for img in img_ids:
                g = gts.get((img, cat), [])
                d = dts.get((img, cat), [])
                if not g and not d:
                    continue
                g_ignore = np.array([1 if (x["iscrowd"] or x["area"] < rng[0] or x["area"] > rng[1]) else 0
                                     for x in g], dtype=int)
                g_order = np.argsort(g_ignore, kind="mergesort")
                g = [g[i] for i in g_order]
                g_ignore = g_ignore[g_order]
                crowd = [x["iscrowd"] for x in g]
                d_order = np.argsort([-x["score"] for x in d], kind="mergesort")
                d = [d[i] for i in d_order][:MAX_DETS[-1]]
                if segm:
                    ious = mask_reference.mask_iou([x["mask"] for x in d],
                                                   [x["mask"] for x in g], crowd)
                else:
                    ious = box_iou([x["bbox"] for x in d], [x["bbox"] for x in g], crowd)
                g_match = np.zeros((T, len(g)))
                d_match = np.zeros((T, len(d)))
                d_ignore = np.zeros((T, len(d)))
                for t, thr in enumerate(IOU_THRS):
                    for i in range(len(d)):
                        best = min(thr, 1 - 1e-10)
                        m_idx = -1
                        for j in range(len(g)):
                            if g_match[t, j] > 0 and not crowd[j]:
                                continue
                            if m_idx > -1 and g_ignore[m_idx] == 0 and g_ignore[j] == 1:
                                break
                            if ious[i, j] < best:
                                continue
                            best = ious[i, j]
                            m_idx = j
                        if m_idx == -1:
                            continue
                        d_ignore[t, i] = g_ignore[m_idx]
                        d_match[t, i] = g[m_idx]["id"]
                        g_match[t, m_idx] = d[i]["id"]
                out_of_range = np.array([x["area"] < rng[0] or x["area"] > rng[1] for x in d], dtype=bool)
                d_ignore = np.logical_or(d_ignore > 0,
                                         np.logical_and(d_match == 0, out_of_range.reshape(1, -1)))
                per_image.append((np.array([x["score"] for x in d], dtype=float), d_match, d_ignore,
                                  int(np.count_nonzero(g_ignore == 0))))
            if not per_image:
                continue
            n_gt = sum(e[3] for e in per_image)
            if n_gt == 0:
                continue
            for m, max_det in enumerate(MAX_DETS):
                s = np.concatenate([e[0][:max_det] for e in per_image])
                order = np.argsort(-s, kind="mergesort")
                dm = np.concatenate([e[1][:, :max_det] for e in per_image], axis=1)[:, order]
                di = np.concatenate([e[2][:, :max_det] for e in per_image], axis=1)[:, order]
                tps = np.logical_and(dm, np.logical_not(di))
                fps = np.logical_and(np.logical_not(dm), np.logical_not(di))
                tp_sum = np.cumsum(tps, axis=1).astype(float)
                fp_sum = np.cumsum(fps, axis=1).astype(float)
                for t in range(T):
                    tp, fp = tp_sum[t], fp_sum[t]
                    nd = len(tp)
                    rc = tp / n_gt
                    pr = tp / (fp + tp + np.spacing(1))
                    recall[t, k, a, m] = rc[-1] if nd else 0
                    pr = pr.tolist()
                    for i in range(nd - 1, 0, -1):
                        if pr[i] > pr[i - 1]:
                            pr[i - 1] = pr[i]
                    q = np.zeros(R)
                    idx = np.searchsorted(rc, REC_THRS, side="left")
                    for r, p in enumerate(idx):
                        if p >= nd:
                            break
                        q[r] = pr[p]
                    precision[t, :, k, a, m] = q

    def mean(x):
        x = x[x > -1]
        return -1.0 if x.size == 0 else float(np.mean(x))

    def ap(thr=None, area=0, m=2):
        p = precision[:, :, :, area, m]
        if thr is not None:
            p = p[np.where(np.isclose(IOU_THRS, thr))[0]]
        return mean(p)

    def ar(area=0, m=2):
        return mean(recall[:, :, area, m])

    return [ap(), ap(0.5), ap(0.75), ap(area=1), ap(area=2), ap(area=3),
            ar(m=0), ar(m=1), ar(m=2), ar(area=1), ar(area=2), ar(area=3)]


def main():
    with open(sys.argv[1]) as f:
        gt = json.load(f)
    with open(sys.argv[2]) as f:
        dets = json.load(f)
    with open(sys.argv[3], "w") as f:
        json.dump({"stats": evaluate(gt, dets, "--segm" in sys.argv[4:])}, f)


if __name__ == "__main__":
    main()
