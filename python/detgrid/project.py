"""detgrid.Project: a project file (or one in memory) and every query of
the CLI, answered from the stored grid.

Each query returns what ``detgrid <query> --json`` prints, as plain Python
(dicts, lists, numbers; ``None`` where the CLI prints ``null``), so code can
move between the two; ``tests/test_python_project.py`` checks every one
against the CLI. Arrays that are columns of the results (sweeps, frame
counts, the confusion matrix) are also available as NumPy arrays through
the ``*_arrays`` methods, without copies.

The heavy calls release the GIL; a project may be used from several
threads (calls on one project run one at a time, calls on two projects at
once). Library failures raise detgrid.Error subclasses with the library's
message.
"""

import math
import os
import threading
import warnings

import numpy as np

from . import _convert, _detgrid
from ._errors import InvalidArgumentError, NotFoundError

COUNTS = np.dtype([("tp", "<u8"), ("fp", "<u8"), ("fn", "<u8"),
                   ("n_gt", "<u8"), ("n_det", "<u8")])
SWEEP = np.dtype([("conf", "<f8"), ("tp", "<u8"), ("fp", "<u8"),
                  ("fn", "<u8")])
FRAME_COUNTS = np.dtype([("tp", "<u4"), ("fp", "<u4"), ("fn", "<u4"),
                         ("n_gt", "<u4"), ("n_det", "<u4")])

TIDE_TYPES = _detgrid.enum_names("tide")
LABEL_ERROR_KINDS = _detgrid.enum_names("label_errors")
COCO_STAT_NAMES = _detgrid.enum_names("coco_stats")


class DetgridWarning(UserWarning):
    """A warning of the library (a fallback, a skipped record)."""


IOU_TYPES = ("bbox", "segm", "boundary", "keypoints")


def _iou_type_index(t):
    if t not in IOU_TYPES:
        raise InvalidArgumentError("iou_type must be bbox, segm, boundary or "
                                   "keypoints, not %r" % (t,))
    return IOU_TYPES.index(t)


def num(v):
    """A float as the CLI's JSON has it: None for NaN and infinities."""
    v = float(v)
    return v if math.isfinite(v) else None


def prf(tp, fp, fn, n_gt):
    """dg_counts_prf: precision, recall and F1; NaN where undefined."""
    tpf = float(tp)
    p = tpf / float(tp + fp) if tp + fp else math.nan
    r = tpf / float(n_gt) if n_gt else math.nan
    den = 2 * tp + fp + fn
    f = 2 * tpf / float(den) if den else math.nan
    return p, r, f


def prf_dict(m, into=None):
    d = into if into is not None else {}
    d["precision"], d["recall"], d["f1"] = num(m[0]), num(m[1]), num(m[2])
    return d


class Averages:
    """The CLI's micro and macro averages (tools/cli.c cli_avg): counts
    summed; precision, recall and F1 averaged, in class order, over the
    classes where each is defined."""

    def __init__(self):
        self.tp = self.fp = self.fn = self.n_gt = self.n_det = 0
        self.sum = [0.0, 0.0, 0.0]
        self.n = [0, 0, 0]

    def add(self, tp, fp, fn, n_gt, n_det=0):
        m = prf(tp, fp, fn, n_gt)
        self.tp += tp
        self.fp += fp
        self.fn += fn
        self.n_gt += n_gt
        self.n_det += n_det
        for i in range(3):
            if not math.isnan(m[i]):
                self.sum[i] += m[i]
                self.n[i] += 1
        return m

    def micro(self):
        return prf(self.tp, self.fp, self.fn, self.n_gt)

    def macro(self):
        return tuple(self.sum[i] / self.n[i] if self.n[i] else math.nan
                     for i in range(3))

    def overall(self):
        micro = {"tp": self.tp, "fp": self.fp, "fn": self.fn}
        prf_dict(self.micro(), micro)
        return {"micro": micro, "macro": prf_dict(self.macro())}


def box(b):
    return [num(x) for x in b]


def devices():
    """``detgrid devices --json``: the OpenCL devices, with the selector
    ("P.D") that set_device takes."""
    out = []
    for (pl, dv, pname, name, kind, version, driver, fp64, avail, _, _,
         mem, alloc, cu) in _detgrid.devices():
        out.append({"selector": "%d.%d" % (pl, dv), "platform": pname,
                    "name": name, "type": kind, "version": version,
                    "driver": driver, "fp64": bool(fp64),
                    "usable": bool(fp64 and avail), "global_mem": mem,
                    "max_alloc": alloc, "compute_units": cu})
    return out


