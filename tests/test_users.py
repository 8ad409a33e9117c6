"""What a daily user runs into (issue 18), each checked on the CLI:

  (a) inputs pycocotools accepts: string image ids, detections of unknown
      categories, scores outside [0, 1], repeated or missing category
      names, the NaN / Infinity tokens of Python's json, annotation id 0
      (with --pycocotools-id0 and without): each imports with its warning,
      exactly, and gives pycocotools' numbers, compared with ==; --strict
      refuses each;
  (b) messages that name the choices (unknown sets, classes, segments,
      metadata columns, commands and options; JSON given for a project;
      files swapped; a confidence outside the scores, an IoU not stored);
  (c) the small things: compare -i A -i B, demo's path, frames --limit,
      sweep's defaults, micro curve and --best output, headers of
      label-errors and examples, scenarios' B - A;
  (d) progress lines on a terminal (a pseudo-terminal), on every long step.
"""

import contextlib
import io
import json
import math
import os

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import dgtest
from dgtest import Checker, TempDir, run, EXIT_ERROR


def cocoeval(gt_path, dt_path):
    """COCOeval with default bbox Params, its prints swallowed."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(gt_path)
        dt = gt.loadRes(dt_path)
        e = COCOeval(gt, dt, "bbox")
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e


def load(path):
    with open(path) as f:
        return json.load(f)


def save(path, data):
    # Python's json writes NaN and Infinity as bare tokens (allow_nan).
    with open(path, "w") as f:
        json.dump(data, f)
    return path


def coco_json(args, rc=0):
    r = run(["coco"] + args + ["--json", "--compact"], rc=rc)
    return (r.json() if rc == 0 else None), r.err


def warnings(err):
    """The warnings of a one-shot `coco` (its only lines on stderr)."""
    return [ln for ln in err.splitlines() if ln]


def same_stats(ck, got, e, what):
    want = [float(x) for x in e.stats]
    ck.eq(got["stats"], want, what + ": the 12 stats")


# --------------------------------------------------------------------------
# (a) inputs pycocotools accepts


def synth(tmp, name, *opts):
    gt = os.path.join(tmp, name + "-gt.json")
    prefix = os.path.join(tmp, name)
    run(["synth", "--coco-gt", gt, "--coco-dt-prefix", prefix] + list(opts))
    return gt, prefix + "-model-a.json"


def check_accepted(ck, tmp, name, gt, dt, want_warnings, strict_error,
                   extra=()):
    """gt/dt import with exactly want_warnings (after "'<file>': "), give
    pycocotools' stats, and --strict refuses them with strict_error."""
    got, err = coco_json(["--gt", gt, "--dt", dt] + list(extra))
    ws = warnings(err)
    ck.eq(ws, want_warnings, name + ": warnings")
    same_stats(ck, got, cocoeval(gt, dt), name)
    _, err = coco_json(["--gt", gt, "--dt", dt, "--strict"], rc=EXIT_ERROR)
    ck.eq(err.strip(), "error: " + strict_error, name + ": --strict")
    return got


