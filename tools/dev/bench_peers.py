#!/usr/bin/env python3
"""detgrid against every COCO-mAP peer, measured in the same run.

Makes (or reuses) the virtual environment .venv-bench/ in the repository
root, installs the peers there with pip (pycocotools, faster-coco-eval,
hotcoco, ultrafast-pycocotools, vernier), generates COCO val2017-sized
synthetic data with `detgrid synth --coco-scale S` and times, as separate
processes (each with its own peak RSS, read with wait4), --runs runs each:

  * `detgrid coco --gt g.json --dt d-model-a.json --json` (one shot);
  * each peer's standard bbox evaluation from the same two JSON files, end
    to end in a fresh interpreter: load the ground truth, load the results,
    evaluate, accumulate, summarize, as its documentation shows;
  * the same in-process rows for detgrid's Python package (from the build
    under test, <build>/python): the pycocotools drop-in, and array-in
    evaluation (COCO's numbers and the full grid) from arrays in memory.

With --iou-type segm the same, on instance masks: synth's boxes become
masks (pycocotools, in the peers' environment): each ground truth an
octagon polygon inscribed in its box (crowd regions: uncompressed RLE of
the box), each detection the compressed RLE of a jittered octagon in its
box, as a Mask R-CNN results file has them; every tool runs iouType
'segm' and rasterises the polygons itself.

Runs are interleaved (run 1 of every tool, then run 2, ...) so that a
noisy neighbour does not favour one tool. Each tool's 12 stats are
compared with detgrid's: `==` on every double, or the largest absolute
difference. No thread variables are set: every tool runs with its own
defaults on every core of the machine (the CPU-time column shows how many
it used).

    tools/dev/bench_peers.py                          # scale 1, 3 runs
    tools/dev/bench_peers.py --scales 0.1,1 --runs 3 --json peers.json
    tools/dev/bench_peers.py --tools detgrid,hotcoco --runs 5
    tools/dev/bench_peers.py --iou-type segm --scales 1 --runs 3

A peer that cannot be installed is reported as unavailable with the first
line of pip's error; one that fails or times out is reported so. Nothing
here is a test: timings are reported, never asserted.
"""
import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# name -> (pip requirement, distribution name for the version)
PEERS = {
    "pycocotools": ("pycocotools", "pycocotools"),
    "faster-coco-eval": ("faster-coco-eval", "faster-coco-eval"),
    "hotcoco": ("hotcoco", "hotcoco"),
    "ultrafast-pycocotools": ("ultrafast-pycocotools", "ultrafast-pycocotools"),
    "vernier": ("vernier", "vernier"),
}

# The snippets: argv[1] ground truth, argv[2] results, argv[3] where to write
# {"stats": [...], "eval_s": seconds from the first load to the stats,
# "eval_cpu_s": the CPU seconds (user + system, every thread) in between}.
# Everything between the two clocks is what a user of the tool runs; the
# process wall time measured outside also counts interpreter start-up and
# the imports. fd 1 goes to /dev/null (native code prints too).
PRELUDE = r'''
import json, os, sys, time
_null = os.open(os.devnull, os.O_WRONLY)
os.dup2(_null, 1)
GT, DT, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
IOU = sys.argv[4] if len(sys.argv) > 4 else "bbox"
'''
EPILOGUE = r'''
_t1 = time.perf_counter()
_c1 = time.process_time()
def _f(x):
    x = float(x)
    return None if x != x else x
with open(OUT, "w") as _o:
    json.dump({"stats": [_f(x) for x in stats], "eval_s": _t1 - _t0,
               "eval_cpu_s": _c1 - _c0}, _o)
'''

