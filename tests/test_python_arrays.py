"""Array-in evaluation (detgrid.evaluate, detgrid.Evaluator):

  (a) COCO's numbers from arrays equal pycocotools' on the same data (the
      12 stats and the eval arrays, ==), with default and changed params;
  (b) the grid's lookups (metrics, confusion, sweep, examples, frames)
      equal the CLI's on a project imported from the same data as JSON;
  (c) box formats xyxy and cxcywh give the xywh numbers; objects with
      __array__ (CPU torch tensors) work; the Evaluator's batches, as
      torchmetrics' lists of per-image dicts or as mappings, give the
      numbers of one evaluate() on everything;
  (d) bad arrays raise detgrid.FormatError naming the side, the record and
      the field, or ValueError/KeyError for shapes and keys.
"""

import contextlib
import io
import json
import os
import warnings

import numpy as np
from pycocotools.coco import COCO as PyCOCO
from pycocotools.cocoeval import COCOeval as PyCOCOeval

import dgtest
from dgtest import Checker, TempDir, run

detgrid = dgtest.import_detgrid()


def arrays_of(gt_path, dt_path):
    with open(gt_path) as f:
        gt = json.load(f)
    with open(dt_path) as f:
        dt = json.load(f)
    anns = gt["annotations"]
    t = {"image_id": np.array([a["image_id"] for a in anns], np.int64),
         "category_id": np.array([a["category_id"] for a in anns], np.int64),
         "bbox": np.array([a["bbox"] for a in anns], np.float64).reshape(-1,
                                                                         4),
         "iscrowd": np.array([a.get("iscrowd", 0) for a in anns], np.uint8),
         "area": np.array([a["area"] for a in anns], np.float64)}
    p = {"image_id": np.array([d["image_id"] for d in dt], np.int64),
         "category_id": np.array([d["category_id"] for d in dt], np.int64),
         "bbox": np.array([d["bbox"] for d in dt], np.float64).reshape(-1, 4),
         "score": np.array([d["score"] for d in dt], np.float64)}
    imgs = [im["id"] for im in gt["images"]]
    cats = {c["id"]: c["name"] for c in gt["categories"]}
    return t, p, imgs, cats


def pycoco(gt, dt, setup=None):
    with contextlib.redirect_stdout(io.StringIO()):
        g = PyCOCO(gt)
        d = g.loadRes(dt)
        e = PyCOCOeval(g, d, "bbox")
        if setup:
            setup(e.params)
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e


def same_coco(ck, r, e, what):
    ck.array_eq(r.stats, np.asarray(e.stats), what + ": stats")
    for k in ("precision", "recall", "scores"):
        ck.array_eq(getattr(r, k), e.eval[k], what + ": " + k)


def synth(tmp, name, opts):
    g = os.path.join(tmp, name + "-gt.json")
    pre = os.path.join(tmp, name)
    run(["synth", "--coco-gt", g, "--coco-dt-prefix", pre] + opts)
    return g, pre + "-model-a.json"


def test_coco(ck, cases):
    for what, g, d in cases:
        t, p, imgs, cats = arrays_of(g, d)
        r = detgrid.evaluate(t, p, image_ids=imgs, categories=cats)
        same_coco(ck, r, pycoco(g, d), what)
        ck.eq(list(r.category_ids), sorted(cats), what + ": category ids")
        ck.eq(r.stat_names[0], "AP", what + ": stat names")
        ck.ok(r.summary().splitlines()[0].startswith(
            " Average Precision  (AP) @[ IoU=0.50:0.95"), "summary")
        # Changed params, as pycocotools honours them.
        for pname, params in (("maxDets", {"maxDets": [1, 5, 50]}),
                              ("useCats", {"useCats": 0}),
                              ("iouThrs", {"iouThrs": [0.55, 0.7]}),
                              ("imgIds", {"imgIds": sorted(imgs)[::2]})):
            r2 = detgrid.evaluate(t, p, image_ids=imgs, categories=cats,
                                  params=params, grid=False)

            def setup(pp, params=params):
                for k, v in params.items():
                    setattr(pp, k, np.array(v) if k == "iouThrs" else v)
                if "imgIds" in params:
                    pp.imgIds = list(np.unique(pp.imgIds))
            same_coco(ck, r2, pycoco(g, d, setup), what + ", " + pname)


