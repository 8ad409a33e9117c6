"""detgrid eval (reference path and OpenCL 'cpu' device) against an
independent Python oracle of the class-wise matching, on synthetic projects
with score ties, crowd regions, duplicates and confusions.

For each configuration: synth a project, eval it with --device ref and a copy
with --device cpu, then
  - the stored result tables of the two are identical,
  - /results/<name> order, score, class_offsets, gt_count, status and matched
    equal the oracle's per-detection outcome,
  - metrics --json of both equals the oracle's counts, precision, recall, F1,
    micro and macro at >= 30 (conf, iou) points, including conf 0, 1, exact
    detection scores and the doubles next to them, and every stored IoU.
"""

import os
import shutil

import numpy as np

import dgtest
from dgtest import Checker, Oracle, Project, TempDir, run

# (synth options, eval --iou-thresholds spec or None for the default grid)
CONFIGS = [
    (["--seed", "1", "--frames", "300", "--classes", "7", "--score-levels", "20"], None),
    (["--seed", "2", "--frames", "300", "--classes", "7", "--score-levels", "20",
      "--crowd-rate", "0.2"], None),
    (["--seed", "3", "--frames", "300", "--classes", "7", "--score-levels", "3",
      "--crowd-rate", "0.5"], None),
    (["--seed", "4", "--frames", "300", "--classes", "7", "--duplicate-rate", "0.5",
      "--jitter", "0.25", "--score-levels", "10"], None),
    (["--seed", "5", "--frames", "300", "--classes", "7", "--confuse-rate", "0.3",
      "--crowd-rate", "0.3", "--score-levels", "20"], "0.1:0.9:0.1"),
    (["--seed", "6", "--frames", "200", "--classes", "3", "--objects", "20",
      "--crowd-rate", "0.4", "--score-levels", "5", "--duplicate-rate", "0.4"], None),
    (["--seed", "7", "--frames", "300", "--classes", "7", "--background-fp", "3",
      "--low-score-fp", "4", "--score-levels", "20"], "0.5,0.75,0.95,1"),
    (["--seed", "8", "--frames", "300", "--classes", "7", "--inferences", "2",
      "--crowd-rate", "0.2", "--score-levels", "20"], None),
    (["--seed", "9", "--frames", "300", "--classes", "7", "--miss-rate", "0.5",
      "--jitter", "0.4"], None),
    (["--seed", "10", "--frames", "100", "--classes", "12", "--objects", "30",
      "--crowd-rate", "1", "--score-levels", "2", "--duplicate-rate", "1"],
     "0.05,0.3,0.5,0.51,0.7"),
    (["--seed", "11", "--coco-scale", "0.04", "--score-levels", "50"], None),
    (["--seed", "12", "--frames", "300", "--classes", "1", "--score-levels", "20",
      "--crowd-rate", "0.2", "--jitter", "0.3"], "0.05:0.95:0.05"),
    (["--seed", "13", "--frames", "300", "--classes", "7", "--score-levels", "1",
      "--crowd-rate", "0.2"], None),
    # groups of more than 64 ground truths (the OpenCL matcher keeps taken
    # flags in a 64-bit mask up to 64)
    (["--seed", "14", "--frames", "6", "--classes", "1", "--objects", "120",
      "--crowd-rate", "1", "--score-levels", "10", "--duplicate-rate", "0.3"],
     "0.3,0.5,0.7"),
]

# Configurations evaluated again in small chunks (DETGRID_CHUNK_DETS): the
# tables must not change.
CHUNKED = [1, 2, 7, 13]

RESULT_TABLES = ("class_offsets", "order", "score", "status", "matched", "gt_count")


