#!/usr/bin/env bash
#
# hostile.sh: plumb against hostile inputs (`make hostile`).
#
# Feeds every command broken inputs: missing files, folders, empty files,
# FIFOs, truncated and corrupted GGUF files and dumps, absurd counts and
# sizes in GGUF headers and metadata, YAML with wrong types, huge numbers,
# deep nesting and alias bombs, unwritable and full output paths (a missing
# folder, a read-only or full file system, `ulimit -f`, /dev/full). Each
# input must be refused the way tools/cli.h promises:
#   - exit status 2: no crash, no hang (every run has a time limit);
#   - exactly one line on stderr, "plumb: ...", that names the file at
#     fault and gives a reason after the name;
#   - no output file left behind (an output that existed before is left as
#     it was), and no temporary "*.tmp.*" file anywhere;
#   - memory: a normal build runs under `ulimit -v` (HOSTILE_VMEM_KB, 1 GiB),
#     and the absurd-size inputs (2^60 tensors, a 2^62-byte string, ...)
#     must be refused by a check, whose reason is matched, never by an
#     allocation that failed. A sanitizer build (build/san/plumb, found by
#     its ASan runtime) runs instead with any ASan, LSan or UBSan finding
#     fatal, so a memory error, undefined behaviour or a leak fails the case.
# A few inputs are odd but valid (alignment 1, NaN weights, unknown token
# types): the command may accept or refuse them, but must not crash, hang
# or trip a sanitizer, and a refusal is still one line.
#
# usage: tests/hostile.sh [PLUMB]       (default: build/plumb)
#   HOSTILE_VERBOSE=1 also prints each case that passes, with its message.
# Needs bash, coreutils and gzip. Cases that need root (a tmpfs mount) or a
# C compiler (a plugin without its entry point) are skipped, with a message,
# where those are missing. The last line is "N passed, M failed"; the exit
# status is 1 when any case failed.

