"""detgrid voc and detgrid import <txt formats>, end to end.

The oracle here is an independent pure-Python VOC evaluator, written from the
rules in include/detgrid/voc.h (Cartucho's main.py and the VOC devkit's): it
reads the text files itself and shares no code with detgrid. It is checked
against the published numbers of the shared data sets, then detgrid is
checked against it on those and on random folders full of ties, difficult
boxes, duplicates and classes that appear on one side only.
"""

import json
import os
import random
import sys

import dgtest
from dgtest import (EXIT_ERROR, EXIT_USAGE, Checker, Oracle, Project, TempDir,
                    run)

SHARED = dgtest.SHARED_DATA
CARTUCHO = os.path.join(SHARED, "cartucho_map_sample")
PADILLA1 = os.path.join(SHARED, "rafaelpadilla_toy_voc", "test_case_1")

# The table in cartucho_map_sample/PROVENANCE.md (windowblind is in the mAP
# but not in the printed excerpt).
CARTUCHO_TABLE = {
    "backpack": "22.73", "bed": "85.94", "book": "17.52", "bookcase": "14.29",
    "bottle": "23.48", "bowl": "31.86", "cabinetry": "7.93", "chair": "53.84",
    "coffeetable": "4.55", "countertop": "19.05", "cup": "42.50",
    "diningtable": "39.66", "doll": "0.00", "heater": "7.69",
    "person": "42.86", "pictureframe": "17.71", "pillow": "13.01",
    "pottedplant": "62.31", "remote": "73.21", "shelf": "0.00",
    "sink": "16.33", "sofa": "90.48", "tap": "1.39", "tincan": "0.00",
    "tvmonitor": "63.25", "vase": "18.75", "wastecontainer": "45.45",
    "door": "20.69", "nightstand": "71.43",
}


# --------------------------------------------------------------------------
# The oracle


def read_folder(gt_dir, dt_dir, box="xyxy"):
    """{frame: [(cls, x1, y1, x2, y2, difficult)]} and
    [(frame, cls, conf, x1, y1, x2, y2)] in file-name then line order."""
    gt = {}
    for fn in sorted(os.listdir(gt_dir)):
        if not fn.endswith(".txt"):
            continue
        rows = []
        for line in open(os.path.join(gt_dir, fn)):
            f = line.split()
            if not f:
                continue
            v = [float(x) for x in f[1:5]]
            if box == "xywh":
                v = [v[0], v[1], v[0] + v[2], v[1] + v[3]]
            rows.append((f[0], v[0], v[1], v[2], v[3], len(f) == 6))
        gt[fn[:-4]] = rows
    dt = []
    for fn in sorted(os.listdir(dt_dir)):
        if not fn.endswith(".txt"):
            continue
        for line in open(os.path.join(dt_dir, fn)):
            f = line.split()
            if not f:
                continue
            v = [float(x) for x in f[2:6]]
            if box == "xywh":
                v = [v[0], v[1], v[0] + v[2], v[1] + v[3]]
            dt.append((fn[:-4], f[0], float(f[1]), v[0], v[1], v[2], v[3]))
    return gt, dt


def iou(a, b, plus1):
    one = 1.0 if plus1 else 0.0
    iw = min(a[2], b[2]) - max(a[0], b[0]) + one
    ih = min(a[3], b[3]) - max(a[1], b[1]) + one
    if iw <= 0 or ih <= 0:
        return 0.0
    ua = ((a[2] - a[0] + one) * (a[3] - a[1] + one) +
          (b[2] - b[0] + one) * (b[3] - b[1] + one) - iw * ih)
    return iw * ih / ua


def ap_all(rec, prec):
    mrec = [0.0] + list(rec) + [1.0]
    mpre = [0.0] + list(prec) + [0.0]
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    ap = 0.0
    for i in range(1, len(mrec)):
        if mrec[i] != mrec[i - 1]:
            ap += (mrec[i] - mrec[i - 1]) * mpre[i]
    return ap


def ap_11(rec, prec, exact):
    # numpy.linspace(0, 1, 11) without numpy: i * 0.1, the last exactly 1.
    pts = [i / 10 if exact else (1.0 if i == 10 else i * 0.1) for i in range(11)]
    s = 0.0
    for r in reversed(pts):
        ps = [p for q, p in zip(rec, prec) if q >= r]
        s += max(ps) if ps else 0.0
    return s / 11


