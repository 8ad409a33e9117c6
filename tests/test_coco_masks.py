"""detgrid coco --iou-type segm|boundary|keypoints against the peers
themselves: numbers compared with ==, never approx.

  (a) the shared COCO val2014 sample with cocoapi's mask results: the 12
      segm stats of pycocotools 2.0.11 (PROVENANCE.md) and pycocotools
      itself, stats, per-class AP and the precision, scores and recall
      arrays; boundary against faster-coco-eval's COCOeval 'boundary'
      (the same arrays; its summary means differ from numpy's in the last
      bit, so the stats are held against pycocotools' summarize() run on
      faster-coco-eval's boundary IoUs);
  (b) synthetic COCO files: polygons with several parts, holes (RLE),
      crowd regions as uncompressed RLE, empty and 1-pixel masks, masks on
      and across the border, masks of another size, results with and
      without boxes (pycocotools then takes areas from the masks), more
      than 100 detections of an image and category, score ties, areas on
      the range boundaries -- segm (12 stats) and boundary against the
      same oracles;
  (c) keypoints: the 10 stats against pycocotools on synthetic people with
      visible, occluded and unlabelled keypoints, crowd regions, labels
      with num_keypoints 0, results with and without boxes, custom sigmas, sigmas of
      their own for one class (against pycocotools run once per sigma set).
"""

import contextlib
import io
import json
import os
import random

import numpy as np
from pycocotools import mask as M
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import dgtest
from dgtest import Checker, TempDir, run

SEGM_SAMPLE = [0.3195452758576433, 0.5622883972521636, 0.29892653412086784,
               0.3873740315997837, 0.31018272403369485, 0.3269339071005138,
               0.2682297225711534, 0.41544868114906375, 0.4168394992198818,
               0.4694498622754236, 0.37675922666197265, 0.3814715099715099]


def quiet(fn):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


def pycoco(gt_path, dt_path, iou_type, sigmas=None, ious=None):
    """COCOeval with default Params; ious, when given, replaces
    computeIoU (faster-coco-eval's boundary IoUs)."""
    def go():
        gt = COCO(gt_path)
        dt = gt.loadRes(dt_path)
        e = COCOeval(gt, dt, iou_type if iou_type != "boundary" else "segm")
        if sigmas is not None:
            e.params.kpt_oks_sigmas = np.array(sigmas)
        if ious is not None:
            e.computeIoU = lambda i, c: ious.get((i, c), [])
        e.evaluate()
        e.accumulate()
        e.summarize()
        return e
    return quiet(go)


def fcoco(gt_path, dt_path, iou_type):
    from faster_coco_eval import COCO as FCOCO, COCOeval_faster

    def go():
        gt = FCOCO(gt_path)
        dt = gt.loadRes(dt_path)
        e = COCOeval_faster(gt, dt, iou_type, print_function=lambda *a: None,
                            extra_calc=True)
        e.evaluate()
        e.accumulate()
        e.summarize()
        return e
    return quiet(go)


def fcoco_boundary_ious(gt_path, dt_path, ratio=0.02):
    """faster-coco-eval's boundary IoU matrices, (image, category) -> dt x
    gt, through its own computeIoU."""
    from faster_coco_eval import COCO as FCOCO
    from faster_coco_eval.core.cocoeval import COCOeval as FEval

    def go():
        gt = FCOCO(gt_path)
        dt = gt.loadRes(dt_path)
        e = FEval(gt, dt, "boundary", print_function=lambda *a: None,
                  boundary_dilation_ratio=ratio)
        e.params.imgIds = sorted(gt.getImgIds())
        e._prepare()
        out = {}
        for i in e.params.imgIds:
            for c in e.params.catIds:
                out[(i, c)] = e.computeIoU(i, c)
        return out
    return quiet(go)


def detgrid(args, curves=None):
    a = ["coco"] + args + ["--json", "--compact"]
    if curves:
        a += ["--curves", curves]
    return run(a).json()


def per_class_ap(e, m=-1):
    prec = e.eval["precision"]
    out = []
    for k in range(prec.shape[2]):
        p = prec[:, :, k, 0, m]
        p = p[p > -1]
        out.append(float(np.mean(p)) if p.size else None)
    return out


