#!/bin/sh
# coverage.sh: run an instrumented build and report its coverage (`make
# coverage`, `make coverage-gate`).
#
#   tools/coverage.sh BUILD_DIR OUT_DIR [MIN_LINE MIN_BRANCH]
#
# BUILD_DIR holds a --coverage build of plumb and plumb-tests (the Makefile
# makes it). The counters are zeroed, then the whole Criterion suite runs
# (its CLI tests spawn BUILD_DIR/plumb, so they count too), then `plumb check`
# on the shipped suite with a cold fixture cache. gcovr writes, for engine/
# and harness/ (tests/ and tools/ are not measured):
#   OUT_DIR/index.html     summary, with a page per file (--html-details)
#   OUT_DIR/coverage.xml   Cobertura XML, for CI servers
#   OUT_DIR/summary.txt    the one line printed last
# Files of an instruction set this CPU lacks (avx2, avx512, avx512_vnni,
# neon in their names) are left out of the figures: no test here can reach
# them.
#
# Branches of the SIMD kernel files are not counted in the branch figure
# (their lines are): their helpers are always_inline, and at -O0 gcc gives
# each source line the branch arcs of every inlined copy, so one `if (hi)`
# inlined at 165 call sites counts as 330 branches, and a struct member line
# gets 605. That measures call sites, not the code, and would swamp the
# figure (13,000 of 19,000 branches). COVERAGE_BRANCH_EXCLUDE (regexes,
# space-separated) lists those files; COVERAGE_EXCLUDE leaves files out of
# both figures (e.g. work in progress). The HTML and XML reports show
# everything as measured.
#
# With MIN_LINE and MIN_BRANCH (percent) it is a gate: exit 1 below either.
set -eu

B=${1:?usage: coverage.sh BUILD_DIR OUT_DIR [MIN_LINE MIN_BRANCH]}
OUT=${2:?usage: coverage.sh BUILD_DIR OUT_DIR [MIN_LINE MIN_BRANCH]}
MIN_LINE=${3:-}
MIN_BRANCH=${4:-}
JOBS=$(nproc 2>/dev/null || echo 2)

find "$B" -name '*.gcda' -exec rm -f {} +
# A test that runs plumb under `ulimit -f` makes libgcov fail to write its
# counts at exit; its complaint must not land on the stderr the test checks.
export GCOV_ERROR_FILE="$B/gcov-errors.log"
rm -f "$GCOV_ERROR_FILE"
rm -rf "$B/fixture-cache" "$B/check-report"

echo "coverage: the Criterion suite ($B/plumb-tests)"
status=0
"$B/plumb-tests" --jobs="$JOBS" --tap="$B/tests.tap" --xml="$B/tests.xml" >"$B/tests.log" 2>&1 || status=$?
tail -n 1 "$B/tests.log"
if [ "$status" -ne 0 ]; then
    echo "coverage: the suite failed (exit $status); see $B/tests.log" >&2
    exit 1
fi
echo "coverage: plumb check on fixtures/suite.yaml"
"$B/plumb" check --cache "$B/fixture-cache" --report "$B/check-report" | tail -n 1

# What this CPU cannot run is not counted.
excl=""
cpu_has() { grep -qw "$1" /proc/cpuinfo 2>/dev/null; }
cpu_has avx2 || excl="$excl --exclude .*avx2.*"
cpu_has avx512f || excl="$excl --exclude .*avx512.*"
{ cpu_has avx512_vnni && cpu_has avx512vbmi && cpu_has avx512_bitalg && cpu_has gfni; } ||
    excl="$excl --exclude .*avx512_vnni.*"
case $(uname -m) in aarch64 | arm64) ;; *) excl="$excl --exclude .*neon.*" ;; esac
[ -z "$excl" ] || echo "coverage: not counted on this CPU:$excl"

for re in ${COVERAGE_EXCLUDE:-}; do excl="$excl --exclude $re"; done
bexcl=""
for re in ${COVERAGE_BRANCH_EXCLUDE-engine/kernels/simd_.*\.h engine/kernels/avx2\.c engine/kernels/avx512\.c engine/kernels/avx512_vnni\.c engine/kernels/neon\.c}; do
    bexcl="$bexcl --exclude $re"
done

mkdir -p "$OUT"
rm -f "$OUT"/*.html "$OUT"/*.css "$OUT/coverage.xml"
# shellcheck disable=SC2086 # excl, bexcl are lists of options
gcovr --root . --filter 'engine/' --filter 'harness/' $excl \
    --html-details "$OUT/index.html" --html-title 'plumb coverage: engine/ and harness/' \
    --cobertura "$OUT/coverage.xml" --print-summary "$B" >"$B/gcovr.log"
# shellcheck disable=SC2086
gcovr --root . --filter 'engine/' --filter 'harness/' $excl $bexcl \
    --print-summary --txt "$B/gcovr-branches.txt" "$B" >"$B/gcovr-branches.log"
# (never --output /dev/null: gcovr replaces its output file, and as root
# that replaced the device with a regular file)

line=$(awk '/^lines:/ { sub(/^lines: /, ""); print }' "$B/gcovr.log")
branch=$(awk '/^branches:/ { sub(/^branches: /, ""); print }' "$B/gcovr-branches.log")
all_branch=$(awk '/^branches:/ { sub(/^branches: /, ""); print }' "$B/gcovr.log")
summary="coverage of engine/ + harness/: lines $line, branches $branch"
echo "$summary" >"$OUT/summary.txt"
echo "coverage: report in $OUT/index.html, Cobertura XML in $OUT/coverage.xml"
echo "coverage: branches with the inlined SIMD files' arcs counted too: $all_branch"
echo "$summary"
if [ -s "$GCOV_ERROR_FILE" ]; then
    echo "coverage: $(wc -l <"$GCOV_ERROR_FILE") count files could not be written (see $GCOV_ERROR_FILE)"
fi

[ -n "$MIN_LINE" ] || exit 0
lp=${line%%%*}
bp=${branch%%%*}
if awk -v l="$lp" -v b="$bp" -v ml="$MIN_LINE" -v mb="$MIN_BRANCH" 'BEGIN { exit !(l >= ml && b >= mb) }'; then
    echo "coverage gate: pass (lines >= $MIN_LINE%, branches >= $MIN_BRANCH%)"
else
    echo "coverage gate: FAIL: lines $lp% (min $MIN_LINE%), branches $bp% (min $MIN_BRANCH%)" >&2
    exit 1
fi
