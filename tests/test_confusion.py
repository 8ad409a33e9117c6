"""detgrid confusion and examples against an independent numpy oracle of the
class-agnostic matching (written from include/detgrid/confusion.h; it
shares no code with detgrid), on synthetic projects with confusions, crowd
regions, ignored labels, duplicates and score ties:

  - the stored /results/<name>/agnostic table (ref and cpu, identical; and
    in small chunks) equals the oracle's per-detection outcome;
  - confusion --json of both devices equals the oracle's matrix at many
    (conf, iou) points; rows sum to the regular ground truths, columns to
    the counted, not ignored detections; 'ignored' is the rest;
  - examples --limit 0 of every non-zero cell lists exactly the cell's count,
    each example really in that cell (classes, score, the pair's boxes and
    IoU), sorted as asked; paging is a slice of the full list;
  - --normalize gt|pred, the many-class view (40 classes), the JSON shape,
    version-1 results (metrics work, confusion asks to run eval again), and
    the error exits.
"""

import math
import os
import shutil

import h5py
import numpy as np

import dgtest
from dgtest import (EXIT_ERROR, EXIT_USAGE, Checker, Project, TempDir, decode_rows,
                    run)

# (synth options, eval --iou-thresholds or None, mark some labels ignored)
CONFIGS = [
    (["--seed", "21", "--frames", "150", "--classes", "6", "--confuse-rate",
      "0.2", "--crowd-rate", "0.2", "--score-levels", "20"], None, True),
    (["--seed", "22", "--frames", "100", "--classes", "4", "--confuse-rate",
      "0.4", "--duplicate-rate", "0.3", "--jitter", "0.3", "--crowd-rate",
      "0.3", "--score-levels", "5"], "0.1:0.9:0.1", False),
    (["--seed", "23", "--frames", "40", "--classes", "3", "--objects", "25",
      "--confuse-rate", "0.5", "--duplicate-rate", "0.5", "--score-levels",
      "3", "--crowd-rate", "0.5"], "0.3,0.5,0.5001,0.75,1", False),
    # h5py-written, integer grid: IoU ties across and within classes
    (["grid", "5"], "0.2,0.25,1/3,0.5,0.6,1".replace("1/3", "0.3333333333333333"),
     False),
]


def write_grid_project(path, seed):
    """A project written with h5py (docs/FORMAT.md) on an integer grid:
    duplicated ground truths of several classes, detections that copy them
    (IoU ties across and within classes), equal scores, crowd and ignored
    labels."""
    rng = np.random.default_rng(seed)
    K, F = 4, 60
    lab, det = [], []
    for f in range(F):
        for _ in range(rng.integers(0, 9)):
            x, y = rng.integers(0, 8, 2)
            w, h = rng.integers(1, 5, 2)
            c = int(rng.integers(0, K))
            crowd, ign = int(rng.uniform() < 0.1), int(rng.uniform() < 0.1)
            lab.append((f, c, x, y, w, h, crowd, ign))
            if rng.uniform() < 0.4:  # a duplicate, often of another class
                lab.append((f, int(rng.integers(0, K)), x, y, w, h, 0, 0))
        mine = [l for l in lab if l[0] == f]
        for _ in range(rng.integers(0, 12)):
            if mine and rng.uniform() < 0.8:
                l = mine[rng.integers(0, len(mine))]
                x, y, w, h = l[2:6]
                if rng.uniform() < 0.5:
                    x, y = x + rng.integers(-1, 2), y + rng.integers(-1, 2)
                c = l[1] if rng.uniform() < 0.5 else int(rng.integers(0, K))
            else:
                x, y = rng.integers(0, 8, 2)
                w, h = rng.integers(1, 5, 2)
                c = int(rng.integers(0, K))
            det.append((f, c, x, y, w, h, float(rng.integers(0, 4)) / 4))
    s = h5py.string_dtype()
    with h5py.File(path, "w") as fh:
        fh.attrs["format"] = "detgrid-project"
        fh.attrs["format_version"] = np.int32(1)
        fh["classes/name"] = np.array(["c%d" % i for i in range(K)],
                                      dtype=object).astype(s)
        fh["frames/id"] = np.array(["f%d" % i for i in range(F)],
                                   dtype=object).astype(s)
        for gname, rows, is_label in (("labels", lab, True),
                                      ("inferences/grid", det, False)):
            g = fh.create_group(gname)
            a = np.array(rows, np.float64)
            g["frame"] = a[:, 0].astype(np.uint32)
            g["class"] = a[:, 1].astype(np.uint32)
            for i, k in enumerate("xywh"):
                g[k] = a[:, 2 + i]
            if is_label:
                g["iscrowd"] = a[:, 6].astype(np.uint8)
                g["ignore"] = a[:, 7].astype(np.uint8)
            else:
                g["score"] = a[:, 6]


