"""The Python package under bad input, repetition and threads:

  (a) the catalogue of bad inputs (tests/test_bad_inputs.py's JSON and
      project-file cases): each raises the detgrid.Error subclass of its
      status with exactly the message the CLI prints after "error: ";
      through COCO(dict) and loadRes(list) the messages name the record and
      field too; nothing crashes;
  (b) no leaks: hundreds of evaluations, drop-in runs and queries leave
      Python's allocations (tracemalloc), the live objects (gc) and the
      process's resident memory where they were; sys.gettotalrefcount
      where the interpreter has it (debug builds);
  (c) threads: two projects evaluated on two threads give the results of
      one after the other; one project shared by threads gives the same
      answers; a long call lets another Python thread run (the GIL is
      released); a forked child evaluates (device discovery ahead of time
      never leaves it a half-loaded OpenCL).
"""

import contextlib
import gc
import io
import json
import os
import sys
import threading
import time
import warnings
import tracemalloc

import numpy as np

import dgtest
import test_bad_inputs as bad
from dgtest import Checker, TempDir, run

detgrid = dgtest.import_detgrid()


def cli_error(args):
    r = run(args, rc=None)
    lines = [ln[len("error: "):] for ln in r.err.splitlines()
             if ln.startswith("error: ")]
    return r.rc, lines[0] if lines else None


def raises(fn):
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            fn()
    except detgrid.Error as e:
        return e
    except Exception as e:  # reported by the caller as the wrong kind
        return e
    return None