set -u
export LC_ALL=C
unset CI # the check cases record a golden first

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PLUMB=${1:-$ROOT/build/plumb}
case $PLUMB in /*) ;; *) PLUMB=$PWD/$PLUMB ;; esac
if [ ! -x "$PLUMB" ]; then
    echo "hostile: $PLUMB: no such program (run make first)" >&2
    exit 2
fi

# Everything here leans on the system's devices: make sure they are devices.
for dev in /dev/null /dev/full; do
    if [ ! -c $dev ]; then
        echo "hostile: $dev is not a character device (replaced by a rename as root?);" \
            "restore it first: rm -f $dev && mknod -m 666 $dev c 1 $([ $dev = /dev/null ] && echo 3 || echo 7)" >&2
        exit 2
    fi
done

W=$(mktemp -d /tmp/plumb-hostile.XXXXXX)
MOUNTS=()
cleanup() {
    for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null; done
    chmod -R u+w "$W" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if grep -qa __asan_init "$PLUMB"; then
    SAN=1
    # Findings are fatal and exit 99; a huge allocation returns NULL (as it
    # would past `ulimit -v`), which the code must handle.
    export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:exitcode=99:allocator_may_return_null=1:max_allocation_size_mb=1024
    export LSAN_OPTIONS=exitcode=99
    export UBSAN_OPTIONS=halt_on_error=1:exitcode=99:print_stacktrace=1
    VMEM=unlimited # ASan reserves terabytes of address space for its shadow
    LIMIT_S=120
else
    SAN=0
    VMEM=${HOSTILE_VMEM_KB:-1048576}
    LIMIT_S=30
fi

PASS=0
FAIL=0
SKIP=0
say() { printf '%s\n' "$*"; }
skip() {
    SKIP=$((SKIP + 1))
    say "skip  $*"
}

# ---- running plumb ----

# run_plumb ARGS...: run plumb under the limits, stdin from $STDIN (default
# /dev/null), stdout to $STDOUT (default $W/stdout), stderr to $W/stderr, with
# `ulimit -f $FSIZE` (KiB) when FSIZE is set. Sets RC.
run_plumb() {
    (
        ulimit -v "$VMEM" 2>/dev/null
        if [ -n "${FSIZE:-}" ]; then ulimit -f "$FSIZE"; fi
        exec timeout -k 5 "$LIMIT_S" "$PLUMB" "$@"
    ) <"${STDIN:-/dev/null}" >"${STDOUT:-$W/stdout}" 2>"$W/stderr"
    RC=$?
    # ASan's note that an allocation failed (and returned NULL, as asked) is
    # the runtime's, not plumb's output; what plumb then says is checked.
    if [ $SAN = 1 ]; then sed -i '/^==[0-9]*==WARNING: AddressSanitizer failed to allocate/d' "$W/stderr"; fi
}

exit_note() {
    case $1 in
    99) echo " (a sanitizer finding)" ;;
    124 | 137) echo " (timed out after ${LIMIT_S}s)" ;;
    127) echo " (could not run)" ;;
    1[3-9][0-9]) echo " (killed by signal $(($1 - 128)))" ;;
    esac
}

fail() {
    FAIL=$((FAIL + 1))
    say "FAIL  $LABEL: $1"
    say "      plumb $ARGS"
    sed -n '1,8s/^/      | /p' "$W/stderr"
}

pass() {
    PASS=$((PASS + 1))
    if [ -n "${HOSTILE_VERBOSE:-}" ]; then say "ok    $LABEL: $(head -n 1 "$W/stderr")"; fi
}

# Temporary files left anywhere we write: the work folder and /dev.
leftovers() {
    find "$W" /dev -maxdepth 4 -name '*.tmp.*' 2>/dev/null | head -n 3 | tr '\n' ' '
}

state_of() { # what must not change about an output path
    if [ -f "$1" ]; then cksum <"$1"; elif [ -e "$1" ]; then stat -c '%F %t:%T' "$1"; else echo absent; fi
}

# reject LABEL NAME [REASON_ERE] -- ARGS...: plumb ARGS must refuse with
# exit 2 and one line on stderr naming NAME (and matching REASON_ERE when
# given). With OUT=path set: that output must be as it was before (absent,
# or the same bytes).
reject() {
    LABEL=$1
    local name=$2 re=""
    shift 2
    if [ "$1" != -- ]; then
        re=$1
        shift
    fi
    shift
    ARGS="$*"
    local before=""
    if [ -n "${OUT:-}" ]; then before=$(state_of "$OUT"); fi
    run_plumb "$@"
    local lines line left
    lines=$(awk 'END { print NR }' "$W/stderr")
    line=$(head -n 1 "$W/stderr")
    left=$(leftovers)
    if [ "$RC" -ne 2 ]; then
        fail "exit $RC$(exit_note "$RC"), expected 2"
    elif [ "$lines" -ne 1 ]; then
        fail "$lines lines on stderr, expected 1"
    elif [[ $line != "plumb: "* ]]; then
        fail "the message does not start with 'plumb: '"
    elif [[ $line != *"$name"* ]]; then
        fail "the message does not name '$name'"
    elif [[ ${line#*"$name"} != *[[:alpha:]]* ]]; then
        fail "no reason after the name"
    elif [ -n "$re" ] && ! [[ $line =~ $re ]]; then
        fail "the reason does not match /$re/"
    elif [ -n "${OUT:-}" ] && [ "$(state_of "$OUT")" != "$before" ]; then
        fail "the output $OUT was changed or left behind"
    elif [ -n "$left" ]; then
        fail "temporary files left behind: $left"
    else
        pass
    fi
    if [ -n "$left" ]; then find "$W" -name '*.tmp.*' -delete 2>/dev/null; fi
    if [ -n "${OUT:-}" ] && [ "$before" = absent ]; then rm -rf "$OUT"; fi
    return 0
}

# survive LABEL -- ARGS...: an odd but valid input. Exit 0, or 2 with one
# "plumb: " line; never a crash, a hang, a sanitizer finding or a leftover.
survive() {
    LABEL=$1
    shift 2
    ARGS="$*"
    run_plumb "$@"
    local lines left
    lines=$(awk 'END { print NR }' "$W/stderr")
    left=$(leftovers)
    if [ "$RC" -ne 0 ] && [ "$RC" -ne 2 ]; then
        fail "exit $RC$(exit_note "$RC"), expected 0 or 2"
    elif grep -qE 'Sanitizer|runtime error' "$W/stderr"; then
        fail "a sanitizer finding"
    elif [ "$RC" -eq 2 ] && { [ "$lines" -ne 1 ] || [[ $(head -n 1 "$W/stderr") != "plumb: "* ]]; }; then
        fail "refused, but not with one 'plumb: ' line ($lines lines)"
    elif [ -n "$left" ]; then
        fail "temporary files left behind: $left"
    else
        pass
    fi
    return 0
}

# ---- building hostile bytes ----

# le V N: the N little-endian bytes of integer V (64-bit two's complement).
le() {
    local v=$1 n=$2 i s=""
    for ((i = 0; i < n; i++)); do s+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255))); done
    printf '%b' "$s"
}
u32() { le "$1" 4; }
u64() { le "$1" 8; }
gstr() { u64 "${#1}"; printf '%s' "$1"; }           # GGUF string
ghead() { printf GGUF; u32 3; u64 "$1"; u64 "$2"; } # n_tensors n_kv
kv_u32() { gstr "$1"; u32 4; u32 "$2"; }
kv_str() { gstr "$1"; u32 8; gstr "$2"; }
tinfo() { # NAME N_DIMS "NE..." TYPE OFFSET
    gstr "$1"
    u32 "$2"
    local ne
    for ne in $3; do u64 "$ne"; done
    u32 "$4"
    u64 "$5"
}
pad32() { # pad file $1 with zeros to a multiple of 32, then add $2 zero bytes
    local s
    s=$(stat -c %s "$1")
    head -c $(((32 - s % 32) % 32 + ${2:-0})) /dev/zero >>"$1"
}
# A one-tensor GGUF: general.alignment $5 (default none), tensor info from
# the arguments of tinfo, then data.
one_tensor() { # OUT NAME N_DIMS "NE..." TYPE OFFSET DATA_BYTES [ALIGN]
    local out=$1
    {
        if [ -n "${8:-}" ]; then
            ghead 1 1
            kv_u32 general.alignment "$8"
        else ghead 1 0; fi
        tinfo "$2" "$3" "$4" "$5" "$6"
    } >"$out"
    pad32 "$out" "$7"
}
# Overwrite bytes of file $1 at offset $2 with stdin.
poke() { dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
# Byte offset just after the first occurrence of string $2 in file $1.
after() {
    local at
    at=$(grep -obUa -m 1 -F -- "$2" "$1" | head -n 1 | cut -d: -f1)
    echo $((at + ${#2}))
}
# A copy of model $1 as $2 with the u32 value of key $3 set to $4.
set_u32() {
    cp "$1" "$2"
    local at
    at=$(after "$2" "$3")
    u32 "$4" | poke "$2" $((at + 4))
}
set_type() { # file key new-type-id: rewrite the value type tag only
    local at
    at=$(after "$1" "$2")
    u32 "$3" | poke "$1" "$at"
}

# ---- the material: real files from the build under test ----

cd "$W" || exit 2
mkdir -p in out
say "hostile: $PLUMB ($([ $SAN = 1 ] && echo "sanitizers, findings fatal" || echo "ulimit -v $VMEM KiB"))"
if ! "$PLUMB" gen "$ROOT/fixtures/gqa.yaml" -o in/gqa.gguf >/dev/null ||
    ! "$PLUMB" gen "$ROOT/fixtures/mixed.yaml" -o in/mixed.gguf >/dev/null ||
    ! "$PLUMB" dump -m in/gqa.gguf --tokens 1,2,3 -o in/gqa.gguf.gz >/dev/null; then
    echo "hostile: cannot generate the base files with $PLUMB" >&2
    exit 2
fi
GQA=$W/in/gqa.gguf
MIXED=$W/in/mixed.gguf
DUMP=$W/in/gqa.gguf.gz
SPEC=$ROOT/fixtures/gqa.yaml
EXACT=$ROOT/fixtures/policies/exact.yaml
mkdir in/dir
: >in/empty
mkfifo in/fifo
printf 'plain text, not a model\n' >in/text

# ======== GGUF files: inspect, tokenize, run, dump, bench ========

G=$W/in/g
mkdir -p "$G"
# name|reason ERE|bytes (a shell command writing the file to $f)
gguf_cases=(
    "tensors-2^60|tensor count 1152921504606846976 cannot fit|ghead \$((1 << 60)) 0 >\$f; head -c 64 /dev/zero >>\$f"
    "tensors-2^63|cannot fit|ghead \$((1 << 63)) 0 >\$f; head -c 64 /dev/zero >>\$f"
    "kv-2^60|metadata count 1152921504606846976 cannot fit|ghead 0 \$((1 << 60)) >\$f; head -c 64 /dev/zero >>\$f"
    "key-2^62-bytes|exceeds the .*limit|{ ghead 0 1; u64 \$((1 << 62)); head -c 64 /dev/zero; } >\$f"
    "string-2^62-bytes|exceeds the .*limit|{ ghead 0 1; gstr k; u32 8; u64 \$((1 << 62)); head -c 64 /dev/zero; } >\$f"
    "string-past-end|exceeds the 4 bytes that remain|{ ghead 0 1; gstr k; u32 8; u64 1000; printf abcd; } >\$f"
    "array-2^62-elements|exceeds the limit|{ ghead 0 1; gstr k; u32 9; u32 0; u64 \$((1 << 62)); } >\$f"
    "array-2^30-u64|needs at least 8589934592 bytes|{ ghead 0 1; gstr k; u32 9; u32 10; u64 \$((1 << 30)); } >\$f"
    "array-2^29-strings|needs at least|{ ghead 0 1; gstr k; u32 9; u32 8; u64 \$((1 << 29)); } >\$f"
    "arrays-nested-100|nested 9 deep|{ ghead 0 1; gstr k; u32 9; for i in \$(seq 100); do u32 9; u64 1; done; } >\$f"
    "bad-magic|bad magic|{ printf GGML; u32 3; u64 0; u64 0; } >\$f"
    "version-1|unsupported version 1|{ printf GGUF; u32 1; u64 0; u64 0; } >\$f"
    "version-byteswapped|byte-swapped|{ printf GGUF; u32 \$((3 << 24)); u64 0; u64 0; } >\$f"
    "header-cut|truncated|{ printf GGUF; u32 3; u32 0; } >\$f"
    "three-bytes|truncated|printf GGU >\$f"
    "value-type-13|value type 13 is unknown|{ ghead 0 1; gstr k; u32 13; u32 0; } >\$f"
    "value-type-negative|value type -1 is unknown|{ ghead 0 1; gstr k; u32 \$((0xffffffff)); u32 0; } >\$f"
    "array-elem-type-99|element type 99 is unknown|{ ghead 0 1; gstr k; u32 9; u32 99; u64 0; } >\$f"
    "empty-key|key is empty|{ ghead 0 1; gstr ''; u32 0; head -c 64 /dev/zero; } >\$f"
    "key-with-nul|NUL|{ ghead 0 1; u64 3; printf 'a\\0b'; u32 0; head -c 64 /dev/zero; } >\$f"
    "duplicate-key|duplicate key|{ ghead 0 2; kv_u32 a 1; kv_u32 a 2; } >\$f"
    "alignment-3|power of two|{ ghead 0 1; kv_u32 general.alignment 3; } >\$f"
    "alignment-0|power of two|{ ghead 0 1; kv_u32 general.alignment 0; } >\$f"
    "alignment-string|has type string, expected u32|{ ghead 0 1; kv_str general.alignment 32; } >\$f"
    "alignment-2^31|past the end|one_tensor \$f t 1 32 0 0 128 \$((1 << 31))"
    "n_dims-0|n_dims is 0|one_tensor \$f t 0 '' 0 0 128"
    "n_dims-5|n_dims is 5|one_tensor \$f t 5 '1 1 1 1 1' 0 0 128"
    "dim-0|dim 1 is 0|one_tensor \$f t 2 '4 0' 0 0 128"
    "dim-negative|dim 0 is -1|one_tensor \$f t 1 \$((-1)) 0 0 128"
    "elements-overflow|element count overflows|one_tensor \$f t 2 \"\$((1 << 62)) 4\" 0 0 128"
    "bytes-overflow|byte size .* overflows|one_tensor \$f t 2 \"\$((1 << 60)) 4\" 0 0 128"
    "type-9999|type 9999 is not a known ggml type|one_tensor \$f t 1 32 9999 0 128"
    "type-retired-4|type 4 is not a known ggml type|one_tensor \$f t 1 32 4 0 128"
    "q8_0-row-33|not a multiple of q8_0's block size 32|one_tensor \$f t 1 33 8 0 128"
    "offset-unaligned|offset 1 is not a multiple of the alignment 32|one_tensor \$f t 1 8 0 1 128"
    "offset-2^62|runs past the end|one_tensor \$f t 1 8 0 \$((1 << 62)) 128"
    "data-past-end|runs past the end|one_tensor \$f t 1 64 0 0 128"
    "name-64-bytes|name is 64 bytes, expected at most 63|one_tensor \$f \$(printf 'n%.0s' \$(seq 64)) 1 8 0 0 128"
    "tensors-overlap|overlaps tensor|{ ghead 2 0; tinfo a 1 8 0 0; tinfo b 1 8 0 0; } >\$f; pad32 \$f 64"
    "tensors-duplicate|duplicate tensor name|{ ghead 2 0; tinfo a 1 8 0 0; tinfo a 1 8 0 32; } >\$f; pad32 \$f 64"
)
for c in "${gguf_cases[@]}"; do
    IFS='|' read -r name re cmd <<<"$c"
    f=$G/$name.gguf
    eval "$cmd"
    reject "inspect $name" "$f" "$re" -- inspect "$f"
    reject "inspect --json $name" "$f" "$re" -- inspect "$f" --json
done
# The engine commands open models through the same reader: a sample of the
# crafted files through each (the absurd sizes all included).
for name in tensors-2^60 kv-2^60 key-2^62-bytes string-2^62-bytes array-2^62-elements \
    array-2^30-u64 arrays-nested-100 bad-magic header-cut elements-overflow offset-2^62 \
    tensors-overlap; do
    f=$G/$name.gguf
    reject "tokenize $name" "$f" -- tokenize -m "$f" -p hello
    reject "run $name" "$f" -- run -m "$f" -p hello -n 2
    OUT=$W/out/d.gguf.gz reject "dump $name" "$f" -- dump -m "$f" --tokens 1,2 -o "$W/out/d.gguf.gz"
    reject "bench $name" "$f" -- bench -m "$f" --reps 1
done

# Not files, or empty.
for cmd in inspect tokenize run dump bench; do
    for p in "$W/in/missing.gguf" "$W/in/dir" "$W/in/empty" "$W/in/fifo" /dev/null "$W/in/text"; do
        case $cmd in
        inspect) args=(inspect "$p") ;;
        tokenize) args=(tokenize -m "$p" -p hi) ;;
        run) args=(run -m "$p" -p hi -n 1) ;;
        dump) args=(dump -m "$p" --tokens 1 -o "$W/out/d.gguf.gz") ;;
        bench) args=(bench -m "$p" --reps 1) ;;
        esac
        OUT=$W/out/d.gguf.gz reject "$cmd ${p##*/}" "$p" -- "${args[@]}"
    done