# --------------------------------------------------------------------------
# The oracle


def ious(dx, dy, dw, dh, gx, gy, gw, gh, crowd):
    """IoU matrix [len(d), len(g)] in double, pycocotools' operations in
    pycocotools' order; crowd (per g): intersection over detection area."""
    dx, dy, dw, dh = (a[:, None] for a in (dx, dy, dw, dh))
    gx, gy, gw, gh, crowd = (a[None, :] for a in (gx, gy, gw, gh, crowd))
    with np.errstate(invalid="ignore", divide="ignore"):
        iw = np.minimum(dx + dw, gx + gw) - np.maximum(dx, gx)
        ih = np.minimum(dy + dh, gy + gh) - np.maximum(dy, gy)
        inter = iw * ih
        da = dw * dh
        union = np.where(crowd, da, da + gw * gh - inter)
        v = inter / union
    return np.where((iw <= 0) | (ih <= 0), 0.0, v)


def agnostic(labels, dets, thresholds):
    """[T, N] per detection record: label record taken, -1 background,
    -2 ignored."""
    T, N = len(thresholds), len(dets)
    out = np.full((T, N), -1, np.int64)
    lim = [min(float(t), 1 - 1e-10) for t in thresholds]
    irregular = (labels.iscrowd != 0) | (labels.ignore != 0)
    by_frame_g, by_frame_d = {}, {}
    for j, f in enumerate(labels.frame.tolist()):
        by_frame_g.setdefault(f, []).append(j)
    for i, f in enumerate(dets.frame.tolist()):
        by_frame_d.setdefault(f, []).append(i)
    for f, dl in by_frame_d.items():
        gl = by_frame_g.get(f, [])
        # descending score, ties in input order
        dl = sorted(dl, key=lambda i: -dets.score[i])
        d = np.array(dl, np.int64)
        reg = np.array([j for j in gl if not irregular[j]], np.int64)
        ign = np.array([j for j in gl if irregular[j]], np.int64)
        box = lambda b, idx: (b.x[idx], b.y[idx], b.w[idx], b.h[idx])
        R = ious(*box(dets, d), *box(labels, reg), np.zeros(len(reg), bool))
        I = ious(*box(dets, d), *box(labels, ign), labels.iscrowd[ign] != 0)
        rcls = labels.cls[reg]
        for t in range(T):
            taken = np.zeros(len(reg), bool)
            for k, i in enumerate(dl):
                ok = (R[k] >= lim[t]) & ~taken
                if ok.any():
                    best = R[k][ok].max()
                    js = np.nonzero(ok & (R[k] == best))[0]
                    same = js[rcls[js] == dets.cls[i]]
                    m = same[0] if len(same) else js[0]
                    taken[m] = True
                    out[t, i] = reg[m]
                elif (I[k] >= lim[t]).any():
                    out[t, i] = -2
    return out


def oracle_matrix(P, dets, agn, conf, t):
    """(K+1)x(K+1) counts, ignored count, and the set of labels taken."""
    K = P.n_classes
    M = np.zeros((K + 1, K + 1), np.int64)
    sel = dets.score >= conf
    a = agn[t]
    ignored = int((sel & (a == -2)).sum())
    taken = set()
    for i in np.nonzero(sel)[0]:
        if a[i] == -1:
            M[K, dets.cls[i]] += 1
        elif a[i] >= 0:
            M[P.labels.cls[a[i]], dets.cls[i]] += 1
            taken.add(int(a[i]))
    L = P.labels
    for j in range(len(L)):
        if L.iscrowd[j] or L.ignore[j] or j in taken:
            continue
        M[L.cls[j], K] += 1
    return M, ignored, taken


# --------------------------------------------------------------------------
# Checks


def confusion_json(p, conf, iou, extra=()):
    return run(["confusion", p, "--json", "--compact", "--conf", repr(float(conf)),
                "--iou", repr(float(iou))] + list(extra)).json()