def voc_eval(gt, dt, thr=0.5, plus1=True, protocol="voc12", exact=False):
    """{class: ap or None}, mAP."""
    classes = sorted({r[0] for rows in gt.values() for r in rows} |
                     {d[1] for d in dt})
    out = {}
    for c in classes:
        n_gt = sum(1 for rows in gt.values() for r in rows
                   if r[0] == c and not r[5])
        dets = sorted([d for d in dt if d[1] == c], key=lambda d: -d[2])
        used = set()
        tp = fp = 0
        rec, prec = [], []
        for d in dets:
            best, match = -1.0, None
            for j, r in enumerate(gt.get(d[0], [])):
                if r[0] != c:
                    continue
                v = iou(d[3:7], r[1:5], plus1)
                if v > 0 and v > best:
                    best, match = v, j
            if match is not None and best >= thr:
                if gt[d[0]][match][5]:
                    continue
                if (d[0], match) in used:
                    fp += 1
                else:
                    used.add((d[0], match))
                    tp += 1
            else:
                fp += 1
            rec.append(tp / n_gt if n_gt else float("nan"))
            prec.append(tp / (tp + fp))
        if not n_gt:
            out[c] = None
        elif protocol == "voc12":
            out[c] = ap_all(rec, prec)
        else:
            out[c] = ap_11(rec, prec, exact)
    aps = [a for a in out.values() if a is not None]
    return out, (sum(aps) / len(aps) if aps else None)


# --------------------------------------------------------------------------
# Helpers


def voc_json(args):
    return run(["voc"] + args + ["--json", "--compact"]).json()


def check_against(ck, j, want, mapv, what, tol=1e-12):
    got = {c["name"]: c["ap"] for c in j["classes"]}
    ck.eq(sorted(got), sorted(want), what + ": classes")
    for c, a in want.items():
        ck.close(got[c], a, "%s: AP of %s" % (what, c), rel=tol)
    ck.close(j["map"], mapv, what + ": mAP", rel=tol)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


# --------------------------------------------------------------------------
# Tests


def test_cartucho(ck, d):
    if not os.path.isdir(CARTUCHO):
        print("note: %s not found, Cartucho sample skipped" % CARTUCHO)
        return
    gt_dir = os.path.join(CARTUCHO, "ground-truth")
    dt_dir = os.path.join(CARTUCHO, "detection-results")
    gt, dt = read_folder(gt_dir, dt_dir)
    # The oracle reproduces the published table ...
    want, mapv = voc_eval(gt, dt)
    for c, s in CARTUCHO_TABLE.items():
        ck.eq("%.2f" % (100 * want[c]), s, "oracle: published AP of " + c)
    ck.eq("%.2f" % (100 * mapv), "31.05", "oracle: published mAP")
    w0, m0 = voc_eval(gt, dt, plus1=False)
    ck.eq("%.2f" % (100 * w0["chair"]), "53.30", "oracle: chair without +1")
    ck.eq("%.2f" % (100 * m0), "31.03", "oracle: mAP without +1")
    # ... and detgrid agrees with it, from folders and from a project.
    base = ["--format", "cartucho", "--gt-dir", gt_dir, "--dt-dir", dt_dir]
    j = voc_json(base)
    check_against(ck, j, want, mapv, "cartucho voc12")
    ck.eq(j["map_classes"], 30, "classes in the mAP")
    ck.eq(j["protocol"], "voc12", "protocol")
    ck.eq(j["plus1"], True, "plus1 by default")
    ck.eq(j["inferences"], "detection-results", "set named after the folder")
    check_against(ck, voc_json(base + ["--no-plus1"]), w0, m0,
                  "cartucho voc12 without +1")
    w7, m7 = voc_eval(gt, dt, protocol="voc07")
    check_against(ck, voc_json(base + ["--protocol", "voc07"]), w7, m7,
                  "cartucho voc07")
    for thr in (0.3, 0.75):
        w, m = voc_eval(gt, dt, thr=thr)
        check_against(ck, voc_json(base + ["--iou", str(thr)]), w, m,
                      "cartucho at %g" % thr)

    # The text table prints the published figures.
    out = run(["voc"] + base).out
    ck.contains(out, "mAP = 31.05% over 30 classes with ground truth",
                what="voc table")
    for line in out.splitlines():
        f = line.split()
        if f and f[0] in CARTUCHO_TABLE:
            ck.eq(f[-1], CARTUCHO_TABLE[f[0]] + "%", "table row " + f[0])
    ck.contains(out, "keyboard ", what="detection-only classes listed")

    # Import, then voc, eval and metrics on the project.
    p = os.path.join(d, "cartucho.h5")
    r = run(["import", "cartucho", "--gt-dir", gt_dir, "--dt-dir", dt_dir,
             "--name", "yolo", "-o", p])
    ck.contains(r.err, "wrote", "38 classes, 85 frames, 686 labels",
                what="import messages")
    check_against(ck, voc_json([p]), want, mapv, "cartucho from a project")
    check_against(ck, voc_json([p, "-i", "yolo", "--curves"]), want, mapv,
                  "cartucho from a project, with curves")
    jc = voc_json([p, "--curves"])
    chair = [c for c in jc["classes"] if c["name"] == "chair"][0]
    ck.eq(len(chair["curve"]["precision"]), chair["n_det"], "curve length")
    ck.eq(chair["curve"]["recall"][-1], chair["tp"] / chair["n_gt"],
          "last recall point")
    sc = chair["curve"]["score"]
    ck.ok(all(a >= b for a, b in zip(sc, sc[1:])), "curve scores descend")
    run(["eval", p, "-q", "--device", "ref"])
    P = Project(p)
    ck.eq(P.n_frames, 85, "frames")
    ck.eq(len(P.labels), 686, "labels")
    ck.eq(len(P.inferences["yolo"]), 494, "detections")
    o = Oracle(P.labels, P.inferences["yolo"],
               [float(t) for t in P.results["yolo"]["iou_thresholds"]],
               P.n_classes)
    for conf, thr in ((0.0, 0.5), (0.5, 0.5), (0.3, 0.75)):
        m = dgtest.metrics_json(p, conf, thr, "yolo")
        dgtest.check_metrics(ck, m, o.counts(conf, o.t_index(thr)),
                             "cartucho metrics at (%g, %g)" % (conf, thr),
                             P.class_names)