done

# A real model cut short anywhere: inside the header, the metadata, the
# tensor infos, the data.
size=$(stat -c %s "$GQA")
for cut in 3 8 23 24 100 2000 9000 12000 12831 12900 300000 $((size - 1)); do
    f=$G/gqa-cut-$cut.gguf
    head -c "$cut" "$GQA" >"$f"
    reject "inspect cut at $cut" "$f" "truncated|exceeds|past the end|cannot fit|needs" -- inspect "$f"
done
for cut in 2000 12000 300000; do
    f=$G/gqa-cut-$cut.gguf
    reject "run cut at $cut" "$f" -- run -m "$f" -p hi -n 1
    OUT=$W/out/d.gguf.gz reject "dump cut at $cut" "$f" -- dump -m "$f" --tokens 1 -o "$W/out/d.gguf.gz"
    reject "tokenize cut at $cut" "$f" -- tokenize -m "$f" -p hi
done

# Valid GGUF, hostile llama metadata: the model binding must refuse it.
M=$W/in/m
mkdir -p "$M"
model_case() { # NAME REASON_ERE: $M/NAME.gguf must be refused by run, dump, bench
    local f=$M/$1.gguf
    reject "run $1" "$f" "$2" -- run -m "$f" -p hello -n 2
    OUT=$W/out/d.gguf.gz reject "dump $1" "$f" "$2" -- dump -m "$f" --tokens 1,2 -o "$W/out/d.gguf.gz"
    reject "bench $1" "$f" "$2" -- bench -m "$f" --reps 1 --prompt 2 --decode 2
}
cp "$GQA" "$M/arch-llamb.gguf"
printf llamb | poke "$M/arch-llamb.gguf" $(($(after "$M/arch-llamb.gguf" general.architecture) + 12))
model_case arch-llamb "architecture is 'llamb'"
set_u32 "$GQA" "$M/layers-2^32-1.gguf" llama.block_count $((0xffffffff))
model_case layers-2^32-1 "tensor 'blk.2.attn_norm.weight' missing"
set_u32 "$GQA" "$M/layers-3.gguf" llama.block_count 3
model_case layers-3 "tensor 'blk.2.attn_norm.weight' missing"
set_u32 "$GQA" "$M/dim-2^31.gguf" llama.embedding_length $((1 << 31))
model_case dim-2^31 "rope.dimension_count|dim 0 is 64"
set_u32 "$GQA" "$M/heads-0.gguf" llama.attention.head_count 0
model_case heads-0 "head_count is 0"
set_u32 "$GQA" "$M/kv-heads-3.gguf" llama.attention.head_count_kv 3
model_case kv-heads-3 "does not divide"
set_u32 "$GQA" "$M/vocab-2^32-1.gguf" llama.vocab_size $((0xffffffff))
model_case vocab-2^32-1 "vocab_size|expected 4294967295"
set_u32 "$GQA" "$M/ffn-2^32.gguf" llama.feed_forward_length $((0xffffffff))
model_case ffn-2^32 "expected 4294967295"
set_u32 "$GQA" "$M/eps-nan.gguf" llama.attention.layer_norm_rms_epsilon $((0x7fc00000))
model_case eps-nan "layer_norm_rms_epsilon"
set_u32 "$GQA" "$M/rope-inf.gguf" llama.rope.freq_base $((0x7f800000))
model_case rope-inf "freq_base"
set_u32 "$GQA" "$M/ctx-0.gguf" llama.context_length 0
model_case ctx-0 "context_length is 0"
cp "$GQA" "$M/ctx-f32.gguf"
set_type "$M/ctx-f32.gguf" llama.context_length 6
model_case ctx-f32 "context_length.*(type|integer)"
cp "$GQA" "$M/ctx-i32-neg.gguf"
set_type "$M/ctx-i32-neg.gguf" llama.context_length 5
u32 $((0xfffffff0)) | poke "$M/ctx-i32-neg.gguf" $(($(after "$M/ctx-i32-neg.gguf" llama.context_length) + 4))
model_case ctx-i32-neg "context_length"
cp "$GQA" "$M/arch-u32.gguf"
set_type "$M/arch-u32.gguf" general.architecture 4
model_case arch-u32 "general.architecture|truncated|unknown|exceeds"
# A valid model with general.alignment 1 whose f32 weights sit at odd
# offsets (found by fuzzing): the scalar kernels must copy such rows rather
# than read them as float * (UBSan: misaligned load).
survive "run misaligned-f32" -- run -m tests/data/model-misaligned-f32.gguf -p hi -n 2 --temp 0
# A model may declare a context of 2^32 - 1 positions: run, dump and bench
# size the KV cache by the tokens they evaluate, so a short run works and
# never tries to allocate the declared context.
set_u32 "$GQA" "$M/ctx-2^32-1.gguf" llama.context_length $((0xffffffff))
survive "run ctx-2^32-1" -- run -m "$M/ctx-2^32-1.gguf" -p hello -n 2
OUT=$W/out/d.gguf.gz survive "dump ctx-2^32-1" -- dump -m "$M/ctx-2^32-1.gguf" --tokens 1,2 -o "$W/out/d.gguf.gz"
# Tensor shapes and types that do not match the metadata.
cp "$GQA" "$M/q-type-q4_k.gguf"
u32 12 | poke "$M/q-type-q4_k.gguf" $(($(after "$M/q-type-q4_k.gguf" blk.0.attn_q.weight) + 4 + 16))
model_case q-type-q4_k "row length 64 is not a multiple of q4_k's block size 256"

