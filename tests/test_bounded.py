"""Bounded-memory eval (docs/SCALE.md): `eval --memory-budget` stores the same
results, byte for byte, as the in-memory eval, within a peak RSS that the
budget bounds, and far below the in-memory run's.

Checks:
- a small project with a budget so small that the outcomes spill to the
  scratch file after every chunk: the stored tables equal the independent
  Python oracle's (tests/dgtest.py), and the default run's raw chunks;
- two inference sets evaluated with one budget (the first set's outcomes
  spill when the second starts);
- a project of about 2.2M detections (3 blocks of HDF5 chunks): the stored
  results of `--memory-budget 8` equal the default run's dataset by dataset,
  attribute by attribute and raw (compressed) chunk by raw chunk, the
  `metrics --json` and `coco --json` outputs are the same text, the
  budgeted run's peak RSS (getrusage of the child) stays under
  96 MB + 56 bytes a detection + 2 x budget, and the in-memory run's does
  not (it holds the T x N tables twice);
- no scratch file is left beside the project.
"""
import os
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dgtest import (BIN, Checker, Oracle, Project, TempDir, check_results,  # noqa: E402
                    main_wrapper, run)


def same_results(ck, a, b, what):
    """Every /results group of a and b: same datasets, shapes, types,
    layouts, attributes, values and raw chunk bytes."""
    import h5py
    n_chunks = 0
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        ck.eq(sorted(fa["results"]), sorted(fb["results"]), what + " sets")
        for name in fa["results"]:
            ga, gb = fa["results"][name], fb["results"][name]
            ck.eq(sorted(ga.attrs), sorted(gb.attrs), what + " attrs")
            for k in ga.attrs:
                ck.ok(np.array_equal(ga.attrs[k], gb.attrs[k]),
                      "%s %s attr %s differs" % (what, name, k))
            ck.eq(sorted(ga), sorted(gb), what + " datasets")
            for d in ga:
                da, db = ga[d], gb[d]
                w = "%s %s/%s" % (what, name, d)
                ck.eq((da.dtype, da.shape, da.chunks, da.compression,
                       da.shuffle), (db.dtype, db.shape, db.chunks,
                                     db.compression, db.shuffle), w + " layout")
                ck.eq(dict(da.attrs), dict(db.attrs), w + " attrs")
                ck.ok(np.array_equal(da[()], db[()]), w + " values differ")
                if da.chunks:
                    na = da.id.get_num_chunks()
                    ck.eq(na, db.id.get_num_chunks(), w + " chunk count")
                    for i in range(na):
                        off = da.id.get_chunk_info(i).chunk_offset
                        ck.ok(da.id.read_direct_chunk(off) ==
                              db.id.read_direct_chunk(off),
                              "%s raw chunk %s differs" % (w, off))
                        n_chunks += 1
    return n_chunks


def rss_of(args):
    """Peak RSS (MB) of one detgrid run, through os.wait4."""
    pid = os.fork()
    if pid == 0:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.execv(BIN, [BIN] + [str(a) for a in args])
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        raise AssertionError("detgrid %s failed (%r)" % (" ".join(map(str, args)),
                                                         status))
    return ru.ru_maxrss / 1024.0


def same_file(ck, a, b, what):
    """Every group and dataset of a and b: same names, attributes, layouts,
    values and raw chunk bytes."""
    import h5py
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        na, nb = [], []
        fa.visit(na.append)
        fb.visit(nb.append)
        ck.eq(na, nb, what + " objects")
        for k in ["/"] + na:
            oa, ob = fa[k], fb[k]
            ck.eq(sorted(oa.attrs), sorted(ob.attrs), "%s %s attrs" % (what, k))
            for at in oa.attrs:
                ck.ok(np.array_equal(oa.attrs[at], ob.attrs[at]),
                      "%s %s attr %s differs" % (what, k, at))
            if not isinstance(oa, h5py.Dataset):
                continue
            ck.eq((oa.dtype, oa.shape, oa.chunks, oa.compression, oa.shuffle),
                  (ob.dtype, ob.shape, ob.chunks, ob.compression, ob.shuffle),
                  "%s %s layout" % (what, k))
            ck.ok(np.array_equal(oa[()], ob[()]), "%s %s values" % (what, k))
            if oa.chunks:
                for i in range(oa.id.get_num_chunks()):
                    off = oa.id.get_chunk_info(i).chunk_offset
                    ck.ok(oa.id.read_direct_chunk(off) ==
                          ob.id.read_direct_chunk(off),
                          "%s %s raw chunk %s" % (what, k, off))


