"""Array-in evaluation for training loops: no JSON anywhere.

``detgrid.evaluate(targets, preds)`` takes two mappings of arrays (NumPy,
or anything with ``__array__``, so CPU torch tensors work):

=============  =======================================  ===================
key            what                                     side
=============  =======================================  ===================
image_id       N image ids (integers)                   both
category_id    N category ids (also ``labels``)         both
bbox           N x 4 boxes (also ``boxes``), in         both
               ``box_format`` (default x, y, w, h)
score          N confidences in [0, 1] (also            preds
               ``scores``)
iscrowd        N crowd flags (0/1)                      targets, optional
area           N areas for the COCO area ranges         targets, optional
               (default: w * h)
ignore         N ignore flags (0/1)                     targets, optional
=============  =======================================  ===================

It builds a project in memory (libdetgrid's array import, validated like a
COCO file), computes COCO's numbers exactly as pycocotools does and, with
``grid=True``, matches every detection at every IoU threshold of the grid
once, so that metrics(conf, iou), sweep(...) and confusion(...) are
lookups afterwards. The heavy calls release the GIL.

``detgrid.Evaluator`` is the accumulator for validation loops:
``update(preds, targets)`` per batch (torchmetrics' per-image lists of
dicts, or mappings as above), ``compute()`` at the end.
"""

import numpy as np

from . import _convert, _detgrid
from .project import COCO_STAT_NAMES, Project, coco_fields

_KEYS = {
    "image_id": ("image_id", "image_ids"),
    "category_id": ("category_id", "category_ids", "labels", "class_id",
                    "class_ids"),
    "bbox": ("bbox", "boxes"),
    "score": ("score", "scores"),
    "iscrowd": ("iscrowd",),
    "area": ("area",),
    "ignore": ("ignore",),
}

BOX_FORMATS = ("xywh", "xyxy", "cxcywh")


def _get(m, field, what, required):
    for k in _KEYS[field]:
        if k in m:
            return m[k]
    if required:
        raise KeyError("%s: no '%s' array (one of: %s)" %
                       (what, field, ", ".join(_KEYS[field])))
    return None


def to_xywh(boxes, box_format):
    """N x 4 boxes in box_format as x, y, w, h (float64)."""
    if box_format not in BOX_FORMATS:
        raise ValueError("box_format must be one of %s, not %r" %
                         (", ".join(BOX_FORMATS), box_format))
    b = _convert.boxes(boxes)
    if box_format == "xywh":
        return b
    out = b.copy()
    if box_format == "xyxy":
        out[:, 2] = b[:, 2] - b[:, 0]
        out[:, 3] = b[:, 3] - b[:, 1]
    else:
        out[:, 0] = b[:, 0] - b[:, 2] / 2
        out[:, 1] = b[:, 1] - b[:, 3] / 2
    return out


def _columns(m, what, labels, box_format):
    img = _convert.i64(np.asarray(_get(m, "image_id", what, True)).reshape(-1))
    cat = _convert.i64(np.asarray(_get(m, "category_id", what,
                                       True)).reshape(-1))
    n = len(img)
    if len(cat) != n:
        raise ValueError("%s: %d category ids for %d image ids" %
                         (what, len(cat), n))
    cols = {"image_id": img, "category_id": cat,
            "bbox": to_xywh(_get(m, "bbox", what, True), box_format)}
    if cols["bbox"].shape[0] != n:
        raise ValueError("%s: %d boxes for %d image ids" %
                         (what, cols["bbox"].shape[0], n))
    if labels:
        for k in ("iscrowd", "ignore"):
            v = _get(m, k, what, False)
            cols[k] = None if v is None else _convert.flags(
                np.asarray(v).reshape(-1), what, k)
        a = _get(m, "area", what, False)
        cols["area"] = None if a is None else _convert.f64(
            np.asarray(a).reshape(-1))
    else:
        cols["score"] = _convert.f64(np.asarray(_get(m, "score", what,
                                                     True)).reshape(-1))
    for k, v in cols.items():
        if v is not None and k != "bbox" and len(v) != n:
            raise ValueError("%s: %d values of '%s' for %d boxes" %
                             (what, len(v), k, n))
    return cols


