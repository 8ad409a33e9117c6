"""detgrid eval --iou-type segm|boundary|keypoints and the queries on the
stored grid of each type:

  (a) the shared COCO val2014 sample with cocoapi's mask results: the segm
      grid's true positives per class at (conf 0.1, IoU 0.5) and (0.1,
      0.75) equal a recount in Python from pycocotools' own mask IoUs
      (COCOeval.computeIoU) and pycocotools' greedy rule, and differ from
      the boxes'; the box results are the same bytes before and after;
      the stored grid is the same bytes on the reference path, on an
      OpenCL device (PoCL here) and streamed in chunks under a memory
      budget; `detgrid coco val.h5 --iou-type segm` equals the one-shot
      from JSON and pycocotools 2.0.11's stats (PROVENANCE.md);
  (b) keypoints on synthetic people: device == reference, labels without
      labelled keypoints left out of the ground truth as pycocotools does;
  (c) every query runs per type; a type not stored and a bad type are
      errors (exit 2) naming what is stored and the choices; info lists
      the types; the layout is readable from h5py (docs/FORMAT.md).
"""

import contextlib
import io
import json
import os
import re
import shutil

import h5py
import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import dgtest
from dgtest import Checker, TempDir, run
from test_coco_masks import SEGM_SAMPLE, synth_people

SAMPLE = os.path.join(dgtest.SHARED_DATA, "coco_val2014_100_fakebbox")
GT = os.path.join(SAMPLE, "instances_val2014_100.json")
DT = os.path.join(SAMPLE, "instances_val2014_fakesegm100_results.json")
TABLES = ["order", "score", "status", "matched", "agnostic", "class_offsets",
          "gt_count", "label_class"]


def has_device():
    return "OpenCL" in run(["devices"]).out


def tables(path, group):
    with h5py.File(path, "r") as f:
        g = f[group]
        return {k: g[k][()].tobytes() for k in TABLES}, dict(g.attrs)


def recount(iou_type, thr, conf=0.1):
    """TP per category id: pycocotools' IoUs (every detection, no area
    range) and evaluateImg's greedy rule at one threshold."""
    with contextlib.redirect_stdout(io.StringIO()):
        cg = COCO(GT)
        cd = cg.loadRes(DT)
        e = COCOeval(cg, cd, iou_type)
        e.params.maxDets = [1, 10, 10 ** 6]
        e._prepare()
    tp = {}
    t = min(thr, 1 - 1e-10)
    for img in e.params.imgIds:
        for cat in e.params.catIds:
            gts, dts = e._gts[img, cat], e._dts[img, cat]
            if not dts:
                continue
            ious = e.computeIoU(img, cat)
            dind = np.argsort([-d["score"] for d in dts], kind="mergesort")
            gig = np.array([g["iscrowd"] for g in gts], int)
            gind = np.argsort(gig, kind="mergesort")
            taken = [False] * len(gts)
            for di, d in enumerate(dind):
                best, m = t, -1
                for gi, g in enumerate(gind):
                    if taken[gi] and not gig[g]:
                        continue
                    if m > -1 and not gig[gind[m]] and gig[g]:
                        break
                    if len(gts) and ious[di, g] < best:
                        continue
                    best, m = ious[di, g], gi
                if m > -1:
                    taken[m] = True
                    if not gig[gind[m]] and dts[d]["score"] >= conf:
                        tp[cat] = tp.get(cat, 0) + 1
    return tp


def metrics(path, iou_type, iou=0.5, rc=0):
    r = run(["metrics", path, "--json", "--iou", str(iou), "--iou-type",
             iou_type], rc=rc)
    return json.loads(r.out) if rc == 0 else r


