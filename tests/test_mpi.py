"""Eval sharded over MPI ranks (docs/SCALE.md): `mpirun -np N detgrid eval`
with N = 1, 2 and 4 on this machine stores the same results as the
single-process run, byte for byte (every dataset, attribute and raw chunk
of /results), and `coco --json` and `metrics --json` print the same text.
With a memory budget as well, the same again. A rank that fails
(DETGRID_FAULT=rank<k>) fails the whole run with that rank's message, and
the project file is left as it was (checksum before and after), with no
temporary file beside it.

Skipped (exit 77) when mpirun is missing or detgrid was built without MPI
(then the launched ranks say so, which is checked).
"""
import hashlib
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dgtest import BIN, Checker, TempDir, main_wrapper, run  # noqa: E402
from test_bounded import same_results  # noqa: E402

MPIRUN = shutil.which("mpirun")


def mpirun(n, args, env=None):
    e = dict(os.environ)
    e.pop("DETGRID_FAULT", None)
    if env:
        e.update(env)
    cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "-np", str(n),
           BIN] + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, env=e,
                          timeout=240)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def queries(path):
    return (run(["coco", path, "-i", "model-a", "--json"]).out,
            run(["coco", path, "-i", "model-b", "--json"]).out,
            run(["metrics", path, "-i", "model-a", "--json", "--conf", "0.25",
                 "--iou", "0.6"]).out,
            run(["metrics", path, "-i", "model-b", "--json"]).out)


def main():
    if not MPIRUN:
        print("skip: no mpirun")
        sys.exit(77)
    ck = Checker("test_mpi")
    with TempDir() as d:
        src = os.path.join(d, "src.h5")
        run(["synth", "-o", src, "--coco-scale", "0.3", "--inferences", "2",
             "--seed", "9"])
        probe = os.path.join(d, "probe.h5")
        shutil.copy(src, probe)
        p = mpirun(2, ["eval", probe, "-q", "--iou-thresholds", "0.5"])
        if p.returncode != 0 and "built without MPI" in p.stderr:
            print("skip: detgrid built without MPI")
            sys.exit(77)
        ck.eq(p.returncode, 0, "probe run: " + p.stderr[-2000:])

        ref = os.path.join(d, "ref.h5")
        shutil.copy(src, ref)
        run(["eval", ref, "-q"])
        want = queries(ref)
        for n in (1, 2, 4):
            for budget in (None, "0.05"):
                what = "%d ranks%s" % (n, " budget %s MB" % budget if budget else "")
                out = os.path.join(d, "np%d.h5" % n)
                shutil.copy(src, out)
                args = ["eval", out, "-q"]
                if budget:
                    args += ["--memory-budget", budget]
                p = mpirun(n, args, env={"DETGRID_CHUNK_DETS": "4000"})
                ck.eq(p.returncode, 0, what + ": " + p.stderr[-2000:])
                same_results(ck, ref, out, what)
                got = queries(out)
                for k, (g, w) in enumerate(zip(got, want)):
                    ck.eq(g, w, "%s query %d" % (what, k))

        # A failing rank fails the run; the project stays as it was.
        for n, bad in ((2, 1), (4, 2), (4, 0), (4, "gather")):
            f = os.path.join(d, "fault.h5")
            shutil.copy(ref, f)
            before = sha(f)
            p = mpirun(n, ["eval", f, "--iou-thresholds", "0.5,0.9"],
                       env={"DETGRID_FAULT": bad if bad == "gather"
                            else "rank%d" % bad,
                            "DETGRID_CHUNK_DETS": "4000"})
            # "gather": rank 0 fails while the others send it their parts;
            # it must still drain them, or they would block forever.
            what = "%d ranks, %s fails" % (n, bad if bad == "gather" else
                                           "rank %d" % bad)
            ck.ok(p.returncode != 0, what + ": exit 0")
            want_msg = ("rank 0: simulated failure while gathering"
                        if bad == "gather" else "rank %d: simulated failure" % bad)
            ck.ok(want_msg in p.stderr,
                  what + ": message missing:\n" + p.stderr[-2000:])
            ck.eq(sha(f), before, what + ": project changed")
            left = sorted(x for x in os.listdir(d) if x.startswith("fault.h5") and
                          x != "fault.h5")
            if left == ["fault.h5.lock"]:
                # mpirun killed the writer while it held the lock: its lock
                # file stays, held by no one, and the next writer takes the
                # lock at once and removes the file when it is done.
                run(["eval", f, "-q", "--device", "ref",
                     "--iou-thresholds", "0.5,0.9"],
                    env={"DETGRID_LOCK_TIMEOUT": "5"})
                left = sorted(x for x in os.listdir(d)
                              if x.startswith("fault.h5") and x != "fault.h5")
                shutil.copy(ref, f)
            ck.eq(left, [], what + ": files left")
            # Results from before are still there and still read.
            ck.eq(queries(f), want, what + ": queries after the failure")
    ck.done()


if __name__ == "__main__":
    main_wrapper(main)
