"""detgrid compare and detgrid frames against independent oracles.

- A hand-made project (written with h5py as docs/FORMAT.md shows) where B is
  clearly better on one class and identical on another: figures, AP,
  verdicts and churn checked against hand-computed values.
- Random synthetic projects compared with themselves: every difference 0,
  every verdict "no significant difference".
- Bootstrap intervals against a numpy implementation of the same
  resampling (the same splitmix64 frame draws, documented in
  include/detgrid/bootstrap.h), on per-frame counts from the matching
  oracle in dgtest.py.
- Churn lists and `frames` per-frame counts against numpy recounts.
"""

import os

import numpy as np

import dgtest
from dgtest import Checker, run

C = Checker("test_compare")

U64 = np.uint64
GAMMA = U64(0x9E3779B97F4A7C15)


def mix64(z):
    with np.errstate(over="ignore"):
        z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
        return z ^ (z >> U64(31))


def draws(seed, n_resamples, n):
    """[B, n] universe indices: draw j of resample b."""
    with np.errstate(over="ignore"):
        b = np.arange(1, n_resamples + 1, dtype=U64)[:, None]
        key = mix64(U64(seed) + b * GAMMA)
        j = np.arange(1, n + 1, dtype=U64)[None, :]
        return (mix64(key + j * GAMMA) % U64(n)).astype(np.int64)


def multiplicities(seed, n_resamples, n):
    d = draws(seed, n_resamples, n)
    rows = np.repeat(np.arange(n_resamples), n)
    m = np.zeros((n_resamples, n), np.int64)
    np.add.at(m, (rows, d.ravel()), 1)
    return m


def figures(tp, fp, gt):
    """precision, recall, F1 arrays (NaN where undefined), as detgrid."""
    tp = np.asarray(tp, np.int64)
    fp = np.asarray(fp, np.int64)
    gt = np.asarray(gt, np.int64)
    fn = gt - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(tp + fp > 0, tp.astype(float) / (tp + fp).astype(float), np.nan)
        r = np.where(gt > 0, tp.astype(float) / gt.astype(float), np.nan)
        den = 2 * tp + fp + fn
        f = np.where(den > 0, 2.0 * tp.astype(float) / den.astype(float), np.nan)
    return p, r, f


def interval(vals, level):
    v = vals[~np.isnan(vals)]
    if len(v) == 0:
        return None
    lo, hi = (1 - level) / 2, (1 + level) / 2
    return [float(np.quantile(v, lo)), float(np.quantile(v, hi))]


def frame_class_counts(proj, oracle, conf, t, frames):
    """tp, fp, gt arrays [len(frames), C] recounted from the oracle."""
    Cn = proj.n_classes
    pos = {f: i for i, f in enumerate(frames)}
    tp = np.zeros((len(frames), Cn), np.int64)
    fp = np.zeros_like(tp)
    gt = np.zeros_like(tp)
    d = oracle.dets
    st = oracle.status[t]
    for i in range(len(d)):
        if d.score[i] >= conf and int(d.frame[i]) in pos:
            if st[i] == 1:
                tp[pos[int(d.frame[i])], d.cls[i]] += 1
            elif st[i] == 0:
                fp[pos[int(d.frame[i])], d.cls[i]] += 1
    lab = proj.labels
    for i in range(len(lab)):
        if not lab.iscrowd[i] and not lab.ignore[i] and int(lab.frame[i]) in pos:
            gt[pos[int(lab.frame[i])], lab.cls[i]] += 1
    return tp, fp, gt


def expected_intervals(ca, cb, seed, B, level):
    """Per class and micro intervals of B - A: {name: {metric: [lo, hi]}}."""
    tpa, fpa, gta = ca
    tpb, fpb, gtb = cb
    m = multiplicities(seed, B, tpa.shape[0])
    out = []
    Cn = tpa.shape[1]
    for k in list(range(Cn)) + ["micro"]:
        if k == "micro":
            sa = [m @ x.sum(axis=1) for x in (tpa, fpa, gta)]
            sb = [m @ x.sum(axis=1) for x in (tpb, fpb, gtb)]
        else:
            sa = [m @ x[:, k] for x in (tpa, fpa, gta)]
            sb = [m @ x[:, k] for x in (tpb, fpb, gtb)]
        fa, fb = figures(*sa), figures(*sb)
        out.append({name: interval(fb[i] - fa[i], level)
                    for i, name in enumerate(("precision", "recall", "f1"))})
    return out