def examples_json(p, conf, iou, g, pr, extra=()):
    return run(["examples", p, "--json", "--compact", "--conf",
                repr(float(conf)), "--iou", repr(float(iou)), "--cell",
                "%s,%s" % (g, pr), "--limit", "0"] + list(extra)).json()


def check_cell_examples(ck, P, dets, agn, taken, conf, t, thr, g, pr, ex, what):
    """Every example of cell (g, pr) (indices; K = background) belongs."""
    K = P.n_classes
    L = P.labels
    a = agn[t]
    for e in ex:
        gt, dt = e["gt"], e["detection"]
        ck.eq(P.frame_ids[e["frame"]], e["frame_id"], what + " frame id")
        if pr == K:
            ck.ok(dt is None, what + ": a miss with a detection")
            j = gt["index"]
            ck.ok(L.cls[j] == g and not L.iscrowd[j] and not L.ignore[j] and
                  j not in taken, what + ": label %d is not a miss" % j)
        else:
            d = dt["index"]
            ck.ok(dets.cls[d] == pr and dets.score[d] >= conf,
                  what + ": detection %d class/score" % d)
            ck.eq(dt["score"], float(dets.score[d]), what + " score")
            ck.eq(dt["box"], [float(dets.x[d]), float(dets.y[d]),
                              float(dets.w[d]), float(dets.h[d])], what + " det box")
            ck.eq(e["frame"], int(dets.frame[d]), what + " det frame")
            if g == K:
                ck.ok(gt is None and a[d] == -1, what + ": not background")
            else:
                j = gt["index"]
                ck.eq(int(a[d]), j, what + ": detection %d took another label" % d)
                ck.eq(int(L.cls[j]), g, what + " label class")
                v = ious(*(np.array([x]) for x in (dets.x[d], dets.y[d], dets.w[d],
                                                   dets.h[d], L.x[j], L.y[j],
                                                   L.w[j], L.h[j])),
                         np.zeros(1, bool))[0, 0]
                ck.eq(e["iou"], float(v), what + " pair IoU")
                ck.ok(e["iou"] >= min(thr, 1 - 1e-10), what + " IoU below t")
        if gt is not None:
            j = gt["index"]
            ck.eq(gt["box"], [float(L.x[j]), float(L.y[j]), float(L.w[j]),
                              float(L.h[j])], what + " gt box")
            ck.eq(e["area"], float(L.w[j] * L.h[j]), what + " area (gt)")
        else:
            d = dt["index"]
            ck.eq(e["area"], float(dets.w[d] * dets.h[d]), what + " area (det)")


def sort_key(e, key):
    if key == "confidence":
        return e["detection"]["score"] if e["detection"] else None
    return e[key]


def check_sorted(ck, ex, key, asc, what):
    vals = [sort_key(e, key) for e in ex]
    nums = [v for v in vals if v is not None]
    ck.ok(vals[:len(nums)] == nums, what + ": values without a key not last")
    ck.ok(all((a <= b) if asc else (a >= b) for a, b in zip(nums, nums[1:])),
          what + ": not sorted by %s %s" % (key, "asc" if asc else "desc"))


