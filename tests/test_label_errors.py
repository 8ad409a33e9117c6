"""detgrid synth's planted label mistakes and detgrid label-errors.

1. The planted record matches the project and the COCO export exactly, is
   deterministic, and planting nothing changes nothing.
2. With mistakes planted on several seeds, the top N of each list
   (N = number planted, at most 100) are mostly planted ones: precision@N
   >= 0.8 for missing, wrong-class, bad-box and spurious. Each list's
   precision@N is printed, also for two harder detectors (report only).
3. label-errors' own matching counts equal `detgrid metrics` after eval, its
   lists are sorted, and the CLI options behave.
"""

import json
import os

import numpy as np

import dgtest
from dgtest import Checker, TempDir, run

# A decent detector: few misses and confusions, and the low-score boxes
# real detectors leave around the objects they see (60 per frame, 60% of
# them around objects). The thresholds below are for this detector.
DETECTOR = ["--frames", "1000", "--miss-rate", "0.05", "--confuse-rate",
            "0.02", "--low-score-fp", "60"]
PLANT = ["--plant-missing", "0.03", "--plant-wrong-class", "0.03",
         "--plant-bad-box", "0.03", "--plant-spurious", "0.03"]
SEEDS = (1, 2, 3)
MIN_PRECISION = 0.8
KINDS = ("missing", "wrong-class", "bad-box", "spurious")


def iou(a, b):
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    i = w * h
    return i / (a[2] * a[3] + b[2] * b[3] - i)


def precision_at_n(planted, le):
    """{kind: (hits, N, n_planted)}. A missing-label entry hits when its
    detection has IoU >= 0.5 with a planted missing object of its frame not
    hit before; the others when their label is a planted one of the kind."""
    out = {}
    for kind in KINDS:
        P = [e for e in planted["planted"] if e["kind"] == kind]
        n = min(len(P), 100)
        ents = le["lists"][kind]["entries"][:n]
        hits = 0
        if kind == "missing":
            by_frame = {}
            for e in P:
                by_frame.setdefault(e["frame_index"], []).append(e)
            used = set()
            for en in ents:
                for k, e in enumerate(by_frame.get(en["frame_index"], [])):
                    key = (en["frame_index"], k)
                    if key not in used and iou(en["detection"]["box"],
                                               e["true_box"]) >= 0.5:
                        used.add(key)
                        hits += 1
                        break
        else:
            labels = {e["label"] for e in P}
            hits = sum(1 for en in ents
                       if en["label"] and en["label"]["index"] in labels)
        out[kind] = (hits, n, len(P))
    return out


def report(what, prec):
    print("%s: " % what + ", ".join(
        "%s %d/%d (%d planted)" % (k, h, n, m) for k, (h, n, m) in prec.items()))


