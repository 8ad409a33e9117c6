"""The Python drop-in (detgrid.COCO, detgrid.COCOeval) against pycocotools
itself, compared with ==, never approx:

  (a) every case of tests/test_coco_parity.py (the val2014 sample, the
      synthetic cases with crowds, ties, more than 100 detections, shuffled
      ids, absent categories, ignore flags; the grid cases with IoU and
      area ties; the IoU just below 0.9): the 12 stats, precision, recall
      and scores arrays of COCOeval.eval, and summarize()'s twelve lines;
  (b) changed params, as pycocotools honours them: custom iouThrs,
      maxDets [1, 5, 50], one area range, useCats = 0, an imgIds subset, a
      catIds subset with an id the ground truth lacks, other recThrs (also
      unsorted), and the lookups of summarize() that fail in pycocotools
      (iouThrs as a list) failing the same way;
  (c) the inputs pycocotools users have: results as a file, a list of
      dicts and an N x 7 array; COCO(dict); pycocotools' own COCO objects
      handed to detgrid's COCOeval;
  (d) what is not provided says so: iouType 'segm', evalImgs.
"""

import contextlib
import copy
import io
import json
import os

import numpy as np
from pycocotools.coco import COCO as PyCOCO
from pycocotools.cocoeval import COCOeval as PyCOCOeval

import dgtest
import test_coco_parity as parity
from dgtest import Checker, TempDir, run

detgrid = dgtest.import_detgrid()


