"""`detgrid slices` end to end against a brute-force oracle in numpy: the
conditions built from the metadata columns, every conjunction tested, the
per-frame counts from the independent matching oracle, the ratio test
(z, Welch degrees of freedom, the t tail by numerical integration),
Benjamini-Hochberg, the ranking, the filter of slices explained by those
above, the class lifts and worst frames of the explanation; then
--save-segment, --segment, the options and bad input.
"""

import math
import os
import re
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dgtest  # noqa: E402
from dgtest import EXIT_ERROR, EXIT_USAGE, Checker, TempDir, run  # noqa: E402

STR = h5py.string_dtype()
CONF, IOU = 0.1, 0.5


def make_project(tmp, seed=3, frames=600):
    """synth with metadata and a planted slice, plus two columns of our
    own: a numeric one with 4 values and some NaN, a string one with some
    missing values."""
    proj = os.path.join(tmp, "s%d.h5" % seed)
    r = run(["synth", "--frames", str(frames), "--metadata", "--plant-slice",
             "--seed", str(seed), "-o", proj])
    m = re.search(r"planted slice: (\S+) and (\S+) \((\d+) frames\)", r.err)
    assert m, r.err
    rng = np.random.default_rng(seed)
    with h5py.File(proj, "a") as h:
        lanes = rng.integers(1, 5, frames).astype(np.float64)
        lanes[rng.random(frames) < 0.05] = np.nan
        h["frames/meta/lanes"] = lanes
        road = np.array(["dry", "wet", ""], dtype=object)[
            rng.integers(0, 3, frames)]
        h["frames/meta/road"] = road.astype(STR)
    run(["eval", proj])
    return proj, [m.group(1), m.group(2)], int(m.group(3))


def read_meta(proj):
    with h5py.File(proj, "r") as h:
        cols = {}
        for name in h["frames/meta"]:
            ds = h["frames/meta/" + name]
            if ds.dtype.kind in "OS":
                cols[name] = np.array(dgtest._strings(ds), dtype=object)
            else:
                cols[name] = ds[:].astype(np.float64)
        nf = len(h["frames/id"])
    return cols, nf


def frame_counts(proj):
    """Per-frame and per-(frame, class) TP, FP, FN by the matching oracle."""
    with h5py.File(proj, "r") as h:
        labels = dgtest.read_boxset(h["labels"])
        dets = dgtest.read_boxset(h["inferences/model-a"])
        nf = len(h["frames/id"])
        nc = len(h["classes/name"])
    status, _ = dgtest.match(labels, dets, [IOU])
    tp = np.zeros((nf, nc), np.int64)
    fp = np.zeros((nf, nc), np.int64)
    ngt = np.zeros((nf, nc), np.int64)
    counted = (labels.iscrowd == 0) & (labels.ignore == 0)
    np.add.at(ngt, (labels.frame[counted].astype(int),
                    labels.cls[counted].astype(int)), 1)
    keep = dets.score >= CONF
    for st, arr in ((1, tp), (0, fp)):
        sel = keep & (status[0] == st)
        np.add.at(arr, (dets.frame[sel].astype(int),
                        dets.cls[sel].astype(int)), 1)
    return tp, fp, ngt - tp


def fmt(v):
    for prec in (15, 16, 17):
        s = "%.*g" % (prec, v)
        if float(s) == v:
            return s


