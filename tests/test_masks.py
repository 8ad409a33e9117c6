"""Masks and keypoints in plain C against the peers themselves.

tests/test-masks --oracle answers requests for detgrid's functions
(host/core/mask.c, host/ref/shape_ref.c); this test sends it adversarial
cases and compares every answer with pycocotools.mask (polygon
rasterisation, the string code, uncompressed RLE, area, toBbox, rleIou with
crowd regions), pycocotools' COCOeval.computeOks, and faster-coco-eval's
toBoundary (boundary IoU's boundaries):

  * polygons: concave, self-crossing, several per object (their union),
    vertices on pixel edges and centres, repeated vertices, outside and
    across the image border, sub-pixel, 1-pixel-wide images;
  * RLE: random masks, empty and full ones, holes, 0-long runs;
  * IoU: every pair of a set with empty masks, masks touching the border,
    tiny ones, crowd regions, masks of another size (pycocotools: -1);
  * boundaries: several dilation ratios, images of every shape, short ones
    (at most 2d rows, where faster-coco-eval's erosion is not square);
  * OKS: visible, invisible and absent keypoints, zero area, points far
    outside the box -- within two units in the last place (numpy's exp is
    not libm's either), and dg__oks_exp correctly rounded.

Strings, areas and boxes are compared with ==; IoUs as doubles with ==.
"""

import json
import math
import os
import random
import subprocess
import sys
from decimal import Decimal, getcontext

import numpy as np
from pycocotools import mask as M
from pycocotools.cocoeval import COCOeval

import dgtest
from dgtest import Checker

try:
    import faster_coco_eval.mask_api_new_cpp as FC
except ImportError:  # pragma: no cover - the requirement is in the file
    FC = None


def oracle_path():
    b = os.environ.get("DETGRID_BUILD_DIR") or os.path.join(dgtest.REPO,
                                                            "build")
    return os.path.join(b, "tests", "test-masks")