def test_sample(ck, tmp):
    v = os.path.join(tmp, "val.h5")
    run(["import", "coco", "--gt", GT, "--dt", DT, "--name", "m", "-o", v])
    run(["eval", v, "--device", "ref"])
    box_before, _ = tables(v, "results/m")
    run(["eval", v, "--iou-type", "segm", "--device", "ref"])
    box_after, _ = tables(v, "results/m")
    ck.ok(box_before == box_after, "box results unchanged by a segm eval")
    segm, attrs = tables(v, "results_segm/m")
    ck.eq(attrs["iou_type"], "segm", "h5py: results_segm/m iou_type")
    ck.eq(len(attrs["iou_thresholds"]), 19, "h5py: 19 thresholds")

    # The grid against pycocotools' IoUs and greedy rule.
    for thr in (0.5, 0.75):
        want = recount("segm", thr)
        got = metrics(v, "segm", thr)
        have = {c["id"]: c["tp"] for c in got["classes"] if c["tp"]}
        ck.eq(have, want, "segm TP per class at IoU %g vs pycocotools" % thr)
        box = {c["id"]: c["tp"] for c in metrics(v, "bbox", thr)["classes"]
               if c["tp"]}
        ck.eq(box, recount("bbox", thr), "bbox TP at IoU %g (the recount "
              "itself)" % thr)
        ck.ok(box != have, "segm and bbox differ at IoU %g" % thr)

    # Streamed in chunks (bounded memory) and on the device: the same bytes.
    s = os.path.join(tmp, "stream.h5")
    shutil.copy(v, s)
    run(["eval", s, "--iou-type", "segm", "--device", "ref",
         "--memory-budget", "1"], env={"DETGRID_CHUNK_DETS": "300"})
    ck.ok(tables(s, "results_segm/m")[0] == segm,
          "segm: streamed in chunks == in memory")
    for t in ("segm", "boundary"):
        run(["eval", v, "--iou-type", t, "--device", "ref"])
        ref = tables(v, "results_%s/m" % t)[0]
        if has_device():
            d = os.path.join(tmp, "dev.h5")
            shutil.copy(v, d)
            r = run(["eval", d, "--iou-type", t, "--device", "cpu"])
            ck.ok("falling back" not in r.err, r.err)
            ck.ok(tables(d, "results_%s/m" % t)[0] == ref,
                  "%s: OpenCL device == reference" % t)
    bnd = metrics(v, "boundary")
    ck.ok(bnd["classes"][0]["tp"] <= metrics(v, "segm")["classes"][0]["tp"],
          "boundary TP <= segm TP (the least of two IoUs)")

    # COCO from the project equals the one-shot and pycocotools.
    one = json.loads(run(["coco", "--gt", GT, "--dt", DT, "--iou-type",
                          "segm", "--json"]).out)
    proj = json.loads(run(["coco", v, "--iou-type", "segm", "--json"]).out)
    ck.eq(proj["stats"], one["stats"], "coco val.h5 segm == one-shot")
    ck.eq(proj["stats"], SEGM_SAMPLE, "coco val.h5 segm == pycocotools")

    # Every query, per type.
    for t in ("bbox", "segm"):
        a = ["--iou-type", t]
        sw = json.loads(run(["sweep", v, "--format", "json"] + a).out)
        ck.ok(len(json.dumps(sw)) > 100, "sweep %s" % t)
        cf = json.loads(run(["confusion", v, "--json"] + a).out)
        ck.ok("matrix" in cf, "confusion %s" % t)
        if t == "segm":
            ck.ok(cf != json.loads(run(["confusion", v, "--json"]).out),
                  "confusion: segm differs from bbox")
            ck.ok(sw != json.loads(run(["sweep", v, "--format",
                                        "json"]).out),
                  "sweep: segm differs from bbox")
        for q in (["examples", v, "--cell", "person,background"],
                  ["frames", v], ["check", v],
                  ["compare", v, "m", "m"],
                  ["report", v, "-o", os.path.join(tmp, "r.html")]):
            r = run(q + a, rc=None)
            ck.ok(r.rc in (0, 1), "%s --iou-type %s: rc %s %s" %
                  (q[0], t, r.rc, r.err[-300:]))

    # The report's COCO panel is that of its --iou-type, as `detgrid coco`.
    for t in ("bbox", "segm"):
        html = os.path.join(tmp, "r-%s.html" % t)
        run(["report", v, "-o", html, "--iou-type", t, "--no-images"])
        with open(html, encoding="utf-8") as f:
            page = f.read()
        data = json.loads(re.search(r'<script id="dg-data" type="application/'
                                    r'json">(.*?)</script>', page, re.S).group(1))
        want = json.loads(run(["coco", v, "--iou-type", t, "--json"]).out)
        got = data["sets"][0]["coco"]
        ck.eq(got["iou_type"], t, "report --iou-type %s: its COCO type" % t)
        ck.eq(got["stats"], want["stats"], "report --iou-type %s: COCO" % t)
    ck.eq(got["stats"], SEGM_SAMPLE, "report --iou-type segm == pycocotools")

    # Errors: a type not stored, a bad type.
    r = metrics(v, "keypoints", rc=2)
    ck.ok("no keypoints results for 'm' (stored: bbox, segm, boundary)"
          in r.err and "detgrid eval --iou-type keypoints" in r.err, r.err)
    r = run(["confusion", v, "--iou-type", "mask"], rc=2)
    ck.ok("bbox, segm, boundary or keypoints" in r.err, r.err)
    r = run(["eval", v, "--iou-type", "mask"], rc=2)
    ck.ok("bbox, segm, boundary or keypoints" in r.err, r.err)

    # info lists the stored types.
    inf = json.loads(run(["info", v, "--json"]).out)
    ck.eq(inf["inferences"][0]["iou_types"], ["bbox", "segm", "boundary"],
          "info --json: iou_types")
    ck.ok("results of IoU types: bbox segm boundary" in run(["info", v]).out,
          "info: the types")

    # Replacing the set drops the results of every type, and no save brings
    # them back as if they were the user's own data (nor the masks of the
    # set it replaced).
    run(["import", "coco", "--dt", DT, "--name", "m", "--replace", "-o", v])
    with h5py.File(v, "r") as f:
        ck.ok("results_segm" not in f and "results_boundary" not in f,
              "replaced set: no typed results left (%s)" % sorted(f))
        ck.ok("m" not in f["results"], "replaced set: no box results left")
    r = metrics(v, "segm", rc=2)
    ck.ok("no segm results for 'm'" in r.err, r.err)
    run(["eval", v, "--device", "ref"])
    with h5py.File(v, "r") as f:
        ck.ok("results_segm" not in f and "m" in f["results"],
              "a later save keeps them gone")


