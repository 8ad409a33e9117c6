"""The device and the reference path store the same /results, byte for byte
(every dataset, attribute but "device", and raw chunk), end to end through
`detgrid eval`: on COCO val-sized synthetic data (`synth --coco-scale 1`)
and on an adversarial project (crowd regions, five score levels: mass
ties, duplicates, confusions), with the OpenCL device driven each way it
can go: its own way (zero copy on PoCL), a GPU's way (slabs through pinned
staging and a copy queue, DETGRID_CL_COPIES=1), wide work-groups, a small
budget (one threshold a pass, many slabs), within a memory budget (chunks
of frames, pending outcomes), and sharded over two MPI ranks when mpirun
is there. The reference path on one thread and on three gives the same
bytes too.

    tests/test_devices.py              # 1x and the adversarial project
    tests/test_devices.py --scale 10   # 10x as well (tools/dev/gpu-check.sh)

Skipped (exit 77) when no OpenCL device exists (after the reference path's
thread check).
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dgtest import BIN, Checker, TempDir, main_wrapper, run  # noqa: E402
from test_bounded import same_results  # noqa: E402

MPIRUN = shutil.which("mpirun")


def strip_device(path):
    """The results' "device" attribute names the device: drop it."""
    import h5py
    with h5py.File(path, "r+") as f:
        for name in f["results"]:
            if "device" in f["results"][name].attrs:
                del f["results"][name].attrs["device"]


def has_device():
    p = subprocess.run([BIN, "devices", "--json"], capture_output=True,
                       text=True)
    import json
    try:
        return any(d.get("usable") for d in json.loads(p.stdout))
    except ValueError:
        return False


def device_for_tests():
    """DETGRID_DEVICE names the device under test (gpu on a GPU node)."""
    dev = os.environ.get("DETGRID_DEVICE", "")
    return dev if dev and not dev.startswith(("ref", "auto")) else "cpu"


def evaluate(src, out, args, env=None, mpi=0):
    shutil.copy(src, out)
    e = dict(os.environ)
    e.pop("DETGRID_FAULT", None)
    if env:
        e.update(env)
    cmd = [BIN, "eval", out, "-q"] + args
    if mpi:
        cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "-np",
               str(mpi)] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, env=e,
                       timeout=1200)
    return p


def main():
    scales = ["1"]
    if "--scale" in sys.argv:
        scales.append(sys.argv[sys.argv.index("--scale") + 1])
    ck = Checker("test_devices")
    dev = device_for_tests()
    with TempDir() as d:
        projects = []
        adv = os.path.join(d, "adv.h5")
        run(["synth", "-o", adv, "--frames", "3000", "--classes", "7",
             "--objects", "9", "--crowd-rate", "0.3", "--score-levels", "5",
             "--duplicate-rate", "0.3", "--confuse-rate", "0.3",
             "--background-fp", "6", "--seed", "41"])
        projects.append(("adversarial", adv))
        for s in scales:
            p = os.path.join(d, "coco%s.h5" % s)
            run(["synth", "-o", p, "--coco-scale", s, "--seed", "7"])
            projects.append(("%sx" % s, p))

        for label, src in projects:
            ref = os.path.join(d, "ref.h5")
            p = evaluate(src, ref, ["--device", "ref"])
            ck.eq(p.returncode, 0, label + " ref: " + p.stderr[-2000:])
            strip_device(ref)
            # The reference path on three threads and on one.
            for th in ("1", "3"):
                out = os.path.join(d, "out.h5")
                p = evaluate(src, out, ["--device", "ref", "--threads", th])
                ck.eq(p.returncode, 0, label + " ref threads " + th)
                strip_device(out)
                same_results(ck, ref, out, "%s ref, %s threads" % (label, th))
            if not has_device():
                continue
            ways = [("own way", [], {}),
                    ("copies", [], {"DETGRID_CL_COPIES": "1"}),
                    ("wg 16", [], {"DETGRID_CL_WG": "16"}),
                    ("memory budget", ["--memory-budget", "8"],
                     {"DETGRID_CHUNK_DETS": "60000"})]
            if label == "adversarial":
                ways.append(("copies, small budget", [],
                             {"DETGRID_CL_COPIES": "1",
                              "DETGRID_CL_BIN": "7"}))
            for what, args, env in ways:
                out = os.path.join(d, "out.h5")
                env = dict(env, DETGRID_DEVICE=dev)
                p = evaluate(src, out, ["--device", dev] + args, env=env)
                ck.eq(p.returncode, 0, "%s %s: %s" % (label, what,
                                                      p.stderr[-2000:]))
                ck.ok("falling back" not in p.stderr,
                      "%s %s fell back: %s" % (label, what, p.stderr[-2000:]))
                if p.returncode:
                    continue
                strip_device(out)
                n = same_results(ck, ref, out, "%s %s" % (label, what))
                ck.ok(n > 0, "%s %s: no chunks compared" % (label, what))
            if MPIRUN:
                out = os.path.join(d, "out.h5")
                p = evaluate(src, out, ["--device", dev],
                             env={"DETGRID_CHUNK_DETS": "60000"}, mpi=2)
                if "built without MPI" not in p.stderr:
                    ck.eq(p.returncode, 0, label + " MPI: " + p.stderr[-2000:])
                    if p.returncode == 0:
                        strip_device(out)
                        same_results(ck, ref, out, label + " 2 MPI ranks")
        if not has_device():
            print("SKIP: no OpenCL device (the reference path's checks "
                  "passed)")
            ck.done()
            sys.exit(77)
    ck.done()


if __name__ == "__main__":
    main_wrapper(main)