def test_catalogue(ck, d):
    out = os.path.join(d, "never.h5")
    # Files that cannot be read: FileError, the CLI's message.
    missing = os.path.join(d, "missing.json")
    for path, cls in ((missing, detgrid.FileError), (d, detgrid.FileError)):
        e = raises(lambda: detgrid.COCO(path))
        _, msg = cli_error(["import", "coco", "--gt", path, "-o", out])
        ck.ok(isinstance(e, cls), "%s: %r" % (path, e))
        ck.eq(str(e), msg, "message of " + path)
        ck.ok(isinstance(e, OSError), "FileError is an OSError")
    # The JSON cases of the catalogue, through a file.
    cases = [
        ("not-json", "hello"), ("top-array", "[1, 2]"),
        ("images-object", bad.gt_variant(images={"id": 1})),
        ("id-string", bad.gt_variant(images=[{"id": "1"}])),
        ("bbox-short", bad.gt_variant(annotations=[bad.ann(bbox=[1, 2, 3])])),
        ("dup-image", bad.gt_variant(images=[{"id": 1}, {"id": 1}])),
        ("dup-category", bad.gt_variant(categories=[{"id": 1, "name": "a"},
                                                    {"id": 1, "name": "b"}])),
        ("unknown-image", bad.gt_variant(annotations=[bad.ann(image_id=7)])),
        ("unknown-category",
         bad.gt_variant(annotations=[bad.ann(category_id=9)])),
        ("negative-w",
         bad.gt_variant(annotations=[bad.ann(bbox=[0, 0, -1, 1])])),
        ("empty", bad.gt_variant(images=[], annotations=[])),
        ("no-classes", bad.gt_variant(categories=[], annotations=[])),
        ("huge-id", bad.gt_variant(images=[{"id": 10 ** 23}],
                                   annotations=[])),
    ]
    for name, content in cases:
        p = os.path.join(d, name + ".json")
        with open(p, "w") as f:
            f.write(content)
        e = raises(lambda: detgrid.COCO(p))
        _, msg = cli_error(["import", "coco", "--gt", p, "-o", out])
        ck.ok(isinstance(e, detgrid.FormatError), "%s: %r" % (name, e))
        ck.eq(str(e), msg, "COCO(path) " + name)
        ck.ok(isinstance(e, ValueError), name + ": a ValueError")
    # The same ground truths as dicts name the record and field.
    for name, gt, want in (
            ("dup-image", json.loads(bad.gt_variant(images=[{"id": 1},
                                                            {"id": 1}])),
             "images[1]: field 'id': duplicate image 1 (also images[0])"),
            ("unknown-category",
             json.loads(bad.gt_variant(annotations=[bad.ann(category_id=9)])),
             "annotations[0]: field 'category_id': unknown category 9"),
            ("negative-h",
             json.loads(bad.gt_variant(
                 annotations=[bad.ann(bbox=[0, 0, 1, -2.5])])),
             "annotations[0]: field 'bbox': height is negative (-2.5)"),
            ("bbox-string",
             json.loads(bad.gt_variant(annotations=[bad.ann(bbox="1,2")])),
             "[0]: field 'bbox': not an array of 4 numbers"),
            ("no-bbox", {"images": [{"id": 1}], "categories":
                         [{"id": 1, "name": "a"}],
                         "annotations": [{"image_id": 1, "category_id": 1}]},
             "[0]: field 'bbox': missing"),
            ("cat-no-name", {"images": [{"id": 1}], "categories": [{"id": 1}],
                             "annotations": []},
             "categories[0]: field 'name': missing")):
        e = raises(lambda: detgrid.COCO(gt))
        ck.ok(isinstance(e, detgrid.FormatError), "dict %s: %r" % (name, e))
        ck.contains(str(e), want, what="COCO(dict) " + name)
    # Results files and lists against a good ground truth.
    gp = os.path.join(d, "gt.json")
    with open(gp, "w") as f:
        json.dump(bad.GT, f)
    proj = os.path.join(d, "good.h5")
    run(["import", "coco", "--gt", gp, "-o", proj])
    with contextlib.redirect_stdout(io.StringIO()):
        gt = detgrid.COCO(gp)

    def det(**kv):
        a = dict(bad.DT[0])
        a.update(kv)
        return [a]
    dcases = [
        ("unknown-image", det(image_id=5),
         "[0]: field 'image_id': unknown image 5"),
        ("score-missing", [{k: v for k, v in bad.DT[0].items()
                            if k != "score"}], "[0]: field 'score': missing"),
        ("negative", det(bbox=[0, 0, 5, -1]),
         "[0]: field 'bbox': height is negative (-1)"),
    ]
    # What pycocotools' loadRes takes, the drop-in takes too (the CLI
    # warns and goes on, --strict refuses): a category the ground truth
    # lacks, a score outside [0, 1].
    for name, dets in (("unknown-category", det(category_id=2)),
                       ("score-high", det(score=1.5))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.redirect_stdout(io.StringIO()):
                r = gt.loadRes(dets)
        ck.eq(len(r.anns), 1, "loadRes(%s) keeps the record" % name)
    for name, dets, msg in dcases:
        p = os.path.join(d, "dt-%s.json" % name)
        with open(p, "w") as f:
            json.dump(dets, f)
        e = raises(lambda: gt.loadRes(p))
        _, cli = cli_error(["import", "coco", "--dt", p, "--name", "m", "-o",
                            proj])
        ck.ok(isinstance(e, detgrid.FormatError), "loadRes %s: %r" % (name, e))
        ck.eq(str(e), cli, "loadRes(path) " + name)
        ck.eq(str(e), "'%s': %s" % (p, msg), "loadRes(path) message " + name)
        e = raises(lambda: gt.loadRes(dets))
        ck.ok(isinstance(e, detgrid.FormatError), "list %s: %r" % (name, e))
        ck.contains(str(e), msg, what="loadRes(list) " + name)
    # Project files: versions, not HDF5, truncated.
    base = bad.small_project(bad.Catalogue(ck, d), "base.h5")
    import h5py
    for name, mutate, cls in (
            ("v2.h5", lambda f: f.attrs.__setitem__("format_version",
                                                    np.int32(2)),
             detgrid.VersionError),
            ("vnone.h5", lambda f: f.attrs.__delitem__("format_version"),
             detgrid.FormatError)):
        p = os.path.join(d, name)
        with open(base, "rb") as src, open(p, "wb") as dst:
            dst.write(src.read())
        with h5py.File(p, "a") as f:
            mutate(f)
        e = raises(lambda: detgrid.Project(p))
        _, msg = cli_error(["info", p])
        ck.ok(isinstance(e, cls), "%s: %r" % (name, e))
        ck.eq(str(e), msg, "Project(%s)" % name)
    txt = os.path.join(d, "text.h5")
    with open(txt, "w") as f:
        f.write("hello\n")
    e = raises(lambda: detgrid.Project(txt))
    ck.ok(isinstance(e, detgrid.Error), "not HDF5: %r" % e)
    ck.eq(str(e), cli_error(["info", txt])[1], "Project(not HDF5)")
    data = open(base, "rb").read()
    for k in (64, len(data) // 2):
        t = os.path.join(d, "trunc-%d.h5" % k)
        with open(t, "wb") as f:
            f.write(data[:k])
        e = raises(lambda: detgrid.Project(t).metrics())
        ck.ok(isinstance(e, detgrid.Error), "truncated %d: %r" % (k, e))
    # Queries that cannot be answered.
    P = detgrid.Project(base)
    for fn, cls, needle in (
            (lambda: P.metrics("nope"), detgrid.NotFoundError, "nope"),
            (lambda: P.metrics(iou=0.33), detgrid.Error, "0.33"),
            (lambda: P.metrics(segment="nope"), detgrid.NotFoundError,
             "nope"),
            (lambda: P.confusion(normalize="rows"),
             detgrid.InvalidArgumentError, "normalize"),
            (lambda: P.examples(("background", "background")),
             detgrid.InvalidArgumentError, "background"),
            (lambda: P.sweep(cls="nope"), detgrid.NotFoundError, "nope"),
            (lambda: P.embeddings(), detgrid.NotFoundError, "embeddings")):
        e = raises(fn)
        ck.ok(isinstance(e, cls), "%s expected, got %r" % (cls.__name__, e))
        ck.contains(str(e), needle, what=str(e))
    P.close()
    e = raises(lambda: P.info())
    ck.ok(isinstance(e, ValueError) and "closed" in str(e), "closed project")


def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def test_leaks(ck, d):
    gp, pre = os.path.join(d, "lk-gt.json"), os.path.join(d, "lk")
    run(["synth", "--coco-gt", gp, "--coco-dt-prefix", pre, "--seed", "2",
         "--frames", "30", "--classes", "4"])
    dp = pre + "-model-a.json"
    with open(dp) as f:
        dets = json.load(f)
    t = {"image_id": [1, 1, 2], "category_id": [1, 2, 1],
         "bbox": [[0, 0, 10, 10], [5, 5, 10, 10], [1, 1, 4, 4]]}
    p = {"image_id": [1, 2], "category_id": [1, 1],
         "bbox": [[0, 0, 10, 10], [1, 1, 4, 4]], "score": [0.9, 0.8]}
    proj = os.path.join(d, "lk.h5")
    run(["import", "coco", "--gt", gp, "--dt", dp, "--name", "m", "-o", proj])
    run(["eval", proj, "-q"])

    def once():
        with contextlib.redirect_stdout(io.StringIO()):
            g = detgrid.COCO(gp)
            r = g.loadRes(dets)
            e = detgrid.COCOeval(g, r, "bbox")
            e.params.maxDets = [1, 5, 50]
            e.evaluate()
            e.accumulate()
            e.summarize()
        x = detgrid.evaluate(t, p)
        x.metrics()
        x.confusion_matrix()
        P = detgrid.Project(proj)
        P.metrics()
        P.coco_result()
        P.examples(("background", "person"))
        P.label_errors(limit=3)
        P.compare("m", "m", resamples=20)
        P.close()
        try:
            detgrid.evaluate(t, dict(p, score=[0.9, 2.0]))
        except detgrid.FormatError:
            pass
    for _ in range(20):  # warm up caches, interned strings, numpy
        once()
    gc.collect()
    total = getattr(sys, "gettotalrefcount", None)
    refs0 = total() if total else None
    objs0 = len(gc.get_objects())
    rss0 = rss_kb()
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    n = 200
    for _ in range(n):
        once()
    gc.collect()
    snap1 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    objs1 = len(gc.get_objects())
    rss1 = rss_kb()
    print("leaks: %d iterations: Python heap %+d bytes, %+d objects, RSS "
          "%+d kB" % (n, grown, objs1 - objs0, rss1 - rss0))
    # A leak of one object or buffer per call would be n of them.
    ck.ok(grown < 64 * 1024, "Python allocations grew by %d bytes" % grown)
    ck.ok(objs1 - objs0 < n // 2, "live objects grew by %d" % (objs1 - objs0))
    # The C side: a leaked COCO result (arrays of 10 x 101 x K x 4 x 3
    # doubles) or project per call would be megabytes.
    ck.ok(rss1 - rss0 < 8 * 1024, "RSS grew by %d kB" % (rss1 - rss0))
    if total:
        ck.ok(total() - refs0 < n, "total refcount grew")


def test_threads(ck, d):
    pa, pb = os.path.join(d, "ta.h5"), os.path.join(d, "tb.h5")
    for path, seed in ((pa, "11"), (pb, "12")):
        run(["synth", "-o", path, "--seed", seed, "--frames", "400",
             "--classes", "8", "--low-score-fp", "20"])
    A, B = detgrid.Project(pa), detgrid.Project(pb)
    want = {}
    for name, P in (("a", A), ("b", B)):
        P.eval(save=False)
        want[name] = (P.coco_result()["stats"].tolist(),
                      P.metrics(conf=0.3), P.confusion(conf=0.4))
    got, errors = {}, []

    def work(name, P):
        try:
            for _ in range(3):
                P.eval(save=False)
                got[name] = (P.coco_result()["stats"].tolist(),
                             P.metrics(conf=0.3), P.confusion(conf=0.4))
        except Exception as e:
            errors.append(e)
    th = [threading.Thread(target=work, args=a) for a in
          (("a", A), ("b", B))]
    for x in th:
        x.start()
    for x in th:
        x.join()
    ck.eq(errors, [], "no errors on threads")
    ck.eq(got, want, "two projects on two threads = one after the other")

    # One project shared by four threads: calls take turns.
    res, errors = [], []

    def shared():
        try:
            for _ in range(5):
                res.append((A.metrics(conf=0.25)["overall"],
                            A.coco()["stats"]))
        except Exception as e:
            errors.append(e)
    th = [threading.Thread(target=shared) for _ in range(4)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    ck.eq(errors, [], "no errors sharing a project")
    ck.eq(len(res), 20, "every shared call answered")
    ck.ok(all(r == res[0] for r in res), "shared calls agree")

    # Failing calls on a shared project each get their own message (kept
    # while the call held the project).
    wrong = []

    def failing(k):
        v = "0.%d3" % (k + 1)
        for _ in range(30):
            try:
                A.metrics(iou=float(v))
            except detgrid.NotFoundError as e:
                if ("IoU threshold %s was not evaluated" % v) not in str(e):
                    wrong.append(str(e))
    th = [threading.Thread(target=failing, args=(k,)) for k in range(4)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    ck.eq(wrong, [], "each failing call its own message")

    # The GIL is released: a counting thread runs while one C call (the
    # COCO evaluation, or eval) is in progress.
    count = [0]
    stop = threading.Event()

    def counter():
        while not stop.is_set():
            count[0] += 1
    h = A._p
    th = threading.Thread(target=counter)
    th.start()
    time.sleep(0.05)
    c0 = count[0]
    t0 = time.perf_counter()
    h.eval("model-a", None)
    h.coco("model-a")
    secs = time.perf_counter() - t0
    c1 = count[0]
    stop.set()
    th.join()
    print("threads: %d counts during %.3f s of library calls" %
          (c1 - c0, secs))
    ck.ok(c1 - c0 > 100, "another thread ran during the calls (GIL "
          "released): %d counts" % (c1 - c0))
    A.close()
    B.close()


FORK_SCRIPT = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
import detgrid
t = {"image_id": [1, 2], "category_id": [1, 1],
     "bbox": [[0, 0, 10, 10], [1, 1, 4, 4]]}
p = {"image_id": [1, 2], "category_id": [1, 1],
     "bbox": [[0, 0, 10, 10], [1, 1, 4, 4]], "score": [0.9, 0.8]}
detgrid._detgrid.warm_devices()    # the platforms start loading ...
pid = os.fork()                    # ... and the fork comes at once
if pid == 0:
    r = detgrid.evaluate(t, p)
    os._exit(0 if abs(r.stats[0] - 1.0) < 1e-12 else 3)
_, status = os.waitpid(pid, 0)
r = detgrid.evaluate(t, p)
sys.exit(status >> 8 or (0 if abs(r.stats[0] - 1.0) < 1e-12 else 4))
"""


def test_fork(ck, d):
    """Loading the OpenCL platforms ahead (warm_devices) cannot leave a
    forked child with a half-loaded OpenCL: a fork waits for it, and both
    processes evaluate afterwards."""
    import subprocess
    path = os.path.join(d, "fork.py")
    with open(path, "w") as f:
        f.write(FORK_SCRIPT)
    pkg = os.path.dirname(os.path.dirname(detgrid.__file__))
    for _ in range(3):
        r = subprocess.run([sys.executable, path, pkg], capture_output=True,
                           text=True, timeout=300)
        ck.eq(r.returncode, 0, "fork while the platforms load: %s" %
              r.stderr[-2000:])


def main():
    ck = Checker("test_python_robustness")
    with TempDir("dg-py-robust-") as d:
        test_catalogue(ck, d)
        test_leaks(ck, d)
        test_threads(ck, d)
        test_fork(ck, d)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