def ap101(scores, status, n_gt):
    """COCO-style 101-point AP from per-detection (score, status), points at
    distinct scores (docs/COMPARE.md)."""
    if n_gt == 0:
        return None
    o = np.argsort(-np.asarray(scores), kind="stable")
    sc = np.asarray(scores)[o]
    st = np.asarray(status)[o]
    tp = np.cumsum(st == 1)
    fp = np.cumsum(st == 0)
    last = np.r_[sc[1:] != sc[:-1], True] if len(sc) else np.zeros(0, bool)
    tp, fp = tp[last], fp[last]
    rec = tp / n_gt
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
    prec = np.maximum.accumulate(prec[::-1])[::-1] if len(prec) else prec
    rs = np.linspace(0, 1, 101)
    idx = np.searchsorted(rec, rs, side="left")
    q = np.array([prec[i] if i < len(prec) else 0.0 for i in idx])
    return float(q.mean())


# --------------------------------------------------------------------------
# hand-made project


def write_hand_project(path):
    import h5py
    n = 40
    str_t = h5py.string_dtype()
    lab = {k: [] for k in ("frame", "class", "x", "y", "w", "h")}
    dets = {s: {k: [] for k in ("frame", "class", "x", "y", "w", "h", "score")}
            for s in ("model-a", "model-b")}

    def add(d, f, c, box, score=None):
        d["frame"].append(f)
        d["class"].append(c)
        for k, v in zip("xywh", box):
            d[k].append(v)
        if score is not None:
            d["score"].append(score)

    cat, dog, away = (10, 10, 50, 50), (100, 100, 40, 40), (300, 300, 50, 50)
    for f in range(n):
        add(lab, f, 0, cat)
        add(lab, f, 1, dog)
        # cats: A finds frames 0..9, B frames 2..39; the others are misplaced
        add(dets["model-a"], f, 0, cat if f < 10 else away, 0.9 if f < 10 else 0.6)
        add(dets["model-b"], f, 0, cat if f >= 2 else away, 0.9 if f >= 2 else 0.6)
        # dogs: identical in A and B, found where f % 4 != 0
        if f % 4:
            add(dets["model-a"], f, 1, dog, 0.8)
            add(dets["model-b"], f, 1, dog, 0.8)
    with h5py.File(path, "w") as h:
        h.attrs["format"] = "detgrid-project"
        h.attrs["format_version"] = np.int32(1)
        h.attrs["default_conf"] = 0.1
        h.attrs["default_iou"] = 0.5
        h["classes/name"] = np.array(["cat", "dog"], dtype=object).astype(str_t)
        h["frames/id"] = np.array(["img-%02d" % f for f in range(n)],
                                  dtype=object).astype(str_t)
        g = h.create_group("labels")
        for k in ("frame", "class"):
            g[k] = np.array(lab[k], np.uint32)
        for k in "xywh":
            g[k] = np.array(lab[k], np.float64)
        for s, d in dets.items():
            g = h.create_group("inferences/" + s)
            for k in ("frame", "class"):
                g[k] = np.array(d[k], np.uint32)
            for k in ("x", "y", "w", "h", "score"):
                g[k] = np.array(d[k], np.float64)


