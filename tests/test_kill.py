"""No data loss: a writer killed with SIGKILL at random moments leaves the
project file as the old version or the new one, never a mix, and a reader
running while a writer updates the file always sees one consistent version.
The temporary files killed writers leave are removed by the next successful
save of the same file (which holds the file's lock, so no live writer has
one), and nothing else.

Each round evaluates the project at a different IoU grid (so the stored
version is recognisable by its thresholds) and kills the writer after a
random delay spread over its whole run: before, during and after the save.
"""
import fcntl
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


def tmp_name(target, rnd, check=None):
    """The temporary name detgrid gives a write of target
    (host/store/safefile.c): '<base>.detgrid-<12 hex random><4 hex check>.tmp',
    the check an FNV-1a hash of the base name, the random part and the uid."""
    base = os.path.basename(target)
    if check is None:
        h = 2166136261
        for b in (base + "|%016x|%d|detgrid" % (rnd, os.geteuid())).encode():
            h = ((h ^ b) * 16777619) & 0xffffffff
        check = h & 0xffff
    return os.path.join(os.path.dirname(target),
                        "%s.detgrid-%012x%04x.tmp" % (base, rnd, check))


def test_stale_temporaries(ck, d):
    """A save removes the temporary files of dead writers of its own
    target only (it holds the target's lock, so no live writer has one):
    not another target's, not a file that only looks alike (wrong check
    code, an old '<file>.tmp.<pid>' name), not a link or a directory, and
    nothing when it cannot take the lock."""
    p = os.path.join(d, "s.h5")
    run(["synth", "-o", p, "--frames", "40", "--classes", "3", "--seed", "4"])
    outside = os.path.join(d, "outside.txt")
    with open(outside, "w") as fh:
        fh.write("not detgrid's")
    names = {
        "dead": tmp_name(p, 0x123456789abc),
        "dead2": tmp_name(p, 0xfedcba987654),
        "other-target": tmp_name(os.path.join(d, "other.h5"), 0x123456789abc),
        "wrong-check": tmp_name(p, 0x123456789abc, check=0),
        "old-style": p + ".tmp.%d" % (2 ** 22 + 17),
        "upper-case": tmp_name(p, 0x123456789abc).replace("abc", "ABC"),
    }
    for f in names.values():
        with open(f, "wb") as fh:
            fh.write(b"partial")
    link = tmp_name(p, 0x0000000000aa)
    os.symlink(outside, link)
    folder = tmp_name(p, 0x0000000000bb)
    os.mkdir(folder)
    # Another writer holds the lock: the save waits, gives up, removes nothing.
    with open(p + ".lock", "w") as lk:
        lk.write("detgrid-lock\npid 1 on elsewhere: a test, since now\n")
        lk.flush()
        fcntl.lockf(lk, fcntl.LOCK_EX)
        r = run(["eval", p, "-q", "--device", "ref"], rc=2,
                env={"DETGRID_LOCK_TIMEOUT": "0.3"})
        ck.contains(r.err, "error: '%s' is locked by another writer (pid 1 on "
                    "elsewhere: a test, since now); gave up after 0.3 s" % p)
        for k, f in names.items():
            ck.ok(os.path.exists(f), "a save without the lock removed %s" % k)
        fcntl.lockf(lk, fcntl.LOCK_UN)
    run(["eval", p, "-q", "--device", "ref"])
    for k, f in names.items():
        ck.eq(os.path.exists(f), not k.startswith("dead"),
              "after a save, %s temporary %s exists" % (k, f))
    ck.ok(os.path.islink(link) and os.path.isdir(folder),
          "a link or a directory under a temporary name was removed")
    with open(outside) as fh:
        ck.eq(fh.read(), "not detgrid's", "the link's target")
    ck.ok(not os.path.exists(p + ".lock"), "the lock file is removed after a save")
    # a save that fails after taking the lock removed them too (the lock
    # proves them dead; on a full disk their room is needed), and its own
    with open(names["dead"], "wb") as fh:
        fh.write(b"partial")
    run(["eval", p, "-q", "--device", "ref"], rc=2,
        env={"DETGRID_FAULT": "rename"})
    ck.ok(not os.path.exists(names["dead"]), "a failed save kept a dead writer's temporary")
    ck.eq(sorted(glob.glob(p + ".detgrid-*.tmp")),
          sorted([link, folder, names["wrong-check"], names["upper-case"]]),
          "temporary names left after a failed save")
    for f in glob.glob(os.path.join(d, "*.tmp*")):
        if os.path.isdir(f) and not os.path.islink(f):
            os.rmdir(f)
        else:
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
        stale, since_save = 0, 0
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
            left = glob.glob(p + ".detgrid-*.tmp")
            stale += bool(left)
            since_save = 0 if w.returncode == 0 else min(since_save + 1, 1)
            ck.ok(len(left) <= since_save,
                  "round %d: temporaries %r: more than the killed writer's" % (i, left))
        print("killed %d writers: %d left the old version, %d the new one, "
              "%d rounds ended with a temporary file (the slowest eval takes %.2f s here)"
              % (ROUNDS, kinds["old"], kinds["new"], stale, span))
        ck.ok(kinds["old"] > 0 and kinds["new"] > 0,
              "kills should land both before and after the rename: %r" % kinds)
        run(["eval", p, "-q", "--iou-thresholds", GRIDS[0], "--device", "ref"])
        ck.eq(glob.glob(p + ".detgrid-*.tmp"), [], "a successful save removes stale temporaries")
        test_stale_temporaries(ck, d)
    ck.done()


if __name__ == "__main__":
    main_wrapper(main)
