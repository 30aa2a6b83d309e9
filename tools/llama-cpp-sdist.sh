#!/bin/sh
# llama-cpp-sdist.sh VERSION DIR [MEMBER...]: download llama-cpp-python
# VERSION's source package from PyPI (pip, no build) and extract it, or only
# the named members, into DIR (DIR/llama_cpp_python-VERSION/...). It vendors
# llama.cpp: the tokenizer tests' vocabularies (tools/fetch-vocab.sh) and
# llama-bench's sources (tools/crosscheck/llama-bench.sh) come from it, so
# both use the llama.cpp that the cross-check pins. Exits 2, saying why,
# when the download fails.
set -eu
version=$1
dir=$2
shift 2
if ! python3 -m pip download --quiet --no-deps --no-binary :all: \
        "llama-cpp-python==$version" -d "$dir" >"$dir/pip.log" 2>&1; then
    cat "$dir/pip.log" >&2
    echo "llama-cpp-sdist: could not download llama-cpp-python $version from PyPI" \
         "(needs python3 with pip and access to the package registry)" >&2
    exit 2
fi
tar -xzf "$dir/llama_cpp_python-$version.tar.gz" -C "$dir" "$@"
