"""detgrid coco against pycocotools' COCOeval (iouType 'bbox', default
Params): the numbers must be identical, compared with ==, never approx.

  (a) the shared COCO val2014 sample: the published full-precision stats of
      its PROVENANCE.md (column A) exactly, and column B to 6 places;
  (b) pycocotools itself on synthetic COCO JSON from `detgrid synth`: crowd
      regions, score ties, few frames, more than 100 detections per image
      and category, categories absent from the ground truth or from the
      detections, shuffled and sparse ids, ignore flags, an IoU just below
      0.9 -- the 12 stats, per-class AP and, for some, the whole precision,
      scores and recall arrays (--curves);
  (c) a project file gives the same numbers as the one-shot mode;
  (d) numpy's pairwise summation (np.mean) against detgrid's on random
      arrays of many lengths, through tests/test-coco's --mean mode.
"""

import json
import os
import random
import struct
import subprocess
import time

import numpy as np

import dgtest
from dgtest import Checker, TempDir, cocoeval, run

# PROVENANCE.md of coco_val2014_100_fakebbox: column A (full precision, from
# faster_coco_eval's tests) and column B (6 places, rafaelpadilla's tests).
SAMPLE_A = [0.5045806987249628, 0.6969727247299577, 0.5729816669904824,
            0.5856257209410443, 0.5193996948036719, 0.5013978986347466,
            0.38681277964578054, 0.5936795762842003, 0.595352982877607,
            0.6398109626113442, 0.5664205978994309, 0.5642905982905982]
SAMPLE_B = [0.503647, 0.696973, 0.571667, 0.593252, 0.557991, 0.489363,
            0.386813, 0.593680, 0.595353, 0.654764, 0.603130, 0.553744]


def per_class_ap(e):
    """Per-category AP as detectron2 derives it from eval['precision']."""
    prec = e.eval["precision"]
    out = []
    for k in range(prec.shape[2]):
        p = prec[:, :, k, 0, -1]
        p = p[p > -1]
        out.append(float(np.mean(p)) if p.size else None)
    return out


def detgrid_coco(args, curves=None):
    a = ["coco"] + args + ["--json", "--compact"]
    if curves:
        a += ["--curves", curves]
    return run(a).json()


def check_same(ck, e, got, what, curves=None):
    want = [float(x) for x in e.stats]
    for i, (g, w) in enumerate(zip(got["stats"], want)):
        ck.eq(g, w, "%s: stats[%d] (%s)" % (what, i, got["names"][i]))
    ap = per_class_ap(e)
    ck.eq(len(got["per_class"]), len(ap), what + ": categories")
    ids = sorted(e.params.catIds)
    for k, pc in enumerate(got["per_class"]):
        ck.eq(pc["id"], ids[k], what + ": category order")
        ck.eq(pc["ap"], ap[k], "%s: AP of category %d" % (what, ids[k]))
    if curves:
        with open(curves) as f:
            c = json.load(f)
        ck.array_eq(np.array(c["iou_thresholds"]), e.params.iouThrs,
                    what + ": iouThrs")
        ck.array_eq(np.array(c["rec_thresholds"]), e.params.recThrs,
                    what + ": recThrs")
        for key in ("precision", "scores", "recall"):
            g = np.array(c[key], dtype=np.float64)
            w = e.eval[key]
            ck.eq(g.shape, w.shape, "%s: %s shape" % (what, key))
            ck.array_eq(g, w, "%s: %s" % (what, key))


# --------------------------------------------------------------------------