def hand_case(tmp):
    path = os.path.join(tmp, "hand.h5")
    write_hand_project(path)
    run(["eval", path, "--device", "ref"])
    j = run(["compare", path, "model-a", "model-b", "--json", "--churn",
             "a-only", "--limit", "0"]).json()
    cat, dog = j["classes"]
    C.eq(cat["name"], "cat", "class 0")
    for side, tp, fp, fn in (("a", 10, 30, 30), ("b", 38, 2, 2)):
        C.eq((cat[side]["tp"], cat[side]["fp"], cat[side]["fn"]), (tp, fp, fn),
             "cat counts " + side)
    C.close(cat["a"]["f1"], 0.25, "cat F1 A")
    C.close(cat["b"]["precision"], 0.95, "cat precision B")
    C.close(cat["diff"]["f1"], 0.7, "cat F1 difference")
    C.ok(cat["ci"]["f1"][0] > 0.4, "cat interval above 0: %r" % cat["ci"])
    C.eq(cat["verdict"], "B better", "cat verdict")
    C.eq(cat["verdicts"]["recall"], "B better", "cat recall verdict")
    # AP by hand: A has 10 TPs at 0.9 (recall 0.25, precision 1) then FPs.
    scores_a = [0.9] * 10 + [0.6] * 30
    C.close(cat["a"]["ap"], ap101(scores_a, [1] * 10 + [0] * 30, 40), "cat AP A")
    C.close(cat["a"]["ap"], 26 / 101, "cat AP A by hand")
    # B: recall 0.95 at precision 1; numpy.linspace's sample 95 is
    # 0.9500000000000001, just above it, so 95 of the 101 samples count.
    C.close(cat["b"]["ap"], 95 / 101, "cat AP B by hand")
    C.close(cat["b"]["ap"], ap101([0.9] * 38 + [0.6] * 2, [1] * 38 + [0] * 2, 40),
            "cat AP B")
    for side in "ab":
        C.eq((dog[side]["tp"], dog[side]["fp"], dog[side]["fn"]), (30, 0, 10),
             "dog counts")
    C.eq(dog["diff"]["f1"], 0, "dog difference")
    C.eq(dog["ci"]["f1"], [0, 0], "dog interval")
    C.eq(dog["ci"]["precision"], [0, 0], "dog precision interval")
    C.eq(dog["verdict"], "no significant difference", "dog verdict")
    C.eq(j["overall"]["verdict"], "B better", "overall verdict")
    C.eq((j["overall"]["a"]["tp"], j["overall"]["b"]["tp"]), (40, 68), "micro TP")
    ch = j["churn"]
    C.eq((ch["a_only"], ch["b_only"]), (2, 30), "churn counts")
    C.eq([(e["frame_id"], e["class"], e["label"]) for e in ch["examples"]],
         [("img-00", "cat", 0), ("img-01", "cat", 2)], "a-only list")
    C.eq(ch["examples"][0]["box"], [10, 10, 50, 50], "a-only box")
    C.eq((ch["examples"][0]["score"], ch["examples"][0]["iou"]), (0.9, 1.0),
         "a-only score and IoU")
    jb = run(["compare", path, "model-a", "model-b", "--json", "--churn",
              "b-only", "--limit", "5"]).json()["churn"]
    C.eq(jb["n_listed"], 30, "b-only listed")
    C.eq([e["frame_id"] for e in jb["examples"]],
         ["img-%02d" % f for f in range(10, 15)], "b-only first five")
    # Reversed roles: the verdict flips.
    jr = run(["compare", path, "model-b", "model-a", "--json"]).json()
    C.eq(jr["classes"][0]["verdict"], "B worse", "reversed cat verdict")
    # Per-set thresholds: at IoU 0.95 for A as well nothing changes (exact boxes).
    je = run(["compare", path, "model-a", "model-b", "--json", "--iou-a",
              "0.95", "--conf-b", "0.7"]).json()
    C.eq(je["b"]["conf"], 0.7, "B's confidence")
    C.eq(je["a"]["iou"], 0.95, "A's IoU")
    C.eq((je["classes"][0]["b"]["tp"], je["classes"][0]["b"]["fp"]), (38, 0),
         "B cat at conf 0.7")
    # A segment: frames 0..9, where A finds every cat and B misses two.
    fl = os.path.join(tmp, "first10.txt")
    with open(fl, "w") as f:
        f.write("".join("img-%02d\n" % i for i in range(10)))
    run(["segment", "create", path, "first10", "--frames", fl])
    js = run(["compare", path, "model-a", "model-b", "--json", "--segment",
              "first10"]).json()
    C.eq(js["n_frames"], 10, "segment frames")
    c0 = js["classes"][0]
    C.eq((c0["a"]["tp"], c0["b"]["tp"], c0["b"]["fp"]), (10, 8, 2),
         "segment cat counts")
    C.close(c0["diff"]["f1"], -0.2, "segment cat F1 difference")
    C.close(c0["a"]["ap"], 1.0, "segment cat AP A")
    C.close(c0["b"]["ap"], ap101([0.6, 0.6] + [0.9] * 8, [0, 0] + [1] * 8, 10),
            "segment cat AP B")
    C.eq((js["churn"]["a_only"], js["churn"]["b_only"]), (2, 0), "segment churn")
    jall = run(["compare", path, "model-a", "model-b", "--json"]).json()
    segs = {s["name"]: s for s in jall["segments"]}
    C.ok("first10" in segs, "per-segment rows")
    # frames 0..9: 10 cats, and dogs in the 7 frames where f % 4 != 0
    C.eq(segs["first10"]["a"]["tp"], 17, "segment micro TP of A")
    # frames on the hand project
    fr = run(["frames", path, "-i", "model-a", "--json", "--sort", "fp"]).json()
    C.eq(fr["n_frames"], 40, "frames listed")
    C.eq(fr["frames"][0]["fp"], 1, "most false positives first")
    f0 = [x for x in run(["frames", path, "-i", "model-a", "--json"]).json()["frames"]
          if x["id"] == "img-00"][0]
    C.eq((f0["tp"], f0["fp"], f0["fn"]), (1, 0, 1), "frame img-00 (dog missed)")
    run(["compare", path, "model-a"], rc=dgtest.EXIT_USAGE)
    run(["compare", path, "model-a", "nope"], rc=dgtest.EXIT_ERROR)
    run(["compare", path, "model-a", "model-b", "--churn", "x"],
        rc=dgtest.EXIT_USAGE)
    run(["compare", path, "model-a", "model-b", "--segment", "nope"],
        rc=dgtest.EXIT_ERROR)
    run(["frames", path, "--sort", "zzz"], rc=dgtest.EXIT_USAGE)