def test_grid(ck, tmp, g, d):
    """The lookups equal the CLI on the same data imported as JSON (the
    categories given in the file's order, as the import keeps it)."""
    t, p, imgs, cats = arrays_of(g, d)
    r = detgrid.evaluate(t, p, image_ids=imgs, categories=cats)
    proj = os.path.join(tmp, "grid.h5")
    run(["import", "coco", "--gt", g, "--dt", d, "--name", "preds", "-o",
         proj])
    run(["eval", proj, "-q"])

    def cli(*args):
        return run(list(args[:1]) + [proj] + list(args[1:]) +
                   ["--json"]).json()
    ck.eq(r.metrics(conf=0.3, iou=0.55), cli("metrics", "--conf", "0.3",
                                             "--iou", "0.55"), "metrics")
    ck.eq(r.confusion(conf=0.2, iou=0.5), cli("confusion", "--conf", "0.2",
                                              "--iou", "0.5"), "confusion")
    first = sorted(cats)[0]
    ck.eq(r.sweep(iou=0.75, category=first),
          cli("sweep", "--iou", "0.75", "--class", cats[first], "--format",
              "json"), "sweep of one category")
    ck.eq(r.frames(conf=0.4, sort="f1", limit=5),
          cli("frames", "--conf", "0.4", "--sort", "f1", "--limit", "5"),
          "frames")
    ck.eq(r.examples(("background", first), conf=0.5, limit=3),
          cli("examples", "--cell", "background,%s" % cats[first], "--conf",
              "0.5", "--limit", "3"), "examples")
    m, ign = r.confusion_matrix(conf=0.2, iou=0.5)
    ck.eq(m.tolist(), r.confusion(conf=0.2, iou=0.5)["matrix"],
          "confusion_matrix")
    c = r.counts(conf=0.3, iou=0.55)
    ck.eq(int(c["tp"].sum()),
          r.metrics(conf=0.3, iou=0.55)["overall"]["micro"]["tp"], "counts")
    ck.eq(r.eval_stats["device"], "reference", "the grid's device")


class Tensor:
    """What a CPU torch tensor offers numpy: __array__ only."""

    def __init__(self, a):
        self._a = np.asarray(a)

    def __array__(self, dtype=None, copy=None):
        return self._a if dtype is None else self._a.astype(dtype)

    def __len__(self):
        return len(self._a)


def xyxy(b):
    b = np.asarray(b, np.float64)
    return np.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]],
                    axis=1)