class Project:
    """A detgrid project: ``Project(path)`` opens a file, ``Project()``
    starts an empty one in memory."""

    def __init__(self, path=None, *, device=None, _handle=None):
        self._lock = threading.RLock()
        self._iou_type = "bbox"
        if _handle is not None:
            self._p = _handle
            self.path = path
        else:
            self.path = None if path is None else os.fspath(path)
            self._p = _detgrid.Project(self.path)
        if device is not None:
            self._p.set_device(device)
        self._warn()

    # ---- housekeeping -----------------------------------------------------

    def _warn(self):
        w = self._p.take_warnings()
        for line in w.splitlines():
            if line:
                warnings.warn(line, DetgridWarning, stacklevel=3)

    def close(self):
        """Frees the project now (queries afterwards raise)."""
        self._p.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def set_device(self, spec=None, fallback=True):
        """Where eval and the device-capable analyses run: "auto", "gpu",
        "cpu", "ref", optionally ":P.D" or ":name" (None: DETGRID_DEVICE,
        else auto). fallback=False makes a device failure an error."""
        self._p.set_device(spec, fallback)

    def set_threads(self, n):
        """Worker threads of the reference path and the store (0: one per
        processor)."""
        self._p.set_threads(int(n))

    # ---- what it holds ----------------------------------------------------

    @property
    def classes(self):
        return self._p.names("classes")

    @property
    def class_ids(self):
        return np.frombuffer(self._p.ids("classes"), np.int64)

    @property
    def frame_ids(self):
        return self._p.names("frames")

    @property
    def image_ids(self):
        """Each frame's COCO image id (-1 where it has none)."""
        return np.frombuffer(self._p.ids("frames"), np.int64)

    @property
    def inference_sets(self):
        return self._p.names("inferences")

    def segments(self):
        """[{name, kind, frames (ascending indices), meta, targets}]."""
        out = []
        for name, kind, frames, meta, t in self._p.segments():
            keys = ("precision", "recall", "f1", "ap", "conf", "iou")
            out.append({
                "name": name, "kind": kind,
                "frames": (None if frames is None else
                           np.frombuffer(frames, np.uint32)),
                "meta": meta,
                "targets": {k: num(v) for k, v in zip(keys, t)}})
        return out

    def info(self):
        """What ``detgrid info --json`` prints."""
        with self._lock:
            i = self._p.info()
            sets = []
            for name in self.inference_sets:
                o = {"name": name,
                     "detections": self._p.inference_size(name)}
                try:
                    r = self._p.results(name).info()
                    o["iou_thresholds"] = [num(x) for x in r["iou"]]
                    o["evaluated_on"] = r["device"]
                except Exception as e:
                    o["iou_thresholds"] = None
                    o["results"] = str(e)
                sets.append(o)
            segs = [{"name": s["name"], "kind": s["kind"],
                     "frames": None if s["frames"] is None
                     else len(s["frames"])}
                    for s in self.segments()]
        return {"file": self.path, "format_version": i["format_version"],
                "classes": i["classes"], "frames": i["frames"],
                "labels": i["labels"], "default_conf": num(i["default_conf"]),
                "default_iou": num(i["default_iou"]),
                "class_names": self.classes, "metadata": i["metadata"],
                "images_dir": i["images_dir"], "inferences": sets,
                "segments": segs}

    def defaults(self):
        """The project's default (conf, iou)."""
        i = self._p.info()
        return i["default_conf"], i["default_iou"]

    def set_defaults(self, conf, iou):
        self._p.set_defaults(float(conf), float(iou))

    # ---- changing it ------------------------------------------------------

    def import_coco(self, gt=None, dt=None, name=None, replace=False):
        """COCO instances (gt, into an empty project) and/or results (dt,
        as inference set name; default: the file's stem)."""
        with self._lock:
            if gt is not None:
                self._p.import_coco(os.fspath(gt))
            if dt is not None:
                if name is None:
                    name = os.path.splitext(os.path.basename(
                        os.fspath(dt)))[0]
                self._p.import_coco(os.fspath(dt), name, bool(replace))
        self._warn()

    def add_inferences(self, name, image_id, category_id, bbox, score,
                       replace=False):
        """Detections from arrays (bbox N x 4 as x, y, w, h) as inference
        set name."""
        cols = {"image_id": image_id, "category_id": category_id,
                "bbox": bbox, "score": score}
        with self._lock:
            _convert.import_detections(self._p, name, cols, "arrays",
                                       bool(replace))
        self._warn()

    def remove_inferences(self, name):
        self._p.remove_inferences(name)

    def save(self, path=None):
        """Writes the project atomically to path (default: where it was
        opened)."""
        dest = path if path is not None else self.path
        if dest is None:
            raise InvalidArgumentError("save: the project has no path; "
                                       "give one")
        self._p.save(os.fspath(dest))
        if self.path is None:
            self.path = os.fspath(dest)

    @property
    def iou_type(self):
        """The IoU type every query reads: "bbox" (default), "segm",
        "boundary" or "keypoints" (as the CLI's ``--iou-type``). Set it to
        query the results ``eval(iou_type=...)`` stored for that type."""
        return self._iou_type

    @iou_type.setter
    def iou_type(self, t):
        k = _iou_type_index(t)
        with self._lock:
            self._p.set_iou_type(k)
        self._iou_type = IOU_TYPES[k]

    def eval(self, inferences=None, iou=None, save=None, memory_budget=0,
             iou_type="bbox"):
        """The heavy step, as ``detgrid eval --json``: every inference set
        (or those named) at the IoU thresholds (a list, a spec such as
        "0.05:0.95:0.05", default the 19 of 0.05:0.95:0.05), on boxes or
        (iou_type) masks, boundaries or keypoints, each type's results
        stored beside the others. The results are saved to the project's
        file when it has one (save=False keeps them in memory;
        save="other.h5" writes there)."""
        kind = _iou_type_index(iou_type)
        names = self._pick_sets(inferences)
        if iou is None or isinstance(iou, str):
            thr = _detgrid.parse_iou(iou)
        else:
            thr = [float(x) for x in np.atleast_1d(iou)]
        evals = []
        with self._lock:
            for name in names:
                s = self._p.eval(name, _convert.f64(thr),
                                 int(memory_budget), kind)
                self._warn()
                evals.append({
                    "inferences": name,
                    "detections": self._p.inference_size(name),
                    "iou_thresholds": len(thr), "device": s["device"],
                    "load_s": s["load_s"], "match_s": s["match_s"],
                    "accumulate_s": s["accumulate_s"],
                    "total_s": s["total_s"], "ranks": 1})
            out = {"evaluations": evals}
            dest = self.path if save is None or save is True else save
            if save is not False and dest is not None:
                import time
                t0 = time.perf_counter()
                self.save(dest)
                out["store_s"] = time.perf_counter() - t0
        return out

    def _pick_sets(self, inferences):
        sets = self.inference_sets
        if inferences is None or inferences == "all":
            if not sets:
                raise NotFoundError("the project has no inference sets to "
                                    "evaluate")
            return sets
        names = [inferences] if isinstance(inferences, str) else \
            list(inferences)
        for n in names:
            if n not in sets:
                raise NotFoundError("no inference set '%s'" % n)
        return names

    def _pick(self, inferences):
        """The CLI's choice: the set named, or the only one."""
        sets = self.inference_sets
        if inferences is not None:
            if inferences not in sets:
                raise NotFoundError("no inference set '%s' in the project" %
                                    inferences)
            return inferences
        if len(sets) == 1:
            return sets[0]
        if not sets:
            raise NotFoundError("the project has no inference sets")
        raise InvalidArgumentError("the project has %d inference sets; "
                                   "choose one" % len(sets))

    def _thresholds(self, conf, iou):
        dc, di = self.defaults()
        return (dc if conf is None else float(conf),
                di if iou is None else float(iou))

    def _results(self, name, segment):
        r = self._p.results(name)
        r.restrict(None if segment in (None, "all") else segment)
        return r

    # ---- queries over stored results --------------------------------------

    def metrics(self, inferences=None, conf=None, iou=None, segment=None):
        """``detgrid metrics --json``: per class TP, FP, FN, precision,
        recall and F1 at (conf, iou), micro and macro."""
        name = self._pick(inferences)
        conf, iou = self._thresholds(conf, iou)
        with self._lock:
            r = self._results(name, segment)
            t = r.find_iou(iou)
            c = np.frombuffer(r.counts(conf, t), COUNTS)
            thr = r.info()["iou"][t]
        avg = Averages()
        classes = []
        ids = self.class_ids
        for k, cname in enumerate(self.classes):
            x = c[k]
            m = avg.add(int(x["tp"]), int(x["fp"]), int(x["fn"]),
                        int(x["n_gt"]), int(x["n_det"]))
            o = {"name": cname, "id": int(ids[k]), "tp": int(x["tp"]),
                 "fp": int(x["fp"]), "fn": int(x["fn"]),
                 "n_gt": int(x["n_gt"])}
            classes.append(prf_dict(m, o))
        ov = avg.overall()
        ov["macro"]["classes_precision"] = avg.n[0]
        ov["macro"]["classes_recall"] = avg.n[1]
        ov["macro"]["classes_f1"] = avg.n[2]
        return {"inferences": name, "segment": segment or "all",
                "conf": num(conf), "iou": num(thr), "classes": classes,
                "overall": ov}

    def counts_array(self, inferences=None, conf=None, iou=None,
                     segment=None):
        """Per-class counts at (conf, iou) as a structured array (tp, fp,
        fn, n_gt, n_det)."""
        name = self._pick(inferences)
        conf, iou = self._thresholds(conf, iou)
        with self._lock:
            r = self._results(name, segment)
            return np.frombuffer(r.counts(conf, r.find_iou(iou)), COUNTS)

    def sweep_arrays(self, cls, inferences=None, iou=None, segment=None):
        """One class's sweep at iou: a structured array (conf, tp, fp, fn),
        one row per distinct score, descending; and its ground truths."""
        name = self._pick(inferences)
        _, iou = self._thresholds(None, iou)
        k = self._class_index(cls)
        with self._lock:
            r = self._results(name, segment)
            t = r.find_iou(iou)
            pts = np.frombuffer(r.sweep(k, t), SWEEP)
            n_gt = int(np.frombuffer(r.counts(math.inf, t), COUNTS)[k]["n_gt"])
        return pts, n_gt

    def _class_index(self, cls):
        if isinstance(cls, str):
            names = self.classes
            if cls not in names:
                raise NotFoundError("no class '%s'" % cls)
            return names.index(cls)
        k = int(cls)
        if not 0 <= k < len(self.classes):
            raise NotFoundError("no class index %d" % k)
        return k

    def sweep(self, inferences=None, iou=None, cls=None, step=None,
              segment=None, best=False):
        """``detgrid sweep --format json``: curves per class, then all
        classes pooled (micro), at the project's IoU threshold, at one
        (iou), or at every stored one (iou="all"); best: only the
        F1-maximising points."""
        name = self._pick(inferences)
        if step is not None and not step > 0:
            raise InvalidArgumentError("step must be positive")
        with self._lock:
            r = self._results(name, segment)
            info = r.info()
            if iou == "all":
                ts = range(len(info["iou"]))
            else:
                v = self.defaults()[1] if iou is None else float(iou)
                ts = [r.find_iou(v)]
            ks = (range(len(self.classes)) if cls is None
                  else [self._class_index(cls)])
            grid = None
            if step is not None:
                # The grid covers [0, 1] and the scores, from a multiple
                # of step (tools/cmd-sweep.c).
                lo, hi = r.score_range()
                glo = math.floor(lo / step) * step if lo < 0 else 0.0
                ghi = hi if hi > 1 else 1.0
                if (ghi - glo) / step > 1e7:
                    raise InvalidArgumentError(
                        "step %g makes more than 10^7 points over [%g, %g]"
                        % (step, glo, ghi))
                grid = (glo, ghi, step)
            names = self.classes
            curves, bests, micro, best_micro = [], [], [], []

            def add(cname, thr, pts, n_gt, into, best_into):
                if not best:
                    c = _curve(cname, thr, pts, n_gt, grid)
                    into.append(c)
                b = _best_f1(pts, n_gt)
                if b is not None:
                    bp, m = b
                    o = {} if cname is None else {"class": cname}
                    o.update({"iou": num(thr), "conf": num(bp[0]),
                              "f1": num(m[2]), "precision": num(m[0]),
                              "recall": num(m[1]), "tp": bp[1],
                              "fp": bp[2], "fn": bp[3]})
                    best_into.append(o)

            for t in ts:
                thr = info["iou"][t]
                cc = np.frombuffer(r.counts(math.inf, t), COUNTS)
                for k in ks:
                    pts = np.frombuffer(r.sweep(k, t), SWEEP)
                    add(names[k], thr, pts, int(cc[k]["n_gt"]), curves, bests)
                if cls is None:
                    buf, n_gt = r.sweep_micro(t)
                    add(None, thr, np.frombuffer(buf, SWEEP), n_gt, micro,
                        best_micro)
        out = {"inferences": name}
        if not best:
            out["curves"] = curves
        out["best_f1"] = bests
        if cls is None:
            if not best:
                out["micro"] = micro
            out["best_f1_micro"] = best_micro
        return out

    def confusion_array(self, inferences=None, conf=None, iou=None,
                        segment=None):
        """The (K + 1) x (K + 1) matrix [gt][pred], background last, and
        the ignored detections."""
        name = self._pick(inferences)
        conf, iou = self._thresholds(conf, iou)
        with self._lock:
            r = self._results(name, segment)
            buf, ign = r.confusion(conf, r.find_iou(iou))
        K1 = len(self.classes) + 1
        return np.frombuffer(buf, np.uint64).reshape(K1, K1), ign

    def confusion(self, inferences=None, conf=None, iou=None,
                  normalize="none", cls=None, segment=None):
        """``detgrid confusion --json``."""
        if normalize not in ("none", "gt", "pred"):
            raise InvalidArgumentError("normalize must be none, gt or pred, "
                                       "not '%s'" % normalize)
        name = self._pick(inferences)
        conf, iou = self._thresholds(conf, iou)
        ci = -1 if cls is None else self._class_index(cls)
        with self._lock:
            r = self._results(name, segment)
            t = r.find_iou(iou)
            buf, ign = r.confusion(conf, t)
            thr = r.info()["iou"][t]
        names = self.classes
        K = len(names)
        w = K + 1
        m = [[int(x) for x in row] for row in
             np.frombuffer(buf, np.uint64).reshape(w, w)]
        axis = names + ["background"]
        row = [sum(m[g]) for g in range(w)]
        col = [sum(m[g][p] for g in range(w)) for p in range(w)]

        def norm_value(g, p):
            d = row[g] if normalize == "gt" else col[p]
            return m[g][p] / d if d else math.nan

        def kind(g, p):
            if g == K:
                return "false_positive"
            if p == K:
                return "false_negative"
            return "correct" if g == p else "confusion"

        out = {"inferences": name, "conf": num(conf), "iou": num(thr),
               "normalize": normalize, "classes": axis, "matrix": m}
        if normalize != "none":
            out["normalized"] = [[None if g == K and p == K
                                  else num(norm_value(g, p))
                                  for p in range(w)] for g in range(w)]
        out["ignored"] = int(ign)
        if cls is not None:
            out["class"] = names[ci]
        cells = [(g, p, m[g][p]) for g in range(w) for p in range(w)
                 if m[g][p] and (ci < 0 or g == ci or p == ci)]
        def rank(c):
            # as `detgrid confusion`: off-diagonal first; under
            # normalisation by the share (undefined last), then by count
            v = norm_value(c[0], c[1]) if normalize != "none" else 0.0
            return (c[0] == c[1], math.isnan(v), -v if v == v else 0.0,
                    -c[2], c[0], c[1])
        cells.sort(key=rank)
        out["cells"] = []
        for g, p, n in cells:
            o = {"gt": axis[g], "pred": axis[p], "count": n,
                 "kind": kind(g, p)}
            if normalize != "none":
                o["normalized"] = num(norm_value(g, p))
            out["cells"].append(o)
        avg = Averages()
        rep = []
        for k in range(K):
            tp = m[k][k]
            fp, fn = col[k] - tp, row[k] - tp
            mm = avg.add(tp, fp, fn, row[k], col[k])
            rep.append(prf_dict(mm, {"class": names[k], "tp": tp, "fp": fp,
                                     "fn": fn, "support": row[k]}))
        out["report"] = rep
        out["overall"] = avg.overall()
        return out

    def examples(self, cell, inferences=None, conf=None, iou=None,
                 sort="confidence", ascending=False, limit=20, offset=0,
                 segment=None):
        """``detgrid examples --json``: the boxes behind one cell, given as
        (gt, pred) with class names or "background"."""
        keys = {"confidence": 0, "iou": 1, "area": 2}
        if sort not in keys:
            raise InvalidArgumentError("sort must be confidence, iou or "
                                       "area, not '%s'" % sort)
        if limit < 0 or offset < 0:
            raise InvalidArgumentError("limit and offset must not be "
                                       "negative")
        name = self._pick(inferences)
        conf, iou = self._thresholds(conf, iou)
        names = self.classes

        def side(x):
            if isinstance(x, str) and x not in names and x == "background":
                return -1
            return self._class_index(x)
        g, pc = side(cell[0]), side(cell[1])
        if g == -1 and pc == -1:
            raise InvalidArgumentError("the background,background cell is "
                                       "empty by definition")
        with self._lock:
            r = self._results(name, segment)
            t = r.find_iou(iou)
            total, rows = r.examples(conf, t, g, pc, keys[sort],
                                     bool(ascending), int(offset), int(limit))
            thr = r.info()["iou"][t]

        def cname(c):
            return "background" if c < 0 else names[c]
        ex = []
        for (frame, fid, gcls, gidx, gbox, pcls, didx, dbox, score, eiou,
             area, nidx, ncls, nscore) in rows:
            o = {"frame": frame, "frame_id": fid}
            o["gt"] = ({"class": cname(gcls), "index": gidx,
                        "box": box(gbox)} if gidx >= 0 else None)
            o["detection"] = ({"class": cname(pcls), "index": didx,
                               "score": num(score), "box": box(dbox)}
                              if didx >= 0 else None)
            o["iou"] = num(eiou)
            o["area"] = num(area)
            # A lone box: the other box its IoU is measured against.
            o["nearest"] = None
            if nidx >= 0:
                o["nearest"] = {"kind": "gt" if didx >= 0 else "detection",
                                "class": cname(ncls), "index": nidx}
                if didx < 0:
                    o["nearest"]["score"] = num(nscore)
            ex.append(o)
        return {"inferences": name, "conf": num(conf), "iou": num(thr),
                "cell": {"gt": cname(g), "pred": cname(pc)}, "sort": sort,
                "order": "asc" if ascending else "desc", "offset": offset,
                "limit": limit, "total": total, "examples": ex}

    def frame_counts_array(self, inferences=None, conf=None, iou=None,
                           cls=None, segment=None):
        """Every frame's (tp, fp, fn, n_gt, n_det) as a structured array;
        zeros outside the segment."""
        name = self._pick(inferences)
        conf, iou = self._thresholds(conf, iou)
        k = -1 if cls is None else self._class_index(cls)
        with self._lock:
            r = self._results(name, segment)
            return np.frombuffer(r.frame_counts(conf, r.find_iou(iou), k),
                                 FRAME_COUNTS)

    def frames(self, inferences=None, conf=None, iou=None, segment=None,
               cls=None, sort="frame", limit=0):
        """``detgrid frames --json``: each frame's counts and figures,
        sorted (frame; f1, precision, recall ascending; fp, fn
        descending) and cut to limit (0: all)."""
        sorts = ("frame", "f1", "precision", "recall", "fp", "fn")
        if sort not in sorts:
            raise InvalidArgumentError("unknown sort '%s'" % sort)
        if limit < 0:
            raise InvalidArgumentError("limit must be >= 0")
        name = self._pick(inferences)
        conf, iou = self._thresholds(conf, iou)
        k = -1 if cls is None else self._class_index(cls)
        with self._lock:
            r = self._results(name, segment)
            t = r.find_iou(iou)
            fc = np.frombuffer(r.frame_counts(conf, t, k), FRAME_COUNTS)
            thr = r.info()["iou"][t]
            if segment not in (None, "all"):
                seg = [s for s in self.segments() if s["name"] == segment]
                frames = [int(f) for f in seg[0]["frames"]]
            else:
                frames = list(range(len(fc)))
        rows = []
        for f in frames:
            c = fc[f]
            m = prf(int(c["tp"]), int(c["fp"]), int(c["fn"]), int(c["n_gt"]))
            rows.append((f, c, m))
        si = sorts.index(sort)
        if 1 <= si <= 3:
            j = {1: 2, 2: 0, 3: 1}[si]
            rows.sort(key=lambda x: (math.isnan(x[2][j]),
                                     0 if math.isnan(x[2][j]) else x[2][j],
                                     x[0]))
        elif si >= 4:
            fld = "fp" if si == 4 else "fn"
            rows.sort(key=lambda x: (-int(x[1][fld]), x[0]))
        shown = rows[:limit] if limit else rows
        ids = self.frame_ids
        out = []
        for f, c, m in shown:
            o = {"index": f, "id": ids[f], "tp": int(c["tp"]),
                 "fp": int(c["fp"]), "fn": int(c["fn"]),
                 "n_gt": int(c["n_gt"])}
            out.append(prf_dict(m, o))
        return {"inferences": name, "conf": num(conf), "iou": num(thr),
                "segment": segment or "all",
                "class": None if cls is None else self.classes[k],
                "sort": sort, "n_frames": len(frames), "frames": out}

    # ---- analyses that read the boxes -------------------------------------

    def coco_result(self, inferences=None, exact_iou=False,
                    use_ignore=False, threads=0, params=None):
        """The COCO evaluation as arrays (detgrid.EvalResult-like fields):
        a dict of stats, per-category AP and the precision, scores and
        recall arrays of COCOeval.eval (NumPy, no copies)."""
        name = self._pick(inferences)
        with self._lock:
            c = self._p.coco(name, bool(exact_iou), bool(use_ignore),
                             int(threads), params)
        self._warn()
        return coco_fields(c)

    def coco(self, inferences=None, exact_iou=False, use_ignore=False,
             threads=0, params=None):
        """``detgrid coco --json``: the 12 stats, their names and per-class
        AP, AP50, AP75 and AR100."""
        f = self.coco_result(inferences, exact_iou, use_ignore, threads,
                             params)
        names = self.classes
        per = []
        for k in range(len(f["category_ids"])):
            c = int(f["cat_class"][k])
            per.append({"name": names[c] if c < len(names) else None,
                        "id": int(f["category_ids"][k]),
                        "ap": num(f["ap"][k]), "ap50": num(f["ap50"][k]),
                        "ap75": num(f["ap75"][k]),
                        "ar100": num(f["ar100"][k])})
        return {"stats": [num(x) for x in f["stats"]],
                "names": list(COCO_STAT_NAMES), "per_class": per}

    def voc(self, inferences=None, protocol="voc12", iou=0.5, plus1=True,
            recall_points="numpy", curves=False):
        """``detgrid voc --json`` (Pascal VOC AP per class and mAP)."""
        protos = _detgrid.enum_names("voc")
        if protocol not in protos:
            raise InvalidArgumentError("protocol must be voc07 or voc12, not "
                                       "'%s'" % protocol)
        if recall_points not in ("numpy", "exact"):
            raise InvalidArgumentError("recall_points must be numpy or "
                                       "exact")
        name = self._pick(inferences)
        with self._lock:
            mp, n_map, cl = self._p.voc(name, protos.index(protocol),
                                        float(iou), bool(plus1),
                                        recall_points == "exact")
        names, ids = self.classes, self.class_ids
        classes = []
        for k, (n_gt, n_diff, n_det, n_ign, tp, fp, ap, sc, pr,
                rc) in enumerate(cl):
            e = {"name": names[k], "id": int(ids[k]), "n_gt": n_gt,
                 "n_difficult": n_diff, "n_det": n_det, "n_ignored": n_ign,
                 "tp": tp, "fp": fp, "ap": num(ap)}
            if curves:
                e["curve"] = {
                    "score": [num(x) for x in np.frombuffer(sc)],
                    "precision": [num(x) for x in np.frombuffer(pr)],
                    "recall": [num(x) for x in np.frombuffer(rc)]}
            classes.append(e)
        out = {"inferences": name, "protocol": protocol, "iou": float(iou),
               "plus1": bool(plus1)}
        if protocol == "voc07":
            out["recall_points"] = recall_points
        out["classes"] = classes
        out["map"] = num(mp)
        out["map_classes"] = n_map
        return out

    def errors(self, inferences=None, conf=None, fg_iou=0.5, bg_iou=0.1,
               max_dets=100):
        """``detgrid errors --json``: the TIDE error taxonomy (conf None:
        every detection, as tidecv, scores below 0 included; max_dets 0:
        every detection)."""
        if conf is None:
            conf = -math.inf
        elif not math.isfinite(conf):
            raise InvalidArgumentError("conf must be a finite number")
        if not 0 < fg_iou <= 1:
            raise InvalidArgumentError("fg_iou must be in (0, 1]")
        if not 0 < bg_iou <= fg_iou:
            raise InvalidArgumentError("bg_iou must be in (0, fg_iou]")
        if max_dets < 0:
            raise InvalidArgumentError("max_dets must be >= 0")
        name = self._pick(inferences)
        with self._lock:
            r = self._p.tide(name, float(conf), float(fg_iou), float(bg_iou),
                             int(max_dets) if max_dets else -1)
        total = np.frombuffer(r["total"], np.uint64)
        dap = np.frombuffer(r["dap"], np.float64)
        count = np.frombuffer(r["count"], np.uint64).reshape(-1,
                                                             len(TIDE_TYPES))
        cap = np.frombuffer(r["class_ap"], np.float64)
        names, ids = self.classes, self.class_ids
        classes = []
        for c in range(r["n_classes"]):
            o = {"name": names[c], "id": int(ids[c]), "ap": num(cap[c])}
            for k, t in enumerate(TIDE_TYPES):
                o[t] = int(count[c, k])
            classes.append(o)
        return {
            "inferences": name, "conf": num(r["conf"]),
            "fg_iou": num(r["fg_iou"]), "bg_iou": num(r["bg_iou"]),
            "max_dets": None if r["max_dets"] < 0 else r["max_dets"],
            "ap": num(r["ap"]), "n_det": r["n_det"],
            "n_dropped": r["n_dropped"], "n_gt": r["n_gt"], "tp": r["tp"],
            "fp": r["fp"], "ignored": r["ignored"], "fn": r["fn"],
            "fn_fixable": r["fn_fixable"],
            "errors": {t: {"count": int(total[k]), "dap": num(dap[k])}
                       for k, t in enumerate(TIDE_TYPES)},
            "special": {"FalsePos": num(r["dap_fp"]),
                        "FalseNeg": num(r["dap_fn"])},
            "classes": classes, "seconds": num(r["seconds"])}

    def label_errors(self, inferences=None, iou=None, bg_iou=None, conf=0.0,
                     kind="all", limit=20):
        """``detgrid label-errors --json``: ranked lists of likely
        labelling mistakes (kind: one name, a list or "all")."""
        if limit < 0:
            raise InvalidArgumentError("limit must be >= 0")
        if iou is not None and not 0 < iou <= 1:
            raise InvalidArgumentError("iou must be in (0, 1]")
        if bg_iou is not None and not 0 < bg_iou < 1:
            raise InvalidArgumentError("bg_iou must be in (0, 1)")
        if not 0 <= conf <= 1:
            raise InvalidArgumentError("conf must be in [0, 1]")
        if iou is not None and bg_iou is not None and not bg_iou < iou:
            raise InvalidArgumentError("bg_iou must be below iou")
        kinds = 0
        if kind != "all":
            for k in ([kind] if isinstance(kind, str) else kind):
                if k not in LABEL_ERROR_KINDS:
                    raise InvalidArgumentError("unknown kind '%s'" % k)
                kinds |= 1 << LABEL_ERROR_KINDS.index(k)
        name = self._pick(inferences)
        with self._lock:
            r = self._p.label_errors(name, 0.0 if iou is None else float(iou),
                                     0.0 if bg_iou is None else float(bg_iou),
                                     float(conf), int(limit), kinds)
        names, fids = self.classes, self.frame_ids
        shown = kinds or (1 << len(LABEL_ERROR_KINDS)) - 1
        lists = {}
        for k, kname in enumerate(LABEL_ERROR_KINDS):
            if not shown & (1 << k):
                continue
            entries = []
            for rank, (score, frame, label, det, lcls, dcls, lbox, dbox,
                       dconf, eiou, aux, why) in enumerate(r["lists"][k], 1):
                o = {"rank": rank, "score": num(score), "reason": why,
                     "frame": fids[frame], "frame_index": frame}
                o["label"] = ({"index": label, "class": names[lcls],
                               "class_index": lcls, "box": box(lbox)}
                              if label >= 0 else None)
                o["detection"] = ({"index": det, "class": names[dcls],
                                   "class_index": dcls, "score": num(dconf),
                                   "box": box(dbox)} if det >= 0 else None)
                o["iou"] = num(eiou)
                if kname == "missing":
                    o["detections"] = aux
                elif kname == "spurious":
                    o["recall_prior"] = num(aux)
                entries.append(o)
            lists[kname] = {"candidates": r["candidates"][k],
                            "entries": entries}
        return {"inferences": name, "iou": num(r["iou"]),
                "bg_iou": num(r["bg_iou"]), "conf": num(r["conf"]),
                "tp": r["tp"], "fp": r["fp"], "fn": r["fn"],
                "seconds": num(r["seconds"]), "lists": lists}


    # ---- two sets side by side, segments against their targets ------------

    def compare(self, a, b, segment=None, conf=None, iou=None, conf_a=None,
                iou_a=None, conf_b=None, iou_b=None, resamples=1000, seed=1,
                level=0.95, churn=None, limit=20):
        """``detgrid compare <A> <B> --json``: both sets per class and
        overall with paired bootstrap intervals of B - A and verdicts, per
        segment when no segment is given, and the churn of ground truths
        (churn: None, "a-only" or "b-only")."""
        if not 1 <= resamples <= 100000:
            raise InvalidArgumentError("resamples must be in 1..100000")
        if not 0 < level < 1:
            raise InvalidArgumentError("level must be in (0, 1)")
        if limit < 0:
            raise InvalidArgumentError("limit must be >= 0")
        which = {None: -1, "a-only": 0, "b-only": 1}.get(churn, -2)
        if which == -2:
            raise InvalidArgumentError("churn takes a-only or b-only")
        dc, di = self.defaults()
        conf = dc if conf is None else float(conf)
        iou = di if iou is None else float(iou)
        sides = [{"name": self._pick(a), "conf": conf if conf_a is None
                  else float(conf_a), "iou": iou if iou_a is None
                  else float(iou_a)},
                 {"name": self._pick(b), "conf": conf if conf_b is None
                  else float(conf_b), "iou": iou if iou_b is None
                  else float(iou_b)}]
        names = self.classes
        C = len(names)
        with self._lock:
            for s in sides:
                s["r"] = self._p.results(s["name"])
                s["t"] = s["r"].find_iou(s["iou"])
                s["thr"] = s["r"].info()["iou"][s["t"]]

            def restrict(seg):
                for s in sides:
                    s["r"].restrict(None if seg in (None, "all") else seg)

            def paired():
                ra, rb = sides[0]["r"], sides[1]["r"]
                return ra.paired_bootstrap(
                    rb, sides[0]["conf"], sides[0]["t"], sides[1]["conf"],
                    sides[1]["t"], int(resamples), int(seed), float(level))

            restrict(segment)
            import time
            t0 = time.perf_counter()
            pc, ov = paired()
            secs = time.perf_counter() - t0
            for s in sides:
                _side_figures(s, C)
            per_cls, na, nb, items = sides[0]["r"].churn(
                sides[1]["r"], sides[0]["conf"], sides[0]["t"],
                sides[1]["conf"], sides[1]["t"], which)
            n_frames = len(self.frame_ids)
            if segment not in (None, "all"):
                seg = [x for x in self.segments() if x["name"] == segment]
                if seg and seg[0]["frames"] is not None:
                    n_frames = len(seg[0]["frames"])
            out = {
                "a": {"inferences": sides[0]["name"],
                      "conf": num(sides[0]["conf"]),
                      "iou": num(sides[0]["thr"])},
                "b": {"inferences": sides[1]["name"],
                      "conf": num(sides[1]["conf"]),
                      "iou": num(sides[1]["thr"])},
                "segment": segment or "all", "n_frames": n_frames,
                "bootstrap": {"resamples": resamples, "seed": seed,
                              "level": num(level), "seconds": num(secs)},
                "classes": [_compare_row(names[k], sides[0]["c"][k],
                                         sides[1]["c"][k], pc[k],
                                         sides[0]["ap"][k], sides[1]["ap"][k])
                            for k in range(C)],
                "overall": _compare_row("micro", sides[0]["micro"],
                                        sides[1]["micro"], ov,
                                        sides[0]["map"], sides[1]["map"])}
            segs = self.segments()
            if segment is None and len(segs) > 1:
                rows = []
                for sg in segs[1:]:
                    restrict(sg["name"])
                    _, sov = paired()
                    for s in sides:
                        _side_figures(s, C)
                    row = _compare_row(sg["name"], sides[0]["micro"],
                                       sides[1]["micro"], sov,
                                       sides[0]["map"], sides[1]["map"])
                    row["kind"] = sg["kind"]
                    rows.append(row)
                restrict(None)
                out["segments"] = rows
        pcv = np.frombuffer(per_cls, np.uint64)
        ch = {"a_only": na, "b_only": nb,
              "classes": [{"name": names[k], "a_only": int(pcv[2 * k]),
                           "b_only": int(pcv[2 * k + 1])} for k in range(C)]}
        if churn is not None:
            ch["listed"] = churn
            ch["n_listed"] = len(items)
            shown = items[:limit] if limit else items
            fids = self.frame_ids
            ch["examples"] = [
                {"frame": fr, "frame_id": fids[fr], "class": names[c],
                 "label": lab, "box": box(bx), "detection": det,
                 "score": num(sc), "iou": num(ei)}
                for lab, fr, c, bx, det, sc, ei in shown]
        out["churn"] = ch
        return out

    def _scenario(self, name, seg, conf, iou, boot, strict, cache):
        """tools/scenario.c's sc_eval: one set on one segment against its
        targets."""
        dc, di = self.defaults()
        t = seg["targets"]
        c = (conf if conf is not None else t["conf"]
             if t["conf"] is not None else dc)
        i = (iou if iou is not None else t["iou"]
             if t["iou"] is not None else di)
        r = self._p.results(name)
        ti = r.find_iou(i)
        ap = math.nan
        if t["ap"] is not None:
            r.restrict(seg["name"])
            ap = r.ap(ti)[1]
        lo = hi = None
        if boot is None:
            key = (name, c, ti)
            if key not in cache:
                cache[key] = np.frombuffer(r.segment_counts(c, ti), COUNTS)
            x = cache[key][seg["index"]]
            micro = [int(x["tp"]), int(x["fp"]), int(x["fn"]), int(x["n_gt"])]
        else:
            r.restrict(seg["name"])
            cc = np.frombuffer(r.counts(c, ti), COUNTS)
            micro = [int(cc["tp"].sum()), int(cc["fp"].sum()),
                     int(cc["fn"].sum()), int(cc["n_gt"].sum())]
            _, ov = r.bootstrap(c, ti, *boot)
            lo, hi = ov[1], ov[2]
        m = prf(*micro)
        strict = bool(strict and lo is not None)
        judged = lo if strict else m
        got = [judged[0], judged[1], judged[2], ap]
        targets = [t["precision"], t["recall"], t["f1"], t["ap"]]
        what = ("precision", "recall", "F1", "AP")
        why, has, ok = [], False, True
        for k in range(4):
            if targets[k] is None:
                continue
            has = True
            if not got[k] >= targets[k]:
                ok = False
                v = "undefined" if math.isnan(got[k]) else "%.4f" % got[k]
                why.append("%s%s %s < %s" % (
                    what[k], " lower bound" if strict and k < 3 else "", v,
                    "%g" % targets[k]))
        o = {"inferences": name, "conf": num(c), "iou": num(i),
             "tp": micro[0], "fp": micro[1], "fn": micro[2],
             "n_gt": micro[3]}
        prf_dict(m, o)
        o["ap"] = num(ap)
        if lo is not None:
            o["lo"] = prf_dict(lo)
            o["hi"] = prf_dict(hi)
        o["strict"] = strict
        o["has_targets"] = has
        o["pass"] = ok
        o["failed"] = ", ".join(why) if why else None
        return o

    def _segments_indexed(self):
        segs = self.segments()
        for i, s in enumerate(segs):
            s["index"] = i
        return segs

    def scenarios(self, inferences=None, conf_a=None, iou_a=None,
                  conf_b=None, iou_b=None):
        """``detgrid scenarios --json``: one card per segment (splits,
        regression tests, scenarios) with each set against its targets."""
        names = self._pick_sets(inferences)[:8]
        confs, ious = [conf_a, conf_b], [iou_a, iou_b]
        out = {"file": self.path, "inferences": names}
        with self._lock:
            segs = self._segments_indexed()
            cache = {}
            res = {}
            for sg in segs:
                for k, n in enumerate(names):
                    res[sg["name"], k] = self._scenario(
                        n, sg, confs[k] if k < 2 else None,
                        ious[k] if k < 2 else None, None, False, cache)
        for g, kind in (("splits", "split"),
                        ("regression_tests", "regression"),
                        ("scenarios", "scenario")):
            cards = []
            for sg in segs:
                if sg["kind"] != kind:
                    continue
                card = {
                    "segment": sg["name"], "kind": kind,
                    "frames": len(sg["frames"]),
                    "targets": _targets(sg["targets"]),
                    "results": [res[sg["name"], k]
                                for k in range(len(names))]}
                if len(names) == 2:
                    a, b = card["results"]

                    def f(d, key):
                        return math.nan if d[key] is None else d[key]
                    card["b_minus_a"] = {
                        key: num(f(b, key) - f(a, key))
                        for key in ("precision", "recall", "f1", "ap")}
                cards.append(card)
            out[g] = cards
        return out

    def check(self, inferences=None, conf=None, iou=None, strict=False,
              level=0.95, resamples=1000, seed=0):
        """``detgrid check --json``: every set against every regression
        test's targets ("pass" says whether all passed)."""
        if not 0 < level < 1:
            raise InvalidArgumentError("level must be in (0, 1)")
        if not 1 <= resamples <= 1000000:
            raise InvalidArgumentError("resamples must be in [1, 1000000]")
        names = (self.inference_sets if inferences is None
                 else self._pick_sets(inferences))
        boot = (int(resamples), int(seed), float(level)) if strict else None
        results = []
        with self._lock:
            segs = [s for s in self._segments_indexed()
                    if s["kind"] == "regression"]
            cache = {}
            for n in names:
                for sg in segs:
                    o = {"segment": sg["name"],
                         "targets": _targets(sg["targets"])}
                    o.update(self._scenario(
                        n, sg, None if conf is None else float(conf),
                        None if iou is None else float(iou), boot, strict,
                        cache))
                    results.append(o)
        fails = sum(1 for r in results if not r["pass"])
        return {"file": self.path, "strict": bool(strict),
                "checks": len(results), "failures": fails,
                "pass": not fails, "results": results}


    def embeddings(self, inferences=None, model=None, crops=False,
                   only=None, conf=None, iou=None, segment=None,
                   projection="pca", clusters=None, patterns=False, seed=1):
        """``detgrid embeddings --json``: the 2-D projection of frame (or
        crop) embeddings, coloured by outcome, and with clusters or
        patterns k-means clusters ranked by how much worse the model does
        there (clusters: k, 0 for the elbow)."""
        kinds = ("tp", "fp", "fn", "misclassified")
        if only is not None and only not in kinds:
            raise InvalidArgumentError("only: '%s' is not tp, fp, fn or "
                                       "misclassified" % only)
        if projection not in ("pca", "layout"):
            raise InvalidArgumentError("projection is pca or layout")
        k = -1 if clusters is None else int(clusters)
        if not -1 <= k <= 1000:
            raise InvalidArgumentError("clusters must be 0 .. 1000")
        if seed < 0:
            raise InvalidArgumentError("seed must be >= 0")
        name = self._pick(inferences)
        conf, iou = self._thresholds(conf, iou)
        with self._lock:
            r = self._results(name, segment)
            t = r.find_iou(iou)
            thr = r.info()["iou"][t]
            if model is None:
                models = self._p.embedding_models()
                if len(models) != 1:
                    raise NotFoundError(
                        "the project holds no embeddings" if not models else
                        "the project holds embeddings of %d models; pick "
                        "one" % len(models))
                model = models[0]
            e = r.embeddings(model, bool(crops), conf, t,
                             -1 if only is None else kinds.index(only),
                             projection == "layout",
                             k >= 0 or bool(patterns), k, int(seed))
        self._warn()
        if not e["points"]:
            raise NotFoundError("no %s to project%s" % (
                "crops" if crops else "frames",
                " (see only)" if only else ""))
        names, fids = self.classes, self.frame_ids
        outcomes = _detgrid.enum_names("crop_outcomes")
        points = []
        for x in e["points"]:
            if crops:
                kind, outc, fr, c, idx, sc, px, py, a = x
                o = {"kind": "detection" if kind else "label", "index": idx,
                     "frame": fr, "frame_id": fids[fr], "class": names[c],
                     "outcome": outcomes[outc], "score": num(sc)}
            else:
                fr, tp, fp, fn, n_gt, n_det, px, py, a = x
                o = {"frame": fr, "frame_id": fids[fr], "tp": tp, "fp": fp,
                     "fn": fn}
                prf_dict(prf(tp, fp, fn, n_gt), o)
            o["x"], o["y"] = num(px), num(py)
            if e["clusters"] is not None:
                o["cluster"] = a
            points.append(o)
        out = {"inferences": name, "model": model,
               "points_of": "crops" if crops else "frames",
               "conf": num(conf), "iou": num(thr), "dim": e["dim"],
               "projection": {"method": projection,
                              "variance": [num(v) for v in e["var"]]},
               "seconds": {"projection": num(e["seconds_projection"]),
                           "clustering": num(e["seconds_clustering"])},
               "points": points}
        if e["clusters"] is not None:
            out["k"] = e["k"]
            out["k_fit"] = e["k_fit"]
            if e["k_choice"] is not None:
                method, sample, scores = e["k_choice"]
                out["k_choice"] = {"method": method, "sample": sample,
                                   "scores": [{"k": k, "score": num(v)}
                                              for k, v in scores]}
            cl = []
            for rank, (cid, size, tp, fp, fn, m, deficit, fps, fns, z, p, q,
                       ex) in enumerate(e["clusters"], 1):
                o = {"rank": rank, "cluster": cid, "size": size, "tp": tp,
                     "fp": fp, "fn": fn}
                prf_dict(m, o)
                if crops:
                    o["fp_share"], o["fn_share"] = num(fps), num(fns)
                else:
                    o["f1_deficit"] = num(deficit)
                o["z"], o["p"], o["q"] = num(z), num(p), num(q)
                o["explain"] = _explain(ex, names, fids)
                cl.append(o)
            out["clusters"] = cl
        return out


