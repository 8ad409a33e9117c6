"""Embeddings end to end: .npy import and its errors, the stored layout,
PCA against numpy, per-frame points recounted with the matching oracle,
planted failure patterns ranked first, --save-segment, SVG and PNG plots.
"""

import os
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dgtest  # noqa: E402
from dgtest import EXIT_ERROR, EXIT_USAGE, Checker, TempDir, run  # noqa: E402

STR = h5py.string_dtype()


def write_project(path):
    """12 frames, 2 classes. Detections sit exactly on their labels (IoU 1),
    or far from everything (FP); some labels have no detection (FN)."""
    rng = np.random.default_rng(3)
    frames = 12
    lab, det = [], []
    for f in range(frames):
        n = 1 + f % 3
        for j in range(n):
            c = (f + j) % 2
            box = [10 + 60 * j, 20, 30 + f, 40]
            lab.append((f, c, box))
            # Frames 8..11 miss every second object; the rest find all.
            if not (f >= 8 and j % 2 == 0):
                det.append((f, c, box, round(0.3 + 0.05 * j + 0.01 * f, 4)))
        if f % 4 == 1:  # a false positive far away
            det.append((f, f % 2, [400, 400, 20, 20], 0.6))
        if f == 5:  # a low-score one below the default confidence
            det.append((f, 0, [300, 10, 10, 10], 0.05))
    with h5py.File(path, "w") as h:
        h.attrs["format"] = "detgrid-project"
        h.attrs["format_version"] = np.int32(1)
        h["classes/name"] = np.array(["cat", "dog"], dtype=object).astype(STR)
        h["frames/id"] = np.array(["img-%02d" % f for f in range(frames)],
                                  dtype=object).astype(STR)
        g = h.create_group("labels")
        g["frame"] = np.array([x[0] for x in lab], np.uint32)
        g["class"] = np.array([x[1] for x in lab], np.uint32)
        for i, k in enumerate("xywh"):
            g[k] = np.array([x[2][i] for x in lab], np.float64)
        d = h.create_group("inferences/m")
        d["frame"] = np.array([x[0] for x in det], np.uint32)
        d["class"] = np.array([x[1] for x in det], np.uint32)
        for i, k in enumerate("xywh"):
            d[k] = np.array([x[2][i] for x in det], np.float64)
        d["score"] = np.array([x[3] for x in det], np.float64)
    del rng
    return frames, len(lab), len(det)


def oracle_frame_counts(path, conf, iou):
    """Per-frame TP, FP, FN from the independent matching oracle."""
    with h5py.File(path, "r") as h:
        labels = dgtest.read_boxset(h["labels"])
        dets = dgtest.read_boxset(h["inferences/m"])
        nf = len(h["frames/id"])
    status, matched = dgtest.match(labels, dets, [iou])
    tp = np.zeros(nf, int)
    fp = np.zeros(nf, int)
    ngt = np.bincount(labels.frame.astype(int), minlength=nf)
    for i in range(len(dets)):
        if dets.score[i] < conf:
            continue
        if status[0, i] == 1:
            tp[dets.frame[i]] += 1
        elif status[0, i] == 0:
            fp[dets.frame[i]] += 1
    return tp, fp, ngt - tp


def pca_numpy(x):
    """Top-2 PCA of x (population covariance), each component's
    largest-magnitude entry positive; returns coordinates and variances."""
    x = x.astype(np.float64)
    mu = x.mean(axis=0)
    c = np.cov(x - mu, rowvar=False, bias=True)
    w, v = np.linalg.eigh(c)
    order = np.argsort(w)[::-1][:2]
    comps = v[:, order].T
    for i in range(2):
        if comps[i][np.argmax(np.abs(comps[i]))] < 0:
            comps[i] = -comps[i]
    return (x - mu) @ comps.T, w[order]