def check_config(ck, d, k, synth_args, spec, mark_ignored, rng):
    p = os.path.join(d, "p%d.h5" % k)
    q = os.path.join(d, "q%d.h5" % k)
    if synth_args[0] == "grid":
        write_grid_project(p, int(synth_args[1]))
    else:
        run(["synth", "-o", p] + synth_args)
    if mark_ignored:
        # docs/FORMAT.md: edit with h5py, drop the group's fingerprint
        with h5py.File(p, "r+") as f:
            g = f["labels"]
            n = len(g["frame"])
            ign = np.zeros(n, np.uint8)
            ign[::13] = 1
            if "ignore" in g:
                del g["ignore"]
            g["ignore"] = ign
            if "fingerprint" in g.attrs:
                del g.attrs["fingerprint"]
    shutil.copyfile(p, q)
    ev = ["--iou-thresholds", spec] if spec else []
    run(["eval", p, "--device", "ref", "-q"] + ev)
    run(["eval", q, "--device", "cpu", "-q"] + ev)
    P, Q = Project(p), Project(q)
    what0 = "config %d" % k
    name = sorted(P.inferences)[0]
    dets = P.inferences[name]
    rp, rq = P.results[name], Q.results[name]
    thresholds = [float(t) for t in rp["iou_thresholds"]]
    ck.eq(int(rp["results_version"]), 2, what0 + " results_version")
    ck.ok(str(rq["device"]).startswith("OpenCL"), what0 + " cpu device")
    agn = agnostic(P.labels, dets, thresholds)
    order = np.array(dgtest.sorted_order(dets), np.int64)
    ck.array_eq(rp["agnostic"].astype(np.int64), agn[:, order], what0 + " agnostic")
    ck.array_eq(rp["label_class"].astype(np.int64), P.labels.cls,
                what0 + " label_class")
    for tab in ("agnostic", "label_class"):
        ck.array_eq(rq[tab], rp[tab], what0 + " cpu vs ref " + tab)
    # the data must exercise what we test
    ck.ok((agn == -2).any() and (agn == -1).any() and (agn >= 0).any(),
          what0 + ": outcomes not all present")
    cross = (agn >= 0) & (P.labels.cls[np.maximum(agn, 0)] != dets.cls[None, :])
    ck.ok(cross.any(), what0 + ": no cross-class matches")
    if k == 0:
        # the device's matching stage fails: eval warns, falls back to the
        # reference path and stores the same tables
        c = os.path.join(d, "c%d.h5" % k)
        r = run(["eval", p, "--device", "cpu", "-o", c] + ev,
                env={"DETGRID_FAULT": "cl-match"})
        ck.contains(r.err, "OpenCL matching failed", "falling back",
                    what="fallback warning")
        with h5py.File(c, "r") as f:
            g = f["results"][name]
            ck.eq(g.attrs["device"].decode() if isinstance(g.attrs["device"], bytes)
                  else str(g.attrs["device"]), "reference", "fallback device")
            for tab in ("agnostic", "status", "matched"):
                ck.array_eq(decode_rows(g[tab]), rp[tab], what0 + " fallback " + tab)
        os.unlink(c)
        for dev in ("ref", "cpu"):
            run(["eval", p, "--device", dev, "-q", "-o", c] + ev,
                env={"DETGRID_CHUNK_DETS": "97"})
            with h5py.File(c, "r") as f:
                ck.array_eq(decode_rows(f["results"][name]["agnostic"]), rp["agnostic"],
                            what0 + " agnostic in chunks of 97 on " + dev)
            os.unlink(c)

    K = P.n_classes
    names = P.class_names + ["background"]
    regular = (P.labels.iscrowd == 0) & (P.labels.ignore == 0)
    n_gt = np.bincount(P.labels.cls[regular], minlength=K)
    pts = dgtest.query_points(rng, dets.score, thresholds, 14)
    for ip, (conf, iou) in enumerate(pts):
        t = thresholds.index(iou)
        what = "%s at conf %r iou %r" % (what0, conf, iou)
        M, ignored, taken = oracle_matrix(P, dets, agn, conf, t)
        jp = confusion_json(p, conf, iou)
        jq = confusion_json(q, conf, iou)
        ck.eq(jq, jp, what + " cpu vs ref")
        ck.eq(jp["classes"], names, what + " classes")
        ck.eq(jp["conf"], conf, what + " echoed conf")
        ck.eq(jp["iou"], iou, what + " echoed iou")
        ck.array_eq(np.array(jp["matrix"], np.int64), M, what + " matrix")
        ck.eq(jp["ignored"], ignored, what + " ignored")
        Mj = np.array(jp["matrix"], np.int64)
        ck.array_eq(Mj[:K].sum(axis=1), n_gt, what + " row sums = ground truths")
        sel = dets.score >= conf
        counted = np.bincount(dets.cls[sel], minlength=K)
        ck.array_eq(Mj[:, :K].sum(axis=0) + np.bincount(
            dets.cls[sel & (agn[t] == -2)], minlength=K), counted,
            what + " column sums + ignored = counted detections")
        ck.eq(Mj[K, K], 0, what + " background corner")
        # examples: every non-zero cell at a few points
        if ip % 5 != 0:
            continue
        for g in range(K + 1):
            for pr in range(K + 1):
                if g == K and pr == K:
                    continue
                cnt = int(M[g, pr])
                if cnt == 0 and rng.uniform() < 0.7:
                    continue
                ex = examples_json(p, conf, iou, names[g], names[pr])
                w = "%s cell (%s, %s)" % (what, names[g], names[pr])
                ck.eq(ex["total"], cnt, w + " total")
                ck.eq(len(ex["examples"]), cnt, w + " listed")
                ck.eq(ex["cell"], {"gt": names[g], "pred": names[pr]}, w + " cell")
                check_cell_examples(ck, P, dets, agn, taken, conf, t, iou, g,
                                    pr, ex["examples"], w)
                check_sorted(ck, ex["examples"], "confidence", False, w)
                if cnt >= 3:
                    for key in ("iou", "area", "confidence"):
                        e2 = examples_json(p, conf, iou, names[g], names[pr],
                                           ["--sort", key, "--asc"])
                        check_sorted(ck, e2["examples"], key, True, w)
                        ck.eq(len(e2["examples"]), cnt, w + " asc listed")
                    page = examples_json(p, conf, iou, names[g], names[pr],
                                         ["--offset", "1", "--limit", "2"])
                    ck.eq(page["examples"], ex["examples"][1:3], w + " paging")
                    ck.eq(page["total"], cnt, w + " paging total")
    return p


