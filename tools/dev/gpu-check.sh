#!/usr/bin/env bash
# One command for a GPU node: build detgrid, run the differential tests on
# the GPU, check that the GPU, PoCL (where installed) and the reference
# path on every core store the same /results bytes at 1x and 10x COCO val
# (every raw chunk, tools/dev/h5-results-cmp), then print eval's stage
# profile per device at 1x, 10x and 100x (tools/dev/bench.py). Meant to
# finish within 8 minutes on a 16-core node; the 100x benchmark is left
# out when the time is short.
#
#   tools/dev/gpu-check.sh --prepare   # on a Debian machine with network: fetch
#                                      # the libraries a bare GPU node lacks into
#                                      # .gpu-debs/ (git-ignored)
#   tools/dev/gpu-check.sh [OUTDIR]    # on the GPU node: build, test, benchmark;
#                                      # logs, tables and JSON go to OUTDIR
#
# Environment: BENCH_RUNS (default 3), BENCH_SCALES (default 1,10,100),
# GPU_CHECK_SCALES (default "1 10": the scales of the byte checks),
# GPU_CHECK_BUDGET_S (default 470: the seconds after which the rest of the
# benchmark is skipped), DETGRID_DEVICE (default gpu).
set -uo pipefail
cd "$(dirname "$0")/../.."
# HDF5, cJSON, zlib and the OpenCL ICD loader with everything Debian's
# libhdf5 links against, so the node needs none of them installed.
debs=(libhdf5-dev libhdf5-103-1 libsz2 libaec0 libcjson1 libcjson-dev
      ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-c-headers
      libbrotli1 libcurl4 libffi8 libgmp10 libgnutls30 libgssapi-krb5-2
      libhogweed6 libidn2-0 libk5crypto3 libkrb5-3 libkrb5support0
      libldap-2.5-0 libnettle8 libnghttp2-14 libp11-kit0 libpsl5 librtmp1
      libsasl2-2 libssh2-1 libssl3 libtasn1-6 libunistring2 libzstd1
      libcom-err2 libkeyutils1 zlib1g zlib1g-dev)
if [ "${1:-}" = "--prepare" ]; then
    mkdir -p .gpu-debs && cd .gpu-debs && apt-get download "${debs[@]}"
    exit $?