def evaluate(coco_cls, eval_cls, gt, dt, setup=None, gt_obj=None):
    """gt (a path or a COCO object), dt (anything loadRes takes); returns
    the evaluator and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        g = gt_obj if gt_obj is not None else coco_cls(gt)
        d = g.loadRes(dt)
        e = eval_cls(g, d, "bbox")
        if setup:
            setup(e.params, g)
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e, out.getvalue()


def summary_lines(text):
    return [ln for ln in text.splitlines() if ln.startswith(" Average ")]


def check_same(ck, want, got, what):
    """pycocotools' evaluator and detgrid's: stats, arrays and lines."""
    (ew, tw), (eg, tg) = want, got
    ck.array_eq(np.asarray(eg.stats), np.asarray(ew.stats), what + ": stats")
    for k in ("precision", "recall", "scores"):
        ck.eq(eg.eval[k].shape, ew.eval[k].shape, what + ": %s shape" % k)
        ck.array_eq(eg.eval[k], ew.eval[k], what + ": " + k)
    ck.eq(eg.eval["counts"], ew.eval["counts"], what + ": counts")
    ck.eq(summary_lines(tg), summary_lines(tw), what + ": summarize lines")
    ck.eq(list(eg.params.imgIds), list(ew.params.imgIds), what + ": imgIds")
    ck.eq(list(eg.params.catIds), list(ew.params.catIds), what + ": catIds")


def both(ck, gt, dt, what, setup=None):
    want = evaluate(PyCOCO, PyCOCOeval, gt, dt, setup)
    got = evaluate(detgrid.COCO, detgrid.COCOeval, gt, dt, setup)
    check_same(ck, want, got, what)
    return want, got


def parity_cases(tmp):
    """(name, gt path, dt path) of every case test_coco_parity runs."""
    cases = []
    d = os.path.join(dgtest.SHARED_DATA, "coco_val2014_100_fakebbox")
    gt_a = os.path.join(d, "instances_val2014_100.json")
    gt_b = os.path.join(d, "sampled_gts_bbox_area.json")
    dt = os.path.join(d, "instances_val2014_fakebbox100_results.json")
    if all(os.path.exists(p) for p in (gt_a, gt_b, dt)):
        cases += [("sample A", gt_a, dt), ("sample B", gt_b, dt)]
    else:
        print("note: %s not found; the val2014 sample is left out" % d)
    cases.append(("IoU 0.8999999999999999", *parity.iou_09_case(tmp)))
    for seed in range(12):
        g = os.path.join(tmp, "grid-gt%d.json" % seed)
        t = os.path.join(tmp, "grid-dt%d.json" % seed)
        parity.grid_case(seed, g, t)
        cases.append(("grid case %d" % seed, g, t))
    for i, (opts, post, _) in enumerate(parity.SYNTH):
        g = os.path.join(tmp, "gt%d.json" % i)
        prefix = os.path.join(tmp, "d%d" % i)
        run(["synth", "--coco-gt", g, "--coco-dt-prefix", prefix] + opts)
        t = prefix + "-model-a.json"
        if post:
            post(g, t)
        with open(t) as f:
            if not json.load(f):
                continue  # pycocotools' loadRes cannot take an empty list
        cases.append(("synth " + " ".join(opts), g, t))
    return cases


def test_parity(ck, cases):
    for what, g, t in cases:
        both(ck, g, t, what)


def set_attr(name, value):
    return lambda p, g: setattr(p, name, copy.deepcopy(value))


PARAMS = [
    ("iouThrs 0.3, 0.5, 0.62, 0.9", set_attr(
        "iouThrs", np.array([0.3, 0.5, 0.62, 0.9]))),
    ("iouThrs 0.75, 0.5 (unsorted)", set_attr(
        "iouThrs", np.array([0.75, 0.5]))),
    ("maxDets 1, 5, 50", set_attr("maxDets", [1, 5, 50])),
    ("maxDets 100, 1, 10 (sorted by evaluate)",
     set_attr("maxDets", [100, 1, 10])),
    ("one area range", lambda p, g: (setattr(p, "areaRng", [[0, 1e10]]),
                                     setattr(p, "areaRngLbl", ["all"]))),
    ("area ranges medium, all", lambda p, g: (
        setattr(p, "areaRng", [[32 ** 2, 96 ** 2], [0, 1e10]]),
        setattr(p, "areaRngLbl", ["medium", "all"]))),
    ("useCats 0", set_attr("useCats", 0)),
    ("imgIds subset", lambda p, g: setattr(
        p, "imgIds", sorted(g.getImgIds())[::3])),
    ("catIds subset and an unknown id", lambda p, g: setattr(
        p, "catIds", sorted(g.getCatIds())[1::2] + [987654])),
    ("recThrs 0:0.1:1", set_attr("recThrs", np.linspace(0, 1, 11))),
    ("recThrs unsorted", set_attr("recThrs", np.array([0.5, 0.9, 0.1,
                                                       0.3]))),
    ("useCats 0 with imgIds and maxDets", lambda p, g: (
        setattr(p, "useCats", 0), setattr(p, "imgIds",
                                          sorted(g.getImgIds())[1::2]),
        setattr(p, "maxDets", [1, 5, 50]))),
]


def outcome(fn):
    """fn()'s evaluator and output, or the exception's type."""
    try:
        return fn()
    except Exception as e:  # the same failure is the expected result
        return type(e)


def test_params(ck, cases):
    """pycocotools honours changed params; so must detgrid, bit for bit."""
    for what, g, t in cases:
        for pname, setup in PARAMS:
            label = "%s, %s" % (what, pname)
            want = outcome(lambda: evaluate(PyCOCO, PyCOCOeval, g, t, setup))
            got = outcome(lambda: evaluate(detgrid.COCO, detgrid.COCOeval, g,
                                           t, setup))
            if isinstance(want, type):
                ck.eq(got, want, label + ": the same exception")
                continue
            check_same(ck, want, got, label)
            # The arrays have the params' sizes.
            p = got[0].params
            T, R, K, A, M = got[0].eval["counts"]
            ck.eq((T, R, A, M), (len(p.iouThrs), len(p.recThrs),
                                 len(p.areaRng), len(p.maxDets)),
                  label + ": sizes")
    # summarize()'s lookup of 0.5 in a list of thresholds fails in
    # pycocotools (numpy refuses np.where on a scalar); so it does here.
    what, g, t = cases[0]
    setup = set_attr("iouThrs", [0.5, 0.75])
    want = outcome(lambda: evaluate(PyCOCO, PyCOCOeval, g, t, setup))
    got = outcome(lambda: evaluate(detgrid.COCO, detgrid.COCOeval, g, t,
                                   setup))
    ck.ok(isinstance(want, type), "pycocotools fails on iouThrs as a list")
    ck.eq(got, want, "iouThrs as a list: the same exception")


def test_inputs(ck, cases, tmp):
    """Results as a list and as an array, COCO(dict), pycocotools' own
    objects."""
    for what, g, t in cases[:6]:
        with open(t) as f:
            dets = json.load(f)
        with open(g) as f:
            ds = json.load(f)
        want = evaluate(PyCOCO, PyCOCOeval, g, t)
        # A list of dicts; pycocotools mutates it, so each gets a copy.
        got = evaluate(detgrid.COCO, detgrid.COCOeval, g, copy.deepcopy(dets))
        check_same(ck, want, got, what + ": results as a list")
        # COCO(dict).
        with contextlib.redirect_stdout(io.StringIO()):
            gd = detgrid.COCO(copy.deepcopy(ds))
        got = evaluate(detgrid.COCO, detgrid.COCOeval, None, t, gt_obj=gd)
        check_same(ck, want, got, what + ": COCO(dict)")
        # COCO() given its dataset afterwards (detectron2 does so).
        with contextlib.redirect_stdout(io.StringIO()):
            ge = detgrid.COCO()
            ge.dataset = copy.deepcopy(ds)
            ge.createIndex()
        got = evaluate(detgrid.COCO, detgrid.COCOeval, None, t, gt_obj=ge)
        check_same(ck, want, got, what + ": COCO(); dataset = ...")
        # pycocotools' objects into detgrid's evaluator.
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            pg = PyCOCO(g)
            pd = pg.loadRes(t)
            e = detgrid.COCOeval(pg, pd, "bbox")
            e.evaluate()
            e.accumulate()
            e.summarize()
        check_same(ck, want, (e, out.getvalue()),
                   what + ": pycocotools' COCO objects")
        # An N x 7 array [image, x, y, w, h, score, class].
        arr = np.array([[d["image_id"]] + list(d["bbox"]) +
                        [d["score"], d["category_id"]] for d in dets],
                       dtype=np.float64)
        want_a = evaluate(PyCOCO, PyCOCOeval, g, arr)
        got_a = evaluate(detgrid.COCO, detgrid.COCOeval, g, arr)
        check_same(ck, want_a, got_a, what + ": results as an array")

    # The index pycocotools users read, built on first use.
    what, g, t = cases[0]
    with contextlib.redirect_stdout(io.StringIO()):
        pg, dg = PyCOCO(g), detgrid.COCO(g)
        pr, dr = pg.loadRes(t), dg.loadRes(t)
    ck.eq(sorted(dg.getImgIds()), sorted(pg.getImgIds()), "getImgIds")
    ck.eq(dg.getCatIds(), pg.getCatIds(), "getCatIds")
    ids = sorted(pg.getImgIds())[:5]
    ck.eq(dg.getAnnIds(imgIds=ids), pg.getAnnIds(imgIds=ids), "getAnnIds")
    cats = pg.getCatIds()[:2]
    ck.eq(dg.getAnnIds(catIds=cats, iscrowd=0),
          pg.getAnnIds(catIds=cats, iscrowd=0), "getAnnIds by category")
    ck.eq(sorted(dg.getImgIds(catIds=cats[:1])),
          sorted(pg.getImgIds(catIds=cats[:1])), "getImgIds by category")
    ann_ids = pg.getAnnIds(imgIds=ids)
    ck.eq(dg.loadAnns(ann_ids), pg.loadAnns(ann_ids), "loadAnns")
    ck.eq(dg.loadCats(cats), pg.loadCats(cats), "loadCats")
    ck.eq(dg.loadImgs(ids), pg.loadImgs(ids), "loadImgs")
    ck.eq(dr.getAnnIds(imgIds=ids), pr.getAnnIds(imgIds=ids),
          "results: getAnnIds")
    ck.eq(dr.loadAnns(dr.getAnnIds(imgIds=ids)),
          pr.loadAnns(pr.getAnnIds(imgIds=ids)), "results: loadAnns")


def test_not_provided(ck, cases):
    what, g, t = cases[0]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = detgrid.COCO(g)
        dt = gt.loadRes(t)
        # pycocotools' default iouType, segm: box results are scored by
        # their boxes' polygons (loadRes), as pycocotools scores them.
        e = detgrid.COCOeval(gt, dt)
        e.evaluate()
        e.accumulate()
        e.summarize()
        pg = PyCOCO(g)
        pe = PyCOCOeval(pg, pg.loadRes(t))
        pe.evaluate()
        pe.accumulate()
        pe.summarize()
        ck.array_eq(np.asarray(e.stats), np.asarray(pe.stats),
                    "the default iouType (segm) of box results")
        try:
            detgrid.COCOeval(gt, dt, "mask")
            ck.ok(False, "iouType 'mask' taken")
        except Exception as x:
            ck.contains(str(x), "iouType not supported", what="mask")
        e = detgrid.COCOeval(gt, dt, "bbox")
        e.evaluate()
        e.accumulate()
    try:
        e.evalImgs
        ck.ok(False, "evalImgs given")
    except AttributeError as x:
        ck.contains(str(x), "evalImgs", what="evalImgs")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            detgrid.COCOeval(gt, dt, "bbox").accumulate()
        ck.ok(False, "accumulate before evaluate")
    except RuntimeError as x:
        ck.contains(str(x), "evaluate() first", what="accumulate first")


AUTO_SCRIPT = r"""
import contextlib, io, json, sys
sys.path.insert(0, sys.argv[1])
import detgrid
with contextlib.redirect_stdout(io.StringIO()):
    g = detgrid.COCO(sys.argv[2])
    e = detgrid.COCOeval(g, g.loadRes(sys.argv[3]), "bbox")
    e.evaluate()
    e.accumulate()
    e.summarize()
