"""The detgrid CLI end to end: help and usage errors, demo, synth, eval,
metrics (table and JSON), sweep (CSV, JSON, --best, --step), info, devices,
import coco (equality with synth projects, error messages, atomic writes,
--force and --replace). Numbers are checked against the oracle in dgtest.
"""

import csv
import io
import json
import math
import os
import shutil

import h5py
import numpy as np

import dgtest
from dgtest import (EXIT_ERROR, EXIT_USAGE, Checker, Oracle, Project, TempDir,
                    file_bytes, run)

COMMANDS = ["demo", "synth", "import", "info", "eval", "metrics", "sweep",
            "devices"]


def oracle_for(path, name):
    P = Project(path)
    r = P.results[name]
    return P, Oracle(P.labels, P.inferences[name],
                     [float(t) for t in r["iou_thresholds"]], P.n_classes)


# --------------------------------------------------------------------------


def test_help(ck):
    r = run(["--help"])
    ck.contains(r.out, "usage:", what="detgrid --help")
    for c in COMMANDS:
        ck.contains(r.out, "    " + c + " ", what="detgrid --help lists " + c)
    ck.contains(run(["-h"]).out, "usage:", what="detgrid -h")
    ck.contains(run(["help"]).out, "usage:", what="detgrid help")
    r = run([], rc=EXIT_USAGE)
    ck.contains(r.err, "usage:", what="detgrid without arguments")
    ck.contains(run(["--version"]).out, "detgrid", what="--version")
    for c in COMMANDS:
        for h in ("--help", "-h"):
            r = run([c, h])
            ck.ok(r.out.startswith("usage: detgrid " + c),
                  "%s %s: %r" % (c, h, r.out[:80]))
            ck.contains(r.out, "--help", what=c + " --help lists --help")
        r = run(["help", c])
        ck.ok(r.out.startswith("usage: detgrid " + c), "help " + c)
        # unknown option: usage error
        r = run([c, "--no-such-option"], rc=EXIT_USAGE)
        ck.eq(r.err, "error: unknown option '--no-such-option' for 'detgrid "
              "%s' (see 'detgrid %s --help')\n" % (c.split()[0], c.split()[0]),
              c + " unknown option: named, without the whole help")
        ck.eq(r.out, "", c + " unknown option: nothing on stdout")
    r = run(["frobnicate"], rc=EXIT_USAGE)
    ck.contains(r.err, "'frobnicate'", what="unknown command")
    r = run(["frobnicate", "--help"], rc=EXIT_USAGE)


def test_usage_errors(ck, d):
    p = os.path.join(d, "u.h5")
    run(["synth", "-o", p, "--frames", "20", "--classes", "3"])
    before = file_bytes(p)
    for args in (
        ["metrics", p, "--conf", "abc"],
        ["metrics", p, "--conf"],
        ["metrics"],
        ["metrics", p, p],
        ["eval"],
        ["eval", p, "--iou-thresholds", "0.5,0.4"],
        ["eval", p, "--iou-thresholds", "0.5,0.5"],
        ["eval", p, "--iou-thresholds", "0"],
        ["eval", p, "--iou-thresholds", "1.5"],
        ["eval", p, "--iou-thresholds", "x"],
        ["eval", p, "--device", "nosuch"],
        ["sweep", p, "--step", "0"],
        ["sweep", p, "--step", "-1"],
        ["sweep", p, "--format", "table"],
        ["sweep", p, "--iou", "half"],
        ["sweep", p, "--format", "xml"],
        ["import", "json", "--gt", "x.json", "-o", p],
        ["import", "coco", "--gt", "x.json"],
        ["synth"],
        ["synth", "-o", p, "--frames", "0"],
        ["synth", "-o", p, "--seed", "-1"],
        ["info"],
        ["devices", "extra"],
        ["demo", "extra"],
        ["metrics", p, "--json=1"],
    ):
        r = run(args, rc=EXIT_USAGE)
        ck.contains(r.err, "error:", what=" ".join(args))
    ck.ok(file_bytes(p) == before, "usage errors changed the project file")


# --------------------------------------------------------------------------
# metrics tables


def parse_table(text):
    """metrics table -> (header line, {class: (tp, fp, fn, p, r, f1)}, micro, macro)."""
    lines = text.rstrip("\n").split("\n")
    head = lines[0]
    rows = {}
    micro = macro = None
    hdr = None
    for ln in lines[1:]:
        if not ln.strip():
            continue
        tok = ln.split()
        if tok[-6:] == ["TP", "FP", "FN", "precision", "recall", "F1"]:
            hdr = ln
            continue
        if tok[0] == "macro" and len(tok) == 4:
            macro = tuple(tok[1:])
            continue
        name = " ".join(tok[:-6])
        vals = (int(tok[-6]), int(tok[-5]), int(tok[-4])) + tuple(tok[-3:])
        if name == "micro" and hdr is not None and micro is None and \
                ln.startswith("micro "):
            micro = vals
        else:
            rows[name] = vals
    return head, hdr, rows, micro, macro


def fmt4(v):
    return "-" if v is None else "%.4f" % v


def check_table(ck, text, P, counts, what):
    head, hdr, rows, micro, macro = parse_table(text)
    ck.ok(hdr is not None, what + ": no table header")
    classes, emicro, emacro = dgtest.expected_metrics(counts)
    ck.eq(list(rows), P.class_names, what + " class rows")
    for name, e in zip(P.class_names, classes):
        ck.eq(rows[name], (e["tp"], e["fp"], e["fn"], fmt4(e["precision"]),
                           fmt4(e["recall"]), fmt4(e["f1"])),
              "%s row %s" % (what, name))
    ck.eq(micro, (emicro["tp"], emicro["fp"], emicro["fn"],
                  fmt4(emicro["precision"]), fmt4(emicro["recall"]),
                  fmt4(emicro["f1"])), what + " micro row")
    ck.eq(macro, (fmt4(emacro["precision"]), fmt4(emacro["recall"]),
                  fmt4(emacro["f1"])), what + " macro row")
    return head


