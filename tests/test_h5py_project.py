"""Projects written with h5py exactly as docs/FORMAT.md describes, evaluated
by detgrid and compared with the oracle:

  - the example of docs/FORMAT.md, with hand-computed numbers;
  - a hand-built project of matching edge cases (IoU exactly at the
    threshold, IoU 1 at threshold 1, IoU ties, regular-before-ignored, crowd
    re-matching, ignore without crowd, score ties, zero-size and touching
    boxes, classes without labels or detections), every detection's
    outcome written out by hand;
  - random projects on an integer grid (many IoU and score ties) in three
    layouts: variable-length strings with every optional column; fixed-length
    byte strings; no optional columns with records not sorted by frame;
    each with metadata columns;
  - printed numbers read back as the same double (sweep/metrics JSON);
  - malformed files: each exits 2 naming the file and the dataset or field,
    and leaves the file as it was;
  - masks and keypoints written with h5py (mask_offsets, mask_counts,
    mask_size, keypoint_offsets, keypoints, num_keypoints, coco_area),
    records in and out of frame order: `detgrid coco --iou-type segm` and
    `keypoints` on the project equal pycocotools on the same data as COCO
    JSON, and broken mask datasets exit 2 naming record and field.
"""

import math
import os
import shutil

import h5py
import numpy as np

import dgtest
from dgtest import (EXIT_ERROR, BoxSet, Checker, Oracle, Project, TempDir,
                    file_bytes, run)

STR_T = h5py.string_dtype()


def vlen(strings):
    return np.array(list(strings), dtype=object).astype(STR_T)


def write_project(path, class_names, frame_ids, labels, sets, strings="vlen",
                  optional=True, offsets=True, meta=None, attrs=None,
                  class_ids=None):
    """Writes a project per docs/FORMAT.md. labels/sets: BoxSet (records in
    the order they are to be written)."""
    def s(v):
        if strings == "vlen":
            return vlen(v)
        n = max(1, max(len(x.encode()) for x in v))
        return np.array([x.encode() for x in v], dtype="S%d" % n)

    def boxes(g, b, is_label, n_frames):
        g["frame"] = b.frame.astype(np.uint32)
        g["class"] = b.cls.astype(np.uint32)
        for k in "xywh":
            g[k] = getattr(b, k).astype(np.float64)
        if not is_label:
            g["score"] = b.score.astype(np.float64)
        if optional and is_label:
            g["area"] = (b.area if b.area is not None else b.w * b.h).astype(np.float64)
            g["iscrowd"] = b.iscrowd.astype(np.uint8)
            g["ignore"] = b.ignore.astype(np.uint8)
        if offsets:
            assert np.all(np.diff(b.frame) >= 0)
            fo = np.zeros(n_frames + 1, np.uint64)
            fo[1:] = np.cumsum(np.bincount(b.frame, minlength=n_frames))
            g["frame_offsets"] = fo

    with h5py.File(path, "w") as f:
        f.attrs["format"] = "detgrid-project"
        f.attrs["format_version"] = np.int32(1)
        for k, v in (attrs or {}).items():
            f.attrs[k] = v
        f["classes/name"] = s(class_names)
        if class_ids is not None:
            f["classes/id"] = np.asarray(class_ids, np.int64)
        f["frames/id"] = s(frame_ids)
        if optional:
            f["frames/num"] = np.arange(len(frame_ids), dtype=np.int64) * 3 + 5
            f["frames/width"] = np.full(len(frame_ids), 640.0)
            f["frames/height"] = np.full(len(frame_ids), 480.0)
        for k, v in (meta or {}).items():
            f["frames/meta/" + k] = s(v) if isinstance(v[0], str) else np.asarray(v, np.float64)
        boxes(f.create_group("labels"), labels, True, len(frame_ids))
        for name, b in sets.items():
            boxes(f.create_group("inferences/" + name), b, False, len(frame_ids))


def read_meta(path):
    out = {}
    with h5py.File(path, "r") as f:
        if "frames/meta" in f:
            for k in f["frames/meta"]:
                v = f["frames/meta"][k][()]
                if v.dtype.kind in "SO":
                    v = [x.decode() if isinstance(x, bytes) else str(x) for x in v]
                else:
                    v = v.tolist()
                out[k] = v
    return out


# --------------------------------------------------------------------------
# The docs/FORMAT.md example, verbatim, with hand-computed results