def _params(params):
    """Changed COCO params as the C evaluation takes them: a dict with any
    of iou_thrs, rec_thrs, max_dets, area_rng, area_lbl, cat_ids, img_ids,
    use_cats (pycocotools' names work too)."""
    if params is None:
        return None
    alias = {"iouThrs": "iou_thrs", "recThrs": "rec_thrs",
             "maxDets": "max_dets", "areaRng": "area_rng",
             "areaRngLbl": "area_lbl", "catIds": "cat_ids",
             "imgIds": "img_ids", "useCats": "use_cats"}
    out = {}
    for k, v in params.items():
        k = alias.get(k, k)
        if k in ("iou_thrs", "rec_thrs", "area_rng"):
            out[k] = _convert.f64(np.asarray(v, dtype=np.float64).reshape(-1))
        elif k == "max_dets":
            out[k] = np.ascontiguousarray(sorted(int(x) for x in v),
                                          dtype=np.int64)
        elif k in ("cat_ids", "img_ids"):
            out[k] = _convert.i64(np.asarray(v).reshape(-1))
        elif k == "area_lbl":
            out[k] = list(v)
        elif k == "use_cats":
            out[k] = bool(v)
        else:
            raise KeyError("unknown COCO param '%s'" % k)
    return out


def evaluate(targets, preds, *, box_format="xywh", categories=None,
             image_ids=None, iou_thresholds=None, grid=True, coco=True,
             params=None, device=None, threads=0):
    """Evaluates preds against targets (mappings of arrays, see the module
    doc) and returns an EvalResult.

    categories: the category ids (a list), or a mapping id -> name; by
    default every id seen on either side. image_ids: every image (images
    without boxes count for frame-level figures); by default every id seen
    on either side. iou_thresholds: the grid (default 0.05:0.95:0.05);
    grid=False skips it (COCO's numbers only), coco=False skips COCO.
    params: changed COCO params (iouThrs, maxDets, areaRng, catIds, imgIds,
    useCats, ... as pycocotools names them). device: "auto", "gpu", "cpu",
    "ref".
    """
    if device is None or not device.startswith("ref"):
        _convert.warm_devices()
    gt = _columns(targets, "targets", True, box_format)
    dt = _columns(preds, "preds", False, box_format)
    if image_ids is None:
        imgs = np.unique(np.concatenate([gt["image_id"], dt["image_id"]]))
    else:
        imgs = np.unique(_convert.i64(np.asarray(image_ids).reshape(-1)))
    names = None
    if categories is None:
        cats = np.unique(np.concatenate([gt["category_id"],
                                         dt["category_id"]]))
    elif isinstance(categories, dict):
        cats = _convert.i64(list(categories.keys()))
        names = [str(v) for v in categories.values()]
    else:
        cats = _convert.i64(np.asarray(categories).reshape(-1))
    p = _detgrid.Project()
    if device is not None:
        p.set_device(device)
    if threads:
        p.set_threads(int(threads))
    p.import_arrays("targets", None, False, gt["image_id"],
                    gt["category_id"], gt["bbox"], None, gt["area"],
                    gt["iscrowd"], gt["ignore"], imgs, None, None, cats,
                    names)
    p.import_arrays("preds", "preds", False, dt["image_id"],
                    dt["category_id"], dt["bbox"], dt["score"], None, None,
                    None, None, None, None, None, None)
    c = p.coco("preds", False, False, int(threads), _params(params)) \
        if coco else None
    ev = None
    if grid:
        thr = (_detgrid.parse_iou(None) if iou_thresholds is None else
               iou_thresholds if not isinstance(iou_thresholds, str) else
               _detgrid.parse_iou(iou_thresholds))
        ev = p.eval("preds", _convert.f64(np.atleast_1d(thr)))
    return EvalResult(p, c, ev)