# Tokenizer metadata.
tok_case() { # NAME REASON_ERE
    local f=$M/$1.gguf
    reject "tokenize $1" "$f" "$2" -- tokenize -m "$f" -p "hello world" --bos
    reject "run $1" "$f" "$2" -- run -m "$f" -p "hello world" -n 2
    OUT=$W/out/d.gguf.gz reject "dump -p $1" "$f" "$2" -- dump -m "$f" -p "hello world" -o "$W/out/d.gguf.gz"
}
cp "$GQA" "$M/tok-model.gguf"
printf xxxxx | poke "$M/tok-model.gguf" $(($(after "$M/tok-model.gguf" tokenizer.ggml.model) + 12))
tok_case tok-model "xxxxx"
set_u32 "$GQA" "$M/tok-bos.gguf" tokenizer.ggml.bos_token_id $((0xfffffff0))
tok_case tok-bos "bos"
cp "$GQA" "$M/tok-tokens-u64.gguf"
u32 10 | poke "$M/tok-tokens-u64.gguf" $(($(after "$M/tok-tokens-u64.gguf" tokenizer.ggml.tokens) + 4))
tok_case tok-tokens-u64 "tokenizer|truncated|unknown|exceeds|needs|key"
cp "$GQA" "$M/tok-scores-short.gguf"
u64 511 | poke "$M/tok-scores-short.gguf" $(($(after "$M/tok-scores-short.gguf" tokenizer.ggml.scores) + 8))
tok_case tok-scores-short "scores|truncated|unknown|exceeds|key"
# Odd but valid: unknown token types, NaN and Inf weights, alignment 1.
cp "$GQA" "$M/tok-types-99.gguf"
at=$(($(after "$M/tok-types-99.gguf" tokenizer.ggml.token_type) + 16))
for i in 0 1 2 3 100 200; do u32 99 | poke "$M/tok-types-99.gguf" $((at + 4 * i)); done
survive "tokenize unknown token types" -- tokenize -m "$M/tok-types-99.gguf" -p "hello world" --bos --pieces
survive "run unknown token types" -- run -m "$M/tok-types-99.gguf" -p "hello world" -n 4
cp "$GQA" "$M/nan.gguf"
data=$(("$(stat -c %s "$GQA")" - 591104))
head -c 131072 /dev/zero | tr '\0' '\377' | poke "$M/nan.gguf" "$data"
# All logits NaN: nothing can be sampled, which must be said about the model.
reject "run NaN embeddings" "$M/nan.gguf" "NaN|logit|sampl" -- run -m "$M/nan.gguf" -p hello -n 4
reject "run NaN embeddings, greedy" "$M/nan.gguf" "NaN|logit|sampl" -- run -m "$M/nan.gguf" -p hello -n 4 --temp 0
survive "dump NaN embeddings" -- dump -m "$M/nan.gguf" --tokens 1,2,3 -o "$W/out/nan.gguf.gz"
cp "$GQA" "$M/inf-norm.gguf"
norm=$((data + 131072))
for i in $(seq 0 63); do u32 $((0x7f800000)) | poke "$M/inf-norm.gguf" $((norm + 4 * i)); done
survive "run Inf norm" -- run -m "$M/inf-norm.gguf" -p hello -n 4 --top-k 0 --top-p 1 --min-p 0
# Alignment 1: float data at an odd address (a dump whose taps are read as
# floats, so a reader that casts instead of copying trips UBSan).
{
    ghead 2 1
    kv_u32 general.alignment 1
    tinfo inp_embd 2 "1 1" 0 0
    tinfo result_output 2 "3 2" 0 5
} >"$G/align-1.gguf"
printf '\x00\x00\x80\x3f' >>"$G/align-1.gguf"
printf '\x00' >>"$G/align-1.gguf"
for i in 1 2 3 4 5 6; do printf '\x00\x00\x80\x3f' >>"$G/align-1.gguf"; done
survive "inspect alignment 1" -- inspect "$G/align-1.gguf" --json
gzip -n -c "$G/align-1.gguf" >"$G/align-1.gguf.gz"
survive "compare alignment 1" -- compare "$G/align-1.gguf.gz" "$G/align-1.gguf.gz"
rm -f "$W"/out/*

# Hostile arguments for the engine commands.
OUT=$W/out/d.gguf.gz reject "dump token out of range" "$GQA" "out of range" -- dump -m "$GQA" --tokens 1,99999 -o "$W/out/d.gguf.gz"
OUT=$W/out/d.gguf.gz reject "dump prompt over the context" "$GQA" "context" -- dump -m "$GQA" -p "$(printf 'word %.0s' $(seq 200))" -o "$W/out/d.gguf.gz"
reject "run prompt over the context" "$GQA" "context" -- run -m "$GQA" -p "$(printf 'word %.0s' $(seq 200))" -n 1
reject "tokenize -f missing" "$W/in/missing.txt" -- tokenize -m "$GQA" -f "$W/in/missing.txt"
reject "tokenize -f folder" "$W/in/dir" -- tokenize -m "$GQA" -f "$W/in/dir"
OUT=$W/out/d.gguf.gz reject "dump --tokens 2^31" "dump" -- dump -m "$GQA" --tokens 2147483648 -o "$W/out/d.gguf.gz"
OUT=$W/out/d.gguf.gz reject "dump --tokens ,," "dump" -- dump -m "$GQA" --tokens 1,,2 -o "$W/out/d.gguf.gz"
reject "run -n 2^40" "run" -- run -m "$GQA" -p hi -n 1099511627776

# ======== YAML: gen (spec), compare --tolerances (policy), check --suite ========

Y=$W/in/y
mkdir -p "$Y"
# name|reason ERE (may be empty)|YAML text (printf %b), replacing the spec's dim line
spec_cases=(
    "dim-string|dim|dim: abc"
    "dim-quoted|dim|dim: \"64\""
    "dim-sequence|dim|dim: [64]"
    "dim-mapping|dim|dim: {a: 1}"
    "dim-negative|dim|dim: -64"
    "dim-float|dim|dim: 64.0"
    "dim-1e400|dim|dim: 1e400"
    "dim-2^64|dim|dim: 18446744073709551616"
    "dim-30-digits|dim|dim: 999999999999999999999999999999"
    "dim-0|dim|dim: 0"
    "dim-octal|dim|dim: 0100"
    "dim-null|dim|dim: ~"
    "dim-empty|dim|dim:"
    "dim-tag|tag|dim: !!int 64"
    "dim-anchor|anchor|dim: &a 64"
    "seed-2^64|seed|seed: 18446744073709551616\ndim: 64"
    "vocab-2^40|vocab|vocab: 1099511627776\ndim: 64"
    "rope-1e999|rope_base|rope_base: 1e999\ndim: 64"
    "rope-nan|rope_base|rope_base: .nan\ndim: 64"
    "eps-0|rms_eps|rms_eps: 0\ndim: 64"
    "eps-subnormal|rms_eps|rms_eps: 1e-45\ndim: 64"
    "init-scale-inf|init_scale|init_scale: .inf\ndim: 64"
    "tied-yes|tied_output|tied_output: yes\ndim: 64"
    "unknown-key|unknown key|dimm: 64"
    "duplicate-key|duplicate key|dim: 64\ndim: 64"
    "types-unknown|types|dim: 64\ntypes:\n  default: q9_9"
    "types-nomatch|types|dim: 64\ntypes:\n  \"nothing.*\": f16"
    "types-nested|types|dim: 64\ntypes:\n  default: {a: f32}"
    "huge-model|2\\^32|dim: 1048576\nffn_dim: 1048576\nheads: 1024\nkv_heads: 1024\nlayers: 1024\nvocab: 16777216\ncontext: 16777216"
    "name-300|name|dim: 64\nname: $(printf 'n%.0s' $(seq 300))"
    "name-control|name|dim: 64\nname: \"a\\\\x01b\""
    "tab-indent||dim: 64\ntypes:\n\tdefault: f32"
    "syntax||dim: [64"
    "two-documents|document|dim: 64\n---\ndim: 64"
)
# The gqa spec with the top-level keys of $1 (printf %b text) replaced by it.
spec_with() {
    local text keys
    text=$(printf '%b' "$1")
    keys=$(printf '%s\n' "$text" | sed -n 's/^\([a-z_]*\):.*/\1/p' | tr '\n' ' ')
    awk -v keys=" $keys " '
        /^#/ { next }
        /^[a-z_]+:/ { k = $1; sub(":.*", "", k); skip = index(keys, " " k " ") > 0 }
        !skip { print }' "$SPEC"
    printf '%s\n' "$text"
}
for c in "${spec_cases[@]}"; do
    IFS='|' read -r name re text <<<"$c"
    f=$Y/spec-$name.yaml
    spec_with "$text" >"$f"
    OUT=$W/out/m.gguf reject "gen $name" "$f" "$re" -- gen "$f" -o "$W/out/m.gguf"