# --------------------------------------------------------------------------
# random projects


def synth(tmp, seed, frames=120):
    path = os.path.join(tmp, "s%d.h5" % seed)
    run(["synth", "--seed", seed, "--frames", frames, "--classes", 4,
         "--inferences", 2, "--crowd-rate", 0.2, "--score-levels", 30,
         "-o", path])
    run(["eval", path, "--device", "ref"])
    return path


def self_compare(path):
    j = run(["compare", path, "model-a", "model-a", "--json", "--resamples",
             300]).json()
    for row in j["classes"] + [j["overall"]]:
        for k in ("precision", "recall", "f1"):
            C.ok(row["diff"][k] in (0, None), "self difference %r" % row)
            C.ok(row["ci"][k] in ([0, 0], None), "self interval %r" % row)
            C.eq(row["verdicts"][k], "no significant difference", "self verdict")
    C.eq((j["churn"]["a_only"], j["churn"]["b_only"]), (0, 0), "self churn")


def random_case(path, seed):
    proj = dgtest.Project(path)
    thr = [0.5, 0.75]
    conf_a, conf_b, B, level = 0.3, 0.2, 400, 0.9
    oa = dgtest.Oracle(proj.labels, proj.inferences["model-a"], thr, proj.n_classes)
    ob = dgtest.Oracle(proj.labels, proj.inferences["model-b"], thr, proj.n_classes)
    frames = list(range(proj.n_frames))
    ca = frame_class_counts(proj, oa, conf_a, 0, frames)
    cb = frame_class_counts(proj, ob, conf_b, 1, frames)
    j = run(["compare", path, "model-a", "model-b", "--conf-a", conf_a,
             "--iou-a", 0.5, "--conf-b", conf_b, "--iou-b", 0.75,
             "--resamples", B, "--seed", seed, "--level", level, "--json",
             "--churn", "b-only", "--limit", 0]).json()
    want = expected_intervals(ca, cb, seed, B, level)
    # The OpenCL CPU device (or the fallback to the reference where there is
    # none) gives the same JSON.
    jd = run(["compare", path, "model-a", "model-b", "--conf-a", conf_a,
              "--iou-a", 0.5, "--conf-b", conf_b, "--iou-b", 0.75,
              "--resamples", B, "--seed", seed, "--level", level, "--json",
              "--churn", "b-only", "--limit", 0, "--device", "cpu"]).json()
    for x in (j, jd):
        del x["bootstrap"]["seconds"]
    C.eq(jd, j, "device and reference JSON")
    # A device that fails to build falls back to the reference, with a warning.
    rf = run(["compare", path, "model-a", "model-b", "--conf-a", conf_a,
              "--iou-a", 0.5, "--conf-b", conf_b, "--iou-b", 0.75,
              "--resamples", B, "--seed", seed, "--level", level, "--json",
              "--churn", "b-only", "--limit", 0, "--device", "cpu"],
             env={"DETGRID_FAULT": "cl-build"})
    jf = rf.json()
    del jf["bootstrap"]["seconds"]
    C.eq(jf, j, "fallback JSON")
    C.ok("falling back to the reference" in rf.err,
         "fallback warning: %r" % rf.err)
    rows = j["classes"] + [j["overall"]]
    for row, w in zip(rows, want):
        for k in ("precision", "recall", "f1"):
            got = row["ci"][k]
            if w[k] is None:
                C.eq(got, None, "interval %s %s" % (row["name"], k))
            else:
                C.close(got[0], w[k][0], "lo %s %s" % (row["name"], k))
                C.close(got[1], w[k][1], "hi %s %s" % (row["name"], k))
    # points and AP
    for k, row in enumerate(j["classes"]):
        C.eq(row["a"]["tp"], int(ca[0][:, k].sum()), "A tp")
        C.eq(row["b"]["fp"], int(cb[1][:, k].sum()), "B fp")
        m = oa.dets.cls == k
        C.close(row["a"]["ap"], ap101(oa.dets.score[m], oa.status[0][m],
                                      int(oa.n_gt[k])), "AP A class %d" % k)
    # churn against a recount
    def found(o, conf, t):
        sel = (o.dets.score >= conf) & (o.status[t] == 1)
        return {int(g): i for i, g in zip(np.nonzero(sel)[0], o.matched[t][sel])}
    fa, fb = found(oa, conf_a, 0), found(ob, conf_b, 1)
    a_only = sorted(set(fa) - set(fb))
    b_only = sorted(set(fb) - set(fa))
    C.eq((j["churn"]["a_only"], j["churn"]["b_only"]), (len(a_only), len(b_only)),
         "churn counts")
    d = ob.dets
    lab = proj.labels
    want_list = sorted(b_only, key=lambda g: (-float(d.score[fb[g]]), g))
    C.eq([e["label"] for e in j["churn"]["examples"]], want_list, "b-only list")
    for e in j["churn"]["examples"][:20]:
        g, i = e["label"], fb[e["label"]]
        C.eq(e["detection"], i, "detection record")
        C.close(e["iou"], dgtest.box_iou(d.x[i], d.y[i], d.w[i], d.h[i], lab.x[g],
                                         lab.y[g], lab.w[g], lab.h[g], 0), "IoU")
        C.eq(e["frame"], int(lab.frame[g]), "frame")
    # frames: per-frame counts at (conf_a, 0.5)
    fr = run(["frames", path, "-i", "model-a", "--conf", conf_a, "--iou", 0.5,
              "--json", "--sort", "f1"]).json()
    C.eq(fr["n_frames"], proj.n_frames, "frames count")
    got = {x["index"]: x for x in fr["frames"]}
    for f in range(proj.n_frames):
        tp, fp, gt = int(ca[0][f].sum()), int(ca[1][f].sum()), int(ca[2][f].sum())
        C.eq((got[f]["tp"], got[f]["fp"], got[f]["fn"]), (tp, fp, gt - tp),
             "frame %d counts" % f)
    f1s = [x["f1"] for x in fr["frames"]]
    defined = [v for v in f1s if v is not None]
    C.eq(defined, sorted(defined), "sorted by F1 ascending")
    C.ok(all(v is None for v in f1s[len(defined):]), "undefined F1 last")
    # a restriction: frames listed only from the segment
    fl = os.path.join(os.path.dirname(path), "odd%d.txt" % seed)
    with open(fl, "w") as f:
        f.write("".join(proj.frame_ids[i] + "\n" for i in range(1, proj.n_frames, 2)))
    run(["segment", "create", path, "odd", "--frames", fl])
    odd = list(range(1, proj.n_frames, 2))
    js = run(["compare", path, "model-a", "model-b", "--conf-a", conf_a,
              "--iou-a", 0.5, "--conf-b", conf_b, "--iou-b", 0.75,
              "--resamples", B, "--seed", seed + 1, "--level", level, "--json",
              "--segment", "odd"]).json()
    sa = frame_class_counts(proj, oa, conf_a, 0, odd)
    sb = frame_class_counts(proj, ob, conf_b, 1, odd)
    w = expected_intervals(sa, sb, seed + 1, B, level)[-1]["f1"]
    C.close(js["overall"]["ci"]["f1"][0], w[0], "segment lo")
    C.close(js["overall"]["ci"]["f1"][1], w[1], "segment hi")
    fs = run(["frames", path, "-i", "model-a", "--segment", "odd", "--json"]).json()
    C.eq([x["index"] for x in fs["frames"]], odd, "segment frames")


