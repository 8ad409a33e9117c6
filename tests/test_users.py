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

import json
import math
import os
import re

import dgtest
from dgtest import Checker, TempDir, cocoeval, run, EXIT_ERROR


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

    # A real file numbered from 0: rafaelpadilla's toy example (its
    # results wrapped as {"annotations": [...]}, which loadRes takes as a
    # list).
    toy = os.path.join(dgtest.SHARED_DATA, "rafaelpadilla_toy_voc",
                       "toyexample")
    tg = os.path.join(toy, "gts_coco_format", "toy_example_coco.JSON")
    td = os.path.join(toy, "dets_coco_format", "coco_dets.json")
    if os.path.exists(tg) and os.path.exists(td):
        tl = save(os.path.join(tmp, "toy-dets.json"), load(td)["annotations"])
        got, _ = coco_json(["--gt", tg, "--dt", td, "--pycocotools-id0"])
        same_stats(ck, got, cocoeval(tg, tl), "toy example, id 0")
    else:
        print("note: %s not found; skipping the toy example" % toy)

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


# --------------------------------------------------------------------------
# (c) the small things


def test_small_things(ck, tmp):
    p = os.path.join(tmp, "s.h5")
    run(["synth", "-o", p, "--frames", "40", "--classes", "3",
         "--inferences", "2", "--seed", "5"])
    run(["eval", p])
    run(["segment", "create", p, "--split", "a=0.5,b=0.5", "--seed", "2"])
    # compare: -i A -i B is the positional A B
    a = run(["compare", p, "-i", "model-a", "-i", "model-b", "--json"]).json()
    b = run(["compare", p, "model-a", "model-b", "--json"]).json()
    for x in (a, b):
        del x["bootstrap"]["seconds"]
    ck.ok(a == b, "compare -i A -i B equals compare A B")
    r = run(["compare", p, "-i", "model-a"], rc=dgtest.EXIT_USAGE)
    ck.ok("two inference sets" in r.err, "compare with one -i: " + r.err)
    # frames --limit: first N of M
    r = run(["frames", p, "-i", "model-a", "--limit", "7", "--sort", "f1"])
    ck.ok(r.out.splitlines()[0].endswith(": first 7 of 40 frames (by f1; "
                                         "--limit 0 for all)"),
          "frames --limit: " + r.out.splitlines()[0])
    ck.eq(len(r.out.strip().splitlines()), 3 + 7, "frames --limit rows")
    # label-errors and examples have column headers
    r = run(["label-errors", p, "-i", "model-a", "--limit", "2"])
    lines = r.out.splitlines()
    heads = [i for i, ln in enumerate(lines) if ln.startswith("   #  score")]
    ck.ok(heads, "label-errors headers: " + r.out[:400])
    for i in heads:
        ck.eq(lines[i], "   #  score frame: the boxes (record class "
              "[x y w h])", "label-errors header")
        ck.eq(lines[i + 1], "       why", "label-errors header, 2nd line")
    # a missed ground truth: the nearest detection, its class and score,
    # whose IoU the IoU column shows (checked against the boxes)
    info = run(["info", p, "--json"]).json()
    cls = info["class_names"]
    j = run(["examples", p, "-i", "model-a", "--cell", cls[0] +
             ",background", "--limit", "0", "--json"]).json()
    near = [e for e in j["examples"] if e["nearest"]]
    ck.ok(near, "misses with a nearest detection")
    for e in near:
        ck.eq(e["nearest"]["kind"], "detection", "nearest kind")
        ck.ok(0 < e["iou"] < 0.5 or e["nearest"]["class"] != cls[0],
              "a miss's nearest is too far, or of another class, or taken")
    t = run(["examples", p, "-i", "model-a", "--cell", cls[0] +
             ",background", "--limit", "0"]).out.splitlines()
    ck.ok(t[2].rstrip().endswith("nearest detection (its IoU)"),
          "examples header names the nearest: " + t[2])
    k = 3
    for e in j["examples"]:
        n = e["nearest"]
        want = ("none overlaps" if not n else "%s, score %.4f"
                % (n["class"], n["score"]))
        ck.ok(t[k].endswith("  " + want), "examples row %r ends %r"
              % (t[k], want))
        k += 1
    # scenarios with two sets: B - A under each card
    r = run(["scenarios", p, "-i", "model-a", "-i", "model-b"])
    lines = r.out.splitlines()
    js = run(["scenarios", p, "-i", "model-a", "-i", "model-b",
              "--json"]).json()
    diffs = [ln for ln in lines if ln.startswith("    B - A ")]
    cards = js["splits"]
    ck.eq(len(diffs), len(cards), "a B - A line per card")
    for ln, card in zip(diffs, cards):
        ra, rb = card["results"]
        want = [rb[k] - ra[k] for k in ("precision", "recall", "f1")]
        ck.eq([round(x, 4) for x in map(float, ln.split()[3:6])],
              [round(x, 4) for x in want], "B - A figures")
        ck.eq([card["b_minus_a"][k] for k in ("precision", "recall", "f1")],
              want, "B - A in JSON")

    # Scores outside [0, 1] end to end: logits give the same outcomes as
    # the probabilities, on the reference path and on a device alike, and
    # a confidence applies to the raw scores.
    gt, dt = synth(tmp, "lg", "--frames", "60", "--classes", "4", "--seed",
                   "9")
    D = load(dt)
    lg = save(os.path.join(tmp, "logit.json"),
              [dict(x, score=math.log(x["score"] / (1 - x["score"])))
               for x in D if 0 < x["score"] < 1])
    pr = save(os.path.join(tmp, "prob.json"),
              [x for x in D if 0 < x["score"] < 1])
    h5 = os.path.join(tmp, "lg.h5")
    run(["import", "coco", "--gt", gt, "--dt", pr, "--name", "p", "--dt", lg,
         "--name", "l", "-o", h5])
    run(["eval", h5, "--device", "ref"])
    h5c = os.path.join(tmp, "lg-cpu.h5")
    run(["import", "coco", "--gt", gt, "--dt", lg, "--name", "l", "-o",
         h5c])
    run(["eval", h5c, "--device", "cpu"])
    for conf in (0.2, 0.5, 0.8):
        mp = run(["metrics", h5, "-i", "p", "--conf", repr(conf),
                  "--json"]).json()
        ml = run(["metrics", h5, "-i", "l", "--conf",
                  repr(math.log(conf / (1 - conf))), "--json"]).json()
        mc = run(["metrics", h5c, "-i", "l", "--conf",
                  repr(math.log(conf / (1 - conf))), "--json"]).json()
        ck.eq(ml["classes"], mp["classes"], "logits at conf %g" % conf)
        ck.eq(mc["classes"], ml["classes"], "logits on the device")
    r = run(["metrics", h5, "-i", "l", "--conf", "50"], rc=EXIT_ERROR)
    ck.ok("the scores lie in [-" in r.err, "logit range: " + r.err)