def test_demo(ck, d):
    r = run(["demo", "--device", "ref"], env={"TMPDIR": d})
    # it says where the project is, in a new directory of its own
    tmp = [x for x in os.listdir(d) if x.startswith("detgrid-demo-")]
    ck.eq(len(tmp), 1, "demo made one temporary directory")
    kept = os.path.join(d, tmp[0], "demo.h5")
    ck.contains(r.err, "wrote the project to '%s'" % kept, what="demo")
    ck.ok(os.path.exists(kept), "demo keeps its project")
    ck.contains(r.out, "next: detgrid metrics %s " % kept,
                what="demo's next steps name its project")
    shutil.rmtree(os.path.join(d, tmp[0]))
    head, hdr, rows, micro, macro = parse_table(
        r.out.strip("\n").split("\n\nnext:")[0])
    ck.contains(head, "model-a", "confidence >= 0.1", "IoU >= 0.5", what="demo")
    ck.eq(len(rows), 12, "demo class rows")
    ck.ok(micro is not None and macro is not None, "demo micro/macro rows")
    ck.ok(micro[0] > 0 and micro[1] > 0 and micro[2] > 0, "demo micro counts")
    ck.eq(os.listdir(d), [], "demo without -o leaves files behind in cwd?")
    # with -o: the project is kept and the table is metrics' table of it
    p = os.path.join(d, "demo.h5")
    r2 = run(["demo", "--device", "ref", "-o", p])
    ck.ok(os.path.exists(p), "demo -o keeps the project")
    ck.contains(r2.out, "detgrid metrics " + p, what="demo -o prints next steps")
    m = run(["metrics", p, "-i", "model-a"])
    ck.ok(r2.out.lstrip("\n").startswith(m.out),
          "demo's table differs from metrics':\n%s\n---\n%s" % (r2.out, m.out))
    ck.eq(r.out.split("\n\nnext:")[0].strip("\n"), m.out.strip("\n"),
          "demo (seed 1) output is deterministic")
    for name in ("model-a", "model-b"):
        P, o = oracle_for(p, name)
        dgtest.check_metrics(ck, dgtest.metrics_json(p, inf=name),
                             o.counts(0.1, o.t_index(0.5)), "demo " + name,
                             P.class_names)
    os.unlink(p)


def check_json_shape(ck, j, what):
    ck.eq(sorted(j), ["classes", "conf", "inferences", "iou", "overall",
                      "segment"], what + " top-level keys")
    ck.eq(j["segment"], "all", what + " segment (none given: all frames)")
    ck.ok(isinstance(j["inferences"], str), what + " inferences")
    ck.ok(isinstance(j["conf"], float) or isinstance(j["conf"], int), what + " conf")
    ck.ok(isinstance(j["classes"], list) and j["classes"], what + " classes list")
    for c in j["classes"]:
        for k in ("name", "tp", "fp", "fn", "precision", "recall", "f1"):
            ck.ok(k in c, "%s class key %s" % (what, k))
        for k in ("tp", "fp", "fn"):
            ck.ok(isinstance(c[k], int) and c[k] >= 0, what + " int " + k)
        for k in ("precision", "recall", "f1"):
            ck.ok(c[k] is None or (isinstance(c[k], (int, float)) and
                                   0 <= c[k] <= 1), what + " ratio " + k)
    ck.eq(sorted(j["overall"]), ["macro", "micro"], what + " overall keys")
    for k in ("tp", "fp", "fn", "precision", "recall", "f1"):
        ck.ok(k in j["overall"]["micro"], what + " micro " + k)
    for k in ("precision", "recall", "f1"):
        ck.ok(k in j["overall"]["macro"], what + " macro " + k)


