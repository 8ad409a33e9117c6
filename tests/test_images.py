"""Frames, their metadata and their pictures.

  - COCO import keeps every scalar image field (file_name, width, height,
    license, ...) as a frame metadata column, read back with h5py; `info`
    lists the columns; `segment --where` selects on them.
  - `import meta` adds columns from CSV keyed by frame id or COCO image id
    (quoted fields, missing values, unknown rows warned about, bad input
    named by file, line and field, exit 2).
  - `synth --images` paints each frame's ground truth; the pictures, read
    with Pillow, have the frame's size and each label's colour inside its
    box. `import images` sets the project's default folder.
  - `examples --montage` draws the listed examples: the sheet has one tile
    per example and, at each tile, the detection's edge in the colour of
    its outcome; missing pictures give a warning and a placeholder tile.
  - `frames`, `label-errors` and `examples` with --images name each frame's
    picture in --json (null where there is none).
  - Charts (cairo): `sweep --plot`, `confusion --plot` and `embeddings
    --plot` write PNG (deflated, a few hundred KB at most), SVG and PDF;
    the heatmap rings the cell `confusion` ranks first among the class-to-
    class confusions; the PR curve of a lone class runs through the recall
    and precision `sweep` gives; a bad ending is refused.
"""

import json
import os

import numpy as np

import dgtest
from dgtest import EXIT_ERROR, Checker, Project, TempDir, run

from PIL import Image  # tests/requirements.txt

OKABE = {"gt": (0x00, 0x72, 0xb2), "tp": (0x00, 0x9e, 0x73), "fp": (0xd5, 0x5e, 0x00),
         "fn": (0xcc, 0x79, 0xa7)}


def near(px, rgb, tol=40):
    return all(abs(int(a) - int(b)) <= tol for a, b in zip(px, rgb))