def test_format_example(ck, d):
    path = os.path.join(d, "project.h5")
    str_t = h5py.string_dtype()
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "detgrid-project"
        f.attrs["format_version"] = np.int32(1)
        f.attrs["default_conf"] = 0.1
        f.attrs["default_iou"] = 0.5
        f["classes/name"] = np.array(["cat", "dog"], dtype=object).astype(str_t)
        f["frames/id"] = np.array(["img-1", "img-2"], dtype=object).astype(str_t)
        f["frames/meta/weather"] = np.array(["rain", "sun"], dtype=object).astype(str_t)
        g = f.create_group("labels")
        g["frame"] = np.array([0, 0, 1], np.uint32)
        g["class"] = np.array([0, 1, 1], np.uint32)
        for k, v in zip("xywh", ([10, 50, 5], [10, 50, 5], [20, 30, 40], [20, 30, 40])):
            g[k] = np.array(v, np.float64)
        dd = f.create_group("inferences/model-a")
        dd["frame"] = np.array([0, 1], np.uint32)
        dd["class"] = np.array([0, 1], np.uint32)
        for k, v in zip("xywh", ([11, 6], [9, 4], [20, 40], [21, 40])):
            dd[k] = np.array(v, np.float64)
        dd["score"] = np.array([0.9, 0.4], np.float64)
    run(["eval", path, "-q"])
    # cat: det (11,9,20,21) vs gt (10,10,20,20): inter 19*20 = 380,
    #      union 420 + 400 - 380 = 440 -> IoU 0.8636
    # dog: det (6,4,40,40) vs gt (5,5,40,40): inter 39*39 = 1521,
    #      union 3200 - 1521 = 1679 -> IoU 0.9059; the other dog is missed
    want = {(0.1, 0.5): [(1, 0, 0), (1, 0, 1)],
            (0.5, 0.5): [(1, 0, 0), (0, 0, 2)],
            (0.1, 0.9): [(0, 1, 1), (1, 0, 1)],
            (0.1, 0.85): [(1, 0, 0), (1, 0, 1)],
            (0.95, 0.05): [(0, 0, 1), (0, 0, 2)]}
    for (conf, iou), rows in want.items():
        j = dgtest.metrics_json(path, conf, iou)
        ck.eq([(c["tp"], c["fp"], c["fn"]) for c in j["classes"]], rows,
              "FORMAT.md example at (%g, %g)" % (conf, iou))
        ck.eq([c["name"] for c in j["classes"]], ["cat", "dog"], "example names")
    j = run(["metrics", path, "--json"]).json()
    ck.eq((j["conf"], j["iou"]), (0.1, 0.5), "example defaults")
    ck.eq([c["f1"] for c in j["classes"]], [1.0, 2 / 3], "example F1")
    ck.eq(j["overall"]["micro"]["recall"], 2 / 3, "example micro recall")
    ck.eq(j["overall"]["macro"]["recall"], 0.75, "example macro recall")
    ck.eq(read_meta(path), {"weather": ["rain", "sun"]}, "example metadata kept")
    t = run(["metrics", path]).out
    ck.contains(t, "model-a at confidence >= 0.1, IoU >= 0.5", what="example table")


# --------------------------------------------------------------------------
# Hand-built edge cases

T_EDGE = [0.25, 0.5, 0.75, 1.0]

# labels: tag, frame, class, box, iscrowd, ignore
EDGE_LABELS = [
    ("L0", 0, 0, (0, 0, 10, 10), 0, 0),
    ("L1", 1, 0, (10, 10, 20, 20), 0, 0),
    ("L2", 2, 0, (0, 0, 10, 10), 0, 0),
    ("L3", 2, 0, (10, 0, 10, 10), 0, 0),
    ("L4", 3, 0, (0, 0, 10, 10), 0, 1),       # ignored, listed first
    ("L5", 3, 0, (2, 0, 10, 10), 0, 0),
    ("L6", 4, 0, (0, 0, 100, 100), 1, 0),     # crowd
    ("L7", 5, 0, (0, 0, 10, 10), 0, 1),       # ignored, not crowd
    ("L8", 6, 0, (0, 0, 10, 10), 0, 0),
    ("L9", 7, 0, (0, 0, 10, 10), 0, 0),
    ("L10", 7, 0, (20, 20, 0, 10), 0, 0),     # zero width
    ("L11", 8, 1, (0, 0, 10, 10), 0, 0),
    ("L12", 9, 0, (0, 0, 10, 10), 1, 0),      # crowd
    ("L13", 10, 0, (0, 0, 10, 10), 0, 0),
    ("L14", 11, 0, (0, 0, 10, 10), 0, 0),
    ("L15", 11, 0, (0, 0, 50, 50), 1, 0),     # crowd after a regular one
    ("L16", 12, 3, (0, 0, 10, 10), 1, 1),     # class 3: only an ignored label
]

# detections: tag, frame, class, box, score, [status at T_EDGE], [matched tag]
_ = None
EDGE_DETS = [
    # IoU exactly 0.5 (50 / 100)
    ("D0", 0, 0, (0, 0, 10, 5), 0.9, [1, 1, 0, 0], ["L0", "L0", _, _]),
    # score 0 still counts at conf 0; takes L0 once D0 no longer does
    ("D22", 0, 0, (0, 0, 10, 10), 0.0, [0, 0, 1, 1], [_, _, "L0", "L0"]),
    # IoU exactly 1 matches at threshold 1 (pycocotools caps it at 1 - 1e-10)
    ("D1", 1, 0, (10, 10, 20, 20), 0.8, [1, 1, 1, 1], ["L1"] * 4),
    # IoU 1/3 with both L2 and L3: the later ground truth wins the tie
    ("D2", 2, 0, (5, 0, 10, 10), 0.7, [1, 0, 0, 0], ["L3", _, _, _]),
    ("D3", 2, 0, (5, 0, 10, 10), 0.6, [1, 0, 0, 0], ["L2", _, _, _]),
    # regular L5 (IoU 2/3) beats ignored L4 (IoU 1): regular ones first, and
    # once a regular one is held the ignored ones are not looked at
    ("D4", 3, 0, (0, 0, 10, 10), 0.9, [1, 1, 2, 2], ["L5", "L5", "L4", "L4"]),
    # a crowd region matches any number of detections, IoU = inter / det area
    ("D5", 4, 0, (10, 10, 10, 10), 0.5, [2] * 4, ["L6"] * 4),
    ("D6", 4, 0, (50, 50, 10, 10), 0.5, [2] * 4, ["L6"] * 4),
    ("D7", 4, 0, (80, 80, 10, 10), 0.5, [2] * 4, ["L6"] * 4),
    ("D8", 4, 0, (95, 95, 10, 10), 0.5, [2, 0, 0, 0], ["L6", _, _, _]),
    # an ignored (not crowd) label is matched once only
    ("D9", 5, 0, (0, 0, 10, 10), 0.8, [2] * 4, ["L7"] * 4),
    ("D10", 5, 0, (0, 0, 10, 10), 0.7, [0] * 4, [_] * 4),
    # equal scores: input order decides (D11 first although D12 fits better)
    ("D11", 6, 0, (1, 0, 10, 10), 0.5, [1, 1, 1, 0], ["L8", "L8", "L8", _]),
    ("D12", 6, 0, (0, 0, 10, 10), 0.5, [0, 0, 0, 1], [_, _, _, "L8"]),
    # zero-size detection; a box that only touches the label
    ("D13", 7, 0, (5, 5, 0, 0), 0.4, [0] * 4, [_] * 4),
    ("D14", 7, 0, (10, 0, 10, 10), 0.4, [0] * 4, [_] * 4),
    # wrong class
    ("D15", 8, 0, (0, 0, 10, 10), 0.9, [0] * 4, [_] * 4),
    # inside a crowd box: crowd IoU 25/25 = 1 (the plain IoU would be 0.25)
    ("D16", 9, 0, (5, 5, 5, 5), 0.3, [2] * 4, ["L12"] * 4),
    # greedy by score, not by IoU
    ("D17", 10, 0, (2, 0, 10, 10), 0.9, [1, 1, 0, 0], ["L13", "L13", _, _]),
    ("D18", 10, 0, (0, 0, 10, 10), 0.8, [0, 0, 1, 1], [_, _, "L13", "L13"]),
    # regular first; the second detection falls back to the crowd region
    ("D19", 11, 0, (0, 0, 10, 10), 0.9, [1] * 4, ["L14"] * 4),
    ("D20", 11, 0, (0, 0, 10, 10), 0.8, [2] * 4, ["L15"] * 4),
    # class 2 has detections and no labels
    ("D21", 12, 2, (0, 0, 10, 10), 0.6, [0] * 4, [_] * 4),
    # score 1, nothing to match
    ("D23", 12, 0, (0, 0, 1, 1), 1.0, [0] * 4, [_] * 4),
    # class 3: a detection on its only (ignored) label
    ("D24", 12, 3, (0, 0, 10, 10), 0.2, [2] * 4, ["L16"] * 4),
]