def test_metrics(ck, d):
    p = os.path.join(d, "m.h5")
    run(["synth", "-o", p, "--seed", "21", "--frames", "150", "--classes", "5",
         "--crowd-rate", "0.2", "--score-levels", "20", "--inferences", "2"])
    # before eval: exit 2 with a hint to run eval
    for cmd in (["metrics", p, "-i", "model-a"], ["sweep", p, "-i", "model-a"],
                ["sweep", p, "-i", "model-a", "--best"]):
        r = run(cmd, rc=EXIT_ERROR)
        ck.contains(r.err, "model-a", "run", "eval", what=" ".join(cmd) + " before eval")
        ck.eq(r.out, "", "nothing on stdout on error")
    info = run(["info", p, "--json"]).json()
    ck.eq([s["iou_thresholds"] for s in info["inferences"]], [None, None],
          "info before eval")
    ck.contains(run(["info", p]).out, "not evaluated", what="info text before eval")
    # eval --json
    ev = run(["eval", p, "--device", "ref", "--json", "-q"]).json()
    ck.eq([e["inferences"] for e in ev["evaluations"]], ["model-a", "model-b"],
          "eval --json sets")
    for e in ev["evaluations"]:
        ck.eq(e["iou_thresholds"], 19, "eval --json thresholds")
        ck.eq(e["device"], "reference", "eval --json device")
        ck.ok(e["total_s"] >= 0, "eval --json total_s")
    P = Project(p)
    for e in ev["evaluations"]:
        ck.eq(e["detections"], len(P.inferences[e["inferences"]]),
              "eval --json detections")
    # two sets: metrics needs --inferences
    r = run(["metrics", p], rc=EXIT_ERROR)
    ck.contains(r.err, "--inferences", what="metrics with two sets")
    r = run(["metrics", p, "-i", "nosuch"], rc=EXIT_ERROR)
    ck.contains(r.err, "nosuch", what="metrics unknown set")
    P, o = oracle_for(p, "model-a")
    # table at the default point, and at a point with undefined precision
    for args, conf, iou in (([], 0.1, 0.5), (["--conf", "0.97", "--iou", "0.75"], 0.97, 0.75),
                            (["--conf", "1"], 1.0, 0.5), (["-c", "0", "-t", "0.95"], 0.0, 0.95)):
        r = run(["metrics", p, "-i", "model-a"] + args)
        head = check_table(ck, r.out, P, o.counts(conf, o.t_index(iou)),
                           "metrics table %s" % args)
        ck.contains(head, "model-a", "confidence >= %g" % conf, "IoU >= %g" % iou,
                    what="metrics table heading")
        j = run(["metrics", p, "-i", "model-a", "--json"] + args).json()
        check_json_shape(ck, j, "metrics --json %s" % args)
        jc = run(["metrics", p, "-i", "model-a", "--json", "--compact"] + args)
        ck.eq(jc.out.count("\n"), 1, "--compact is one line")
        ck.eq(jc.json(), j, "--compact equals --json")
        dgtest.check_metrics(ck, j, o.counts(conf, o.t_index(iou)),
                             "metrics --json %s" % args, P.class_names)
        ck.eq(j["inferences"], "model-a", "json inferences")
        ck.eq([c["id"] for c in j["classes"]], [int(i) for i in P.class_ids],
              "json class ids")
    # IoU not stored: clear error, exit 2
    r = run(["metrics", p, "-i", "model-a", "--iou", "0.33"], rc=EXIT_ERROR)
    ck.contains(r.err, "0.33", "0.5", "eval", what="metrics --iou 0.33")
    ck.eq(r.out, "", "metrics --iou 0.33 stdout")
    r = run(["sweep", p, "-i", "model-a", "--iou", "0.33"], rc=EXIT_ERROR)
    ck.contains(r.err, "0.33", what="sweep --iou 0.33")
    # project defaults: default_conf / default_iou attributes
    q = os.path.join(d, "m-defaults.h5")
    shutil.copyfile(p, q)
    with h5py.File(q, "r+") as f:
        f.attrs["default_conf"] = 0.35
        f.attrs["default_iou"] = 0.75
    j = run(["metrics", q, "-i", "model-b", "--json"]).json()
    ck.eq((j["conf"], j["iou"]), (0.35, 0.75), "metrics uses the project defaults")
    Pb, ob = oracle_for(q, "model-b")
    dgtest.check_metrics(ck, j, ob.counts(0.35, ob.t_index(0.75)), "defaults", Pb.class_names)
    ck.eq(run(["info", q, "--json"]).json()["default_conf"], 0.35, "info default_conf")
    # eval -o: result elsewhere, input untouched
    src = os.path.join(d, "src.h5")
    dst = os.path.join(d, "dst.h5")
    run(["synth", "-o", src, "--seed", "22", "--frames", "40", "--classes", "3"])
    before = file_bytes(src)
    run(["eval", src, "-o", dst, "--device", "ref", "-q"])
    ck.ok(file_bytes(src) == before, "eval -o modified its input")
    run(["metrics", src], rc=EXIT_ERROR)
    Pd, od = oracle_for(dst, "model-a")
    dgtest.check_metrics(ck, dgtest.metrics_json(dst), od.counts(0.1, od.t_index(0.5)),
                         "eval -o", Pd.class_names)
    # above the highest score: no detections, precision undefined everywhere
    top = float(Pd.inferences["model-a"].score.max())
    ck.ok(top < 1, "synth without --score-levels has a top score below 1")
    conf = math.nextafter(top, math.inf)
    j = dgtest.metrics_json(dst, conf, 0.5)
    dgtest.check_metrics(ck, j, od.counts(conf, od.t_index(0.5)), "above top score",
                         Pd.class_names)
    ck.ok(all(c["precision"] is None and c["tp"] == 0 and c["fp"] == 0
              for c in j["classes"]), "no detections above the top score")
    ck.eq(j["overall"]["micro"]["precision"], None, "micro precision undefined")
    ck.eq(j["overall"]["macro"]["precision"], None, "macro precision with no classes")
    ck.eq(j["overall"]["macro"]["classes_precision"], 0, "macro classes_precision")
    ck.eq(j["overall"]["macro"]["recall"], 0.0, "macro recall")
    t = run(["metrics", dst, "--conf", repr(conf)]).out
    check_table(ck, t, Pd, od.counts(conf, od.t_index(0.5)), "table above top score")
    ck.ok(t.count(" - ") >= Pd.n_classes, "undefined precision printed as '-'")
    dgtest.check_metrics(ck, dgtest.metrics_json(dst, top, 0.5), od.counts(top, od.t_index(0.5)),
                         "at the top score", Pd.class_names)
    r = run(["eval", dst, "-i", "nosuch"], rc=EXIT_ERROR)
    ck.contains(r.err, "nosuch", what="eval unknown set")
    r = run(["eval", os.path.join(d, "nofile.h5")], rc=EXIT_ERROR)
    ck.contains(r.err, "nofile.h5", what="eval missing file")
    # eval -i one set leaves the other's results alone
    run(["eval", p, "-i", "model-b", "--iou-thresholds", "0.5", "-q"])
    info = run(["info", p, "--json"]).json()
    ck.eq([s["iou_thresholds"] for s in info["inferences"]],
          [[round(0.05 * i, 2) for i in range(1, 20)], [0.5]], "eval -i model-b")
    return p


# --------------------------------------------------------------------------
# sweep


def f6(v):
    return "" if v is None else "%.6f" % v


def best_of(curve):
    """Max-F1 point of a curve, highest conf on ties (curve is descending)."""
    best = None
    for conf, tp, fp, fn in curve:
        f = prf_f1(tp, fp, fn)
        if f is None:
            continue
        if best is None or f > best[0]:
            best = (f, conf, tp, fp, fn)
    return best


def prf_f1(tp, fp, fn):
    return dgtest.prf(tp, fp, fn)[2]


def micro_curve(o, t, n_classes):
    """All classes pooled: one point per distinct score, the classes'
    counts at conf = that score summed."""
    curves = [o.curve(c, t) for c in range(n_classes)]
    n_gt = int(sum(o.n_gt[c] for c in range(n_classes)))
    confs = sorted({x[0] for cv in curves for x in cv}, reverse=True)
    out = []
    for conf in confs:
        tp = fp = 0
        for cv in curves:
            last = [x for x in cv if x[0] >= conf]
            if last:
                tp += last[-1][1]
                fp += last[-1][2]
        out.append((conf, tp, fp, n_gt - tp))
    return out, n_gt