def check_config(ck, d, k, synth_args, spec, rng):
    p = os.path.join(d, "p%d.h5" % k)
    q = os.path.join(d, "q%d.h5" % k)
    run(["synth", "-o", p] + synth_args)
    shutil.copyfile(p, q)
    ev = ["--iou-thresholds", spec] if spec else []
    run(["eval", p, "--device", "ref", "-q"] + ev)
    run(["eval", q, "--device", "cpu", "-q"] + ev)
    P, Q = Project(p), Project(q)
    if k in CHUNKED:
        for dev in ("ref", "cpu"):
            c = os.path.join(d, "c%d-%s.h5" % (k, dev))
            run(["eval", p, "--device", dev, "-q", "-o", c] + ev,
                env={"DETGRID_CHUNK_DETS": "97"})
            Cp = Project(c)
            for name in P.inferences:
                for t in RESULT_TABLES + ("iou_thresholds",):
                    ck.array_eq(Cp.results[name][t], P.results[name][t],
                                "config %d %s in chunks of 97 on %s: %s"
                                % (k, name, dev, t))
            os.unlink(c)
    what0 = "config %d (%s)" % (k, " ".join(synth_args))
    ck.ok(len(P.inferences) >= 1, what0 + ": no inference sets")
    n_checked = 0
    for name, dets in sorted(P.inferences.items()):
        what = "%s set %s" % (what0, name)
        rp, rq = P.results[name], Q.results[name]
        ck.eq(str(rp["device"]), "reference", what + " device attribute")
        ck.ok(str(rq["device"]).startswith("OpenCL"),
              what + ": --device cpu stored device %r" % rq["device"])
        for t in RESULT_TABLES + ("iou_thresholds",):
            ck.array_eq(rq[t], rp[t], what + " cpu vs ref " + t)
        for a in ("fingerprint", "labels_fingerprint", "n_gt"):
            ck.eq(int(rq[a]), int(rp[a]), what + " cpu vs ref attribute " + a)
        thresholds = [float(t) for t in rp["iou_thresholds"]]
        if spec is None:
            ck.eq(thresholds, [round(0.05 * i, 2) for i in range(1, 20)],
                  what + " default grid")
        # the oracle on the project as stored
        o = Oracle(P.labels, dets, thresholds, P.n_classes)
        dgtest.check_results(ck, P, name, o, what + " ref")
        dgtest.check_results(ck, Q, name, o, what + " cpu")
        # the synthetic data must actually exercise what we test
        n_checked += len(dets)
        pts = dgtest.query_points(rng, dets.score, thresholds, 30)
        for conf, iou in pts:
            gp = dgtest.metrics_json(p, conf, iou, name)
            gq = dgtest.metrics_json(q, conf, iou, name)
            ck.eq(gq, gp, "%s metrics cpu vs ref at conf %r iou %r" % (what, conf, iou))
            ck.eq(gp["conf"], conf, what + " echoed conf (exact double)")
            ck.eq(gp["iou"], iou, what + " echoed iou (exact double)")
            ck.eq(gp["inferences"], name, what + " echoed name")
            dgtest.check_metrics(ck, gp, o.counts(conf, o.t_index(iou)),
                                 "%s at conf %r iou %r" % (what, conf, iou),
                                 P.class_names)
    return P, n_checked


def main():
    ck = Checker("test_oracle")
    rng = np.random.default_rng(20240611)
    stats = {"ties": 0, "crowd_tp_ignored": 0, "dets": 0}
    with TempDir() as d:
        for k, (args, spec) in enumerate(CONFIGS):
            P, n = check_config(ck, d, k, args, spec, rng)
            stats["dets"] += n
            for name, dets in P.inferences.items():
                _, cnt = np.unique(np.stack([dets.frame, dets.cls,
                                             dets.score]).T, axis=0,
                                   return_counts=True)
                stats["ties"] += int((cnt > 1).sum())
                stats["crowd_tp_ignored"] += int(
                    (P.results[name]["status"] == 2).sum())
    # The configurations must exercise score ties within a frame and class and
    # detections ignored on crowd regions, or the test proves little.
    ck.ok(stats["ties"] > 100, "too few score ties: %r" % stats)
    ck.ok(stats["crowd_tp_ignored"] > 100, "too few ignored detections: %r" % stats)
    print("%d configurations, %d detections, %d tie groups" %
          (len(CONFIGS), stats["dets"], stats["ties"]))
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