def edge_sets():
    n_frames = 14  # frame 13 has nothing
    lab = sorted(EDGE_LABELS, key=lambda r: r[1])
    det = sorted(EDGE_DETS, key=lambda r: r[1])
    L = BoxSet([r[1] for r in lab], [r[2] for r in lab], [r[3][0] for r in lab],
               [r[3][1] for r in lab], [r[3][2] for r in lab], [r[3][3] for r in lab],
               iscrowd=[r[4] for r in lab], ignore=[r[5] for r in lab])
    D = BoxSet([r[1] for r in det], [r[2] for r in det], [r[3][0] for r in det],
               [r[3][1] for r in det], [r[3][2] for r in det], [r[3][3] for r in det],
               score=[r[4] for r in det])
    ltag = {r[0]: i for i, r in enumerate(lab)}
    status = np.array([r[5] for r in det]).T
    matched = np.array([[-1 if m is None else ltag[m] for m in r[6]] for r in det]).T
    return n_frames, L, D, status, matched


def test_edge_cases(ck, d):
    n_frames, L, D, want_status, want_matched = edge_sets()
    names = ["a", "b", "c", "d", "e"]  # class 4 has nothing at all
    for variant, device in (("vlen", "ref"), ("fixed", "cpu")):
        path = os.path.join(d, "edge-%s.h5" % variant)
        write_project(path, names, ["f%d" % i for i in range(n_frames)], L,
                      {"det": D}, strings=variant)
        run(["eval", path, "--iou-thresholds", "0.25,0.5,0.75,1", "--device",
             device, "-q"])
        P = Project(path)
        what = "edge cases (%s, %s)" % (variant, device)
        # the oracle agrees with the hand-written outcomes ...
        o = Oracle(P.labels, P.inferences["det"], T_EDGE, len(names))
        ck.array_eq(o.status, want_status, what + ": oracle status vs by hand")
        ck.array_eq(o.matched, want_matched, what + ": oracle matched vs by hand")
        # ... and so does detgrid
        dgtest.check_results(ck, P, "det", o, what)
        # counts by hand at conf 0, IoU 0.5
        j = dgtest.metrics_json(path, 0.0, 0.5)
        ck.eq([(c["tp"], c["fp"], c["fn"], c["n_gt"]) for c in j["classes"]],
              [(6, 11, 4, 10), (0, 0, 1, 1), (0, 1, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0)],
              what + " counts at (0, 0.5)")
        ck.eq([(c["precision"], c["recall"], c["f1"]) for c in j["classes"]],
              [(6 / 17, 6 / 10, 12 / 27), (None, 0.0, 0.0), (0.0, None, 0.0),
               (None, None, None), (None, None, None)], what + " ratios at (0, 0.5)")
        ck.eq(j["overall"]["macro"],
              {"precision": (6 / 17 + 0.0) / 2, "recall": (0.6 + 0.0) / 2,
               "f1": (12 / 27 + 0.0 + 0.0) / 3, "classes_precision": 2,
               "classes_recall": 2, "classes_f1": 3}, what + " macro")
        ck.eq(j["overall"]["micro"],
              {"tp": 6, "fp": 12, "fn": 5, "precision": 6 / 18, "recall": 6 / 11,
               "f1": 12 / 29}, what + " micro")
        # conf above 0 drops the score-0 detection; conf 1 keeps only score 1
        j = dgtest.metrics_json(path, 1e-9, 0.75)
        ck.eq([(c["tp"], c["fp"]) for c in j["classes"][:3]], [(4, 11), (0, 0), (0, 1)],
              what + " counts just above 0 at 0.75")
        j = dgtest.metrics_json(path, 1.0, 1.0)
        ck.eq([(c["tp"], c["fp"], c["fn"]) for c in j["classes"][:3]],
              [(0, 1, 10), (0, 0, 1), (0, 0, 0)], what + " counts at (1, 1)")
        rng = np.random.default_rng(3)
        for conf, iou in dgtest.query_points(rng, D.score, T_EDGE, 20):
            dgtest.check_metrics(ck, dgtest.metrics_json(path, conf, iou),
                                 o.counts(conf, o.t_index(iou)),
                                 "%s at (%r, %r)" % (what, conf, iou), names)