MICRO = "(all classes)"


def test_sweep(ck, d, p):
    P, o = oracle_for(p, "model-a")
    ts = o.thresholds
    # CSV, every IoU (--iou all), every distinct score, each class then all
    # classes pooled
    r = run(["sweep", p, "-i", "model-a", "--iou", "all"])
    rows = list(csv.reader(io.StringIO(r.out)))
    ck.eq(rows[0], ["class", "iou", "conf", "tp", "fp", "fn", "precision",
                    "recall", "f1"], "sweep csv header")
    want = []
    for t in range(len(ts)):
        for c in range(P.n_classes):
            for conf, tp, fp, fn in o.curve(c, t):
                pr, rc, f = dgtest.prf(tp, fp, fn)
                want.append([P.class_names[c], "%g" % ts[t], conf, tp, fp, fn,
                             f6(pr), f6(rc), f6(f)])
        for conf, tp, fp, fn in micro_curve(o, t, P.n_classes)[0]:
            pr, rc, f = dgtest.prf(tp, fp, fn)
            want.append([MICRO, "%g" % ts[t], conf, tp, fp, fn, f6(pr),
                         f6(rc), f6(f)])
    got = [[x[0], x[1], float(x[2]), int(x[3]), int(x[4]), int(x[5]), x[6],
            x[7], x[8]] for x in rows[1:]]
    ck.eq(len(got), len(want), "sweep csv rows")
    for i, (g, w) in enumerate(zip(got, want)):
        ck.eq(g, w, "sweep csv row %d" % (i + 1))
    # counts on the curve equal metrics' at that conf (a few points)
    for g in got[:: max(1, len(got) // 15)]:
        j = dgtest.metrics_json(p, g[2], float(g[1]), "model-a")
        if g[0] == MICRO:
            m = j["overall"]["micro"]
            ck.eq((m["tp"], m["fp"], m["fn"]), (g[3], g[4], g[5]),
                  "pooled sweep point vs metrics' micro at conf %r" % g[2])
            continue
        c = P.class_names.index(g[0])
        ck.eq((j["classes"][c]["tp"], j["classes"][c]["fp"], j["classes"][c]["fn"]),
              (g[3], g[4], g[5]), "sweep point vs metrics at conf %r" % g[2])
    # the default is the project's IoU (0.5), not every threshold
    r5 = run(["sweep", p, "-i", "model-a"])
    ck.eq(r5.out, "".join("%s\n" % ",".join(x) for x in rows[:1]) +
          "".join(line + "\n" for line in r.out.splitlines()[1:]
                  if line.split(",")[-8] == "0.5"),
          "sweep's default IoU is the project's")
    # -o file equals stdout
    out = os.path.join(d, "sweep.csv")
    run(["sweep", p, "-i", "model-a", "--iou", "all", "-o", out])
    with open(out) as f:
        ck.eq(f.read(), r.out, "sweep -o")
    # JSON curves
    j = run(["sweep", p, "-i", "model-a", "--iou", "all", "--format",
             "json"]).json()
    j2 = run(["sweep", p, "-i", "model-a", "--iou", "all", "--json"]).json()
    ck.eq(j2, j, "--json equals --format json")
    ck.eq(j["inferences"], "model-a", "sweep json inferences")
    ck.eq(len(j["curves"]), len(ts) * P.n_classes, "sweep json curves")
    ck.eq(len(j["micro"]), len(ts), "sweep json pooled curves")
    k = 0
    for t in range(len(ts)):
        for c in range(P.n_classes):
            cv = j["curves"][k]
            k += 1
            w = o.curve(c, t)
            what = "sweep json %s iou %g" % (P.class_names[c], ts[t])
            ck.eq((cv["class"], cv["iou"], cv["n_gt"]),
                  (P.class_names[c], ts[t], int(o.n_gt[c])), what)
            ck.eq(len(cv["conf"]), len(w), what + " points")
            for a, b in zip(cv["conf"], w):
                ck.eq(a, b[0], what + " conf (exact double)")
            ck.eq((cv["tp"], cv["fp"], cv["fn"]),
                  ([x[1] for x in w], [x[2] for x in w], [x[3] for x in w]),
                  what + " counts")
        w, n_gt = micro_curve(o, t, P.n_classes)
        mc = j["micro"][t]
        ck.eq((mc["iou"], mc["n_gt"], mc["conf"], mc["tp"], mc["fp"],
               mc["fn"]), (ts[t], n_gt, [x[0] for x in w],
                           [x[1] for x in w], [x[2] for x in w],
                           [x[3] for x in w]), "sweep json pooled curve")
    ck.eq(len(j["best_f1"]), sum(1 for t in range(len(ts)) for c in range(P.n_classes)
                                 if best_of(o.curve(c, t))), "sweep json best_f1 count")
    # --best at the default IoU and at 0.75: a table, CSV and JSON
    for extra, iou in (([], 0.5), (["--iou", "0.75"], 0.75)):
        t = o.t_index(iou)
        rb = run(["sweep", p, "-i", "model-a", "--best", "--format", "csv"]
                 + extra)
        brows = list(csv.reader(io.StringIO(rb.out)))[1:]
        jb = run(["sweep", p, "-i", "model-a", "--best", "--json"] + extra).json()
        tb = run(["sweep", p, "-i", "model-a", "--best"] + extra).out
        ck.ok("curves" not in jb and "micro" not in jb,
              "--best --json has no curves")
        exp = []
        for c in range(P.n_classes):
            b = best_of(o.curve(c, t))
            if b:
                exp.append((P.class_names[c], b))
        mb = best_of(micro_curve(o, t, P.n_classes)[0])
        ck.ok(len(exp) >= 3, "classes with a best F1")
        ck.eq(len(brows), len(exp) + 1, "--best csv rows")
        ck.eq(len(jb["best_f1"]), len(exp), "--best json rows")
        ck.eq(len(jb["best_f1_micro"]), 1, "--best json pooled row")
        lines = tb.splitlines()
        ck.eq(lines[0], "model-a at IoU >= %g: the F1-maximising confidence "
              "of each class, and of all classes pooled (micro)" % iou,
              "--best table title")
        ck.eq(lines[2].split(), ["class", "conf", "precision", "recall", "F1",
                                 "TP", "FP", "FN"], "--best table header")
        ck.eq(len(lines), 3 + P.n_classes + 1, "--best table rows")
        for row, jr, tl, (cn, b) in zip(brows, jb["best_f1"] +
                                        jb["best_f1_micro"],
                                        lines[3:3 + len(exp)] + lines[-1:],
                                        exp + [(MICRO, mb)]):
            f, conf, tp, fp, fn = b
            what = "--best %s iou %g" % (cn, iou)
            ck.eq((row[0], float(row[1]), float(row[2]), int(row[3]), int(row[4]),
                   int(row[5]), row[8]), (cn, iou, conf, tp, fp, fn, f6(f)), what + " csv")
            ck.eq((jr.get("class", MICRO), jr["iou"], jr["tp"], jr["fp"],
                   jr["fn"]), (cn, iou, tp, fp, fn), what + " json")
            ck.eq(jr["conf"], conf, what + " json conf (exact double)")
            ck.close(jr["f1"], f, what + " json f1")
            pr_, rc_, _ = dgtest.prf(tp, fp, fn)
            ck.ok(tl.startswith(cn + " "), what + " table row: " + tl)
            ck.eq(tl[len(cn):].split(),
                  [row[2], fmt4(pr_), fmt4(rc_), fmt4(f), str(tp), str(fp),
                   str(fn)], what + " table")
            if cn == MICRO:
                # one confidence for every class: F1 of the pooled counts
                # there is the best over every distinct score
                for cc in [x[0] for x in micro_curve(o, t, P.n_classes)[0]]:
                    cs = o.counts(float(cc), t)
                    fo = prf_f1(sum(x[0] for x in cs), sum(x[1] for x in cs),
                                sum(x[2] for x in cs))
                    ck.ok(fo is None or fo <= f, "%s: pooled F1 %r at %r "
                          "beats %r" % (what, fo, cc, f))
                continue
            # F1 at the best conf is the maximum over all distinct scores and
            # over a fine grid of confidences (oracle, recomputed from counts)
            cidx = P.class_names.index(cn)
            f_at = prf_f1(*o.counts(conf, t)[cidx][:3])
            ck.eq(f_at, f, what + " F1 at best conf")
            for cc in list(np.linspace(0, 1, 101)) + [x[0] for x in o.curve(cidx, t)]:
                fo = prf_f1(*o.counts(float(cc), t)[cidx][:3])
                ck.ok(fo is None or fo <= f, "%s: F1 %r at conf %r beats best %r at %r"
                      % (what, fo, cc, f, conf))
                if fo == f:
                    ck.ok(float(cc) <= conf, "%s: conf %r ties best and is higher than %r"
                          % (what, cc, conf))
    # --step 0.1 (one IoU, every class and all pooled)
    r = run(["sweep", p, "-i", "model-a", "--step", "0.1", "--iou", "0.5"])
    rows = list(csv.reader(io.StringIO(r.out)))[1:]
    ck.eq(len(rows), 11 * (P.n_classes + 1), "--step 0.1 rows")
    t = o.t_index(0.5)
    for i, row in enumerate(rows):
        c, step_i = divmod(i, 11)
        conf = float(row[2])
        ck.eq(conf, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0][step_i],
              "--step conf")
        cs = o.counts(conf, t)
        if c < P.n_classes:
            tp, fp, fn, _ = cs[c]
        else:
            tp, fp, fn = (sum(x[k] for x in cs) for k in range(3))
        pr, rc, f = dgtest.prf(tp, fp, fn)
        ck.eq(row, [P.class_names[c] if c < P.n_classes else MICRO, "0.5",
                    row[2], str(tp), str(fp), str(fn), f6(pr), f6(rc),
                    f6(f)], "--step row %d" % i)
    r = run(["sweep", p, "-i", "model-a", "--step", "0.25", "--iou", "all"])
    ck.eq(len(r.out.strip().split("\n")) - 1,
          5 * (P.n_classes + 1) * len(ts), "--step 0.25 rows")
    # --class
    cn = P.class_names[1]
    r = run(["sweep", p, "-i", "model-a", "--class", cn, "--iou", "0.5"])
    rows = list(csv.reader(io.StringIO(r.out)))[1:]
    ck.eq(len(rows), len(o.curve(1, o.t_index(0.5))), "--class rows")
    ck.ok(all(x[0] == cn for x in rows), "--class only that class")
    r = run(["sweep", p, "-i", "model-a", "--class", "nosuch"], rc=EXIT_ERROR)
    ck.contains(r.err, "nosuch", what="--class unknown")


# --------------------------------------------------------------------------


def test_thresholds(ck, d):
    p = os.path.join(d, "t.h5")
    run(["synth", "-o", p, "--seed", "31", "--frames", "120", "--classes", "4",
         "--crowd-rate", "0.2", "--score-levels", "10"])
    run(["eval", p, "--iou-thresholds", "0.5,0.75", "-q", "--device", "ref"])
    info = run(["info", p, "--json"]).json()
    ck.eq(info["inferences"][0]["iou_thresholds"], [0.5, 0.75], "info thresholds")
    ck.eq(info["inferences"][0]["evaluated_on"], "reference", "info evaluated_on")
    P, o = oracle_for(p, "model-a")
    ck.eq(o.thresholds, [0.5, 0.75], "stored thresholds")
    for conf in (0.0, 0.1, 0.5, 0.9):
        j = dgtest.metrics_json(p, conf, 0.75)
        ck.eq(j["iou"], 0.75, "metrics at 0.75")
        dgtest.check_metrics(ck, j, o.counts(conf, 1), "0.5,0.75 grid at 0.75", P.class_names)
        dgtest.check_metrics(ck, dgtest.metrics_json(p, conf, 0.5), o.counts(conf, 0),
                             "0.5,0.75 grid at 0.5", P.class_names)
    r = run(["metrics", p, "--iou", "0.55"], rc=EXIT_ERROR)
    ck.contains(r.err, "0.55", "0.75", what="metrics at unstored 0.55")
    # a threshold within 1e-9 of a stored one is that one
    j = run(["metrics", p, "--iou", "0.7500000001", "--json"]).json()
    ck.eq(j["iou"], 0.75, "IoU within 1e-9")
    # start:stop:step grids hold the doubles nearest the decimals
    run(["eval", p, "--iou-thresholds", "0.1:0.9:0.1", "-q"])
    th = Project(p).results["model-a"]["iou_thresholds"].tolist()
    ck.eq(th, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], "0.1:0.9:0.1 grid")
    run(["eval", p, "--iou-thresholds", "0.5:0.95:0.05", "-q"])
    th = Project(p).results["model-a"]["iou_thresholds"].tolist()
    ck.eq(th, [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95], "COCO grid")
    P, o = oracle_for(p, "model-a")
    for t in th:
        dgtest.check_metrics(ck, dgtest.metrics_json(p, 0.3, t), o.counts(0.3, o.t_index(t)),
                             "COCO grid at %g" % t, P.class_names)
    run(["eval", p, "-q"])
    th = Project(p).results["model-a"]["iou_thresholds"].tolist()
    ck.eq(th, [round(0.05 * i, 2) for i in range(1, 20)], "default grid after re-eval")