done

# Whole-file hostilities, for each of the three YAML readers. The nesting
# and the alias bomb start at a key the reader knows (dim, defaults, cases),
# so that they are met, not an unknown key before them.
deep_flow() { # KEY: a flow sequence nested 100000 deep as KEY's value
    printf '%s: ' "$1"
    head -c 100000 /dev/zero | tr '\0' '['
    echo
}
deep_block() { # KEY: block sequences nested 400 deep as KEY's value
    local i
    printf '%s:\n' "$1"
    for i in $(seq 1 400); do printf '%*s-\n' $((2 * i)) ''; done
}
alias_bomb() { # KEY: a billion laughs (9^9 'lol's when expanded), from KEY on
    local prev=a n
    printf '%s: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' "$1"
    for n in b c d e f g h i; do
        printf '%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n' $n $n $prev $prev $prev $prev $prev $prev $prev $prev $prev
        prev=$n
    done
}
for r in spec:dim policy:defaults suite:cases; do
    deep_flow "${r#*:}" >"$Y/deep-flow-${r%:*}.yaml"
    deep_block "${r#*:}" >"$Y/deep-block-${r%:*}.yaml"
    alias_bomb "${r#*:}" >"$Y/alias-bomb-${r%:*}.yaml"
done
head -c 4096 "$PLUMB" >"$Y/binary.yaml"
printf 'name: caf\xe9\n' >"$Y/latin1.yaml"
printf 'name: a\0b\n' >"$Y/nul.yaml"
{
    cat "$SPEC"
    for i in $(seq 20000); do echo "# padding line $i to go past the one-mebibyte limit on input"; done
} >"$Y/over-1mib.yaml"
printf -- '- a\n- b\n' >"$Y/sequence.yaml"
printf 'just a scalar\n' >"$Y/scalar.yaml"
printf '%s\n' '{a: 1, b: [1, 2], c: {d: e}}' >"$Y/flow-map.yaml"
printf '\xef\xbb\xbf\xef\xbb\xbfdim: 64\n' >"$Y/double-bom.yaml"
for r in spec policy suite; do
    for y in deep-flow deep-block alias-bomb; do
        f=$Y/$y-$r.yaml
        case $r in
        spec) OUT=$W/out/m.gguf reject "gen $y" "$f" "dim: expected an integer, found a sequence|anchor" -- gen "$f" -o "$W/out/m.gguf" ;;
        policy) reject "compare --tolerances $y" "$f" "defaults: expected a mapping|anchor" -- compare "$DUMP" "$DUMP" --tolerances "$f" ;;
        suite) reject "check --suite $y" "$f" "cases: expected a sequence of cases|cases\\[0\\]|anchor" -- check --suite "$f" --cache "$W/cache" ;;
        esac
    done