# --------------------------------------------------------------------------
# Random projects on an integer grid


def random_project(rng, n_frames, n_classes):
    lab = []  # frame, class, x, y, w, h, crowd, ignore
    det = []  # frame, class, x, y, w, h, score
    levels = np.round(np.linspace(0.1, 1.0, 10), 10)
    for f in range(n_frames):
        for _ in range(rng.integers(0, 7)):
            c = int(rng.integers(0, n_classes))
            x, y = (int(v) for v in rng.integers(0, 30, 2))
            w, h = (int(v) for v in rng.integers(2, 12, 2))
            crowd = int(rng.random() < 0.08)
            if crowd:
                w, h = w * 3, h * 3
            ign = int(rng.random() < 0.08)
            lab.append((f, c, x, y, w, h, crowd, ign))
            for _k in range(rng.choice([0, 1, 1, 1, 2, 3])):
                cc = c if rng.random() > 0.1 else int(rng.integers(0, n_classes))
                jx, jy, jw, jh = (int(v) for v in rng.integers(-2, 3, 4))
                if rng.random() < 0.2:  # some non-integer boxes
                    jx += float(rng.random())
                det.append((f, cc, x + jx, y + jy, max(0, w + jw), max(0, h + jh),
                            float(rng.choice(levels))))
        if rng.random() < 0.4:
            # two equal labels side by side (either may be crowd or ignored)
            # and detections straddling them: equal IoU with both
            c = int(rng.integers(0, n_classes))
            x, y = (int(v) for v in rng.integers(40, 60, 2))
            w = 2 * int(rng.integers(2, 6))
            h = int(rng.integers(3, 10))
            dy = int(rng.choice([0, 0, 1]))
            for k in range(2):
                lab.append((f, c, x + k * w, y, w, h, int(rng.random() < 0.15),
                            int(rng.random() < 0.15)))
            for _k in range(rng.integers(1, 4)):
                det.append((f, c, x + w // 2, y + dy, w, h, float(rng.choice(levels))))
        for _ in range(rng.integers(0, 3)):  # background
            det.append((f, int(rng.integers(0, n_classes)), int(rng.integers(0, 40)),
                        int(rng.integers(0, 40)), int(rng.integers(1, 10)),
                        int(rng.integers(1, 10)), float(rng.choice([0.0, 0.05, 0.1, 1.0]))))
    L = BoxSet([r[0] for r in lab], [r[1] for r in lab], [r[2] for r in lab],
               [r[3] for r in lab], [r[4] for r in lab], [r[5] for r in lab],
               iscrowd=[r[6] for r in lab], ignore=[r[7] for r in lab])
    L.area = np.asarray(L.w * L.h + 0.5)  # area differs from w*h: not used
    D = BoxSet([r[0] for r in det], [r[1] for r in det], [r[2] for r in det],
               [r[3] for r in det], [r[4] for r in det], [r[5] for r in det],
               score=[r[6] for r in det])
    return L, D


def same_boxes(ck, got, want, what, score):
    for k in ("frame", "cls", "x", "y", "w", "h") + (("score",) if score else ()):
        ck.array_eq(getattr(got, k), getattr(want, k), "%s %s" % (what, k))


def test_random_layouts(ck, d):
    rng = np.random.default_rng(99)
    n_frames, n_classes = 120, 5
    names = ["person", "bicycle", "traffic light", "stop sign", "zebra"]
    frame_ids = ["frame-%04d" % i for i in range(n_frames)]
    meta = {"weather": [["rain", "sun", "fog"][i % 3] for i in range(n_frames)],
            "speed": [float(i) * 0.5 for i in range(n_frames)]}
    ties_iou = 0
    for variant in ("vlen", "fixed", "bare"):
        L, D1 = random_project(rng, n_frames, n_classes)
        _, D2 = random_project(rng, n_frames, n_classes)
        # second set against the same labels: re-draw only the detections
        sets = {"model-a": D1, "model b": D2}
        path = os.path.join(d, "rand-%s.h5" % variant)
        if variant == "bare":
            # no area/iscrowd/ignore/frame_offsets; records not sorted by frame
            Ls = L.take(rng.permutation(len(L)))
            Ls.iscrowd[:] = 0
            Ls.ignore[:] = 0
            written = {k: v.take(rng.permutation(len(v))) for k, v in sets.items()}
            write_project(path, names, frame_ids, Ls, written, strings="vlen",
                          optional=False, offsets=False, meta=meta)
            L_in = Ls
        else:
            written = sets
            write_project(path, names, frame_ids, L, sets, strings=variant,
                          meta=meta, class_ids=[3, 7, 11, 13, 90],
                          attrs={"default_conf": 0.25, "default_iou": 0.55})
            L_in = L
        q = path.replace(".h5", "-cl.h5")
        shutil.copyfile(path, q)
        run(["eval", path, "--device", "ref", "-q"])
        run(["eval", q, "--device", "cpu", "-q"])
        P, Q = Project(path), Project(q)
        what = "random %s" % variant
        ck.eq(P.class_names, names, what + " class names")
        ck.eq(P.frame_ids, frame_ids, what + " frame ids")
        ck.eq(read_meta(path), meta, what + " metadata columns kept")
        info = run(["info", path, "--json"]).json()
        ck.eq(info["class_names"], names, what + " info class names")
        ck.eq(info["labels"], len(L_in), what + " info labels")
        if variant != "bare":
            ck.eq([int(x) for x in P.class_ids], [3, 7, 11, 13, 90], what + " class ids")
            ck.eq((info["default_conf"], info["default_iou"]), (0.25, 0.55),
                  what + " defaults")
            j = run(["metrics", path, "-i", "model-a", "--json"]).json()
            ck.eq((j["conf"], j["iou"]), (0.25, 0.55), what + " metrics defaults")
            ck.eq([c["id"] for c in j["classes"]], [3, 7, 11, 13, 90], what + " json ids")
        else:
            ck.eq([int(x) for x in P.class_ids], [1, 2, 3, 4, 5], what + " default class ids")
            j = run(["metrics", path, "-i", "model-a", "--json"]).json()
            ck.eq((j["conf"], j["iou"]), (0.1, 0.5), what + " default conf/iou")
        if variant == "vlen":
            ck.array_eq(P.labels.area, L_in.area, what + " label area column kept")
        # the stored records are the input, stably sorted by frame
        same_boxes(ck, P.labels, L_in.take(L_in.stable_frame_order()),
                   what + " labels as stored", False)
        ck.array_eq(P.labels.iscrowd, L_in.iscrowd[L_in.stable_frame_order()],
                    what + " iscrowd as stored")
        ck.array_eq(P.labels.ignore, L_in.ignore[L_in.stable_frame_order()],
                    what + " ignore as stored")
        for name, b in written.items():
            same_boxes(ck, P.inferences[name], b.take(b.stable_frame_order()),
                       "%s %s as stored" % (what, name), True)
        for name in sets:
            w2 = "%s set %r" % (what, name)
            for t in ("order", "score", "status", "matched", "class_offsets", "gt_count"):
                ck.array_eq(Q.results[name][t], P.results[name][t], w2 + " cpu vs ref " + t)
            th = [float(t) for t in P.results[name]["iou_thresholds"]]
            o = Oracle(P.labels, P.inferences[name], th, n_classes)
            dgtest.check_results(ck, P, name, o, w2)
            # the oracle on the input as written (before detgrid sorted it)
            # gives the same outcome per record
            b = written[name]
            o_in = Oracle(L_in, b, th, n_classes)
            perm_d = b.stable_frame_order()
            perm_l = L_in.stable_frame_order()
            inv_l = np.empty(len(perm_l), np.int64)
            inv_l[perm_l] = np.arange(len(perm_l))
            ck.array_eq(o.status, o_in.status[:, perm_d], w2 + " oracle on input status")
            m_in = o_in.matched[:, perm_d]
            ck.array_eq(o.matched, np.where(m_in >= 0, inv_l[np.maximum(m_in, 0)], -1),
                        w2 + " oracle on input matched")
            for conf, iou in dgtest.query_points(rng, b.score, th, 25):
                gp = dgtest.metrics_json(path, conf, iou, name)
                ck.eq(dgtest.metrics_json(q, conf, iou, name), gp, w2 + " cpu vs ref metrics")
                dgtest.check_metrics(ck, gp, o.counts(conf, o.t_index(iou)),
                                     "%s at (%r, %r)" % (w2, conf, iou), names)
            ties_iou += count_iou_ties(o)
    # the grid makes IoU ties between labels happen, which is the point
    ck.ok(ties_iou > 20, "too few IoU ties: %d" % ties_iou)


def count_iou_ties(o):
    """Detections with two candidate labels of equal, positive IoU."""
    L, D = o.labels, o.dets
    n = 0
    by = {}
    for i in range(len(L)):
        by.setdefault((int(L.frame[i]), int(L.cls[i])), []).append(i)
    for i in range(len(D)):
        g = by.get((int(D.frame[i]), int(D.cls[i])), [])
        v = [dgtest.box_iou(D.x[i], D.y[i], D.w[i], D.h[i], L.x[k], L.y[k], L.w[k],
                            L.h[k], L.iscrowd[k]) for k in g]
        v = [x for x in v if x >= 0.25]
        n += len(v) != len(set(v))
    return n


# --------------------------------------------------------------------------
# Stale results


def test_stale(ck, d):
    """Boxes rewritten with h5py (a new dataset, no fingerprint attribute on
    the group) make the stored results stale: queries refuse them until eval
    runs again. Unchanged boxes without the attribute stay valid."""
    rng = np.random.default_rng(5)
    L, D = random_project(rng, 30, 3)
    base = os.path.join(d, "stale.h5")
    write_project(base, ["a", "b", "c"], ["f%d" % i for i in range(30)], L, {"m": D})
    run(["eval", base, "-q", "--iou-thresholds", "0.5,0.75"])
    ok = dgtest.metrics_json(base, 0.2, 0.5)

    def rewrite(path, group, key, fn, drop_fingerprint=True):
        shutil.copyfile(base, path)
        with h5py.File(path, "r+") as f:
            g = f[group]
            v = g[key][()]
            del g[key]
            g[key] = fn(v)
            if drop_fingerprint and "fingerprint" in g.attrs:
                del g.attrs["fingerprint"]

    for group, key, fn in (("labels", "x", lambda v: v + 3),
                           ("labels", "ignore", lambda v: 1 - v),
                           ("inferences/m", "score", lambda v: v * 0.5),
                           ("inferences/m", "w", lambda v: v + 1)):
        p = os.path.join(d, "stale-%s.h5" % key)
        rewrite(p, group, key, fn)
        for cmd in (["metrics", p], ["sweep", p]):
            r = run(cmd, rc=EXIT_ERROR)
            ck.contains(r.err, "'%s'" % p, "eval", what="stale %s/%s: %s" % (group, key, cmd[0]))
        j = run(["info", p, "--json"]).json()
        ck.eq(j["inferences"][0]["iou_thresholds"], None, "info: stale results")
        run(["eval", p, "-q", "--iou-thresholds", "0.5,0.75"])
        P = Project(p)
        o = Oracle(P.labels, P.inferences["m"], [0.5, 0.75], 3)
        dgtest.check_results(ck, P, "m", o, "re-evaluated after %s/%s" % (group, key))
        dgtest.check_metrics(ck, dgtest.metrics_json(p, 0.2, 0.5), o.counts(0.2, 0),
                             "re-evaluated after %s/%s" % (group, key))
    # same values, attribute gone: still valid
    p = os.path.join(d, "stale-same.h5")
    rewrite(p, "labels", "x", lambda v: v)
    ck.eq(dgtest.metrics_json(p, 0.2, 0.5), ok, "unchanged boxes without fingerprint")


# --------------------------------------------------------------------------
# Numbers printed as JSON read back as the same double


def test_json_roundtrip(ck, d):
    """Two distinct scores one ulp either side of 0.3: the sweep's JSON must
    print them as different numbers, and each printed conf must give back the
    counts of its point when passed to metrics."""
    path = os.path.join(d, "roundtrip.h5")
    s_hi = 0.30000000000000004  # 0.1 + 0.2
    s_lo = math.nextafter(0.3, 0.0)
    L = BoxSet([0, 1], [0, 0], [0, 0], [0, 0], [10, 10], [10, 10])
    D = BoxSet([0, 1], [0, 0], [0, 50], [0, 50], [10, 10], [10, 10], score=[s_hi, s_lo])
    write_project(path, ["a"], ["0", "1"], L, {"m": D})
    run(["eval", path, "-q", "--iou-thresholds", "0.5"])
    # CSV prints 17 digits: exact
    rows = run(["sweep", path]).out.strip().split("\n")[1:]
    # the class's rows, then the same points pooled over all classes
    ck.eq([float(r.split(",")[2]) for r in rows], [s_hi, s_lo] * 2,
          "sweep csv conf")
    j = run(["sweep", path, "--json"]).json()
    cv = j["curves"][0]
    ck.eq((cv["tp"], cv["fp"]), ([1, 1], [0, 1]), "sweep json counts")
    for conf, tp, fp in zip(cv["conf"], cv["tp"], cv["fp"]):
        m = dgtest.metrics_json(path, conf, 0.5)["classes"][0]
        ck.eq((m["tp"], m["fp"]), (tp, fp),
              "metrics at sweep --json's printed conf %r (distinct scores %r, %r)"
              % (conf, s_hi, s_lo))
    ck.eq(cv["conf"], [s_hi, s_lo], "sweep --json conf values are the exact scores")
    ck.eq(j["best_f1"][0]["conf"], s_hi, "sweep --json best_f1 conf exact")
    jm = dgtest.metrics_json(path, s_lo, 0.5)
    ck.eq(jm["conf"], s_lo, "metrics --json echoes conf exactly")


# --------------------------------------------------------------------------
# Malformed files


def _base(path):
    L = BoxSet([0, 0, 1], [0, 1, 1], [10, 50, 5], [10, 50, 5], [20, 30, 40], [20, 30, 40])
    D = BoxSet([0, 1], [0, 1], [11, 6], [9, 4], [20, 40], [21, 40], score=[0.9, 0.4])
    write_project(path, ["cat", "dog"], ["img-1", "img-2"], L, {"model-a": D},
                  optional=True, offsets=True)


def _set(path, value):
    def fn(f):
        if path in f:
            del f[path]
        f[path] = value
    return fn


def _attr(name, value):
    def fn(f):
        if value is None:
            del f.attrs[name]
        else:
            f.attrs[name] = value
    return fn


MALFORMED = [
    # name, mutation, words the message must contain (besides the file name)
    ("no-format", _attr("format", None), ["format"]),
    ("wrong-format", _attr("format", "something-else"), ["format"]),
    ("version-99", _attr("format_version", np.int32(99)), ["version", "99"]),
    ("no-version", _attr("format_version", None), ["format_version"]),
    ("x-strings", _set("labels/x", vlen(["a", "b", "c"])), ["/labels/x", "string"]),
    ("det-x-strings", _set("inferences/model-a/x", vlen(["a", "b"])),
     ["/inferences/model-a/x", "string"]),
    ("frame-float", _set("labels/frame", np.array([0, 0, 1], np.float64)),
     ["/labels/frame"]),
    ("class-range", _set("labels/class", np.array([0, 2, 1], np.uint32)),
     ["/labels", "record 1", "class", "2"]),
    ("det-class-range", _set("inferences/model-a/class", np.array([0, 5], np.uint32)),
     ["/inferences/model-a", "record 1", "class", "5"]),
    ("frame-range", _set("inferences/model-a/frame", np.array([0, 2], np.uint32)),
     ["/inferences/model-a", "record 1", "frame", "2"]),
    ("offsets-disagree", _set("labels/frame_offsets", np.array([0, 1, 3], np.uint64)),
     ["/labels", "frame_offsets"]),
    ("offsets-bad-end", _set("labels/frame_offsets", np.array([0, 2, 4], np.uint64)),
     ["/labels/frame_offsets"]),
    ("offsets-length", _set("labels/frame_offsets", np.array([0, 2], np.uint64)),
     ["/labels/frame_offsets"]),
    ("unsorted-with-offsets", _set("labels/frame", np.array([0, 1, 0], np.uint32)),
     ["/labels", "frame"]),
    ("missing-y", lambda f: f["labels"].__delitem__("y"), ["/labels/y", "missing"]),
    ("missing-score", lambda f: f["inferences/model-a"].__delitem__("score"),
     ["/inferences/model-a/score"]),
    ("missing-class-names", lambda f: f.__delitem__("classes"), ["/classes/name"]),
    ("short-x", _set("labels/x", np.array([1.0, 2.0])), ["/labels/x", "2", "3"]),
    ("x-2d", _set("labels/x", np.array([[10.0, 50.0, 5.0]])), ["/labels/x"]),
    ("negative-w", _set("labels/w", np.array([1.0, -2.0, 3.0])), ["/labels", "'w'", "-2"]),
    ("nan-x", _set("inferences/model-a/x", np.array([np.nan, 2.0])),
     ["/inferences/model-a", "'x'", "nan"]),
    ("inf-h", _set("inferences/model-a/h", np.array([np.inf, 2.0])),
     ["/inferences/model-a", "'h'", "inf"]),
    # any finite score is a score (logits, percentages); not NaN or inf
    ("score-nan", _set("inferences/model-a/score", np.array([np.nan, 0.2])),
     ["/inferences/model-a", "score", "nan"]),
    ("score-inf", _set("inferences/model-a/score", np.array([0.5, -np.inf])),
     ["/inferences/model-a", "score", "-inf"]),
    ("iscrowd-2", _set("labels/iscrowd", np.array([0, 2, 0], np.uint8)),
     ["/labels", "iscrowd", "2"]),
    ("area-length", _set("labels/area", np.array([1.0])), ["/labels/area"]),
    ("ignore-strings", _set("labels/ignore", vlen(["a", "b", "c"])), ["/labels/ignore"]),
    ("class-names-int", _set("classes/name", np.array([1, 2], np.int32)), ["/classes/name"]),
    ("duplicate-class", _set("classes/name", vlen(["cat", "cat"])), ["/classes/name", "cat"]),
]


HEADER_ERRORS = {"no-format", "wrong-format", "version-99", "no-version",
                 "missing-class-names", "class-names-int", "duplicate-class"}


def test_malformed(ck, d):
    for name, fn, words in MALFORMED:
        path = os.path.join(d, "bad-%s.h5" % name)
        _base(path)
        with h5py.File(path, "r+") as f:
            fn(f)
        before = file_bytes(path)
        # every command refuses a bad header; the boxes are only read (and
        # checked) by eval: info and metrics may stay lazy
        cmds = [["eval", path, "-q"]]
        if name in HEADER_ERRORS:
            cmds += [["info", path], ["metrics", path], ["sweep", path]]
        for cmd in cmds:
            r = run(cmd, rc=EXIT_ERROR)
            ck.contains(r.err, "'%s'" % path, *words, what="%s: %s" % (name, cmd[0]))
            ck.eq(r.out, "", "%s: %s stdout" % (name, cmd[0]))
        ck.ok(file_bytes(path) == before, name + ": a refused file was changed")
        ck.eq(sorted(x for x in os.listdir(d) if x.startswith("bad-%s.h5" % name)),
              ["bad-%s.h5" % name], name + ": temporary files left behind")
    # the unmodified base is fine (so the failures above are the mutations')
    path = os.path.join(d, "good.h5")
    _base(path)
    run(["eval", path, "-q"])
    ck.eq([(c["tp"], c["fp"], c["fn"]) for c in dgtest.metrics_json(path)["classes"]],
          [(1, 0, 0), (1, 0, 1)], "base project")
    # format_version 99 asks for an upgrade
    r = run(["info", os.path.join(d, "bad-version-99.h5")], rc=EXIT_ERROR)
    ck.contains(r.err, "upgrade", what="version 99 message")
    # not an HDF5 file at all
    txt = os.path.join(d, "not-hdf5.h5")
    with open(txt, "w") as f:
        f.write("hello\n")
    r = run(["eval", txt], rc=EXIT_ERROR)
    ck.contains(r.err, "'%s'" % txt, what="not an HDF5 file")


def runs_of(m):
    """COCO RLE runs of a binary mask (column-major, 0s first)."""
    fl = np.asarray(m, np.uint8).reshape(-1, order="F")
    cuts = np.concatenate(([0], np.flatnonzero(np.diff(fl)) + 1, [fl.size]))
    runs = [int(v) for v in np.diff(cuts)]
    return [0] + runs if fl[0] else runs


def shapes_project(path, gt, res, kind, sort):
    """gt/res (COCO dicts) as a project written with h5py, boxes with their
    masks or keypoints; sort=False writes records out of frame order and
    without frame_offsets."""
    from pycocotools import mask as M
    imgs = sorted(gt["images"], key=lambda im: im["id"])
    fidx = {im["id"]: i for i, im in enumerate(imgs)}
    cats = gt["categories"]
    cidx = {c["id"]: i for i, c in enumerate(cats)}

    def mask_of(seg, im):
        h, w = im["height"], im["width"]
        if isinstance(seg, list):
            r = M.merge(M.frPyObjects(seg, h, w))
        elif isinstance(seg["counts"], list):
            r = M.frPyObjects(seg, h, w)
        else:
            r = seg
        return M.decode(r), r["size"]

    def group(g, recs, is_label):
        order = list(range(len(recs)))
        order.sort(key=lambda k: fidx[recs[k]["image_id"]])
        if not sort:
            order.reverse()
        recs = [recs[k] for k in order]
        n = len(recs)
        g["frame"] = np.array([fidx[r["image_id"]] for r in recs], np.uint32)
        g["class"] = np.array([cidx[r["category_id"]] for r in recs], np.uint32)
        byid = {im["id"]: im for im in imgs}
        bbs = []
        for r in recs:
            if "bbox" in r:
                bbs.append(r["bbox"])
            elif kind == "keypoints":
                xs, ys = r["keypoints"][0::3], r["keypoints"][1::3]
                bbs.append([min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)])
            else:
                bbs.append([float(v) for v in M.toBbox(r["segmentation"])])
        bbs = np.array(bbs, np.float64).reshape(n, 4)
        for k, c in zip("xywh", range(4)):
            g[k] = bbs[:, c]
        if is_label:
            g["area"] = np.array([r["area"] for r in recs], np.float64)
            g["iscrowd"] = np.array([r.get("iscrowd", 0) for r in recs], np.uint8)
        else:
            g["score"] = np.array([r["score"] for r in recs], np.float64)
        if sort:
            fo = np.zeros(len(imgs) + 1, np.uint64)
            fo[1:] = np.cumsum(np.bincount(g["frame"][()], minlength=len(imgs)))
            g["frame_offsets"] = fo
        if kind == "segm":
            off, counts, size = [0], [], []
            for r in recs:
                m, sz = mask_of(r["segmentation"], byid[r["image_id"]])
                counts += runs_of(m)
                off.append(len(counts))
                size.append(list(sz))
            g["mask_offsets"] = np.array(off, np.uint64)
            g["mask_counts"] = np.array(counts, np.uint32)
            g["mask_size"] = np.array(size, np.uint32).reshape(n, 2).T
            if not is_label:
                g["coco_area"] = np.array(
                    [float(M.area(r["segmentation"])) for r in recs], np.float64)
        else:
            off, vals = [0], []
            for r in recs:
                vals += r["keypoints"]
                off.append(len(vals))
            g["keypoint_offsets"] = np.array(off, np.uint64)
            g["keypoints"] = np.array(vals, np.float64)
            if is_label:
                g["num_keypoints"] = np.array([r["num_keypoints"] for r in recs],
                                              np.int32)
            else:
                ext = [(max(r["keypoints"][0::3]) - min(r["keypoints"][0::3])) *
                       (max(r["keypoints"][1::3]) - min(r["keypoints"][1::3]))
                       for r in recs]
                g["coco_area"] = np.array(ext, np.float64)

    with h5py.File(path, "w") as f:
        f.attrs["format"] = "detgrid-project"
        f.attrs["format_version"] = np.int32(1)
        f["classes/name"] = vlen([c["name"] for c in cats])
        f["classes/id"] = np.array([c["id"] for c in cats], np.int64)
        f["frames/id"] = vlen([str(im["id"]) for im in imgs])
        f["frames/num"] = np.array([im["id"] for im in imgs], np.int64)
        f["frames/width"] = np.array([im["width"] for im in imgs], np.float64)
        f["frames/height"] = np.array([im["height"] for im in imgs], np.float64)
        group(f.create_group("labels"), gt["annotations"], True)
        group(f.create_group("inferences/model"), res, False)


def test_masks_keypoints(ck, d):
    import json as _json
    import test_coco_masks as tm
    cases = [("segm", tm.synth_masks(3, with_bbox=False)),
             ("keypoints", tm.synth_people(1))]
    for kind, (gt, res) in cases:
        gp, dp = os.path.join(d, "sg.json"), os.path.join(d, "sd.json")
        with open(gp, "w") as f:
            _json.dump(gt, f)
        with open(dp, "w") as f:
            _json.dump(res, f)
        e = tm.pycoco(gp, dp, kind)
        want = [float(x) for x in e.stats]
        for sort in (True, False):
            path = os.path.join(d, "shapes-%s-%d.h5" % (kind, sort))
            shapes_project(path, gt, res, kind, sort)
            got = run(["coco", path, "--iou-type", kind, "--json"]).json()
            ck.eq(got["stats"], want, "h5py %s (sorted %d)" % (kind, sort))
            # Saved again by detgrid: the same numbers from its own file.
            p2 = os.path.join(d, "resaved.h5")
            run(["import", "coco", "--gt", gp, "--dt", dp, "--name", "model",
                 "-o", p2, "--force"])
            got = run(["coco", p2, "--iou-type", kind, "--json"]).json()
            ck.eq(got["stats"], want, "imported %s" % kind)
    # Broken mask datasets: exit 2, naming record and field.
    path = os.path.join(d, "shapes-segm-1.h5")
    bad = os.path.join(d, "bad.h5")
    for field, edit, msg in (
            ("mask_counts", lambda g: g["mask_counts"].__setitem__(0, 10 ** 6),
             "field 'mask_counts': runs cover"),
            ("mask_size", lambda g: g["mask_size"].__setitem__(
                (0, 0), 0), "field 'mask_size'"),
            ("mask_offsets", lambda g: g["mask_offsets"].__setitem__(1, 10 ** 9),
             "mask_offsets")):
        shutil.copy(path, bad)
        with h5py.File(bad, "r+") as f:
            edit(f["labels"])
        r = run(["coco", bad, "--iou-type", "segm"], rc=EXIT_ERROR)
        ck.ok(msg in r.err and "bad.h5" in r.err, "%s: %s" % (field, r.err))


def main():
    ck = Checker("test_h5py_project")
    with TempDir() as d:
        test_format_example(ck, d)
        test_edge_cases(ck, d)
        test_random_layouts(ck, d)
        test_malformed(ck, d)
        test_stale(ck, d)
        test_masks_keypoints(ck, d)
        # last: a known bug at the time of writing must not hide the others
        test_json_roundtrip(ck, d)
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