def test_padilla(ck):
    if not os.path.isdir(PADILLA1):
        print("note: %s not found, rafaelpadilla test_case_1 skipped" % PADILLA1)
        return
    g, dd = os.path.join(PADILLA1, "gts"), os.path.join(PADILLA1, "dets")
    base = ["--format", "padilla", "--gt-dir", g, "--dt-dir", dd]
    want = {0.1: (0.3333333333, 0.3371980676), 0.3: (0.2683982683, 0.2456866804),
            0.5: (0.0303030303, 0.0222222222), 0.75: (0.0, 0.0)}
    gt, dt = read_folder(g, dd, box="xywh")
    for thr, (a11, aall) in want.items():
        for proto, a in (("voc07", a11), ("voc12", aall)):
            j = voc_json(base + ["--protocol", proto, "--iou", str(thr)])
            ck.ok(abs(j["map"] - a) < 1e-10, "test_case_1 %s at %g: %r vs %r"
                  % (proto, thr, j["map"], a))
            w, m = voc_eval(gt, dt, thr=thr, protocol=proto)
            ck.close(j["map"], m, "oracle, test_case_1 %s at %g" % (proto, thr))
    j = voc_json(base + ["--protocol", "voc07", "--iou", "0.1",
                         "--recall-points", "exact"])
    ck.ok(abs(j["map"] - 0.3689064559) < 1e-10, "exact recall points")
    ck.eq(j["recall_points"], "exact", "recall_points in JSON")