def check_arrays(ck, e, curves, what, tol=0):
    """The arrays of COCOeval.eval: bit for bit, or within tol (faster-coco-
    eval's own accumulate rounds differently from pycocotools')."""
    with open(curves) as f:
        c = json.load(f)
    for key in ("precision", "scores", "recall"):
        g = np.array(c[key], dtype=np.float64)
        w = np.asarray(e.eval[key], dtype=np.float64)
        ck.eq(g.shape, w.shape, "%s: %s shape" % (what, key))
        if tol:
            bad = np.abs(g - w) > tol
            ck.ok(not bad.any(), lambda: "%s: %s: %d elements differ, first "
                  "at %s: %r vs %r" % (what, key, bad.sum(),
                                       np.argwhere(bad)[0], g[bad][0],
                                       w[bad][0]))
        else:
            ck.array_eq(g, w, "%s: %s" % (what, key))


def check_stats(ck, e, got, what):
    want = [float(x) for x in e.stats]
    ck.eq(len(got["stats"]), len(want), what + ": number of stats")
    for i, (g, w) in enumerate(zip(got["stats"], want)):
        ck.eq(g, w, "%s: stats[%d] (%s)" % (what, i, got["names"][i]))
    ap = per_class_ap(e)
    for k, pc in enumerate(got["per_class"]):
        ck.eq(pc["ap"], ap[k], "%s: AP of category %d" % (what, pc["id"]))


# ---- (a) the shared sample -----------------------------------------------

def test_sample(ck, tmp):
    d = os.path.join(dgtest.SHARED_DATA, "coco_val2014_100_fakebbox")
    gt = os.path.join(d, "instances_val2014_100.json")
    dt = os.path.join(d, "instances_val2014_fakesegm100_results.json")
    if not (os.path.exists(gt) and os.path.exists(dt)):
        print("note: %s not found; skipping the val2014 sample" % d)
        return
    curves = os.path.join(tmp, "segm.json")
    got = detgrid(["--gt", gt, "--dt", dt, "--iou-type", "segm"], curves)
    ck.eq(got["stats"], SEGM_SAMPLE, "sample segm: PROVENANCE.md")
    e = pycoco(gt, dt, "segm")
    check_stats(ck, e, got, "sample segm")
    check_arrays(ck, e, curves, "sample segm")
    out = run(["coco", "--gt", gt, "--dt", dt, "--iou-type", "segm"])
    ck.eq(out.out.splitlines()[0], " Average Precision  (AP) @[ IoU=0.50:0.95"
          " | area=   all | maxDets=100 ] = 0.320", "sample segm: line 1")
    check_boundary(ck, tmp, gt, dt, "sample boundary")


def check_boundary(ck, tmp, gt, dt, what, ratio=None):
    curves = os.path.join(tmp, "boundary.json")
    args = ["--gt", gt, "--dt", dt, "--iou-type", "boundary"]
    if ratio:
        args += ["--dilation-ratio", str(ratio)]
    got = detgrid(args, curves)
    if ratio is None:
        check_arrays(ck, fcoco(gt, dt, "boundary"), curves,
                     what + " (faster-coco-eval)", tol=1e-12)
    e = pycoco(gt, dt, "boundary",
               ious=fcoco_boundary_ious(gt, dt, ratio or 0.02))
    check_stats(ck, e, got, what)
    check_arrays(ck, e, curves, what + " (pycocotools)")


# ---- (b) synthetic masks -----------------------------------------------------

def rle_str(r):
    c = r["counts"]
    return {"size": [int(r["size"][0]), int(r["size"][1])],
            "counts": c.decode() if isinstance(c, bytes) else c}


def poly_part(rng, cx, cy, r):
    n = rng.randrange(3, 9)
    pts = []
    for i in range(n):
        a = 6.283 * i / n + rng.uniform(0, 0.5)
        rr = r * rng.uniform(0.4, 1.0)
        pts += [round(cx + rr * np.cos(a), 2), round(cy + rr * np.sin(a), 2)]
    return pts


