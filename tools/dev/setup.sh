#!/usr/bin/env bash
# Installs what detgrid needs on Debian/Ubuntu: compiler, CMake, OpenCL
# headers and ICD loader with PoCL (a CPU OpenCL device), HDF5 and cJSON;
# expat (VOC XML), libjpeg-turbo and libpng (frame pictures), cairo and a
# font (plots).
# With --test it also makes .venv/ with the Python test oracles
# (numpy, h5py, pycocotools, tidecv), the packages the browser, MPI and
# fuzz tests use, and installs detgrid's Python package into it (pip
# install .). Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/../.."

pkgs=(build-essential cmake pkg-config ocl-icd-opencl-dev opencl-c-headers
      pocl-opencl-icd clinfo libhdf5-dev hdf5-tools libcjson-dev libexpat1-dev
      libjpeg62-turbo-dev libpng-dev libcairo2-dev fonts-dejavu-core
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
    # test; Open MPI: the multi-rank eval tests; xmllint: JUnit schema checks;
    # pdftotext: the text of PDF plots. python3-dev: the headers the Python
    # package's extension builds with.
    pkgs+=(python3 python3-venv python3-pip python3-dev clang
           libclang-rt-14-dev valgrind chromium openmpi-bin libopenmpi-dev
           libxml2-utils poppler-utils)
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
    have='import importlib.metadata as m; [m.version(p) for p in ("numpy", "h5py", "pycocotools", "tidecv", "pillow", "scikit-build-core")]'
    if [ ! -x .venv/bin/python ]; then
        echo "setup.sh: creating .venv" >&2
        python3 -m venv .venv
        .venv/bin/python -m pip install -q --upgrade pip
    fi
    if ! .venv/bin/python -c "$have" 2>/dev/null; then
        echo "setup.sh: installing the test oracles into .venv" >&2
        .venv/bin/python -m pip install -q -r tests/requirements.txt
    fi
    # The Python package (docs/PYTHON.md): pip install . with the
    # scikit-build-core just installed, so nothing more is fetched; its
    # build tree (build-wheel/) makes a second install incremental.
    echo "setup.sh: installing the detgrid Python package into .venv" >&2
    .venv/bin/python -m pip install -q --no-build-isolation --no-deps .
    .venv/bin/python -c "from detgrid import COCO, COCOeval"
fi