def _share(x, total):
    return x / total if total else float("nan")


def _explain(ex, names, fids):
    """What a pattern fails at, as `detgrid embeddings --json` (and slices)
    write it (tools/explain.c)."""
    cls, types, tide, tide_all, reps = ex
    t, ta = sum(tide), sum(tide_all)
    out = {"classes": [
        {"class": names[c], "errors": n, "chances": ch,
         "rate": num(n / ch if ch else float("nan")),
         "rate_all": num(na / cha if cha else float("nan")),
         "lift": num(lift), "z": num(z)}
        for c, n, ch, na, cha, lift, z in cls]}
    et = []
    for name, n, na in types:
        sh, sa = _share(n, t), _share(na, ta)
        et.append({"type": name, "count": n, "share": num(sh),
                   "share_all": num(sa),
                   "lift": num(sh / sa if sa > 0 else float("nan"))})
    out["error_types"] = et
    out["representative_frames"] = [fids[f] for f in reps]
    return out


def _targets(t):
    return {k: t[k] for k in ("precision", "recall", "f1", "ap")}


def _class_ap(r, k, t, n_gt):
    """compare's 101-point AP of class k at IoU index t (the sweep's
    envelope sampled at recall 0, 0.01, ..., 1); NaN without ground
    truth."""
    if not n_gt:
        return math.nan
    pts = np.frombuffer(r.sweep(k, t), SWEEP)
    rec = [int(x) / n_gt for x in pts["tp"]]
    prec = [int(tp) / int(tp + fp) if tp + fp else 0.0
            for tp, fp in zip(pts["tp"], pts["fp"])]
    for i in range(len(prec) - 1, 0, -1):
        if prec[i] > prec[i - 1]:
            prec[i - 1] = prec[i]
    total = 0.0
    n = len(rec)
    for j in range(101):
        rt = 1.0 if j == 100 else j * 0.01
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi) // 2
            if rec[mid] < rt:
                lo = mid + 1
            else:
                hi = mid
        if lo < n:
            total += prec[lo]
    return total / 101.0