def test_sample(ck, tmp):
    d = os.path.join(dgtest.SHARED_DATA, "coco_val2014_100_fakebbox")
    gt_a = os.path.join(d, "instances_val2014_100.json")
    gt_b = os.path.join(d, "sampled_gts_bbox_area.json")
    dt = os.path.join(d, "instances_val2014_fakebbox100_results.json")
    if not all(os.path.exists(p) for p in (gt_a, gt_b, dt)):
        print("note: %s not found; skipping the val2014 sample" % d)
        return
    curves = os.path.join(tmp, "sample-curves.json")
    got = detgrid_coco(["--gt", gt_a, "--dt", dt], curves)
    for i, w in enumerate(SAMPLE_A):
        ck.eq(got["stats"][i], w, "sample A: stats[%d]" % i)
    check_same(ck, cocoeval(gt_a, dt), got, "sample A", curves)
    got = detgrid_coco(["--gt", gt_b, "--dt", dt])
    for i, w in enumerate(SAMPLE_B):
        ck.eq(round(got["stats"][i], 6), w, "sample B: stats[%d]" % i)
    check_same(ck, cocoeval(gt_b, dt), got, "sample B")

    # The summary text is pycocotools' summarize() output, line for line.
    out = run(["coco", "--gt", gt_a, "--dt", dt]).out.splitlines()
    ck.eq(len(out), 12, "summary lines")
    ck.eq(out[0], " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all "
          "| maxDets=100 ] = 0.505", "summary line 1")
    ck.eq(out[7], " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all "
          "| maxDets= 10 ] = 0.594", "summary line 8")


def rewrite(path, fn):
    with open(path) as f:
        data = json.load(f)
    data = fn(data)
    with open(path, "w") as f:
        json.dump(data, f)


def shuffle_ids(gt_path, dt_path, seed=6):
    """Sparse category and image ids, categories and images shuffled."""
    rng = random.Random(seed)
    cmap, imap = {}, {}

    def gt(d):
        for c in d["categories"]:
            cmap[c["id"]] = c["id"] * 7 + 3
            c["id"] = cmap[c["id"]]
        for im in d["images"]:
            imap[im["id"]] = rng.randrange(1, 10 ** 9)
            im["id"] = imap[im["id"]]
        for a in d["annotations"]:
            a["category_id"] = cmap[a["category_id"]]
            a["image_id"] = imap[a["image_id"]]
        rng.shuffle(d["categories"])
        rng.shuffle(d["images"])
        return d

    def dt(d):
        for a in d:
            a["category_id"] = cmap[a["category_id"]]
            a["image_id"] = imap[a["image_id"]]
        return d
    rewrite(gt_path, gt)
    rewrite(dt_path, dt)


def drop_categories(gt_path, dt_path):
    """Category 2 loses its detections, category 3 its ground truth."""
    rewrite(gt_path, lambda d: dict(d, annotations=[
        a for a in d["annotations"] if a["category_id"] != 3]))
    rewrite(dt_path, lambda d: [a for a in d if a["category_id"] != 2])


def set_ignore(gt_path, dt_path):
    """An ignore flag on every third annotation: pycocotools overwrites it
    with iscrowd, so it must change nothing by default."""
    def gt(d):
        for i, a in enumerate(d["annotations"]):
            a["ignore"] = int(i % 3 == 0)
        return d
    rewrite(gt_path, gt)


# (synth options, post-processing, compare the whole arrays)
SYNTH = [
    (["--seed", "1"], None, True),
    (["--seed", "2", "--crowd-rate", "0.5", "--score-levels", "50"], None,
     False),
    (["--seed", "3", "--score-levels", "4", "--duplicate-rate", "0.5"], None,
     True),
    (["--seed", "4", "--frames", "6", "--classes", "25"], None, False),
    (["--seed", "5", "--frames", "12", "--classes", "2", "--objects", "40",
      "--low-score-fp", "250", "--background-fp", "20", "--max-dets", "0",
      "--score-levels", "30"], None, True),
    (["--seed", "6", "--frames", "150", "--classes", "8", "--crowd-rate",
      "0.3", "--score-levels", "10"], shuffle_ids, False),
    (["--seed", "7", "--frames", "150", "--classes", "6", "--confuse-rate",
      "0.3"], drop_categories, False),
    (["--seed", "8", "--frames", "60", "--classes", "3", "--objects", "25",
      "--crowd-rate", "1", "--score-levels", "3", "--max-dets", "0",
      "--duplicate-rate", "1", "--low-score-fp", "300"], None, False),
    (["--seed", "9", "--frames", "150", "--crowd-rate", "0.2"], set_ignore,
     False),
    (["--seed", "10", "--frames", "1", "--classes", "1", "--objects", "1"],
     None, False),
    (["--seed", "11", "--coco-scale", "0.1"], None, True),
]