def check_planted_record(ck, d):
    """The record against the project, the COCO export and a clean run."""
    args = ["--frames", "300", "--seed", "9"] + PLANT
    p = os.path.join(d, "rec.h5")
    pl = os.path.join(d, "rec.json")
    run(["synth", "-o", p, "--planted", pl, "--coco-gt",
         os.path.join(d, "rec-gt.json")] + args)
    rec = json.load(open(pl))
    proj = dgtest.Project(p)
    L = proj.labels
    counts = {k: 0 for k in ("missing", "wrong-class", "bad-box", "spurious")}
    for e in rec["planted"]:
        counts[e["kind"]] += 1
        f = e["frame_index"]
        ck.eq(e["frame"], proj.frame_ids[f], "planted frame id")
        ck.eq(e["image_id"], f + 1, "planted image id")
        if e["kind"] == "missing":
            ck.eq(e["label"], None, "missing has no label")
            # no label of the frame has that box
            sel = np.nonzero(L.frame == f)[0]
            boxes = [[L.x[i], L.y[i], L.w[i], L.h[i]] for i in sel]
            ck.ok(e["true_box"] not in boxes, "missing label still there")
            continue
        i = e["label"]
        ck.eq(int(L.frame[i]), f, "planted label frame")
        ck.eq([L.x[i], L.y[i], L.w[i], L.h[i]], e["box"], "planted label box")
        ck.eq(int(L.cls[i]), e["class_index"], "planted label class")
        ck.eq(proj.class_names[e["class_index"]], e["class"], "class name")
        ck.eq(e["annotation_id"], i + 1, "annotation id")
        if e["kind"] == "wrong-class":
            ck.ok(e["class_index"] != e["true_class_index"], "class changed")
            ck.eq(e["box"], e["true_box"], "wrong-class keeps the box")
        elif e["kind"] == "bad-box":
            ck.eq(e["class_index"], e["true_class_index"], "bad-box class")
            ck.ok(0.15 <= e["iou"] < 0.5, "bad-box IoU %r" % e["iou"])
            ck.close(iou(e["box"], e["true_box"]), e["iou"], "bad-box iou",
                     rel=1e-12)
        else:
            ck.eq(e["box"], e["true_box"], "spurious box")
    ck.eq(rec["counts"], counts, "planted counts")
    for k in counts:
        ck.ok(counts[k] > 0, "some %s planted" % k)
    # The COCO export holds the same labels.
    gt = json.load(open(os.path.join(d, "rec-gt.json")))
    anns = gt["annotations"]
    ck.eq(len(anns), len(L), "COCO annotations = project labels")
    for e in rec["planted"]:
        if e["label"] is not None:
            a = anns[e["label"]]
            ck.eq(a["id"], e["annotation_id"], "COCO annotation id")
            ck.eq(a["bbox"], e["box"], "COCO bbox")
            ck.eq(a["category_id"], e["class_index"] + 1, "COCO category")
    # Deterministic, and planting changes the labels only.
    run(["synth", "--planted", os.path.join(d, "rec2.json")] + args)
    ck.eq(dgtest.file_bytes(os.path.join(d, "rec2.json")),
          dgtest.file_bytes(pl), "planted record deterministic")
    clean = ["--frames", "300", "--seed", "9"]
    run(["synth", "--coco-gt", os.path.join(d, "c-gt.json"),
         "--coco-dt-prefix", os.path.join(d, "c")] + clean)
    run(["synth", "--coco-gt", os.path.join(d, "z-gt.json"),
         "--coco-dt-prefix", os.path.join(d, "z")] + clean +
        ["--plant-missing", "0", "--plant-spurious", "0"])
    run(["synth", "--coco-dt-prefix", os.path.join(d, "p")] + args)
    for a, b, what in (("c-gt.json", "z-gt.json", "zero rates: labels"),
                       ("c-model-a.json", "z-model-a.json", "zero rates: dets"),
                       ("c-model-a.json", "p-model-a.json", "planted: dets")):
        ck.eq(dgtest.file_bytes(os.path.join(d, a)),
              dgtest.file_bytes(os.path.join(d, b)), what + " unchanged")
    # Each object got at most one mistake: labels = objects - missing +
    # spurious.
    n_clean = len(json.load(open(os.path.join(d, "c-gt.json")))["annotations"])
    ck.eq(len(anns), n_clean - counts["missing"] + counts["spurious"],
          "label count after planting")
    r = run(["synth", "--planted", os.path.join(d, "x.json"),
             "--plant-missing", "0.6", "--plant-bad-box", "0.6"], rc=2)
    ck.contains(r.err, "sum to at most 1", what="rates over 1")