def conditions(cols, nf, min_support, bins=4, max_values=10):
    """[(column index, where, frame mask)] in the order the search builds
    them, and all of them with their counts."""
    out = []
    for ci, name in enumerate(sorted(cols)):
        v = cols[name]
        if v.dtype == object:
            vals, counts = np.unique(v[v != ""], return_counts=True)
            order = sorted(zip(vals, counts), key=lambda t: (-t[1], t[0]))
            for val, _ in order:
                out.append((ci, "%s=%s" % (name, val), v == val))
            continue
        ok = v[~np.isnan(v)]
        s = np.sort(ok)
        distinct = np.unique(s)
        if len(distinct) <= max_values:
            for val in distinct:
                out.append((ci, "%s=%s" % (name, fmt(val)), v == val))
            continue
        edges = []
        for i in range(1, bins):
            e = s[i * len(s) // bins]
            if e > s[0] and (not edges or e > edges[-1]):
                edges.append(e)
        for i in range(len(edges) + 1):
            lo = edges[i - 1] if i else -np.inf
            hi = edges[i] if i < len(edges) else np.inf
            with np.errstate(invalid="ignore"):
                mask = (v >= lo) & (v < hi)
            if i == 0:
                w = "%s<%s" % (name, fmt(hi))
            elif i == len(edges):
                w = "%s>=%s" % (name, fmt(lo))
            else:
                w = "%s<=%s<%s" % (fmt(lo), name, fmt(hi))
            out.append((ci, w, mask))
    return out


def t_sf(t, df):
    """P(T >= t) by integrating the t density (Simpson, far enough out)."""
    if t < 0:
        return 1 - t_sf(-t, df)
    lc = (math.lgamma((df + 1) / 2) - math.lgamma(df / 2)
          - 0.5 * math.log(df * math.pi))
    span = 400.0 + 50 * t
    n = 400000
    x = t + np.linspace(0, span, n + 1)
    y = np.exp(lc - (df + 1) / 2 * np.log1p(x * x / df))
    w = np.ones(n + 1)
    w[1:-1:2] = 4
    w[2:-1:2] = 2
    return float((w * y).sum() * span / n / 3)


def ratio_test(a, b, ins):
    """z, df of F1-as-ratio in the frames ins against the other frames."""
    def side(m):
        m = m & (b > 0)
        n = m.sum()
        A, B = a[m].sum(), b[m].sum()
        R = A / B
        V = n / (n - 1) * ((a[m] - R * b[m]) ** 2).sum() / B ** 2
        return n, R, V
    ns, rs, vs = side(ins)
    nt, rt, vt = side(~ins)
    v = vs + vt
    z = (rt - rs) / math.sqrt(v)
    df = v * v / (vs * vs / (ns - 1) + vt * vt / (nt - 1))
    return z, df, rs, rt


def bh(p):
    p = np.asarray(p, float)
    n = len(p)
    order = np.argsort(p, kind="stable")
    q = np.empty(n)
    run_min = 1.0
    for j in range(n - 1, -1, -1):
        run_min = min(run_min, p[order[j]] * n / (j + 1))
        q[order[j]] = run_min
    return q


def oracle(proj, min_support, alpha=0.05):
    cols, nf = read_meta(proj)
    tp, fp, fn = frame_counts(proj)
    ftp, ffp, ffn = tp.sum(1), fp.sum(1), fn.sum(1)
    a, b = 2.0 * ftp, 2.0 * ftp + ffp + ffn
    conds = conditions(cols, nf, min_support)
    kept = [c for c in conds if c[2].sum() >= min_support]
    tested = []
    for i, (ci, wi, mi) in enumerate(kept):
        tested.append(((i,), mi))
        for j in range(i + 1, len(kept)):
            cj, wj, mj = kept[j]
            if cj == ci:
                continue
            m = mi & mj
            if m.sum() >= min_support:
                tested.append(((i, j), m))
    rows = []
    for idx, m in tested:
        z, df, rs, rt = ratio_test(a, b, m)
        p = t_sf(z, df)
        rows.append(dict(idx=idx, mask=m, z=z, df=df, p=p, value=rs,
                         rest=rt, name=" and ".join(kept[i][1] for i in idx)))
    q = bh([r["p"] for r in rows])
    for r, qq in zip(rows, q):
        r["q"] = qq
    sig = [r for r in rows if r["q"] <= alpha and r["z"] > 0]
    sig.sort(key=lambda r: (r["p"], len(r["idx"]), r["idx"]))
    level = alpha * len(sig) / len(rows)
    reported, covered = [], np.zeros(nf, bool)
    for r in sig:
        if reported:
            res = r["mask"] & ~covered
            if res.sum() < min_support:
                continue
            other = ~(r["mask"] | covered)
            both = res | other
            z, df, _, _ = ratio_test(a[both], b[both], res[both])
            if not t_sf(z, df) <= level:
                continue
        reported.append(r)
        covered |= r["mask"]
    return dict(conds=conds, tested=len(rows), significant=len(sig),
                reported=reported, counts=(tp, fp, fn))


def class_lifts(tp, fp, fn, m):
    """The explanation's classes: errors = FP + FN, chances = 2TP + FP +
    FN per class in frames m against all frames; z > 0 only, top 3."""
    err_all = (fp + fn).sum(0)
    chn_all = (2 * tp + fp + fn).sum(0)
    err = (fp[m] + fn[m]).sum(0)
    chn = (2 * tp[m] + fp[m] + fn[m]).sum(0)
    out = []
    for c in range(tp.shape[1]):
        if chn[c] == 0 or chn_all[c] == 0:
            continue
        p0 = err_all[c] / chn_all[c]
        v = chn[c] * p0 * (1 - p0)
        z = (err[c] - chn[c] * p0) / math.sqrt(v) if v > 0 else 0
        if z > 0:
            out.append((z, c, int(err[c]), int(chn[c]),
                        (err[c] / chn[c]) / p0))
    out.sort(key=lambda t: (-t[0], t[1]))
    return out[:3]


def test_oracle(ck, tmp):
    proj, _, _ = make_project(tmp)
    for alpha in (0.05, 0.4):
        check_oracle(ck, proj, alpha)


def check_oracle(ck, proj, alpha):
    """A lenient alpha lets many slices through, so that the filter of
    those the slices above explain has work to do."""
    support = 20
    j = run(["slices", proj, "--json", "--min-support", str(support),
             "--alpha", str(alpha)]).json()
    o = oracle(proj, support, alpha)
    ck.ok(o["significant"] >= (2 if alpha > 0.1 else 1), "some significant")
    ck.eq([(c["where"], c["frames"]) for c in j["conditions"]],
          [(w, int(m.sum())) for _, w, m in o["conds"]], "conditions")
    ck.eq(j["tested"], o["tested"], "slices tested")
    ck.eq(j["significant"], o["significant"], "significant slices")
    ck.eq([s["name"] for s in j["slices"]],
          [r["name"] for r in o["reported"]], "reported slices, in order")
    tp, fp, fn = o["counts"]
    with h5py.File(proj, "r") as h:
        ids = dgtest._strings(h["frames/id"])
        names = dgtest._strings(h["classes/name"])
    for s, r in zip(j["slices"], o["reported"]):
        m = r["mask"]
        what = s["name"]
        ck.eq(s["frame_indices"], np.flatnonzero(m).tolist(), what + " frames")
        ck.eq((s["tp"], s["fp"], s["fn"]),
              (int(tp[m].sum()), int(fp[m].sum()), int(fn[m].sum())),
              what + " counts")
        ck.close(s["z"], r["z"], what + " z", rel=1e-9)
        ck.close(s["value"], r["value"], what + " F1", rel=1e-12)
        ck.close(s["value_rest"], r["rest"], what + " rest F1", rel=1e-12)
        if r["p"] > 1e-12:
            ck.close(s["p"] / r["p"], 1, what + " p", rel=1e-6)
        else:
            ck.ok(s["p"] <= 1e-11, what + " tiny p")
        ck.ok(abs(s["q"] - r["q"]) <= 1e-6 * max(r["q"], 1e-12),
              what + " q %g vs %g" % (s["q"], r["q"]))
        got = [(c["class"], c["errors"], c["chances"])
               for c in s["explain"]["classes"]]
        want = [(names[c], e, n) for _, c, e, n, _ in class_lifts(tp, fp, fn, m)]
        ck.eq(got, want, what + " class lifts")
        for c, w in zip(s["explain"]["classes"],
                        class_lifts(tp, fp, fn, m)):
            ck.close(c["lift"], w[4], what + " lift", rel=1e-12)
        err = (fp + fn).sum(1)
        worst = sorted(np.flatnonzero(m), key=lambda f: (-err[f], f))[:5]
        ck.eq(s["explain"]["representative_frames"],
              [ids[f] for f in worst], what + " worst frames")
        ck.ok(sum(t["count"] for t in s["explain"]["error_types"]) > 0,
              what + " TIDE types")


def test_planted_and_save(ck, tmp):
    proj, where, n = make_project(tmp, seed=5, frames=1500)
    cols, nf = read_meta(proj)
    planted = np.ones(nf, bool)
    for w in where:
        col, op, val = re.match(r"^(\w+)(=|<|>=)(.+)$", w).groups()
        v = cols[col]
        if v.dtype == object:
            planted &= v == val
        elif op == "<":
            planted &= v < float(val)
        else:
            planted &= v >= float(val)
    ck.eq(int(planted.sum()), n, "planted frames")
    j = run(["slices", proj, "--json"]).json()
    top = set(j["slices"][0]["frame_indices"])
    pl = set(np.flatnonzero(planted).tolist())
    ck.ok(len(top & pl) / len(top | pl) >= 0.8, "planted slice first")
    ck.eq(sorted(c["column"] for c in j["slices"][0]["conditions"]),
          sorted(re.match(r"^(\w+)", w).group(1) for w in where),
          "the planted columns")
    # Text output: the table and the explanation lines.
    t = run(["slices", proj]).out
    ck.ok(j["slices"][0]["name"] in t and "rank" in t, t[:400])
    # The first slice saved: a segment whose metrics are the slice's
    # counts.
    run(["slices", proj, "--save-segment", "found", "--slice", "1"])
    seg = run(["segment", "show", proj, "found", "--json",
               "--frames-list"]).json()
    ck.eq(seg["kind"], "scenario", "segment kind")
    ck.eq(sorted(seg["frame_ids"]),
          sorted("frame-%06d" % (f + 1) for f in top), "segment frames")
    ck.eq(seg["meta"].get("slice"), j["slices"][0]["name"], "segment meta")
    m = run(["metrics", proj, "--segment", "found", "--json"]).json()
    s0 = j["slices"][0]
    ck.eq((m["overall"]["micro"]["tp"], m["overall"]["micro"]["fp"],
           m["overall"]["micro"]["fn"]), (s0["tp"], s0["fp"], s0["fn"]),
          "segment metrics = slice counts")
    r = run(["slices", proj, "--save-segment", "found"], rc=EXIT_ERROR)
    ck.ok("found" in r.err, r.err)
    # Within a segment: every slice is inside it.
    js = run(["slices", proj, "--segment", "found", "--json",
              "--min-support", "10"]).json()
    ck.eq(js["overall"]["frames"], len(top), "segment universe")
    for s in js["slices"]:
        ck.ok(set(s["frame_indices"]) <= top, "slice within the segment")
    # Other metrics, ranks, columns.
    jr = run(["slices", proj, "--json", "--metric", "recall",
              "--columns", ",".join(c for c in where_cols(where)),
              "--conditions", "1"]).json()
    ck.eq(jr["metric"], "recall", "metric")
    ck.eq(jr["columns"], len(set(where_cols(where))), "columns searched")
    ck.ok(all(len(s["conditions"]) == 1 for s in jr["slices"]),
          "one condition")
    je = run(["slices", proj, "--json", "--rank", "effect-support"]).json()
    ck.eq(je["rank"], "effect-support", "rank")
    for s in je["slices"]:
        ck.close(s["score"], s["effect"] * s["frames"], "score", rel=1e-9)


def where_cols(where):
    return [re.match(r"^(\w+)", w).group(1) for w in where]


def test_bad_input(ck, tmp):
    proj = os.path.join(tmp, "plain.h5")
    run(["synth", "--frames", "50", "-o", proj])
    run(["eval", proj])
    r = run(["slices", proj], rc=EXIT_ERROR)
    ck.ok("plain.h5" in r.err and "metadata" in r.err, r.err)
    proj2, _, _ = make_project(tmp, seed=8, frames=300)
    r = run(["slices", proj2, "--columns", "weather,nosuch"], rc=EXIT_ERROR)
    ck.ok("nosuch" in r.err and "weather" in r.err, r.err)
    r = run(["slices", proj2, "--save-segment", "x", "--slice", "50"],
            rc=EXIT_ERROR)
    ck.ok("--slice 50" in r.err, r.err)
    for bad in (["--conditions", "4"], ["--alpha", "2"], ["--metric", "ap"],
                ["--rank", "size"], ["--bins", "1"], ["--slice", "0"]):
        r = run(["slices", proj2] + bad, rc=EXIT_USAGE)
        ck.ok(bad[0] in r.err, r.err)
    r = run(["slices", proj2, "--iou", "0.33"], rc=EXIT_ERROR)
    ck.ok("0.33" in r.err, r.err)
    h = run(["slices", "--help"])
    ck.ok("--save-segment" in h.out and "--min-support" in h.out, h.out)


def main():
    ck = Checker("test_slices")
    with TempDir() as tmp:
        test_oracle(ck, tmp)
        test_planted_and_save(ck, tmp)
        test_bad_input(ck, tmp)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