def synth_masks(seed, with_bbox):
    rng = random.Random(seed)
    cats = [{"id": c, "name": "c%d" % c} for c in rng.sample(range(1, 60), 4)]
    images, anns, dets = [], [], []
    for i, img_id in enumerate(rng.sample(range(1, 10000), 14)):
        h, w = rng.randrange(12, 90), rng.randrange(12, 90)
        if i == 0:
            h = 2  # a short image: boundaries erode everything
        images.append({"id": img_id, "width": w, "height": h})
        for c in cats:
            if rng.random() < 0.3:
                continue
            for _ in range(rng.randrange(0, 5)):
                cx, cy = rng.uniform(-5, w + 5), rng.uniform(-5, h + 5)
                r = rng.choice([0.6, 2, 6, 15, 40])
                kind = rng.randrange(6)
                crowd = 0
                if kind == 0:      # several parts
                    segm = [poly_part(rng, cx + rng.uniform(-9, 9),
                                      cy + rng.uniform(-9, 9), r)
                            for _ in range(rng.randrange(2, 4))]
                    m = M.decode(M.merge(M.frPyObjects(segm, h, w)))
                elif kind == 1:    # a crowd region, uncompressed RLE
                    m = np.zeros((h, w), np.uint8)
                    y0, x0 = rng.randrange(h), rng.randrange(w)
                    m[y0:y0 + rng.randrange(1, h), x0:x0 + rng.randrange(1, w)] = 1
                    fm = np.asfortranarray(m).reshape(-1, order="F")
                    runs, cur, n = [], 0, 0
                    for v in fm:
                        if v != cur:
                            runs.append(n)
                            cur, n = v, 0
                        n += 1
                    runs.append(n)
                    segm = {"size": [h, w], "counts": runs}
                    crowd = 1
                elif kind == 2:    # a hole, compressed RLE
                    m = np.zeros((h, w), np.uint8)
                    y0, x0 = rng.randrange(h), rng.randrange(w)
                    m[y0:y0 + 9, x0:x0 + 9] = 1
                    m[y0 + 3:y0 + 5, x0 + 3:x0 + 5] = 0
                    segm = rle_str(M.encode(np.asfortranarray(m)))
                else:
                    segm = [poly_part(rng, cx, cy, r)]
                    m = M.decode(M.merge(M.frPyObjects(segm, h, w)))
                a = float(m.sum())
                if rng.random() < 0.15:  # areas on the range boundaries
                    a = rng.choice([1024.0, 9216.0, 1023.9, 0.0])
                ys, xs = np.nonzero(m)
                bb = ([float(xs.min()), float(ys.min()),
                       float(xs.max() - xs.min() + 1),
                       float(ys.max() - ys.min() + 1)] if len(xs)
                      else [0.0, 0.0, 0.0, 0.0])
                anns.append({"id": len(anns) + 1, "image_id": img_id,
                             "category_id": c["id"], "segmentation": segm,
                             "area": a, "bbox": bb, "iscrowd": crowd})
                # Detections near it: moved, grown, cut.
                for _ in range(rng.randrange(0, 4)):
                    dm = np.roll(m, (rng.randrange(-3, 4), rng.randrange(-3, 4)),
                                 axis=(0, 1))
                    if rng.random() < 0.3:
                        dm = dm.copy()
                        dm[:, : rng.randrange(w)] = 0
                    dets.append((img_id, c["id"], dm, h, w))
            if rng.random() < 0.3:  # noise
                for _ in range(rng.randrange(1, 4)):
                    dm = (np.random.default_rng(rng.randrange(1 << 30))
                          .random((h, w)) < 0.05).astype(np.uint8)
                    dets.append((img_id, c["id"], dm, h, w))
    # One crowded image and category: more than 100 detections.
    img = images[3]
    for _ in range(130):
        dm = np.zeros((img["height"], img["width"]), np.uint8)
        y, x = rng.randrange(img["height"]), rng.randrange(img["width"])
        dm[y:y + 4, x:x + 4] = 1
        dets.append((img["id"], cats[0]["id"], dm, img["height"], img["width"]))
    res = []
    for k, (img_id, cid, dm, h, w) in enumerate(dets):
        if k % 23 == 5:  # a mask of another size
            dm = np.zeros((h + 1, w), np.uint8)
            dm[:3, :3] = 1
        r = rle_str(M.encode(np.asfortranarray(dm.astype(np.uint8))))
        rec = {"image_id": img_id, "category_id": cid, "segmentation": r,
               "score": round(rng.random(), 2)}
        if with_bbox:
            rec["bbox"] = [float(v) for v in M.toBbox(r)]
        res.append(rec)
    rng.shuffle(res)
    if not with_bbox:
        # pycocotools' loadRes takes areas from the masks only when the
        # first record has no box.
        pass
    gt = {"images": images, "categories": cats, "annotations": anns}
    return gt, res