def test_info_devices(ck, d, p):
    P = Project(p)
    j = run(["info", p, "--json"]).json()
    ck.eq(j["file"], p, "info file")
    ck.eq(j["format_version"], 1, "info format_version")
    ck.eq((j["classes"], j["frames"], j["labels"]),
          (P.n_classes, P.n_frames, len(P.labels)), "info sizes")
    ck.eq(j["class_names"], P.class_names, "info class names")
    ck.eq((j["default_conf"], j["default_iou"]), (0.1, 0.5), "info defaults")
    ck.eq([(s["name"], s["detections"]) for s in j["inferences"]],
          [(k, len(v)) for k, v in sorted(P.inferences.items())], "info sets")
    t = run(["info", p]).out
    ck.contains(t, "format 1", "%d classes, %d frames, %d labels" %
                (P.n_classes, P.n_frames, len(P.labels)), "inference set 'model-a'",
                what="info text")
    r = run(["info", os.path.join(d, "missing.h5")], rc=EXIT_ERROR)
    ck.contains(r.err, "missing.h5", what="info missing file")
    devs = run(["devices", "--json"]).json()
    ck.ok(isinstance(devs, list), "devices --json is a list")
    for dv in devs:
        for k in ("selector", "platform", "name", "type", "version", "driver",
                  "fp64", "usable", "global_mem", "compute_units"):
            ck.ok(k in dv, "devices --json key " + k)
        ck.ok(dv["type"] in ("gpu", "cpu", "other"), "device type")
        ck.ok(isinstance(dv["usable"], bool), "usable is a bool")
    # PoCL is installed here and in CI: there is a usable CPU device
    ck.ok(any(dv["type"] == "cpu" and dv["usable"] for dv in devs),
          "no usable OpenCL CPU device: %r" % devs)
    run(["devices"])