class EvalResult:
    """What evaluate() computed.

    stats: the 12 COCO numbers (pycocotools' order, names in stat_names);
    category_ids, ap, ap50, ap75, ar100: per category; precision, recall,
    scores: COCOeval.eval's arrays. metrics(conf, iou), sweep(...),
    confusion(...), examples(...), frames(...) answer from the stored grid
    (their results are those of detgrid.Project's queries); ``project`` is
    the in-memory project itself.
    """

    stat_names = tuple(COCO_STAT_NAMES)

    def __init__(self, handle, coco, eval_stats):
        self.project = Project(_handle=handle)
        self.eval_stats = eval_stats
        self._coco = None if coco is None else coco_fields(coco)

    def _c(self):
        if self._coco is None:
            raise AttributeError("evaluated with coco=False")
        return self._coco

    @property
    def stats(self):
        return self._c()["stats"]

    @property
    def category_ids(self):
        return self._c()["category_ids"]

    @property
    def ap(self):
        return self._c()["ap"]

    @property
    def ap50(self):
        return self._c()["ap50"]

    @property
    def ap75(self):
        return self._c()["ap75"]

    @property
    def ar100(self):
        return self._c()["ar100"]

    @property
    def precision(self):
        return self._c()["precision"]

    @property
    def recall(self):
        return self._c()["recall"]

    @property
    def scores(self):
        return self._c()["scores"]

    @property
    def coco(self):
        """Every field of the COCO evaluation (parameters, timings,
        device) as a dict."""
        return self._c()

    def as_dict(self):
        """The 12 stats by name, and mAP per category id."""
        d = {n: float(v) for n, v in zip(self.stat_names, self.stats)}
        d["per_category"] = {int(k): float(a) for k, a in
                             zip(self.category_ids, self.ap)}
        return d

    def summary(self):
        """pycocotools' twelve summarize() lines."""
        return "\n".join("%s = %0.3f" % (_detgrid.coco_stat_label(i), v)
                         for i, v in enumerate(self.stats))

    def __repr__(self):
        if self._coco is None:
            return "<detgrid.EvalResult (grid only)>"
        return "<detgrid.EvalResult AP=%.4f AP50=%.4f>" % (self.stats[0],
                                                          self.stats[1])

    def _grid(self):
        if self.eval_stats is None:
            raise AttributeError("evaluated with grid=False: no metrics, "
                                 "sweeps or confusion matrices")

    def metrics(self, conf=0.1, iou=0.5, segment=None):
        self._grid()
        return self.project.metrics("preds", conf=conf, iou=iou,
                                    segment=segment)

    def counts(self, conf=0.1, iou=0.5):
        """Per-category (tp, fp, fn, n_gt, n_det) as a structured array,
        in category id order."""
        self._grid()
        return self.project.counts_array("preds", conf=conf, iou=iou)

    def sweep(self, iou=0.5, category=None, step=None, best=False):
        self._grid()
        cls = None if category is None else self._cls(category)
        return self.project.sweep("preds", iou=iou, cls=cls, step=step,
                                  best=best)

    def confusion(self, conf=0.1, iou=0.5, normalize="none"):
        self._grid()
        return self.project.confusion("preds", conf=conf, iou=iou,
                                      normalize=normalize)

    def confusion_matrix(self, conf=0.1, iou=0.5):
        """The (K + 1) x (K + 1) matrix [gt][pred] (categories in id order,
        background last) as a NumPy array, and the ignored detections."""
        self._grid()
        return self.project.confusion_array("preds", conf=conf, iou=iou)

    def examples(self, cell, conf=0.1, iou=0.5, **kw):
        self._grid()
        cell = tuple(x if x == "background" else self._cls(x) for x in cell)
        return self.project.examples(cell, "preds", conf=conf, iou=iou, **kw)

    def frames(self, conf=0.1, iou=0.5, **kw):
        self._grid()
        return self.project.frames("preds", conf=conf, iou=iou, **kw)

    def _cls(self, category):
        """A category id (int) or name to the class index."""
        if isinstance(category, str):
            return category
        ids = list(self.project.class_ids)
        if int(category) not in ids:
            raise KeyError("no category %d" % int(category))
        return ids.index(int(category))


def _per_image(lst, what):
    """torchmetrics' form: a list of one dict per image."""
    return isinstance(lst, (list, tuple)) and (not lst or
                                               isinstance(lst[0], dict))


