#!/usr/bin/env python3
"""detgrid benchmark: eval phases, import and query times, peak RSS.

Generates COCO val2017-sized synthetic data (5,000 frames, 80 classes,
~36k boxes, ~400k detections) and multiples of it, evaluates it on every
device kind present (the plain-C reference, each OpenCL device: PoCL here,
a GPU where one is installed) and prints, per phase, the median wall time
over --runs runs and the peak resident memory of the process.

    tools/dev/bench.py --bin build/detgrid --scales 1,10 --runs 5
    tools/dev/bench.py --scales 1,10,100 --runs 3 --json bench.json

Nothing here is a test: timings are reported, never asserted.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def run(cmd, env=None):
    """Runs cmd; returns (wall seconds, stdout)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("bench: %s failed (%d): %s" % (" ".join(cmd), p.returncode,
                                                err.decode()[-2000:]))
    return wall, out.decode()


def run_rss(cmd, env=None):
    """Like run, but measures the child's own peak RSS with wait4."""
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        outfd = os.open(run_rss.outpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(outfd, 1)
        os.dup2(devnull, 2)
        try:
            os.execvpe(cmd[0], cmd, env or os.environ)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("bench: %s failed" % " ".join(cmd))
    with open(run_rss.outpath) as f:
        out = f.read()
    return wall, ru.ru_maxrss / 1024.0, out


def devices(bin_):
    kinds = ["ref"]
    _, out = run([bin_, "devices", "--json"])
    for d in json.loads(out):
        if d["usable"]:
            kinds.append(("gpu:" if d["type"] == "gpu" else "cpu:") + d["selector"])
    return kinds


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "detgrid"))
    ap.add_argument("--scales", default="1,10", help="COCO-val multiples, e.g. 1,10,100")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--devices", default=None, help="comma list (default: ref and every usable OpenCL device)")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--import-json", action="store_true", help="also time COCO JSON import at scale 1")
    a = ap.parse_args()
    bin_ = os.path.abspath(a.bin)
    work = a.workdir or tempfile.mkdtemp(prefix="detgrid-bench-")
    run_rss.outpath = os.path.join(work, "stdout.txt")
    kinds = a.devices.split(",") if a.devices else devices(bin_)
    env = dict(os.environ)
    env.setdefault("DETGRID_CACHE_DIR", os.path.join(work, "cl-cache"))
    rows = []
    print("device kinds: %s; runs per point: %d" % (", ".join(kinds), a.runs), file=sys.stderr)
    for scale in [float(s) for s in a.scales.split(",")]:
        proj = os.path.join(work, "coco-x%g.h5" % scale)
        wall, rss, _ = run_rss([bin_, "synth", "--coco-scale", str(scale), "-o", proj], env)
        _, out = run([bin_, "info", proj, "--json"])
        info = json.loads(out)
        n_det = info["inferences"][0]["detections"]
        size = os.path.getsize(proj)
        print("scale %gx: %d frames, %d labels, %d detections, project %.1f MB (synth %.2f s)"
              % (scale, info["frames"], info["labels"], n_det, size / 1e6, wall), file=sys.stderr)
        if a.import_json and scale == 1:
            gt = os.path.join(work, "gt.json")
            run([bin_, "synth", "--coco-scale", "1", "--coco-gt", gt,
                 "--coco-dt-prefix", os.path.join(work, "dt")], env)
            times, rsss = [], []
            for _ in range(a.runs):
                w, r, _ = run_rss([bin_, "import", "coco", "--gt", gt, "--dt",
                                   os.path.join(work, "dt-model-a.json"), "--name", "model-a",
                                   "-o", os.path.join(work, "imp.h5"), "--force"], env)
                times.append(w)
                rsss.append(r)
            rows.append(dict(scale=scale, device="-", phase="import coco json",
                             median_s=med(times), peak_rss_mb=max(rsss), detections=n_det))
        for kind in kinds:
            ev = {k: [] for k in ("load_s", "match_s", "accumulate_s", "store_s", "wall_s")}
            rsss = []
            for _ in range(a.runs):
                w, r, out = run_rss([bin_, "eval", proj, "--device", kind, "--json", "-q"], env)
                j = json.loads(out)
                e = j["evaluations"][0]
                for k in ("load_s", "match_s", "accumulate_s"):
                    ev[k].append(e[k])
                ev["store_s"].append(j["store_s"])
                ev["wall_s"].append(w)
                rsss.append(r)
            q = []
            for _ in range(a.runs):
                w, r, _ = run_rss([bin_, "metrics", proj, "--conf", "0.37", "--iou", "0.55", "--json"], env)
                q.append(w)
            row = dict(scale=scale, device=kind, detections=n_det,
                       load_s=med(ev["load_s"]), match_s=med(ev["match_s"]),
                       accumulate_s=med(ev["accumulate_s"]), store_s=med(ev["store_s"]),
                       eval_wall_s=med(ev["wall_s"]), peak_rss_mb=max(rsss),
                       query_wall_s=med(q), project_mb=size / 1e6)
            rows.append(row)
            print("  %-10s load %.3f  match %.3f  accumulate %.3f  store %.3f  | eval wall %.3f s  "
                  "peak RSS %.0f MB | metrics query wall %.4f s"
                  % (kind, row["load_s"], row["match_s"], row["accumulate_s"], row["store_s"],
                     row["eval_wall_s"], row["peak_rss_mb"], row["query_wall_s"]), file=sys.stderr)
        os.unlink(proj)
    # The table, markdown.
    print("| scale | detections | device | load s | IoU+match s | accumulate s | store s | eval wall s | peak RSS MB | query wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r.get("phase"):
            print("| %gx | %d | %s | import COCO JSON: %.3f s | | | | | %.0f | |"
                  % (r["scale"], r["detections"], r["device"], r["median_s"], r["peak_rss_mb"]))
            continue
        print("| %gx | %d | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.0f | %.4f |"
              % (r["scale"], r["detections"], r["device"], r["load_s"], r["match_s"],
                 r["accumulate_s"], r["store_s"], r["eval_wall_s"], r["peak_rss_mb"], r["query_wall_s"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    if not a.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