# --------------------------------------------------------------------------
# (d) progress on a terminal


def run_pty(args, env=None):
    """detgrid with stderr on a pseudo-terminal: (rc, stdout, terminal)."""
    import pty
    import subprocess
    master, slave = pty.openpty()
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.Popen([dgtest.BIN] + [str(a) for a in args],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=slave, env=e)
    os.close(slave)
    term = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        term += chunk
    out = p.stdout.read()
    p.wait()
    os.close(master)
    return p.returncode, out.decode(), term.decode()


def phases(term):
    """The last state of each progress line: {phase: (done, total)}."""
    got = {}
    for part in term.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        m = re.match(r"^(.+): +(\d+)% \((\d+)/(\d+)\)$", part)
        if m:
            got[m.group(1)] = (int(m.group(3)), int(m.group(4)))
    return got


def test_progress(ck, tmp):
    now = {"DETGRID_PROGRESS_DELAY": "0"}
    p = os.path.join(tmp, "prog.h5")
    gt = os.path.join(tmp, "prog-gt.json")
    steps = [
        (["synth", "-o", p, "--frames", "5000", "--classes", "4",
          "--embeddings", "8"], {"synth": (5000, 5000), "save": (7, 7)}),
        (["synth", "--coco-gt", gt, "--coco-dt-prefix",
          os.path.join(tmp, "prog"), "--frames", "300"],
         {"synth: ground truth": (300, 300),
          "synth: detections": (300, 300)}),
        (["import", "coco", "--gt", gt, "--dt",
          os.path.join(tmp, "prog-model-a.json"), "-o",
          os.path.join(tmp, "prog2.h5")],
         {"import labels": None, "import detections": None, "save": (7, 7)}),
        (["eval", p], {"match": (5000, 5000), "order": (1, 1),
                       "save": (7, 7)}),
        (["report", p, "-o", os.path.join(tmp, "prog.html")],
         {"report": (4, 4), "report: outcomes": (20, 20)}),
        (["embeddings", p, "--patterns"], {"embeddings": (3, 3)}),
        (["coco", p], {"coco": (5, 5)}),
    ]
    for args, want in steps:
        rc, out, term = run_pty(args, now)
        ck.eq(rc, 0, "%s on a terminal: %s" % (args[0], term[-500:]))
        got = phases(term)
        for ph, dt in want.items():
            ck.ok(ph in got, "%s: no '%s' progress in %r" % (args[0], ph,
                                                               term[:600]))
            if dt is None:
                ck.ok(ph in got and got[ph][0] == got[ph][1] > 0,
                      "%s: '%s' ends at 100%%: %r" % (args[0], ph, got))
            else:
                ck.eq(got.get(ph), dt, "%s: '%s' ends" % (args[0], ph))
        ck.ok("\r" not in out, args[0] + ": no progress on stdout")
    # Not on a pipe, and not in the first moments by default.
    r = run(["eval", p])
    ck.ok("%" not in r.err, "no progress when stderr is no terminal")
    rc, out, term = run_pty(["metrics", p])
    ck.ok("%" not in term, "a quick command shows none: " + term)


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
        test_small_things(ck, tmp)
        test_progress(ck, tmp)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