class Evaluator:
    """An accumulator for validation loops (torchmetrics' shape)::

        ev = detgrid.Evaluator(box_format="xyxy")
        for images, targets in loader:
            preds = model(images)
            ev.update(preds, targets)     # lists of per-image dicts
        result = ev.compute()             # a detgrid.EvalResult
        print(result.stats[0])            # mAP@[.5:.95]

    update() takes torchmetrics' lists of per-image dicts (preds: boxes,
    scores, labels; targets: boxes, labels and optionally iscrowd, area),
    each image getting the next image id, or mappings of arrays as
    evaluate() takes them (with image ids). box_format defaults to
    torchmetrics' "xyxy"; the other options are evaluate()'s.
    """

    def __init__(self, box_format="xyxy", **options):
        if box_format not in BOX_FORMATS:
            raise ValueError("box_format must be one of %s" %
                             ", ".join(BOX_FORMATS))
        self.box_format = box_format
        self.options = options
        self.reset()

    def reset(self):
        self._gt, self._dt, self._images = [], [], []
        self._next_image = 0

    def update(self, preds, targets):
        if _per_image(preds, "preds") and _per_image(targets, "targets"):
            if len(preds) != len(targets):
                raise ValueError("update: %d prediction dicts for %d target "
                                 "dicts" % (len(preds), len(targets)))
            for p, t in zip(preds, targets):
                img = self._next_image
                self._next_image += 1
                self._images.append(img)
                self._add(p, t, img)
            return
        gt = _columns(targets, "targets", True, self.box_format)
        dt = _columns(preds, "preds", False, self.box_format)
        self._gt.append(gt)
        self._dt.append(dt)
        self._images.extend(np.unique(np.concatenate(
            [gt["image_id"], dt["image_id"]])).tolist())

    def _add(self, p, t, img):
        nt = len(np.asarray(_get(t, "category_id", "targets", True))
                 .reshape(-1))
        npd = len(np.asarray(_get(p, "category_id", "preds", True))
                  .reshape(-1))
        tt = dict(t)
        tt["image_id"] = np.full(nt, img, np.int64)
        pp = dict(p)
        pp["image_id"] = np.full(npd, img, np.int64)
        self._gt.append(_columns(tt, "targets", True, self.box_format))
        self._dt.append(_columns(pp, "preds", False, self.box_format))

    @staticmethod
    def _cat(parts, key, dtype, width=None):
        if any(x[key] is None for x in parts):
            if all(x[key] is None for x in parts):
                return None
            # Some batches gave it, some not: the defaults fill in.
            fill = {"iscrowd": 0, "ignore": 0}
            out = []
            for x in parts:
                v = x[key]
                if v is None:
                    n = len(x["image_id"])
                    v = (x["bbox"][:, 2] * x["bbox"][:, 3] if key == "area"
                         else np.full(n, fill[key], dtype))
                out.append(v)
            return np.ascontiguousarray(np.concatenate(out), dtype=dtype)
        if not parts:
            return np.zeros((0, width) if width else 0, dtype)
        return np.ascontiguousarray(np.concatenate([x[key] for x in parts]),
                                    dtype=dtype)

    def compute(self):
        """Evaluates everything added since the last reset()."""
        gt = {"image_id": self._cat(self._gt, "image_id", np.int64),
              "category_id": self._cat(self._gt, "category_id", np.int64),
              "bbox": self._cat(self._gt, "bbox", np.float64, 4),
              "iscrowd": self._cat(self._gt, "iscrowd", np.uint8),
              "area": self._cat(self._gt, "area", np.float64),
              "ignore": self._cat(self._gt, "ignore", np.uint8)}
        dt = {"image_id": self._cat(self._dt, "image_id", np.int64),
              "category_id": self._cat(self._dt, "category_id", np.int64),
              "bbox": self._cat(self._dt, "bbox", np.float64, 4),
              "score": self._cat(self._dt, "score", np.float64)}
        gt = {k: v for k, v in gt.items() if v is not None}
        opts = dict(self.options)
        if "image_ids" not in opts:
            opts["image_ids"] = np.asarray(self._images, np.int64)
        return evaluate(gt, dt, box_format="xywh", **opts)
