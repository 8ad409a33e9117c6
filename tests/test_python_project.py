"""detgrid.Project: every query equals what the CLI prints with --json.

On seeded projects (two inference sets, splits, regression tests with
targets and thresholds of their own, a scenario, embeddings), each query
of the CLI runs with several option combinations and the Python method
with the same options; the results must be equal as JSON values (None for
null, timings left out). Also: a project built and changed from Python
(import_coco, add_inferences from arrays, eval, save) is the file the CLI
would have written, and the arrays the *_array methods return are the
columns the dict queries are built from.
"""

import math
import os
import shutil

import numpy as np

import dgtest
from dgtest import Checker, TempDir, run

detgrid = dgtest.import_detgrid()

TIMINGS = ("seconds", "store_s", "load_s", "match_s", "accumulate_s",
           "total_s")


def strip(d):
    if isinstance(d, dict):
        return {k: strip(v) for k, v in d.items() if k not in TIMINGS}
    if isinstance(d, list):
        return [strip(x) for x in d]
    return d


def diff(a, b, path=""):
    """The first difference between two JSON values, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return "%s: keys %s" % (path, sorted(set(a) ^ set(b)))
        for k in a:
            d = diff(a[k], b[k], path + "." + k)
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return "%s: %d items, expected %d" % (path, len(b), len(a))
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    if (isinstance(a, bool) != isinstance(b, bool) or a != b or
            (a is None) != (b is None)):
        return "%s: python %r, CLI %r" % (path, b, a)
    return None


def same_as_cli(ck, args, got, what, rc=0):
    want = strip(run(args + ["--json"], rc=rc).json())
    d = diff(want, strip(got))
    ck.ok(d is None, lambda: "%s: %s" % (what, d))


def make_projects(tmp):
    p = os.path.join(tmp, "p.h5")
    run(["synth", "-o", p, "--seed", "3", "--frames", "60", "--classes", "5",
         "--inferences", "2", "--crowd-rate", "0.3", "--score-levels", "20"])
    run(["eval", p, "-q"])
    run(["segment", "create", p, "--split", "train=0.5,val=0.5", "--seed",
         "1"])
    fr = os.path.join(tmp, "frames.txt")
    with open(fr, "w") as f:
        f.write("\n".join("frame-%06d" % i for i in (1, 2, 5, 9, 11, 20)))
    run(["segment", "create", p, "hard", "--frames", fr, "--kind",
         "regression", "--min-recall", "0.6", "--min-ap", "0.3"])
    run(["segment", "create", p, "easy", "--frames", fr, "--kind",
         "regression", "--min-precision", "0.1", "--conf", "0.4", "--iou",
         "0.55"])
    run(["segment", "create", p, "scen", "--frames", fr, "--min-f1", "0.9"])
    e = os.path.join(tmp, "e.h5")
    run(["synth", "-o", e, "--seed", "4", "--frames", "80", "--classes", "4",
         "--embeddings", "16", "--plant-pattern", "fp"])
    run(["eval", e, "-q"])
    return p, e


def test_queries(ck, p, e):
    P = detgrid.Project(p)
    E = detgrid.Project(e)
    cases = [
        (["info", p], lambda: P.info()),
        (["metrics", p, "-i", "model-a", "--conf", "0.3", "--iou", "0.55"],
         lambda: P.metrics("model-a", conf=0.3, iou=0.55)),
        (["metrics", p, "-i", "model-b", "--segment", "val"],
         lambda: P.metrics("model-b", segment="val")),
        (["sweep", p, "-i", "model-a", "--format", "json"],
         lambda: P.sweep("model-a")),
        (["sweep", p, "-i", "model-a", "--iou", "0.5", "--step", "0.05",
          "--class", "person", "--format", "json"],
         lambda: P.sweep("model-a", iou=0.5, step=0.05, cls="person")),
        (["sweep", p, "-i", "model-b", "--best", "--segment", "train"],
         lambda: P.sweep("model-b", best=True, segment="train")),
        (["confusion", p, "-i", "model-a", "--normalize", "gt"],
         lambda: P.confusion("model-a", normalize="gt")),
        (["confusion", p, "-i", "model-a", "--class", "person", "--conf",
          "0.2", "--normalize", "pred", "--iou", "0.75"],
         lambda: P.confusion("model-a", cls="person", conf=0.2,
                             normalize="pred", iou=0.75)),
        (["examples", p, "-i", "model-a", "--cell", "background,person",
          "--limit", "7", "--offset", "2"],
         lambda: P.examples(("background", "person"), "model-a", limit=7,
                            offset=2)),
        (["examples", p, "-i", "model-b", "--cell", "person,background",
          "--sort", "area", "--asc", "--limit", "0", "--segment", "val"],
         lambda: P.examples(("person", "background"), "model-b",
                            sort="area", ascending=True, limit=0,
                            segment="val")),
        (["examples", p, "-i", "model-a", "--cell", "person,car", "--sort",
          "iou"],
         lambda: P.examples(("person", "car"), "model-a", sort="iou")),
        (["frames", p, "-i", "model-a", "--sort", "f1", "--limit", "10",
          "--segment", "train"],
         lambda: P.frames("model-a", sort="f1", limit=10, segment="train")),
        (["frames", p, "-i", "model-b", "--sort", "fn", "--class", "person"],
         lambda: P.frames("model-b", sort="fn", cls="person")),
        (["coco", p, "-i", "model-a"], lambda: P.coco("model-a")),
        (["coco", p, "-i", "model-b", "--exact-iou", "--use-ignore"],
         lambda: P.coco("model-b", exact_iou=True, use_ignore=True)),
        (["voc", p, "-i", "model-a", "--protocol", "voc07", "--curves"],
         lambda: P.voc("model-a", protocol="voc07", curves=True)),
        (["voc", p, "-i", "model-b", "--no-plus1", "--iou", "0.6"],
         lambda: P.voc("model-b", plus1=False, iou=0.6)),
        (["errors", p, "-i", "model-b"], lambda: P.errors("model-b")),
        (["errors", p, "-i", "model-a", "--conf", "0.2", "--fg-iou", "0.6",
          "--bg-iou", "0.2", "--max-dets", "0"],
         lambda: P.errors("model-a", conf=0.2, fg_iou=0.6, bg_iou=0.2,
                          max_dets=0)),
        (["label-errors", p, "-i", "model-a", "--limit", "5"],
         lambda: P.label_errors("model-a", limit=5)),
        (["label-errors", p, "-i", "model-b", "--kind", "missing,spurious",
          "--limit", "0", "--iou", "0.6"],
         lambda: P.label_errors("model-b", kind=["missing", "spurious"],
                                limit=0, iou=0.6)),
        (["compare", p, "model-a", "model-b", "--resamples", "200",
          "--churn", "a-only", "--limit", "5"],
         lambda: P.compare("model-a", "model-b", resamples=200,
                           churn="a-only", limit=5)),
        (["compare", p, "model-a", "model-b", "--segment", "hard",
          "--iou-b", "0.75", "--seed", "3", "--churn", "b-only"],
         lambda: P.compare("model-a", "model-b", segment="hard", iou_b=0.75,
                           seed=3, churn="b-only")),
        (["scenarios", p], lambda: P.scenarios()),
        (["scenarios", p, "-i", "model-b", "-i", "model-a", "--conf-a",
          "0.3", "--iou-b", "0.75"],
         lambda: P.scenarios(["model-b", "model-a"], conf_a=0.3,
                             iou_b=0.75)),
        (["embeddings", e], lambda: E.embeddings()),
        (["embeddings", e, "--crops", "--patterns", "--only", "fp"],
         lambda: E.embeddings(crops=True, patterns=True, only="fp")),
        (["embeddings", e, "--projection", "layout", "--clusters", "3",
          "--seed", "5"],
         lambda: E.embeddings(projection="layout", clusters=3, seed=5)),
    ]
    for args, fn in cases:
        same_as_cli(ck, args, fn(), " ".join(args[:1] + args[2:]))
    # devices prints a bare list.
    ck.eq(detgrid.devices(), run(["devices", "--json"]).json(), "devices")
    # check exits 1 when a target is missed; its JSON is the same.
    r = run(["check", p, "--json"], rc=None)
    ck.ok(r.rc in (0, 1), "check ran")
    same_as_cli(ck, ["check", p], P.check(), "check", rc=r.rc)
    r = run(["check", p, "--strict", "--resamples", "300", "-i", "model-b",
             "--json"], rc=None)
    same_as_cli(ck, ["check", p, "--strict", "--resamples", "300", "-i",
                     "model-b"],
                P.check("model-b", strict=True, resamples=300), "check strict",
                rc=r.rc)

    # Segments as `segment list` has them.
    want = run(["segment", "list", p, "--json"]).json()["segments"]
    got = P.segments()
    ck.eq([s["name"] for s in got], [s["name"] for s in want],
          "segment names")
    for s, w in zip(got, want):
        ck.eq(len(s["frames"]), w["frames"], s["name"] + ": frames")
        ck.eq(s["kind"], w["kind"], s["name"] + ": kind")
        ck.eq({k: s["targets"][k] for k in w["targets"]}, w["targets"],
              s["name"] + ": targets")
        ck.eq(s["targets"]["conf"], w["conf"], s["name"] + ": conf")

    # The arrays behind the dicts.
    m = P.metrics("model-a", conf=0.3, iou=0.5)
    c = P.counts_array("model-a", conf=0.3, iou=0.5)
    ck.eq([int(x) for x in c["tp"]], [k["tp"] for k in m["classes"]],
          "counts_array: tp")
    ck.eq([int(x) for x in c["n_gt"]], [k["n_gt"] for k in m["classes"]],
          "counts_array: n_gt")
    cm = P.confusion("model-a", conf=0.3)
    a, ign = P.confusion_array("model-a", conf=0.3)
    ck.eq(a.tolist(), cm["matrix"], "confusion_array")
    ck.eq(ign, cm["ignored"], "confusion_array: ignored")
    sw = P.sweep("model-a", iou=0.5, cls="car")
    pts, n_gt = P.sweep_arrays("car", "model-a", iou=0.5)
    ck.eq([int(x) for x in pts["tp"]], sw["curves"][0]["tp"], "sweep_arrays")
    ck.eq(n_gt, sw["curves"][0]["n_gt"], "sweep_arrays: n_gt")
    fr = P.frames("model-a", conf=0.3)
    fc = P.frame_counts_array("model-a", conf=0.3)
    ck.eq([int(x) for x in fc["fp"]], [f["fp"] for f in fr["frames"]],
          "frame_counts_array")
    cr = P.coco_result("model-a")
    ck.eq([None if math.isnan(x) else float(x) for x in cr["stats"]],
          P.coco("model-a")["stats"], "coco_result: stats")
    ck.eq(cr["precision"].shape, (10, 101, 5, 4, 3), "coco_result: shape")
    P.close()
    E.close()


def test_building(ck, tmp):
    """A project built in Python is the file the CLI builds."""
    gt = os.path.join(tmp, "gt.json")
    pre = os.path.join(tmp, "d")
    run(["synth", "--coco-gt", gt, "--coco-dt-prefix", pre, "--seed", "9",
         "--frames", "40", "--classes", "3", "--inferences", "2"])
    cli = os.path.join(tmp, "cli.h5")
    run(["import", "coco", "--gt", gt, "--dt", pre + "-model-a.json",
         "--name", "a", "--dt", pre + "-model-b.json", "--name", "b", "-o",
         cli])
    run(["eval", cli, "-q", "--iou-thresholds", "0.5,0.75"])

    py = os.path.join(tmp, "py.h5")
    P = detgrid.Project()
    P.import_coco(gt=gt, dt=pre + "-model-a.json", name="a")
    # Set b from arrays, as a training loop would hold it.
    import json
    with open(pre + "-model-b.json") as f:
        dets = json.load(f)
    P.add_inferences("b", [d["image_id"] for d in dets],
                     [d["category_id"] for d in dets],
                     np.array([d["bbox"] for d in dets]),
                     [d["score"] for d in dets])
    ck.eq(P.inference_sets, ["a", "b"], "inference sets")
    try:
        P.save()
        ck.ok(False, "saved without a path")
    except detgrid.InvalidArgumentError:
        ck.ok(True)
    ev = P.eval(iou=[0.5, 0.75], save=py)
    ck.eq([x["inferences"] for x in ev["evaluations"]], ["a", "b"],
          "eval: sets")
    ck.eq(P.path, py, "the path saved to")
    for q in (["metrics", "-i", "a", "--conf", "0.2"],
              ["metrics", "-i", "b", "--iou", "0.75"],
              ["coco", "-i", "b"], ["confusion", "-i", "b"]):
        want = strip(run([q[0], cli] + q[1:] + ["--json"]).json())
        got = strip(run([q[0], py] + q[1:] + ["--json"]).json())
        ck.eq(got, want, "built in Python: " + " ".join(q))
    P.remove_inferences("a")
    ck.eq(P.inference_sets, ["b"], "remove_inferences")
    # eval of a file-backed project stores into it, as `detgrid eval`.
    cp = os.path.join(tmp, "copy.h5")
    shutil.copy(cli, cp)
    Q = detgrid.Project(cp)
    out = Q.eval("a")
    ck.eq(out["evaluations"][0]["iou_thresholds"], 19, "eval: 19 thresholds")
    ck.ok("store_s" in out, "eval stored")
    ck.eq(len(run(["info", cp, "--json"]).json()["inferences"][0]
              ["iou_thresholds"]), 19, "stored in the file")


def test_iou_types(ck, tmp):
    """eval(iou_type=...) stores a grid per type, and Project.iou_type picks
    the one every query reads, as the CLI's --iou-type (on cocoapi's segm
    sample)."""
    sample = os.path.join(dgtest.SHARED_DATA, "coco_val2014_100_fakebbox")
    gt = os.path.join(sample, "instances_val2014_100.json")
    dt = os.path.join(sample, "instances_val2014_fakesegm100_results.json")
    v = os.path.join(tmp, "segm.h5")
    run(["import", "coco", "--gt", gt, "--dt", dt, "--name", "m", "-o", v])
    P = detgrid.Project(v)
    ck.eq(P.iou_type, "bbox", "iou_type: boxes by default")
    P.eval(iou_type="segm")
    P.eval()
    P.close()
    inf = run(["info", v, "--json"]).json()
    ck.eq(inf["inferences"][0]["iou_types"], ["bbox", "segm"],
          "eval(iou_type='segm') stored beside the boxes")
    P = detgrid.Project(v)
    box = P.metrics("m", iou=0.5)
    P.iou_type = "segm"
    ck.eq(P.iou_type, "segm", "iou_type set")
    for args, fn in (
            (["metrics", v, "--iou", "0.5"], lambda: P.metrics("m", iou=0.5)),
            (["sweep", v, "--format", "json"], lambda: P.sweep("m")),
            (["confusion", v], lambda: P.confusion("m")),
            (["frames", v, "--sort", "fn"], lambda: P.frames("m", sort="fn"))):
        same_as_cli(ck, args + ["--iou-type", "segm"], fn(),
                    "segm " + args[0])
    ck.ok(P.metrics("m", iou=0.5) != box, "segm metrics differ from bbox")
    try:
        P.iou_type = "mask"
        ck.ok(False, "a bad iou_type raises")
    except detgrid.InvalidArgumentError as x:
        ck.ok("bbox, segm, boundary or keypoints" in str(x), str(x))
    P.iou_type = "keypoints"
    try:
        P.metrics("m")
        ck.ok(False, "keypoints were not evaluated: raises")
    except detgrid.StaleError as x:
        ck.ok("no keypoints results for 'm' (stored: bbox, segm)" in str(x),
              str(x))
    P.close()


def main():
    ck = Checker("test_python_project")
    with TempDir("dg-py-project-") as tmp:
        p, e = make_projects(tmp)
        test_queries(ck, p, e)
        test_building(ck, tmp)
        test_iou_types(ck, tmp)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
