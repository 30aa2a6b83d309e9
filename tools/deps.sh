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
set -u

missing=""
need_pkg() { missing="$missing $1"; }

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

[ -z "$missing" ] && exit 0

echo "deps: missing:$missing" >&2
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq $missing >&2 && exit 0
    echo "deps: apt-get failed; run: apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
echo "deps: run: sudo apt-get update && sudo apt-get install -y$missing" >&2
exit 1
