"""Saves that never lose data (docs/ROBUSTNESS.md, "No data loss").

One case per finding of the save audit, each asserting what a user sees:
every update that exits 0 is in the file; a full disk (a real small tmpfs
when the test runs as root, and DETGRID_FAULT) or an I/O error fails with
exit 2, the real path and the reason, and leaves the target as it was and
no temporary file; saves write through symbolic and hard links and keep
mode and owner; no output replaces an input; stdout is checked; names are
UTF-8 without control characters; repeated JSON keys count as Python's json
counts them (pycocotools itself is the oracle); what a user added to the
file with h5py survives a save.

    tests/test_saves.py            every case; exit 0 when all pass
    tests/test_saves.py --each     every case, one line each (pass/FAIL):
                                   how each was shown to fail on the code
                                   before these fixes (DETGRID_BIN=<old>)
    tests/test_saves.py <case>...  only the cases named
"""
import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

from dgtest import BIN, Checker, TempDir, main_wrapper, run  # noqa: E402
from test_kill import tmp_name  # noqa: E402

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def synth(path, *extra, frames=300, classes=4, seed=1):
    run(["synth", "-o", path, "--frames", str(frames), "--classes",
         str(classes), "--seed", str(seed)] + list(extra))


def file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def listing(d):
    return sorted(os.listdir(d))


def segments(path):
    j = run(["segment", "list", path, "--json"]).json()
    return sorted(s["name"] for s in j["segments"] if s["name"] != "all")


def errors(r):
    return [ln[len("error: "):] for ln in r.err.splitlines()
            if ln.startswith("error: ")]


def frame_file(d, name, *ids):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write("".join("frame-%06d\n" % i for i in ids))
    return p


# --------------------------------------------------------------------------
# Concurrent writers


