#!/bin/sh
# venv.sh DIR [CACHE]: create the cross-check's Python environment in
# DIR/venv from tools/crosscheck/requirements.txt, with pip's cache in CACHE
# (default DIR/pip-cache; a folder outside the work tree lets the built
# llama.cpp wheel outlive `make clean` and fresh CI clones).
#
# llama-cpp-python builds llama.cpp from source. CMAKE_ARGS:
#   -DGGML_NATIVE=OFF  a fixed instruction set instead of -march=native: with
#                      GGML_NATIVE off ggml enables SSE4.2, AVX, AVX2, FMA,
#                      F16C and BMI2 (no AVX-512) on x86-64, so every x86-64
#                      machine with AVX2 runs the same llama.cpp code paths
#                      and the measured errors do not depend on which CPU
#                      the CI runner has; and the cached wheel stays valid
#                      when the cache moves to another machine.
#   -DLLAMA_BUILD_TESTS/EXAMPLES/SERVER=OFF, -DLLAVA_BUILD=OFF: only the
#                      libraries are needed (and they build faster).
# The built wheel lands in pip's cache (CACHE/wheels), so once it is
# there a fresh venv installs in seconds.
set -eu
dir=$1
cache=${2:-$dir/pip-cache}
here=$(dirname "$0")
py=${PYTHON:-python3}
command -v "$py" >/dev/null 2>&1 || { echo "crosscheck: needs $py (with venv) and a C++ compiler, cmake" >&2; exit 2; }
rm -rf "$dir/venv"
"$py" -m venv "$dir/venv" || { echo "crosscheck: '$py -m venv' failed (Debian: apt-get install python3-venv)" >&2; exit 2; }
mkdir -p "$cache"
export PIP_CACHE_DIR="$(cd "$cache" && pwd)"
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAVA_BUILD=OFF"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"
"$dir/venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
touch "$dir/venv/.stamp"
