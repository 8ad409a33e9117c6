"""We match pycocotools.

COCO ground truth + results are imported with `detgrid import coco`,
evaluated with `detgrid eval`, and compared, detection by detection and count
by count, with
  (a) the oracle of dgtest run on the JSON files directly (pycocotools'
      semantics: `ignore` is replaced by `iscrowd`), and
  (b) pycocotools itself: COCOeval.evaluate() with one area range covering
      everything, maxDets large enough never to truncate, and iouThrs set to
      the thresholds detgrid stored. Its evalImgs give, per (image, category),
      dtMatches / dtIgnore / gtIgnore at every threshold.

Data: the real COCO sample in $DETGRID_SHARED_DATA/coco_val2014_100_fakebbox
(skipped with a note when that directory is missing) and, always, synthetic
COCO files from `detgrid synth --coco-gt` with crowd regions and score ties.
"""

import contextlib
import io
import json
import os

import numpy as np

import dgtest
from dgtest import BoxSet, Checker, Oracle, Project, TempDir, run

SAMPLE = os.path.join(dgtest.SHARED_DATA, "coco_val2014_100_fakebbox")


def quiet(fn, *a, **k):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*a, **k)


def json_boxsets(gt, dt):
    """Oracle inputs from the parsed JSON, in file order: frame = rank of the
    image id, class = position in categories, ignore = iscrowd (as
    pycocotools' _prepare does)."""
    img_rank = {im["id"]: i for i, im in enumerate(sorted(gt["images"], key=lambda m: m["id"]))}
    cat_idx = {c["id"]: i for i, c in enumerate(gt["categories"])}
    A = gt["annotations"]
    crowd = [int(bool(a.get("iscrowd", 0))) for a in A]
    L = BoxSet([img_rank[a["image_id"]] for a in A], [cat_idx[a["category_id"]] for a in A],
               [a["bbox"][0] for a in A], [a["bbox"][1] for a in A],
               [a["bbox"][2] for a in A], [a["bbox"][3] for a in A],
               iscrowd=crowd, ignore=crowd)
    D = BoxSet([img_rank[d["image_id"]] for d in dt], [cat_idx[d["category_id"]] for d in dt],
               [d["bbox"][0] for d in dt], [d["bbox"][1] for d in dt],
               [d["bbox"][2] for d in dt], [d["bbox"][3] for d in dt],
               score=[d["score"] for d in dt])
    return L, D, cat_idx


