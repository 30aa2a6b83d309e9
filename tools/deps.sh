#!/bin/sh
# deps.sh: make sure the build and test dependencies are installed.
#
# Checks each need by what the build uses (pkg-config modules, commands), so a
# machine that has them some other way passes without Debian. When something
# is missing and this is Debian with apt-get usable as root, installs the
# Debian packages; otherwise prints the one command to run and fails.
#
#   tools/deps.sh            build + test needs (gcc, make, pkg-config,
#                            libyaml, zlib, Criterion, gcovr)
#   tools/deps.sh repro      also clang (make repro builds with both compilers)
#   tools/deps.sh fuzz       also clang and its libFuzzer/sanitizer runtime
#                            (make fuzz: tests/fuzz/, -fsanitize=fuzzer)
#   tools/deps.sh aarch64    also the cross build and its emulator (make
#                            cross-aarch64): gcc-aarch64-linux-gnu,
#                            qemu-user, libyaml-dev:arm64, zlib1g-dev:arm64
#                            (dpkg's multiarch, arm64 added if missing), and
#                            what the arm64 Criterion needs to run, but not
#                            Criterion itself: Debian cannot install
#                            libcriterion3:arm64 beside the amd64 one, so
#                            tools/criterion-arm64.sh unpacks a private copy
set -u

missing=""
need_pkg() { missing="$missing $1"; }
arm64=""   # set when a package is :arm64 (dpkg must know the architecture)

command -v cc >/dev/null 2>&1 || need_pkg gcc
command -v make >/dev/null 2>&1 || need_pkg make
if command -v pkg-config >/dev/null 2>&1; then
    pkg-config --exists yaml-0.1 || need_pkg libyaml-dev
    pkg-config --exists zlib || need_pkg zlib1g-dev
    pkg-config --exists criterion || need_pkg libcriterion-dev
else
    need_pkg "pkg-config libyaml-dev zlib1g-dev libcriterion-dev"
fi
command -v gcovr >/dev/null 2>&1 || need_pkg gcovr
if [ "${1:-}" = repro ]; then
    command -v clang >/dev/null 2>&1 || need_pkg clang
    command -v gcc >/dev/null 2>&1 || need_pkg gcc
fi
if [ "${1:-}" = fuzz ]; then
    # The runtime is a separate package (libclang-rt-dev); a link of an empty
    # target finds out whether both are there.
    if ! command -v clang >/dev/null 2>&1; then
        need_pkg "clang libclang-rt-dev"
    elif ! printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' |
        clang -fsanitize=fuzzer,address,undefined -x c - -o /dev/null >/dev/null 2>&1; then
        need_pkg libclang-rt-dev
    fi
fi

if [ "${1:-}" = aarch64 ]; then
    [ -n "$(command -v aarch64-linux-gnu-gcc)" ] || need_pkg gcc-aarch64-linux-gnu
    [ -n "$(command -v qemu-aarch64)" ] || need_pkg qemu-user
    pc_arm64() { PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig pkg-config --exists "$1"; }
    pc_arm64 yaml-0.1 || { need_pkg libyaml-dev:arm64; arm64=1; }
    pc_arm64 zlib || { need_pkg zlib1g-dev:arm64; arm64=1; }
    # qemu-aarch64 runs the build with the arm64 loader and libc beside
    # those libraries (see the Makefile's cross-aarch64)
    [ -e /lib/ld-linux-aarch64.so.1 ] || { need_pkg libc6:arm64; arm64=1; }
    # the arm64 Criterion's own libraries, except libnanomsg5, which
    # tools/criterion-arm64.sh unpacks with it (known once apt has arm64)
    crit_deps=$(apt-cache depends libcriterion3:arm64 2>&1 |
        sed -n 's/^ *Depends: \([^ <>]*\)$/\1/p' | grep -v -e '^libnanomsg' -e '^libc6:')
    for p in $crit_deps; do
        dpkg-query -W -f='${db:Status-Abbrev}\n' "$p" 2>&1 | grep -q '^ii' ||
            { need_pkg "$p"; arm64=1; }
    done
fi

[ -z "$missing" ] && exit 0

echo "deps: missing:$missing" >&2
add_arch=""
if [ -n "$arm64" ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    add_arch="dpkg --add-architecture arm64 && "
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    { [ -z "$add_arch" ] || dpkg --add-architecture arm64; } &&
        apt-get update -qq >&2 && apt-get install -y -qq $missing >&2 || {
        echo "deps: apt-get failed; run: ${add_arch}apt-get update && apt-get install -y$missing" >&2
        exit 1
    }
    # the arm64 Criterion's libraries are known only once apt has arm64
    [ "${1:-}" = aarch64 ] && [ -n "$add_arch" ] && exec sh "$0" aarch64
    exit 0
fi
echo "deps: run: ${add_arch:+sudo }${add_arch}sudo apt-get update && sudo apt-get install -y$missing" >&2
exit 1
