"""Segments, scenario cards and the regression gate, end to end.

A synthetic project with two inference sets gets frame metadata (written
with h5py), a seeded random split, regression-test segments from metadata
queries with targets, and a scenario from a file of frame ids. Every
per-segment figure is checked against an independent recount: the Python
matching oracle of dgtest run on the segment's frames only (matching is per
frame, so this is what the restriction must give). `check` exits 0 when
every target is met and 1 for a planted regression; its JUnit XML is
validated against tests/data/junit.xsd with xmllint (libxml2-utils).
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np

import dgtest
from dgtest import run, Checker, Oracle, Project, TempDir, EXIT_ERROR

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_confusion import agnostic  # noqa: E402

XSD = os.path.join(dgtest.HERE, "data", "junit.xsd")
THR = [0.5, 0.75]


def add_meta(path, rng, n):
    """Frame metadata columns: weather (strings) and speed (numbers, some
    missing)."""
    import h5py
    weather = rng.choice(["rain", "sun", "fog"], size=n, p=[0.3, 0.5, 0.2])
    speed = np.round(rng.uniform(0, 60, size=n), 1)
    speed[rng.uniform(size=n) < 0.05] = np.nan
    with h5py.File(path, "r+") as f:
        g = f["frames"].require_group("meta")
        g.create_dataset("weather", data=np.array(weather, dtype=object),
                         dtype=h5py.string_dtype())
        g.create_dataset("speed", data=speed)
    return weather, speed


def read_segments(path):
    import h5py
    out = {}
    with h5py.File(path, "r") as f:
        if "segments" not in f:
            return out
        g = f["segments"]
        names = [s.decode() if isinstance(s, bytes) else s for s in g["name"][()]]
        off = g["frame_offsets"][()]
        fr = g["frames"][()]
        for i, nm in enumerate(names):
            out[nm] = {
                "kind": int(g["kind"][i]),
                "frames": fr[off[i]:off[i + 1]].astype(np.int64),
                "min_precision": float(g["min_precision"][i]),
                "min_recall": float(g["min_recall"][i]),
                "min_f1": float(g["min_f1"][i]),
                "conf": float(g["conf"][i]),
                "iou": float(g["iou"][i]),
            }
    return out


class SegOracle:
    """Oracles of every inference set on a subset of frames."""

    def __init__(self, P, frames):
        keep = np.zeros(P.n_frames, bool)
        keep[np.asarray(frames, np.int64)] = True
        self.keep = keep
        self.lab_idx = np.nonzero(keep[P.labels.frame])[0]
        labels = P.labels.take(self.lab_idx)
        self.labels = labels
        self.o = {}
        self.det_idx = {}
        for name, dets in P.inferences.items():
            idx = np.nonzero(keep[dets.frame])[0]
            self.det_idx[name] = idx
            self.o[name] = Oracle(labels, dets.take(idx), THR, P.n_classes)

    def micro(self, name, conf, t):
        c = self.o[name].counts(conf, t)
        tp = sum(x[0] for x in c)
        fp = sum(x[1] for x in c)
        fn = sum(x[2] for x in c)
        return tp, fp, fn, dgtest.prf(tp, fp, fn)


def check_scenarios(ck, P, path, segs, oracles, conf, iou_by_set=None):
    doc = run(["scenarios", path, "--json"] + (iou_by_set or [])).json()
    names = doc["inferences"]
    ck.eq(names, sorted(P.inferences), "scenarios inference sets")
    groups = {"splits": 0, "regression_tests": 1, "scenarios": 2}
    seen = set()
    for gname, kind in groups.items():
        for card in doc[gname]:
            s = card["segment"]
            seen.add(s)
            want_kind = 0 if s == "all" else segs[s]["kind"]
            ck.eq(kind, want_kind, "card %s group" % s)
            o = oracles[s]
            ck.eq(card["frames"], int(o.keep.sum()), "card %s frames" % s)
            for r in card["results"]:
                c = conf if s == "all" or np.isnan(segs[s]["conf"]) else segs[s]["conf"]
                ck.eq(r["conf"], c, "card %s conf" % s)
                t = THR.index(r["iou"])
                tp, fp, fn, (p, rc, f1) = o.micro(r["inferences"], c, t)
                w = "card %s set %s" % (s, r["inferences"])
                ck.eq((r["tp"], r["fp"], r["fn"]), (tp, fp, fn), w + " counts")
                ck.close(r["precision"], p, w + " precision")
                ck.close(r["recall"], rc, w + " recall")
                ck.close(r["f1"], f1, w + " f1")
                tg = card["targets"]
                want_pass = True
                for k, v in (("precision", p), ("recall", rc), ("f1", f1)):
                    if tg[k] is not None and (v is None or v < tg[k]):
                        want_pass = False
                ck.eq(r["pass"], want_pass, w + " pass")
    ck.eq(seen, set(["all"]) | set(segs), "one card per segment")
    return doc


def check_queries(ck, P, path, seg, o, rng):
    """--segment on metrics, sweep, confusion and examples against the
    oracle restricted to the segment's frames."""
    for name in sorted(P.inferences):
        oracle = o.o[name]
        for conf in (0.0, 0.3, float(rng.uniform(0, 1))):
            for t, thr in enumerate(THR):
                got = run(["metrics", path, "-i", name, "--segment", seg,
                           "--conf", repr(conf), "--iou", repr(thr), "--json",
                           "--compact"]).json()
                dgtest.check_metrics(ck, got, oracle.counts(conf, t),
                                     "metrics %s --segment %s conf %r t %r"
                                     % (name, seg, conf, thr), P.class_names)
                ck.eq(got["segment"], seg, "metrics --json names the segment")
        # sweep: every distinct score of the segment's detections
        sw = run(["sweep", path, "-i", name, "--segment", seg, "--iou", "0.75",
                  "--format", "json"]).json()
        for c in sw["curves"]:
            k = P.class_names.index(c["class"])
            want = oracle.curve(k, 1)
            ck.eq(len(c["conf"]), len(want), "sweep %s %s points" % (name, c["class"]))
            ck.eq(list(zip(c["conf"], c["tp"], c["fp"], c["fn"])),
                  [tuple(w) for w in want], "sweep %s %s --segment %s"
                  % (name, c["class"], seg))
        # confusion: the agnostic oracle on the segment's frames
        dets = P.inferences[name].take(o.det_idx[name])
        agn = agnostic(o.labels, dets, THR)
        K = P.n_classes
        conf = 0.25
        cm = run(["confusion", path, "-i", name, "--segment", seg, "--conf",
                  repr(conf), "--iou", "0.5", "--json"]).json()
        M = np.zeros((K + 1, K + 1), np.int64)
        taken = set()
        sel = dets.score >= conf
        for i in np.nonzero(sel)[0]:
            a = agn[0][i]
            if a == -1:
                M[K, dets.cls[i]] += 1
            elif a >= 0:
                M[o.labels.cls[a], dets.cls[i]] += 1
                taken.add(int(a))
        reg = (o.labels.iscrowd == 0) & (o.labels.ignore == 0)
        for j in np.nonzero(reg)[0]:
            if int(j) not in taken:
                M[o.labels.cls[j], K] += 1
        ck.array_eq(np.asarray(cm["matrix"]), M,
                    "confusion %s --segment %s" % (name, seg))
        ck.eq(cm["ignored"], int((sel & (agn[0] == -2)).sum()),
              "confusion ignored --segment " + seg)
        # examples: a background row cell and a missed-ground-truth cell
        for gi, pi in ((K, 0), (0, K)):
            cell = "%s,%s" % ("background" if gi == K else P.class_names[gi],
                              "background" if pi == K else P.class_names[pi])
            ex = run(["examples", path, "-i", name, "--segment", seg, "--cell",
                      cell, "--conf", repr(conf), "--iou", "0.5", "--limit",
                      "0", "--json"]).json()
            ck.eq(ex["total"], int(M[gi, pi]), "examples %s total" % cell)
            seg_frames = set(int(f) for f in np.nonzero(o.keep)[0])
            for e in ex["examples"]:
                ck.ok(e["frame"] in seg_frames,
                      "example frame %r outside segment %s" % (e["frame"], seg))


