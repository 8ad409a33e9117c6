#!/usr/bin/env python3
"""How the pattern finders behave on planted data (docs/EMBEDDINGS.md,
docs/SLICES.md): per scenario and setting, over many seeds, how often the
planted failure is ranked first with Jaccard >= 0.8 against the planted
frames (or crops), the mean Jaccard, the k chosen, and on unplanted data
how often anything is reported as significant.

    tools/dev/patterns_eval.py frames --seeds 1-12 --geometry synth,aniso,nested \
        --scenes 8,12,30 --dims 8,64
    tools/dev/patterns_eval.py frames --null --seeds 1-100 --scenes 10 --dims 16 \
        --criteria bic --frames 1000
    tools/dev/patterns_eval.py crops --seeds 1-20 --dims 16,32,64 \
        --settings ';--clusters 0;--clusters 0 --choose-k silhouette'
    tools/dev/patterns_eval.py slices --seeds 1-100 \
        --settings ';--conditions 3;--rank effect-support'
    tools/dev/patterns_eval.py slices --null --seeds 1-500 \
        --settings ';--conditions 1;--conditions 3;--metric precision;--metric recall'

(the runs behind the tables of docs/EMBEDDINGS.md and docs/SLICES.md).

Scenarios:
  frames  `synth --embeddings D --scenes S --plant-pattern miss`: one scene
          of S loses its most common class; `embeddings --patterns` must
          rank a cluster holding that scene's frames first. --geometry
          replaces the frame embeddings (scene labels and the planted
          failure stay) to try harder shapes:
            synth   synth's own: isotropic scenes of equal spread;
            aniso   each scene stretched 3x along a random direction, its
                    spread drawn in [0.5, 1.5] x;
            nested  scenes in 3 super-groups: a scene's centre is its
                    group's plus 0.45 x its own offset.
  crops   `synth --embeddings D --plant-pattern look`: a third of one
          class's objects look different and are missed; `embeddings
          --crops --patterns` must rank a cluster holding those label
          crops first.
  slices  `synth --metadata --plant-slice`: detections vanish in the
          frames of a conjunction of two metadata conditions;
          `slices` must rank a slice holding those frames first; with
          --null nothing is planted and every significant slice is a
          false positive.

Nothing here is a test; tests/test_slices.py and tests/test-slices.c
assert on seeds this script was not run on while tuning.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run(binary, args):
    p = subprocess.run([binary] + args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("patterns_eval: %s failed (%d): %s"
                 % (" ".join(args), p.returncode, p.stderr[-2000:]))
    return p


def seeds_of(s):
    out = []
    for part in s.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


def jaccard(a, b):
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a | b else 1.0


def regeometry(h5, geometry, dim, seed, tmp):
    """Replaces the frame embeddings of model synth by the geometry's."""
    import h5py
    with h5py.File(h5, "r") as h:
        scene = h["frames/meta/scene"][:].astype(int)
    rng = np.random.default_rng(seed + 7919)
    S = scene.max() + 1
    if geometry == "aniso":
        centre = rng.normal(0, 1, (S, dim))
        axis = rng.normal(0, 1, (S, dim))
        axis /= np.linalg.norm(axis, axis=1, keepdims=True)
        spread = rng.uniform(0.5, 1.5, S) * 0.35
        x = centre[scene] + spread[scene, None] * rng.normal(0, 1, (len(scene), dim))
        along = rng.normal(0, 1, len(scene)) * spread[scene] * 3.0
        x += along[:, None] * axis[scene]
    else:  # nested
        group = rng.integers(0, 3, S)
        gcentre = rng.normal(0, 1, (3, dim))
        centre = gcentre[group] + 0.45 * rng.normal(0, 1, (S, dim))
        x = centre[scene] + 0.35 * 0.45 * rng.normal(0, 1, (len(scene), dim))
    path = os.path.join(tmp, "frames.npy")
    np.save(path, x.astype(np.float32))
    return path