# --------------------------------------------------------------------------
# import coco


def test_import(ck, d):
    synth = ["--seed", "41", "--frames", "120", "--classes", "6", "--crowd-rate",
             "0.3", "--score-levels", "15", "--inferences", "2"]
    g = os.path.join(d, "g.json")
    pre = os.path.join(d, "dt")
    run(["synth", "--coco-gt", g, "--coco-dt-prefix", pre] + synth)
    for f in ("g.json", "dt-model-a.json", "dt-model-b.json"):
        ck.ok(os.path.exists(os.path.join(d, f)), "synth wrote " + f)
    sp = os.path.join(d, "synth.h5")
    ip = os.path.join(d, "imported.h5")
    run(["synth", "-o", sp] + synth)
    r = run(["import", "coco", "--gt", g, "--dt", pre + "-model-a.json", "--name",
             "model-a", "--dt", pre + "-model-b.json", "--name", "model-b", "-o", ip])
    ck.contains(r.err, "model-a", "model-b", what="import messages")
    S, I = Project(sp), Project(ip)
    ck.eq(I.class_names, S.class_names, "imported class names")
    ck.eq([int(x) for x in I.class_ids], [int(x) for x in S.class_ids], "imported class ids")
    gj = json.load(open(g))
    ck.eq(I.frame_ids, [str(i) for i in sorted(im["id"] for im in gj["images"])],
          "frame ids are the image ids in decimal")
    ck.eq(sorted(I.inferences), ["model-a", "model-b"], "imported sets")
    for k in ("frame", "cls", "x", "y", "w", "h", "iscrowd", "ignore"):
        ck.array_eq(getattr(I.labels, k), getattr(S.labels, k), "imported labels " + k)
    for name in ("model-a", "model-b"):
        for k in ("frame", "cls", "x", "y", "w", "h", "score"):
            ck.array_eq(getattr(I.inferences[name], k), getattr(S.inferences[name], k),
                        "imported %s %s" % (name, k))
    run(["eval", sp, "-q", "--device", "ref"])
    run(["eval", ip, "-q", "--device", "cpu"])
    rng = np.random.default_rng(7)
    for name in ("model-a", "model-b"):
        Pi, o = oracle_for(ip, name)
        for conf, iou in dgtest.query_points(rng, Pi.inferences[name].score,
                                             o.thresholds, 12):
            a = dgtest.metrics_json(sp, conf, iou, name)
            b = dgtest.metrics_json(ip, conf, iou, name)
            ck.eq(b, a, "imported vs synth metrics %s at (%r, %r)" % (name, conf, iou))
            dgtest.check_metrics(ck, b, o.counts(conf, o.t_index(iou)),
                                 "imported %s" % name, Pi.class_names)
        sa = run(["sweep", sp, "-i", name, "--iou", "0.5"]).out
        sb = run(["sweep", ip, "-i", name, "--iou", "0.5"]).out
        ck.eq(sb, sa, "imported vs synth sweep " + name)
    # default set name: the file's base name less .json
    ip2 = os.path.join(d, "imported2.h5")
    run(["import", "coco", "--gt", g, "--dt", pre + "-model-a.json", "-o", ip2])
    ck.eq(sorted(Project(ip2).inferences), ["dt-model-a"], "default set name")

    # ---- errors leave an existing output byte-identical
    bad = os.path.join(d, "bad.json")
    with open(bad, "w") as f:
        f.write('{"images": [1, 2,,]}')
    missing = os.path.join(d, "missing.json")
    unknown_cat = os.path.join(d, "unknowncat.json")
    dts = json.load(open(pre + "-model-b.json"))
    dts[3]["category_id"] = 999
    with open(unknown_cat, "w") as f:
        json.dump(dts, f)
    before = file_bytes(ip)
    listing = sorted(os.listdir(d))
    cases = [
        (["--gt", missing, "-f"], ["'%s'" % missing, "cannot open"]),
        (["--gt", bad, "--force"], ["'%s'" % bad, "not valid JSON"]),
        (["--gt", g, "--dt", bad, "--force"], ["'%s'" % bad, "not valid JSON"]),
        (["--gt", g, "--dt", missing, "--force"], ["'%s'" % missing]),
        (["--dt", missing], ["'%s'" % missing, "cannot open"]),
        (["--dt", bad], ["'%s'" % bad, "not valid JSON"]),
        (["--dt", unknown_cat, "--name", "x", "--strict"],
         ["'%s'" % unknown_cat, "[3]", "category_id", "999"]),
        (["--dt", pre + "-model-a.json", "--name", "model-a"],
         ["already exists", "model-a"]),
        (["--gt", g], ["exists", "--force"]),
        (["--gt", g, "--dt", pre + "-model-a.json"], ["exists", "--force"]),
    ]
    for args, needles in cases:
        r = run(["import", "coco"] + args + ["-o", ip], rc=EXIT_ERROR)
        ck.contains(r.err, *needles, what="import " + " ".join(args))
        ck.ok(file_bytes(ip) == before,
              "failed import %s changed the existing output" % args)
        ck.eq(sorted(os.listdir(d)), listing, "failed import left files behind")
    # a failed import to a new path creates nothing
    newp = os.path.join(d, "new.h5")
    run(["import", "coco", "--gt", bad, "-o", newp], rc=EXIT_ERROR)
    ck.ok(not os.path.exists(newp), "failed import created its output")
    run(["import", "coco", "--gt", g, "--dt", bad, "-o", newp], rc=EXIT_ERROR)
    ck.ok(not os.path.exists(newp), "failed import (bad --dt) created its output")
    # the results of the evaluated project survived the failed imports
    ck.eq(dgtest.metrics_json(ip, 0.2, 0.5, "model-a"),
          dgtest.metrics_json(sp, 0.2, 0.5, "model-a"), "results after failed imports")

    # ---- --force replaces the whole project
    other = os.path.join(d, "other.json")
    run(["synth", "--coco-gt", other, "--seed", "42", "--frames", "30", "--classes", "2"])
    run(["import", "coco", "--gt", other, "-o", ip, "--force"])
    j = run(["info", ip, "--json"]).json()
    ck.eq((j["classes"], j["frames"], j["inferences"]), (2, 30, []), "--force replaced")
    # ---- adding a set, --replace
    run(["import", "coco", "--gt", g, "-o", ip, "--force"])
    run(["import", "coco", "--dt", pre + "-model-a.json", "--name", "m", "-o", ip])
    run(["eval", ip, "-q"])
    a = dgtest.metrics_json(ip, 0.3, 0.5, "m")
    ck.eq(a["classes"], dgtest.metrics_json(sp, 0.3, 0.5, "model-a")["classes"],
          "added set evaluates like synth's")
    before = file_bytes(ip)
    r = run(["import", "coco", "--dt", pre + "-model-b.json", "--name", "m", "-o", ip],
            rc=EXIT_ERROR)
    ck.contains(r.err, "'m'", "already exists", what="set name taken")
    ck.ok(file_bytes(ip) == before, "refused set changed the file")
    run(["import", "coco", "--dt", pre + "-model-b.json", "--name", "m", "-o", ip,
         "--replace"])
    r = run(["metrics", ip, "-i", "m"], rc=EXIT_ERROR)
    ck.contains(r.err, "eval", what="replaced set needs eval")
    I = Project(ip)
    ck.eq(len(I.inferences["m"]), len(S.inferences["model-b"]), "replaced set size")
    ck.array_eq(I.inferences["m"].score, S.inferences["model-b"].score, "replaced scores")
    run(["eval", ip, "-q"])
    ck.eq(dgtest.metrics_json(ip, 0.3, 0.5, "m")["classes"],
          dgtest.metrics_json(sp, 0.3, 0.5, "model-b")["classes"], "replaced set metrics")