@case
def many_writers(ck, d):
    """8 processes x 3 rounds of 'segment create' on one project, with
    readers running: every writer exits 0 and every segment is there."""
    p = os.path.join(d, "p.h5")
    synth(p)
    files = [frame_file(d, "f%d.txt" % i, i + 1) for i in range(8)]
    stop = threading.Event()
    bad_reads = []

    def reader():
        while not stop.is_set():
            r = run(["info", p, "--json"], rc=None)
            if r.rc != 0:
                bad_reads.append(r.err)

    th = threading.Thread(target=reader)
    th.start()
    want = []
    try:
        for rnd in range(3):
            procs = []
            for i in range(8):
                name = "r%d-s%d" % (rnd, i)
                want.append(name)
                procs.append(subprocess.Popen(
                    [BIN, "segment", "create", p, name, "--frames", files[i]],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            for q in procs:
                out, err = q.communicate(timeout=300)
                ck.eq(q.returncode, 0, "a concurrent writer's exit (%s)" % err)
    finally:
        stop.set()
        th.join()
    ck.eq(segments(p), sorted(want), "segments after 24 concurrent creates")
    ck.eq(bad_reads, [], "reads during the writes")
    ck.eq([f for f in listing(d) if ".detgrid-" in f or f.endswith(".lock")],
          [], "temporary and lock files left")


@case
def writer_during_eval(ck, d):
    """A 'segment create' while 'eval' runs waits for eval's save (saying
    so), and both updates are in the file."""
    p = os.path.join(d, "big.h5")
    synth(p, frames=40000, classes=20)
    f = frame_file(d, "one.txt", 7)
    # DETGRID_FAULT=slowsave holds eval's lock 2 s longer before its save,
    # so that the writer surely comes while eval runs, on any machine.
    ev = subprocess.Popen([BIN, "eval", p, "-q", "--device", "ref"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=dict(os.environ,
                                              DETGRID_FAULT="slowsave2000"))
    time.sleep(0.3)
    ck.ok(ev.poll() is None, "eval ended before the writer started: make the "
          "project bigger")
    seg = run(["segment", "create", p, "during-eval", "--frames", f])
    out, err = ev.communicate(timeout=600)
    ck.eq(ev.returncode, 0, "eval's exit (%s)" % err)
    ck.eq(segments(p), ["during-eval"], "the segment made during eval")
    info = run(["info", p, "--json"]).json()
    ck.ok(info["inferences"][0]["iou_thresholds"] is not None,
          "eval's results are in the file too")
    ck.contains(seg.err, "is locked by another writer", "waiting for it",
                what="the waiting writer says why")


@case
def new_writers_wait(ck, d):
    """The writers of slices and embeddings (--save-segment) lock before
    they read: started while another writer holds the lock (its save held
    back 2 s), each waits, and every update is in the file."""
    p = os.path.join(d, "p.h5")
    synth(p, "--embeddings", "8", "--inferences", "1", "--metadata",
          "--plant-slice")
    run(["eval", p, "-q", "--device", "ref"])
    holder = subprocess.Popen(
        [BIN, "segment", "create", p, "first", "--frames",
         frame_file(d, "one.txt", 7)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, DETGRID_FAULT="slowsave2000"))
    time.sleep(0.3)
    ck.ok(holder.poll() is None, "the holder ended before the others came")
    cmds = [["slices", p, "--min-support", "5", "--save-segment", "sl%d" % k]
            for k in range(3)]
    cmds.append(["embeddings", p, "--clusters", "3", "--save-segment", "cl"])
    procs = [subprocess.Popen([BIN] + c, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for c in cmds]
    out, err = holder.communicate(timeout=300)
    ck.eq(holder.returncode, 0, "the holder's exit (%s)" % err)
    waited = 0
    for c, q in zip(cmds, procs):
        out, err = q.communicate(timeout=300)
        ck.eq(q.returncode, 0, "%s: exit (%s)" % (" ".join(c[:1] + c[2:]),
                                                   err))
        waited += "is locked by another writer" in err
    ck.ok(waited >= 1, "no writer said it waited for the lock")
    ck.eq(segments(p), ["cl", "first", "sl0", "sl1", "sl2"],
          "segments after the concurrent writers")
    ck.eq([f for f in listing(d) if ".detgrid-" in f or f.endswith(".lock")],
          [], "temporary and lock files left")


@case
def lock_timeout(ck, d):
    """A writer that cannot get the lock in time fails clearly, naming the
    holder, and changes nothing."""
    import fcntl
    p = os.path.join(d, "p.h5")
    synth(p)
    before = file_bytes(p)
    with open(p + ".lock", "w") as lk:
        lk.write("detgrid-lock\npid 4242 on build-7: detgrid eval p.h5, "
                 "since 2026-01-01 10:00:00\n")
        lk.flush()
        fcntl.lockf(lk, fcntl.LOCK_EX)
        t0 = time.monotonic()
        r = run(["segment", "create", p, "s", "--frames",
                 frame_file(d, "f.txt", 1)], rc=2,
                env={"DETGRID_LOCK_TIMEOUT": "0.5"})
        waited = time.monotonic() - t0
    ck.eq(errors(r), ["'%s' is locked by another writer (pid 4242 on build-7: "
                      "detgrid eval p.h5, since 2026-01-01 10:00:00); gave up "
                      "after 0.5 s (wait longer with "
                      "DETGRID_LOCK_TIMEOUT=<seconds>)" % p], "message")
    ck.ok(waited >= 0.5, "gave up after %.2f s, before the timeout" % waited)
    ck.ok(file_bytes(p) == before, "the project changed")


@case
def lock_of_another_user(ck, d):
    """Two users sharing a project: the lock file gets the project's
    permissions, and a lock file another user's writer left when it died
    does not block the next writer; a live one makes it wait (as root, with
    setpriv; else skipped)."""
    import fcntl
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        print("SKIP lock_of_another_user: needs root and setpriv")
        return
    shared = os.path.join(d, "shared")
    os.mkdir(shared)
    os.chmod(d, 0o755)
    os.chmod(shared, 0o777)
    p = os.path.join(shared, "p.h5")
    synth(p)
    os.chmod(p, 0o666)
    f = frame_file(shared, "f", 1)
    os.chmod(f, 0o644)
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534",
                 "--clear-groups", BIN]
    # A lock file root's writer left behind (0644: readable, not writable).
    lk = p + ".lock"
    with open(lk, "w") as fh:
        fh.write("detgrid-lock\npid 1 on gone: detgrid eval, since then\n")
    os.chmod(lk, 0o644)
    q = subprocess.run(as_nobody + ["segment", "create", p, "by-nobody",
                                    "--frames", f], capture_output=True,
                       text=True, env=dict(os.environ,
                                           DETGRID_LOCK_TIMEOUT="1"))
    ck.eq(q.returncode, 0, "a writer after a dead writer's lock file of "
          "another user (%s)" % q.stderr)
    ck.eq(segments(p), ["by-nobody"], "segments")
    # Held by a live root process: nobody waits and gives up, naming it.
    with open(lk, "w") as fh:
        fh.write("detgrid-lock\npid 7 on here: a test, since now\n")
        fh.flush()
        os.chmod(lk, 0o644)
        fcntl.lockf(fh, fcntl.LOCK_EX)
        q = subprocess.run(as_nobody + ["segment", "create", p, "second",
                                        "--frames", f], capture_output=True,
                           text=True, env=dict(os.environ,
                                               DETGRID_LOCK_TIMEOUT="0.3"))
    ck.eq(q.returncode, 2, "a writer while another user's writer holds it")
    ck.contains(q.stderr, "is locked by another writer (pid 7 on here: a "
                "test, since now)", what="message")
    os.unlink(lk)
    # A lock file made for a 0664 project is 0664, whatever the umask
    # (a project big enough for its eval to be seen running).
    p = os.path.join(shared, "big.h5")
    lk = p + ".lock"
    synth(p, frames=5000)
    os.chmod(p, 0o664)
    seen = []

    def watch():
        # Once the holder has written who it is: the mode is set before.
        for _ in range(4000):
            try:
                s = os.stat(lk)
            except FileNotFoundError:
                s = None
            if s and s.st_size > 0:
                seen.append(stat.S_IMODE(s.st_mode))
                return
            time.sleep(0.001)

    th = threading.Thread(target=watch)
    th.start()
    run(["eval", p, "-q", "--device", "ref"])
    th.join()
    ck.eq(seen[:1], [0o664], "mode of the lock file of a 0664 project")


# --------------------------------------------------------------------------
# Every command that writes, for the full-disk and I/O-error cases


def masks_coco(d):
    """A small COCO pair with polygon masks (4 images of 64 x 64, 2
    classes): the paths of the instances and of the results."""
    imgs = [{"id": k + 1, "width": 64, "height": 64,
             "file_name": "m%d.png" % k} for k in range(4)]
    cats = [{"id": 1, "name": "round"}, {"id": 2, "name": "square"}]
    anns, dets = [], []
    for k in range(4):
        for c in (1, 2):
            x, y, s = 4 + 10 * k + 3 * c, 6 + 8 * c, 2 * (k % 2)
            anns.append({"id": len(anns) + 1, "image_id": k + 1,
                         "category_id": c, "iscrowd": 0, "area": 320.0,
                         "bbox": [x, y, 20, 16], "segmentation": [
                             [x, y, x + 20, y, x + 20, y + 16, x, y + 16]]})
            dets.append({"image_id": k + 1, "category_id": c,
                         "score": 0.9 - 0.1 * k, "bbox": [x + s, y, 20, 16],
                         "segmentation": [[x + s, y, x + 20 + s, y,
                                           x + 20 + s, y + 16, x + s,
                                           y + 16]]})
    gt, dt = os.path.join(d, "mgt.json"), os.path.join(d, "mdt.json")
    with open(gt, "w") as f:
        json.dump({"images": imgs, "categories": cats, "annotations": anns},
                  f)
    with open(dt, "w") as f:
        json.dump(dets, f)
    return gt, dt


def make_inputs(n):
    """Inputs outside the disk under test: a project with results,
    segments, frame metadata (a planted slice) and embeddings, COCO JSON
    (boxes, and masks with a project of them), a cartucho folder, a
    .npy."""
    src = os.path.join(n, "src.h5")
    synth(src, "--embeddings", "8", "--inferences", "1", "--metadata",
          "--plant-slice")
    run(["eval", src, "-q", "--device", "ref"])
    run(["segment", "create", src, "reg", "--kind", "regression", "--frames",
         frame_file(n, "reg.txt", 1, 2, 3)])
    gt = os.path.join(n, "gt.json")
    run(["synth", "--coco-gt", gt, "--coco-dt-prefix", os.path.join(n, "dt"),
         "--frames", "50", "--classes", "3"])
    g = os.path.join(n, "cart-gt")
    os.mkdir(g)
    for i in range(3):
        with open(os.path.join(g, "img%d.txt" % i), "w") as f:
            f.write("cat 10 10 50 60\ndog 5 5 20 20\n")
    npy = os.path.join(n, "frames.npy")
    np.save(npy, np.ones((300, 4), np.float32))
    mgt, mdt = masks_coco(n)
    msrc = os.path.join(n, "masks.h5")
    run(["import", "coco", "--gt", mgt, "--dt", mdt, "-o", msrc])
    run(["eval", msrc, "-q", "--device", "ref"])
    return {"src": src, "gt": gt, "dt": os.path.join(n, "dt-model-a.json"),
            "cart": g, "npy": npy, "frames": frame_file(n, "sel.txt", 4, 5),
            "mgt": mgt, "mdt": mdt, "msrc": msrc}


def writers(t, i):
    """(what, args, target) of every command that writes, its output in
    directory t: the project updates act on t/p.h5 (a copy of i['src'])."""
    p = os.path.join(t, "p.h5")
    return [
        ("synth -o", ["synth", "-o", os.path.join(t, "new.h5"), "--frames",
                      "300"], os.path.join(t, "new.h5")),
        ("synth --metadata", ["synth", "-o", os.path.join(t, "new.h5"),
                              "--frames", "300", "--metadata"],
         os.path.join(t, "new.h5")),
        ("synth --stream", ["synth", "--stream", "-o",
                            os.path.join(t, "new.h5"), "--frames", "300"],
         os.path.join(t, "new.h5")),
        ("synth --coco-gt", ["synth", "--coco-gt", os.path.join(t, "g.json"),
                             "--frames", "300"], os.path.join(t, "g.json")),
        ("synth --planted", ["synth", "--planted", os.path.join(t, "pl.json"),
                             "--plant-missing", "0.2", "--frames", "300"],
         os.path.join(t, "pl.json")),
        ("import coco --gt", ["import", "coco", "--gt", i["gt"], "--dt",
                              i["dt"], "-o", os.path.join(t, "new.h5")],
         os.path.join(t, "new.h5")),
        ("import coco --dt", ["import", "coco", "--dt", i["dt"], "--name",
                              "extra", "-o", p], p),
        ("import cartucho", ["import", "cartucho", "--gt-dir", i["cart"], "-o",
                             os.path.join(t, "new.h5")],
         os.path.join(t, "new.h5")),
        ("import embeddings", ["import", "embeddings", p, "--model", "more",
                               "--frames", i["npy"]], p),
        ("eval", ["eval", p, "-q", "--device", "ref", "--iou-thresholds",
                  "0.5,0.6"], p),
        ("eval -o", ["eval", i["src"], "-q", "--device", "ref", "-o",
                     os.path.join(t, "new.h5")], os.path.join(t, "new.h5")),
        ("segment create", ["segment", "create", p, "sel", "--frames",
                            i["frames"]], p),
        ("segment delete", ["segment", "delete", p, "reg"], p),
        ("segment set", ["segment", "set", p, "reg", "--min-recall", "0.5"],
         p),
        ("embeddings --save-segment", ["embeddings", p, "--clusters", "3",
                                       "--save-segment", "cl"], p),
        ("slices --save-segment", ["slices", p, "--min-support", "5",
                                   "--save-segment", "sl"], p),
        ("import coco masks", ["import", "coco", "--gt", i["mgt"], "--dt",
                               i["mdt"], "-o", os.path.join(t, "new.h5")],
         os.path.join(t, "new.h5")),
        ("demo -o", ["demo", "-o", os.path.join(t, "demo.h5"), "--device",
                     "ref"], os.path.join(t, "demo.h5")),
        ("sweep -o", ["sweep", i["src"], "-o", os.path.join(t, "s.csv")],
         os.path.join(t, "s.csv")),
        ("report -o", ["report", i["src"], "-o", os.path.join(t, "r.html")],
         os.path.join(t, "r.html")),
        ("check --junit", ["check", i["src"], "--junit",
                           os.path.join(t, "j.xml")], os.path.join(t, "j.xml")),
        ("coco --curves", ["coco", i["src"], "--curves",
                           os.path.join(t, "c.json")], os.path.join(t, "c.json")),
        ("coco --iou-type segm --curves",
         ["coco", i["msrc"], "--iou-type", "segm", "--curves",
          os.path.join(t, "c.json")], os.path.join(t, "c.json")),
        ("coco --gt --iou-type segm --curves",
         ["coco", "--gt", i["mgt"], "--dt", i["mdt"], "--iou-type", "segm",
          "--curves", os.path.join(t, "c.json")], os.path.join(t, "c.json")),
        ("embeddings --plot", ["embeddings", i["src"], "--plot",
                               os.path.join(t, "e.svg")],
         os.path.join(t, "e.svg")),
        ("embeddings --plot png", ["embeddings", i["src"], "--plot",
                                   os.path.join(t, "e.png")],
         os.path.join(t, "e.png")),
        ("sweep --plot", ["sweep", i["src"], "--plot",
                          os.path.join(t, "pr.png")],
         os.path.join(t, "pr.png")),
        ("confusion --plot", ["confusion", i["src"], "--plot",
                              os.path.join(t, "cm.pdf")],
         os.path.join(t, "cm.pdf")),
    ]


def expect_write_failure(ck, what, r, target, before, t, reason):
    """exit 2, one message naming the target and the reason, the directory
    as it was (target unchanged, nothing left behind), no crash."""
    ck.ok(r.rc != -11 and r.rc != 139, "%s: crashed (%d): %s" % (what, r.rc,
                                                                  r.err))
    ck.eq(r.rc, 2, "%s: exit (%s)" % (what, r.err.strip()))
    msg = errors(r)
    ck.eq(len(msg), 1, "%s: one error line in %r" % (what, r.err))
    existed = os.path.basename(target) in before
    tail = "it is unchanged" if existed else "nothing was written"
    want = ["cannot write '%s': %s; %s" % (target, reason, tail)]
    if what == "synth --stream":
        # Its columns wait in scratch files beside the target, which a
        # real full disk refuses first.
        want.append("cannot write '%s': %s (its scratch files in '%s'); %s"
                    % (target, reason, t, tail))
    ck.ok(msg[0] in want, "%s: message %r, expected one of %r" % (
        what, msg[0], want))
    after = {f: file_bytes(os.path.join(t, f)) for f in listing(t)}
    ck.eq(sorted(after), sorted(before), what + ": files in the directory")
    for f, b in before.items():
        ck.ok(after.get(f) == b, "%s: '%s' changed" % (what, f))


def run_writers(ck, t, i, reason, env=None, prepare=None):
    for what, args, target in writers(t, i):
        for f in listing(t):
            os.unlink(os.path.join(t, f))
        shutil.copyfile(i["src"], os.path.join(t, "p.h5"))
        if prepare:
            prepare(t)
        before = {f: file_bytes(os.path.join(t, f)) for f in listing(t)}
        r = run(args, rc=None, env=env)
        expect_write_failure(ck, what, r, target, before, t, reason)


class Tmpfs:
    """A real tmpfs of size bytes at path, when this runs as root and may
    mount; else None (the caller prints a skip)."""

    def __init__(self, path, size):
        self.path, self.size, self.ok = path, size, False

    def __enter__(self):
        os.makedirs(self.path, exist_ok=True)
        if os.geteuid() != 0:
            return None
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % self.size,
                            "tmpfs", self.path], capture_output=True, text=True)
        self.ok = r.returncode == 0
        if not self.ok:
            print("tmpfs: cannot mount (%s)" % r.stderr.strip())
        return self.path if self.ok else None

    def __exit__(self, *a):
        if self.ok:
            subprocess.run(["umount", self.path])


def fill(t):
    """Fills the file system of t with one file, to the last byte."""
    fd = os.open(os.path.join(t, "~fill"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (1 << 20, 4096, 1):
            chunk = b"\0" * size
            while True:
                try:
                    if os.write(fd, chunk) < size:
                        break
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)


@case
def full_disk_real(ck, d):
    """Every command that writes, on a real full tmpfs: exit 2 with the
    target's path and 'No space left on device', the target unchanged, no
    temporary file, no SIGSEGV in libhdf5."""
    n = os.path.join(d, "inputs")
    os.mkdir(n)
    i = make_inputs(n)
    with Tmpfs(os.path.join(d, "tmpfs"), 16 << 20) as t:
        if t is None:
            print("SKIP full_disk_real: needs root and mount (tmpfs); the "
                  "DETGRID_FAULT cases run instead")
            return
        run_writers(ck, t, i, "No space left on device", prepare=fill)


@case
def full_disk_fault(ck, d):
    """The same, with DETGRID_FAULT: the disk fills at once, or after 8 KiB
    (in the middle of an HDF5 file), or writes fail with EIO after 2 KiB."""
    n = os.path.join(d, "inputs")
    os.mkdir(n)
    i = make_inputs(n)
    t = os.path.join(d, "out")
    os.mkdir(t)
    run_writers(ck, t, i, "No space left on device (simulated: "
                "DETGRID_FAULT=enospc)", env={"DETGRID_FAULT": "enospc"})
    for what, args, target in writers(t, i):
        if not target.endswith(".h5"):
            continue
        for f in listing(t):
            os.unlink(os.path.join(t, f))
        shutil.copyfile(i["src"], os.path.join(t, "p.h5"))
        before = {f: file_bytes(os.path.join(t, f)) for f in listing(t)}
        for fault, reason in (
                ("enospc8192", "No space left on device (simulated: "
                 "DETGRID_FAULT=enospc)"),
                ("eio2048", "Input/output error (simulated: "
                 "DETGRID_FAULT=eio)")):
            r = run(args, rc=None, env={"DETGRID_FAULT": fault})
            expect_write_failure(ck, "%s (%s)" % (what, fault), r, target,
                                 before, t, reason)


@case
def full_disk_mid_chunks(ck, d):
    """A disk that fills while eval's results are written (the parallel
    chunk writer: the copied boxes fit, about half the result tables do
    not): exit 2, the project unchanged, no temporary file; so too when
    DETGRID_FAULT fails the writes at that byte."""
    n = os.path.join(d, "inputs")
    os.mkdir(n)
    src, done = os.path.join(n, "big.h5"), os.path.join(n, "done.h5")
    synth(src, frames=20000, classes=10)
    shutil.copyfile(src, done)
    run(["eval", done, "-q", "--device", "ref"])
    s0, s1 = os.path.getsize(src), os.path.getsize(done)
    ck.ok(s1 > s0 + (4 << 20), "results of %d bytes: too small to fill the "
          "disk in their middle" % (s1 - s0))
    mid = s0 + (s1 - s0) // 2  # bytes of the new file when the disk fills
    args = lambda t: ["eval", os.path.join(t, "p.h5"), "-q", "--device",
                      "ref"]
    with Tmpfs(os.path.join(d, "tmpfs"), s0 + mid) as t:
        if t is None:
            print("SKIP full_disk_mid_chunks (tmpfs): needs root and mount")
        else:
            shutil.copyfile(src, os.path.join(t, "p.h5"))
            before = {f: file_bytes(os.path.join(t, f)) for f in listing(t)}
            r = run(args(t), rc=None)
            expect_write_failure(ck, "eval (tmpfs full mid-results)", r,
                                 os.path.join(t, "p.h5"), before, t,
                                 "No space left on device")
    t = os.path.join(d, "out")
    os.mkdir(t)
    shutil.copyfile(src, os.path.join(t, "p.h5"))
    before = {f: file_bytes(os.path.join(t, f)) for f in listing(t)}
    for fault, reason in (("enospc%d" % mid, "No space left on device "
                           "(simulated: DETGRID_FAULT=enospc)"),
                          ("eio%d" % mid, "Input/output error (simulated: "
                           "DETGRID_FAULT=eio)")):
        r = run(args(t), rc=None, env={"DETGRID_FAULT": fault})
        expect_write_failure(ck, "eval (%s)" % fault, r,
                             os.path.join(t, "p.h5"), before, t, reason)


@case
def fsync_and_rename_errors(ck, d):
    """A failed fsync or rename: exit 2, the target unchanged, nothing
    left; a failed directory fsync is reported, the new file in place."""
    p = os.path.join(d, "p.h5")
    synth(p)
    before = file_bytes(p)
    for fault, msg in (
            ("fsync", "cannot write '%s': Input/output error (simulated: "
             "DETGRID_FAULT=fsync); it is unchanged" % p),
            ("rename", "cannot replace '%s': rename: Input/output error "
             "(simulated: DETGRID_FAULT=rename); it is unchanged" % p)):
        r = run(["eval", p, "-q", "--device", "ref"], rc=2,
                env={"DETGRID_FAULT": fault})
        ck.eq(errors(r), [msg], fault)
        ck.ok(file_bytes(p) == before, fault + ": the project changed")
        ck.eq(listing(d), ["p.h5"], fault + ": files left")
    r = run(["eval", p, "-q", "--device", "ref"], rc=2,
            env={"DETGRID_FAULT": "dirsync"})
    ck.eq(errors(r), ["wrote '%s', but cannot sync its directory: "
                      "Input/output error (simulated: DETGRID_FAULT=dirsync) "
                      "(the change may not survive a crash)" % p], "dirsync")
    ck.ok(run(["info", p, "--json"]).json()["inferences"][0]["iou_thresholds"],
          "after a failed directory fsync the new file is in place")


# --------------------------------------------------------------------------
# Temporary files, links, modes


@case
def planted_symlink(ck, d):
    """A symbolic link planted under a temporary name is never written
    through: the old predictable name is not used any more, and a name that
    exists, whatever it is, is never opened (O_EXCL, O_NOFOLLOW)."""
    p = os.path.join(d, "p.h5")
    synth(p)
    victim = os.path.join(d, "victim.txt")
    with open(victim, "w") as f:
        f.write("precious")
    # The names the old code would use for the next pids.
    for k in range(64):
        os.symlink(victim, "%s.tmp.%d" % (p, os.getpid() + k))
    r = run(["eval", p, "-q", "--device", "ref"], rc=None)
    ck.eq(r.rc, 0, "a save beside old-style links (%s)" % r.err)
    ck.eq(open(victim).read(), "precious", "the victim of an old-style link")
    ck.ok(os.path.isfile(p) and not os.path.islink(p), "p.h5 is still a file")
    # With the random part fixed (a test hook), the one name the writer
    # may use is taken by a link: it fails rather than follow it.
    link = tmp_name(p, 0x2a)
    os.symlink(victim, link)
    before = file_bytes(p)
    r = run(["eval", p, "-q", "--device", "ref"], rc=2,
            env={"DETGRID_FAULT": "tmpname"})
    ck.eq(errors(r), ["cannot write '%s': cannot create a temporary file in "
                      "its directory: File exists" % p], "a taken name")
    ck.eq(open(victim).read(), "precious", "the victim of a new-style link")
    ck.ok(os.path.islink(link), "the planted link was removed")
    ck.ok(file_bytes(p) == before, "the project changed")
    os.unlink(link)
    run(["eval", p, "-q", "--device", "ref"], env={"DETGRID_FAULT": "tmpname"})
    ck.eq([f for f in listing(d) if ".detgrid-" in f], [],
          "temporary names left after a save with the fixed name")


@case
def symlink_target(ck, d):
    """Saving through a symbolic link writes its target and keeps the link;
    a dangling link creates its target."""
    real_dir = os.path.join(d, "real")
    os.mkdir(real_dir)
    real = os.path.join(real_dir, "p.h5")
    synth(real)
    link = os.path.join(d, "link.h5")
    os.symlink(os.path.relpath(real, d), link)
    run(["segment", "create", link, "s", "--frames", frame_file(d, "f", 1)])
    ck.ok(os.path.islink(link), "the link was replaced by a file")
    ck.eq(segments(real), ["s"], "the segment in the link's target")
    dangling = os.path.join(d, "dangling.h5")
    os.symlink(os.path.join(real_dir, "made.h5"), dangling)
    synth(dangling)
    ck.ok(os.path.islink(dangling) and
          os.path.isfile(os.path.join(real_dir, "made.h5")),
          "a dangling link's target is created, the link kept")
    ck.eq(sorted(f for f in listing(real_dir)), ["made.h5", "p.h5"],
          "files beside the target")


@case
def hardlink_target(ck, d):
    """Saving a file with several hard links rewrites it in place: every
    name sees the update, one inode; readers of the other name too."""
    a = os.path.join(d, "a.h5")
    b = os.path.join(d, "b.h5")
    synth(a)
    os.link(a, b)
    ino = os.stat(a).st_ino
    run(["segment", "create", a, "s", "--frames", frame_file(d, "f", 1)])
    ck.eq(os.stat(a).st_ino, ino, "a.h5's inode")
    ck.eq(os.stat(b).st_ino, ino, "b.h5's inode")
    ck.eq(os.stat(a).st_nlink, 2, "links")
    ck.eq(segments(b), ["s"], "the update seen through the other link")
    ck.eq(sorted(listing(d)), ["a.h5", "b.h5", "f"], "files left")
    # A failure half way through the in-place copy (after the complete new
    # file was safe): the name gets the new version as a file of its own.
    size = os.path.getsize(a)
    r = run(["segment", "create", a, "t", "--frames", frame_file(d, "g", 2)],
            rc=2, env={"DETGRID_FAULT": "enospc%d" % (size + 8192)})
    ck.contains(errors(r)[0], "cannot write '%s' in place (it has several "
                "hard links): No space left on device; it was replaced by a "
                "new file with the new content" % a, what="in-place failure")
    ck.eq(segments(a), ["s", "t"], "a.h5 after the failed in-place copy")
    ck.eq(segments(b), ["s"], "b.h5 keeps the old version")


@case
def mode_and_owner(ck, d):
    """A save keeps the file's mode (0600 stays 0600) and, as root, its
    owner and group."""
    p = os.path.join(d, "p.h5")
    synth(p)
    os.chmod(p, 0o600)
    if os.geteuid() == 0:
        os.chown(p, 4321, 4322)
    run(["eval", p, "-q", "--device", "ref"])
    st = os.stat(p)
    ck.eq(stat.S_IMODE(st.st_mode), 0o600, "mode after a save")
    if os.geteuid() == 0:
        ck.eq((st.st_uid, st.st_gid), (4321, 4322), "owner after a save")
    else:
        print("owner case skipped: not root")
    os.chmod(p, 0o640)
    run(["segment", "create", p, "s", "--frames", frame_file(d, "f", 1)])
    ck.eq(stat.S_IMODE(os.stat(p).st_mode), 0o640, "mode after a second save")


# --------------------------------------------------------------------------
# Outputs and inputs, stdout


@case
def outputs_over_inputs(ck, d):
    """No output replaces an input; synth and demo need --force to replace
    an existing file, as import does."""
    p = os.path.join(d, "p.h5")
    synth(p)
    run(["eval", p, "-q", "--device", "ref"])
    before = file_bytes(p)
    for args in (["sweep", p, "-o", p], ["report", p, "-o", p],
                 ["check", p, "--junit", p], ["coco", p, "--curves", p],
                 ["sweep", p, "--format", "json", "-o", p]):
        r = run(args, rc=2)
        ck.eq(errors(r), ["output '%s' is the input '%s': writing it would "
                          "replace what this command reads (write elsewhere)"
                          % (p, p)], " ".join(args[:1] + args[2:]))
        ck.ok(file_bytes(p) == before, args[0] + ": the project changed")
    gt = os.path.join(d, "gt.json")
    run(["synth", "--coco-gt", gt, "--frames", "20"])
    g0 = file_bytes(gt)
    r = run(["import", "coco", "--gt", gt, "-o", gt], rc=2)
    ck.eq(errors(r)[0], "output '%s' is the input '%s': writing it would "
          "replace what this command reads (write elsewhere)" % (gt, gt),
          "import over its own input")
    ck.ok(file_bytes(gt) == g0, "import replaced its input")
    mgt, mdt = masks_coco(d)
    m0 = {f: file_bytes(f) for f in (mgt, mdt)}
    for args, inp in (
            (["import", "coco", "--gt", mgt, "--dt", mdt, "-o", mdt], mdt),
            (["coco", "--gt", mgt, "--dt", mdt, "--iou-type", "segm",
              "--curves", mgt], mgt),
            (["coco", "--gt", mgt, "--dt", mdt, "--iou-type", "boundary",
              "--curves", mdt], mdt)):
        r = run(args, rc=2)
        ck.eq(errors(r)[:1], ["output '%s' is the input '%s': writing it "
                              "would replace what this command reads (write "
                              "elsewhere)" % (inp, inp)], " ".join(args[:2]))
    ck.ok(all(file_bytes(f) == b for f, b in m0.items()),
          "a masks command replaced its input")
    for args in (["synth", "-o", p, "--frames", "10"],
                 ["demo", "-o", p, "--device", "ref"]):
        r = run(args, rc=2)
        ck.eq(errors(r), ["'%s' exists (use --force to overwrite it)" % p],
              args[0] + " over an existing project")
        ck.ok(file_bytes(p) == before, args[0] + ": the project changed")
    run(["synth", "-o", p, "--frames", "10", "--force"])
    ck.eq(run(["info", p, "--json"]).json()["frames"], 10, "synth --force")


@case
def stdout_errors(ck, d):
    """Output to a full device (stdout or -o -) is an error, not exit 0."""
    p = os.path.join(d, "p.h5")
    synth(p)
    run(["eval", p, "-q", "--device", "ref"])
    for args in (["info", p], ["info", p, "--json"], ["metrics", p, "--json"],
                 ["sweep", p], ["sweep", p, "-o", "-"], ["coco", p],
                 ["segment", "list", p]):
        with open("/dev/full", "w") as full:
            q = subprocess.run([BIN] + args, stdout=full,
                               stderr=subprocess.PIPE, text=True)
        ck.eq(q.returncode, 2, "%s > /dev/full: exit (%s)" % (args, q.stderr))
        ck.eq(q.stderr.strip().splitlines()[-1:],
              ["error: cannot write to stdout: No space left on device"],
              "%s > /dev/full: message" % args)


# --------------------------------------------------------------------------
# Names


def bad_segment_project(d):
    """A project an older detgrid left with a segment name and metadata
    that are not UTF-8 (written here with h5py)."""
    import h5py
    p = os.path.join(d, "old.h5")
    synth(p, "--inferences", "2")
    run(["segment", "create", p, "good", "--frames", frame_file(d, "f", 1)])
    run(["segment", "create", p, "other", "--frames", frame_file(d, "g", 2),
         "--meta", "k=v"])
    vs = h5py.string_dtype("utf-8")
    with h5py.File(p, "r+") as f:
        g = f["segments"]
        del g["name"]
        g.create_dataset("name", data=np.array([b"bad\xffname", b"other"],
                                               dtype=object), dtype=vs)
        del g["meta_value"]
        g.create_dataset("meta_value", data=np.array([b"v\xfe"], dtype=object),
                         dtype=vs)
        f.move(b"inferences/model-b", b"inferences/m\xe9")
    return p


@case
def names_refused(ck, d):
    """A name that is not UTF-8 or holds a control character is refused
    by every command that writes one, before anything is written."""
    p = os.path.join(d, "p.h5")
    synth(p, "--embeddings", "4", "--metadata", "--plant-slice")
    run(["eval", p, "-q", "--device", "ref"])
    f = frame_file(d, "f", 1)
    before = file_bytes(p)
    reason = {b"\xff": "not valid UTF-8", b"a\x01b": "contains a control "
              "character", b"a\x7fb": "contains a control character"}
    for raw, why in reason.items():
        name = os.fsdecode(raw)
        for args, what in (
                (["segment", "create", p, name, "--frames", f],
                 "segment name"),
                (["segment", "create", p, "ok", "--frames", f, "--meta",
                  name + "=1"], "metadata key"),
                (["embeddings", p, "--clusters", "2", "--save-segment", name],
                 "segment name"),
                (["slices", p, "--min-support", "5", "--save-segment", name],
                 "segment name")):
            r = run(args, rc=2)
            msg = errors(r)
            ck.eq(len(msg), 1, "%r: one error (%s)" % (raw, r.err))
            ck.contains(msg[0], "invalid %s '" % what, why,
                        what="%s %r" % (what, raw))
            ck.ok(file_bytes(p) == before, "a refused name changed the file")
        gt = os.path.join(d, "gt.json")
        run(["synth", "--coco-gt", gt, "--coco-dt-prefix",
             os.path.join(d, "dt"), "--frames", "300", "--classes", "4"])
        r = run(["import", "coco", "--dt", os.path.join(d, "dt-model-a.json"),
                 "--name", name, "-o", p], rc=2)
        ck.contains(errors(r)[0], "invalid inference set name '", why,
                    what="import --name %r" % raw)
    r = run(["segment", "create", p, "ok", "--frames", f, "--meta",
             "k=" + os.fsdecode(b"\xfe")], rc=2)
    ck.contains(errors(r)[0], "invalid value", "not valid UTF-8",
                what="metadata value")
    ck.ok(file_bytes(p) == before, "the project changed")
    # A class name of a masks file (JSON escapes a control character).
    mgt, mdt = masks_coco(d)
    with open(mgt) as fh:
        g = json.load(fh)
    g["categories"][1]["name"] = "sq\u0001are"
    with open(mgt, "w") as fh:
        json.dump(g, fh)
    r = run(["import", "coco", "--gt", mgt, "--dt", mdt, "-o",
             os.path.join(d, "m.h5")], rc=2)
    ck.contains(errors(r)[0], mgt, "categories", "name",
                "contains a control character", what="a masks file's class")
    ck.ok(not os.path.exists(os.path.join(d, "m.h5")), "m.h5 written")
    # A string image id becomes a frame id: refused at its record.
    g["categories"][1]["name"] = "square"
    g["images"][2]["id"] = "img\u0007"
    for a in g["annotations"]:
        a["image_id"] = str(a["image_id"])
    for im in g["images"][:2] + g["images"][3:]:
        im["id"] = str(im["id"])
    with open(mgt, "w") as fh:
        json.dump(g, fh)
    r = run(["import", "coco", "--gt", mgt, "-o", os.path.join(d, "m.h5")],
            rc=2)
    ck.eq(errors(r), ["'%s': images[2]: field 'id': contains a control "
                      "character" % mgt], "a string image id")


@case
def names_repaired(ck, d):
    """A project an older detgrid wrote with names that are not UTF-8 is
    read (names shown escaped, with a warning), its JSON stays UTF-8, and
    'segment delete' (or any save) repairs it."""
    import h5py
    p = bad_segment_project(d)
    r = run(["segment", "list", p, "--json"])
    names = [s["name"] for s in json.loads(r.out.encode().decode("utf-8"))
             ["segments"]]
    ck.eq(names, ["all", "bad\\xffname", "other"], "segment names shown")
    ck.contains(r.err, "/segments/name record 0 is not valid UTF-8; shown as "
                "'bad\\xffname'", what="warning")
    info = subprocess.run([BIN, "info", p, "--json"], capture_output=True)
    ck.eq(info.returncode, 0, "info --json on the old project")
    j = json.loads(info.stdout.decode("utf-8"))  # strict: valid UTF-8
    ck.eq(sorted(s["name"] for s in j["inferences"]), ["m\\xe9", "model-a"],
          "inference set names in info --json")
    run(["segment", "delete", p, "bad\\xffname"])
    with h5py.File(p, "r") as f:
        ck.eq([s.decode() for s in f["segments/name"][()]], ["other"],
              "segment names in the file after the delete")
        ck.eq([s.decode() for s in f["segments/meta_value"][()]], ["v\\xfe"],
              "metadata value in the file, rewritten")
        ck.eq(sorted(f["inferences"].keys()), ["m\\xe9", "model-a"],
              "inference set groups in the file, renamed")
    ck.eq(segments(p), ["other"], "segments after the repair")


# --------------------------------------------------------------------------
# JSON, boxes, options, the smaller findings


@case
def json_duplicate_keys(ck, d):
    """A repeated key counts with its last value, as Python's json (and so
    pycocotools) counts it: the same numbers as pycocotools, a warning."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    import contextlib
    import io
    gt = {"images": [{"id": 1, "width": 100, "height": 100},
                     {"id": 2, "width": 100, "height": 100}],
          "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}
    anns = ['{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5],'
            ' "bbox": [10, 10, 40, 40], "area": 1600, "iscrowd": 0}',
            '{"id": 2, "image_id": 2, "category_id": 1, "category_id": 2, '
            '"bbox": [20, 20, 30, 30], "area": 900, "iscrowd": 0}']
    text = json.dumps(gt)[:-1] + ', "annotations": [' + ", ".join(anns) + "]}"
    gp = os.path.join(d, "gt.json")
    with open(gp, "w") as f:
        f.write(text)
    dt = [{"image_id": 1, "category_id": 1, "bbox": [11, 11, 40, 40],
           "score": 0.9},
          {"image_id": 2, "category_id": 2, "bbox": [20, 20, 30, 30],
           "score": 0.8},
          {"image_id": 2, "category_id": 1, "bbox": [20, 20, 30, 30],
           "score": 0.7}]
    dp = os.path.join(d, "dt.json")
    with open(dp, "w") as f:
        json.dump(dt, f)
    r = run(["coco", "--gt", gp, "--dt", dp, "--json"])
    ours = r.json()
    ck.contains(r.err, "repeats the key 'bbox'; the last value is used, as "
                "Python's json does", what="warning")
    with contextlib.redirect_stdout(io.StringIO()):
        c = COCO(gp)
        e = COCOeval(c, c.loadRes(dp), "bbox")
        e.evaluate()
        e.accumulate()
        e.summarize()
    stats = [ours["stats"][k] for k in sorted(ours["stats"])] \
        if isinstance(ours["stats"], dict) else ours["stats"]
    for a, b in zip(stats, e.stats):
        ck.close(a, float(b), "stat", rel=1e-12)
    ck.eq(len(stats), 12, "stats")
    # Masks: a repeated 'segmentation' in the instances and in the
    # results, and a repeated 'score', against pycocotools' segm.
    sq = lambda x, y, w, h: [[x, y, x + w, y, x + w, y + h, x, y + h]]
    anns = ['{"id": 1, "image_id": 1, "category_id": 1, "segmentation": %s, '
            '"segmentation": %s, "bbox": [10, 10, 40, 40], "area": 1600, '
            '"iscrowd": 0}' % (json.dumps(sq(0, 0, 5, 5)),
                               json.dumps(sq(10, 10, 40, 40))),
            '{"id": 2, "image_id": 2, "category_id": 2, "segmentation": %s, '
            '"bbox": [20, 20, 30, 30], "area": 900, "iscrowd": 0}'
            % json.dumps(sq(20, 20, 30, 30))]
    text = json.dumps(gt)[:-1] + ', "annotations": [' + ", ".join(anns) + "]}"
    with open(gp, "w") as f:
        f.write(text)
    from pycocotools import mask as mu

    def rle(x, y, w, h):  # results carry masks as compressed RLE
        r = mu.merge(mu.frPyObjects(sq(x, y, w, h), 100, 100))
        return json.dumps({"size": r["size"],
                           "counts": r["counts"].decode()})
    dets = ['{"image_id": 1, "category_id": 1, "segmentation": %s, '
            '"segmentation": %s, "score": 0.9}' % (
                rle(60, 60, 30, 30), rle(12, 12, 40, 38)),
            '{"image_id": 2, "category_id": 2, "segmentation": %s, '
            '"score": 0.2, "score": 0.8}' % rle(22, 20, 30, 30),
            '{"image_id": 2, "category_id": 2, "segmentation": %s, '
            '"score": 0.7}' % rle(60, 60, 20, 20)]
    with open(dp, "w") as f:
        f.write("[" + ", ".join(dets) + "]")
    r = run(["coco", "--gt", gp, "--dt", dp, "--iou-type", "segm", "--json"])
    ours = r.json()
    ck.contains(r.err, "repeats the key 'segmentation'", what="masks warning")
    with contextlib.redirect_stdout(io.StringIO()):
        c = COCO(gp)
        e = COCOeval(c, c.loadRes(dp), "segm")
        e.evaluate()
        e.accumulate()
        e.summarize()
    stats = [ours["stats"][k] for k in sorted(ours["stats"])] \
        if isinstance(ours["stats"], dict) else ours["stats"]
    ck.eq(len(stats), 12, "segm stats")
    for a, b in zip(stats, e.stats):
        ck.close(a, float(b), "segm stat", rel=1e-12)
    ck.ok(0 < e.stats[0] < 1, "segm AP %g: the repeats decide it" % e.stats[0])


@case
def overflowing_boxes(ck, d):
    """A box whose corner or area overflows is refused at import, naming
    file, record and field (it used to import and break every command)."""
    gt = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "a"}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                           "bbox": [0, 0, 1e200, 1e200], "iscrowd": 0}]}
    gp = os.path.join(d, "gt.json")
    with open(gp, "w") as f:
        json.dump(gt, f)
    r = run(["import", "coco", "--gt", gp, "-o", os.path.join(d, "p.h5")],
            rc=2)
    ck.eq(errors(r), ["'%s': annotations[0]: field 'bbox': too large: its "
                      "corner or area is not a finite number" % gp], "coco")
    g = os.path.join(d, "g")
    os.mkdir(g)
    with open(os.path.join(g, "a.txt"), "w") as f:
        f.write("cat -1.7e308 0 1.7e308 10\n")
    r = run(["import", "cartucho", "--gt-dir", g, "-o",
             os.path.join(d, "q.h5")], rc=2)
    ck.contains(errors(r)[0], "a.txt", "box too large", what="cartucho")
    ck.eq(sorted(listing(d)), ["g", "gt.json"], "nothing written")


@case
def bounded_options(ck, d):
    """Step, count and size options are bounded before any work."""
    p = os.path.join(d, "p.h5")
    synth(p)
    run(["eval", p, "-q", "--device", "ref"])
    r = run(["sweep", p, "--step", "1e-9"], rc=129)
    ck.contains(r.err, "--step must be in [1e-6, 1]", what="sweep --step")
    r = run(["sweep", p, "--step", "1e-6", "--iou", "all"], rc=2)
    ck.eq(errors(r), ["--step 1e-06 asks for 76000076 rows (1000001 points x "
                      "4 classes x 19 thresholds), more than 20000000: use a "
                      "larger --step, or one --class or --iou"],
          "sweep --step 1e-6 --iou all over every class and threshold")
    cls = run(["info", p, "--json"]).json()["class_names"][0]
    ck.eq(len(run(["sweep", p, "--step", "1e-5", "--iou", "0.5",
                   "--class", cls]).out.splitlines()), 100002,
          "lines of one curve at --step 1e-5")
    for args, msg in ((["--classes", "2000000"], "--n_classes must be in "
                       "[1, 1000000]"),
                      (["--objects", "1e9"], "value for objects_per_frame "
                       "must be in [0, 10000]"),
                      (["--coco-scale", "1e9"], "--coco-scale must be in "
                       "(0, 400000]")):
        r = run(["synth", "-o", os.path.join(d, "x.h5")] + args, rc=129)
        ck.contains(r.err, msg, what="synth " + " ".join(args))


@case
def image_ids_exact(ck, d):
    """Image ids above 2^53 stay exact (pycocotools keeps Python ints)."""
    big = 2 ** 53 + 1
    gt = {"images": [{"id": big}, {"id": big + 1}],
          "categories": [{"id": 1, "name": "a"}],
          "annotations": [{"id": 1, "image_id": big, "category_id": 1,
                           "bbox": [0, 0, 10, 10], "area": 100,
                           "iscrowd": 0}]}
    gp = os.path.join(d, "gt.json")
    with open(gp, "w") as f:
        json.dump(gt, f)
    p = os.path.join(d, "p.h5")
    run(["import", "coco", "--gt", gp, "-o", p])
    import h5py
    with h5py.File(p, "r") as f:
        ck.eq([s.decode() for s in f["frames/id"][()]],
              [str(big), str(big + 1)], "frame ids")
        ck.eq([int(v) for v in f["frames/num"][()]], [big, big + 1],
              "frame numbers")


@case
def segment_iou_not_stored(ck, d):
    """A segment IoU that is not a stored threshold is refused when set;
    when results later lose it, check names the segment."""
    p = os.path.join(d, "p.h5")
    synth(p)
    run(["eval", p, "-q", "--device", "ref", "--iou-thresholds", "0.5,0.75"])
    f = frame_file(d, "f", 1, 2, 3)
    r = run(["segment", "create", p, "s", "--kind", "regression", "--frames",
             f, "--iou", "0.33"], rc=2)
    ck.eq(errors(r), ["--iou 0.33: inference set 'model-a': IoU threshold "
                      "0.33 was not evaluated; stored: 0.5, 0.75 (run "
                      "'detgrid eval --iou-thresholds' to add it)"], "set")
    run(["segment", "create", p, "s", "--kind", "regression", "--frames", f,
         "--iou", "0.75", "--min-recall", "0"])
    run(["eval", p, "-q", "--device", "ref", "--iou-thresholds", "0.5"])
    r = run(["check", p], rc=2)
    ck.eq(errors(r), ["segment 's' (IoU 0.75, its own): inference set "
                      "'model-a': IoU threshold 0.75 was not evaluated; "
                      "stored: 0.5 (run 'detgrid eval --iou-thresholds' to "
                      "add it)"], "check")


@case
def open_elsewhere(ck, d):
    """A project another program holds open for writing is reported as
    such, not as 'damaged or truncated'."""
    import h5py
    p = os.path.join(d, "p.h5")
    synth(p)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import h5py, sys, time\n"
         "f = h5py.File(sys.argv[1], 'a')\nprint('open', flush=True)\n"
         "time.sleep(60)", p], stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, HDF5_USE_FILE_LOCKING="TRUE"))
    try:
        ck.eq(holder.stdout.readline().strip(), "open", "h5py opened it")
        r = run(["info", p], rc=2)
        ck.eq(errors(r), ["cannot open '%s': another program has it open "
                          "for writing (HDF5 locks such files); close it "
                          "there and try again" % p], "message")
    finally:
        holder.kill()
        holder.wait()
    del h5py


@case
def results_attribute_named(ck, d):
    """A results group missing one attribute names it."""
    import h5py
    p = os.path.join(d, "p.h5")
    synth(p)
    run(["eval", p, "-q", "--device", "ref"])
    with h5py.File(p, "r+") as f:
        del f["results/model-a"].attrs["labels_fingerprint"]
    r = run(["metrics", p], rc=2)
    ck.eq(errors(r), ["'%s': /results/model-a: attribute "
                      "'labels_fingerprint' is missing (run 'detgrid eval' "
                      "again to rewrite the results)" % p], "message")


@case
def empty_projects(ck, d):
    """Projects without labels, detections, classes or frames: every query
    answers (under the sanitizers of CI: no memset or qsort of a NULL
    array, which UBSan reported for 'errors' and 'label-errors')."""
    import h5py
    st = h5py.string_dtype()
    for name, nlab, ndet, ncls, nfr in (("nolab", 0, 3, 2, 3),
                                        ("nodet", 3, 0, 2, 3),
                                        ("none", 0, 0, 2, 3),
                                        ("noclass", 0, 0, 0, 3),
                                        ("noframe", 0, 0, 2, 0)):
        p = os.path.join(d, name + ".h5")
        with h5py.File(p, "w") as f:
            f.attrs["format"] = "detgrid-project"
            f.attrs["format_version"] = np.int32(1)
            f["classes/name"] = np.array(["c%d" % i for i in range(ncls)],
                                         dtype=object).astype(st)
            f["frames/id"] = np.array(["f%d" % i for i in range(nfr)],
                                      dtype=object).astype(st)
            for g, n in (("labels", nlab), ("inferences/m", ndet)):
                grp = f.create_group(g)
                grp["frame"] = np.zeros(n, np.uint32)
                grp["class"] = np.zeros(n, np.uint32)
                for k in "xywh":
                    grp[k] = np.ones(n)
            f["inferences/m/score"] = np.full(ndet, 0.5)
        run(["eval", p, "-q", "--device", "ref"])
        for args in (["errors", p], ["label-errors", p],
                     ["report", p, "-o", os.path.join(d, name + ".html")],
                     ["metrics", p], ["coco", p], ["confusion", p]):
            r = run(args, rc=None)
            ck.eq(r.rc, 0, "%s on %s: exit (%s)" % (args[0], name, r.err))
            ck.ok("runtime error" not in r.err, "%s on %s: %s" % (
                args[0], name, r.err))


# --------------------------------------------------------------------------
# The user's own data


@case
def user_data_kept(ck, d):
    """Groups, datasets and attributes a user added with h5py survive every
    save; what detgrid removes takes the user's additions with it, and the
    save says so."""
    import h5py
    p = os.path.join(d, "p.h5")
    synth(p)
    run(["eval", p, "-q", "--device", "ref"])
    with h5py.File(p, "r+") as f:
        f.attrs["owner"] = "team-vision"
        f.create_group("notes").create_dataset("log", data=np.arange(5))
        f["notes"].attrs["why"] = "audit 2026"
        f["classes"].create_dataset("color", data=np.array([1, 2, 3, 4]))
        f["inferences/model-a"].attrs["commit"] = "abc123"
        f["labels/x"].attrs["unit"] = "px"
        f["results/model-a"].attrs["reviewed_by"] = "ana"
        f["frames"].attrs["source"] = "cam-3"

    def check(what):
        with h5py.File(p, "r") as f:
            ck.eq(f.attrs.get("owner"), "team-vision", what + ": root attr")
            ck.eq(list(f["notes/log"][()]), [0, 1, 2, 3, 4], what + ": group")
            ck.eq(f["notes"].attrs.get("why"), "audit 2026", what + ": its attr")
            ck.eq(list(f["classes/color"][()]), [1, 2, 3, 4],
                  what + ": a dataset in /classes")
            ck.eq(f["inferences/model-a"].attrs.get("commit"), "abc123",
                  what + ": attr on a set")
            ck.eq(f["labels/x"].attrs.get("unit"), "px",
                  what + ": attr on a column")
            ck.eq(f["frames"].attrs.get("source"), "cam-3",
                  what + ": attr on /frames")

    run(["segment", "create", p, "s", "--frames", frame_file(d, "f", 1)])
    check("after segment create")
    run(["eval", p, "-q", "--device", "ref", "--iou-thresholds", "0.5"])
    check("after eval")
    with h5py.File(p, "r") as f:
        ck.eq(f["results/model-a"].attrs.get("reviewed_by"), "ana",
              "attr on results rewritten by eval")
    # Replacing the set drops its results, and the note on them.
    gt = os.path.join(d, "gt.json")
    run(["synth", "--coco-gt", gt, "--coco-dt-prefix", os.path.join(d, "dt"),
         "--frames", "300", "--classes", "4", "--seed", "1"])
    r = run(["import", "coco", "--dt", os.path.join(d, "dt-model-a.json"),
             "--name", "model-a", "--replace", "-o", p])
    ck.contains(r.err, "attribute 'reviewed_by' of '/results/model-a' was not "
                "kept: detgrid removed the part it was on", what="warning")
    check("after a replaced set")


def main():
    each = "--each" in sys.argv
    only = [a for a in sys.argv[1:] if not a.startswith("-")]
    unknown = set(only) - {fn.__name__ for fn in CASES}
    if unknown:
        sys.exit("no case %s" % ", ".join(sorted(unknown)))
    ck = Checker("test_saves")
    results = []
    for fn in CASES:
        if only and fn.__name__ not in only:
            continue
        with TempDir() as d:
            if not each:
                fn(ck, d)
                continue
            try:
                fn(ck, d)
                results.append((fn.__name__, "pass", ""))
            except Exception as e:  # a crash of the case is a failure too
                results.append((fn.__name__, "FAIL", "%s: %s" % (
                    type(e).__name__, (str(e).splitlines() or [""])[0])))
    if each:
        for name, res, why in results:
            print("%-26s %s  %s" % (name, res, why[:150]))
        return
    ck.done()


if __name__ == "__main__":
    main_wrapper(main)