def test_keypoints(ck, tmp):
    gt, res = synth_people(3)
    gp = os.path.join(tmp, "kgt.json")
    dp = os.path.join(tmp, "kdt.json")
    with open(gp, "w") as f:
        json.dump(gt, f)
    with open(dp, "w") as f:
        json.dump(res, f)
    v = os.path.join(tmp, "kp.h5")
    run(["import", "coco", "--gt", gp, "--dt", dp, "--name", "pose", "-o", v])
    run(["eval", v, "--device", "ref"])
    run(["eval", v, "--iou-type", "keypoints", "--device", "ref"])
    ref = tables(v, "results_keypoints/pose")[0]
    if has_device():
        d = os.path.join(tmp, "kdev.h5")
        shutil.copy(v, d)
        r = run(["eval", d, "--iou-type", "keypoints", "--device", "cpu"])
        ck.ok("falling back" not in r.err, r.err)
        ck.ok(tables(d, "results_keypoints/pose")[0] == ref,
              "keypoints: OpenCL device == reference")
    kp = metrics(v, "keypoints")
    box = metrics(v, "bbox")
    for c in gt["categories"]:
        n = sum(1 for a in gt["annotations"] if a["category_id"] == c["id"]
                and not a["iscrowd"] and a["num_keypoints"] > 0)
        nb = sum(1 for a in gt["annotations"] if a["category_id"] == c["id"]
                 and not a["iscrowd"])
        got = [x for x in kp["classes"] if x["id"] == c["id"]][0]
        ck.eq(got["n_gt"], n, "keypoints: %s ground truth (labelled "
              "keypoints only)" % c["name"])
        ck.eq([x for x in box["classes"] if x["id"] == c["id"]][0]["n_gt"],
              nb, "bbox: %s ground truth" % c["name"])
    ck.ok([c["tp"] for c in kp["classes"]] !=
          [c["tp"] for c in box["classes"]], "keypoints differ from bbox")
    # A set without masks: a segm eval says what is missing.
    r = run(["eval", v, "--iou-type", "segm"], rc=2)
    ck.ok("no masks to evaluate with --iou-type segm" in r.err, r.err)


def main():
    ck = Checker("test_iou_types")
    with TempDir() as tmp:
        test_sample(ck, tmp)
        test_keypoints(ck, tmp)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