done
yaml_files=(binary latin1 nul over-1mib sequence scalar flow-map double-bom)

for y in "${yaml_files[@]}"; do
    f=$Y/$y.yaml
    OUT=$W/out/m.gguf reject "gen $y" "$f" -- gen "$f" -o "$W/out/m.gguf"
    reject "compare --tolerances $y" "$f" -- compare "$DUMP" "$DUMP" --tolerances "$f"
    reject "check --suite $y" "$f" -- check --suite "$f" --cache "$W/cache"
done
for p in "$W/in/missing.yaml" "$W/in/dir" "$W/in/empty" /dev/null; do
    OUT=$W/out/m.gguf reject "gen ${p##*/}" "$p" -- gen "$p" -o "$W/out/m.gguf"
    reject "compare --tolerances ${p##*/}" "$p" -- compare "$DUMP" "$DUMP" --tolerances "$p"
    reject "check --suite ${p##*/}" "$p" -- check --suite "$p" --cache "$W/cache"
done

# Policies with wrong types and huge numbers.
policy_cases=(
    "defaults-scalar|defaults|defaults: 5"
    "ulp-string|max_ulp|defaults:\n  max_ulp: abc"
    "ulp-negative|max_ulp|defaults:\n  max_ulp: -1"
    "ulp-sequence|max_ulp|defaults:\n  max_ulp: [1]"
    "ulp-2^64|max_ulp|defaults:\n  max_ulp: 18446744073709551616"
    "ulp-30-digits|max_ulp|defaults:\n  max_ulp: 999999999999999999999999999999"
    "atol-1e999|atol|defaults:\n  atol: 1e999"
    "atol-nan|atol|defaults:\n  atol: .nan"
    "unknown-metric|unknown|defaults:\n  max_ulpp: 0"
    "duplicate|duplicate|defaults:\n  max_ulp: 0\n  max_ulp: 1"
    "taps-sequence||taps: [1, 2]"
    "anchor|anchor|defaults: &d\n  max_ulp: 0"
)
for c in "${policy_cases[@]}"; do
    IFS='|' read -r name re text <<<"$c"
    f=$Y/policy-$name.yaml
    printf '%b\n' "$text" >"$f"
    reject "compare --tolerances $name" "$f" "$re" -- compare "$DUMP" "$DUMP" --tolerances "$f"
done

# ======== dumps: compare ========

D=$W/in/d
mkdir -p "$D"
gz_of() { gzip -n -c; } # stdin to a gzip stream on stdout
dsize=$(stat -c %s "$DUMP")
head -c $((dsize / 2)) "$DUMP" >"$D/half.gguf.gz"
head -c 10 "$DUMP" >"$D/header-only.gguf.gz"
head -c $((dsize - 1)) "$DUMP" >"$D/minus-1.gguf.gz"
cp "$DUMP" "$D/crc.gguf.gz"
printf '\x00\x00\x00\x00' | poke "$D/crc.gguf.gz" $((dsize - 8))
cp "$DUMP" "$D/isize.gguf.gz"
printf '\x01\x00\x00\x00' | poke "$D/isize.gguf.gz" $((dsize - 4))
cp "$DUMP" "$D/flipped.gguf.gz"
printf '\xff\xff\xff\xff' | poke "$D/flipped.gguf.gz" $((dsize / 2))
{
    cat "$DUMP"
    printf 'trailing'
} >"$D/trailing.gguf.gz"
cat "$DUMP" "$DUMP" >"$D/two-members.gguf.gz"
gz_of </dev/null >"$D/empty-inside.gguf.gz"
gz_of <"$W/in/text" >"$D/text-inside.gguf.gz"
gz_of <"$G/tensors-2^60.gguf" >"$D/tensors-2^60.gguf.gz"
gz_of <"$G/string-2^62-bytes.gguf" >"$D/string-2^62.gguf.gz"
gz_of <"$GQA" >"$D/model-inside.gguf.gz" # 1-D norm tensors are not taps
one_tensor "$D/f16.gguf" tap 2 "4 2" 1 0 32
gz_of <"$D/f16.gguf" >"$D/f16.gguf.gz"
one_tensor "$D/3d.gguf" tap 3 "2 2 2" 0 0 32
gz_of <"$D/3d.gguf" >"$D/3d.gguf.gz"
head -c 600M /dev/zero | gzip -1 -n -c >"$D/bomb.gguf.gz" # 600 MiB of zeros
dump_files=(half header-only minus-1 crc isize flipped trailing two-members empty-inside
    text-inside tensors-2^60 string-2^62 model-inside f16 3d)
for n in "${dump_files[@]}"; do
    f=$D/$n.gguf.gz
    reject "compare $n (reference)" "$f" -- compare "$f" "$DUMP"
    reject "compare $n (candidate)" "$f" -- compare "$DUMP" "$f"
done
reject "compare gzip bomb" "$D/bomb.gguf.gz" -- compare "$DUMP" "$D/bomb.gguf.gz"
rm -f "$D/bomb.gguf.gz"
# Devices that never end: refused at the gzip header, not read until memory
# runs out (or forever).
reject "compare /dev/zero" /dev/zero "gzip|header" -- compare /dev/zero "$DUMP"
reject "compare /dev/urandom" /dev/urandom "gzip|header" -- compare "$DUMP" /dev/urandom
for p in "$W/in/missing.gguf.gz" "$W/in/dir" "$W/in/empty" /dev/null "$W/in/text" "$GQA"; do
    reject "compare ${p##*/} (reference)" "$p" -- compare "$p" "$DUMP"
    reject "compare ${p##*/} (candidate)" "$p" -- compare "$DUMP" "$p"
done

# ======== check: the suite, its references, goldens ========

C=$W/in/c
mkdir -p "$C/gold"
suite() { # FILE FIXTURE POLICY TOKENS [GOLDEN_DIR]
    printf 'golden_dir: %s\ncases:\n  - name: c1\n    fixture: %s\n    tokens: [%s]\n    policy: %s\n' \
        "${5:-gold}" "$2" "$4" "$3" >"$1"
}
suite "$C/s.yaml" "$SPEC" "$EXACT" "1, 2, 3"
if ! "$PLUMB" check --suite "$C/s.yaml" --cache "$W/cache" --record >/dev/null 2>&1; then
    echo "hostile: cannot record the check golden with $PLUMB" >&2
    exit 2
