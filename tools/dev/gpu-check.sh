#!/usr/bin/env bash
# One command for a GPU node: build detgrid, run the differential tests on
# the NVIDIA OpenCL platform, run the benchmark. Meant to finish within 10
# minutes.
#
#   tools/dev/gpu-check.sh --prepare   # on a Debian machine with network: fetch
#                                  # the libraries a bare GPU node lacks into
#                                  # .gpu-debs/ (git-ignored)
#   tools/dev/gpu-check.sh [OUTDIR]    # on the GPU node: build, test, benchmark;
#                                  # logs and the table go to OUTDIR
set -uo pipefail
cd "$(dirname "$0")/../.."
# HDF5, cJSON and the OpenCL ICD loader with everything Debian's libhdf5
# links against, so the node needs none of them installed.
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
log="$out/gpu-check.log"
exec > >(tee "$log") 2>&1
t0=$(date +%s)
echo "== machine"; nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
root=$PWD/.gpu-root
extra=()
have_all() {
    [ -f /usr/include/hdf5/serial/hdf5.h ] && [ -f /usr/include/cjson/cJSON.h ] &&
        [ -f /usr/include/CL/cl.h ]
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
echo "== build"
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release "${extra[@]}" >/dev/null &&
    cmake --build build-gpu -j"$(nproc)" >/dev/null || { echo "BUILD FAILED"; exit 1; }
build-gpu/detgrid devices
export DETGRID_CACHE_DIR=$PWD/build-gpu/cl-cache
echo "== differential tests on the GPU (DETGRID_DEVICE=gpu)"
DETGRID_DEVICE=gpu DETGRID_TEST_DEVICE=gpu timeout 240 ctest --test-dir build-gpu -R 'cl|match|project|confusion|coco|bootstrap|embed' -E 'py_' --output-on-failure
rc=$?
echo "== eval on gpu and ref give identical metrics (COCO val scale)"
p=$out/coco1.h5
build-gpu/detgrid synth --coco-scale 1 -o "$p"
cp "$p" "$out/coco1-ref.h5"
build-gpu/detgrid eval "$p" --device gpu
build-gpu/detgrid eval "$out/coco1-ref.h5" --device ref
same=1
for c in 0.05 0.37 0.5 0.9; do for t in 0.5 0.55 0.75 0.95; do
    for q in metrics confusion; do
        cmp -s <(build-gpu/detgrid $q "$p" --conf $c --iou $t --json) \
               <(build-gpu/detgrid $q "$out/coco1-ref.h5" --conf $c --iou $t --json) || same=0
    done
done; done
echo "gpu == ref, metrics and confusion at 16 points: $same"
rm -f "$p" "$out/coco1-ref.h5"
echo "== benchmark"
python3 tools/dev/bench.py --bin build-gpu/detgrid --scales 1,10 --runs ${BENCH_RUNS:-3} --json "$out/bench.json" | tee "$out/bench.md"
echo "== done in $(( $(date +%s) - t0 )) s; tests rc=$rc identical=$same"
[ $rc = 0 ] && [ $same = 1 ]