def monte_carlo(path):
    """Our paired interval agrees with a plain numpy percentile bootstrap
    (numpy's own random frame draws) within Monte-Carlo tolerance, and
    swapping A and B mirrors it."""
    proj = dgtest.Project(path)
    frames = list(range(proj.n_frames))
    cs = []
    for name in ("model-a", "model-b"):
        o = dgtest.Oracle(proj.labels, proj.inferences[name], [0.5], proj.n_classes)
        cs.append(frame_class_counts(proj, o, 0.1, 0, frames))
    B, n = 4000, proj.n_frames
    rng = np.random.default_rng(5)
    idx = rng.integers(0, n, size=(B, n))
    m = np.zeros((B, n), np.int64)
    np.add.at(m, (np.repeat(np.arange(B), n), idx.ravel()), 1)
    fa = figures(*[m @ x.sum(1) for x in cs[0]])[2]
    fb = figures(*[m @ x.sum(1) for x in cs[1]])[2]
    lo, hi = np.quantile(fb - fa, [0.025, 0.975])
    j = run(["compare", path, "model-a", "model-b", "--json", "--resamples",
             B, "--iou", 0.5, "--conf", 0.1]).json()
    got = j["overall"]["ci"]["f1"]
    width = hi - lo
    C.ok(width > 0.005, "numpy interval width %g" % width)
    C.ok(abs(got[0] - lo) < 0.15 * width and abs(got[1] - hi) < 0.15 * width,
         "Monte-Carlo agreement: ours %r, numpy [%g, %g]" % (got, lo, hi))
    jr = run(["compare", path, "model-b", "model-a", "--json", "--resamples",
              B, "--iou", 0.5, "--conf", 0.1]).json()
    C.close(jr["overall"]["ci"]["f1"][0], -got[1], "swap symmetry lo", rel=1e-9)
    C.close(jr["overall"]["ci"]["f1"][1], -got[0], "swap symmetry hi", rel=1e-9)


def main():
    with dgtest.TempDir() as tmp:
        hand_case(tmp)
        for seed in (1, 2, 3):
            p = synth(tmp, seed)
            self_compare(p)
            if seed <= 2:
                random_case(p, seed)
            else:
                monte_carlo(p)
    C.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