def main():
    ck = Checker("test_segments")
    rng = np.random.default_rng(20261126)
    with TempDir("dg-seg-") as d:
        p = os.path.join(d, "p.h5")
        run(["synth", "-o", p, "--frames", "160", "--classes", "5",
             "--inferences", "2", "--seed", "17", "--crowd-rate", "0.2",
             "--score-levels", "20"])
        P0 = Project(p)
        n = P0.n_frames
        weather, speed = add_meta(p, rng, n)
        run(["eval", p, "--device", "ref", "-q", "--iou-thresholds",
             ",".join(str(t) for t in THR)])

        # ---- creation ------------------------------------------------------
        r = run(["segment", "create", p, "--split", "train=0.6,val=0.25,test=0.15",
                 "--seed", "4"])
        ck.ok("created segment 'train' (split): 96 frames" in r.out, r.out)
        q = os.path.join(d, "q.h5")
        shutil.copyfile(p, q)
        run(["segment", "delete", q, "train"])
        run(["segment", "delete", q, "val"])
        run(["segment", "delete", q, "test"])
        run(["segment", "create", q, "--split", "train=0.6,val=0.25,test=0.15",
             "--seed", "4"])
        run(["segment", "create", p, "rainy", "--kind", "regression",
             "--where", "weather=rain"])
        run(["segment", "create", p, "fast", "--kind", "regression-test",
             "--where", "speed>=30", "--conf", "0.3", "--meta", "owner=qa"])
        run(["segment", "create", p, "mid", "--where", "10<=speed<20",
             "--where", "weather!=fog"])
        ids = rng.choice(n, size=25, replace=False)
        with open(os.path.join(d, "ids.txt"), "w") as f:
            f.write("# hand-picked\n")
            for i in ids:
                f.write(P0.frame_ids[i] + "\n")
            f.write("\n")
        run(["segment", "create", p, "picked", "--frames",
             os.path.join(d, "ids.txt")])
        with open(os.path.join(d, "coco.json"), "w") as f:
            json.dump([int(i) + 1 for i in ids[:7]], f)  # synth: num = index + 1
        run(["segment", "create", p, "coco7", "--kind", "scenario",
             "--coco-ids", os.path.join(d, "coco.json")])
        # errors name what is wrong
        r = run(["segment", "create", p, "rainy", "--where", "weather=sun"],
                rc=EXIT_ERROR)
        ck.ok("rainy" in r.err and "exists" in r.err, r.err)
        r = run(["segment", "create", p, "x", "--where", "colour=red"],
                rc=EXIT_ERROR)
        ck.ok("colour" in r.err, r.err)
        with open(os.path.join(d, "bad.txt"), "w") as f:
            f.write(P0.frame_ids[0] + "\nno-such-frame\n")
        r = run(["segment", "create", p, "x", "--frames",
                 os.path.join(d, "bad.txt")], rc=EXIT_ERROR)
        ck.ok("bad.txt:2" in r.err and "no-such-frame" in r.err, r.err)
        run(["segment", "create", p], rc=dgtest.EXIT_USAGE)

        segs = read_segments(p)
        tr, va, te = (segs[s]["frames"] for s in ("train", "val", "test"))
        ck.eq((len(tr), len(va), len(te)), (96, 40, 24), "split sizes")
        ck.array_eq(np.sort(np.concatenate([tr, va, te])), np.arange(n),
                    "split partitions the frames")
        sq = read_segments(q)
        for s in ("train", "val", "test"):
            ck.array_eq(sq[s]["frames"], segs[s]["frames"],
                        "split %s reproducible for a seed" % s)
            ck.eq(segs[s]["kind"], 0, s + " kind")
        ck.array_eq(segs["rainy"]["frames"], np.nonzero(weather == "rain")[0],
                    "weather=rain")
        with np.errstate(invalid="ignore"):
            ck.array_eq(segs["fast"]["frames"], np.nonzero(speed >= 30)[0],
                        "speed>=30")
            ck.array_eq(segs["mid"]["frames"],
                        np.nonzero((10 <= speed) & (speed < 20) &
                                   (weather != "fog"))[0], "range and !=")
        ck.array_eq(segs["picked"]["frames"], np.sort(ids), "frame id file")
        ck.array_eq(segs["coco7"]["frames"], np.sort(ids[:7]), "COCO ids")
        ck.eq([segs[s]["kind"] for s in ("rainy", "fast", "mid", "coco7")],
              [1, 1, 2, 2], "kinds")
        ck.eq(segs["fast"]["conf"], 0.3, "per-segment conf stored")

        # other writers keep the segments (copied unchanged on save)
        before = read_segments(p)
        run(["eval", p, "--device", "ref", "-q", "--iou-thresholds",
             ",".join(str(t) for t in THR)])
        after = read_segments(p)
        ck.eq(sorted(after), sorted(before), "segments kept by eval")
        for s_ in before:
            ck.array_eq(after[s_]["frames"], before[s_]["frames"],
                        "segment %s kept by eval" % s_)

        # ---- edits ---------------------------------------------------------
        run(["segment", "add", p, "picked", "--where", "weather=fog"])
        run(["segment", "remove", p, "picked", "--where", "speed<5"])
        segs = read_segments(p)
        with np.errstate(invalid="ignore"):
            want = np.zeros(n, bool)
            want[ids] = True
            want |= weather == "fog"
            want &= ~(speed < 5)
        ck.array_eq(segs["picked"]["frames"], np.nonzero(want)[0], "add/remove")
        run(["segment", "rename", p, "picked", "night"])
        run(["segment", "set", p, "night", "--meta", "source=ops",
             "--kind", "scenario"])
        sh = run(["segment", "show", p, "night", "--json"]).json()
        ck.eq(sh["name"], "night", "renamed")
        ck.eq(sh["meta"], {"source": "ops"}, "meta")
        ck.eq(sh["frames"], int(want.sum()), "show frames")
        ls = run(["segment", "list", p, "--json"]).json()["segments"]
        ck.eq([s["name"] for s in ls],
              ["all", "train", "val", "test", "rainy", "fast", "mid", "night",
               "coco7"], "list order")
        info = run(["info", p, "--json"]).json()
        ck.eq([s["name"] for s in info["segments"]], [s["name"] for s in ls],
              "info lists segments")
        run(["segment", "delete", p, "coco7"])
        run(["segment", "delete", p, "all"], rc=EXIT_ERROR)
        segs = read_segments(p)
        ck.ok("coco7" not in segs, "deleted")

        # ---- oracles per segment ------------------------------------------
        P = Project(p)
        oracles = {"all": SegOracle(P, np.arange(n))}
        for s, v in segs.items():
            oracles[s] = SegOracle(P, v["frames"])

        # targets: both sets pass "rainy" (targets just below the weaker
        # set's figures); on "fast" model-a passes and model-b not
        conf = 0.1
        _, _, _, (pa, ra, fa) = oracles["rainy"].micro("model-a", conf, 0)
        _, _, _, (pb, rb, fb) = oracles["rainy"].micro("model-b", conf, 0)
        run(["segment", "set", p, "rainy", "--min-precision",
             repr(min(pa, pb) - 0.01), "--min-recall", repr(min(ra, rb) - 0.01)])
        _, _, _, (_, _, fa) = oracles["fast"].micro("model-a", 0.3, 0)
        _, _, _, (_, _, fb) = oracles["fast"].micro("model-b", 0.3, 0)
        ck.ok(abs(fa - fb) > 0.004, "the sets differ on 'fast' (%r %r)" % (fa, fb))
        good, bad = ("model-a", "model-b") if fa > fb else ("model-b", "model-a")
        hi, lo = max(fa, fb), min(fa, fb)

        # no regression yet: fast's target sits below both
        run(["segment", "set", p, "fast", "--min-f1", repr(lo - 0.001)])
        segs = read_segments(p)
        check_scenarios(ck, P, p, segs, oracles, conf)
        j = os.path.join(d, "ok.xml")
        c = run(["check", p, "--junit", j, "--json"]).json()
        ck.eq((c["checks"], c["failures"], c["pass"]), (4, 0, True), "check ok")
        out = run(["check", p]).out
        ck.ok("4 of 4 checks passed" in out, out)

        # planted regression: the target between the two sets
        run(["segment", "set", p, "fast", "--min-f1", repr((hi + lo) / 2)])
        segs = read_segments(p)
        doc = check_scenarios(ck, P, p, segs, oracles, conf)
        fast = [cd for cd in doc["regression_tests"] if cd["segment"] == "fast"][0]
        ck.eq({r["inferences"]: r["pass"] for r in fast["results"]},
              {good: True, bad: False}, "planted regression on the cards")
        j2 = os.path.join(d, "fail.xml")
        r = run(["check", p, "--junit", j2], rc=1)
        ck.ok("FAIL" in r.out and "3 of 4 checks passed" in r.out, r.out)
        run(["check", p, "-i", good])
        run(["check", p, "-i", bad], rc=1)
        cj = run(["check", p, "--json"], rc=1).json()
        failed = [(x["inferences"], x["segment"]) for x in cj["results"]
                  if not x["pass"]]
        ck.eq(failed, [(bad, "fast")], "the failing check")
        ck.ok("F1" in [x for x in cj["results"] if not x["pass"]][0]["failed"],
              "failure names the figure")

        # JUnit: schema-valid, one testcase per (set, segment), one failure
        for path, nfail in ((j, 0), (j2, 1)):
            v = subprocess.run(["xmllint", "--noout", "--schema", XSD, path],
                               capture_output=True, text=True)
            ck.eq(v.returncode, 0, "xmllint %s: %s" % (path, v.stderr))
            import xml.etree.ElementTree as ET
            root = ET.parse(path).getroot()
            cases = root.findall("./testsuite/testcase")
            ck.eq(sorted((c.get("classname"), c.get("name")) for c in cases),
                  sorted(("detgrid." + s, g) for s in P.inferences
                         for g in ("rainy", "fast")), "junit testcases")
            ck.eq(len(root.findall("./testsuite/testcase/failure")), nfail,
                  "junit failures")
            ck.eq(int(root.get("failures")), nfail, "junit failures attribute")
        bad_xml = os.path.join(d, "broken.xml")
        with open(j2) as f:
            txt = f.read().replace('tests="4"', 'tests="four"')
        with open(bad_xml, "w") as f:
            f.write(txt)
        v = subprocess.run(["xmllint", "--noout", "--schema", XSD, bad_xml],
                           capture_output=True, text=True)
        ck.ok(v.returncode != 0, "the schema rejects a broken report")

        # per-set thresholds on the cards
        doc = run(["scenarios", p, "-i", "model-b", "-i", "model-a",
                   "--conf-a", "0.5", "--iou-b", "0.75", "--json"]).json()
        ck.eq(doc["inferences"], ["model-b", "model-a"], "A and B order")
        for cd in doc["splits"] + doc["regression_tests"] + doc["scenarios"]:
            a, b = cd["results"]
            ck.eq((a["inferences"], a["conf"]), ("model-b", 0.5), "conf-a")
            ck.eq((b["inferences"], b["iou"]), ("model-a", 0.75), "iou-b")
            o = oracles[cd["segment"]]
            tp, fp, fn, _ = o.micro("model-b", 0.5, 0)
            ck.eq((a["tp"], a["fp"], a["fn"]), (tp, fp, fn), "A at conf-a")
            bc = b["conf"]
            tp, fp, fn, _ = o.micro("model-a", bc, 1)
            ck.eq((b["tp"], b["fp"], b["fn"]), (tp, fp, fn), "B at iou-b")

        # ---- AP targets: mean all-point AP over classes with ground truth
        o = oracles["rainy"].o[good]
        aps = []
        for k in range(P.n_classes):
            n_gt = int(o.n_gt[k])
            if not n_gt:
                continue
            cur = o.curve(k, 0)
            best, area = 0.0, [0.0] * len(cur)
            for i in reversed(range(len(cur))):
                _, tp_, fp_, _ = cur[i]
                best = max(best, tp_ / (tp_ + fp_) if tp_ + fp_ else 0.0)
                prev = cur[i - 1][1] / n_gt if i else 0.0
                area[i] = (tp_ / n_gt - prev) * best
            aps.append(sum(area))
        ap = sum(aps) / len(aps)
        ck.ok(0.05 < ap < 0.999, "AP %r is informative" % ap)
        run(["segment", "set", p, "rainy", "--min-ap", repr(ap - 1e-9)])
        cj = run(["check", p, "-i", good, "--json"]).json()
        rz = [x for x in cj["results"] if x["segment"] == "rainy"][0]
        ck.close(rz["ap"], ap, "AP on rainy", rel=1e-12)
        ck.ok(rz["pass"], "AP target just below passes")
        run(["segment", "set", p, "rainy", "--min-ap", repr(ap + 1e-6)])
        cj = run(["check", p, "-i", good, "--json"], rc=1).json()
        rz = [x for x in cj["results"] if x["segment"] == "rainy"][0]
        ck.ok(not rz["pass"] and "AP" in rz["failed"], "AP target above fails")
        run(["segment", "set", p, "rainy", "--min-ap", "none"])

        # ---- --segment on every query -------------------------------------
        for s in ("val", "rainy", "night"):
            check_queries(ck, P, p, s, oracles[s], rng)
        r = run(["metrics", p, "-i", "model-a", "--segment", "nope"],
                rc=EXIT_ERROR)
        ck.ok("no segment 'nope'" in r.err, r.err)

        # ---- metrics --ci and check --strict --------------------------------
        ci = run(["metrics", p, "-i", "model-a", "--segment", "rainy", "--ci",
                  "0.9", "--resamples", "300", "--seed", "5", "--json"]).json()
        tp, fp, fn, (pp, rr, ff) = oracles["rainy"].micro("model-a", conf, 0)
        m = ci["micro"]
        ck.eq((m["tp"], m["fp"], m["fn"]), (tp, fp, fn), "--ci point counts")
        for k, v in (("precision", pp), ("recall", rr), ("f1", ff)):
            ck.close(m[k], v, "--ci point " + k)
            lo_, hi_ = m["ci"][k]
            ck.ok(lo_ <= v <= hi_ and lo_ < hi_,
                  "%s interval [%r, %r] around %r" % (k, lo_, hi_, v))
        ci2 = run(["metrics", p, "-i", "model-a", "--segment", "rainy", "--ci",
                   "0.9", "--resamples", "300", "--seed", "5", "--json"]).json()
        ck.eq(ci2, ci, "--ci is deterministic for a seed")
        # strict: a target met by the point but not by the lower bound
        run(["segment", "set", p, "fast", "--min-f1", "none"])
        run(["segment", "set", p, "rainy", "--min-precision", repr(pp - 1e-9),
             "--min-recall", "none"])
        run(["check", p, "-i", "model-a"])
        sj = run(["check", p, "-i", "model-a", "--strict", "--resamples",
                  "300", "--json"], rc=1).json()
        rz = [x for x in sj["results"] if x["segment"] == "rainy"][0]
        ck.ok(rz["strict"] and not rz["pass"] and rz["lo"]["precision"] < pp,
              "strict fails on the lower bound: %r" % rz)
        run(["segment", "set", p, "rainy", "--min-precision",
             repr(rz["lo"]["precision"])])
        run(["check", p, "-i", "model-a", "--strict", "--resamples", "300"])

        # ---- import coco --split ----------------------------------------------
        gt = os.path.join(d, "gt.json")
        run(["synth", "--coco-gt", gt, "--coco-dt-prefix", os.path.join(d, "dt"),
             "--frames", "40", "--classes", "3", "--seed", "3"])
        with open(gt) as f:
            img_ids = [im["id"] for im in json.load(f)["images"]]
        val_ids = img_ids[::3]
        with open(os.path.join(d, "val.json"), "w") as f:
            json.dump(val_ids, f)
        with open(os.path.join(d, "train.txt"), "w") as f:
            f.write("\n".join(str(i) for i in img_ids[1::3]) + "\n")
        c = os.path.join(d, "c.h5")
        run(["import", "coco", "--gt", gt, "--split",
             "val=" + os.path.join(d, "val.json"), "--split",
             "train=" + os.path.join(d, "train.txt"), "-o", c])
        cs = read_segments(c)
        C = Project(c)
        import h5py
        with h5py.File(c, "r") as f:
            num = f["frames/num"][()]
        for s, want_ids in (("val", val_ids), ("train", img_ids[1::3])):
            ck.eq(sorted(int(num[i]) for i in cs[s]["frames"]), sorted(want_ids),
                  "import --split " + s)
            ck.eq(cs[s]["kind"], 0, "import --split kind")
        ck.eq(C.n_frames, 40, "import frames")
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
