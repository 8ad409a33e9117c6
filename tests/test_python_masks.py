#!/usr/bin/env python3
"""The drop-in's iouType 'segm' and 'keypoints' against pycocotools itself:
stats, precision/recall/scores arrays and the summarize() lines, equal
bit for bit, with default and changed params, for every kind of input
(files, dicts and lists, pycocotools' own COCO objects). Cases: cocoapi's
instance-mask results (../shared/data, whose segm numbers are
pycocotools'), and the synthetic masks and people of test_coco_masks.py.
"""

import contextlib
import io
import json
import os

import numpy as np
from pycocotools.coco import COCO as PyCOCO
from pycocotools.cocoeval import COCOeval as PyCOCOeval

import dgtest
import test_coco_masks as synth
from dgtest import Checker, TempDir

detgrid = dgtest.import_detgrid()

# Params as users change them (the list), set on either evaluator.
TWEAKS = [
    ("default", None),
    ("maxDets 1 5 50", lambda p: setattr(p, "maxDets", [1, 5, 50])),
    ("iouThrs", lambda p: setattr(p, "iouThrs", np.array([0.3, 0.5, 0.77]))),
    ("useCats 0", lambda p: setattr(p, "useCats", 0)),
    ("one area range", lambda p: (setattr(p, "areaRng", [[0, 5000]]),
                                  setattr(p, "areaRngLbl", ["all"]))),
    ("imgIds subset", lambda p: setattr(p, "imgIds", p.imgIds[::3])),
]


def run(eval_cls, gt, dt, iou_type, tweak, sigmas=None):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        e = eval_cls(gt, dt, iou_type)
        if sigmas is not None:
            e.params.kpt_oks_sigmas = np.array(sigmas)
        if tweak:
            tweak(e.params)
        e.evaluate()
        e.accumulate()
        e.summarize()
    lines = [ln for ln in out.getvalue().splitlines()
             if ln.startswith(" Average ")]
    return e, lines


def check_same(ck, want, got, what):
    (ew, lw), (eg, lg) = want, got
    ck.array_eq(np.asarray(eg.stats), np.asarray(ew.stats), what + ": stats")
    for k in ("precision", "recall", "scores"):
        ck.eq(eg.eval[k].shape, ew.eval[k].shape, what + ": %s shape" % k)
        ck.array_eq(eg.eval[k], ew.eval[k], what + ": " + k)
    ck.eq(lg, lw, what + ": summarize lines")


def load(coco_cls, gt, dt):
    with contextlib.redirect_stdout(io.StringIO()):
        g = coco_cls(gt)
        return g, g.loadRes(dt)


def inputs(gt_path, dt_path):
    """(name, detgrid gt, detgrid results) for each kind of input, and
    pycocotools' own objects."""
    with open(gt_path) as f:
        gd = json.load(f)
    with open(dt_path) as f:
        dd = json.load(f)
    pg, pd = load(PyCOCO, gt_path, dt_path)
    return (pg, pd), [("files",) + load(detgrid.COCO, gt_path, dt_path),
                      ("dict and list",) + load(detgrid.COCO, gd, dd),
                      ("pycocotools objects", pg, pd)]


def parity(ck, gt_path, dt_path, iou_type, what, tweaks, sigmas=None):
    (pg, pd), kinds = inputs(gt_path, dt_path)
    for tname, tw in tweaks:
        want = run(PyCOCOeval, pg, pd, iou_type, tw, sigmas)
        for kname, g, d in kinds:
            got = run(detgrid.COCOeval, g, d, iou_type, tw, sigmas)
            check_same(ck, want, got, "%s, %s, %s" % (what, tname, kname))


def test_shared_segm(ck):
    d = os.path.join(dgtest.SHARED_DATA, "coco_val2014_100_fakebbox")
    gt = os.path.join(d, "instances_val2014_100.json")
    dt = os.path.join(d, "instances_val2014_fakesegm100_results.json")
    parity(ck, gt, dt, "segm", "cocoapi segm", TWEAKS)
    # cocoapi's own segm AP on these files (pycocoEvalDemo: 0.320).
    g, r = load(detgrid.COCO, gt, dt)
    e, _ = run(detgrid.COCOeval, g, r, "segm", None)
    ck.eq(round(float(e.stats[0]), 3), 0.320, "cocoapi segm AP")


def write(tmp, stem, gt, res):
    """The ground truth and results as files; their paths."""
    paths = []
    for suffix, obj in (("gt", gt), ("dt", res)):
        paths.append(os.path.join(tmp, "%s-%s.json" % (stem, suffix)))
        with open(paths[-1], "w") as f:
            json.dump(obj, f)
    return paths


def test_synthetic(ck, tmp):
    for seed in range(3):
        gp, dp = write(tmp, "m%d" % seed,
                       *synth.synth_masks(seed, with_bbox=seed == 1))
        parity(ck, gp, dp, "segm", "masks %d" % seed,
               TWEAKS[:2] + TWEAKS[3:4])
    kp_tweaks = [
        ("default", None),
        ("maxDets 5 20", lambda p: setattr(p, "maxDets", [5, 20])),
        ("iouThrs", lambda p: setattr(p, "iouThrs", np.array([0.5, 0.9]))),
        ("useCats 0", lambda p: setattr(p, "useCats", 0)),
    ]
    for seed in (0, 2, 4):
        k = 17 if seed < 4 else 5
        sig = None if k == 17 else [0.05, 0.1, 0.025, 0.07, 0.3]
        gp, dp = write(tmp, "k%d" % seed,
                       *synth.synth_people(seed, k, with_bbox=seed == 2))
        parity(ck, gp, dp, "keypoints", "people %d" % seed, kp_tweaks, sig)


def main():
    ck = Checker("test_python_masks")
    with TempDir() as tmp:
        test_shared_segm(ck)
        test_synthetic(ck, tmp)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