def test_forms(ck, g, d):
    t, p, imgs, cats = arrays_of(g, d)
    base = detgrid.evaluate(t, p, image_ids=imgs)
    # Boxes with sizes that are exact in binary: x + w - x == w.
    tt = dict(t, bbox=np.round(t["bbox"]))
    pp = dict(p, bbox=np.round(p["bbox"]))
    ref = detgrid.evaluate(tt, pp, image_ids=imgs, grid=False)
    for fmt, conv in (("xyxy", xyxy),
                      ("cxcywh", lambda b: np.stack(
                          [b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2,
                           b[:, 2], b[:, 3]], axis=1))):
        r = detgrid.evaluate(dict(tt, bbox=conv(tt["bbox"])),
                             dict(pp, bbox=conv(pp["bbox"])), image_ids=imgs,
                             box_format=fmt, grid=False)
        ck.array_eq(r.stats, ref.stats, "box format " + fmt)
    # __array__ objects and the other key names.
    r = detgrid.evaluate(
        {"image_ids": Tensor(t["image_id"]),
         "labels": Tensor(t["category_id"]),
         "boxes": Tensor(t["bbox"]), "iscrowd": Tensor(t["iscrowd"]),
         "area": Tensor(t["area"])},
        {"image_ids": Tensor(p["image_id"]),
         "labels": Tensor(p["category_id"]),
         "boxes": Tensor(p["bbox"]), "scores": Tensor(p["score"])},
        image_ids=imgs)
    ck.array_eq(r.stats, base.stats, "__array__ objects")
    ck.eq(r.metrics(conf=0.25), base.metrics(conf=0.25), "__array__: grid")

    # The Evaluator: torchmetrics' per-image dicts, in batches of 7 images.
    ev = detgrid.Evaluator()  # xyxy, as torchmetrics
    order = sorted(imgs)
    for i in range(0, len(order), 7):
        preds, targets = [], []
        for img in order[i:i + 7]:
            mt, mp = t["image_id"] == img, p["image_id"] == img
            targets.append({"boxes": Tensor(xyxy(tt["bbox"][mt])),
                            "labels": Tensor(t["category_id"][mt]),
                            "iscrowd": Tensor(t["iscrowd"][mt]),
                            "area": Tensor(t["area"][mt])})
            preds.append({"boxes": Tensor(xyxy(pp["bbox"][mp])),
                          "scores": Tensor(p["score"][mp]),
                          "labels": Tensor(p["category_id"][mp])})
        ev.update(preds, targets)
    r = ev.compute()
    ck.array_eq(r.stats, ref.stats, "Evaluator, per-image dicts")
    ck.eq(len(r.project.frame_ids), len(order), "Evaluator: every image")
    # Mappings with image ids, in two batches; reset() starts over.
    ev = detgrid.Evaluator(box_format="xywh")
    ev.update({"image_id": [1], "labels": [1], "boxes": [[0, 0, 5, 5]],
               "scores": [0.5]}, {"image_id": [1], "labels": [1],
                                  "boxes": [[9, 9, 5, 5]]})
    ev.reset()
    half = len(order) // 2
    for part in (order[:half], order[half:]):
        mt, mp = np.isin(t["image_id"], part), np.isin(p["image_id"], part)
        ev.update({k: v[mp] for k, v in p.items()},
                  {k: v[mt] for k, v in t.items()})
    r = ev.compute()
    ck.array_eq(r.stats, base.stats, "Evaluator, mappings")
    ck.eq(r.metrics(conf=0.25), base.metrics(conf=0.25), "Evaluator: grid")


def expect(ck, exc, fn, *needles, what=""):
    try:
        fn()
    except exc as e:
        ck.contains(str(e), *needles, what=what)
        return
    except Exception as e:
        ck.ok(False, "%s: raised %r, expected %s" % (what, e, exc.__name__))
        return
    ck.ok(False, "%s: nothing raised, expected %s" % (what, exc.__name__))


