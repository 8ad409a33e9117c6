"""No data loss: a writer killed with SIGKILL at random moments leaves the
project file as the old version or the new one, never a mix, and a reader
running while a writer updates the file always sees one consistent version.
The temporary files killed writers leave are removed by the next successful
save of the same file (only those of processes that no longer exist).

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


def dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    q = subprocess.Popen(["true"])
    q.wait()
    return q.pid


def test_stale_temporaries(ck, d):
    """A save removes '<file>.tmp.<pid>' of dead pids for its own target
    only: not a live writer's, not another file's, not other names."""
    p = os.path.join(d, "s.h5")
    run(["synth", "-o", p, "--frames", "40", "--classes", "3", "--seed", "4"])
    live = subprocess.Popen(["sleep", "60"])
    try:
        dead = dead_pid()
        names = {
            "dead": p + ".tmp.%d" % dead,
            "dead2": p + ".tmp.%d" % dead_pid(),
            "live": p + ".tmp.%d" % live.pid,
            "other-target": os.path.join(d, "other.h5.tmp.%d" % dead),
            "prefix-target": os.path.join(d, "s.h5x.tmp.%d" % dead),
            "not-a-pid": p + ".tmp.12ab",
            "pid-0": p + ".tmp.0",
        }
        for f in names.values():
            with open(f, "wb") as fh:
                fh.write(b"partial")
        run(["eval", p, "-q", "--device", "ref"])
        for k, f in names.items():
            ck.eq(os.path.exists(f), not k.startswith("dead"),
                  "after a save, %s temporary %s exists" % (k, f))
        # a failed save removes nothing but its own temporary file
        with open(names["dead"], "wb") as fh:
            fh.write(b"partial")
        run(["eval", p, "-q", "--device", "ref"], rc=2,
            env={"DETGRID_FAULT": "rename"})
        ck.ok(os.path.exists(names["dead"]), "a failed save removed a stale temporary")
    finally:
        live.kill()
        live.wait()
    for f in glob.glob(os.path.join(d, "*.tmp.*")):
        os.unlink(f)


def main():
    ck = Checker("test_kill")
    rng = random.Random(7)
    with TempDir() as d:
        p = os.path.join(d, "p.h5")
        run(["synth", "-o", p, "--frames", "3000", "--classes", "20", "--seed", "3"])
        run(["eval", p, "-q", "--iou-thresholds", GRIDS[0]])
        current = grid_values(GRIDS[0])
        ck.eq(thresholds(p), current, "initial grid")
        # How long one eval of each grid takes here (sanitizer builds are
        # several times slower), to spread the kills over its whole run.
        spans = {}
        for spec in GRIDS[1:] + GRIDS[:1]:
            t0 = time.monotonic()
            run(["eval", p, "-q", "--iou-thresholds", spec, "--device", "ref"])
            spans[spec] = time.monotonic() - t0
        span = max(spans.values())
        kinds = {"old": 0, "new": 0}
        stale, killed = 0, set()
        for i in range(ROUNDS):
            spec = GRIDS[1 + i % (len(GRIDS) - 1)]
            new = grid_values(spec)
            w = subprocess.Popen([BIN, "eval", p, "-q", "--iou-thresholds", spec,
                                  "--device", "ref"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # A reader during the write: every read succeeds and sees one
            # of the two versions.
            # Readers running beside it slow the writer down (two cores;
            # more under sanitizers): spread the kills well past its time
            # alone so that some land after the rename.
            deadline = time.monotonic() + rng.uniform(0, spans[spec] * 4)
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
            # A killed writer may leave its temporary file (never the
            # target); the next successful save of p removes it.
            left = glob.glob(p + ".tmp.*")
            stale += bool(left)
            killed.add(w.pid)
            ck.ok(all(int(t.rsplit(".", 1)[1]) in killed for t in left),
                  "round %d: temporaries %r are not killed writers'" % (i, left))
        print("killed %d writers: %d left the old version, %d the new one, "
              "%d rounds ended with a temporary file (the slowest eval takes %.2f s here)"
              % (ROUNDS, kinds["old"], kinds["new"], stale, span))
        ck.ok(kinds["old"] > 0 and kinds["new"] > 0,
              "kills should land both before and after the rename: %r" % kinds)
        run(["eval", p, "-q", "--iou-thresholds", GRIDS[0], "--device", "ref"])
        ck.eq(glob.glob(p + ".tmp.*"), [], "a successful save removes stale temporaries")
        test_stale_temporaries(ck, d)
    ck.done()


if __name__ == "__main__":
    main_wrapper(main)