def test_synthetic_masks(ck, tmp):
    for seed in range(6):
        gt, res = synth_masks(seed, with_bbox=seed % 2 == 1)
        gp = os.path.join(tmp, "gt-%d.json" % seed)
        dp = os.path.join(tmp, "dt-%d.json" % seed)
        with open(gp, "w") as f:
            json.dump(gt, f)
        with open(dp, "w") as f:
            json.dump(res, f)
        what = "synthetic %d (%s boxes)" % (seed, "with" if seed % 2 else
                                            "without")
        curves = os.path.join(tmp, "c.json")
        got = detgrid(["--gt", gp, "--dt", dp, "--iou-type", "segm"], curves)
        e = pycoco(gp, dp, "segm")
        check_stats(ck, e, got, what + ": segm")
        check_arrays(ck, e, curves, what + ": segm")
        check_boundary(ck, tmp, gp, dp, what + ": boundary")
        if seed == 0:
            check_boundary(ck, tmp, gp, dp, what + ": boundary 0.05", 0.05)


# ---- (c) keypoints -----------------------------------------------------------

SIGMAS = [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07,
          .87, .87, .89, .89]


def synth_people(seed, k=17, with_bbox=False):
    rng = random.Random(seed)
    cats = [{"id": 1, "name": "person",
             "keypoints": ["k%d" % i for i in range(k)]}]
    if seed % 3 == 0:
        cats.append({"id": 7, "name": "robot",
                     "keypoints": ["k%d" % i for i in range(k)]})
    images, anns, res = [], [], []
    for img_id in rng.sample(range(1, 5000), 25):
        images.append({"id": img_id, "width": 640, "height": 480})
        for c in cats:
            for _ in range(rng.randrange(0, 5)):
                x, y = rng.uniform(0, 500), rng.uniform(0, 350)
                bw, bh = rng.uniform(5, 140), rng.uniform(5, 130)
                kp, nv = [], 0
                mode = rng.random()
                for _ in range(k):
                    v = 0 if mode < 0.15 else rng.choice([0, 1, 2, 2])
                    px = round(x + rng.uniform(0, bw), 1) if v else 0
                    py = round(y + rng.uniform(0, bh), 1) if v else 0
                    kp += [px, py, v]
                    nv += v > 0
                crowd = int(rng.random() < 0.05)
                area = rng.choice([bw * bh, bw * bh * 0.6, 1024.0, 9216.0])
                anns.append({"id": len(anns) + 1, "image_id": img_id,
                             "category_id": c["id"], "keypoints": kp,
                             "num_keypoints": nv, "bbox": [x, y, bw, bh],
                             "area": area, "iscrowd": crowd})
                for _ in range(rng.randrange(0, 3)):
                    dkp = []
                    s = rng.choice([1, 3, 8, 25])
                    for i in range(k):
                        gx, gy = kp[3 * i], kp[3 * i + 1]
                        if not kp[3 * i + 2]:
                            gx, gy = x + bw / 2, y + bh / 2
                        dkp += [round(gx + rng.gauss(0, s), 2),
                                round(gy + rng.gauss(0, s), 2), 1]
                    rec = {"image_id": img_id, "category_id": c["id"],
                           "keypoints": dkp, "score": round(rng.random(), 3)}
                    if with_bbox:
                        xs, ys = dkp[0::3], dkp[1::3]
                        rec["bbox"] = [min(xs), min(ys), max(xs) - min(xs),
                                       max(ys) - min(ys)]
                    res.append(rec)
            # Far-off detections, more than 20 in one image.
            for _ in range(rng.choice([0, 0, 3, 25])):
                dkp = []
                for i in range(k):
                    dkp += [round(rng.uniform(0, 640), 1),
                            round(rng.uniform(0, 480), 1), 1]
                res.append({"image_id": img_id, "category_id": c["id"],
                            "keypoints": dkp, "score": round(rng.random(), 2)})
    rng.shuffle(res)
    return {"images": images, "categories": cats, "annotations": anns}, res


