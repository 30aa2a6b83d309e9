#!/bin/sh
# llama-bench.sh DIR VERSION: build llama.cpp's own benchmark, llama-bench,
# into DIR/llama-bench, from the llama.cpp that llama-cpp-python VERSION
# vendors (the same llama.cpp the cross-check runs), downloaded from PyPI.
#
# Unlike the cross-check's build (GGML_NATIVE=OFF, a fixed instruction set so
# that measured errors do not depend on the runner's CPU), this one is built
# with GGML_NATIVE=ON: llama.cpp at its fastest on this machine, the fair
# opponent for `plumb bench --kernels auto`. Static libraries, so the binary
# stands alone; only the llama-bench target is built (about 5 minutes on 2
# cores). Needs python3 with pip, cmake and a C++ compiler.
set -eu
dir=$1
version=$2
for tool in python3 cmake c++; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "bench-vs-llamacpp: needs $tool (Debian: apt-get install python3-pip cmake g++)" >&2
        exit 2
    }
done
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh "$(dirname "$0")/../llama-cpp-sdist.sh" "$version" "$tmp"
src="$tmp/llama_cpp_python-$version/vendor/llama.cpp"
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$src" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
      -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
      >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log" >&2; exit 2; }
cmake --build "$tmp/build" --target llama-bench -j "$jobs" >"$tmp/build.log" 2>&1 \
      || { tail -40 "$tmp/build.log" >&2; exit 2; }
cp "$tmp/build/bin/llama-bench" "$dir/llama-bench.tmp"
mv "$dir/llama-bench.tmp" "$dir/llama-bench"
echo "$version" > "$dir/.stamp"
