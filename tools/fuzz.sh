#!/bin/sh
# fuzz.sh: run plumb's libFuzzer targets (tests/fuzz/) on seed corpora.
#
#   tools/fuzz.sh SECONDS TARGET...      what `make fuzz FUZZ_SECONDS=N` runs
#
# Run from the repository root after `make fuzz-build fixtures vocab` (make
# fuzz does all three). For each target:
#   1. seeds build/fuzz/corpus/TARGET/ from the shipped fixtures and the
#      committed regression inputs tests/fuzz/regress/TARGET/ (the corpus
#      is kept between runs, so campaigns build on each other);
#   2. runs build/fuzz/fuzz_TARGET for SECONDS under nice -n 10, with a
#      -max_len fitted to the target's inputs, its log in
#      build/fuzz/logs/TARGET.log;
#   3. on a finding (crash, leak, timeout, out of memory), minimises each
#      input libFuzzer saved (-minimize_crash=1) and copies the result into
#      tests/fuzz/regress/TARGET/, to commit with the fix.
# Then prints executions per target (libFuzzer's final stats). Exits 1 when
# any target found something, 2 on a usage or setup error.
#
# FUZZ_JOBS=N runs N targets at once (default 1; the machine's other users
# get the rest). FUZZ_MINIMIZE_SECONDS bounds each minimisation (default 60).
# FUZZ_SEEDS=PROGRAM (make passes build/fuzz-seeds) adds the small synthetic
# seeds of tests/fuzz/seeds.c.
set -u

if [ $# -lt 2 ]; then
    echo "usage: tools/fuzz.sh SECONDS TARGET..." >&2
    exit 2
fi
seconds=$1
shift
jobs=${FUZZ_JOBS:-1}
min_seconds=${FUZZ_MINIMIZE_SECONDS:-60}
out=build/fuzz
mkdir -p "$out/logs" "$out/artifacts"

# Largest input per target: the biggest shipped seed fits, and the text
# formats get room to grow well past their fixtures.
max_len() {
    case $1 in
    gguf) echo 1048576 ;;
    dump) echo 262144 ;;
    spec | tokenizer) echo 4096 ;;
    policy | suite) echo 8192 ;;
    *) echo 4096 ;;
    esac
}

dict_of() {
    case $1 in
    spec | policy | suite) echo tests/fuzz/yaml.dict ;;
    gguf | dump) echo tests/fuzz/gguf.dict ;;
    *) echo "" ;;
    esac
}

# cp SRC into the corpus unless it is larger than the target takes.
seed() {
    dir=$1 limit=$2 src=$3
    [ -f "$src" ] || return 0
    [ "$(wc -c <"$src")" -le "$limit" ] || return 0
    cp -f "$src" "$dir/seed-$(basename "$src")"
}

# The tokenizer's inputs: one vocabulary-selector byte, then the text.
seed_text() {
    dir=$1 name=$2 file=$3
    for sel in 0 1 2 3 4 13; do
        { printf "\\$(printf %03o "$sel")"; cat "$file"; } >"$dir/seed-$name-$sel"
    done
}