def test_keypoints(ck, tmp):
    for seed in range(6):
        k = 17 if seed < 4 else 5
        sig = None if k == 17 else [0.05, 0.1, 0.025, 0.07, 0.3]
        gt, res = synth_people(seed, k, with_bbox=seed == 2)
        gp = os.path.join(tmp, "kgt-%d.json" % seed)
        dp = os.path.join(tmp, "kdt-%d.json" % seed)
        with open(gp, "w") as f:
            json.dump(gt, f)
        with open(dp, "w") as f:
            json.dump(res, f)
        what = "keypoints %d" % seed
        args = ["--gt", gp, "--dt", dp, "--iou-type", "keypoints"]
        if sig:
            args += ["--kpt-sigmas", ",".join(str(v) for v in sig)]
        curves = os.path.join(tmp, "k.json")
        got = detgrid(args, curves)
        e = pycoco(gp, dp, "keypoints",
                   sigmas=np.array(sig) if sig else None)
        ck.eq(len(got["stats"]), 10, what + ": 10 stats")
        check_stats(ck, e, got, what)
        check_arrays(ck, e, curves, what)
        if seed == 0:
            out = run(["coco"] + args).out.splitlines()
            ck.eq(len(out), 10, what + ": summary lines")
            ck.eq(out[3].split(" = ")[0], " Average Precision  (AP) @[ IoU=0.50:0.95 "
                  "| area=medium | maxDets= 20 ]", what + ": line 4")
    # Keypoints the sigmas do not fit: refused, naming the detection.
    r = run(["coco", "--gt", gp, "--dt", dp, "--iou-type", "keypoints"], rc=2)
    ck.ok("has 5 keypoints, the sigmas are for 17" in r.err, r.err)
    # Sigmas per class: pycocotools run once with each class's sigmas, the
    # arrays of each category taken from its own run, the stats as
    # summarize() takes them from those arrays.
    gt, res = synth_people(3)
    gp = os.path.join(tmp, "kgt-pc.json")
    dp = os.path.join(tmp, "kdt-pc.json")
    with open(gp, "w") as f:
        json.dump(gt, f)
    with open(dp, "w") as f:
        json.dump(res, f)
    robot = [round(0.02 + 0.01 * i, 3) for i in range(17)]
    curves = os.path.join(tmp, "kpc.json")
    got = detgrid(["--gt", gp, "--dt", dp, "--iou-type", "keypoints",
                   "--kpt-sigmas", "robot=" + ",".join(str(v) for v in robot)],
                  curves)
    e_p = pycoco(gp, dp, "keypoints")
    e_r = pycoco(gp, dp, "keypoints", sigmas=np.array(robot))
    ids = sorted(c["id"] for c in gt["categories"])
    k_robot = ids.index(7)
    prec = e_p.eval["precision"].copy()
    rec = e_p.eval["recall"].copy()
    prec[:, :, k_robot] = e_r.eval["precision"][:, :, k_robot]
    rec[:, k_robot] = e_r.eval["recall"][:, k_robot]
    with open(curves) as f:
        c = json.load(f)
    ck.array_eq(np.array(c["precision"]), prec, "per-class sigmas: precision")
    ck.array_eq(np.array(c["recall"]), rec, "per-class sigmas: recall")

    def mean(x):
        x = x[x > -1]
        return float(np.mean(x)) if x.size else -1.0
    t50, t75 = 0, 5
    want = [mean(prec[:, :, :, 0, 0]), mean(prec[t50][:, :, 0, 0]),
            mean(prec[t75][:, :, 0, 0]), mean(prec[:, :, :, 1, 0]),
            mean(prec[:, :, :, 2, 0]), mean(rec[:, :, 0, 0]),
            mean(rec[t50][:, 0, 0]), mean(rec[t75][:, 0, 0]),
            mean(rec[:, :, 1, 0]), mean(rec[:, :, 2, 0])]
    ck.eq(got["stats"], want, "per-class sigmas: stats")



def test_errors(ck, tmp):
    gt, res = synth_masks(9, with_bbox=True)
    gt["annotations"][0].pop("segmentation")
    gp, dp = os.path.join(tmp, "eg.json"), os.path.join(tmp, "ed.json")
    with open(gp, "w") as f:
        json.dump(gt, f)
    with open(dp, "w") as f:
        json.dump(res, f)
    r = run(["coco", "--gt", gp, "--dt", dp, "--iou-type", "segm"], rc=2)
    ck.ok("has no segmentation" in r.err, r.err)
    # Boxes still evaluate.
    run(["coco", "--gt", gp, "--dt", dp])
    r = run(["coco", "--gt", gp, "--dt", dp, "--iou-type", "mask"], rc=129)
    ck.ok("--iou-type" in r.err, r.err)


def main():
    ck = Checker("test_coco_masks")
    with TempDir() as tmp:
        test_sample(ck, tmp)
        test_synthetic_masks(ck, tmp)
        test_keypoints(ck, tmp)
        test_errors(ck, tmp)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