def _side_figures(s, C):
    c = np.frombuffer(s["r"].counts(s["conf"], s["t"]), COUNTS)
    s["c"] = [[int(x["tp"]), int(x["fp"]), int(x["fn"]), int(x["n_gt"])]
              for x in c]
    s["micro"] = [sum(x[i] for x in s["c"]) for i in range(4)]
    s["ap"] = [_class_ap(s["r"], k, s["t"], s["c"][k][3]) for k in range(C)]
    defined = [x for x in s["ap"] if not math.isnan(x)]
    total = 0.0
    for x in defined:
        total += x
    s["map"] = total / len(defined) if defined else math.nan


def _verdict(lo, hi):
    if lo > 0:
        return "B better"
    if hi < 0:
        return "B worse"
    return "no significant difference"


def _compare_row(name, ca, cb, x, ap_a, ap_b):
    def side(c, point, ap):
        o = {"tp": c[0], "fp": c[1], "fn": c[2], "n_gt": c[3]}
        prf_dict(point, o)
        o["ap"] = num(ap)
        return o
    (pa, _, _), (pb, _, _), (pd, dlo, dhi) = x
    o = {"name": name, "a": side(ca, pa, ap_a), "b": side(cb, pb, ap_b)}
    d = prf_dict(pd)
    d["ap"] = num(ap_b - ap_a)
    o["diff"] = d
    ci, v = {}, {}
    for k, mn in enumerate(("precision", "recall", "f1")):
        lo, hi = dlo[k], dhi[k]
        ci[mn] = None if math.isnan(lo) else [num(lo), num(hi)]
        v[mn] = _verdict(lo, hi)
    o["ci"] = ci
    o["verdicts"] = v
    o["verdict"] = _verdict(dlo[2], dhi[2])
    return o