def test_synth(ck, tmp):
    for i, (opts, post, full) in enumerate(SYNTH):
        what = "synth " + " ".join(opts)
        gt = os.path.join(tmp, "gt%d.json" % i)
        prefix = os.path.join(tmp, "d%d" % i)
        run(["synth", "--coco-gt", gt, "--coco-dt-prefix", prefix] + opts)
        dt = prefix + "-model-a.json"
        if post:
            post(gt, dt)
        with open(dt) as f:
            dets = json.load(f)
        if not dets:
            continue  # pycocotools' loadRes cannot take an empty list
        if "--max-dets" in opts:
            # More than 100 detections of one image and category, so the
            # truncation to maxDets[-1] matters.
            per = {}
            for d in dets:
                k = (d["image_id"], d["category_id"])
                per[k] = per.get(k, 0) + 1
            ck.ok(max(per.values()) > 100, what + ": > 100 per image")
        curves = os.path.join(tmp, "curves%d.json" % i) if full else None
        t0 = time.time()
        got = detgrid_coco(["--gt", gt, "--dt", dt], curves)
        t1 = time.time()
        e = cocoeval(gt, dt)
        t2 = time.time()
        check_same(ck, e, got, what, curves)
        print("%s: AP %.4f, detgrid %.2f s, pycocotools %.2f s" %
              (what, got["stats"][0], t1 - t0, t2 - t1))

        # (c) the project path: same numbers after a round trip through
        # the project file.
        if i in (0, 5, 8):
            h5 = os.path.join(tmp, "p%d.h5" % i)
            run(["import", "coco", "--gt", gt, "--dt", dt, "--name", "m",
                 "-o", h5])
            got2 = detgrid_coco([h5, "--inferences", "m"])
            ck.eq(got2, got, what + ": project mode")
        # --use-ignore departs from pycocotools only where ignore is set.
        if post is set_ignore:
            got3 = detgrid_coco(["--gt", gt, "--dt", dt, "--use-ignore"])
            ck.ok(got3["stats"] != got["stats"], what + ": --use-ignore")


