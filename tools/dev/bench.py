#!/usr/bin/env python3
"""detgrid benchmark: eval's stage profile per device, peak RSS.

Generates COCO val2017-sized synthetic data (5,000 frames, 80 classes,
~36k boxes, ~400k detections) and multiples of it, evaluates it on every
device kind present (the plain-C reference on all cores, each OpenCL
device: PoCL here, a GPU where one is installed; --copies adds each
OpenCL device driven a discrete GPU's way, DETGRID_CL_COPIES=1) and
prints, per stage of `eval --json` (load, order, match; for a device the
upload, kernel and download times and the bytes a detection moved each
way) and for the atomic store, the median over --runs runs, with the
process's wall time, CPU time (user + system: cores used x wall) and
peak resident memory, and the load average around the runs.

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
    """Like run, but measures the child's own peak RSS and CPU time with
    wait4: (wall s, peak RSS MB, stdout, CPU s)."""
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
    return wall, ru.ru_maxrss / 1024.0, out, ru.ru_utime + ru.ru_stime


def devices(bin_, copies):
    kinds = ["ref"]
    _, out = run([bin_, "devices", "--json"])
    for d in json.loads(out):
        if d["usable"]:
            k = ("gpu:" if d["type"] == "gpu" else "cpu:") + d["selector"]
            kinds.append(k)
            if copies:
                kinds.append(k + "+copies")
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
    ap.add_argument("--copies", action="store_true",
                    help="also drive each OpenCL device a discrete GPU's way (DETGRID_CL_COPIES=1)")
    ap.add_argument("--seed", type=int, default=1, help="synth seed")
    a = ap.parse_args()
    bin_ = os.path.abspath(a.bin)
    work = a.workdir or tempfile.mkdtemp(prefix="detgrid-bench-")
    run_rss.outpath = os.path.join(work, "stdout.txt")
    kinds = a.devices.split(",") if a.devices else devices(bin_, a.copies)
    env0 = dict(os.environ)
    env0.setdefault("DETGRID_CACHE_DIR", os.path.join(work, "cl-cache"))
    rows = []
    load0 = os.getloadavg()
    print("device kinds: %s; runs per point: %d; %d CPUs; load average %.2f"
          % (", ".join(kinds), a.runs, os.cpu_count(), load0[0]), file=sys.stderr)
    for scale in [float(s) for s in a.scales.split(",")]:
        proj = os.path.join(work, "coco-x%g.h5" % scale)
        wall, rss, _, _ = run_rss([bin_, "synth", "--coco-scale", str(scale),
                                   "--seed", str(a.seed), "-o", proj], env0)
        _, out = run([bin_, "info", proj, "--json"])
        info = json.loads(out)
        n_det = info["inferences"][0]["detections"]
        size = os.path.getsize(proj)
        print("scale %gx: %d frames, %d labels, %d detections, project %.1f MB (synth %.2f s)"
              % (scale, info["frames"], info["labels"], n_det, size / 1e6, wall), file=sys.stderr)
        if a.import_json and scale == 1:
            gt = os.path.join(work, "gt.json")
            run([bin_, "synth", "--coco-scale", "1", "--coco-gt", gt,
                 "--coco-dt-prefix", os.path.join(work, "dt")], env0)
            times, rsss = [], []
            for _ in range(a.runs):
                w, r, _, _ = run_rss([bin_, "import", "coco", "--gt", gt, "--dt",
                                      os.path.join(work, "dt-model-a.json"), "--name", "model-a",
                                      "-o", os.path.join(work, "imp.h5"), "--force"], env0)
                times.append(w)
                rsss.append(r)
            rows.append(dict(scale=scale, device="-", phase="import coco json",
                             median_s=med(times), peak_rss_mb=max(rsss), detections=n_det))
        # Runs interleaved across devices, so that a noisy neighbour
        # favours none.
        keys = ("load_s", "order_s", "match_s", "upload_s", "kernel_s",
                "download_s", "bytes_up", "bytes_down", "store_s", "wall_s",
                "cpu_s")
        ev = {k: {x: [] for x in keys} for k in kinds}
        rsss = {k: [] for k in kinds}
        desc = {}
        for _ in range(a.runs):
            for kind in kinds:
                env = dict(env0)
                dev = kind
                if kind.endswith("+copies"):
                    dev = kind[:-len("+copies")]
                    env["DETGRID_CL_COPIES"] = "1"
                q = os.path.join(work, "eval.h5")
                shutil.copy(proj, q)
                w, r, out, cpu = run_rss([bin_, "eval", q, "--device", dev,
                                          "--json", "-q"], env)
                j = json.loads(out)
                e = j["evaluations"][0]
                desc[kind] = e["device"]
                dp = e.get("device_profile", {})
                for k in ("load_s", "order_s", "match_s"):
                    ev[kind][k].append(e[k])
                for k in ("upload_s", "kernel_s", "download_s", "bytes_up",
                          "bytes_down"):
                    ev[kind][k].append(dp.get(k, 0))
                ev[kind]["store_s"].append(j["store_s"])
                ev[kind]["wall_s"].append(w)
                ev[kind]["cpu_s"].append(cpu)
                rsss[kind].append(r)
        for kind in kinds:
            row = dict(scale=scale, device=kind, description=desc[kind],
                       detections=n_det, peak_rss_mb=max(rsss[kind]),
                       project_mb=size / 1e6)
            for k in keys:
                row[k] = med(ev[kind][k])
            row["up_b_per_det"] = row["bytes_up"] / n_det if n_det else 0
            row["down_b_per_det"] = row["bytes_down"] / n_det if n_det else 0
            rows.append(row)
            print("  %-14s load %.3f  order %.3f  match %.3f (up %.3f, kernels %.3f, down %.3f; "
                  "%.0f B/det up, %.0f down)  store %.3f | eval wall %.3f s, CPU %.2f s, "
                  "peak RSS %.0f MB"
                  % (kind, row["load_s"], row["order_s"], row["match_s"], row["upload_s"],
                     row["kernel_s"], row["download_s"], row["up_b_per_det"],
                     row["down_b_per_det"], row["store_s"], row["wall_s"], row["cpu_s"],
                     row["peak_rss_mb"]), file=sys.stderr)
        os.unlink(proj)
    load1 = os.getloadavg()
    # The table, markdown.
    print("| scale | detections | device | load s | order s | match s | upload s | kernels s "
          "| download s | B/det up | B/det down | store s | eval wall s | CPU s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r.get("phase"):
            print("| %gx | %d | %s | import COCO JSON: %.3f s | | | | | | | | | | | %.0f |"
                  % (r["scale"], r["detections"], r["device"], r["median_s"], r["peak_rss_mb"]))
            continue
        print("| %gx | %d | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.0f | %.0f | %.3f "
              "| %.3f | %.2f | %.0f |"
              % (r["scale"], r["detections"], r["device"], r["load_s"], r["order_s"],
                 r["match_s"], r["upload_s"], r["kernel_s"], r["download_s"],
                 r["up_b_per_det"], r["down_b_per_det"], r["store_s"], r["wall_s"],
                 r["cpu_s"], r["peak_rss_mb"]))
    print("\nMedians of %d runs, interleaved; %d CPUs; load average %.2f at the start, "
          "%.2f at the end. Devices: %s."
          % (a.runs, os.cpu_count(), load0[0], load1[0],
             "; ".join("%s = %s" % (k, v) for k, v in sorted(desc.items()))))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(rows=rows, load_start=load0, load_end=load1,
                           cpus=os.cpu_count()), f, indent=1)
    if not a.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