maps = open("/proc/self/maps").read()
print(json.dumps({"stats": [float(x) for x in e.stats],
                  "pocl": "libpocl" in maps}))
"""


def test_masks_on_demand(ck, case):
    """COCO(path) reads boxes, areas and keypoints; the masks (polygons
    rasterized, most of an instances file's import time) only when a mask
    evaluation asks for them."""
    _, gt, dt = case
    with contextlib.redirect_stdout(io.StringIO()):
        g = detgrid.COCO(gt)
        e = detgrid.COCOeval(g, g.loadRes(dt), "bbox")
        e.evaluate()
    ck.eq(getattr(g, "_proj_shapes", None), None,
          what="a box evaluation read no masks")
    full = g._project(shapes=True)
    ck.ok(full is not g._project(), "the masks in a project of their own")
    ck.ok(full is g._project(shapes=True), "read once")


def test_auto_device(ck, tmp, case):
    """The "auto" device looks for a GPU; on Linux a machine without a GPU
    device node says there is none without loading any OpenCL platform
    (PoCL's LLVM costs tens of milliseconds). DETGRID_DEV_DIR stands in
    for /dev: an empty folder, then one with a DRM render node, where the
    platforms are loaded (PoCL's when it is installed) and offer no GPU
    here; the same stats either way."""
    import glob
    import subprocess
    import sys
    _, gt, dt = case
    empty = os.path.join(tmp, "dev-empty")
    render = os.path.join(tmp, "dev-render")
    os.makedirs(empty, exist_ok=True)
    os.makedirs(os.path.join(render, "dri"), exist_ok=True)
    open(os.path.join(render, "dri", "renderD128"), "w").close()
    pocl_icd = bool(glob.glob("/etc/OpenCL/vendors/*pocl*"))
    out = {}
    for name, dev in (("no GPU node", empty), ("a render node", render)):
        env = dict(os.environ, DETGRID_DEV_DIR=dev)
        env.pop("DETGRID_DEVICE", None)
        p = subprocess.run([sys.executable, "-c", AUTO_SCRIPT,
                            os.path.dirname(os.path.dirname(
                                detgrid.__file__)), gt, dt],
                           env=env, capture_output=True, text=True)
        ck.eq(p.returncode, 0, what="auto device, %s: %s" % (name, p.stderr))
        if p.returncode == 0:
            out[name] = json.loads(p.stdout)
    if len(out) == 2:
        ck.eq(out["no GPU node"]["pocl"], False,
              what="no GPU node: PoCL not loaded")
        ck.eq(out["a render node"]["pocl"], pocl_icd,
              what="a render node: the platforms (PoCL) loaded")
        ck.eq(out["no GPU node"]["stats"], out["a render node"]["stats"],
              what="auto device: the same stats")


def main():
    ck = Checker("test_python_coco")
    with TempDir("dg-py-coco-") as tmp:
        cases = parity_cases(tmp)
        ck.ok(len(cases) >= 20, "parity cases built")
        test_parity(ck, cases)
        # Changed params on the sample and on cases with crowds, ties,
        # > 100 detections per image, absent categories and sparse ids.
        pick = [c for c in cases if c[0].startswith(("sample A", "grid case 1",
                                                     "grid case 3"))]
        pick += [c for c in cases if "--max-dets" in c[0]][:1]
        pick += [c for c in cases if "--seed 7 " in c[0]]
        pick += [c for c in cases if "--seed 2 " in c[0]]
        test_params(ck, pick)
        test_inputs(ck, pick, tmp)
        test_not_provided(ck, cases)
        test_auto_device(ck, tmp, pick[0])
        test_masks_on_demand(ck, pick[0])
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