def test_iou_just_below_09(ck, tmp):
    """numpy's ninth IoU threshold is 0.8999999999999999, not 0.9: a box of
    height 0.8999999999999999 inside a unit ground truth has exactly that
    IoU, so it passes nine thresholds; with --exact-iou only eight."""
    gt = {"images": [{"id": 1, "width": 100, "height": 100}],
          "categories": [{"id": 1, "name": "a"}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                           "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0}]}
    dt = [{"image_id": 1, "category_id": 1,
           "bbox": [0, 0, 1, 0.8999999999999999], "score": 0.9}]
    gp, dp = os.path.join(tmp, "g09.json"), os.path.join(tmp, "d09.json")
    with open(gp, "w") as f:
        json.dump(gt, f)
    with open(dp, "w") as f:
        json.dump(dt, f)
    got = detgrid_coco(["--gt", gp, "--dt", dp])
    e = cocoeval(gp, dp)
    ck.eq(float(e.params.iouThrs[8]), 0.8999999999999999, "numpy's iouThrs")
    check_same(ck, e, got, "IoU 0.8999999999999999")
    ck.ok(abs(got["stats"][0] - 0.9) < 1e-12, "IoU just below 0.9: AP 0.9")
    got = detgrid_coco(["--gt", gp, "--dt", dp, "--exact-iou"])
    ck.ok(abs(got["stats"][0] - 0.8) < 1e-12, "with --exact-iou: AP 0.8")


def grid_case(seed, gt_path, dt_path):
    """Boxes on a coarse grid with sizes such as 32 and 96, so that IoUs tie,
    areas sit exactly on the range limits 32^2 and 96^2, boxes of zero
    width appear, the area field sometimes disagrees with the box, and
    scores come from a few levels; crowd regions everywhere; sparse ids."""
    rng = random.Random(seed)
    sizes = [0, 8, 16, 24, 32, 48, 64, 96, 128]
    cats = [{"id": i, "name": "c%d" % i} for i in rng.sample(range(1, 500), 5)]
    imgs = [{"id": i, "width": 256, "height": 256}
            for i in rng.sample(range(1, 10 ** 6), 25)]
    anns, dets = [], []

    def box():
        return [rng.randrange(0, 17) * 8, rng.randrange(0, 17) * 8,
                rng.choice(sizes), rng.choice(sizes)]
    for im in imgs:
        for _ in range(rng.randrange(0, 9)):
            b = box()
            area = b[2] * b[3] if rng.random() < 0.8 else \
                rng.choice([1024, 9216, 1023.5, 9216.5, 0, 5000])
            anns.append({"id": len(anns) + 1, "image_id": im["id"],
                         "category_id": rng.choice(cats)["id"], "bbox": b,
                         "area": area, "iscrowd": int(rng.random() < 0.15)})
        n = rng.choice([0, 3, 12, 40, 130])
        cat = rng.choice(cats)["id"]
        for _ in range(n):
            src = rng.random()
            if anns and src < 0.5:
                g = rng.choice(anns)
                b = [g["bbox"][0] + rng.choice([0, 0, 8, -8]),
                     g["bbox"][1] + rng.choice([0, 8]),
                     g["bbox"][2], g["bbox"][3]]
                c = g["category_id"] if rng.random() < 0.8 else cat
                i = g["image_id"]
            else:
                b, c, i = box(), cat, im["id"]
            dets.append({"image_id": i, "category_id": c, "bbox": b,
                         "score": rng.choice([0.1, 0.25, 0.5, 0.75, 0.9, 1.0])})
    rng.shuffle(cats)
    with open(gt_path, "w") as f:
        json.dump({"images": imgs, "categories": cats, "annotations": anns}, f)
    with open(dt_path, "w") as f:
        json.dump(dets, f)


def test_grid(ck, tmp):
    for seed in range(12):
        gt = os.path.join(tmp, "grid-gt%d.json" % seed)
        dt = os.path.join(tmp, "grid-dt%d.json" % seed)
        grid_case(seed, gt, dt)
        curves = os.path.join(tmp, "grid-curves.json") if seed < 4 else None
        got = detgrid_coco(["--gt", gt, "--dt", dt], curves)
        check_same(ck, cocoeval(gt, dt), got, "grid case %d" % seed, curves)


def test_pairwise(ck, tmp):
    exe = os.path.join(os.path.dirname(dgtest.BIN), "tests", "test-coco")
    if not os.access(exe, os.X_OK):
        print("note: %s not found; skipping the summation check" % exe)
        return
    rng = np.random.default_rng(7)
    lengths = list(range(1, 300)) + [383, 512, 1000, 1023, 1024, 1025, 4095,
                                     8191, 8192, 8193, 10000, 16385, 65536,
                                     80800, 100001]
    arrays = []
    for n in lengths:
        kind = n % 3
        if kind == 0:
            a = rng.random(n)
        elif kind == 1:  # precision-like: small fractions, many repeats
            a = rng.integers(0, 50, n) / rng.integers(1, 60, n)
        else:  # wide magnitudes, where the order of additions shows
            a = rng.random(n) * 10.0 ** rng.integers(-8, 8, n)
        arrays.append(np.ascontiguousarray(a, dtype=np.float64))
    path = os.path.join(tmp, "arrays.bin")
    with open(path, "wb") as f:
        for a in arrays:
            f.write(struct.pack("<Q", len(a)))
            f.write(a.astype("<f8").tobytes())
    out = subprocess.run([exe, "--mean", path], check=True,
                         capture_output=True, text=True).stdout.split()
    ck.eq(len(out), len(arrays), "means printed")
    for a, s in zip(arrays, out):
        ck.eq(float.fromhex(s), float(np.mean(a)), "np.mean of %d" % len(a))


def main():
    ck = Checker("test_coco_parity")
    with TempDir("dg-coco-parity-") as tmp:
        test_pairwise(ck, tmp)
        test_sample(ck, tmp)
        test_iou_just_below_09(ck, tmp)
        test_grid(ck, tmp)
        test_synth(ck, tmp)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
