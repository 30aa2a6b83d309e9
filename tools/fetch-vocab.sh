#!/bin/sh
# fetch-vocab.sh DIR VERSION: put llama.cpp's tokenizer test vocabularies
# (vocab-only GGUF files with their .inp/.out test vectors) into DIR.
#
# They ship inside the llama-cpp-python source package on PyPI, which vendors
# llama.cpp; pip downloads it (no build), and only the few files the tests
# read are extracted. Nothing is committed: this is independent reference data.
set -eu
dir=$1
version=$2
files="llama-spm gpt-2 llama-bpe"

mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
want=""
for f in $files; do
    for ext in gguf gguf.inp gguf.out; do
        want="$want llama_cpp_python-$version/vendor/llama.cpp/models/ggml-vocab-$f.$ext"
    done
done
sh "$(dirname "$0")/llama-cpp-sdist.sh" "$version" "$tmp" $want
for f in $files; do
    mv "$tmp"/llama_cpp_python-"$version"/vendor/llama.cpp/models/ggml-vocab-"$f".gguf* "$dir"/
done
echo "$version" > "$dir/.stamp"