def check_cli(ck, d, p):
    full = run(["label-errors", p, "--limit", "0", "--json"]).json()
    for kind, l in full["lists"].items():
        s = [e["score"] for e in l["entries"]]
        ck.ok(all(a >= b for a, b in zip(s, s[1:])), kind + " sorted")
        ck.eq(len(l["entries"]), l["candidates"], kind + " all entries")
        ck.eq([e["rank"] for e in l["entries"]],
              list(range(1, len(s) + 1)), kind + " ranks")
    lim = run(["label-errors", p, "--limit", "7", "--json",
               "--kind", "missing,bad-box"]).json()
    ck.eq(sorted(lim["lists"]), ["bad-box", "missing"], "--kind list")
    for kind in ("missing", "bad-box"):
        ck.eq(lim["lists"][kind]["entries"],
              full["lists"][kind]["entries"][:7], kind + " --limit 7")
    # the low-confidence agreements are the matched labels, lowest first
    low = full["lists"]["low-conf-agreement"]
    ck.eq(low["candidates"], full["tp"], "one agreement per true positive")
    ck.ok(all(abs(e["score"] - (1 - e["detection"]["score"])) < 1e-15
              for e in low["entries"]), "agreement score = 1 - conf")
    # entries carry what the brief asks for
    e = full["lists"]["wrong-class"]["entries"][0]
    for key in ("score", "reason", "frame", "label", "detection", "iou"):
        ck.ok(key in e, "entry has " + key)
    ck.ok(e["label"]["class"] != e["detection"]["class"], "wrong class")
    ck.ok(e["iou"] >= 0.5, "wrong-class IoU >= t")
    for e in full["lists"]["bad-box"]["entries"]:
        ck.ok(0.1 <= e["iou"] < 0.5, "bad-box IoU band")
        ck.eq(e["label"]["class"], e["detection"]["class"], "bad-box class")
    for e in full["lists"]["missing"]["entries"]:
        ck.ok(e["label"] is None and e["iou"] < 0.1, "missing isolated")
    # tables, help and usage errors
    t = run(["label-errors", p, "--kind", "spurious", "--limit", "3"]).out
    ck.contains(t, "spurious:", "no detection near label", what="table")
    h = run(["label-errors", "--help"]).out
    ck.contains(h, "--kind", "--limit", "--iou", "--json", what="help")
    run(["label-errors", p, "--kind", "nonsense"], rc=dgtest.EXIT_USAGE)
    run(["label-errors", p, "--bg-iou", "0.6", "--iou", "0.5"],
        rc=dgtest.EXIT_USAGE)
    run(["label-errors", p, "-i", "nope"], rc=dgtest.EXIT_ERROR)
    # counts agree with eval + metrics at several (conf, IoU)
    q = os.path.join(d, "eval.h5")
    run(["synth", "-o", q, "--frames", "300", "--seed", "4"] + PLANT)
    run(["eval", q])
    for conf, t in ((0.0, 0.5), (0.3, 0.5), (0.0, 0.75), (0.5, 0.3)):
        le = run(["label-errors", q, "--conf", repr(conf), "--iou", repr(t),
                  "--json", "--limit", "1"]).json()
        m = dgtest.metrics_json(q, conf=conf, iou=t)["overall"]["micro"]
        ck.eq((le["tp"], le["fp"], le["fn"]), (m["tp"], m["fp"], m["fn"]),
              "label-errors counts = metrics at (%g, %g)" % (conf, t))


def main():
    ck = Checker("test_label_errors")
    with TempDir() as d:
        check_planted_record(ck, d)
        first = None
        for seed in SEEDS:
            p = os.path.join(d, "s%d.h5" % seed)
            pl = os.path.join(d, "s%d.json" % seed)
            run(["synth", "-o", p, "--planted", pl, "--seed", seed] +
                DETECTOR + PLANT)
            le = run(["label-errors", p, "--limit", "0", "--json",
                      "--compact"]).json()
            prec = precision_at_n(json.load(open(pl)), le)
            report("seed %d" % seed, prec)
            for kind, (hits, n, m) in prec.items():
                ck.ok(n >= 100, "%s: %d planted, want >= 100" % (kind, m))
                ck.ok(hits >= MIN_PRECISION * n,
                      "seed %d %s: precision@%d %d/%d < %g" %
                      (seed, kind, n, hits, n, MIN_PRECISION))
            first = first or p
        # Harder detectors, reported only: the default synth detector
        # (15% misses, 5% confusions, few low-score boxes) and the COCO
        # preset (80 classes, 30% misses, 8% confusions).
        for what, args in (
                ("default detector", ["--frames", "1000"]),
                ("COCO preset 0.2", ["--coco-scale", "0.2"])):
            p = os.path.join(d, "h.h5")
            pl = os.path.join(d, "h.json")
            run(["synth", "-o", p, "--force", "--planted", pl, "--seed", "1"]
                + args + PLANT)
            le = run(["label-errors", p, "--limit", "0", "--json",
                      "--compact"]).json()
            report(what + " (report only)",
                   precision_at_n(json.load(open(pl)), le))
        check_cli(ck, d, first)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
