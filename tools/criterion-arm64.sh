#!/bin/sh
# criterion-arm64.sh DIR: the arm64 Criterion libraries, unpacked into DIR
# (DIR/usr/lib/aarch64-linux-gnu/libcriterion.so.3), for make cross-aarch64
# to link and run the test suite of the aarch64 build under qemu-user.
#
# Why not apt-get install libcriterion-dev:arm64: Debian 12 cannot have it
# beside the amd64 libcriterion-dev that `make test` needs (its libnanomsg5
# differs between the two architectures by a binary rebuild, and
# Multi-Arch: same packages must match), and apt resolves that by removing
# the amd64 one. So the two packages whose versions clash, libcriterion3
# and libnanomsg5, are downloaded by apt-get and unpacked here, nothing is
# installed; the headers are the amd64 package's (the same files: they are
# Multi-Arch: same), and Criterion's other libraries are installed :arm64
# packages (tools/deps.sh aarch64). Exits 1, saying why, when it cannot.
set -eu
dir=${1:?usage: criterion-arm64.sh DIR}
lib=$dir/usr/lib/aarch64-linux-gnu

[ -e "$dir/.stamp" ] && [ -e "$lib/libcriterion.so.3" ] && exit 0
if [ ! -e /usr/include/criterion/criterion.h ]; then
    echo "criterion-arm64: no Criterion headers (/usr/include/criterion); run tools/deps.sh" >&2
    exit 1
fi
rm -rf "$dir"
mkdir -p "$dir/debs"
if ! (cd "$dir/debs" && apt-get download libcriterion3:arm64 libnanomsg5:arm64) >"$dir/log" 2>&1; then
    cat "$dir/log" >&2
    echo "criterion-arm64: apt-get could not download libcriterion3:arm64 and libnanomsg5:arm64" \
         "(needs dpkg's arm64 architecture and apt's lists for it: tools/deps.sh aarch64)" >&2
    exit 1
fi
for deb in "$dir"/debs/*.deb; do
    dpkg-deb -x "$deb" "$dir"
done
if [ ! -e "$lib/libcriterion.so.3" ]; then
    echo "criterion-arm64: $lib/libcriterion.so.3 missing after unpacking" >&2
    exit 1
fi
touch "$dir/.stamp"
