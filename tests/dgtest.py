"""Shared helpers for detgrid's Python tests.

Plain Python (no pytest): each tests/test_*.py imports this module, counts its
checks with a Checker and exits 0 only when every check passed.

The matching oracle here is written from the semantics documented in
include/detgrid/eval.h and docs/FORMAT.md (which follow pycocotools'
evaluateImg); it shares no code with detgrid or pycocotools.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# Exit codes of the CLI (tools/cli.h).
EXIT_OK, EXIT_CHECK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2, 129


def _find_bin():
    b = os.environ.get("DETGRID_BIN")
    if b:
        return os.path.abspath(b)
    for d in ("build-py", "build"):
        p = os.path.join(REPO, d, "detgrid")
        if os.access(p, os.X_OK):
            return p
    sys.exit("dgtest: set DETGRID_BIN to the detgrid binary")


BIN = _find_bin()
SHARED_DATA = os.environ.get("DETGRID_SHARED_DATA") or os.path.join(
    os.path.dirname(REPO), "shared", "data")


# --------------------------------------------------------------------------
# Checks


class Checker:
    """Counts assertions; every check raises AssertionError when it fails."""

    def __init__(self, name):
        self.name = name
        self.n = 0

    def ok(self, cond, msg="check failed"):
        self.n += 1
        if not cond:
            raise AssertionError(msg() if callable(msg) else msg)

    def eq(self, got, want, what=""):
        self.n += 1
        if got != want:
            raise AssertionError("%s: got %r, expected %r" % (what, got, want))

    def close(self, got, want, what="", rel=1e-12):
        """Numbers equal within rel (or both None / null)."""
        self.n += 1
        if want is None or got is None:
            if got is not want:
                raise AssertionError("%s: got %r, expected %r" % (what, got, want))
            return
        if not (abs(got - want) <= rel * max(1.0, abs(want))):
            raise AssertionError("%s: got %r, expected %r" % (what, got, want))

    def array_eq(self, got, want, what=""):
        self.n += 1
        got = np.asarray(got)
        want = np.asarray(want)
        if got.shape != want.shape:
            raise AssertionError("%s: shape %s, expected %s" %
                                 (what, got.shape, want.shape))
        if not np.array_equal(got, want):
            bad = np.argwhere(got != want)
            i = tuple(bad[0])
            raise AssertionError(
                "%s: %d elements differ; first at %s: got %r, expected %r" %
                (what, len(bad), i, got[i], want[i]))

    def contains(self, text, *needles, what=""):
        for s in needles:
            self.n += 1
            if s not in text:
                raise AssertionError("%s: %r not found in:\n%s" % (what, s, text))

    def done(self):
        print("%s: %d checks passed" % (self.name, self.n))


def main_wrapper(fn):
    """Runs fn(); prints the failure and exits 1 on AssertionError."""
    try:
        fn()
    except AssertionError as e:
        import traceback
        traceback.print_exc()
        print("FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)


# --------------------------------------------------------------------------
# Running the CLI


class Result:
    def __init__(self, args, rc, out, err):
        self.args, self.rc, self.out, self.err = args, rc, out, err

    def json(self):
        return json.loads(self.out)


def run(args, rc=0, cwd=None, env=None, timeout=300):
    """Runs detgrid with args; asserts the exit code (rc=None: any)."""
    args = [str(a) for a in args]
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([BIN] + args, cwd=cwd, env=e, capture_output=True,
                       text=True, timeout=timeout)
    r = Result(args, p.returncode, p.stdout, p.stderr)
    if rc is not None and p.returncode != rc:
        raise AssertionError(
            "detgrid %s: exit %d, expected %d\n--- stdout\n%s\n--- stderr\n%s" %
            (" ".join(args), p.returncode, rc, p.stdout[-4000:], p.stderr[-4000:]))
    return r


def cocoeval(gt_path, dt_path):
    """pycocotools' COCOeval on two COCO files (iouType 'bbox', default
    Params), evaluated, accumulated and summarised with its prints
    swallowed. The peer itself, for tests that claim its numbers."""
    import contextlib
    import io
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(gt_path)
        dt = gt.loadRes(dt_path)
        e = COCOeval(gt, dt, "bbox")
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e


def metrics_json(path, conf=None, iou=None, inf=None):
    a = ["metrics", path, "--json", "--compact"]
    if conf is not None:
        a += ["--conf", repr(float(conf))]
    if iou is not None:
        a += ["--iou", repr(float(iou))]
    if inf is not None:
        a += ["--inferences", inf]
    return run(a).json()


class TempDir:
    def __init__(self, prefix="dgtest-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


# --------------------------------------------------------------------------
# Reading projects with h5py


def _strings(ds):
    v = ds[()]
    out = []
    for s in np.atleast_1d(v):
        out.append(s.decode("utf-8") if isinstance(s, bytes) else str(s))
    return out


class BoxSet:
    """One /labels or /inferences/<name> group as numpy arrays (file order)."""

    def __init__(self, frame, cls, x, y, w, h, score=None, iscrowd=None,
                 ignore=None, area=None, frame_offsets=None):
        n = len(frame)
        self.frame = np.asarray(frame, np.int64)
        self.cls = np.asarray(cls, np.int64)
        self.x = np.asarray(x, np.float64)
        self.y = np.asarray(y, np.float64)
        self.w = np.asarray(w, np.float64)
        self.h = np.asarray(h, np.float64)
        self.score = None if score is None else np.asarray(score, np.float64)
        self.iscrowd = (np.zeros(n, np.uint8) if iscrowd is None
                        else np.asarray(iscrowd, np.uint8))
        self.ignore = (np.zeros(n, np.uint8) if ignore is None
                       else np.asarray(ignore, np.uint8))
        self.area = area
        self.frame_offsets = frame_offsets

    def __len__(self):
        return len(self.frame)

    def take(self, idx):
        """The records idx, in that order."""
        idx = np.asarray(idx, np.int64)
        return BoxSet(self.frame[idx], self.cls[idx], self.x[idx], self.y[idx],
                      self.w[idx], self.h[idx],
                      None if self.score is None else self.score[idx],
                      self.iscrowd[idx], self.ignore[idx],
                      None if self.area is None else np.asarray(self.area)[idx])

    def stable_frame_order(self):
        return np.argsort(self.frame, kind="stable")


def read_boxset(g):
    def opt(k):
        return g[k][()] if k in g else None
    return BoxSet(g["frame"][()], g["class"][()], g["x"][()], g["y"][()],
                  g["w"][()], g["h"][()], opt("score"), opt("iscrowd"),
                  opt("ignore"), opt("area"), opt("frame_offsets"))


class Project:
    def __init__(self, path):
        import h5py
        with h5py.File(path, "r") as f:
            self.attrs = dict(f.attrs)
            self.class_names = _strings(f["classes/name"])
            self.class_ids = (list(f["classes/id"][()]) if "classes/id" in f
                              else list(range(1, len(self.class_names) + 1)))
            self.frame_ids = _strings(f["frames/id"])
            self.labels = read_boxset(f["labels"])
            self.inferences = {}
            if "inferences" in f:
                for k in f["inferences"]:
                    self.inferences[k] = read_boxset(f["inferences"][k])
            self.results = {}
            if "results" in f:
                for k in f["results"]:
                    g = f["results"][k]
                    r = {a: g.attrs[a] for a in g.attrs}
                    # (a one-threshold grid may come back as a scalar; the
                    # stored shape is checked in test_cli)
                    if "iou_thresholds" in r:
                        r["iou_thresholds"] = np.atleast_1d(r["iou_thresholds"])
                    for d in g:
                        r[d] = decode_rows(g[d])
                    self.results[k] = r
        self.n_classes = len(self.class_names)
        self.n_frames = len(self.frame_ids)


# --------------------------------------------------------------------------
# The oracle


def box_iou(dx, dy, dw, dh, gx, gy, gw, gh, crowd):
    """IoU of a detection and a ground truth box, in double, in the order of
    operations pycocotools uses; crowd: intersection over detection area."""
    iw = min(dx + dw, gx + gw) - max(dx, gx)
    if iw <= 0:
        return 0.0
    ih = min(dy + dh, gy + gh) - max(dy, gy)
    if ih <= 0:
        return 0.0
    inter = iw * ih
    da = dw * dh
    if crowd:
        union = da
    else:
        ga = gw * gh
        union = da + ga - inter
    return inter / union


def match(labels, dets, thresholds, ignore_flag=None):
    """Class-wise greedy matching of dets (BoxSet with score) against labels
    at each threshold.

    ignore_flag: per label, the flag that makes a ground truth ignored
    (default: iscrowd or ignore). Crowd IoU and 'can be matched again' use
    labels.iscrowd.

    Returns (status, matched): int arrays [T, N] indexed by detection record:
    status 0 FP, 1 TP, 2 ignored; matched = label record index or -1.
    """
    T = len(thresholds)
    N = len(dets)
    status = np.zeros((T, N), np.int64)
    matched = np.full((T, N), -1, np.int64)
    if ignore_flag is None:
        ign_all = (labels.iscrowd != 0) | (labels.ignore != 0)
    else:
        ign_all = np.asarray(ignore_flag) != 0
    crowd_all = labels.iscrowd != 0
    groups_g = {}
    for i in range(len(labels)):
        groups_g.setdefault((int(labels.frame[i]), int(labels.cls[i])), []).append(i)
    groups_d = {}
    for i in range(N):
        groups_d.setdefault((int(dets.frame[i]), int(dets.cls[i])), []).append(i)
    lx, ly, lw, lh = (labels.x.tolist(), labels.y.tolist(), labels.w.tolist(),
                      labels.h.tolist())
    dx, dy, dw, dh = (dets.x.tolist(), dets.y.tolist(), dets.w.tolist(),
                      dets.h.tolist())
    sc = dets.score.tolist()
    limits = [min(float(t), 1 - 1e-10) for t in thresholds]
    for key, dl in groups_d.items():
        gl = groups_g.get(key, [])
        # ground truths: regular first, then ignored, each in input order
        gord = [g for g in gl if not ign_all[g]] + [g for g in gl if ign_all[g]]
        gign = [bool(ign_all[g]) for g in gord]
        gcrowd = [bool(crowd_all[g]) for g in gord]
        # detections: descending score, ties in input order (stable sort)
        dord = sorted(dl, key=lambda d: -sc[d])
        ious = [[box_iou(dx[d], dy[d], dw[d], dh[d], lx[g], ly[g], lw[g],
                         lh[g], gcrowd[j]) for j, g in enumerate(gord)]
                for d in dord]
        for t in range(T):
            taken = [False] * len(gord)
            for di, d in enumerate(dord):
                best = limits[t]
                m = -1
                row = ious[di]
                for j in range(len(gord)):
                    if taken[j] and not gcrowd[j]:
                        continue
                    if m > -1 and not gign[m] and gign[j]:
                        break
                    if row[j] < best:
                        continue
                    best = row[j]
                    m = j
                if m == -1:
                    continue
                taken[m] = True
                status[t, d] = 2 if gign[m] else 1
                matched[t, d] = gord[m]
    return status, matched


def sorted_order(dets):
    """Result order: class ascending, score descending, record ascending."""
    return sorted(range(len(dets)),
                  key=lambda i: (int(dets.cls[i]), -float(dets.score[i]), i))


class Oracle:
    """Matching of one inference set plus count queries at any (conf, t)."""

    def __init__(self, labels, dets, thresholds, n_classes, ignore_flag=None):
        self.thresholds = [float(t) for t in thresholds]
        self.n_classes = n_classes
        self.dets = dets
        self.labels = labels
        self.status, self.matched = match(labels, dets, thresholds, ignore_flag)
        if ignore_flag is None:
            ign = (labels.iscrowd != 0) | (labels.ignore != 0)
        else:
            ign = np.asarray(ignore_flag) != 0
        self.n_gt = np.bincount(labels.cls[~ign], minlength=n_classes)[:n_classes]
        self.order = np.array(sorted_order(dets), np.int64)

    def t_index(self, iou):
        for i, t in enumerate(self.thresholds):
            if abs(t - iou) <= 1e-9:
                return i
        raise KeyError(iou)

    def counts(self, conf, t):
        """Per class (tp, fp, fn, n_gt) lists at score >= conf, threshold index t."""
        sel = self.dets.score >= conf
        st = self.status[t]
        cls = self.dets.cls
        C = self.n_classes
        tp = np.bincount(cls[sel & (st == 1)], minlength=C)[:C]
        fp = np.bincount(cls[sel & (st == 0)], minlength=C)[:C]
        fn = self.n_gt - tp
        return [(int(tp[k]), int(fp[k]), int(fn[k]), int(self.n_gt[k]))
                for k in range(C)]

    def curve(self, cls, t):
        """[(conf, tp, fp, fn)] at every distinct score of class cls, descending."""
        m = self.dets.cls == cls
        sc = self.dets.score[m]
        st = self.status[t][m]
        o = np.argsort(-sc, kind="stable")
        sc, st = sc[o], st[o]
        out = []
        tp = fp = 0
        n_gt = int(self.n_gt[cls])
        for i in range(len(sc)):
            tp += int(st[i] == 1)
            fp += int(st[i] == 0)
            if i + 1 == len(sc) or sc[i + 1] != sc[i]:
                out.append((float(sc[i]), tp, fp, n_gt - tp))
        return out


def prf(tp, fp, fn):
    """precision, recall, F1 (None where undefined)."""
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    d = 2 * tp + fp + fn
    f = 2 * tp / d if d else None
    return p, r, f


def expected_metrics(counts):
    """Per-class and overall values from oracle counts, as metrics --json."""
    classes = []
    mt = mf = mn = 0
    sums = {"precision": [], "recall": [], "f1": []}
    for tp, fp, fn, n_gt in counts:
        p, r, f = prf(tp, fp, fn)
        classes.append({"tp": tp, "fp": fp, "fn": fn, "n_gt": n_gt,
                        "precision": p, "recall": r, "f1": f})
        for k, v in (("precision", p), ("recall", r), ("f1", f)):
            if v is not None:
                sums[k].append(v)
        mt, mf, mn = mt + tp, mf + fp, mn + fn
    p, r, f = prf(mt, mf, mn)
    micro = {"tp": mt, "fp": mf, "fn": mn, "precision": p, "recall": r, "f1": f}
    macro = {}
    for k in ("precision", "recall", "f1"):
        v = sums[k]
        macro[k] = (sum(v) / len(v)) if v else None
        macro["classes_" + k] = len(v)
    return classes, micro, macro


def check_metrics(ck, got, counts, what, class_names=None):
    """Compares a metrics --json document with oracle counts."""
    classes, micro, macro = expected_metrics(counts)
    ck.eq(len(got["classes"]), len(classes), what + ": number of classes")
    for k, (g, e) in enumerate(zip(got["classes"], classes)):
        w = "%s class %d (%s)" % (what, k, g.get("name"))
        if class_names is not None:
            ck.eq(g["name"], class_names[k], w + " name")
        for key in ("tp", "fp", "fn", "n_gt"):
            ck.eq(g[key], e[key], w + " " + key)
        for key in ("precision", "recall", "f1"):
            ck.close(g[key], e[key], w + " " + key)
    gm = got["overall"]["micro"]
    for key in ("tp", "fp", "fn"):
        ck.eq(gm[key], micro[key], what + " micro " + key)
    for key in ("precision", "recall", "f1"):
        ck.close(gm[key], micro[key], what + " micro " + key)
    ga = got["overall"]["macro"]
    for key in ("precision", "recall", "f1"):
        ck.close(ga[key], macro[key], what + " macro " + key)
        ck.eq(ga["classes_" + key], macro["classes_" + key],
              what + " macro classes_" + key)


def decode_rows(ds):
    """A results dataset as stored, undoing the documented row encoding
    (docs/FORMAT.md: encoding = "xor-previous-row")."""
    a = ds[()]
    enc = ds.attrs.get("encoding")
    if isinstance(enc, bytes):
        enc = enc.decode()
    if enc == "xor-previous-row":
        u = a.view(np.uint32).copy()
        for t in range(1, u.shape[0]):
            u[t] ^= u[t - 1]
        a = u.view(np.int32)
    elif enc is not None:
        raise AssertionError("unknown encoding %r of %s" % (enc, ds.name))
    return a


def check_results(ck, proj, name, oracle, what):
    """Compares the stored /results/<name> tables with the oracle."""
    r = proj.results[name]
    dets = proj.inferences[name]
    N = len(dets)
    T = len(oracle.thresholds)
    ck.eq(int(r["results_version"]), 2, what + " results_version")
    ck.array_eq(np.asarray(r["iou_thresholds"], np.float64),
                np.asarray(oracle.thresholds), what + " iou_thresholds")
    ck.array_eq(r["order"].astype(np.int64), oracle.order, what + " order")
    ck.array_eq(r["score"], dets.score[oracle.order], what + " score")
    offs = np.zeros(proj.n_classes + 1, np.int64)
    offs[1:] = np.cumsum(np.bincount(dets.cls, minlength=proj.n_classes))
    ck.array_eq(r["class_offsets"].astype(np.int64), offs, what + " class_offsets")
    ck.array_eq(r["gt_count"].astype(np.int64), oracle.n_gt, what + " gt_count")
    ck.eq(int(r["n_gt"]), len(proj.labels), what + " n_gt attribute")
    ck.eq(r["status"].shape, (T, N), what + " status shape")
    ck.eq(r["matched"].shape, (T, N), what + " matched shape")
    ck.array_eq(r["status"].astype(np.int64), oracle.status[:, oracle.order],
                what + " status")
    ck.array_eq(r["matched"].astype(np.int64), oracle.matched[:, oracle.order],
                what + " matched")


def query_points(rng, scores, thresholds, n_random=30):
    """(conf, iou) points: conf 0 and 1, exact detection scores, their
    neighbouring doubles, random values; every threshold appears."""
    ts = [float(t) for t in thresholds]
    confs = [0.0, 1.0]
    s = np.unique(np.asarray(scores, np.float64))
    if len(s):
        for v in rng.choice(s, size=min(len(s), max(4, n_random // 3)),
                            replace=False):
            v = float(v)
            confs += [v, math.nextafter(v, math.inf), math.nextafter(v, -math.inf)]
        confs += [float(s[0]), float(s[-1])]
    while len(confs) < n_random:
        confs.append(float(rng.uniform(0, 1)))
    # in [0, 1]; no subnormal numbers (the doubles next to 0)
    confs = [c for c in confs if c == 0.0 or 1e-300 < c <= 1.0]
    pts = []
    for i, c in enumerate(confs):
        pts.append((c, ts[i % len(ts)]))
    for t in ts:  # every stored threshold, also at a random tie score
        pts.append((float(rng.choice(s)) if len(s) else 0.5, t))
    return pts