def frames_case(args, seed, S, dim, geometry, tmp):
    import h5py
    h5 = os.path.join(tmp, "p-%d-%d-%d-%s%s.h5" % (seed, S, dim, geometry,
                                                  "-null" if args.null
                                                  else ""))
    if not os.path.exists(h5):
        plant = [] if args.null else ["--plant-pattern", "miss"]
        r = run(args.bin, ["synth", "--frames", str(args.frames),
                           "--embeddings", str(dim), "--scenes", str(S),
                           "--seed", str(seed), "-o", h5] + plant)
        m = re.search(r"scene (\d+)", r.stderr)
        ps = int(m.group(1)) if m else -1
        if geometry != "synth":
            npy = regeometry(h5, geometry, dim, seed, tmp)
            run(args.bin, ["import", "embeddings", h5, "--model", "synth",
                           "--frames", npy])
        run(args.bin, ["eval", h5])
        with h5py.File(h5, "a") as h:
            h.attrs["planted_scene"] = ps
    with h5py.File(h5, "r") as h:
        ps = int(h.attrs["planted_scene"])
        scene = h["frames/meta/scene"][:].astype(int)
    planted = np.nonzero(scene == ps)[0].tolist()
    return h5, planted


def frames_main(args):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = args.keep or tmp
        for geometry in args.geometry.split(","):
            for S in [int(x) for x in args.scenes.split(",")]:
                for dim in [int(x) for x in args.dims.split(",")]:
                    for crit in args.criteria.split(","):
                        js, ks, fps = [], [], 0
                        for seed in seeds_of(args.seeds):
                            h5, planted = frames_case(args, seed, S, dim,
                                                      geometry, tmp)
                            r = run(args.bin, ["embeddings", h5, "--patterns",
                                               "--json", "--choose-k", crit])
                            j = json.loads(r.stdout)
                            if args.null:
                                fps += any(c["q"] <= 0.05
                                           for c in j["clusters"])
                                ks.append(j["k"])
                                continue
                            top = j["clusters"][0]["cluster"]
                            got = [p["frame"] for p in j["points"]
                                   if p["cluster"] == top]
                            js.append(jaccard(got, planted))
                            ks.append(j["k"])
                        if args.null:
                            print("null    %-7s S=%-3d D=%-4d %-10s seeds with "
                                  "a significant cluster: %d/%d  k median %g"
                                  % (geometry, S, dim, crit, fps, len(ks),
                                     statistics.median(ks)), flush=True)
                            continue
                        rows.append((geometry, S, dim, crit, js, ks))
                        print("%-7s S=%-3d D=%-4d %-10s first with J>=0.8: "
                              "%3d/%-3d  mean J %.3f  k median %g (%d..%d)"
                              % (geometry, S, dim, crit,
                                 sum(x >= 0.8 for x in js), len(js),
                                 statistics.mean(js), statistics.median(ks),
                                 min(ks), max(ks)), flush=True)
    return rows


def crops_case(args, seed, dim, tmp):
    """A project with the 'look' plant, evaluated; returns its path and the
    planted crops as ("label", record index) pairs."""
    import h5py
    h5 = os.path.join(tmp, "c-%d-%d-%d.h5" % (seed, dim, args.frames))
    if not os.path.exists(h5):
        r = run(args.bin, ["synth", "--frames", str(args.frames),
                           "--embeddings", str(dim), "--plant-pattern",
                           "look", "--seed", str(seed), "-o", h5])
        cls = re.search(r"class '([^']+)'", r.stderr).group(1)
        run(args.bin, ["eval", h5])
        with h5py.File(h5, "a") as h:
            h.attrs["planted_class"] = cls
    with h5py.File(h5, "r") as h:
        names = [x.decode() if isinstance(x, bytes) else x
                 for x in h["classes/name"][:]]
        pc = names.index(h.attrs["planted_class"])
        lc = h["labels/class"][:]
        crowd = (h["labels/iscrowd"][:] if "iscrowd" in h["labels"]
                 else np.zeros(len(lc), np.uint8))
    idx = np.nonzero((lc == pc) & (crowd == 0))[0][::3]
    return h5, [("label", int(i)) for i in idx]


def crops_main(args):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = args.keep or tmp
        for dim in [int(x) for x in args.dims.split(",")]:
            for setting in args.settings.split(";"):
                extra = setting.split() if setting else []
                js, ks = [], []
                for seed in seeds_of(args.seeds):
                    h5, planted = crops_case(args, seed, dim, tmp)
                    r = run(args.bin, ["embeddings", h5, "--crops",
                                       "--patterns", "--json"] + extra)
                    j = json.loads(r.stdout)
                    top = j["clusters"][0]["cluster"]
                    got = [(p["kind"], p["index"]) for p in j["points"]
                           if p["cluster"] == top]
                    js.append(jaccard(got, planted))
                    ks.append(j["k"])
                print("crops   D=%-4d %-24s first with J>=0.8: %3d/%-3d  "
                      "mean J %.3f  k median %g (%d..%d)"
                      % (dim, setting or "(defaults)",
                         sum(x >= 0.8 for x in js), len(js),
                         statistics.mean(js), statistics.median(ks),
                         min(ks), max(ks)), flush=True)