def test_accepted(ck, tmp):
    gt, dt = synth(tmp, "a", "--seed", "21", "--frames", "80", "--classes",
                   "6", "--crowd-rate", "0.2", "--score-levels", "20")
    G, D = load(gt), load(dt)
    base, _ = coco_json(["--gt", gt, "--dt", dt])
    same_stats(ck, base, cocoeval(gt, dt), "synth")

    # String image ids ("000123.jpg"): pycocotools sorts them as strings,
    # which is another image order, so another pairwise sum.
    g = json.loads(json.dumps(G))
    d = json.loads(json.dumps(D))
    sid = {im["id"]: "%06d.jpg" % (7919 * im["id"] % 100003)
           for im in g["images"]}
    for im in g["images"]:
        im["id"] = sid[im["id"]]
    for a in g["annotations"]:
        a["image_id"] = sid[a["image_id"]]
    for x in d:
        x["image_id"] = sid[x["image_id"]]
    gs, ds = save(os.path.join(tmp, "str-gt.json"), g), \
        save(os.path.join(tmp, "str-dt.json"), d)
    first = g["images"][0]["id"]
    check_accepted(
        ck, tmp, "string ids", gs, ds,
        ["'%s': images[0]: field 'id': a string ('%s'), kept as the frame "
         "id (%d images in all)" % (gs, first, len(g["images"]))],
        "'%s': images[0]: field 'id': not a number (got string)" % gs)
    # The frames keep the strings, and a project finds them again.
    h5 = os.path.join(tmp, "str.h5")
    run(["import", "coco", "--gt", gs, "--dt", ds, "--name", "m", "-o", h5])
    run(["eval", h5])
    info = run(["frames", h5, "--json", "--limit", "0"]).json()
    ids = [f["id"] for f in info["frames"]]
    ck.eq(ids, sorted(sid.values()), "string ids kept as frame ids, sorted")

    # Detections of categories the ground truth lacks: skipped, counted.
    d = json.loads(json.dumps(D))
    extra = [dict(x, category_id=1000 + i % 3) for i, x in
             enumerate(D[:50])]
    d = d[:10] + extra + d[10:]
    du = save(os.path.join(tmp, "unknown-cat.json"), d)
    check_accepted(
        ck, tmp, "unknown categories", gt, du,
        ["'%s': [10]: field 'category_id': unknown category 1000, detection "
         "skipped (50 detections in all)" % du],
        "'%s': [10]: field 'category_id': unknown category 1000" % du)

    # Scores outside [0, 1]: logits and percentages. AP depends only on
    # the order, which these keep.
    for kind, f in (("logits", lambda s: math.log(s / (1 - s))
                     if 0 < s < 1 else (40.0 if s >= 1 else -40.0)),
                    ("percent", lambda s: 100 * s)):
        d = [dict(x, score=f(x["score"])) for x in D]
        dp = save(os.path.join(tmp, kind + ".json"), d)
        bad = next(i for i, x in enumerate(d) if not 0 <= x["score"] <= 1)
        n_bad = sum(1 for x in d if not 0 <= x["score"] <= 1)
        v = d[bad]["score"]
        got = check_accepted(
            ck, tmp, kind, gt, dp,
            ["'%s': [%d]: field 'score': outside [0, 1] (%s), kept: "
             "confidences apply to the raw scores (%d detection%s in all)"
             % (dp, bad, fmt(v), n_bad, "" if n_bad == 1 else "s")],
            "'%s': [%d]: field 'score': out of range [0, 1] (%s)"
            % (dp, bad, fmt(v)))
        ck.eq(got["stats"], base["stats"], kind + ": the same AP as [0, 1]")
    # A NaN score is refused, naming the record.
    d = [dict(x) for x in D]
    d[3]["score"] = float("nan")
    dn = save(os.path.join(tmp, "nan-score.json"), d)
    _, err = coco_json(["--gt", gt, "--dt", dn], rc=EXIT_ERROR)
    ck.eq(err.strip(), "error: '%s': [3]: field 'score': not a finite "
          "number (nan)" % dn, "NaN score")

    # Repeated and missing category names; NaN and Infinity where nothing
    # reads them. Names change nothing in pycocotools' numbers.
    g = json.loads(json.dumps(G))
    g["categories"][1]["name"] = g["categories"][0]["name"]
    del g["categories"][2]["name"]
    g["info"] = {"nan": float("nan"), "inf": float("inf"),
                 "ninf": float("-inf")}
    for a in g["annotations"][:5]:
        a["score_hint"] = float("nan")
    gn = save(os.path.join(tmp, "names-gt.json"), g)
    with open(gn) as f:
        text = f.read()
    ck.ok("NaN" in text and "-Infinity" in text, "the file has the tokens")
    c0, c1, c2 = g["categories"][0], g["categories"][1], g["categories"][2]
    got = check_accepted(
        ck, tmp, "names", gn, dt,
        ["'%s': categories[2]: field 'name': missing, so the class is named "
         "'%d' after its id (1 category in all)" % (gn, c2["id"]),
         "'%s': categories[1]: field 'name': duplicate name '%s' (also "
         "categories[0]), renamed '%s (id %d)' (1 category in all)"
         % (gn, c0["name"], c0["name"], c1["id"])],
        "'%s': categories[2]: field 'name': missing" % gn)
    names = [pc["name"] for pc in got["per_class"]]
    ck.ok("%s (id %d)" % (c0["name"], c1["id"]) in names and
          str(c2["id"]) in names, "names in the per-class list")

    # Annotation ids from 0 (Roboflow): pycocotools counts a detection
    # matched to annotation 0 as a false positive; --pycocotools-id0 does
    # the same, the default counts it (pycocotools' own numbers when the
    # ids start at 1).
    for a in G["annotations"]:
        ck.ok(a["id"] >= 1, "synth numbers annotations from 1")
    g = json.loads(json.dumps(G))
    g["annotations"] = [dict(a, id=a["id"] - 1) for a in g["annotations"]]
    g0 = save(os.path.join(tmp, "id0-gt.json"), g)
    zero = next(i for i, a in enumerate(g["annotations"]) if a["id"] == 0)
    warn = ("'%s': annotations[%d]: field 'id': annotation id 0: "
            "pycocotools counts detections matched to it as false positives, "
            "detgrid as true positives ('detgrid coco --pycocotools-id0' "
            "gives pycocotools' numbers) (1 annotation in all)" % (g0, zero))
    e0 = cocoeval(g0, dt)
    got, err = coco_json(["--gt", g0, "--dt", dt, "--pycocotools-id0"])
    ck.eq(warnings(err), [warn], "id 0: warning")
    same_stats(ck, got, e0, "id 0 with --pycocotools-id0")
    got, err = coco_json(["--gt", g0, "--dt", dt])
    ck.eq(warnings(err), [warn], "id 0: warning (default)")
    ck.eq(got["stats"], base["stats"], "id 0: the default counts the match")
    ck.ok([float(x) for x in e0.stats] != base["stats"],
          "id 0: pycocotools' numbers differ here")
    # The project keeps which label it was, and the device path agrees.
    h5 = os.path.join(tmp, "id0.h5")
    run(["import", "coco", "--gt", g0, "--dt", dt, "--name", "m", "-o", h5])
    got, _ = coco_json([h5, "--pycocotools-id0"])
    same_stats(ck, got, e0, "id 0 from a project")
    got, _ = coco_json([h5, "--pycocotools-id0", "--device", "cpu"])
    same_stats(ck, got, e0, "id 0 on the engine's matcher")

    # Id 0 on a crowd region and on a small object (area ranges) too.
    for pick in ("crowd", "small"):
        g = json.loads(json.dumps(G))
        cands = [i for i, a in enumerate(g["annotations"])
                 if (a.get("iscrowd") if pick == "crowd"
                     else a["area"] < 32 ** 2 and not a.get("iscrowd"))]
        if not cands:
            continue
        z = cands[len(cands) // 2]
        zid = g["annotations"][z]["id"]
        for a in g["annotations"]:
            a["id"] -= zid
        gz = save(os.path.join(tmp, "id0-%s.json" % pick), g)
        got, _ = coco_json(["--gt", gz, "--dt", dt, "--pycocotools-id0"])
        same_stats(ck, got, cocoeval(gz, dt), "id 0 on a %s label" % pick)


# --------------------------------------------------------------------------
# (b) messages that name the choices


def err_line(r):
    lines = [ln for ln in r.err.splitlines() if ln.startswith("error: ")]
    return lines[0] if len(lines) == 1 else r.err


def test_messages(ck, tmp):
    p = os.path.join(tmp, "m.h5")
    run(["synth", "-o", p, "--frames", "30", "--classes", "3",
         "--inferences", "2"])
    run(["eval", p, "--iou-thresholds", "0.5,0.75"])
    run(["segment", "create", p, "--split", "train=0.5,val=0.5", "--seed",
         "1"])
    cls = run(["info", p, "--json"]).json()["class_names"]
    listing = ", ".join(cls)
    # unknown command, nearest first
    r = run(["metrcs"], rc=dgtest.EXIT_USAGE)
    ck.ok(r.err.startswith("error: 'metrcs' is not a detgrid command; did "
                           "you mean 'metrics'? (commands: demo, synth, "),
          "unknown command: " + r.err)
    r = run(["frobnicate"], rc=dgtest.EXIT_USAGE)
    ck.ok(r.err.startswith("error: 'frobnicate' is not a detgrid command "
                           "(commands: demo, "), "no near command: " + r.err)
    # unknown option: named, the nearest, no help dump
    r = run(["metrics", p, "--jsno"], rc=dgtest.EXIT_USAGE)
    ck.eq(r.err, "error: unknown option '--jsno' for 'detgrid metrics'; did "
          "you mean '--json'? (see 'detgrid metrics --help')\n",
          "unknown option")
    r = run(["sweep", p, "--bset=1"], rc=dgtest.EXIT_USAGE)
    ck.eq(r.err, "error: unknown option '--bset' for 'detgrid sweep'; did "
          "you mean '--best'? (see 'detgrid sweep --help')\n",
          "unknown option with a value")
    # unknown inference set, class, segment, column
    cases = [
        (["metrics", p, "-i", "model-c"],
         "error: '%s': no inference set 'model-c'; did you mean 'model-a'? "
         "(inference sets: model-a, model-b)" % p),
        (["eval", p, "-i", "modl-b"],
         "error: '%s': no inference set 'modl-b'; did you mean 'model-b'? "
         "(inference sets: model-a, model-b)" % p),
        (["scenarios", p, "-i", "zzz"],
         "error: '%s': no inference set 'zzz' (inference sets: model-a, "
         "model-b)" % p),
        (["confusion", p, "-i", "model-a", "--class", cls[1].upper()],
         "error: '%s': no class '%s'; did you mean '%s'? (classes: %s)"
         % (p, cls[1].upper(), cls[1], listing)),
        (["sweep", p, "-i", "model-a", "--class", cls[0][:-1]],
         "error: '%s': no class '%s'; did you mean '%s'? (classes: %s)"
         % (p, cls[0][:-1], cls[0], listing)),
        (["examples", p, "-i", "model-a", "--cell", "%sx,background" % cls[2]],
         "error: '%s': no class '%sx'; did you mean '%s'? (classes: %s)"
         % (p, cls[2], cls[2], listing)),
        (["frames", p, "-i", "model-a", "--class", "nothing-like-it"],
         "error: '%s': no class 'nothing-like-it' (classes: %s)"
         % (p, listing)),
        (["metrics", p, "-i", "model-a", "--segment", "trian"],
         "error: '%s': no segment 'trian'; did you mean 'train'? (segments: "
         "all, train, val)" % p),
        (["segment", "show", p, "vall"],
         "error: '%s': no segment 'vall'; did you mean 'val'? (segments: "
         "all, train, val)" % p),
        (["segment", "create", p, "wet", "--where", "weathr=rain"],
         "error: 'weathr=rain': no frame metadata column 'weathr' (there "
         "are no columns)"),
    ]
    for args, want in cases:
        r = run(args, rc=EXIT_ERROR)
        ck.eq(err_line(r), want, " ".join(args[:1] + args[2:]))
    # the confidence and IoU a query can take
    r = run(["metrics", p, "-i", "model-a", "--conf", "50"], rc=EXIT_ERROR)
    ck.ok(err_line(r).startswith("error: confidence 50 is above every score "
                                 "(the scores lie in ["),
          "conf above: " + r.err)
    ck.ok(err_line(r).endswith("a confidence applies to them as they are, "
                               "so give one in [0, 1])"),
          "conf above, the range: " + r.err)
    r = run(["metrics", p, "-i", "model-a", "--iou", "0.6"], rc=EXIT_ERROR)
    ck.eq(err_line(r), "error: IoU threshold 0.6 was not evaluated; stored: "
          "0.5, 0.75 (run 'detgrid eval --iou-thresholds' to add it)",
          "IoU not stored")
    # JSON where a project belongs; COCO files swapped
    gt, dt = synth(tmp, "m", "--frames", "4", "--classes", "2")
    r = run(["info", gt], rc=EXIT_ERROR)
    ck.eq(err_line(r), "error: '%s' is JSON, not a detgrid project (HDF5): "
          "make a project of COCO files with 'detgrid import coco --gt "
          "<instances.json> --dt <results.json> -o <project.h5>', or "
          "evaluate them in one shot with 'detgrid coco --gt ... --dt ...'"
          % gt, "JSON for a project")
    r = run(["coco", "--gt", dt, "--dt", gt], rc=EXIT_ERROR)
    ck.eq(err_line(r), "error: '%s': top level is an array: this looks like "
          "a COCO results file (a list of detections), not an instances file "
          "(an object with 'categories', 'images' and 'annotations')" % dt,
          "results as ground truth")
    r = run(["coco", "--gt", gt, "--dt", gt], rc=EXIT_ERROR)
    ck.eq(err_line(r), "error: '%s': this is a COCO instances file (ground "
          "truth: it has 'images' and 'categories', and its annotations no "
          "scores), not a results file (a list of detections with scores)"
          % gt, "ground truth as results")


def fmt(v):
    """detgrid's way of printing a value so it reads back the same."""
    s = "%.15g" % v
    if float(s) != v:
        s = "%.17g" % v
    return s


# --------------------------------------------------------------------------


def main():
    ck = Checker("test_users")
    with TempDir("dg-users-") as tmp:
        test_accepted(ck, tmp)
        test_messages(ck, tmp)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