def coco_fields(c):
    """A CocoResult's fields with its arrays as NumPy arrays in
    pycocotools' shapes (over the result's memory)."""
    f = c.fields()
    T, R, K, A, M = f["T"], f["R"], f["K"], f["A"], f["M"]
    out = dict(f)
    out["stats"] = np.array(f["stats"], dtype=np.float64)
    out["iou_thresholds"] = np.frombuffer(f["iou"], np.float64)
    out["rec_thresholds"] = np.frombuffer(f["rec"], np.float64)
    out["max_dets"] = np.frombuffer(f["max_dets"], np.intc)
    out["area_rng"] = np.frombuffer(f["area_rng"], np.float64).reshape(A, 2)
    out["category_ids"] = np.frombuffer(f["cat_ids"], np.int64)
    out["cat_class"] = np.frombuffer(f["cat_class"], np.uint32)
    out["precision"] = np.frombuffer(f["precision"],
                                     np.float64).reshape(T, R, K, A, M)
    out["scores"] = np.frombuffer(f["scores"],
                                  np.float64).reshape(T, R, K, A, M)
    out["recall"] = np.frombuffer(f["recall"], np.float64).reshape(T, K, A, M)
    for k in ("ap", "ap50", "ap75", "ar100"):
        out[k] = np.frombuffer(f[k], np.float64)
    out["_owner"] = c
    return out


