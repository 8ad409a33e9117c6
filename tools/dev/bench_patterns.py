#!/usr/bin/env python3
"""Speed of the pattern finders at COCO val2017 scale (docs/SLICES.md,
docs/EMBEDDINGS.md): `embeddings --patterns` over 5,000 frame embeddings
and `slices` over 6 metadata columns, as whole processes (start, read,
analyse, print), median of --runs runs, with the CPU time (user + system)
beside the wall time and the load average before and after, since the
development machine is shared. `metrics --json` on the same file runs in
the same loop as the baseline of what merely opening the project costs.

    tools/dev/bench_patterns.py --runs 5
    tools/dev/bench_patterns.py --project coco.h5 --runs 9

Nothing here is a test: timings are reported, never asserted.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def timed(cmd):
    """(wall s, cpu s of the child) of one run of cmd."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit("bench_patterns: %s failed: %s"
                 % (" ".join(cmd), p.stderr.decode()[-2000:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "detgrid"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--project", help="use (or make and keep) this project; "
                    "by default one is made in a temporary folder and "
                    "removed")
    ap.add_argument("--device", default="ref")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-patterns-")
    proj = args.project or os.path.join(tmp, "coco.h5")
    if not os.path.exists(proj):
        subprocess.run([args.bin, "synth", "--coco-scale", "1", "--embeddings",
                        "256", "--plant-pattern", "miss", "--metadata",
                        "--plant-slice", "-o", proj], check=True)
        subprocess.run([args.bin, "eval", proj, "--device", args.device, "-q"],
                       check=True)
    cases = [
        ("metrics --json (baseline)", ["metrics", proj, "--json"]),
        ("embeddings --patterns (5,000 frames, D 256)",
         ["embeddings", proj, "--patterns", "--json", "--compact",
          "--device", args.device]),
        ("slices (6 columns, <= 2 conditions)",
         ["slices", proj, "--json", "--compact", "--columns",
          "weather,time,camera,location,speed,brightness"]),
        ("slices (6 columns, <= 3 conditions)",
         ["slices", proj, "--json", "--compact", "--conditions", "3",
          "--columns", "weather,time,camera,location,speed,brightness"]),
    ]
    print("load average before: %s (%d cores)" % (loadavg(), os.cpu_count()))
    res = {name: [] for name, _ in cases}
    for _ in range(args.runs):
        for name, cmd in cases:
            res[name].append(timed([args.bin] + cmd))
    print("load average after:  %s" % loadavg())
    shutil.rmtree(tmp)
    print("\n| command | wall s (median) | CPU s (median) | wall s min..max |")
    print("|---|---|---|---|")
    for name, _ in cases:
        w = [x[0] for x in res[name]]
        c = [x[1] for x in res[name]]
        print("| %s | %.2f | %.2f | %.2f..%.2f |"
              % (name, statistics.median(w), statistics.median(c), min(w),
                 max(w)))


if __name__ == "__main__":
    main()