fi
out=${1:-gpu-check-out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
log="$out/gpu-check.log"
exec > >(tee "$log") 2>&1
t0=$(date +%s)
budget=${GPU_CHECK_BUDGET_S:-470}
dev=${DETGRID_DEVICE:-gpu}
elapsed() { echo $(( $(date +%s) - t0 )); }
echo "== machine"
nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
echo "$(nproc) CPUs; $(uptime)"
root=$PWD/.gpu-root
extra=()
have_all() {
    [ -f /usr/include/hdf5/serial/hdf5.h ] && [ -f /usr/include/cjson/cJSON.h ] &&
        [ -f /usr/include/CL/cl.h ] && [ -f /usr/include/zlib.h ]
}
if [ -d .gpu-debs ] && ! have_all; then
    rm -rf "$root"; mkdir -p "$root"
    for d in .gpu-debs/*.deb; do dpkg -x "$d" "$root"; done
    # An old-style RPATH (searched for indirect dependencies too) points only
    # detgrid's binaries at the carried libraries; nothing else sees them.
    lib="$root/usr/lib/x86_64-linux-gnu"
    extra+=(-DCMAKE_BUILD_RPATH="$lib;$lib/hdf5/serial;$root/lib/x86_64-linux-gnu"
            -DCMAKE_EXE_LINKER_FLAGS="-Wl,--disable-new-dtags"
            -DDETGRID_HDF5_ROOT="$root"
            -DCJSON_INCLUDE_DIR="$root/usr/include"
            -DCJSON_LIBRARY="$root/usr/lib/x86_64-linux-gnu/libcjson.so.1"
            -DZLIB_INCLUDE_DIR="$root/usr/include"
            -DZLIB_LIBRARY="$root/usr/lib/x86_64-linux-gnu/libz.so"
            -DOpenCL_INCLUDE_DIR="$root/usr/include"
            -DOpenCL_LIBRARY="$root/usr/lib/x86_64-linux-gnu/libOpenCL.so.1")
fi
# The NVIDIA driver's OpenCL ICD: register it when the image has the
# library but no vendor file names it (a PoCL one may be there already).
nv=$(ldconfig -p | awk '/libnvidia-opencl.so.1/ {print $NF; exit}')
[ -z "$nv" ] && nv=$(ls /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so* /usr/local/nvidia/lib64/libnvidia-opencl.so* /usr/lib64/libnvidia-opencl.so* 2>/dev/null | head -1)
echo "NVIDIA OpenCL library: ${nv:-none}"
if [ -n "$nv" ] && ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
    mkdir -p /etc/OpenCL/vendors && echo "$nv" > /etc/OpenCL/vendors/nvidia.icd
fi
echo "== build ($(elapsed) s)"
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DDETGRID_MPI=OFF "${extra[@]}" >/dev/null &&
    cmake --build build-gpu -j"$(nproc)" >/dev/null || { echo "BUILD FAILED"; exit 1; }
B=$PWD/build-gpu/detgrid
CMP=$PWD/build-gpu/h5-results-cmp
$B devices
export DETGRID_CACHE_DIR=$PWD/build-gpu/cl-cache
# A CPU OpenCL device (PoCL) if the node has one: its selector.
pocl=$(python3 -c '
import json, sys
for d in json.load(sys.stdin):
    if d["type"] == "cpu" and d["usable"]:
        print(d["selector"]); break' < <($B devices --json) 2>/dev/null)
echo "PoCL (a CPU OpenCL device): ${pocl:-none on this node}"

echo "== differential tests on $dev ($(elapsed) s)"
DETGRID_DEVICE=$dev timeout 200 ctest --test-dir build-gpu \
    -R 'test-frames|test-cl-diff|test-cl-runtime|test-match-ref|test-confusion|test-h5chunk|test-bootstrap|test-embed' \
    --output-on-failure
rc=$?

echo "== the same /results bytes on every device ($(elapsed) s)"
same=1
work=$(mktemp -d)
# check SCALE LABEL DEVICE [ENV=VALUE...] -- [EVAL ARGS...]: one eval
# against the reference's /results.
check() {
    local s=$1 label=$2 d=$3; shift 3
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    cp "$work/coco$s.h5" "$work/dev.h5"
    env "${envs[@]}" "$B" eval "$work/dev.h5" --device "$d" -q "$@" 2> "$work/err.txt"
    local e=$?
    if [ $e != 0 ] || grep -q "falling back" "$work/err.txt"; then
        echo "${s}x $label: eval failed or fell back: $(tail -3 "$work/err.txt")"
        same=0
        return
    fi
    printf "%4sx %-22s vs ref, every core: " "$s" "$label"
    "$CMP" "$work/ref.h5" "$work/dev.h5" || same=0
}
for s in ${GPU_CHECK_SCALES:-1 10}; do
    "$B" synth --coco-scale $s --seed 12 -o "$work/coco$s.h5" >/dev/null
    cp "$work/coco$s.h5" "$work/ref.h5"
    "$B" eval "$work/ref.h5" --device ref -q || same=0
    check $s "$dev" "$dev" --
    check $s "$dev, memory budget" "$dev" DETGRID_CHUNK_DETS=500000 -- --memory-budget 64
    check $s "ref, 1 thread" ref -- --threads 1
    if [ -n "$pocl" ]; then
        check $s "PoCL" "cpu:$pocl" --
    fi
    rm -f "$work/coco$s.h5" "$work/ref.h5" "$work/dev.h5"
done
rm -rf "$work"
echo "identical: $same"

echo "== benchmark ($(elapsed) s)"
runs=${BENCH_RUNS:-3}
devs="ref,$dev${pocl:+,cpu:$pocl}"
IFS=, read -ra scales <<< "${BENCH_SCALES:-1,10,100}"
for s in "${scales[@]}"; do
    left=$(( budget - $(elapsed) ))
    # 100x: about 40 s a run per device on 16 cores; one run when short.
    r=$runs
    if [ "${s%%.*}" -ge 100 ]; then
        [ $left -lt 150 ] && { echo "skipping ${s}x: ${left} s left"; continue; }
        [ $left -lt 300 ] && r=1
    fi
    timeout $(( left > 30 ? left : 30 )) python3 tools/dev/bench.py --bin "$B" \
        --scales "$s" --runs "$r" --devices "$devs" --json "$out/bench-${s}x.json" |
        tee "$out/bench-${s}x.md"
done
echo "== done in $(elapsed) s; differential tests rc=$rc; identical bytes: $same"
[ $rc = 0 ] && [ $same = 1 ]