def test_atomic(ck, d):
    """A write that fails at the last step (DETGRID_FAULT=rename simulates the
    rename of the finished temporary file failing) leaves the old file as it
    was and no temporary file behind."""
    sub = os.path.join(d, "atomic")
    os.mkdir(sub)
    p = os.path.join(sub, "a.h5")
    run(["synth", "-o", p, "--frames", "30", "--classes", "3"])
    g = os.path.join(sub, "g.json")
    run(["synth", "--coco-gt", g, "--coco-dt-prefix", os.path.join(sub, "d"),
         "--frames", "30", "--classes", "3"])
    before = file_bytes(p)
    listing = sorted(os.listdir(sub))
    fault = {"DETGRID_FAULT": "rename"}
    for args in (["eval", p, "-q"],
                 ["synth", "-o", p, "--seed", "9"],
                 ["import", "coco", "--gt", g, "-o", p, "--force"],
                 ["import", "coco", "--dt", os.path.join(sub, "d-model-a.json"),
                  "--name", "x", "-o", p]):
        r = run(args, rc=EXIT_ERROR, env=fault)
        ck.contains(r.err, "'%s'" % p, what="failed write: " + " ".join(args))
        ck.ok(file_bytes(p) == before, "failed write changed the file: %s" % args)
        ck.eq(sorted(os.listdir(sub)), listing, "failed write left files: %s" % args)
    # and without the fault the same commands work
    run(["eval", p, "-q"])
    ck.ok(file_bytes(p) != before, "eval rewrote the file")
    shutil.rmtree(sub)