def random_folders(rng, root, n_frames, n_classes):
    """Cartucho-format folders with integer boxes (many equal IoUs), coarse
    scores (many ties), difficult boxes, and classes on one side only."""
    names = ["c%d" % k for k in range(n_classes)]
    gt_dir, dt_dir = os.path.join(root, "gt"), os.path.join(root, "dt")
    os.makedirs(gt_dir)
    os.makedirs(dt_dir)
    for f in range(n_frames):
        fid = "img%03d" % rng.randrange(1000) + "_%d" % f
        gts, dts = [], []
        for _ in range(rng.randrange(0, 6)):
            c = rng.choice(names[:-1])  # the last class: detections only
            x, y = rng.randrange(0, 40), rng.randrange(0, 40)
            w, h = rng.randrange(0, 15), rng.randrange(0, 15)
            diff = " difficult" if rng.random() < 0.15 else ""
            gts.append("%s %d %d %d %d%s" % (c, x, y, x + w, y + h, diff))
            for _ in range(rng.choice((0, 1, 1, 2))):  # hits and duplicates
                j = [rng.randrange(-3, 4) for _ in range(4)]
                dts.append((c, x + j[0], y + j[1], max(x + j[0], x + w + j[2]),
                            max(y + j[1], y + h + j[3])))
        for _ in range(rng.randrange(0, 3)):  # background
            c = rng.choice(names)
            x, y = rng.randrange(0, 50), rng.randrange(0, 50)
            dts.append((c, x, y, x + rng.randrange(1, 10), y + rng.randrange(1, 10)))
        rng.shuffle(dts)
        write(os.path.join(gt_dir, fid + ".txt"), "".join(s + "\n" for s in gts))
        if dts or rng.random() < 0.5:
            write(os.path.join(dt_dir, fid + ".txt"), "".join(
                "%s %s %d %d %d %d\n" % (c, rng.choice(("0.1", "0.5", "0.5", "0.9",
                                                         "1", "0", "0.25")),
                                         a, b, cc, dd)
                for c, a, b, cc, dd in dts))
    return gt_dir, dt_dir


def test_random(ck, d):
    rng = random.Random(20240601)
    for case in range(12):
        root = os.path.join(d, "rand%d" % case)
        gt_dir, dt_dir = random_folders(rng, root, rng.randrange(1, 40),
                                        rng.randrange(2, 6))
        gt, dt = read_folder(gt_dir, dt_dir)
        p = os.path.join(root, "p.h5")
        run(["import", "voc-txt", "--gt-dir", gt_dir, "--dt-dir", dt_dir,
             "--name", "m", "-o", p])
        for proto in ("voc07", "voc12"):
            for plus1 in (True, False):
                for thr in (0.1, 0.5, 0.7):
                    w, m = voc_eval(gt, dt, thr, plus1, proto)
                    args = ["--protocol", proto, "--iou", str(thr)]
                    if not plus1:
                        args.append("--no-plus1")
                    what = "random %d %s %g plus1=%s" % (case, proto, thr, plus1)
                    j = voc_json(["--format", "voc-txt", "--gt-dir", gt_dir,
                                  "--dt-dir", dt_dir, "--name", "m"] + args)
                    check_against(ck, j, w, m, what)
                    ck.eq(voc_json([p] + args), j, what + ": project = folders")
        w, m = voc_eval(gt, dt, 0.5, True, "voc07", exact=True)
        check_against(ck, voc_json([p, "--protocol", "voc07", "--recall-points",
                                    "exact"]), w, m, "random %d exact" % case)


def test_yolo(ck, d):
    root = os.path.join(d, "yolo")
    write(os.path.join(root, "names"), "person\ncar\n")
    write(os.path.join(root, "sizes.txt"), "a.jpg 200 100\nb.jpg 200 100\n")
    write(os.path.join(root, "gt", "a.txt"), "0 0.5 0.5 0.5 0.5\n1 0.1 0.1 0.1 0.1\n")
    write(os.path.join(root, "dt", "a.txt"), "0 0.5 0.5 0.5 0.5 0.9\n")
    write(os.path.join(root, "dt", "b.txt"), "1 0.5 0.5 0.5 0.5 0.8\n")
    p = os.path.join(root, "y.h5")
    base = ["--gt-dir", os.path.join(root, "gt"), "--names",
            os.path.join(root, "names"), "--sizes", os.path.join(root, "sizes.txt")]
    run(["import", "yolo"] + base + ["--dt-dir", os.path.join(root, "dt"),
                                     "-o", p])
    P = Project(p)
    ck.eq(P.class_names, ["person", "car"], "yolo classes")
    ck.eq(P.frame_ids, ["a", "b"], "yolo frames (b from the detections)")
    ck.eq(list(P.labels.x), [50.0, 10.0], "yolo x")
    ck.eq(list(P.labels.w), [100.0, 20.0], "yolo w")
    j = voc_json([p])
    ck.eq([c["ap"] for c in j["classes"]], [1.0, 0.0], "yolo AP")
    j2 = voc_json(["--format", "yolo", "--dt-dir", os.path.join(root, "dt")] + base)
    ck.eq(j2["map"], j["map"], "yolo from folders")
    # --no-unlabeled-frames: b.txt is an error, nothing written.
    q = os.path.join(root, "q.h5")
    r = run(["import", "yolo"] + base + ["--dt-dir", os.path.join(root, "dt"),
                                         "--no-unlabeled-frames", "-o", q],
            rc=EXIT_ERROR)
    ck.contains(r.err, "error: '%s': no ground-truth file 'b.txt'"
                % os.path.join(root, "dt", "b.txt"), what="unlabeled frame")
    ck.ok(not os.path.exists(q), "nothing written on error")