def check_views(ck, d, p):
    """Normalization, JSON shape, text output, errors, version 1."""
    j = confusion_json(p, 0.3, 0.5)
    K = len(j["classes"]) - 1
    M = np.array(j["matrix"], np.float64)
    for key in ("inferences", "conf", "iou", "normalize", "classes", "matrix",
                "ignored", "cells", "report", "overall"):
        ck.ok(key in j, "confusion --json lacks %r" % key)
    ck.eq(j["normalize"], "none", "normalize default")
    ck.ok("normalized" not in j, "normalized without --normalize")
    ck.eq(len(j["matrix"]), K + 1, "matrix rows")
    ck.ok(all(len(r) == K + 1 for r in j["matrix"]), "matrix columns")
    # cells: every non-zero cell once, off-diagonal first, by count
    cells = j["cells"]
    ck.eq(len(cells), int((M > 0).sum()), "cells: non-zero cells")
    idx = {n: i for i, n in enumerate(j["classes"])}
    diag = [c["gt"] == c["pred"] for c in cells]
    ck.eq(diag, sorted(diag), "cells: off-diagonal first")
    for c in cells:
        ck.eq(c["count"], int(M[idx[c["gt"]], idx[c["pred"]]]), "cell count")
        kind = ("false_positive" if c["gt"] == "background" else
                "false_negative" if c["pred"] == "background" else
                "correct" if c["gt"] == c["pred"] else "confusion")
        ck.eq(c["kind"], kind, "cell kind")
    for a, b in zip(cells, cells[1:]):
        if (a["gt"] == a["pred"]) == (b["gt"] == b["pred"]):
            ck.ok(a["count"] >= b["count"], "cells not sorted by count")
    # report from the matrix: TP the diagonal
    for kk, r in enumerate(j["report"]):
        tp = M[kk, kk]
        ck.eq(r["tp"], int(tp), "report tp")
        ck.eq(r["fp"], int(M[:, kk].sum() - tp), "report fp")
        ck.eq(r["fn"], int(M[kk, :].sum() - tp), "report fn")
        ck.eq(r["support"], int(M[kk, :].sum()), "report support")
        pr, rc, f1 = dgtest.prf(r["tp"], r["fp"], r["fn"])
        ck.close(r["precision"], pr, "report precision")
        ck.close(r["recall"], rc, "report recall")
        ck.close(r["f1"], f1, "report f1")
    for how, axis in (("gt", 1), ("pred", 0)):
        jn = confusion_json(p, 0.3, 0.5, ["--normalize", how])
        ck.eq(jn["matrix"], j["matrix"], "--normalize %s keeps counts" % how)
        s = M.sum(axis=axis, keepdims=True)
        for g in range(K + 1):
            for q in range(K + 1):
                got = jn["normalized"][g][q]
                den = s[g, 0] if axis == 1 else s[0, q]
                if g == K and q == K:
                    ck.eq(got, None, "normalized corner")
                elif den == 0:
                    ck.eq(got, None, "normalized without a sum")
                else:
                    ck.close(got, M[g, q] / den, "normalized %s" % how)
    # text
    out = run(["confusion", p, "--conf", "0.3"]).out
    ck.contains(out, "ground truth \\ predicted", "background", what="matrix text")
    cls = j["classes"][1]
    out = run(["confusion", p, "--class", cls, "--normalize", "gt"]).out
    ck.contains(out, "cells of '%s'" % cls, what="--class text")
    out = run(["examples", p, "--cell", "background,%s" % cls]).out
    ck.contains(out, "of ground truth 'background' predicted as '%s'" % cls,
                what="examples text")
    # errors
    ck.contains(run(["confusion", p, "--normalize", "rows"], rc=EXIT_USAGE).err,
                "--normalize", what="bad --normalize")
    ck.contains(run(["confusion", p, "--class", "no-such"], rc=EXIT_ERROR).err,
                "no class 'no-such'", what="unknown --class")
    ck.contains(run(["confusion", p, "--iou", "0.33"], rc=EXIT_ERROR).err,
                "not evaluated", what="unstored IoU")
    run(["examples", p, "--cell", cls], rc=EXIT_USAGE)
    run(["examples", p], rc=EXIT_USAGE)
    run(["examples", p, "--cell", "%s,%s" % (cls, cls), "--sort", "x"], rc=EXIT_USAGE)
    run(["examples", p, "--cell", "%s,%s" % (cls, cls), "--asc", "--desc"],
        rc=EXIT_USAGE)
    ck.contains(run(["examples", p, "--cell", "nope,%s" % cls], rc=EXIT_ERROR).err,
                "nope", what="unknown class in --cell")
    run(["examples", p, "--cell", "background,background"], rc=EXIT_ERROR)
    ck.contains(run(["confusion", "--help"]).out, "--normalize", what="help")
    ck.contains(run(["examples", "--help"]).out, "--cell", what="help")
    # version-1 results: metrics work, confusion asks to run eval again
    v1 = os.path.join(d, "v1.h5")
    shutil.copyfile(p, v1)
    with h5py.File(v1, "r+") as f:
        for g in f["results"].values():
            del g["agnostic"]
            del g["label_class"]
            g.attrs["results_version"] = np.int32(1)
    run(["metrics", v1, "--json"])
    for cmd in (["confusion", v1], ["examples", v1, "--cell", "%s,%s" % (cls, cls)]):
        r = run(cmd, rc=EXIT_ERROR)
        ck.contains(r.err, "run 'detgrid eval' again", what="version 1 " + cmd[0])
    # and eval makes them version 2 again
    run(["eval", v1, "-q"])
    ck.eq(confusion_json(v1, 0.3, 0.5)["matrix"], j["matrix"], "re-evaluated v1")
    v3 = os.path.join(d, "v3.h5")
    shutil.copyfile(p, v3)
    with h5py.File(v3, "r+") as f:
        for g in f["results"].values():
            g.attrs["results_version"] = np.int32(3)
    ck.contains(run(["confusion", v3], rc=EXIT_ERROR).err, "upgrade",
                what="results_version 3")