def main():
    ck = Checker("test_images")
    import h5py
    with TempDir() as tmp:
        # ---- COCO image fields become metadata columns
        gt = {
            "images": [
                {"id": 7, "file_name": "b.jpg", "width": 640, "height": 480, "license": 3,
                 "flickr_url": "http://x/b", "date_captured": "2013-11-14"},
                {"id": 2, "file_name": "a.png", "width": 320, "height": 240, "license": 1,
                 "coco_url": None, "tags": ["x"], "night": True},
            ],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": 1, "image_id": 2, "category_id": 1, "bbox": [1, 2, 30, 40],
                             "area": 1200, "iscrowd": 0}],
        }
        gp = os.path.join(tmp, "gt.json")
        with open(gp, "w") as f:
            json.dump(gt, f)
        proj = os.path.join(tmp, "c.h5")
        run(["import", "coco", "--gt", gp, "-o", proj])
        with h5py.File(proj, "r") as f:
            meta = f["frames/meta"]
            ck.eq(sorted(meta.keys()), ["date_captured", "file_name", "flickr_url", "height",
                                        "license", "night", "width"],
                  "COCO image fields kept (not id, not null-only, not arrays)")
            # frames are in image id order: id 2 first
            ck.eq([x.decode() for x in meta["file_name"][()]], ["a.png", "b.jpg"], "file_name")
            ck.eq(list(meta["width"][()]), [320.0, 640.0], "width numeric")
            ck.eq([x.decode() for x in meta["flickr_url"][()]], ["", "http://x/b"],
                  "missing text is empty")
            night = meta["night"][()]
            ck.ok(night[0] == 1.0 and np.isnan(night[1]), "booleans as numbers, missing NaN")
        info = run(["info", proj, "--json"]).json()
        ck.eq([m["name"] for m in info["metadata"]],
              ["date_captured", "file_name", "flickr_url", "height", "license", "night", "width"],
              "info lists the columns")
        ck.eq({m["name"]: m["type"] for m in info["metadata"]}["width"], "number", "info types")
        ck.contains(run(["info", proj]).out, "frame metadata:", "file_name (text)", what="info text")
        # --images records the folder of the file names (absolute)
        os.makedirs(os.path.join(tmp, "coco-img"))
        open(os.path.join(tmp, "coco-img", "a.png"), "wb").close()
        p2 = os.path.join(tmp, "c2.h5")
        run(["import", "coco", "--gt", gp, "--images", os.path.join(tmp, "coco-img"), "-o", p2])
        ck.eq(run(["info", p2, "--json"]).json()["images_dir"],
              os.path.realpath(os.path.join(tmp, "coco-img")), "import coco --images")
        r = run(["import", "images", p2, os.path.join(tmp, "coco-img")])
        ck.contains(r.err, "pictures of 1 of 2 frames", what="file_name resolves the pictures")
        r = run(["segment", "create", proj, "wide", "--where", "width>=640"])
        ck.contains(r.out + r.err, "1 frames", what="segment --where on a COCO field")
        seg = run(["segment", "list", proj, "--json"]).json()
        ck.ok(any(s["name"] == "wide" for s in (seg if isinstance(seg, list) else seg.get("segments", []))),
              "segment wide listed")

        # ---- import meta from CSV
        sp = os.path.join(tmp, "s.h5")
        img = os.path.join(tmp, "img")
        run(["synth", "-o", sp, "--seed", "4", "--frames", "30", "--classes", "5",
             "--inferences", "1", "--images", img])
        P = Project(sp)
        csv = os.path.join(tmp, "m.csv")
        with open(csv, "w") as f:
            f.write('frame,weather,speed\n%s,rain,12\n%s,"sun, hot",3.5\n%s,,\nnot-a-frame,x,1\n'
                    % (P.frame_ids[0], P.frame_ids[1], P.frame_ids[2]))
        r = run(["import", "meta", sp, csv])
        ck.contains(r.err, "1 row name no frame", what="unknown rows warned")
        with h5py.File(sp, "r") as f:
            w = [x.decode() for x in f["frames/meta/weather"][()]]
            sp_ = f["frames/meta/speed"][()]
        ck.eq(w[:4], ["rain", "sun, hot", "", ""], "text column, quoted comma")
        ck.eq(list(sp_[:2]), [12.0, 3.5], "numeric column")
        ck.ok(bool(np.isnan(sp_[2])) and bool(np.isnan(sp_[5])), "missing values NaN")
        r = run(["segment", "create", sp, "fast", "--where", "speed>=3"])
        ck.contains(r.out + r.err, "2 frames", what="segment on an imported column")
        for text, msg in (('frame,a\n%s,"x\n' % P.frame_ids[0], "line 2: unterminated quoted field"),
                          ("frame,a\n%s,1,2\n" % P.frame_ids[0], "line 2: not as many fields"),
                          ("frame,a\n%s,1\n%s,2\n" % (P.frame_ids[0], P.frame_ids[0]), "line 3: field 'frame'"),
                          ("name,a\nx,1\n", "line 1: field 1: the first column is 'frame'"),
                          ("frame,a,a\n", "column 'a' twice")):
            with open(csv, "w") as f:
                f.write(text)
            r = run(["import", "meta", sp, csv], rc=EXIT_ERROR)
            ck.contains(r.err, "m.csv", msg, what="bad CSV: " + msg)
        # keyed by COCO image id
        with open(csv, "w") as f:
            f.write("image_id,site\n7,north\n2,south\n")
        run(["import", "meta", proj, csv])
        with h5py.File(proj, "r") as f:
            ck.eq([x.decode() for x in f["frames/meta/site"][()]], ["south", "north"],
                  "keyed by COCO image id")
        # ids out of int64's range match no image (fuzz-meta-image found
        # the conversion undefined); the others still land
        with open(csv, "w") as f:
            f.write("image_id,zone\n%s,x\n1e300,y\n9223372036854775808,z\n"
                    "2,w\n" % ("5" * 120))
        r = run(["import", "meta", proj, csv])
        ck.contains(r.err, "3 rows", what="out-of-range ids skipped")
        with h5py.File(proj, "r") as f:
            ck.eq([x.decode() for x in f["frames/meta/zone"][()]], ["w", ""],
                  "in-range id kept")

        # ---- synth --images: pictures of the ground truth
        info = run(["info", sp, "--json"]).json()
        ck.eq(info["images_dir"], os.path.realpath(img), "synth sets the default folder")
        files = sorted(os.listdir(img))
        ck.eq(files, sorted(i + ".jpg" for i in P.frame_ids), "one picture per frame")
        lab = P.labels
        for f in (0, 7):
            im = Image.open(os.path.join(img, P.frame_ids[f] + ".jpg")).convert("RGB")
            ck.eq(im.size, (640, 480), "picture size")
            # the centre of the last-drawn label of the frame has a
            # class colour, not the grey background
            idx = np.nonzero(lab.frame == f)[0]
            if len(idx):
                k = idx[-1]
                cx, cy = lab.x[k] + lab.w[k] / 2, lab.y[k] + lab.h[k] / 2
                if lab.w[k] > 8 and lab.h[k] > 8:
                    px = im.getpixel((int(cx), int(cy)))
                    ck.ok(not near(px, (0xd8, 0xdd, 0xe4), 12), "label painted (%s)" % (px,))
        # import images: another folder as the default; --clear forgets it
        run(["import", "images", sp, os.path.join(tmp, "nope")], rc=EXIT_ERROR)
        r = run(["import", "images", sp, img])
        ck.contains(r.err, "pictures of 30 of 30 frames", what="import images counts")
        run(["import", "images", sp, "--clear"])
        ck.eq(run(["info", sp, "--json"]).json()["images_dir"], None, "--clear")
        run(["import", "images", sp, img])

        # ---- examples --montage
        run(["eval", sp, "--device", "ref"])
        cm = run(["confusion", sp, "--json"]).json()
        cell = [c for c in cm["cells"] if c["gt"] != "background" and c["pred"] != "background"][0]
        spec = "%s,%s" % (cell["gt"], cell["pred"])
        sheet = os.path.join(tmp, "sheet.png")
        ex = run(["examples", sp, "--cell", spec, "--limit", "8", "--json",
                  "--montage", sheet]).json()
        n = len(ex["examples"])
        ck.ok(n >= 1, "examples listed")
        ck.ok(all(e["image"] == os.path.join(os.path.realpath(img), e["frame_id"] + ".jpg")
                  for e in ex["examples"]), "examples --json names each picture")
        im = Image.open(sheet).convert("RGB")
        cols = min(n, 6)
        rows = (n + cols - 1) // cols
        ck.eq(im.size, (6 + cols * 206, 6 + rows * 156), "sheet size: a 200x150 tile per example")
        # tile 0: the detection's left edge, at its scale (200 / 640)
        e = ex["examples"][0]
        s = 200 / 640
        d = e["detection"]["box"]
        want = OKABE["tp"] if e["gt"] and cell["gt"] == cell["pred"] else OKABE["fp"]
        x = int(6 + d[0] * s) + 1
        y = int(6 + (d[1] + d[3] / 2) * s)
        ck.ok(near(im.getpixel((x, y)), want), "detection edge colour %s" % (im.getpixel((x, y)),))
        # missing pictures: warning, placeholder, exit 0
        r = run(["examples", sp, "--cell", spec, "--limit", "2", "--images",
                 os.path.join(tmp, "empty"), "--montage", os.path.join(tmp, "s2.png")])
        ck.contains(r.err, "montage:", "no such file", what="missing pictures warned")
        ck.ok(os.path.getsize(os.path.join(tmp, "s2.png")) > 100, "placeholder sheet written")
        run(["examples", sp, "--cell", spec, "--montage", os.path.join(tmp, "s.gif")],
            rc=EXIT_ERROR)
        # frames and label-errors name the pictures
        fr = run(["frames", sp, "--sort", "f1", "--limit", "3", "--json"]).json()
        ck.ok(all(os.path.exists(x["image"]) for x in fr["frames"]), "frames --json image")
        le = run(["label-errors", sp, "--limit", "2", "--json", "--images",
                  os.path.join(tmp, "empty")]).json()
        ents = [e for k in le["lists"].values() for e in k["entries"]]
        ck.ok(ents and all(e["image"] is None for e in ents), "label-errors: null without a picture")

        # ---- charts
        magic = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}
        for ext in (".png", ".svg", ".pdf"):
            for cmd in (["sweep", sp, "--iou", "0.5", "--plot"], ["confusion", sp, "--plot"]):
                out = os.path.join(tmp, cmd[0] + ext)
                r = run(cmd + [out])
                ck.eq(r.out if cmd[0] == "sweep" else "", "", "sweep --plot writes no table without -o")
                ck.eq(open(out, "rb").read(len(magic[ext])), magic[ext], "%s --plot %s" % (cmd[0], ext))
        ck.ok(os.path.getsize(os.path.join(tmp, "sweep.png")) < 400000, "PNG deflated")
        run(["sweep", sp, "--plot", os.path.join(tmp, "x.gif")], rc=EXIT_ERROR)
        # the heatmap: the ring is vermilion; its cell is confusion's top
        # class-to-class cell (5 classes + background: 40 px cells)
        im = Image.open(os.path.join(tmp, "confusion.png")).convert("RGB")
        ax = cm["classes"]
        g, pr = ax.index(cell["gt"]), ax.index(cell["pred"])
        x0, y0 = 120, 160  # label margin, title band
        px = im.getpixel((int(x0 + pr * 40 - 2.5), int(y0 + g * 40 + 20)))
        ck.ok(near(px, OKABE["fp"], 50), "largest confusion ringed (%s)" % (px,))
        # the PR chart of one class: the default confidence's dot sits
        # at the recall and precision of `metrics`
        out = os.path.join(tmp, "one.png")
        run(["sweep", sp, "--iou", "0.5", "--class", cell["gt"], "--plot", out])
        m = [c for c in dgtest.metrics_json(sp, 0.1, 0.5)["classes"] if c["name"] == cell["gt"]][0]
        im = Image.open(out).convert("RGB")
        W, H = im.size
        L, T = 80, 56
        pw, ph = W - 80 - 250, H - 56 - 70
        x, y = L + m["recall"] * pw, T + ph - m["precision"] * ph
        ck.ok(near(im.getpixel((int(x), int(y))), OKABE["tp"], 60),
              "PR dot at (recall, precision) of metrics (%s)" % (im.getpixel((int(x), int(y))),))
        emb = os.path.join(tmp, "e.h5")
        run(["synth", "-o", emb, "--frames", "300", "--classes", "5", "--embeddings", "16"])
        run(["eval", emb, "--device", "ref"])
        for ext in (".png", ".pdf", ".svg"):
            out = os.path.join(tmp, "emb" + ext)
            run(["embeddings", emb, "--plot", out])
            ck.eq(open(out, "rb").read(len(magic[ext])), magic[ext], "embeddings --plot " + ext)
        ck.ok(os.path.getsize(os.path.join(tmp, "emb.png")) < 300000, "scatter PNG deflated")
    ck.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