class Oracle:
    def __init__(self):
        self.p = subprocess.Popen([oracle_path(), "--oracle"],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)

    def ask(self, req):
        self.p.stdin.write(json.dumps(req) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise AssertionError("oracle died on %s" % json.dumps(req)[:300])
        return json.loads(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def s(counts):
    return counts.decode() if isinstance(counts, bytes) else counts


# ---- cases ---------------------------------------------------------------

def rand_poly(rng, h, w):
    kind = rng.randrange(9)
    n = rng.randrange(3, 12)
    cx, cy = rng.uniform(-5, w + 5), rng.uniform(-5, h + 5)
    r = rng.uniform(0.2, max(h, w))
    pts = []
    for i in range(n):
        if kind == 0:      # anywhere, often self-crossing
            x, y = rng.uniform(-3, w + 3), rng.uniform(-3, h + 3)
        elif kind == 1:    # on pixel edges and centres
            x, y = rng.randrange(-2, w + 3) / 2, rng.randrange(-2, h + 3) / 2
        elif kind == 2:    # tiny, sub-pixel
            x, y = cx + rng.uniform(-.7, .7), cy + rng.uniform(-.7, .7)
        elif kind == 3:    # integer vertices with repeats
            x, y = rng.randrange(-1, w + 2), rng.randrange(-1, h + 2)
            if pts and rng.random() < .3:
                x, y = pts[-2], pts[-1]
        elif kind == 4:    # around the border
            x = rng.choice([0, w, -0.4, w + 0.4, rng.uniform(0, w)])
            y = rng.choice([0, h, -0.4, h + 0.4, rng.uniform(0, h)])
        else:              # star-shaped (concave)
            a = 2 * math.pi * i / n
            rr = r * (0.4 + 0.6 * rng.random())
            x, y = cx + rr * math.cos(a), cy + rr * math.sin(a)
        pts += [round(x, rng.choice([0, 1, 2, 6])), round(y, rng.choice([0, 1, 2, 6]))]
    return pts


def rand_mask(rng, h, w):
    m = np.zeros((h, w), np.uint8)
    kind = rng.randrange(7)
    if kind == 0:
        return m
    if kind == 1:
        m[:] = 1
        return m
    if kind == 2:
        return (np.random.default_rng(rng.randrange(1 << 30)).random((h, w))
                < rng.random()).astype(np.uint8)
    for _ in range(rng.randrange(1, 4)):
        y0, x0 = rng.randrange(h), rng.randrange(w)
        y1, x1 = rng.randrange(y0, h) + 1, rng.randrange(x0, w) + 1
        m[y0:y1, x0:x1] = 1
    if kind == 3:  # a hole
        y0, x0 = rng.randrange(h), rng.randrange(w)
        m[y0:y0 + rng.randrange(1, 4), x0:x0 + rng.randrange(1, 4)] = 0
    if kind == 4:  # touching the border
        m[:, 0] = 1
        m[-1, :] = 1
    if kind == 5:  # one pixel
        m[:] = 0
        m[rng.randrange(h), rng.randrange(w)] = 1
    return m


def encode(m):
    r = M.encode(np.asfortranarray(m))
    return {"size": [int(x) for x in r["size"]], "counts": s(r["counts"])}


def check_polygons(ck, o, rng):
    sizes = [(1, 1), (1, 17), (17, 1), (5, 5), (20, 31), (64, 48), (7, 300)]
    for it in range(1500):
        h, w = rng.choice(sizes) if it % 3 else (rng.randrange(1, 80),
                                                  rng.randrange(1, 80))
        polys = [rand_poly(rng, h, w) for _ in range(rng.choice([1, 1, 2, 3]))]
        want = M.merge(M.frPyObjects(polys, h, w))
        got = o.ask({"op": "poly", "h": h, "w": w, "polys": polys})
        what = "polygons %s at %dx%d" % (polys, h, w)
        ck.eq(got["counts"], s(want["counts"]), what)
        ck.eq(got["area"], int(M.area(want)), what + ": area")
        ck.eq(got["bbox"], [int(v) for v in M.toBbox(want)], what + ": bbox")
    # Boxes as frBbox rasterises them.
    for it in range(300):
        h, w = rng.randrange(1, 60), rng.randrange(1, 60)
        bbs = [[round(rng.uniform(-3, w), 2), round(rng.uniform(-3, h), 2),
                round(rng.uniform(0, w), 2), round(rng.uniform(0, h), 2)]
               for _ in range(rng.randrange(1, 3))]
        want = M.merge(M.frPyObjects(np.array(bbs, dtype=float), h, w))
        got = o.ask({"op": "frbbox", "h": h, "w": w, "polys": bbs})
        ck.eq(got["counts"], s(want["counts"]), "boxes %s at %dx%d" % (bbs, h, w))


def check_rles(ck, o, rng):
    for it in range(800):
        h, w = rng.randrange(1, 50), rng.randrange(1, 50)
        m = rand_mask(rng, h, w)
        r = encode(m)
        got = o.ask({"op": "rle", "rle": r})
        ck.eq(got["counts"], r["counts"], "round trip")
        ck.eq(got["area"], int(m.sum()), "area")
        ck.eq(got["bbox"], [int(v) for v in M.toBbox(r)], "toBbox of %s" % r)
    # Uncompressed RLE, 0-long runs included, and toBbox of odd codes.
    for it in range(300):
        h, w = rng.randrange(1, 30), rng.randrange(1, 30)
        n = h * w
        cuts = sorted(rng.randrange(n + 1) for _ in range(rng.randrange(0, 8)))
        runs = [b - a for a, b in zip([0] + cuts, cuts + [n])]
        ucr = {"size": [h, w], "counts": runs}
        want = M.frPyObjects(ucr, h, w)
        got = o.ask({"op": "uncompressed", "counts": runs})
        ck.eq(got["counts"], s(want["counts"]), "uncompressed %s" % ucr)
        r = {"size": [h, w], "counts": got["counts"]}
        got2 = o.ask({"op": "rle", "rle": r})
        ck.eq(got2["bbox"], [int(v) for v in M.toBbox(want)],
              "toBbox of runs %s" % runs)
        ck.eq(got2["area"], int(M.area(want)), "area of runs %s" % runs)


def check_iou(ck, o, rng):
    for it in range(400):
        h, w = rng.randrange(1, 40), rng.randrange(1, 40)
        nd, ng = rng.randrange(1, 6), rng.randrange(1, 6)
        dts = [encode(rand_mask(rng, h, w)) for _ in range(nd)]
        gts = [encode(rand_mask(rng, h, w)) for _ in range(ng)]
        if it % 7 == 0:  # a detection of another size
            h2, w2 = h + 1, w
            dts[0] = encode(rand_mask(rng, h2, w2))
        crowd = [rng.randrange(2) for _ in range(ng)]
        want = np.asarray(M.iou(dts, gts, crowd), dtype=float)
        got = o.ask({"op": "iou", "dt": dts, "gt": gts, "iscrowd": crowd})
        got = np.array(got["iou"], dtype=float).reshape(nd, ng)
        ck.ok(np.array_equal(got, want),
              lambda: "iou %s vs %s crowd %s:\n%s\n%s" % (dts, gts, crowd,
                                                          got, want))


def check_boundary(ck, o, rng):
    if FC is None:
        raise AssertionError("faster-coco-eval is missing "
                             "(tests/requirements.txt)")
    for it in range(900):
        ratio = rng.choice([0.02, 0.02, 0.008, 0.05, 0.1, 0.3])
        if it % 3 == 0:   # short images: h <= 2d (and h >= d, where
            w = rng.randrange(30, 300)   # faster-coco-eval stays in bounds)
            d = max(1, int(round(ratio * math.sqrt(w * w + 4) - 1e-10)))
            h = rng.randrange(max(1, d), 2 * d + 2)
        else:
            h, w = rng.randrange(1, 60), rng.randrange(1, 60)
        d = max(1, int(round(ratio * math.sqrt(h * h + w * w) - 1e-10)))
        if h < d:
            continue
        m = rand_mask(rng, h, w)
        r = encode(m)
        want = M.decode(FC.toBoundary([r], ratio)[0])
        got = o.ask({"op": "rle", "rle": r, "ratio": ratio})
        got = M.decode({"size": [h, w], "counts": got["boundary"]})
        ck.ok(np.array_equal(got, want),
              lambda: "boundary of %dx%d at %g (d %d):\n%s\n%s\n%s" %
              (h, w, ratio, d, m, got, want))


SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62,
                   1.07, 1.07, .87, .87, .89, .89]) / 10.0


