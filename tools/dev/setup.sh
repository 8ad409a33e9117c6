#!/usr/bin/env bash
# Installs what detgrid needs on Debian/Ubuntu: compiler, CMake, OpenCL
# headers and ICD loader with PoCL (a CPU OpenCL device), HDF5 and cJSON.
# With --test it also makes .venv/ with the Python test oracles
# (numpy, h5py, pycocotools, tidecv) and the packages the browser, MPI and
# fuzz tests use. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/../.."

pkgs=(build-essential cmake pkg-config ocl-icd-opencl-dev opencl-c-headers
      pocl-opencl-icd clinfo libhdf5-dev hdf5-tools libcjson-dev libexpat1-dev
      zlib1g-dev)
want_test=0
for a in "$@"; do
    case "$a" in
        --test) want_test=1 ;;
        -h|--help) echo "usage: tools/dev/setup.sh [--test]"; exit 0 ;;
        *) echo "setup.sh: unknown option '$a'" >&2; exit 129 ;;
    esac
done
if [ "$want_test" = 1 ]; then
    # clang + compiler-rt: libFuzzer targets; chromium: the report's browser
    # test; Open MPI: the multi-rank eval tests; xmllint: JUnit schema checks.
    pkgs+=(python3 python3-venv python3-pip clang libclang-rt-14-dev valgrind
           chromium openmpi-bin libopenmpi-dev libxml2-utils)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    echo "setup.sh: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "$want_test" = 1 ]; then
    # Installed, not importable: tidecv's cv2 may lack libGL on a bare machine.
    have='import importlib.metadata as m; [m.version(p) for p in ("numpy", "h5py", "pycocotools", "tidecv")]'
    if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "$have" 2>/dev/null; then
        echo "setup.sh: creating .venv with the test oracles" >&2
        python3 -m venv .venv
        .venv/bin/python -m pip install -q --upgrade pip
        .venv/bin/python -m pip install -q -r tests/requirements.txt
    fi
fi
