"""pycocotools' COCOeval (iouType 'bbox', 'segm', 'keypoints'; and
faster-coco-eval's 'boundary'), bit for bit.

evaluate() runs detgrid's COCO evaluation in C (the GIL released) with the
params as they stand, normalised as pycocotools' evaluate() normalises
them; accumulate() hands out its precision, recall and scores arrays
(pycocotools' shapes, NumPy arrays over the C result's memory);
summarize() prints pycocotools' twelve lines from them with numpy, so that
every lookup quirk of pycocotools' summarize() is kept.

``cocoGt`` and ``cocoDt`` may be detgrid COCO objects or pycocotools' own
(anything with a ``dataset`` dict): the latter are read into a project once.

Masks and keypoints are read by detgrid's COCO importer (a dict or a list
of results that holds them goes through a temporary JSON file). Not
provided (docs/PYTHON.md): evalImgs and ious (the per-image dicts pycocotools keeps; detgrid never builds
them). accumulate(p) with params other than those evaluated evaluates
again with p, which agrees with pycocotools whenever p selects a subset of
what was evaluated.
"""

import copy
import datetime
import time

import numpy as np

from . import _convert
from .coco import COCO


class Params:
    """pycocotools' Params: the same fields and defaults."""

    def _thresholds(self):
        self.imgIds = []
        self.catIds = []
        # numpy.linspace, as pycocotools: the ninth threshold is
        # 0.8999999999999999, not 0.9.
        self.iouThrs = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05))
                                   + 1, endpoint=True)
        self.recThrs = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01))
                                   + 1, endpoint=True)

    def setDetParams(self):
        self._thresholds()
        self.maxDets = [1, 10, 100]
        self.areaRng = [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2],
                        [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
        self.areaRngLbl = ["all", "small", "medium", "large"]
        self.useCats = 1

    def setKpParams(self):
        self._thresholds()
        self.maxDets = [20]
        self.areaRng = [[0 ** 2, 1e5 ** 2], [32 ** 2, 96 ** 2],
                        [96 ** 2, 1e5 ** 2]]
        self.areaRngLbl = ["all", "medium", "large"]
        self.useCats = 1
        self.kpt_oks_sigmas = np.array(
            [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07,
             1.07, .87, .87, .89, .89]) / 10.0

    def __init__(self, iouType="segm"):
        if iouType in ("segm", "bbox", "boundary"):
            self.setDetParams()
        elif iouType == "keypoints":
            self.setKpParams()
        else:
            raise Exception("iouType not supported")
        self.iouType = iouType
        self.useSegm = None


def _int_list(values, what):
    a = np.asarray(values)
    if a.size and a.dtype.kind == "f" and not np.all(a == np.floor(a)):
        raise TypeError("%s: integers expected" % what)
    return np.ascontiguousarray(a, dtype=np.int64).reshape(-1)


def _params_dict(p):
    """The params as the C evaluation takes them."""
    area = np.ascontiguousarray(np.asarray(p.areaRng, dtype=np.float64)
                                .reshape(-1))
    return {
        "iou_thrs": np.ascontiguousarray(np.asarray(p.iouThrs,
                                                    dtype=np.float64)
                                         .reshape(-1)),
        "rec_thrs": np.ascontiguousarray(np.asarray(p.recThrs,
                                                    dtype=np.float64)
                                         .reshape(-1)),
        "max_dets": _int_list(p.maxDets, "maxDets"),
        "area_rng": area,
        "area_lbl": [x if isinstance(x, str) else None
                     for x in list(p.areaRngLbl)],
        "cat_ids": _int_list(p.catIds, "catIds"),
        "img_ids": _int_list(p.imgIds, "imgIds"),
        "use_cats": bool(p.useCats),
        "iou_type": p.iouType,
        "kpt_sigmas": ([float(x) for x in np.asarray(p.kpt_oks_sigmas,
                                                     np.float64).reshape(-1)]
                       if p.iouType == "keypoints" and
                       hasattr(p, "kpt_oks_sigmas") else None),
    }


def _same_params(a, b):
    """Whether two params ask for the same evaluation."""
    da, db = _params_dict(a), _params_dict(b)
    if da["use_cats"] != db["use_cats"] or da["iou_type"] != db["iou_type"] \
            or da["kpt_sigmas"] != db["kpt_sigmas"]:
        return False
    for k in ("iou_thrs", "rec_thrs", "max_dets", "area_rng", "img_ids"):
        if not np.array_equal(da[k], db[k]):
            return False
    return not da["use_cats"] or np.array_equal(da["cat_ids"],
                                                db["cat_ids"])


def _copy_params(p):
    """copy.deepcopy(p), as pycocotools keeps _paramsEval, without
    deep-copying the thousands of immutable ids in it: lists and arrays
    are copied, their numbers shared."""
    q = copy.copy(p)
    for k, v in vars(p).items():
        if isinstance(v, np.ndarray):
            setattr(q, k, v.copy())
        elif isinstance(v, list):
            setattr(q, k, [list(x) if isinstance(x, list) else
                           x.copy() if isinstance(x, np.ndarray) else x
                           for x in v])
        elif not isinstance(v, (int, float, str, type(None))):
            setattr(q, k, copy.deepcopy(v))
    return q


class COCOeval:
    """pycocotools.cocoeval.COCOeval for boxes."""

    def __init__(self, cocoGt=None, cocoDt=None, iouType="segm"):
        if not iouType:
            print("iouType not specified. use default iouType segm")
        self.cocoGt = cocoGt
        self.cocoDt = cocoDt
        self.eval = {}
        self.params = Params(iouType=iouType)
        self._paramsEval = {}
        self.stats = []
        self._result = None
        self._inputs = None
        if cocoGt is not None:
            self.params.imgIds = sorted(cocoGt.getImgIds())
            self.params.catIds = sorted(cocoGt.getCatIds())

    # ---- the inputs as a project and an inference set ------------------

    def _project_and_set(self, shapes):
        """The project and inference set to evaluate; shapes: masks and
        keypoints are needed (any iouType but 'bbox')."""
        gt, dt = self.cocoGt, self.cocoDt
        key = (id(gt), id(dt), shapes)
        if self._inputs is not None and self._inputs[0] == key:
            return self._inputs[1], self._inputs[2]
        if isinstance(gt, COCO):
            proj = gt._project(shapes)
        else:
            # pycocotools' COCO (or anything with its dataset dict).
            proj = _convert.project_from_dataset(gt.dataset, shapes=shapes)
        if isinstance(dt, COCO):
            name, fin = dt._result_set(proj, shapes)
        else:
            name = "pycocotools-results"
            anns = dt.dataset["annotations"]
            if shapes:
                _convert.import_records_json(
                    proj, name, _convert.unload_res(anns), replace=True)
            else:
                cols = _convert.detection_columns(anns)
                _convert.import_detections(proj, name, cols, replace=True)
            fin = None
        # The references keep both alive as long as this evaluator.
        self._inputs = (key, proj, name, gt, dt, fin)
        return proj, name

    def _run(self, p):
        if p.iouType not in ("bbox", "segm", "boundary", "keypoints"):
            raise ValueError("iouType: bbox, segm, boundary or keypoints, "
                             "not %r" % (p.iouType,))
        proj, name = self._project_and_set(p.iouType != "bbox")
        return proj.coco(name, False, False, 0, _params_dict(p))

    # ---- pycocotools' three steps ---------------------------------------

    def evaluate(self):
        tic = time.time()
        print("Running per image evaluation...")
        p = self.params
        if p.useSegm is not None:
            p.iouType = "segm" if p.useSegm == 1 else "bbox"
            print("useSegm (deprecated) is not None. Running {} evaluation"
                  .format(p.iouType))
        print("Evaluate annotation type *{}*".format(p.iouType))
        p.imgIds = list(np.unique(p.imgIds))
        if p.useCats:
            p.catIds = list(np.unique(p.catIds))
        p.maxDets = sorted(p.maxDets)
        self.params = p
        self._result = self._run(p)
        self._paramsEval = _copy_params(self.params)
        print("DONE (t={:0.2f}s).".format(time.time() - tic))

    def accumulate(self, p=None):
        print("Accumulating evaluation results...")
        tic = time.time()
        if self._result is None:
            print("Please run evaluate() first")
            raise RuntimeError("Please run evaluate() first")
        if p is None:
            p = self.params
        result = self._result
        if not _same_params(p, self._paramsEval):
            result = self._run(p)
        p.catIds = p.catIds if p.useCats == 1 else [-1]
        f = result.fields()
        T, R, K, A, M = f["T"], f["R"], f["K"], f["A"], f["M"]
        self.eval = {
            "params": p,
            "counts": [T, R, K, A, M],
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "precision": np.frombuffer(f["precision"], np.float64)
            .reshape(T, R, K, A, M),
            "recall": np.frombuffer(f["recall"], np.float64)
            .reshape(T, K, A, M),
            "scores": np.frombuffer(f["scores"], np.float64)
            .reshape(T, R, K, A, M),
        }
        self._fields = f
        print("DONE (t={:0.2f}s).".format(time.time() - tic))

    def _summarize(self, ap=1, iouThr=None, areaRng="all", maxDets=100):
        p = self.params
        line = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = " \
               "{:0.3f}"
        title = "Average Precision" if ap == 1 else "Average Recall"
        kind = "(AP)" if ap == 1 else "(AR)"
        iou = ("{:0.2f}:{:0.2f}".format(p.iouThrs[0], p.iouThrs[-1])
               if iouThr is None else "{:0.2f}".format(iouThr))
        aind = [i for i, lbl in enumerate(p.areaRngLbl) if lbl == areaRng]
        mind = [i for i, m in enumerate(p.maxDets) if m == maxDets]
        s = self.eval["precision"] if ap == 1 else self.eval["recall"]
        if iouThr is not None:
            s = s[np.where(iouThr == p.iouThrs)[0]]
        s = s[..., aind, mind]
        kept = s[s > -1]
        mean = -1 if len(kept) == 0 else np.mean(kept)
        print(line.format(title, kind, iou, areaRng, maxDets, mean))
        return mean

    def summarize(self):
        if not self.eval:
            raise Exception("Please run accumulate() first")
        if self.params.iouType == "keypoints":
            stats = np.zeros((10,))
            stats[0] = self._summarize(1, maxDets=20)
            stats[1] = self._summarize(1, maxDets=20, iouThr=.5)
            stats[2] = self._summarize(1, maxDets=20, iouThr=.75)
            stats[3] = self._summarize(1, maxDets=20, areaRng="medium")
            stats[4] = self._summarize(1, maxDets=20, areaRng="large")
            stats[5] = self._summarize(0, maxDets=20)
            stats[6] = self._summarize(0, maxDets=20, iouThr=.5)
            stats[7] = self._summarize(0, maxDets=20, iouThr=.75)
            stats[8] = self._summarize(0, maxDets=20, areaRng="medium")
            stats[9] = self._summarize(0, maxDets=20, areaRng="large")
            self.stats = stats
            return
        md = self.params.maxDets
        stats = np.zeros((12,))
        stats[0] = self._summarize(1)
        stats[1] = self._summarize(1, iouThr=.5, maxDets=md[2])
        stats[2] = self._summarize(1, iouThr=.75, maxDets=md[2])
        stats[3] = self._summarize(1, areaRng="small", maxDets=md[2])
        stats[4] = self._summarize(1, areaRng="medium", maxDets=md[2])
        stats[5] = self._summarize(1, areaRng="large", maxDets=md[2])
        stats[6] = self._summarize(0, maxDets=md[0])
        stats[7] = self._summarize(0, maxDets=md[1])
        stats[8] = self._summarize(0, maxDets=md[2])
        stats[9] = self._summarize(0, areaRng="small", maxDets=md[2])
        stats[10] = self._summarize(0, areaRng="medium", maxDets=md[2])
        stats[11] = self._summarize(0, areaRng="large", maxDets=md[2])
        self.stats = stats

    def __str__(self):
        self.summarize()
        return ""

    @property
    def evalImgs(self):
        raise AttributeError(
            "detgrid's COCOeval keeps no per-image dicts (evalImgs); use "
            "detgrid.Project(...).frames() or examples() for per-image "
            "results")

    @property
    def ious(self):
        raise AttributeError("detgrid's COCOeval keeps no IoU matrices "
                             "(ious)")