SNIPPETS = {
    # https://github.com/ppwwyyxx/cocoapi  (pycocoDemo.ipynb)
    "pycocotools": r'''
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
_t0 = time.perf_counter()
gt = COCO(GT)
dt = gt.loadRes(DT)
E = COCOeval(gt, dt, IOU)
E.evaluate()
E.accumulate()
E.summarize()
stats = E.stats
''',
    # faster-coco-eval README: COCO + COCOeval_faster
    "faster-coco-eval": r'''
from faster_coco_eval import COCO, COCOeval_faster
_t0 = time.perf_counter()
gt = COCO(GT)
dt = gt.loadRes(DT)
E = COCOeval_faster(gt, dt, IOU, print_function=print)
E.evaluate()
E.accumulate()
E.summarize()
stats = E.stats
''',
    # hotcoco README: COCO, load_res, COCOeval(...).run()
    "hotcoco": r'''
from hotcoco import COCO, COCOeval
_t0 = time.perf_counter()
gt = COCO(GT)
dt = gt.load_res(DT)
E = COCOeval(gt, dt, IOU)
E.evaluate()
E.accumulate()
E.summarize()
stats = E.stats
''',
    # ultrafast-pycocotools README: the pycocotools API
    "ultrafast-pycocotools": r'''
from ultrafast_pycocotools import COCO, COCOeval
_t0 = time.perf_counter()
gt = COCO(GT)
dt = gt.loadRes(DT)
E = COCOeval(gt, dt, IOU)
E.evaluate()
E.accumulate()
E.summarize()
stats = E.stats
''',
    # vernier README, "Recommended: the native API", strict = pycocotools'
    # numbers (the native Evaluator's default is "corrected").
    "vernier": r'''
from pathlib import Path
from vernier.instance import Bbox, CocoDataset, Evaluator
_t0 = time.perf_counter()
gt = CocoDataset.from_json(Path(GT).read_bytes())
dt = Path(DT).read_bytes()
summary = Evaluator(iou=Bbox(), parity_mode="strict").evaluate(gt, dt)
print("\n".join(summary.pretty_lines()))
stats = summary.stats
''',
    # detgrid's Python package (python/, from this build): the drop-in.
    "detgrid-py": r'''
from detgrid import COCO, COCOeval
_t0 = time.perf_counter()
gt = COCO(GT)
dt = gt.loadRes(DT)
E = COCOeval(gt, dt, IOU)
E.evaluate()
E.accumulate()
E.summarize()
stats = E.stats
''',
    # detgrid's array-in evaluation with the full grid (19 IoU thresholds,
    # class-wise and class-agnostic matching) as well as COCO's numbers:
    # the arrays are what a training loop holds, so reading them out of
    # the JSON comes before the clock.
    "detgrid-arrays": r'''
import numpy as np
import detgrid
with open(GT) as f:
    g = json.load(f)
with open(DT) as f:
    d = json.load(f)
A = g["annotations"]
T = {"image_id": np.array([a["image_id"] for a in A], np.int64),
     "category_id": np.array([a["category_id"] for a in A], np.int64),
     "bbox": np.array([a["bbox"] for a in A], np.float64).reshape(-1, 4),
     "iscrowd": np.array([a.get("iscrowd", 0) for a in A], np.uint8),
     "area": np.array([a["area"] for a in A], np.float64)}
P = {"image_id": np.array([x["image_id"] for x in d], np.int64),
     "category_id": np.array([x["category_id"] for x in d], np.int64),
     "bbox": np.array([x["bbox"] for x in d], np.float64).reshape(-1, 4),
     "score": np.array([x["score"] for x in d], np.float64)}
images = np.array([im["id"] for im in g["images"]], np.int64)
cats = {c["id"]: c["name"] for c in g["categories"]}
del g, d, A
_t0 = time.perf_counter()
r = detgrid.evaluate(T, P, image_ids=images, categories=cats)
stats = r.stats
''',
    # vernier README, "Quickstart": its COCOeval shim over pycocotools' COCO
    "vernier-shim": r'''
from pycocotools.coco import COCO
from vernier import COCOeval
_t0 = time.perf_counter()
gt = COCO(GT)
dt = gt.loadRes(DT)
E = COCOeval(gt, dt, iouType=IOU)
E.evaluate()
E.accumulate()
E.summarize()
stats = E.stats
''',
}