def asan_build():
    """True when the binary is built with AddressSanitizer."""
    with open(BIN, "rb") as f:
        return b"__asan_init" in f.read()


def no_scratch(ck, d, what):
    left = [f for f in os.listdir(d) if f.startswith(".detgrid") or ".tmp" in f]
    ck.eq(left, [], what + ": files left beside the project")


def main():
    ck = Checker("test_bounded")
    with TempDir() as d:
        # 0. The streamed synth writes the same file as the in-memory one.
        for extra in (["--coco-scale", "0.5", "--inferences", "2"],
                      ["--frames", "700", "--classes", "9", "--plant-missing",
                       "0.1", "--plant-spurious", "0.05", "--crowd-rate", "0.3",
                       "--score-levels", "10"],
                      ["--frames", "3", "--objects", "0", "--background-fp", "0",
                       "--low-score-fp", "0"]):
            a = os.path.join(d, "syn-a.h5")
            b = os.path.join(d, "syn-b.h5")
            run(["synth", "-o", a, "--seed", "21"] + extra)
            run(["synth", "-o", b, "--seed", "21", "--stream"] + extra)
            same_file(ck, a, b, "synth --stream " + " ".join(extra))
            os.unlink(a)
            os.unlink(b)
        no_scratch(ck, d, "synth")

        # 1. Small, spilling after every chunk, against the oracle.
        src = os.path.join(d, "small.h5")
        run(["synth", "-o", src, "--frames", "300", "--classes", "7",
             "--seed", "11", "--score-levels", "20", "--crowd-rate", "0.2"])
        ref = os.path.join(d, "small-ref.h5")
        bud = os.path.join(d, "small-bud.h5")
        shutil.copy(src, ref)
        shutil.copy(src, bud)
        run(["eval", ref, "-q", "--iou-thresholds", "0.3,0.5,0.75,0.9"])
        run(["eval", bud, "-q", "--iou-thresholds", "0.3,0.5,0.75,0.9",
             "--memory-budget", "0.001"], env={"DETGRID_CHUNK_DETS": "300"})
        same_results(ck, ref, bud, "small")
        P = Project(bud)
        o = Oracle(P.labels, P.inferences["model-a"], [0.3, 0.5, 0.75, 0.9],
                   P.n_classes)
        check_results(ck, P, "model-a", o, "small budgeted vs oracle")
        ck.array_eq(P.results["model-a"]["label_class"].astype(np.int64),
                    P.labels.cls.astype(np.int64), "label_class")
        # The same through an OpenCL CPU device (PoCL), when there is one
        # and the suite does not run reference-only.
        if os.environ.get("DETGRID_DEVICE", "") != "ref":
            c0 = os.path.join(d, "small-cl0.h5")
            c1 = os.path.join(d, "small-cl1.h5")
            r0 = run(["eval", src, "-q", "-o", c0, "--device", "cpu",
                      "--iou-thresholds", "0.3,0.5,0.75,0.9"], rc=None)
            if r0.rc == 0:
                run(["eval", src, "-q", "-o", c1, "--device", "cpu",
                     "--iou-thresholds", "0.3,0.5,0.75,0.9",
                     "--memory-budget", "0.001"],
                    env={"DETGRID_CHUNK_DETS": "300"})
                same_results(ck, c0, c1, "small on an OpenCL CPU device")
            else:
                ck.ok("OpenCL" in r0.err, "eval --device cpu: " + r0.err)
                print("no OpenCL CPU device: " + r0.err.strip())
        no_scratch(ck, d, "small")

        # An inference set without detections, and one written by h5py
        # unsorted and without frame_offsets (records sorted on load).
        import h5py
        hp = os.path.join(d, "h5py.h5")
        str_t = h5py.string_dtype()
        rng = np.random.default_rng(4)
        with h5py.File(hp, "w") as f:
            f.attrs["format"] = "detgrid-project"
            f.attrs["format_version"] = np.int32(1)
            f["classes/name"] = np.array(["cat", "dog"], dtype=object).astype(str_t)
            f["frames/id"] = np.array(["a", "b", "c"], dtype=object).astype(str_t)
            g = f.create_group("labels")
            g["frame"] = np.array([2, 0, 1, 0], np.uint32)
            g["class"] = np.array([0, 1, 1, 0], np.uint32)
            for k in "xywh":
                g[k] = np.array([1.0, 2.0, 3.0, 4.0]) * 10
            e = f.create_group("inferences/none")
            e["frame"] = np.zeros(0, np.uint32)
            e["class"] = np.zeros(0, np.uint32)
            for k in "xywh":
                e[k] = np.zeros(0)
            e["score"] = np.zeros(0)
            u = f.create_group("inferences/unsorted")
            n_u = 200
            u["frame"] = rng.integers(0, 3, n_u).astype(np.uint32)
            u["class"] = rng.integers(0, 2, n_u).astype(np.uint32)
            for k in "xywh":
                u[k] = np.round(rng.uniform(5, 45, n_u), 1)
            u["score"] = np.round(rng.uniform(0, 1, n_u), 1)
        h0 = os.path.join(d, "h5py-0.h5")
        h1 = os.path.join(d, "h5py-1.h5")
        run(["eval", hp, "-q", "-o", h0])
        run(["eval", hp, "-q", "-o", h1, "--memory-budget", "0.001"],
            env={"DETGRID_CHUNK_DETS": "50"})
        same_results(ck, h0, h1, "h5py project")
        with h5py.File(h1, "r") as f:
            ck.eq(f["results/none/status"].shape, (19, 0), "empty set status")

        # 2. Two sets under one budget, written to another file with -o.
        two = os.path.join(d, "two.h5")
        run(["synth", "-o", two, "--frames", "400", "--classes", "5",
             "--inferences", "2", "--seed", "5"])
        two_ref = os.path.join(d, "two-ref.h5")
        two_bud = os.path.join(d, "two-bud.h5")
        run(["eval", two, "-q", "-o", two_ref])
        run(["eval", two, "-q", "-o", two_bud, "--memory-budget", "0.01"],
            env={"DETGRID_CHUNK_DETS": "2000"})
        same_results(ck, two_ref, two_bud, "two sets")
        for m in ("model-a", "model-b"):
            ck.eq(run(["metrics", two_bud, "-i", m, "--json"]).out,
                  run(["metrics", two_ref, "-i", m, "--json"]).out,
                  "two sets metrics " + m)

        # 3. About 2.2M detections: 3 chunk blocks, RSS bounded.
        big = os.path.join(d, "big.h5")
        run(["synth", "-o", big, "--coco-scale", "5.5", "--seed", "2"],
            timeout=600)
        big_ref = os.path.join(d, "big-ref.h5")
        big_bud = os.path.join(d, "big-bud.h5")
        budget = 8
        rss_bud = rss_of(["eval", big, "-q", "-o", big_bud, "--memory-budget",
                          budget, "--device", "ref"])
        rss_ref = rss_of(["eval", big, "-q", "-o", big_ref, "--device", "ref"])
        import h5py
        with h5py.File(big, "r") as f:
            n = int(f["inferences/model-a/score"].shape[0])
        ck.ok(n > 2 * (1 << 20), "big project has %d detections" % n)
        chunks = same_results(ck, big_ref, big_bud, "big")
        ck.ok(chunks >= 3 * 19 * 3, "raw chunks compared: %d" % chunks)
        for args in (["metrics", "--json", "--conf", "0.3", "--iou", "0.75"],
                     ["coco", "--json"]):
            a = run([args[0], big_ref] + args[1:]).out
            b = run([args[0], big_bud] + args[1:]).out
            ck.eq(b, a, "big %s output" % args[0])
        bound = 96 + 56 * n / 1e6 + 2 * budget
        if asan_build():
            # Shadow memory (1/8) and the 256 MB quarantine of freed blocks.
            bound = bound * 1.25 + 300
        print("big: %d detections, peak RSS %.0f MB with --memory-budget %d "
              "(bound %.0f MB), %.0f MB in memory" % (n, rss_bud, budget, bound,
                                                     rss_ref))
        ck.ok(rss_bud <= bound, "budgeted peak RSS %.0f MB over the bound %.0f MB"
              % (rss_bud, bound))
        ck.ok(rss_ref > bound, "in-memory peak RSS %.0f MB under the bound "
              "%.0f MB: the test no longer shows the budget's effect"
              % (rss_ref, bound))
        no_scratch(ck, d, "big")
    ck.done()


if __name__ == "__main__":
    main_wrapper(main)