def ulps(a, b):
    if a == b:
        return 0
    return abs(np.float64(a).view(np.int64) - np.float64(b).view(np.int64))


def check_oks(ck, o, rng):
    E = COCOeval(iouType="keypoints")
    n_same = n_all = 0
    for it in range(300):
        k = 17 if it % 4 else rng.randrange(1, 20)
        sig = SIGMAS if k == 17 else np.array([rng.uniform(.02, .2)
                                               for _ in range(k)])
        E.params.kpt_oks_sigmas = sig
        gts, dts = [], []
        for g in range(rng.randrange(1, 4)):
            x, y = rng.uniform(0, 100), rng.uniform(0, 100)
            bw, bh = rng.uniform(0, 50), rng.uniform(0, 50)
            kp = []
            vis = rng.random()
            for _ in range(k):
                v = rng.choice([0, 1, 2]) if vis > .2 else 0
                kp += [round(x + rng.uniform(0, bw), 2),
                       round(y + rng.uniform(0, bh), 2), v]
            area = rng.choice([0.0, bw * bh, rng.uniform(1, 5000)])
            gts.append({"keypoints": kp, "bbox": [x, y, bw, bh],
                        "area": area})
        for d in range(rng.randrange(1, 4)):
            base = rng.choice(gts)["keypoints"]
            kp = []
            for i in range(k):
                far = rng.random() < .1
                kp += [base[3 * i] + rng.gauss(0, 300 if far else 3),
                       base[3 * i + 1] + rng.gauss(0, 3), 1]
            dts.append({"keypoints": kp, "score": 1.0 - d * 0.1})
        E._gts = {(1, 1): gts}
        E._dts = {(1, 1): dts}
        want = np.asarray(E.computeOks(1, 1), dtype=float)
        got = o.ask({"op": "oks", "dts": [d["keypoints"] for d in dts],
                     "gts": gts, "sigmas": list(sig)})
        got = np.array([np.nan if v is None else v for v in got["oks"]],
                       dtype=float).reshape(len(dts), len(gts))
        for a, b in zip(got.ravel(), want.ravel()):
            n_all += 1
            n_same += a == b
            ck.ok(ulps(a, b) <= 2, lambda: "oks %r vs %r (case %d)" %
                  (a, b, it))
    # Rounding apart, the values are the same bits.
    ck.ok(n_same >= 0.8 * n_all, "oks: %d of %d identical" % (n_same, n_all))


def correctly_rounded_exp(x):
    """exp(x) rounded once to the nearest double (Decimal at 50 digits)."""
    e = Decimal(x).exp()
    f = float(e)
    best, err = f, abs(Decimal(f) - e)
    for c in (math.nextafter(f, math.inf), math.nextafter(f, -math.inf)):
        if abs(Decimal(c) - e) < err:
            best, err = c, abs(Decimal(c) - e)
    return best


def check_exp(ck, o, rng):
    """dg__oks_exp is correctly rounded (libm's exp is not always: it is
    within one unit of it)."""
    getcontext().prec = 50
    xs = [-rng.uniform(0, 50) for _ in range(3000)] + \
         [-rng.uniform(0, 745) for _ in range(1000)] + [0.0, -1e-300, -744.9]
    got = o.ask({"op": "exp", "x": xs})["y"]
    for x, y in zip(xs, got):
        y = 0.0 if y is None else y
        if x > -708.39:  # normal results (subnormal ones round twice)
            ck.eq(y, correctly_rounded_exp(x), "exp(%r)" % x)
        ck.ok(ulps(y, math.exp(x)) <= 1, "exp(%r): %r vs libm %r" %
              (x, y, math.exp(x)))


def main():
    ck = Checker("test_masks")
    rng = random.Random(20260521)
    o = Oracle()
    try:
        check_polygons(ck, o, rng)
        check_rles(ck, o, rng)
        check_iou(ck, o, rng)
        check_boundary(ck, o, rng)
        check_oks(ck, o, rng)
        check_exp(ck, o, rng)
    finally:
        o.close()
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