LABELS = {
    "detgrid": "detgrid (`coco --gt --dt`)",
    "detgrid-project": "detgrid (`coco project.h5`, after `import coco`)",
    "detgrid-py": "detgrid Python drop-in (`COCOeval`)",
    "detgrid-arrays": "detgrid Python `evaluate(arrays)` (COCO + full grid)",
    "pycocotools": "pycocotools (`COCOeval`)",
    "faster-coco-eval": "faster-coco-eval (`COCOeval_faster`)",
    "hotcoco": "hotcoco (`COCOeval`)",
    "ultrafast-pycocotools": "ultrafast-pycocotools (`COCOeval`)",
    "vernier": "vernier (native `Evaluator`, strict)",
    "vernier-shim": "vernier (`COCOeval` shim, pycocotools `COCO`)",
}
# tool -> the packages it needs
NEEDS = {t: [t] for t in PEERS}
NEEDS["vernier-shim"] = ["vernier", "pycocotools"]
NEEDS["detgrid"] = []
NEEDS["detgrid-project"] = []
NEEDS["detgrid-py"] = []
NEEDS["detgrid-arrays"] = []
ALL_TOOLS = ["detgrid", "detgrid-project", "detgrid-py", "detgrid-arrays",
             "pycocotools", "faster-coco-eval", "hotcoco",
             "ultrafast-pycocotools", "vernier", "vernier-shim"]
# The rows of detgrid's Python package import it from the build under test
# (<build>/python, where CMake puts the extension and the modules).
PY_ROWS = ("detgrid-py", "detgrid-arrays")
# The tools that evaluate masks. vernier's native API is driven with boxes
# here, and its COCOeval shim (0.5.4) refuses the boxes pycocotools'
# loadRes gives mask results ("detections[0].bbox: expected a 4-element
# sequence: 'ndarray'"), so neither runs segm.
SEGM_TOOLS = ["detgrid", "detgrid-project", "detgrid-py", "pycocotools",
              "faster-coco-eval", "hotcoco", "ultrafast-pycocotools"]

# Boxes to masks, run in the peers' environment (pycocotools):
# argv: gt in, dt in, gt out, dt out, seed.
MASKIFY = r'''
import json, math, random, sys
import numpy as np
from pycocotools import mask as M
gi, di, go, do, seed = sys.argv[1:6]
rng = random.Random(int(seed))
def octagon(x, y, w, h, jit):
    cx, cy = x + w / 2, y + h / 2
    pts = []
    for i in range(8):
        a = 2 * math.pi * (i + 0.5) / 8
        f = 1 - jit * rng.random()
        pts += [round(cx + f * w / 2 * math.cos(a), 2),
                round(cy + f * h / 2 * math.sin(a), 2)]
    return pts
with open(gi) as f:
    g = json.load(f)
size = {im["id"]: (im["height"], im["width"]) for im in g["images"]}
for a in g["annotations"]:
    x, y, w, h = a["bbox"]
    H, W = size[a["image_id"]]
    if a.get("iscrowd"):
        m = np.zeros((H, W), np.uint8)
        m[int(y):int(math.ceil(y + h)), int(x):int(math.ceil(x + w))] = 1
        fl = m.reshape(-1, order="F")
        cuts = np.concatenate(([0], np.flatnonzero(np.diff(fl)) + 1, [fl.size]))
        runs = [int(v) for v in np.diff(cuts)]
        if fl[0]:
            runs.insert(0, 0)
        a["segmentation"] = {"size": [H, W], "counts": runs}
    else:
        a["segmentation"] = [octagon(x, y, w, h, 0.1)]
with open(go, "w") as f:
    json.dump(g, f)
with open(di) as f:
    d = json.load(f)
for r in d:
    x, y, w, h = r["bbox"]
    H, W = size[r["image_id"]]
    rle = M.merge(M.frPyObjects([octagon(x, y, w, h, 0.25)], H, W))
    r["segmentation"] = {"size": [H, W], "counts": rle["counts"].decode()}
    del r["bbox"]
with open(do, "w") as f:
    json.dump(d, f)
'''


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def first_error_line(text):
    """The first line that says what went wrong (pip's ERROR: line if any)."""
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    for l in lines:
        if l.startswith("ERROR:") or "error:" in l.lower():
            return l
    return lines[-1] if lines else "(no output)"


def venv_python(venv):
    return os.path.join(venv, "bin", "python")


def make_venv(venv, base_python):
    if not os.path.exists(venv_python(venv)):
        log("bench: creating %s" % venv)
        subprocess.run([base_python, "-m", "venv", venv], check=True)
        subprocess.run([venv_python(venv), "-m", "pip", "install", "-q",
                        "--upgrade", "pip"], check=False)