build_corpus() {
    t=$1
    dir=$out/corpus/$t
    lim=$(max_len "$t")
    mkdir -p "$dir"
    for f in tests/fuzz/regress/"$t"/* "$out"/seeds/"$t"/*; do
        seed "$dir" "$lim" "$f"
    done
    case $t in
    gguf)
        for f in build/fixtures/*.gguf build/vocab/ggml-vocab-llama-spm.gguf; do
            seed "$dir" "$lim" "$f"
        done
        # a dump is a GGUF too, after gunzip
        for f in golden/*-short.gguf.gz; do
            b=$(basename "$f" .gz)
            gzip -dc "$f" >"$out/$b" && seed "$dir" "$lim" "$out/$b"
        done
        ;;
    spec)
        for f in fixtures/*.yaml fixtures/bench/*.yaml; do
            [ "$f" = fixtures/suite.yaml ] || seed "$dir" "$lim" "$f"
        done
        ;;
    policy)
        for f in fixtures/policies/*.yaml; do seed "$dir" "$lim" "$f"; done
        ;;
    suite)
        seed "$dir" "$lim" fixtures/suite.yaml
        ;;
    dump)
        for f in golden/*.gguf.gz; do seed "$dir" "$lim" "$f"; done
        # small dumps: one position through each fixture
        for m in build/fixtures/*.gguf; do
            b=$(basename "$m" .gguf)
            [ -f "$dir/seed-$b-1.gguf.gz" ] ||
                build/plumb dump -m "$m" --tokens 1 -o "$dir/seed-$b-1.gguf.gz" >/dev/null 2>&1 ||
                true
        done
        ;;
    tokenizer)
        tmp=$out/text
        mkdir -p "$tmp"
        # llama.cpp's tokenizer test inputs, one file per test string
        awk -v d="$tmp" 'BEGIN { RS = "\n__ggml_vocab_test__\n"; n = 0 }
            { f = sprintf("%s/vocab-test-%02d", d, n++); printf "%s", $0 > f; close(f) }' \
            build/vocab/ggml-vocab-llama-spm.gguf.inp
        # and prose: the README's paragraphs
        awk -v d="$tmp" 'BEGIN { RS = ""; n = 0 }
            n < 40 { f = sprintf("%s/readme-%02d", d, n++); printf "%s\n", $0 > f; close(f) }' \
            README.md
        for f in "$tmp"/*; do seed_text "$dir" "$(basename "$f")" "$f"; done
        ;;
    esac
}

# Run target $1; its summary line goes to $out/logs/$1.summary.
run_one() {
    t=$1
    bin=$out/fuzz_$t
    log=$out/logs/$t.log
    art=$out/artifacts/$t/
    if [ ! -x "$bin" ]; then
        echo "fuzz: $bin missing (make fuzz-build)" >&2
        printf '%-10s %12s  %s\n' "$t" "-" "not built" >"$out/logs/$t.summary"
        return
    fi
    build_corpus "$t"
    rm -rf "$art"
    mkdir -p "$art"
    dict=$(dict_of "$t")
    set -- -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art"
    [ -n "$dict" ] && [ -f "$dict" ] && set -- "$@" -dict="$dict"
    echo "fuzz: $t: ${seconds}s, log $log"
    nice -n 10 "$bin" "$@" "$out/corpus/$t" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$log" | tail -n 1)
    [ -n "$execs" ] || execs="?"
    found=""
    for a in "$art"crash-* "$art"leak-* "$art"timeout-* "$art"oom-*; do
        [ -f "$a" ] || continue
        kind=$(basename "$a" | cut -d- -f1)
        min=$a.min
        nice -n 10 "$bin" -minimize_crash=1 -max_total_time="$min_seconds" -timeout=10 \
            -rss_limit_mb=2048 -exact_artifact_path="$min" "$a" >"$log.minimize" 2>&1
        [ -s "$min" ] || cp "$a" "$min"
        mkdir -p tests/fuzz/regress/"$t"
        dest=tests/fuzz/regress/$t/$kind-$(sha1sum "$min" | cut -c1-16)
        cp "$min" "$dest"
        found="$found $dest"
    done
    if [ -n "$found" ]; then
        result="FOUND:$found (see $log)"
    elif [ $rc -ne 0 ]; then
        result="FAILED (exit $rc, see $log)"
    else
        result="ok"
    fi
    printf '%-10s %12s  %s\n' "$t" "$execs" "$result" >"$out/logs/$t.summary"
}

if [ "${FUZZ_RUN_ONE:-}" = 1 ]; then
    run_one "$1"
    exit 0
fi

# Small synthetic seeds (tests/fuzz/seeds.c), made once for all targets.
if [ -n "${FUZZ_SEEDS:-}" ]; then
    rm -rf "$out/seeds"
    "$FUZZ_SEEDS" corpus "$out/seeds" || exit 2
fi

# N at a time: each target in its own background job, waiting for the
# oldest when the set is full.
running=""
n=0
for t in "$@"; do
    FUZZ_RUN_ONE=1 sh "$0" "$seconds" "$t" &
    running="$running $!"
    n=$((n + 1))
    if [ "$n" -ge "$jobs" ]; then
        first=${running# }
        first=${first%% *}
        wait "$first"
        running=${running# }
        running=${running#"$first"}
        n=$((n - 1))
    fi
done
wait

echo
printf '%-10s %12s  %s\n' target executions result
status=0
for t in "$@"; do
    if [ -f "$out/logs/$t.summary" ]; then
        cat "$out/logs/$t.summary"
        grep -q ' ok$' "$out/logs/$t.summary" || status=1
        rm -f "$out/logs/$t.summary"
    else
        printf '%-10s %12s  %s\n' "$t" "-" "no result"
        status=1
    fi
done
exit $status