fi
GOLD=$C/gold/c1.gguf.gz
suite_cases=(
    "cases-scalar|cases|golden_dir: gold\ncases: 5"
    "cases-empty|cases|golden_dir: gold\ncases: []"
    "tokens-2^64|tokens|golden_dir: gold\ncases:\n  - name: a\n    fixture: f.yaml\n    tokens: [18446744073709551616]\n    policy: p.yaml"
    "tokens-negative|tokens|golden_dir: gold\ncases:\n  - name: a\n    fixture: f.yaml\n    tokens: [-1]\n    policy: p.yaml"
    "name-bad|name|golden_dir: gold\ncases:\n  - name: ../escape\n    fixture: f.yaml\n    tokens: [1]\n    policy: p.yaml"
    "both-tokens-prompt|prompt|golden_dir: gold\ncases:\n  - name: a\n    fixture: f.yaml\n    tokens: [1]\n    prompt: hi\n    policy: p.yaml"
    "duplicate-names|duplicate|golden_dir: gold\ncases:\n  - {name: a, fixture: f.yaml, tokens: [1], policy: p.yaml}\n  - {name: a, fixture: f.yaml, tokens: [1], policy: p.yaml}"
    "missing-golden-dir|golden_dir|cases:\n  - {name: a, fixture: f.yaml, tokens: [1], policy: p.yaml}"
)
for c in "${suite_cases[@]}"; do
    IFS='|' read -r name re text <<<"$c"
    f=$C/suite-$name.yaml
    printf '%b\n' "$text" >"$f"
    reject "check --suite $name" "$f" "$re" -- check --suite "$f" --cache "$W/cache"
done

# A case that cannot run: the suite is fine, what it names is not.
case_error() { # LABEL NAME REASON_ERE SUITE_ARGS...: one case errors
    local label=$1 name=$2 re=$3
    shift 3
    suite "$C/bad.yaml" "$@"
    OUT=$W/out/report reject "check: $label" "$name" "$re" -- check --suite "$C/bad.yaml" --cache "$W/cache"
}
printf 'dim: abc\n' >"$C/bad-spec.yaml"
case_error "fixture missing" "$C/missing.yaml" "" "$C/missing.yaml" "$EXACT" "1, 2, 3"
case_error "fixture is a folder" "$C/gold" "" "$C/gold" "$EXACT" "1, 2, 3"
case_error "fixture malformed" "$C/bad-spec.yaml" "dim" "$C/bad-spec.yaml" "$EXACT" "1, 2, 3"
case_error "policy missing" "$C/missing-policy.yaml" "" "$SPEC" "$C/missing-policy.yaml" "1, 2, 3"
case_error "policy malformed" "$Y/policy-ulp-string.yaml" "max_ulp" "$SPEC" "$Y/policy-ulp-string.yaml" "1, 2, 3"
case_error "token outside the vocabulary" "99999" "" "$SPEC" "$EXACT" "1, 99999"
case_error "golden missing" "$C/nogold/c1.gguf.gz" "golden missing" "$SPEC" "$EXACT" "1, 2, 3" nogold
mkdir -p "$C/g-trunc" "$C/g-text" "$C/g-dir/c1.gguf.gz" "$C/g-other"
head -c 1000 "$GOLD" >"$C/g-trunc/c1.gguf.gz"
cp "$W/in/text" "$C/g-text/c1.gguf.gz"
"$PLUMB" dump -m "$MIXED" --tokens 1,2,3 -o "$C/g-other/c1.gguf.gz" >/dev/null
case_error "golden truncated" "$C/g-trunc/c1.gguf.gz" "" "$SPEC" "$EXACT" "1, 2, 3" g-trunc
case_error "golden not gzip" "$C/g-text/c1.gguf.gz" "" "$SPEC" "$EXACT" "1, 2, 3" g-text
case_error "golden is a folder" "$C/g-dir/c1.gguf.gz" "" "$SPEC" "$EXACT" "1, 2, 3" g-dir
case_error "golden of another fixture" "$C/g-other/c1.gguf.gz" "different fixture" "$SPEC" "$EXACT" "1, 2, 3" g-other
case_error "golden of other tokens" "$GOLD" "token" "$SPEC" "$EXACT" "1, 2, 4"

# Options of check that name files.
reject "check --tolerances missing" "$W/in/missing.yaml" -- check --suite "$C/s.yaml" --cache "$W/cache" --tolerances "$W/in/missing.yaml"
reject "check --cache is a file" "$W/in/text" -- check --suite "$C/s.yaml" --cache "$W/in/text"
OUT=$W/in/text reject "check --report is a file" "$W/in/text" -- check --suite "$C/s.yaml" --cache "$W/cache" --report "$W/in/text"
reject "check --report under a file" "$W/in/text" -- check --suite "$C/s.yaml" --cache "$W/cache" --report "$W/in/text/r"
OUT=$W/out/nodir/j.xml reject "check --junit in a missing folder" "$W/out/nodir/j.xml" -- check --suite "$C/s.yaml" --cache "$W/cache" --junit "$W/out/nodir/j.xml"
OUT=$W/in/dir reject "check --junit is a folder" "$W/in/dir" -- check --suite "$C/s.yaml" --cache "$W/cache" --junit "$W/in/dir"
reject "compare --report is a file" "$W/in/text" -- compare "$DUMP" "$DUMP" --report "$W/in/text"
cp "$SPEC" "$C/gold-file-spec.yaml"
suite "$C/record.yaml" "$SPEC" "$EXACT" "1, 2, 3" "$W/in/text"
reject "check --record, golden_dir is a file" "$W/in/text" -- check --suite "$C/record.yaml" --cache "$W/cache" --record

# ======== outputs that cannot be written ========

# Each writer: gen (a model), dump (a gzip dump), check --junit / --report,
# compare --report, check --record (a golden).
writers() { # DEST_FILE DEST_DIR LABEL REASON_ERE: every writer into DEST
    local dest=$1 dir=$2 label=$3 re=$4
    OUT=$dest reject "gen to $label" "${dest}" "$re" -- gen "$SPEC" -o "$dest"
    OUT=$dest reject "dump to $label" "${dest}" "$re" -- dump -m "$GQA" --tokens 1,2,3 -o "$dest"
    OUT=$dest reject "check --junit to $label" "${dest}" "$re" -- check --suite "$C/s.yaml" --cache "$W/cache" --junit "$dest"
    # folders (reports, goldens) are created as needed: not where none exists
    if [ -z "$dir" ]; then return 0; fi
    OUT=$dir/report.json reject "check --report to $label" "$dir" "$re" -- check --suite "$C/s.yaml" --cache "$W/cache" --report "$dir"
    OUT=$dir/report.json reject "compare --report to $label" "$dir" "$re" -- compare "$DUMP" "$DUMP" --report "$dir"
    suite "$C/rec.yaml" "$SPEC" "$EXACT" "1, 2, 3" "$dir"
    OUT=$dir/c1.gguf.gz reject "check --record to $label" "$dir" "$re" -- check --suite "$C/rec.yaml" --cache "$W/cache" --record
}
writers "$W/out/nodir/x" "" "a missing folder" "No such file|cannot create"
writers "$W/in/text/x" "$W/in/text/sub" "a path under a file" "Not a directory|not a folder|cannot create"