def test_bad(ck):
    t = {"image_id": [1, 1, 2], "category_id": [1, 2, 1],
         "bbox": [[0, 0, 10, 10], [5, 5, 10, 10], [1, 1, 4, 4]]}
    p = {"image_id": [1, 2], "category_id": [1, 1],
         "bbox": [[0, 0, 10, 10], [1, 1, 4, 4]], "score": [0.9, 0.8]}
    ok = detgrid.evaluate(t, p)
    ck.eq(float(ok.stats[0]), 0.5, "the good case")  # category 2 missed

    def bad(side, **kv):
        return lambda: detgrid.evaluate(
            dict(t, **kv) if side == "t" else t,
            dict(p, **kv) if side == "p" else p)
    expect(ck, detgrid.FormatError,
           bad("t", bbox=[[0, 0, 10, 10], [5, 5, -3, 10], [1, 1, 4, 4]]),
           "'targets': annotations[1]: field 'bbox': width is negative (-3)",
           what="negative width")
    # A score outside [0, 1] is kept (logits), a NaN one refused.
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        hi = detgrid.evaluate(t, dict(p, score=[0.9, 1.5]))
    ck.ok(any("outside [0, 1] (1.5), kept" in str(x.message) for x in w),
          "a score of 1.5: a warning")
    ck.eq(sum(c["tp"] for c in hi.metrics(conf=0.95)["classes"]), 1,
          "a score of 1.5 kept")
    expect(ck, detgrid.FormatError, bad("p", score=[0.9, np.nan]),
           "'preds': [1]: field 'score': not a finite number (nan)",
           what="score")
    expect(ck, detgrid.FormatError,
           bad("p", bbox=[[0, 0, 10, 10], [1, np.inf, 4, 4]]),
           "'preds': [1]: field 'bbox': y is not a finite number (inf)",
           what="inf")
    expect(ck, detgrid.FormatError, bad("t", iscrowd=[0, 3, 0]),
           "'targets': annotations[1]: field 'iscrowd': not 0 or 1 (3)",
           what="iscrowd")
    expect(ck, detgrid.FormatError, bad("t", iscrowd=[0, 0, -1]),
           "'targets': annotations[2]: field 'iscrowd': not 0 or 1 (-1)",
           what="negative iscrowd")
    r = detgrid.evaluate(dict(t, iscrowd=[False, True, False]), p)
    ck.eq(r.metrics()["classes"][1]["n_gt"], 0, "a crowd label as a bool")
    expect(ck, detgrid.FormatError,
           lambda: detgrid.evaluate(t, p, categories=[1]),
           "'targets': annotations[1]: field 'category_id': unknown "
           "category 2", what="category outside categories")
    expect(ck, detgrid.FormatError,
           lambda: detgrid.evaluate(t, p, image_ids=[1]),
           "field 'image_id': unknown image 2", what="image outside image_ids")
    expect(ck, KeyError, lambda: detgrid.evaluate(t, {"image_id": [1]}),
           "preds: no 'category_id' array", what="missing key")
    expect(ck, ValueError, bad("t", bbox=[[0, 0, 10], [5, 5, 10], [1, 1, 4]]),
           "N x 4", what="boxes of three columns")
    expect(ck, ValueError, bad("p", score=[0.9]), "'score'",
           what="scores of another length")
    expect(ck, TypeError, bad("t", image_id=[1.5, 1, 2]), "integers",
           what="fractional image ids")
    expect(ck, ValueError,
           lambda: detgrid.evaluate(t, p, box_format="yxhw"), "box_format",
           what="box format")
    expect(ck, detgrid.InvalidArgumentError,
           lambda: detgrid.evaluate(t, p, params={"maxDets": []}),
           "maxDets is empty", what="empty maxDets")
    expect(ck, detgrid.FormatError,
           lambda: detgrid.evaluate({"image_id": [], "category_id": [],
                                     "bbox": []},
                                    {"image_id": [], "category_id": [],
                                     "bbox": [], "score": []}),
           "'targets': field 'categories': no categories",
           what="nothing at all")
    # A FormatError is a ValueError and a detgrid.Error with its status.
    try:
        bad("p", score=[0.9, 1.5])()
    except ValueError as e:
        ck.ok(isinstance(e, detgrid.Error), "FormatError is a detgrid.Error")
        ck.eq(e.status_name, "EFORMAT", "status name")
        ck.eq(e.status, -4, "status")


def main():
    ck = Checker("test_python_arrays")
    with TempDir("dg-py-arrays-") as tmp:
        cases = [("seed 1", *synth(tmp, "s1", ["--seed", "1", "--frames",
                                                "80", "--classes", "6"])),
                 ("crowds, ties", *synth(tmp, "s2", [
                     "--seed", "2", "--frames", "60", "--crowd-rate", "0.5",
                     "--score-levels", "20", "--classes", "5"])),
                 ("> 100 per image", *synth(tmp, "s3", [
                     "--seed", "5", "--frames", "12", "--classes", "2",
                     "--objects", "40", "--low-score-fp", "250",
                     "--max-dets", "0", "--score-levels", "30"]))]
        test_coco(ck, cases)
        test_grid(ck, tmp, cases[1][1], cases[1][2])
        test_forms(ck, cases[0][1], cases[0][2])
        test_bad(ck)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