def pycoco_outcomes(gt_path, dt_path, thresholds, n_dt):
    """Runs pycocotools; returns per results-file record, at each threshold,
    status (0 FP, 1 TP, 2 ignored) and the matched annotation id (0 = none),
    plus the non-ignored ground-truth count per category id."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    cg = quiet(COCO, gt_path)
    cd = quiet(cg.loadRes, dt_path)
    E = COCOeval(cg, cd, "bbox")
    E.params.iouThrs = np.array(thresholds, dtype=np.float64)
    E.params.areaRng = [[0, 1e10]]
    E.params.areaRngLbl = ["all"]
    E.params.maxDets = [10 ** 9]
    quiet(E.evaluate)
    T = len(thresholds)
    status = np.full((T, n_dt), -1, np.int64)
    match_id = np.full((T, n_dt), -1, np.int64)
    n_gt = {}
    n_imgs = 0
    for e in E.evalImgs:
        if e is None:
            continue
        n_imgs += 1
        cat = e["category_id"]
        n_gt[cat] = n_gt.get(cat, 0) + int((np.asarray(e["gtIgnore"]) == 0).sum())
        dm = np.asarray(e["dtMatches"]).reshape(T, -1)
        di = np.asarray(e["dtIgnore"]).reshape(T, -1)
        for j, did in enumerate(e["dtIds"]):
            k = did - 1  # loadRes numbers results 1.. in file order
            for t in range(T):
                m = int(dm[t, j])
                status[t, k] = 2 if di[t, j] else (1 if m > 0 else 0)
                match_id[t, k] = m
    return status, match_id, n_gt, n_imgs


def counts_from(status, scores, cls, n_gt_by_class, conf, t, C):
    sel = scores >= conf
    tp = np.bincount(cls[sel & (status[t] == 1)], minlength=C)
    fp = np.bincount(cls[sel & (status[t] == 0)], minlength=C)
    return [(int(tp[k]), int(fp[k]), int(n_gt_by_class[k] - tp[k]), int(n_gt_by_class[k]))
            for k in range(C)]


def compare(ck, d, label, gt_path, dt_path, rng, n_points=30, eval_spec=None):
    gt = json.load(open(gt_path))
    dt = json.load(open(dt_path))
    if isinstance(dt, dict):
        dt = dt["annotations"]
    p = os.path.join(d, label + ".h5")
    run(["import", "coco", "--gt", gt_path, "--dt", dt_path, "--name", "det", "-o", p,
         "--force"])
    ev = ["--iou-thresholds", eval_spec] if eval_spec else []
    run(["eval", p, "-q", "--device", "ref"] + ev)
    q = os.path.join(d, label + "-cl.h5")
    run(["eval", p, "-q", "--device", "cpu", "-o", q] + ev)
    P = Project(p)
    th = [float(t) for t in P.results["det"]["iou_thresholds"]]
    C = P.n_classes
    T = len(th)
    n_dt = len(dt)
    ck.eq(len(P.inferences["det"]), n_dt, label + ": imported detections")
    ck.eq(len(P.labels), len(gt["annotations"]), label + ": imported labels")
    ck.eq(C, len(gt["categories"]), label + ": classes")

    # detgrid's record i is results-file record perm_d[i] (stable sort by image)
    img_rank = {im["id"]: i for i, im in enumerate(sorted(gt["images"], key=lambda m: m["id"]))}
    perm_d = np.argsort([img_rank[x["image_id"]] for x in dt], kind="stable")
    perm_l = np.argsort([img_rank[a["image_id"]] for a in gt["annotations"]], kind="stable")
    ann_id_of_label = np.array([gt["annotations"][k]["id"] for k in perm_l], np.int64)
    ck.array_eq(P.inferences["det"].score, np.array([dt[k]["score"] for k in perm_d]),
                label + ": imported scores in record order")

    # detgrid's per-record outcome (by results-file record)
    R = P.results["det"]
    order = R["order"].astype(np.int64)
    dg_status = np.full((T, n_dt), -1, np.int64)
    dg_match = np.full((T, n_dt), -1, np.int64)
    dg_status[:, perm_d[order]] = R["status"]
    m = R["matched"].astype(np.int64)
    dg_match[:, perm_d[order]] = np.where(m >= 0, ann_id_of_label[np.maximum(m, 0)], 0)

    # (b) pycocotools
    pc_status, pc_match, pc_ngt, n_imgs = pycoco_outcomes(gt_path, dt_path, th, n_dt)
    ck.ok(n_imgs > 0, label + ": pycocotools evaluated nothing")
    ck.ok((pc_status >= 0).all(), label + ": a detection is in no evalImgs entry")
    ck.array_eq(dg_status, pc_status, label + ": status per detection, detgrid vs pycocotools")
    ck.array_eq(dg_match, pc_match,
                label + ": matched annotation id per detection, detgrid vs pycocotools")
    # (a) the oracle on the JSON
    L, D, cat_idx = json_boxsets(gt, dt)
    o = Oracle(L, D, th, C, ignore_flag=L.iscrowd)
    ck.array_eq(o.status, pc_status, label + ": oracle vs pycocotools status")
    ann_ids = np.array([a["id"] for a in gt["annotations"]], np.int64)
    ck.array_eq(np.where(o.matched >= 0, ann_ids[np.maximum(o.matched, 0)], 0), pc_match,
                label + ": oracle vs pycocotools matched ids")
    ngt_pc = np.array([pc_ngt.get(c["id"], 0) for c in gt["categories"]])
    ck.array_eq(o.n_gt, ngt_pc, label + ": non-ignored ground truths per class")
    ck.array_eq(R["gt_count"].astype(np.int64), ngt_pc, label + ": detgrid gt_count")

    # the data exercises what matters
    ck.ok((pc_status == 2).any(), label + ": no ignored detections (crowd)")
    ck.ok((pc_status == 1).any() and (pc_status == 0).any(), label + ": no TP or no FP")

    # counts at (conf, iou): detgrid metrics vs pycocotools vs oracle
    scores = D.score
    cls = D.cls
    ids = [c["id"] for c in gt["categories"]]
    for conf, iou in dgtest.query_points(rng, scores, th, n_points):
        t = o.t_index(iou)
        pc = counts_from(pc_status, scores, cls, ngt_pc, conf, t, C)
        ck.eq(o.counts(conf, t), pc, "%s: oracle vs pycocotools counts at (%r, %r)"
              % (label, conf, iou))
        j = dgtest.metrics_json(p, conf, iou)
        ck.eq(dgtest.metrics_json(q, conf, iou), j, label + ": cpu vs ref metrics")
        ck.eq([c["id"] for c in j["classes"]], ids, label + ": class ids")
        dgtest.check_metrics(ck, j, pc, "%s: detgrid vs pycocotools at (%r, %r)"
                             % (label, conf, iou), [c["name"] for c in gt["categories"]])
    return P


def check_pycocotools_itself(ck, gt_path, dt_path):
    """pycocotools' own AP on the sample is the published one: the library
    and data are the real thing."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    cg = quiet(COCO, gt_path)
    E = COCOeval(cg, quiet(cg.loadRes, dt_path), "bbox")
    quiet(E.evaluate)
    quiet(E.accumulate)
    quiet(E.summarize)
    ck.close(float(E.stats[0]), 0.5045806987249628, "pycocotools AP on the sample", rel=1e-10)
    ck.close(float(E.stats[1]), 0.6969727247299577, "pycocotools AP50 on the sample", rel=1e-10)