def test_cli_errors(ck, d):
    root = os.path.join(d, "err")
    write(os.path.join(root, "gt", "a.txt"), "cat 1 2 3 4\n")
    write(os.path.join(root, "dt", "a.txt"), "cat 1.5 1 2 3 4\n")
    gt, dt = os.path.join(root, "gt"), os.path.join(root, "dt")
    out = os.path.join(root, "p.h5")
    r = run(["import", "cartucho", "--gt-dir", gt, "--dt-dir", dt, "-o", out],
            rc=EXIT_ERROR)
    ck.eq(r.err, "error: '%s': line 1: field 'confidence': out of range "
          "[0, 1] (1.5)\n" % os.path.join(dt, "a.txt"), "import error message")
    ck.ok(not os.path.exists(out), "nothing written on error")
    r = run(["voc", "--format", "cartucho", "--gt-dir", gt, "--dt-dir", dt],
            rc=EXIT_ERROR)
    ck.contains(r.err, "field 'confidence': out of range", what="voc error")
    ck.eq(r.out, "", "nothing on stdout on error")
    # An existing project is kept unless --force.
    run(["import", "cartucho", "--gt-dir", gt, "-o", out])
    before = dgtest.file_bytes(out)
    r = run(["import", "cartucho", "--gt-dir", gt, "-o", out], rc=EXIT_ERROR)
    ck.contains(r.err, "exists (use --force", what="existing project")
    r = run(["import", "cartucho", "--dt-dir", dt, "-o", out], rc=EXIT_ERROR)
    ck.ok(dgtest.file_bytes(out) == before, "failed import left the file alone")
    run(["voc", out], rc=EXIT_ERROR)  # no inference sets
    for args in (
        ["import", "nosuch", "--gt-dir", gt, "-o", out],
        ["import", "cartucho", "-o", out],
        ["import", "cartucho", "--gt-dir", gt],
        ["import", "cartucho", "--gt-dir", gt, "-o", out, "--box", "ltrb"],
        ["import", "cartucho", "--gt-dir", gt, "-o", out, "--coords", "px"],
        ["import", "yolo", "--gt-dir", gt, "-o", out],
        ["import", "cartucho", "--gt-dir", gt, "-o", out, "--unlabeled-frames",
         "--no-unlabeled-frames"],
        ["voc"],
        ["voc", out, "--protocol", "voc10"],
        ["voc", out, "--iou", "0"],
        ["voc", out, "--iou", "1.5"],
        ["voc", out, "--plus1", "--no-plus1"],
        ["voc", out, "--recall-points", "matlab"],
        ["voc", out, "--curves"],
        ["voc", out, "--names", "x"],
        ["voc", out, "--format", "cartucho", "--gt-dir", gt, "--dt-dir", dt],
        ["voc", "--format", "cartucho", "--gt-dir", gt],
        ["voc", "--format", "coco", "--gt-dir", gt, "--dt-dir", dt],
    ):
        r = run(args, rc=EXIT_USAGE)
        ck.contains(r.err, "error:", "usage:", what=" ".join(args))
    ck.ok(dgtest.file_bytes(out) == before, "usage errors left the file alone")
    for c in (["voc"], ["import", "cartucho"]):
        r = run(c + ["--help"])
        ck.ok(r.out.startswith("usage: detgrid " + c[0]), " ".join(c) + " --help")
        ck.contains(r.out, "--gt-dir", "--names", "--box", what=" ".join(c))
    ck.contains(run(["--help"]).out, "    voc ", what="voc in the command list")


def main():
    ck = Checker("test_voc")
    with TempDir() as d:
        test_cartucho(ck, d)
        test_padilla(ck)
        test_random(ck, d)
        test_yolo(ck, d)
        test_cli_errors(ck, d)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