def dist_version(py, dist):
    p = subprocess.run([py, "-c", "import importlib.metadata as m, sys; "
                        "print(m.version(sys.argv[1]))", dist],
                       capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def install_peers(venv, names, upgrade):
    """Installs each peer on its own so that one failure blocks no other.
    Returns name -> {"version": str} or {"error": first line}."""
    py = venv_python(venv)
    out = {}
    for name in names:
        req, dist = PEERS[name]
        have = dist_version(py, dist)
        if have and not upgrade:
            out[name] = {"version": have}
            continue
        log("bench: pip install %s" % req)
        cmd = [py, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        if upgrade:
            cmd.append("--upgrade")
        p = subprocess.run(cmd + [req], capture_output=True, text=True)
        have = dist_version(py, dist)
        if p.returncode != 0 or not have:
            out[name] = {"error": first_error_line(p.stderr + "\n" + p.stdout)}
            log("bench: %s unavailable: %s" % (name, out[name]["error"]))
        else:
            out[name] = {"version": have}
    return out


def run_rss(cmd, stdout_path, timeout, env=None):
    """Runs cmd as its own process (stdout to stdout_path, stderr kept);
    returns dict(wall, rss_mb, cpu_s, rc, err)."""
    errpath = stdout_path + ".err"
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.setpgid(0, 0)
            outfd = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            errfd = os.open(errpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(outfd, 1)
            os.dup2(errfd, 2)
            os.execvpe(cmd[0], cmd, env or os.environ)
        finally:
            os._exit(127)
    timed_out = False
    deadline = t0 + timeout
    while True:
        wpid, status, ru = os.wait4(pid, os.WNOHANG)
        if wpid == pid:
            break
        if time.perf_counter() > deadline:
            timed_out = True
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, status, ru = os.wait4(pid, 0)
            break
        time.sleep(0.005)
    wall = time.perf_counter() - t0
    with open(errpath, errors="replace") as f:
        err = f.read()
    os.unlink(errpath)
    return dict(wall=wall, rss_mb=ru.ru_maxrss / 1024.0,
                cpu_s=ru.ru_utime + ru.ru_stime,
                rc=(124 if timed_out else os.waitstatus_to_exitcode(status)),
                err=("timed out after %g s" % timeout) if timed_out else err)


STAT_NAMES = ["AP", "AP50", "AP75", "APs", "APm", "APl",
              "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]


def compare(stats, ref):
    """'==' when every stat is the same double (NaN == NaN), else the
    largest absolute difference and the stats that differ."""
    if ref is None or stats is None:
        return "-", None
    if len(stats) != len(ref):
        return "%d stats" % len(stats), None
    d, names = 0.0, []
    for n, a, b in zip(STAT_NAMES, stats, ref):
        if (a is None) != (b is None):
            return "NaN mismatch in %s" % n, float("inf")
        if a is not None and a != b:
            d = max(d, abs(a - b))
            names.append(n)
    if not names:
        return "==", 0.0
    return "max abs diff %.2g (%s)" % (d, ", ".join(names)), d


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = "%.0f GiB" % (kb / 2 ** 20)
    except (OSError, ValueError, IndexError):
        pass
    return dict(nproc=os.cpu_count(),
                affinity=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
                cpu_model=model, memory=mem, kernel=platform.release())


def fmt_s(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return "%.3f" % x if x < 10 else "%.1f" % x


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "detgrid"))
    ap.add_argument("--scales", default="1", help="COCO-val multiples, e.g. 0.1,1,10")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tools", default=",".join(ALL_TOOLS),
                    help="comma list of " + ", ".join(ALL_TOOLS))
    ap.add_argument("--venv", default=os.path.join(ROOT, ".venv-bench"))
    ap.add_argument("--python", default=sys.executable,
                    help="interpreter that creates the venv")
    ap.add_argument("--upgrade", action="store_true",
                    help="pip install --upgrade the peers even when present")
    ap.add_argument("--timeout", type=float, default=600,
                    help="seconds one run may take before it is killed")
    ap.add_argument("--workdir", default=None, help="keep data and outputs here")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--iou-type", default="bbox", choices=["bbox", "segm"],
                    help="boxes, or instance masks (see above)")
    a = ap.parse_args()

    if a.iou_type == "segm" and a.tools == ",".join(ALL_TOOLS):
        a.tools = ",".join(SEGM_TOOLS)
    tools = [t.strip() for t in a.tools.split(",") if t.strip()]
    for t in tools:
        if t not in ALL_TOOLS:
            sys.exit("bench: unknown tool %r (known: %s)" % (t, ", ".join(ALL_TOOLS)))
    if "detgrid" not in tools:
        tools.insert(0, "detgrid")  # the reference of every ratio
    bin_ = os.path.abspath(a.bin)
    if not os.access(bin_, os.X_OK):
        sys.exit("bench: %s is not built (cmake --build build)" % bin_)
    work = os.path.abspath(a.workdir or tempfile.mkdtemp(prefix="detgrid-peers-"))
    os.makedirs(work, exist_ok=True)

    # The peers' environment.
    peers = sorted({p for t in tools for p in NEEDS[t]})
    make_venv(a.venv, a.python)
    py = venv_python(a.venv)
    installed = install_peers(a.venv, peers, a.upgrade)
    env_info = dict(
        python=subprocess.run([py, "-c", "import platform; print(platform.python_version())"],
                              capture_output=True, text=True).stdout.strip(),
        numpy=dist_version(py, "numpy"))
    dg_version = subprocess.run([bin_, "--version"], capture_output=True,
                                text=True).stdout.strip()
    versions = {"detgrid": dg_version.split()[1] if dg_version else "?"}
    unavailable = {}
    py_env = dict(os.environ)
    py_env["PYTHONPATH"] = os.path.join(os.path.dirname(bin_), "python")
    if any(t in PY_ROWS for t in tools) and not os.path.exists(
            os.path.join(py_env["PYTHONPATH"], "detgrid", "__init__.py")):
        sys.exit("bench: %s has no Python package (configure with python3-dev)"
                 % py_env["PYTHONPATH"])
    for t in tools:
        if t.startswith("detgrid"):
            versions[t] = versions["detgrid"]
            continue
        bad = [p for p in NEEDS[t] if "error" in installed.get(p, {})]
        if bad:
            unavailable[t] = "%s: %s" % (bad[0], installed[bad[0]]["error"])
        else:
            versions[t] = installed[NEEDS[t][0]]["version"]
    snip_paths = {}
    for t in tools:
        if t in SNIPPETS:
            path = os.path.join(work, "peer-%s.py" % t)
            with open(path, "w") as f:
                # The CPU clock starts with the wall clock.
                body = SNIPPETS[t].replace(
                    "_t0 = time.perf_counter()\n",
                    "_t0 = time.perf_counter()\n_c0 = time.process_time()\n")
                f.write(PRELUDE + body + EPILOGUE)
            snip_paths[t] = path

    # One untimed run of every tool on a tiny set first: shared libraries
    # and modules come from the page cache in the timed runs, for all alike.
    wgt, wpre = os.path.join(work, "warm-g.json"), os.path.join(work, "warm-d")
    subprocess.run([bin_, "synth", "--coco-scale", "0.01", "--coco-gt", wgt,
                    "--coco-dt-prefix", wpre], capture_output=True, check=True)
    for t in tools:
        if t in unavailable or t == "detgrid-project":
            continue
        cmd = ([bin_, "coco", "--gt", wgt, "--dt", wpre + "-model-a.json", "--json"]
               if t == "detgrid" else
               [py, snip_paths[t], wgt, wpre + "-model-a.json", os.path.join(work, "warm.json")])
        r = run_rss(cmd, os.path.join(work, "warm.txt"), a.timeout,
                    py_env if t in PY_ROWS else None)
        if r["rc"] != 0:
            log("bench: warm-up of %s failed: %s" % (t, first_error_line(r["err"])))

    mach = machine()
    mach["loadavg_start"] = os.getloadavg()
    log("bench: %s, %d CPUs (%s); runs per tool: %d; peers' python %s, numpy %s"
        % (mach["cpu_model"], mach["nproc"], mach["memory"], a.runs,
           env_info["python"], env_info["numpy"]))
    for t, why in unavailable.items():
        log("bench: %s unavailable: %s" % (t, why))

    results = []
    for scale in [float(s) for s in a.scales.split(",")]:
        gt = os.path.join(work, "g-x%g.json" % scale)
        prefix = os.path.join(work, "d-x%g" % scale)
        dt = prefix + "-model-a.json"
        if not (os.path.exists(gt) and os.path.exists(dt)):
            p = subprocess.run([bin_, "synth", "--coco-scale", "%g" % scale,
                                "--coco-gt", gt, "--coco-dt-prefix", prefix],
                               capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit("bench: synth failed: %s" % p.stderr[-2000:])
        if a.iou_type == "segm":
            mgt = os.path.join(work, "g-x%g-segm.json" % scale)
            mdt = os.path.join(work, "d-x%g-segm.json" % scale)
            if not (os.path.exists(mgt) and os.path.exists(mdt)):
                log("bench: making masks for scale %g" % scale)
                mk = os.path.join(work, "maskify.py")
                with open(mk, "w") as f:
                    f.write(MASKIFY)
                p = subprocess.run([py, mk, gt, dt, mgt, mdt, "7"],
                                   capture_output=True, text=True)
                if p.returncode != 0:
                    sys.exit("bench: masks failed: %s" % p.stderr[-2000:])
            gt, dt = mgt, mdt
        with open(gt) as f:
            g = json.load(f)
        with open(dt) as f:
            n_det = len(json.load(f))
        data = dict(scale=scale, images=len(g["images"]),
                    categories=len(g["categories"]),
                    annotations=len(g["annotations"]), detections=n_det,
                    gt_mb=os.path.getsize(gt) / 1e6, dt_mb=os.path.getsize(dt) / 1e6)
        del g
        proj = os.path.join(work, "p-x%g.h5" % scale)
        if "detgrid-project" in tools:
            # The project is made once, untimed: this row is the query side.
            subprocess.run([bin_, "import", "coco", "--gt", gt, "--dt", dt,
                            "--name", "model-a", "-o", proj, "--force"],
                           capture_output=True, check=True)
        log("scale %gx: %d images, %d categories, %d ground truths, %d detections "
            "(%.1f MB + %.1f MB of JSON)" % (scale, data["images"], data["categories"],
                                             data["annotations"], n_det,
                                             data["gt_mb"], data["dt_mb"]))
        runs = {t: [] for t in tools if t not in unavailable}
        stats = {}
        failed = {}
        for i in range(a.runs):
            for t in runs:
                if t in failed:
                    continue
                out = os.path.join(work, "out-%s.json" % t)
                so = os.path.join(work, "stdout-%s.txt" % t)
                if os.path.exists(out):
                    os.unlink(out)
                iou = ["--iou-type", a.iou_type]
                if t == "detgrid":
                    cmd = [bin_, "coco", "--gt", gt, "--dt", dt, "--json", "-v"] + iou
                elif t == "detgrid-project":
                    cmd = [bin_, "coco", proj, "--json", "-v"] + iou
                else:
                    cmd = [py, snip_paths[t], gt, dt, out, a.iou_type]
                r = run_rss(cmd, so, a.timeout, py_env if t in PY_ROWS else None)
                if r["rc"] != 0:
                    failed[t] = "exit %d: %s" % (r["rc"], first_error_line(r["err"]))
                    log("  %-22s run %d FAILED %s" % (t, i + 1, failed[t]))
                    continue
                try:
                    if t in ("detgrid", "detgrid-project"):
                        with open(so) as f:
                            j = json.load(f)
                        m = re.search(r"^total: ([0-9.]+) s", r["err"], re.M)
                        r["eval_s"] = float(m.group(1)) if m else None
                        r["eval_cpu_s"] = None
                    else:
                        with open(out) as f:
                            j = json.load(f)
                        r["eval_s"] = j["eval_s"]
                        r["eval_cpu_s"] = j.get("eval_cpu_s")
                except (OSError, ValueError) as e:
                    failed[t] = "no stats: %s" % e
                    continue
                s = j["stats"]
                if t in stats and stats[t] != s:
                    log("  %s: stats differ between runs" % t)
                stats[t] = s
                del r["err"]
                runs[t].append(r)
                log("  %-22s run %d: %7.3f s wall, %7.1f s CPU, %6.0f MB peak RSS"
                    % (t, i + 1, r["wall"], r["cpu_s"], r["rss_mb"]))
        ref = stats.get("detgrid")
        ref_med = statistics.median([r["wall"] for r in runs["detgrid"]]) \
            if runs.get("detgrid") else None
        rows = []
        for t in tools:
            row = dict(tool=t, label=LABELS[t], version=versions.get(t))
            if t in unavailable:
                row["unavailable"] = unavailable[t]
            elif t in failed and not runs[t]:
                row["failed"] = failed[t]
            else:
                rs = runs[t]
                walls = [r["wall"] for r in rs]
                med = statistics.median(walls)
                row.update(runs=len(rs), median_s=med, min_s=min(walls), max_s=max(walls),
                           walls_s=walls, cpus_s=[r["cpu_s"] for r in rs],
                           evals_s=[r["eval_s"] for r in rs],
                           rsss_mb=[r["rss_mb"] for r in rs],
                           peak_rss_mb=max(r["rss_mb"] for r in rs),
                           cpu_s=statistics.median([r["cpu_s"] for r in rs]),
                           eval_s=(statistics.median([r["eval_s"] for r in rs])
                                   if rs[0]["eval_s"] is not None else None),
                           eval_cpus_s=[r["eval_cpu_s"] for r in rs],
                           eval_cpu_s=(statistics.median([r["eval_cpu_s"] for r in rs])
                                       if rs[0]["eval_cpu_s"] is not None else None),
                           ratio=(med / ref_med) if ref_med else None,
                           stats=stats.get(t))
                if t in failed:
                    row["failed"] = failed[t]
                row["identical"], row["max_abs_diff"] = compare(stats.get(t), ref)
                if t == "detgrid":
                    row["identical"] = "(reference)"
            rows.append(row)
        results.append(dict(data=data, rows=rows))

    mach["loadavg_end"] = os.getloadavg()
    # The tables, markdown.
    for res in results:
        d = res["data"]
        print("\n**Scale %gx, iouType %s**: %d images, %d categories, %d ground truths, "
              "%d detections (%.1f MB + %.1f MB of JSON); %d runs each, interleaved.\n"
              % (d["scale"], a.iou_type, d["images"], d["categories"], d["annotations"],
                 d["detections"], d["gt_mb"], d["dt_mb"], a.runs))
        print("| tool | version | median wall s | min / max s | peak RSS MB | CPU s "
              "| in-process s | in-process CPU s | × detgrid | 12 stats vs detgrid |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in res["rows"]:
            if "unavailable" in r:
                print("| %s | - | unavailable: %s | | | | | | | |"
                      % (r["label"], r["unavailable"].replace("|", "\\|")))
                continue
            if "median_s" not in r:
                print("| %s | %s | failed: %s | | | | | | | |"
                      % (r["label"], r["version"], r["failed"].replace("|", "\\|")))
                continue
            print("| %s | %s | %s | %s / %s | %.0f | %s | %s | %s | %s | %s |"
                  % (r["label"], r["version"], fmt_s(r["median_s"]), fmt_s(r["min_s"]),
                     fmt_s(r["max_s"]), r["peak_rss_mb"], fmt_s(r["cpu_s"]),
                     fmt_s(r["eval_s"]), fmt_s(r["eval_cpu_s"]),
                     "%.1f" % r["ratio"] if r["ratio"] is not None else "-",
                     r["identical"] + (" (%s)" % r["failed"] if "failed" in r else "")))
    print("\nwall: the whole process (interpreter start-up and imports included); "
          "in-process: from the first load to the stats (detgrid: its `-v` total), and the CPU "
          "time of that stretch (Python rows); CPU: user + system of the "
          "process (CPU / wall = cores used). Machine: %s, %d CPUs, %s; load average "
          "%.2f at the start, %.2f at the end."
          % (mach["cpu_model"], mach["nproc"], mach["memory"],
             mach["loadavg_start"][0], mach["loadavg_end"][0]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(machine=mach, peer_env=env_info, versions=versions,
                           unavailable=unavailable, runs=a.runs, scales=results,
                           command=" ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])),
                      f, indent=1)
    if not a.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