def slices_case(args, seed, tmp, plant):
    """A project with metadata (planted or not), evaluated; returns its
    path and the planted frames (None when nothing is planted)."""
    import h5py
    h5 = os.path.join(tmp, "s-%d-%d-%s.h5" % (seed, args.frames, plant))
    if not os.path.exists(h5):
        cmd = ["synth", "--frames", str(args.frames), "--metadata",
               "--seed", str(seed), "-o", h5]
        if plant:
            cmd.append("--plant-slice")
        r = run(args.bin, cmd)
        run(args.bin, ["eval", h5])
        m = re.search(r"planted slice: (\S+) and (\S+) \(", r.stderr)
        with h5py.File(h5, "a") as h:
            h.attrs["planted"] = ("%s|%s" % m.groups()) if m else ""
    planted = None
    with h5py.File(h5, "r") as h:
        where = h.attrs["planted"]
        if where:
            planted = frames_where(h, where.split("|"))
    return h5, planted


def frames_where(h, conds):
    """Frames where every condition (col=v, col<x, col>=x) holds."""
    n = len(h["frames/id"])
    keep = np.ones(n, bool)
    for c in conds:
        m = re.match(r"^(\w+)(=|<|>=)(.+)$", c)
        col, op, v = m.groups()
        x = h["frames/meta/" + col][:]
        if x.dtype.kind in "OS":
            x = np.array([s.decode() if isinstance(s, bytes) else s
                          for s in x])
            keep &= x == v
        elif op == "=":
            keep &= x == float(v)
        elif op == "<":
            keep &= x < float(v)
        else:
            keep &= x >= float(v)
    return np.nonzero(keep)[0].tolist()


def slices_main(args):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = args.keep or tmp
        for setting in args.settings.split(";"):
            extra = setting.split() if setting else []
            js, fp_runs, n_rep = [], 0, []
            for seed in seeds_of(args.seeds):
                h5, planted = slices_case(args, seed, tmp, not args.null)
                r = run(args.bin, ["slices", h5, "--json"] + extra)
                j = json.loads(r.stdout)
                n_rep.append(len(j["slices"]))
                if args.null:
                    fp_runs += len(j["slices"]) > 0
                    continue
                top = j["slices"][0]["frame_indices"] if j["slices"] else []
                js.append(jaccard(top, planted))
            n = len(n_rep)
            if args.null:
                print("null    %-30s seeds with a significant slice: "
                      "%d/%d (%.1f%%)  slices reported: %d"
                      % (setting or "(defaults)", fp_runs, n,
                         100.0 * fp_runs / n, sum(n_rep)), flush=True)
            else:
                print("planted %-30s first with J>=0.8: %3d/%-3d  mean J "
                      "%.3f  min J %.3f  slices reported: median %g"
                      % (setting or "(defaults)", sum(x >= 0.8 for x in js),
                         n, statistics.mean(js), min(js),
                         statistics.median(n_rep)), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("scenario", choices=["frames", "crops", "slices"])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "detgrid"))
    ap.add_argument("--seeds", default="1-20")
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--scenes", default="8,12,20,30")
    ap.add_argument("--dims", default="64")
    ap.add_argument("--geometry", default="synth")
    ap.add_argument("--criteria", default="bic,silhouette,elbow")
    ap.add_argument("--keep", help="keep the projects in this folder")
    ap.add_argument("--null", action="store_true",
                    help="frames, slices: plant nothing, count false "
                    "positives")
    ap.add_argument("--settings", default="",
                    help="crops, slices: ';'-separated option sets to "
                    "compare")
    args = ap.parse_args()
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    if args.scenario == "frames":
        frames_main(args)
    elif args.scenario == "crops":
        crops_main(args)
    elif args.scenario == "slices":
        slices_main(args)


if __name__ == "__main__":
    main()