# A file-size limit: the write fails midway (EFBIG); the old file stays.
printf 'OLD\n' >"$W/out/old.gguf"
FSIZE=8 OUT=$W/out/old.gguf reject "gen past ulimit -f, over an old file" "$W/out/old.gguf" "write failed" -- gen "$SPEC" -o "$W/out/old.gguf"
FSIZE=8 OUT=$W/out/d.gguf.gz reject "dump past ulimit -f" "$W/out/d.gguf.gz" "write failed" -- dump -m "$GQA" --tokens 1,2,3,4,5,6,7,8 -o "$W/out/d.gguf.gz"
FSIZE=8 OUT=$W/out/r/report.html reject "check --report past ulimit -f" "$W/out/r" "write failed" -- check --suite "$C/s.yaml" --cache "$W/cache" --report "$W/out/r"
rm -rf "$W/out/r"

# A small tmpfs that fills up, and a read-only one (root only).
if [ "$(id -u)" = 0 ] && mkdir -p "$W/full" "$W/ro" &&
    mount -t tmpfs -o size=4k plumb-hostile-full "$W/full" 2>/dev/null; then
    MOUNTS+=("$W/full")
    head -c 1M /dev/zero >"$W/full/filler" 2>/dev/null # fill it up
    writers "$W/full/x" "$W/full/sub" "a full file system" "No space left|write failed|cannot create"
    if mount -t tmpfs -o ro,size=4k plumb-hostile-ro "$W/ro" 2>/dev/null; then
        MOUNTS+=("$W/ro")
        writers "$W/ro/x" "$W/ro/sub" "a read-only file system" "Read-only file system|cannot create"
    fi
else
    skip "full and read-only file systems: a tmpfs mount needs root and permission to mount"
fi
if [ "$(id -u)" != 0 ]; then
    mkdir -p "$W/locked"
    chmod 555 "$W/locked"
    writers "$W/locked/x" "$W/locked/sub" "a folder without write permission" "Permission denied|cannot create"
fi

# /dev/full. First through a symbolic link: a plumb that renamed its
# temporary file over the destination would replace only the link. Only
# when that is right is /dev/full itself tried (as root a rename over it
# would replace the device node).
ln -s /dev/full "$W/out/full-link"
FAIL_BEFORE=$FAIL
OUT=$W/out/full-link reject "gen to a link to /dev/full" "$W/out/full-link" "No space left" -- gen "$SPEC" -o "$W/out/full-link"
OUT=$W/out/full-link reject "dump to a link to /dev/full" "$W/out/full-link" "No space left" -- dump -m "$GQA" --tokens 1,2,3 -o "$W/out/full-link"
if [ "$FAIL" = "$FAIL_BEFORE" ] && [ -c /dev/full ]; then
    OUT=/dev/full reject "gen to /dev/full" /dev/full "No space left" -- gen "$SPEC" -o /dev/full
    OUT=/dev/full reject "dump to /dev/full" /dev/full "No space left" -- dump -m "$GQA" --tokens 1,2,3 -o /dev/full
    OUT=/dev/full reject "check --junit to /dev/full" /dev/full "No space left" -- check --suite "$C/s.yaml" --cache "$W/cache" --junit /dev/full
    reject "check --report to /dev/full" /dev/full -- check --suite "$C/s.yaml" --cache "$W/cache" --report /dev/full
    if [ ! -c /dev/full ]; then
        FAIL=$((FAIL + 1))
        say "FAIL  /dev/full is no longer a character device"
        if [ "$(id -u)" = 0 ]; then rm -f /dev/full && mknod -m 666 /dev/full c 1 7; fi
    fi
else
    skip "/dev/full itself: writing through a link to it failed above"
fi
# stdout on a full device: every command must notice its output was lost.
STDOUT=/dev/full reject "inspect, stdout full" stdout "No space left|write failed" -- inspect "$GQA"
STDOUT=/dev/full reject "inspect --json, stdout full" stdout "No space left|write failed" -- inspect "$GQA" --json
STDOUT=/dev/full reject "tokenize, stdout full" stdout "No space left|write failed" -- tokenize -m "$GQA" -p "hello world" --pieces
STDOUT=/dev/full reject "run, stdout full" stdout "No space left|write failed" -- run -m "$GQA" -p hello -n 4
STDOUT=/dev/full reject "compare, stdout full" stdout "No space left|write failed" -- compare "$DUMP" "$DUMP"
STDOUT=/dev/full reject "check, stdout full" stdout "No space left|write failed" -- check --suite "$C/s.yaml" --cache "$W/cache"
STDOUT=/dev/full reject "bench, stdout full" stdout "No space left|write failed" -- bench -m "$GQA" --reps 1 --prompt 2 --decode 2 --bw-size 8
STDOUT=/dev/full reject "bench --json, stdout full" stdout "No space left|write failed" -- bench -m "$GQA" --reps 1 --prompt 2 --decode 2 --bw-size 8 --json
STDOUT=/dev/full reject "bench --ops, stdout full" stdout "No space left|write failed" -- bench --ops --op add --reps 1 --bw-size 8
STDOUT=/dev/full reject "bench --ops --json, stdout full" stdout "No space left|write failed" -- bench --ops --op add --reps 1 --bw-size 8 --json
STDOUT=/dev/full reject "--help, stdout full" stdout "No space left|write failed" -- --help

# ======== kernels --plugin (once the command exists) ========

if "$PLUMB" kernels --help >"$W/out/khelp" 2>&1; then
    if grep -q 'kernels check' "$W/out/khelp"; then kcmd=(kernels check); else kcmd=(kernels); fi
    head -c 200 "$(ldconfig -p 2>/dev/null | awk '/libz\.so\.1 / { print $NF; exit }')" >"$W/in/cut.so" 2>/dev/null
    plugins=("$W/in/missing.so" "$W/in/dir" "$W/in/empty" "$W/in/text" "$W/in/cut.so" /dev/null)
    if command -v cc >/dev/null 2>&1 &&
        printf 'int plumb_not_a_plugin = 1;\n' | cc -shared -fPIC -x c - -o "$W/in/noentry.so" 2>/dev/null; then
        plugins+=("$W/in/noentry.so")
    else
        skip "kernels: a plugin without the entry point needs a C compiler"
    fi
    for p in "${plugins[@]}"; do
        reject "kernels --plugin ${p##*/}" "$p" -- "${kcmd[@]}" --plugin "$p"
    done
else
    skip "kernels --plugin: this plumb has no kernels command yet"
fi

for dev in /dev/null /dev/full; do
    if [ ! -c $dev ]; then
        FAIL=$((FAIL + 1))
        say "FAIL  $dev is no longer a character device"
    fi
done
say "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