# --------------------------------------------------------------------------
# Output details (each found broken once; all are checked, then reported)


def detail_single_threshold_shape(ck, d):
    """docs/FORMAT.md: /results/<name> attribute iou_thresholds has shape T,
    also when T = 1 (a reader does len(attrs['iou_thresholds']))."""
    p = os.path.join(d, "one.h5")
    run(["synth", "-o", p, "--frames", "20", "--classes", "2"])
    run(["eval", p, "-q", "--iou-thresholds", "0.5"])
    with h5py.File(p, "r") as f:
        shape = f["results/model-a"].attrs.get_id("iou_thresholds").shape
    ck.eq(shape, (1,), "eval --iou-thresholds 0.5: shape of attribute iou_thresholds")


def detail_tiny_conf(ck, d):
    """--conf takes any finite number; 1e-310 (subnormal) is one."""
    p = os.path.join(d, "tiny.h5")
    run(["synth", "-o", p, "--frames", "20", "--classes", "2"])
    run(["eval", p, "-q"])
    r = run(["metrics", p, "--conf", "1e-310", "--json"], rc=None)
    ck.eq(r.rc, 0, "metrics --conf 1e-310 exit code (stderr: %s)" % r.err.strip()[:120])
    ck.eq(r.json()["classes"], dgtest.metrics_json(p, 0.0)["classes"],
          "metrics at conf 1e-310 equals conf 0 (no score below it)")


def detail_csv_quoting(ck, d):
    """sweep --format csv: a class name holding a quote and a comma still
    reads back as one field (RFC 4180 doubles the quote)."""
    p = os.path.join(d, "quote.h5")
    name = 'say "hi", ok'
    with h5py.File(p, "w") as f:
        f.attrs["format"] = "detgrid-project"
        f.attrs["format_version"] = np.int32(1)
        f["classes/name"] = np.array([name], dtype=object).astype(h5py.string_dtype())
        f["frames/id"] = np.array(["0"], dtype=object).astype(h5py.string_dtype())
        for g, sc in (("labels", None), ("inferences/m", 0.5)):
            grp = f.create_group(g)
            grp["frame"] = np.array([0], np.uint32)
            grp["class"] = np.array([0], np.uint32)
            for k in "xywh":
                grp[k] = np.array([1.0])
            if sc is not None:
                grp["score"] = np.array([sc])
    run(["eval", p, "-q", "--iou-thresholds", "0.5"])
    for extra in ([], ["--best", "--format", "csv"]):
        rows = list(csv.reader(io.StringIO(run(["sweep", p] + extra).out)))
        ck.eq(rows[1:], [[n, "0.5", "0.5", "1", "0", "0", "1.000000", "1.000000",
                          "1.000000"] for n in (name, MICRO)],
              "sweep %s csv with a quoted class name" % extra)


def test_output_details(ck, d):
    failures = []
    for fn in (detail_single_threshold_shape, detail_tiny_conf, detail_csv_quoting):
        try:
            fn(ck, d)
        except AssertionError as e:
            failures.append("%s: %s" % (fn.__name__, e))
    if failures:
        raise AssertionError("\n".join(failures))


def test_coco_masks_unread(ck, d):
    """`detgrid coco` reads the ground truth's masks only for the mask
    IoU types: box (and keypoint) evaluations never look at them, as
    pycocotools' never does, so a polygon it could not rasterize does not
    stop a box evaluation, and the segm one names it."""
    import json
    gt = os.path.join(d, "gt-badpoly.json")
    dt = os.path.join(d, "dt-badpoly.json")
    with open(gt, "w") as f:
        json.dump({"images": [{"id": 1, "width": 40, "height": 30}],
                   "categories": [{"id": 1, "name": "a"}],
                   "annotations": [
                       {"id": 1, "image_id": 1, "category_id": 1,
                        "bbox": [2, 3, 10, 8], "area": 80,
                        "segmentation": [[2, 3, 12, 3, 12, 11, 2, 11]]},
                       {"id": 2, "image_id": 1, "category_id": 1,
                        "bbox": [20, 10, 10, 10], "area": 100,
                        "segmentation": [[20, 10, 30]]}]}, f)
    with open(dt, "w") as f:
        json.dump([{"image_id": 1, "category_id": 1, "bbox": [2, 3, 10, 8],
                    "score": 0.9}], f)
    r = run(["coco", "--gt", gt, "--dt", dt, "--json"], rc=0)
    stats = json.loads(r.out)["stats"]
    # One of the two labels found at every threshold: recall 0.5, and
    # precision 1 (less pycocotools' eps) up to it: 51 of the 101 recall
    # points.
    ck.eq(stats[8], 0.5, what="bbox AR@100 beside an unreadable polygon")
    ck.ok(abs(stats[0] - 51 / 101) < 1e-12,
          "bbox AP beside an unreadable polygon: %r" % stats[0])
    r = run(["coco", "--gt", gt, "--dt", dt, "--iou-type", "segm"], rc=2)
    ck.contains(r.err, "annotations[1]: field 'segmentation'",
                what="segm names the polygon")


def main():
    ck = Checker("test_cli")
    with TempDir() as d:
        test_help(ck)
        test_usage_errors(ck, d)
        dd = os.path.join(d, "demo")
        os.mkdir(dd)
        old = os.getcwd()
        os.chdir(dd)
        try:
            test_demo(ck, dd)
        finally:
            os.chdir(old)
        p = test_metrics(ck, d)
        # model-a still has the full default grid
        test_sweep(ck, d, p)
        test_thresholds(ck, d)
        test_info_devices(ck, d, p)
        test_import(ck, d)
        test_atomic(ck, d)
        test_output_details(ck, d)
        test_coco_masks_unread(ck, d)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