def check_many_classes(ck, d):
    p = os.path.join(d, "many.h5")
    run(["synth", "-o", p, "--seed", "24", "--frames", "80", "--classes", "40",
         "--confuse-rate", "0.3"])
    run(["eval", p, "-q", "--iou-thresholds", "0.5"])
    j = confusion_json(p, 0.1, 0.5)
    ck.eq(len(j["classes"]), 41, "40 classes + background")
    out = run(["confusion", p]).out
    ck.contains(out, "classification report", "top", "micro", "macro",
                what="many-class view")
    ck.ok("ground truth \\ predicted" not in out, "many-class view prints a matrix")
    for r in j["report"]:
        ck.ok(r["class"] + " " in out or r["class"][:40] in out,
              "report row missing for %s" % r["class"])
    # --class: only the cells of that class, by count
    busiest = max(j["report"], key=lambda r: r["support"])["class"]
    jc = confusion_json(p, 0.1, 0.5, ["--class", busiest])
    ck.eq(jc["class"], busiest, "echoed --class")
    ck.ok(jc["cells"], "no cells for the busiest class")
    ck.ok(all(busiest in (c["gt"], c["pred"]) for c in jc["cells"]),
          "--class keeps other cells")
    ck.eq(len(jc["cells"]), sum(1 for c in j["cells"]
                                if busiest in (c["gt"], c["pred"])),
          "--class drops cells")
    out = run(["confusion", p, "--class", busiest]).out
    lines = [l for l in out.splitlines() if l.startswith(busiest) or
             (" " + busiest + " ") in l]
    ck.ok(len(lines) >= len(jc["cells"]), "--class text rows")


def main():
    ck = Checker("test_confusion")
    rng = np.random.default_rng(7)
    with TempDir() as d:
        first = None
        for k, (args, spec, mark) in enumerate(CONFIGS):
            p = check_config(ck, d, k, args, spec, mark, rng)
            first = first or p
        check_views(ck, d, first)
        check_many_classes(ck, d)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
