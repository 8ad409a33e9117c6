"""The CLI end to end under valgrind's memcheck: every command on a small
synthetic project, on the reference path (DETGRID_DEVICE=ref, so no OpenCL
driver's own allocations are in play). Any invalid read or write, use of
uninitialised memory, bad free or definite leak fails the test
(--error-exitcode, --errors-for-leak-kinds=definite).

Exits 77 (skipped) when valgrind is not installed (tools/dev/setup.sh --test
installs it) or when the binary is built with AddressSanitizer, which
cannot run under valgrind (the sanitizer pass checks memory its own way).
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dgtest import BIN, Checker, TempDir, main_wrapper  # noqa: E402

VALGRIND_RC = 99
VALGRIND = ["valgrind", "--tool=memcheck", "--error-exitcode=%d" % VALGRIND_RC,
            "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite", "--track-origins=yes",
            "--num-callers=30", "-q"]


def asan_build(path):
    try:
        out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    except OSError:
        out = ""
    if "libasan" in out or "libclang_rt.asan" in out:
        return True
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


def main():
    if not shutil.which("valgrind"):
        print("skipped: valgrind is not installed (tools/dev/setup.sh --test)")
        sys.exit(77)
    if asan_build(BIN):
        print("skipped: %s is built with AddressSanitizer" % BIN)
        sys.exit(77)
    ck = Checker("test_valgrind")
    env = dict(os.environ, DETGRID_DEVICE="ref")
    env.pop("DETGRID_FAULT", None)
    t_all = time.monotonic()
    with TempDir() as d:
        gt = os.path.join(d, "gt.json")
        pre = os.path.join(d, "dt")
        syn = os.path.join(d, "synth.h5")
        p = os.path.join(d, "p.h5")
        pat = os.path.join(d, "patterns.h5")
        opts = ["--frames", "40", "--classes", "4", "--seed", "11",
                "--crowd-rate", "0.1"]
        steps = [
            ["synth", "-o", syn] + opts,
            ["synth", "--coco-gt", gt, "--coco-dt-prefix", pre] + opts,
            ["import", "coco", "--gt", gt, "--dt", pre + "-model-a.json",
             "--name", "a", "-o", p],
            ["eval", p, "-q"],
            ["info", p, "--json"],
            ["metrics", p, "--json"],
            ["metrics", p, "--conf", "0.3", "--iou", "0.75"],
            ["sweep", p, "--iou", "0.5", "--format", "csv"],
            ["sweep", p, "--best"],
            ["confusion", p, "--normalize", "gt", "--json"],
            ["examples", p, "--cell", "background,car",
             "--limit", "5", "--json"],
            ["coco", p, "--per-class", "--json"],
            ["coco", "--gt", gt, "--dt", pre + "-model-a.json"],
            ["voc", p, "--protocol", "voc07", "--json"],
            ["label-errors", p, "--limit", "5", "--json"],
            ["errors", p, "--json"],
            ["eval", syn, "-q"],
            ["metrics", syn],
            # the pattern finders: metadata slices, frame and crop clusters
            ["synth", "-o", pat, "--frames", "150", "--seed", "5",
             "--metadata", "--plant-slice", "--embeddings", "8",
             "--scenes", "4", "--plant-pattern", "look"],
            ["eval", pat, "-q"],
            ["slices", pat, "--json", "--min-support", "5", "--conditions",
             "3", "--alpha", "0.5"],
            ["slices", pat, "--save-segment", "s", "--min-support", "5",
             "--alpha", "0.5"],
            ["embeddings", pat, "--patterns", "--json", "--choose-k",
             "silhouette"],
            ["embeddings", pat, "--crops", "--patterns"],
            # errors are paths too: a refused file must free what it read
            ["slices", p],
            ["import", "coco", "--dt", pre + "-model-a.json", "--name", "a",
             "-o", p],
            ["metrics", os.path.join(d, "missing.h5")],
        ]
        want_rc = [0] * (len(steps) - 3) + [2, 2, 2]
        for args, rc in zip(steps, want_rc):
            t0 = time.monotonic()
            r = subprocess.run(VALGRIND + [BIN] + args, env=env,
                               capture_output=True, text=True, timeout=600)
            what = "detgrid " + " ".join(os.path.basename(a) for a in args)
            ck.ok(r.returncode != VALGRIND_RC,
                  "%s: valgrind found errors:\n%s" % (what, r.stderr[-6000:]))
            ck.ok(r.returncode == rc,
                  "%s: exit %d, expected %d\n%s" % (what, r.returncode, rc,
                                                    r.stderr[-3000:]))
            print("%-60s exit %d  %.1f s" % (what[:60], r.returncode,
                                             time.monotonic() - t0))
        ck.ok(os.path.getsize(p) > 0, "the project was written")
    print("valgrind: %d commands clean in %.0f s" % (len(steps),
                                                       time.monotonic() - t_all))
    ck.done()


if __name__ == "__main__":
    main_wrapper(main)