def _c_round(x):
    """C's round(): halves away from zero."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def _step_point(pts, lo_conf, step, i, n_gt):
    """The counts at conf = lo + i * step (rounded to 1e-9): those of the
    last distinct-score point whose score is >= it (tools/cmd-sweep.c)."""
    conf = _c_round((lo_conf + i * step) * 1e9) / 1e9
    lo, hi = 0, len(pts)
    while lo < hi:
        mid = (lo + hi) // 2
        if pts[mid]["conf"] >= conf:
            lo = mid + 1
        else:
            hi = mid
    tp = int(pts[lo - 1]["tp"]) if lo else 0
    fp = int(pts[lo - 1]["fp"]) if lo else 0
    return conf, tp, fp, n_gt - tp


def _curve(cname, thr, pts, n_gt, grid):
    c = {} if cname is None else {"class": cname}
    c.update({"iou": num(thr), "n_gt": n_gt})
    if grid is None:
        c["conf"] = [num(x) for x in pts["conf"]]
        c["tp"] = [int(x) for x in pts["tp"]]
        c["fp"] = [int(x) for x in pts["fp"]]
        c["fn"] = [int(x) for x in pts["fn"]]
        return c
    lo, hi, step = grid
    m = int(math.floor((hi - lo) / step + 1e-9)) + 1
    rows = [_step_point(pts, lo, step, i, n_gt) for i in range(m)]
    c["conf"] = [num(r[0]) for r in rows]
    c["tp"] = [r[1] for r in rows]
    c["fp"] = [r[2] for r in rows]
    c["fn"] = [r[3] for r in rows]
    return c


def _best_f1(pts, n_gt):
    """The highest-F1 point (the higher confidence on ties), or None."""
    best, bf = None, -1.0
    for x in pts:
        tp, fp, fn = int(x["tp"]), int(x["fp"]), int(x["fn"])
        m = prf(tp, fp, fn, n_gt)
        if not math.isnan(m[2]) and m[2] > bf:
            bf = m[2]
            best = ((float(x["conf"]), tp, fp, fn), m)
    return best