def png_decode(data):
    """A tiny PNG reader: checks the signature and every chunk's CRC,
    inflates IDAT and undoes filter type 0; returns (w, h, rgb array)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        typ = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert zlib.crc32(typ + body) & 0xffffffff == crc, "CRC of %r" % typ
        if typ == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype == 2, "8-bit RGB"
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
        if typ == b"IEND":
            break
    raw = zlib.decompress(idat)  # checks adler32 too
    assert len(raw) == h * (1 + 3 * w), "IDAT size"
    rows = np.frombuffer(raw, np.uint8).reshape(h, 1 + 3 * w)
    assert (rows[:, 0] == 0).all(), "filter type 0"
    return w, h, rows[:, 1:].reshape(h, w, 3)


def planted(stderr):
    m = re.search(r"planted pattern '(\w+)': scene (\d+) .*class '([^']+)'",
                  stderr)
    assert m, stderr
    return int(m.group(2)), m.group(3)


def test_import_and_points(ck, tmp):
    proj = os.path.join(tmp, "p.h5")
    nf, nl, nd = write_project(proj)
    run(["eval", proj])
    rng = np.random.default_rng(7)
    # Two groups of frames along a dominant direction, plus small noise.
    base = np.zeros((nf, 8))
    base[:, 0] = np.where(np.arange(nf) < 6, -5.0, 5.0)
    base[:, 1] = np.linspace(-2, 2, nf)
    fe = (base + rng.normal(0, 0.05, (nf, 8))).astype(np.float32)
    le = rng.normal(0, 1, (nl, 8)).astype(np.float32)
    de = rng.normal(0, 1, (nd, 8)).astype(np.float64)  # float64: rounded
    np.save(os.path.join(tmp, "f.npy"), fe)
    np.save(os.path.join(tmp, "l.npy"), le)
    np.save(os.path.join(tmp, "d.npy"), de)

    # Errors name the file and what is wrong; the project is unchanged.
    before = dgtest.file_bytes(proj)
    np.save(os.path.join(tmp, "short.npy"), fe[:-1])
    r = run(["import", "embeddings", proj, "--model", "clip", "--frames",
             os.path.join(tmp, "short.npy")], rc=EXIT_ERROR)
    ck.ok("short.npy" in r.err and "11 rows" in r.err and "12 frames" in r.err,
          r.err)
    np.save(os.path.join(tmp, "wide.npy"), np.zeros((nl, 9), np.float32))
    r = run(["import", "embeddings", proj, "--model", "clip", "--frames",
             os.path.join(tmp, "f.npy"), "--labels",
             os.path.join(tmp, "wide.npy")], rc=EXIT_ERROR)
    ck.ok("wide.npy" in r.err and "dimension 9" in r.err and
          "dimension 8" in r.err, r.err)
    np.save(os.path.join(tmp, "int.npy"), np.zeros((nf, 8), np.int64))
    r = run(["import", "embeddings", proj, "--model", "clip", "--frames",
             os.path.join(tmp, "int.npy")], rc=EXIT_ERROR)
    ck.ok("int.npy" in r.err and "descr" in r.err, r.err)
    np.save(os.path.join(tmp, "fort.npy"), np.asfortranarray(fe))
    r = run(["import", "embeddings", proj, "--model", "clip", "--frames",
             os.path.join(tmp, "fort.npy")], rc=EXIT_ERROR)
    ck.ok("fortran_order" in r.err, r.err)
    np.save(os.path.join(tmp, "flat.npy"), fe.ravel())
    r = run(["import", "embeddings", proj, "--model", "clip", "--frames",
             os.path.join(tmp, "flat.npy")], rc=EXIT_ERROR)
    ck.ok("shape" in r.err and "1 dimension" in r.err, r.err)
    bad = fe.copy()
    bad[3, 5] = np.nan
    np.save(os.path.join(tmp, "nan.npy"), bad)
    r = run(["import", "embeddings", proj, "--model", "clip", "--frames",
             os.path.join(tmp, "nan.npy")], rc=EXIT_ERROR)
    ck.ok("row 3, column 5" in r.err, r.err)
    with open(os.path.join(tmp, "f.npy"), "rb") as f:
        whole = f.read()
    with open(os.path.join(tmp, "trunc.npy"), "wb") as f:
        f.write(whole[:-10])
    r = run(["import", "embeddings", proj, "--model", "clip", "--frames",
             os.path.join(tmp, "trunc.npy")], rc=EXIT_ERROR)
    ck.ok("truncated" in r.err, r.err)
    # A header promising far more than the file holds; bad magic; version.
    hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (100000000, 64), }"
    hdr += b" " * (63 - len(hdr) % 64) + b"\n"
    with open(os.path.join(tmp, "huge.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr +
                b"\0" * 64)
    r = run(["import", "embeddings", proj, "--model", "clip", "--frames",
             os.path.join(tmp, "huge.npy")], rc=EXIT_ERROR)
    ck.ok("truncated" in r.err and "huge.npy" in r.err, r.err)
    with open(os.path.join(tmp, "magic.npy"), "wb") as f:
        f.write(b"PK\x03\x04" + b"\0" * 60)
    r = run(["import", "embeddings", proj, "--model", "clip", "--frames",
             os.path.join(tmp, "magic.npy")], rc=EXIT_ERROR)
    ck.ok("not a .npy file" in r.err, r.err)
    with open(os.path.join(tmp, "v9.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x09\x00" + b"\0" * 60)
    r = run(["import", "embeddings", proj, "--model", "clip", "--frames",
             os.path.join(tmp, "v9.npy")], rc=EXIT_ERROR)
    ck.ok("version 9.0" in r.err, r.err)
    r = run(["import", "embeddings", proj, "--model", "clip",
             "--inferences", "nope=" + os.path.join(tmp, "d.npy")],
            rc=EXIT_ERROR)
    ck.ok("no inference set 'nope'" in r.err, r.err)
    ck.eq(dgtest.file_bytes(proj), before, "project unchanged by failures")

    run(["import", "embeddings", proj, "--model", "clip", "--frames",
         os.path.join(tmp, "f.npy"), "--labels", os.path.join(tmp, "l.npy"),
         "--inferences", "m=" + os.path.join(tmp, "d.npy")])
    with h5py.File(proj, "r") as h:
        g = h["embeddings/clip"]
        ck.eq(int(g.attrs["dim"]), 8, "dim attribute")
        ck.eq(g.attrs["model"].decode() if isinstance(g.attrs["model"], bytes)
              else g.attrs["model"], "clip", "model attribute")
        ck.array_eq(g["frames"][:], fe, "frames stored exactly")
        ck.array_eq(g["labels"][:], le, "labels stored exactly")
        ck.array_eq(g["inferences/m"][:], de.astype(np.float32),
                    "float64 rounded to float32")
        ck.eq(g["frames"].dtype, np.dtype("<f4"), "float32 on disk")
    # Results survive the import (eval is not needed again).
    run(["metrics", proj])

    # Points: frame ids, metrics recounted with the matching oracle.
    j = run(["embeddings", proj, "--json", "--device", "ref"]).json()
    ck.eq(j["points_of"], "frames", "points of")
    ck.eq(len(j["points"]), nf, "one point per frame")
    tp, fp, fn = oracle_frame_counts(proj, 0.1, 0.5)
    for p in j["points"]:
        f = p["frame"]
        ck.eq(p["frame_id"], "img-%02d" % f, "frame id")
        ck.eq((p["tp"], p["fp"], p["fn"]), (tp[f], fp[f], fn[f]),
              "counts of frame %d" % f)
        want_p = tp[f] / (tp[f] + fp[f]) if tp[f] + fp[f] else None
        want_r = tp[f] / (tp[f] + fn[f]) if tp[f] + fn[f] else None
        den = 2 * tp[f] + fp[f] + fn[f]
        ck.close(p["precision"], want_p, "precision")
        ck.close(p["recall"], want_r, "recall")
        ck.close(p["f1"], 2 * tp[f] / den if den else None, "f1")
    ck.ok(fp.sum() > 0 and fn.sum() > 0, "the fixture has FPs and FNs")

    # PCA against numpy. The components come from LAPACK's eigh there and
    # from subspace iteration here, so the rounding differs: with an
    # eigengap this large (variance ~25 vs ~1.5 vs ~0.0025) both agree to
    # well under 1e-9 relative; 1e-7 of the data's scale leaves margin.
    xy_np, var_np = pca_numpy(fe)
    xy = np.array([[p["x"], p["y"]] for p in j["points"]])
    scale = np.abs(xy_np).max()
    ck.ok(np.abs(xy - xy_np).max() <= 1e-7 * scale,
          lambda: "PCA differs from numpy: %r vs %r" % (xy, xy_np))
    for a, b in zip(j["projection"]["variance"], var_np):
        ck.close(a, b, "PCA variance", rel=1e-7)

    # The same numbers from the OpenCL device when there is one.
    jd = run(["embeddings", proj, "--json", "--device", "cpu"], rc=None)
    if jd.rc == 0:
        ck.eq(jd.json()["points"], j["points"], "device points == reference")

    # Crops: --only fp lists exactly the oracle's false positives.
    jc = run(["embeddings", proj, "--crops", "--only", "fp", "--json"]).json()
    ck.ok(all(p["outcome"] == "fp" and p["kind"] == "detection"
              for p in jc["points"]), "only false positives")
    ck.eq(len(jc["points"]), int(fp.sum()), "number of FP crops")
    jc = run(["embeddings", proj, "--crops", "--json"]).json()
    kinds = {}
    for p in jc["points"]:
        kinds[p["outcome"]] = kinds.get(p["outcome"], 0) + 1
    ck.eq(kinds.get("fn", 0), int(fn.sum()), "FN crops")
    ck.eq(kinds.get("tp", 0), 2 * int(tp.sum()), "TP crops: label and detection")
    # Crop points use the stored crop vectors: PCA of exactly those rows.
    rows = [le[p["index"]] if p["kind"] == "label"
            else de.astype(np.float32)[p["index"]] for p in jc["points"]]
    xy_np, _ = pca_numpy(np.array(rows))
    xy = np.array([[p["x"], p["y"]] for p in jc["points"]])
    ck.ok(np.abs(xy - xy_np).max() <= 1e-6 * np.abs(xy_np).max(),
          "crop PCA vs numpy")

    # Plots.
    svg = os.path.join(tmp, "f.svg")
    png = os.path.join(tmp, "f.png")
    run(["embeddings", proj, "--plot", svg, "--clusters", "2"])
    root = ET.parse(svg).getroot()
    ck.ok(root.tag.endswith("svg"), "svg root")
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text or "" for t in root.iter(ns + "text")]
    ck.ok(any("conf >= 0.1" in t and "IoU >= 0.5" in t for t in texts),
          lambda: "title with the thresholds: %r" % texts)
    ck.ok(any("F1 per frame" in t for t in texts), "colour scale caption")
    ck.ok(any("selected cluster" in t for t in texts), "highlight legend")
    circles = [c for c in root.iter(ns + "circle") if c.get("fill") != "none"]
    ck.ok(len(circles) >= nf, "a circle per point")
    run(["embeddings", proj, "--crops", "--plot", png])
    with open(png, "rb") as f:
        w, h, img = png_decode(f.read())
    ck.eq((w, h), (900, 700), "PNG size")
    ck.ok((img == 255).all(axis=2).sum() > w * h // 2, "white background")
    # The Okabe-Ito green of TP crops appears.
    ck.ok(((img[:, :, 0] == 0) & (img[:, :, 1] == 158) &
           (img[:, :, 2] == 115)).any(), "TP colour drawn")

    # A model written with h5py as docs/EMBEDDINGS.md shows; a save (by
    # --save-segment) keeps both models byte for byte.
    with h5py.File(proj, "a") as h:
        g = h.require_group("embeddings/h5")
        g.attrs["model"] = "h5"
        g.attrs["dim"] = np.int32(3)
        g["frames"] = fe[:, :3] * 2
    r = run(["embeddings", proj, "--json"], rc=EXIT_ERROR)
    ck.ok("2 models" in r.err and "--model" in r.err, r.err)
    jh = run(["embeddings", proj, "--model", "h5", "--json"]).json()
    xy_np, _ = pca_numpy(fe[:, :3] * 2)
    xy = np.array([[p["x"], p["y"]] for p in jh["points"]])
    ck.ok(np.abs(xy - xy_np).max() <= 1e-7 * np.abs(xy_np).max(),
          "h5py-written model vs numpy")
    run(["embeddings", proj, "--model", "clip", "--clusters", "2",
         "--save-segment", "c0", "--cluster", "0"])
    with h5py.File(proj, "r") as h:
        ck.array_eq(h["embeddings/clip/frames"][:], fe, "clip kept")
        ck.array_eq(h["embeddings/clip/inferences/m"][:],
                    de.astype(np.float32), "crops kept")
        ck.array_eq(h["embeddings/h5/frames"][:], fe[:, :3] * 2, "h5 kept")
    with h5py.File(proj, "a") as h:
        del h["embeddings/h5/frames"]
        h["embeddings/h5/frames"] = np.zeros((nf - 2, 3), np.float32)
    r = run(["embeddings", proj, "--model", "h5"], rc=EXIT_ERROR)
    ck.ok("10 rows" in r.err and "12 frames" in r.err, r.err)
    with h5py.File(proj, "a") as h:
        del h["embeddings/h5"]

    # Usage errors.
    run(["embeddings", proj, "--plot", "x.jpg"], rc=EXIT_USAGE)
    run(["embeddings", proj, "--color", "mauve"], rc=EXIT_USAGE)
    run(["embeddings", proj, "--crops", "--color", "f1"], rc=EXIT_USAGE)
    r = run(["embeddings", proj, "--model", "nope"], rc=EXIT_ERROR)
    ck.ok("nope" in r.err, r.err)


def test_planted(ck, tmp):
    # One scene misses its most common class entirely: the frame cluster of
    # that scene ranks first.
    proj = os.path.join(tmp, "miss.h5")
    r = run(["synth", "-o", proj, "--frames", "300", "--embeddings", "24",
             "--scenes", "5", "--plant-pattern", "miss", "--seed", "4"])
    scene, cls = planted(r.err)
    run(["eval", proj])
    with h5py.File(proj, "r") as h:
        scenes = h["frames/meta/scene"][:].astype(int)
    j = run(["embeddings", proj, "--patterns", "--json", "--compact"]).json()
    top = j["clusters"][0]
    members = sorted(p["frame"] for p in j["points"]
                     if p["cluster"] == top["cluster"])
    ck.eq(members, sorted(np.flatnonzero(scenes == scene).tolist()),
          "top cluster = the planted scene")
    ck.ok(top["z"] > 3 and top["f1_deficit"] > 0, "significantly worse")
    ck.eq(top["explain"]["classes"][0]["class"], cls,
          "most over-represented class")
    ck.ok(top["q"] <= 0.05, "significant: q %g" % top["q"])
    ck.ok(all(c["z"] < top["z"] and c["p"] >= top["p"]
              for c in j["clusters"][1:]), "ranked first")
    ck.eq(j["k_choice"]["method"], "bic", "k chosen by the BIC")
    # Pooled counts of the cluster = the sum over its frames.
    pts = [p for p in j["points"] if p["cluster"] == top["cluster"]]
    ck.eq((top["tp"], top["fp"], top["fn"]),
          (sum(p["tp"] for p in pts), sum(p["fp"] for p in pts),
           sum(p["fn"] for p in pts)), "pooled counts")
    ck.eq(top["size"], len(pts), "size")
    for f in top["explain"]["representative_frames"]:
        ck.ok(scenes[int(f.split("-")[1]) - 1] == scene, "representative")

    # The neighbourhood-preserving layout keeps scenes together: nearly
    # every frame's 5 nearest frames in the layout share its scene.
    jl = run(["embeddings", proj, "--projection", "layout", "--json",
              "--compact"]).json()
    ck.eq(jl["projection"]["method"], "layout", "layout method")
    xy = np.array([[p["x"], p["y"]] for p in jl["points"]])
    fr = np.array([p["frame"] for p in jl["points"]])
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(d2, np.inf)
    nn = np.argsort(d2, axis=1)[:, :5]
    agree = (scenes[fr[nn]] == scenes[fr][:, None]).mean()
    ck.ok(agree >= 0.95, "layout neighbours share the scene: %.3f" % agree)
    jd = run(["embeddings", proj, "--projection", "layout", "--json",
              "--compact", "--device", "cpu"], rc=None)
    if jd.rc == 0:
        ck.eq(jd.json()["points"], jl["points"], "layout: device == reference")

    # --save-segment: the cluster becomes a scenario segment.
    run(["embeddings", proj, "--patterns", "--save-segment", "hard-scene"])
    seg = run(["segment", "show", proj, "hard-scene", "--json",
               "--frames-list"]).json()
    ck.eq(seg["kind"], "scenario", "segment kind")
    ck.eq(sorted(seg["frame_ids"]), sorted("frame-%06d" % (f + 1)
                                           for f in members),
          "segment frames = the cluster's frames")
    m = run(["metrics", proj, "--segment", "hard-scene", "--json"]).json()
    ck.eq((m["overall"]["micro"]["tp"], m["overall"]["micro"]["fp"],
           m["overall"]["micro"]["fn"]), (top["tp"], top["fp"], top["fn"]),
          "segment metrics = cluster counts")
    r = run(["embeddings", proj, "--patterns", "--save-segment",
             "hard-scene"], rc=EXIT_ERROR)
    ck.ok("hard-scene" in r.err, r.err)

    # Recurring false positives of one object: a crop cluster of
    # detections of the planted class, nearly all FP, ranks first.
    proj = os.path.join(tmp, "fp.h5")
    r = run(["synth", "-o", proj, "--embeddings", "24", "--plant-pattern",
             "fp", "--seed", "2"])
    scene, cls = planted(r.err)
    run(["eval", proj])
    j = run(["embeddings", proj, "--crops", "--patterns", "--clusters", "12",
             "--json", "--compact"]).json()
    top = j["clusters"][0]
    pts = [p for p in j["points"] if p["cluster"] == top["cluster"]]
    with h5py.File(proj, "r") as h:
        scenes = h["frames/meta/scene"][:].astype(int)
    fps = [p for p in pts if p["outcome"] in ("fp", "misclassified")]
    ck.ok(len(fps) >= 0.9 * len(pts), "the top crop cluster is false positives")
    ck.ok(all(p["class"] == cls and scenes[p["frame"]] == scene
              for p in fps), "of the planted class in the planted scene")
    ck.ok(top["fp_share"] >= 0.9 and top["z"] > 3, "FP concentration")


def test_empty_set(ck, tmp):
    """An inference set without detections takes a 0-row crop matrix,
    which is stored and reads back as (0, D)."""
    proj = os.path.join(tmp, "e.h5")
    nf, nl, nd = write_project(proj)
    with h5py.File(proj, "a") as h:
        d = h.create_group("inferences/empty")
        for k, t in (("frame", np.uint32), ("class", np.uint32)):
            d[k] = np.zeros(0, t)
        for k in ("x", "y", "w", "h", "score"):
            d[k] = np.zeros(0, np.float64)
    fe = np.ones((nf, 4), np.float32)
    np.save(os.path.join(tmp, "ef.npy"), fe)
    np.save(os.path.join(tmp, "ee.npy"), np.zeros((0, 4), np.float32))
    r = run(["import", "embeddings", proj, "--model", "m0", "--frames",
             os.path.join(tmp, "ef.npy"), "--inferences",
             "empty=" + os.path.join(tmp, "ee.npy")])
    ck.ok(r.rc == 0, r.err)
    with h5py.File(proj, "r") as h:
        ck.eq(h["embeddings/m0/inferences/empty"].shape, (0, 4),
              "empty crop matrix shape")
        ck.eq(h["embeddings/m0/frames"].shape, (nf, 4), "frame matrix shape")


def main():
    ck = Checker("test_embeddings")
    with TempDir() as tmp:
        test_import_and_points(ck, tmp)
        test_planted(ck, tmp)
        test_empty_set(ck, tmp)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
