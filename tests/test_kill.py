"""No data loss: a writer killed with SIGKILL at random moments leaves the
project file as the old version or the new one, never a mix, and a reader
running while a writer updates the file always sees one consistent version.

Each round evaluates the project at a different IoU grid (so the stored
version is recognisable by its thresholds) and kills the writer after a
random delay spread over its whole run: before, during and after the save.
"""
import glob
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dgtest import BIN, Checker, TempDir, main_wrapper, run  # noqa: E402

ROUNDS = 40
GRIDS = ["0.5,0.75", "0.3,0.5,0.7", "0.05:0.95:0.05", "0.5", "0.1:0.9:0.1"]


def thresholds(path):
    """The stored IoU grid of model-a, read through detgrid itself."""
    j = run(["info", path, "--json"]).json()
    ts = j["inferences"][0]["iou_thresholds"]
    return None if ts is None else tuple(round(t, 9) for t in ts)


def grid_values(spec):
    if ":" in spec:
        a, b, s = (float(x) for x in spec.split(":"))
        n = int(round((b - a) / s)) + 1
        return tuple(round(a + i * s, 9) for i in range(n))
    return tuple(round(float(x), 9) for x in spec.split(","))


def main():
    ck = Checker("test_kill")
    rng = random.Random(7)
    with TempDir() as d:
        p = os.path.join(d, "p.h5")
        run(["synth", "-o", p, "--frames", "3000", "--classes", "20", "--seed", "3"])
        run(["eval", p, "-q", "--iou-thresholds", GRIDS[0]])
        current = grid_values(GRIDS[0])
        ck.eq(thresholds(p), current, "initial grid")
        # How long one eval takes here, to spread the kills over it.
        t0 = time.monotonic()
        run(["eval", p, "-q", "--iou-thresholds", GRIDS[0]])
        span = time.monotonic() - t0
        kinds = {"old": 0, "new": 0}
        for i in range(ROUNDS):
            spec = GRIDS[1 + i % (len(GRIDS) - 1)]
            new = grid_values(spec)
            w = subprocess.Popen([BIN, "eval", p, "-q", "--iou-thresholds", spec,
                                  "--device", "ref"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # A reader during the write: every read succeeds and sees one
            # of the two versions.
            deadline = time.monotonic() + rng.uniform(0, span * 1.2)
            while time.monotonic() < deadline and w.poll() is None:
                r = run(["metrics", p, "--json", "--iou", "0.5"], rc=None)
                ck.eq(r.rc, 0, "round %d: read during the write (%s)" % (i, r.err.strip()))
            if w.poll() is None:
                w.send_signal(signal.SIGKILL)
            w.wait()
            got = thresholds(p)
            ck.ok(got in (current, new),
                  "round %d: stored grid %r is neither the old %r nor the new %r"
                  % (i, got, current, new))
            # The file is whole: a query at every stored threshold answers.
            for t in got:
                m = run(["metrics", p, "--json", "--iou", repr(t)]).json()
                ck.eq(len(m["classes"]), 20, "round %d: classes at IoU %g" % (i, t))
            kinds["new" if got == new else "old"] += 1
            current = got
            # A killed writer may leave its temporary file; never the target.
            for tmp in glob.glob(p + ".tmp.*"):
                os.unlink(tmp)
        print("killed %d writers: %d left the old version, %d the new one "
              "(one eval takes %.2f s here)" % (ROUNDS, kinds["old"], kinds["new"], span))
        ck.ok(kinds["old"] > 0 and kinds["new"] > 0,
              "kills should land both before and after the rename: %r" % kinds)
    ck.done()


if __name__ == "__main__":
    main_wrapper(main)