def main():
    ck = Checker("test_coco_sample")
    rng = np.random.default_rng(2014)
    with TempDir() as d:
        # always: synthetic COCO files with crowd regions and score ties
        for seed, extra in ((51, ["--score-levels", "20", "--crowd-rate", "0.3"]),
                            (52, ["--score-levels", "4", "--crowd-rate", "0.6",
                                  "--duplicate-rate", "0.4", "--classes", "3",
                                  "--objects", "12"])):
            g = os.path.join(d, "synth%d-gt.json" % seed)
            pre = os.path.join(d, "synth%d-dt" % seed)
            args = ["synth", "--coco-gt", g, "--coco-dt-prefix", pre, "--seed", str(seed),
                    "--frames", "200"]
            if "--classes" not in extra:
                args += ["--classes", "8"]
            run(args + extra)
            compare(ck, d, "synth%d" % seed, g, pre + "-model-a.json", rng, 25)
        if not os.path.isdir(SAMPLE):
            print("note: %s is missing; the COCO sample part is skipped" % SAMPLE)
            ck.done()
            return
        gt_path = os.path.join(SAMPLE, "instances_val2014_100.json")
        dt_path = os.path.join(SAMPLE, "instances_val2014_fakebbox100_results.json")
        check_pycocotools_itself(ck, gt_path, dt_path)
        compare(ck, d, "coco100", gt_path, dt_path, rng, 40)
        # a finer grid, with thresholds the default grid lacks
        compare(ck, d, "coco100-fine", gt_path, dt_path, rng, 30,
                eval_spec="0.01:0.99:0.02")
        compare(ck, d, "coco100-one", gt_path, dt_path, rng, 10, eval_spec="1")
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
