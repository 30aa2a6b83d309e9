/*
 * test_tokenizer.c: engine/tokenizer.c against llama.cpp.
 *
 * 1. llama.cpp's own tokenizer test vectors (build/vocab/ggml-vocab-*.gguf
 *    with .inp/.out, as tests/test-tokenizer-0.cpp reads them: inputs
 *    separated by "\n__ggml_vocab_test__\n", one line of ids per input,
 *    tokenized with add_special = false, parse_special = false). Every line
 *    of llama-spm, gpt-2 and llama-bpe must match exactly; none is excused.
 * 2. Hand-built vocabularies written in memory with the GGUF writer, whose
 *    answers were worked out by hand in the comments: SPM merge order by
 *    score (leftmost on ties), byte fallback, the leading-space convention,
 *    user-defined tokens, BPE merge order by rank, the three pre-tokenizers.
 * 3. Round trips on seeded random text: valid UTF-8 comes back unchanged;
 *    with invalid UTF-8 mixed in, what comes back (SPM: every byte, BPE:
 *    U+FFFD per bad byte) is pinned against small oracles written here from
 *    the rules in tokenizer.c's header.
 * 4. Rejected vocabularies: each error names the key.
 * 5. harness/vocab.c's fixture vocabulary: every normal piece encodes to
 *    itself, and text round-trips.
 * 6. Size: 1 MB inputs, including adversarial ones (one 1 MB word), tokenize
 *    and decode (speed is measured by benchmarks, not asserted here).
 *
 * Tests run from the repository root; `make test` fetches build/vocab first.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gguf.h"
#include "helpers.h"
#include "tokenizer.h"
#include "vocab.h"

/* Criterion 2.4's assertion macros store an int into a 1-bit field, which
 * -Wconversion reports at every cr_assert. */
#pragma GCC diagnostic ignored "-Wconversion"

#define SP "\xE2\x96\x81" /* U+2581, SentencePiece's space */
#define VOCAB_DIR "build/vocab/"

TestSuite(tokenizer, .timeout = 120);

/* ---- helpers ---- */

/* A GGUF file held in memory, and the tokenizer built on it. */
struct tv {
    uint8_t *buf;
    size_t len, cap;
    struct gguf_ctx g;
    struct tokenizer t;
};

static int mem_sink(void *ctx, const void *p, size_t n, struct plumb_err *err)
{
    struct tv *tv = ctx;
    (void)err;
    if (tv->len + n > tv->cap) {
        tv->cap = (tv->len + n) * 2;
        tv->buf = realloc(tv->buf, tv->cap);
        cr_assert(tv->buf != NULL);
    }
    memcpy(tv->buf + tv->len, p, n);
    tv->len += n;
    return 0;
}

/* Write w into memory, open it, build the tokenizer. Returns what
 * tokenizer_init returned (err filled on failure). */
static int tv_open(struct tv *tv, struct gguf_writer *w, struct plumb_err *err)
{
    memset(tv, 0, sizeof *tv);
    cr_assert(eq(int, gguf_writer_write(w, mem_sink, tv, err), 0), "%s", err->msg);
    gguf_writer_free(w);
    cr_assert(eq(int, gguf_open_memory(&tv->g, tv->buf, tv->len, "hand.gguf", err), 0), "%s", err->msg);
    return tokenizer_init(&tv->t, &tv->g, err);
}

static void tv_close(struct tv *tv)
{
    tokenizer_free(&tv->t);
    gguf_close(&tv->g);
    free(tv->buf);
}

/* Open one of llama.cpp's vocab files. */
static void tv_open_file(struct tv *tv, const char *path)
{
    struct plumb_err err = {{0}};
    memset(tv, 0, sizeof *tv);
    cr_assert(eq(int, gguf_open(&tv->g, path, &err), 0), "%s (run 'make test', which fetches build/vocab)",
              err.msg);
    cr_assert(eq(int, tokenizer_init(&tv->t, &tv->g, &err), 0), "%s", err.msg);
}

/* Bytes as a C string literal body, for messages. */
static const char *show(const char *s, size_t n)
{
    static char out[4][1024];
    static int k;
    char *o = out[k = (k + 1) % 4];
    size_t j = 0;
    for (size_t i = 0; i < n && j + 8 < sizeof out[0]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\')
            o[j++] = (char)c;
        else
            j += (size_t)snprintf(o + j, sizeof out[0] - j, "\\x%02x", c);
    }
    o[j] = '\0';
    return o;
}

static const char *show_ids(const int32_t *ids, size_t n)
{
    static char out[2][4096];
    static int k;
    char *o = out[k = (k + 1) % 2];
    size_t j = 0;
    o[0] = '\0';
    for (size_t i = 0; i < n && j + 16 < sizeof out[0]; i++)
        j += (size_t)snprintf(o + j, sizeof out[0] - j, i ? " %d" : "%d", ids[i]);
    return o;
}

/* Encode and compare with the expected ids (n_want of them). */
static void expect_ids(const struct tokenizer *t, const char *text, size_t len, bool bos,
                       const int32_t *want, size_t n_want)
{
    struct plumb_err err = {{0}};
    int32_t *ids;
    size_t n;
    cr_assert(eq(int, tokenizer_encode(t, text, len, bos, &ids, &n, &err), 0), "%s", err.msg);
    size_t bad = n == n_want ? SIZE_MAX : (n < n_want ? n : n_want);
    for (size_t i = 0; i < n && i < n_want && bad == SIZE_MAX; i++)
        if (ids[i] != want[i])
            bad = i;
    cr_assert(eq(sz, bad, SIZE_MAX), "\"%s\": got [%s], expected [%s] (first difference at %zu)",
              show(text, len), show_ids(ids, n), show_ids(want, n_want), bad);
    free(ids);
}

#define EXPECT(t, text, bos, ...)                                                                  \
    do {                                                                                           \
        static const int32_t want_[] = {__VA_ARGS__};                                              \
        expect_ids((t), (text), sizeof(text) - 1, (bos), want_, sizeof want_ / sizeof want_[0]);  \
    } while (0)

static void expect_none(const struct tokenizer *t, const char *text, size_t len, bool bos)
{
    expect_ids(t, text, len, bos, NULL, 0);
}


/* ---- 1. llama.cpp's test vectors ---- */

/*
 * Run every case of VOCAB_DIR/name.gguf.inp/.out. The comparison is exact;
 * all cases are tried, then one assertion reports how many differ and the
 * first one.
 */
static void run_vectors(const char *name)
{
    char path[512];
    size_t n_inp, n_out;
    snprintf(path, sizeof path, VOCAB_DIR "%s.gguf.inp", name);
    char *inp = read_file(path, &n_inp);
    cr_assert(inp != NULL, "%s: missing (run 'make test', which fetches build/vocab)", path);
    snprintf(path, sizeof path, VOCAB_DIR "%s.gguf.out", name);
    char *out = read_file(path, &n_out);
    cr_assert(out != NULL, "%s: missing", path);
    snprintf(path, sizeof path, VOCAB_DIR "%s.gguf", name);
    struct tv tv;
    tv_open_file(&tv, path);

    const char *sep = "\n__ggml_vocab_test__\n";
    size_t sep_len = strlen(sep), pos = 0, opos = 0;
    int cases = 0, bad = 0;
    char first[2048] = "";
    while (pos < n_inp) {
        const char *next = strstr(inp + pos, sep);
        size_t end = next ? (size_t)(next - inp) : n_inp;
        cr_assert(opos < n_out, "%s.out has fewer lines than %s.inp has cases", name, name);
        const char *eol = memchr(out + opos, '\n', n_out - opos);
        size_t oend = eol ? (size_t)(eol - out) : n_out;

        /* expected ids: the line, space-separated (test-tokenizer-0 strips it) */
        int32_t want[1024];
        size_t n_want = 0;
        for (const char *p = out + opos; p < out + oend;) {
            char *q;
            long v = strtol(p, &q, 10);
            if (q == p) {
                p++;
                continue;
            }
            cr_assert(n_want < 1024);
            want[n_want++] = (int32_t)v;
            p = q;
        }

        struct plumb_err err = {{0}};
        int32_t *ids;
        size_t n;
        cr_assert(eq(int, tokenizer_encode(&tv.t, inp + pos, end - pos, false, &ids, &n, &err), 0), "%s",
                  err.msg);
        bool same = n == n_want && (n == 0 || !memcmp(ids, want, n * sizeof *ids));
        if (!same && !bad++)
            snprintf(first, sizeof first, "case %d \"%s\": got [%s], expected [%s]", cases,
                     show(inp + pos, end - pos), show_ids(ids, n), show_ids(want, n_want));
        free(ids);
        cases++;
        pos = next ? end + sep_len : n_inp;
        opos = oend + 1;
    }
    cr_assert(opos >= n_out, "%s.out has more lines than %s.inp has cases", name, name);
    cr_assert(gt(int, cases, 40), "%s: only %d cases read", name, cases);
    cr_assert(eq(int, bad, 0), "%s: %d of %d cases differ from llama.cpp; first: %s", name, bad, cases, first);
    tv_close(&tv);
    free(inp);
    free(out);
}

Test(tokenizer, llama_spm_vectors_match_llama_cpp_exactly)
{
    run_vectors("ggml-vocab-llama-spm");
}

Test(tokenizer, gpt2_vectors_match_llama_cpp_exactly)
{
    run_vectors("ggml-vocab-gpt-2");
}

Test(tokenizer, llama_bpe_vectors_match_llama_cpp_exactly)
{
    run_vectors("ggml-vocab-llama-bpe");
}

Test(tokenizer, real_vocabularies_have_llama_cpp_defaults)
{
    struct tv tv;
    tv_open_file(&tv, VOCAB_DIR "ggml-vocab-llama-spm.gguf");
    cr_assert(eq(i64, tokenizer_n_vocab(&tv.t), 32000));
    cr_assert(eq(i32, tokenizer_bos(&tv.t), 1));
    cr_assert(eq(i32, tokenizer_eos(&tv.t), 2));
    cr_assert(eq(i32, tokenizer_unk(&tv.t), 0));
    cr_assert(tv.t.add_space_prefix && tv.t.add_bos);
    EXPECT(&tv.t, "Hello world", true, 1, 15043, 3186);
    tv_close(&tv);

    tv_open_file(&tv, VOCAB_DIR "ggml-vocab-llama-bpe.gguf");
    cr_assert(eq(i64, tokenizer_n_vocab(&tv.t), 128256));
    cr_assert(eq(i32, tokenizer_bos(&tv.t), 128000));
    cr_assert(eq(i32, tokenizer_eos(&tv.t), 128001));
    cr_assert(eq(i32, tokenizer_unk(&tv.t), -1));
    cr_assert(tv.t.add_bos && tv.t.ignore_merges && tv.t.pre == TOKENIZER_PRE_LLAMA3);
    EXPECT(&tv.t, "Hello world", true, 128000, 9906, 1917);
    tv_close(&tv);

    tv_open_file(&tv, VOCAB_DIR "ggml-vocab-gpt-2.gguf");
    cr_assert(eq(i32, tokenizer_bos(&tv.t), 50256));
    cr_assert(tv.t.add_bos == false && tv.t.pre == TOKENIZER_PRE_GPT2);
    /* control tokens in the text are text (parse_special = false): "<|",
     * "end", "of", "text", "|", ">" as the GPT-2 regex cuts it */
    EXPECT(&tv.t, "<|endoftext|>", false, 27, 91, 437, 1659, 5239, 91, 29);
    tv_close(&tv);
}

/* ---- 2. hand-built SPM vocabulary ---- */

/*
 * ids 0..2 <unk> <s> </s>; 3..258 the byte tokens <0x00>..<0xFF> (id 3 + b);
 * then normal pieces with these scores, and one user-defined token.
 */
enum {
    H_SP = 259, H_A, H_B, H_C, H_X, H_Y, H_Z, H_P, H_Q, H_R,
    H_AB, H_BC, H_XY, H_YZ, H_PQ, H_QR, H_SPA, H_SPAB, H_USER, H_AA, H_N
};
static const struct {
    const char *text;
    float score;
} hand_pieces[] = {
    {SP, -10}, {"a", -10}, {"b", -10}, {"c", -10}, {"x", -10}, {"y", -10}, {"z", -10},
    {"p", -10}, {"q", -10}, {"r", -10},
    {"ab", -1}, {"bc", -2}, {"xy", -5}, {"yz", -3}, {"pq", -4}, {"qr", -4},
    {SP "a", -6}, {SP "ab", -0.5f}, {"<|u|>", 0}, {"aa", -7},
};

#define BYTE(b) (3 + (b))

enum hand_flaw { HAND_OK, HAND_NO_SPACE_PREFIX, HAND_NO_BYTES, HAND_SCORES_SHORT, HAND_TYPES_SHORT,
                 HAND_BOS_OUT_OF_RANGE, HAND_DUPLICATE, HAND_NAN_SCORE, HAND_BAD_MODEL,
                 HAND_TOKENS_NOT_STRINGS, HAND_NO_TOKENS, HAND_SCORES_I32,
                 HAND_EMPTY_VOCAB, HAND_SCORES_STRINGS, HAND_TYPES_SCALAR, HAND_NO_MODEL,
                 HAND_MODEL_U32 };

/* Write the hand SPM vocabulary, optionally with one flaw, and build it. */
static int hand_spm(struct tv *tv, enum hand_flaw flaw, struct plumb_err *err)
{
    const char *tok[H_N];
    float score[H_N];
    int32_t type[H_N], iscore[H_N];
    char bytes[256][7];
    int n = 0;
    const char *specials[3] = {"<unk>", "<s>", "</s>"};
    for (int i = 0; i < 3; i++, n++) {
        tok[n] = specials[i];
        score[n] = 0;
        type[n] = i == 0 ? TOKENIZER_TYPE_UNKNOWN : TOKENIZER_TYPE_CONTROL;
    }
    for (int b = 0; b < 256; b++, n++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        tok[n] = bytes[b];
        score[n] = 0;
        type[n] = TOKENIZER_TYPE_BYTE;
    }
    for (size_t i = 0; i < sizeof hand_pieces / sizeof hand_pieces[0]; i++, n++) {
        tok[n] = hand_pieces[i].text;
        score[n] = hand_pieces[i].score;
        type[n] = n == H_USER ? TOKENIZER_TYPE_USER_DEFINED : TOKENIZER_TYPE_NORMAL;
    }
    cr_assert(eq(int, n, H_N));
    for (int i = 0; i < n; i++)
        iscore[i] = (int32_t)score[i];
    if (flaw == HAND_NO_BYTES)
        for (int b = 0; b < 256; b++)
            type[3 + b] = TOKENIZER_TYPE_UNUSED; /* and renamed below */
    if (flaw == HAND_DUPLICATE)
        tok[H_Z] = "a";
    if (flaw == HAND_NAN_SCORE)
        score[H_Q] = NAN;

    struct gguf_writer w;
    gguf_writer_init(&w);
    gguf_writer_str(&w, "general.architecture", "llama");
    if (flaw == HAND_MODEL_U32)
        gguf_writer_u32(&w, "tokenizer.ggml.model", 1);
    else if (flaw != HAND_NO_MODEL)
        gguf_writer_str(&w, "tokenizer.ggml.model", flaw == HAND_BAD_MODEL ? "bert" : "llama");
    if (flaw == HAND_NO_BYTES) {
        /* no "<0xNN>" texts at all: the byte slots get other names */
        for (int b = 0; b < 256; b++)
            snprintf(bytes[b], sizeof bytes[b], "#%02X", b);
    }
    if (flaw == HAND_TOKENS_NOT_STRINGS)
        gguf_writer_arr(&w, "tokenizer.ggml.tokens", GGUF_VTYPE_I32, type, (uint64_t)n);
    else if (flaw == HAND_EMPTY_VOCAB)
        gguf_writer_arr_str(&w, "tokenizer.ggml.tokens", tok, 0);
    else if (flaw != HAND_NO_TOKENS)
        gguf_writer_arr_str(&w, "tokenizer.ggml.tokens", tok, (uint64_t)n);
    if (flaw == HAND_SCORES_STRINGS)
        gguf_writer_arr_str(&w, "tokenizer.ggml.scores", tok, (uint64_t)n);
    else if (flaw == HAND_SCORES_I32)
        gguf_writer_arr(&w, "tokenizer.ggml.scores", GGUF_VTYPE_I32, iscore, (uint64_t)n);
    else
        gguf_writer_arr(&w, "tokenizer.ggml.scores", GGUF_VTYPE_F32, score,
                        (uint64_t)(flaw == HAND_SCORES_SHORT ? n - 1 : n));
    if (flaw == HAND_TYPES_SCALAR)
        gguf_writer_u32(&w, "tokenizer.ggml.token_type", 1);
    else
        gguf_writer_arr(&w, "tokenizer.ggml.token_type", GGUF_VTYPE_I32, type,
                        (uint64_t)(flaw == HAND_TYPES_SHORT ? n - 1 : n));
    gguf_writer_u32(&w, "tokenizer.ggml.bos_token_id", flaw == HAND_BOS_OUT_OF_RANGE ? (uint32_t)n : 1);
    gguf_writer_u32(&w, "tokenizer.ggml.eos_token_id", 2);
    if (flaw == HAND_NO_SPACE_PREFIX)
        gguf_writer_bool(&w, "tokenizer.ggml.add_space_prefix", false);
    return tv_open(tv, &w, err);
}

static void hand_spm_ok(struct tv *tv, enum hand_flaw flaw)
{
    struct plumb_err err = {{0}};
    cr_assert(eq(int, hand_spm(tv, flaw, &err), 0), "%s", err.msg);
}

Test(tokenizer, spm_merges_the_highest_scoring_pair_first_leftmost_on_ties)
{
    struct tv tv;
    hand_spm_ok(&tv, HAND_NO_SPACE_PREFIX);
    /* "ab" (-1) beats "bc" (-2); "abc" is no token */
    EXPECT(&tv.t, "abc", false, H_AB, H_C);
    /* "yz" (-3) beats "xy" (-5): the right pair goes first */
    EXPECT(&tv.t, "xyz", false, H_X, H_YZ);
    /* "pq" and "qr" tie at -4: leftmost */
    EXPECT(&tv.t, "pqr", false, H_PQ, H_R);
    /* "aa" everywhere: (0,1) merges first, (1,2) goes stale, (2,3) merges */
    EXPECT(&tv.t, "aaaa", false, H_AA, H_AA);
    EXPECT(&tv.t, "aaa", false, H_AA, H_A);
    /* merged pieces merge again: a b -> ab, then ab + nothing; " ab" below */
    EXPECT(&tv.t, "abab", false, H_AB, H_AB);
    tv_close(&tv);
}

Test(tokenizer, spm_adds_a_leading_space_and_escapes_spaces)
{
    struct tv tv;
    hand_spm_ok(&tv, HAND_OK);
    cr_assert(tv.t.add_space_prefix);
    /* "▁ab": "ab" (-1) before "▁a" (-6), then "▁" + "ab" = "▁ab" (-0.5) */
    EXPECT(&tv.t, "ab", false, H_SPAB);
    EXPECT(&tv.t, "ab", true, 1, H_SPAB);
    /* "▁a▁▁b": only "▁a" is a token */
    EXPECT(&tv.t, "a  b", false, H_SPA, H_SP, H_SP, H_B);
    EXPECT(&tv.t, " ", false, H_SP, H_SP);
    tv_close(&tv);

    hand_spm_ok(&tv, HAND_NO_SPACE_PREFIX);
    cr_assert(tv.t.add_space_prefix == false);
    EXPECT(&tv.t, "ab", false, H_AB);
    EXPECT(&tv.t, " ab", false, H_SPAB);
    tv_close(&tv);
}

Test(tokenizer, spm_empty_text_gives_nothing_or_only_bos)
{
    struct tv tv;
    hand_spm_ok(&tv, HAND_OK);
    expect_none(&tv.t, "", 0, false);
    EXPECT(&tv.t, "", true, 1);
    tv_close(&tv);
}

Test(tokenizer, spm_falls_back_to_byte_tokens_then_unk)
{
    struct tv tv;
    hand_spm_ok(&tv, HAND_NO_SPACE_PREFIX);
    /* "é" is C3 A9 and no token */
    EXPECT(&tv.t, "\xC3\xA9", false, BYTE(0xC3), BYTE(0xA9));
    EXPECT(&tv.t, "a\xC3\xA9" "b", false, H_A, BYTE(0xC3), BYTE(0xA9), H_B);
    /* invalid UTF-8: a stray continuation byte and a truncated sequence are
     * symbols of their own and fall back byte by byte */
    EXPECT(&tv.t, "\x80" "a\xE2\x96", false, BYTE(0x80), H_A, BYTE(0xE2), BYTE(0x96));
    /* NUL is a byte like any other */
    expect_ids(&tv.t, "a\0b", 3, false, (const int32_t[]){H_A, BYTE(0), H_B}, 3);
    tv_close(&tv);

    /* Without "<0xNN>" texts, a byte with no one-byte token becomes unk
     * (where llama.cpp's byte_to_token would throw). */
    hand_spm_ok(&tv, HAND_NO_BYTES);
    EXPECT(&tv.t, "a\xC3\xA9", false, H_SPA, 0, 0);
    tv_close(&tv);
}

Test(tokenizer, spm_splits_out_user_defined_tokens_but_not_control_tokens)
{
    struct tv tv;
    hand_spm_ok(&tv, HAND_OK);
    /* after a special token the next text gets the leading space again */
    EXPECT(&tv.t, "a<|u|>b", false, H_SPA, H_USER, H_SP, H_B);
    EXPECT(&tv.t, "<|u|><|u|>", false, H_USER, H_USER);
    EXPECT(&tv.t, "<|u|>", true, 1, H_USER);
    /* "<s>" is a control token: plain text, here bytes */
    EXPECT(&tv.t, "<s>", false, H_SP, BYTE('<'), BYTE('s'), BYTE('>'));
    tv_close(&tv);
}

Test(tokenizer, spm_pieces_and_decode)
{
    struct tv tv;
    hand_spm_ok(&tv, HAND_OK);
    char buf[16];
    memset(buf, '#', sizeof buf);
    cr_assert(eq(sz, tokenizer_piece(&tv.t, H_SPAB, buf, sizeof buf), 3));
    cr_assert(eq(int, memcmp(buf, " ab#", 4), 0));
    /* a short buffer gets what fits, the return value the full length */
    memset(buf, '#', sizeof buf);
    cr_assert(eq(sz, tokenizer_piece(&tv.t, H_SPAB, buf, 2), 3));
    cr_assert(eq(int, memcmp(buf, " a#", 3), 0));
    cr_assert(eq(sz, tokenizer_piece(&tv.t, H_SPAB, NULL, 0), 3));
    cr_assert(eq(sz, tokenizer_piece(&tv.t, BYTE(0x41), buf, sizeof buf), 1));
    cr_assert(eq(chr, buf[0], 'A'));
    cr_assert(eq(sz, tokenizer_piece(&tv.t, BYTE(0), buf, sizeof buf), 1));
    cr_assert(eq(chr, buf[0], '\0'));
    /* control, unknown, user-defined: their text as stored */
    cr_assert(eq(sz, tokenizer_piece(&tv.t, 1, buf, sizeof buf), 3));
    cr_assert(eq(int, memcmp(buf, "<s>", 3), 0));
    cr_assert(eq(sz, tokenizer_piece(&tv.t, 0, buf, sizeof buf), 5));
    cr_assert(eq(sz, tokenizer_piece(&tv.t, H_USER, buf, sizeof buf), 5));
    cr_assert(eq(sz, tokenizer_piece(&tv.t, -1, buf, sizeof buf), 0));
    cr_assert(eq(sz, tokenizer_piece(&tv.t, H_N, buf, sizeof buf), 0));

    struct plumb_err err = {{0}};
    char *text;
    size_t len;
    /* decode drops control tokens and, asked to, the leading space */
    const int32_t ids[] = {1, H_SPAB, H_SP, BYTE(0xC3), BYTE(0xA9), 2};
    cr_assert(eq(int, tokenizer_decode(&tv.t, ids, 6, true, &text, &len, &err), 0), "%s", err.msg);
    cr_assert(eq(sz, len, 5));
    cr_assert(eq(str, text, "ab \xC3\xA9"));
    free(text);
    cr_assert(eq(int, tokenizer_decode(&tv.t, ids, 6, false, &text, &len, &err), 0), "%s", err.msg);
    cr_assert(eq(str, text, " ab \xC3\xA9"));
    free(text);
    cr_assert(eq(int, tokenizer_decode(&tv.t, ids, 0, true, &text, &len, &err), 0), "%s", err.msg);
    cr_assert(eq(sz, len, 0));
    cr_assert(eq(str, text, ""));
    free(text);
    /* a literal U+2581 in the text comes back as a space (as in llama.cpp) */
    int32_t *enc;
    size_t n_enc;
    cr_assert(eq(int, tokenizer_encode(&tv.t, "a" SP "b", 5, false, &enc, &n_enc, &err), 0), "%s", err.msg);
    cr_assert(eq(int, tokenizer_decode(&tv.t, enc, n_enc, true, &text, &len, &err), 0), "%s", err.msg);
    cr_assert(eq(str, text, "a b"));
    free(text);
    free(enc);
    const int32_t bad[] = {H_A, H_N};
    cr_assert(eq(int, tokenizer_decode(&tv.t, bad, 2, false, &text, &len, &err), -1));
    cr_assert(text == NULL);
    cr_assert(strstr(err.msg, "out of range") != NULL, "%s", err.msg);
    tv_close(&tv);
}

Test(tokenizer, integer_scores_are_read_as_scores)
{
    struct tv tv;
    hand_spm_ok(&tv, HAND_SCORES_I32);
    /* -0.5 truncates to 0 but still beats everything else */
    EXPECT(&tv.t, "ab", false, H_SPAB);
    tv_close(&tv);
}

Test(tokenizer, empty_and_oddly_typed_tokens_follow_llama_cpp)
{
    /* llama.cpp renames an empty token "[EMPTY_<id>]"; a type outside 1..6
     * is "undefined" and decodes to nothing */
    const char *tok[] = {"<unk>", "<s>", "</s>", "", "a", "b"};
    const int32_t type[] = {2, 3, 3, 1, 1, 9};
    struct gguf_writer w;
    gguf_writer_init(&w);
    gguf_writer_str(&w, "tokenizer.ggml.model", "llama");
    gguf_writer_arr_str(&w, "tokenizer.ggml.tokens", tok, 6);
    gguf_writer_arr(&w, "tokenizer.ggml.token_type", GGUF_VTYPE_I32, type, 6);
    struct tv tv;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, tv_open(&tv, &w, &err), 0), "%s", err.msg);
    cr_assert(eq(i32, tokenizer_find(&tv.t, "[EMPTY_3]", 9), 3));
    cr_assert(eq(i32, tokenizer_find(&tv.t, "", 0), -1));
    char buf[16];
    cr_assert(eq(sz, tokenizer_piece(&tv.t, 3, buf, sizeof buf), 9));
    cr_assert(eq(sz, tokenizer_piece(&tv.t, 5, buf, sizeof buf), 0));
    /* no scores: all 0, so ties everywhere; no byte tokens: unk */
    EXPECT(&tv.t, "ab", false, 0, 0, 0, 4, 5); /* "▁" is three unknown bytes */
    tv_close(&tv);

    /* one token: the default BOS (1) and EOS (2) fall outside, so none */
    const char *one[] = {"a"};
    gguf_writer_init(&w);
    gguf_writer_str(&w, "tokenizer.ggml.model", "llama");
    gguf_writer_arr_str(&w, "tokenizer.ggml.tokens", one, 1);
    cr_assert(eq(int, tv_open(&tv, &w, &err), 0), "%s", err.msg);
    cr_assert(eq(i32, tokenizer_bos(&tv.t), -1));
    cr_assert(eq(i32, tokenizer_eos(&tv.t), -1));
    cr_assert(eq(i32, tokenizer_unk(&tv.t), 0));
    int32_t *ids = (int32_t *)&err;
    size_t n = 99;
    cr_assert(eq(int, tokenizer_encode(&tv.t, "a", 1, true, &ids, &n, &err), -1));
    cr_assert(ids == NULL && n == 0);
    cr_assert(eq(str, err.msg, "tokenizer: BOS asked for, but the vocabulary has no BOS token"));
    tv_close(&tv);
}

/* ---- 4. rejected vocabularies ---- */

Test(tokenizer, bad_vocabularies_are_rejected_naming_the_key)
{
    static const struct {
        enum hand_flaw flaw;
        const char *key;
    } cases[] = {
        {HAND_SCORES_SHORT, "hand.gguf: tokenizer.ggml.scores: has 278 entries, expected 279"},
        {HAND_TYPES_SHORT, "hand.gguf: tokenizer.ggml.token_type: has 278 entries, expected 279"},
        {HAND_BOS_OUT_OF_RANGE, "hand.gguf: tokenizer.ggml.bos_token_id: token id 279 is out of range"},
        {HAND_DUPLICATE, "hand.gguf: tokenizer.ggml.tokens: token 265 'a' duplicates token 260"},
        {HAND_NAN_SCORE, "hand.gguf: tokenizer.ggml.scores: entry 267 is NaN"},
        {HAND_BAD_MODEL, "hand.gguf: tokenizer.ggml.model: tokenizer 'bert' is not supported"},
        {HAND_TOKENS_NOT_STRINGS, "hand.gguf: tokenizer.ggml.tokens: has type array of non-strings"},
        {HAND_NO_TOKENS, "hand.gguf: tokenizer.ggml.tokens: missing"},
        {HAND_EMPTY_VOCAB, "hand.gguf: tokenizer.ggml.tokens: the vocabulary is empty"},
        {HAND_SCORES_STRINGS,
         "hand.gguf: tokenizer.ggml.scores: has type string, expected an array of f32 or i32"},
        {HAND_TYPES_SCALAR, "hand.gguf: tokenizer.ggml.token_type: has type u32, expected an array of i32"},
        {HAND_NO_MODEL, "hand.gguf: tokenizer.ggml.model: missing (no tokenizer in this file)"},
        {HAND_MODEL_U32, "hand.gguf: tokenizer.ggml.model"},
    };
    cr_assert(eq(int, H_N, 279));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tv tv;
        struct plumb_err err = {{0}};
        cr_assert(eq(int, hand_spm(&tv, cases[i].flaw, &err), -1), "case %zu accepted", i);
        cr_assert(strncmp(err.msg, cases[i].key, strlen(cases[i].key)) == 0, "case %zu: got \"%s\"", i,
                  err.msg);
        cr_assert(strchr(err.msg, '\n') == NULL);
        /* the tokenizer is left freed: freeing again is safe */
        cr_assert(tv.t.tokens == NULL && tv.t.token_slots == NULL);
        tv_close(&tv);
    }
}

/* ---- 2b. hand-built BPE vocabulary ---- */

/*
 * ids 0..255: the GPT-2 character of byte b (so id b), then merged tokens.
 * Merges, in rank order: "b c", "a b", "Ġ !", "3 4", "Ġ `", "a bc".
 */
enum { B_AB = 256, B_BC, B_ABC, B_SPBANG, B_34, B_SPTICK, B_XYZ, B_EOT, B_USER, B_N };

/* GPT-2's character for byte b, as UTF-8, into out (3 bytes of room). */
static void gpt2_char(unsigned b, char *out)
{
    unsigned cp;
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
        cp = b;
    else if (b <= 0x20)
        cp = 0x100 + b;
    else if (b <= 0xA0)
        cp = 0x100 + 33 + (b - 0x7F);
    else
        cp = 0x100 + 67;
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = '\0';
    } else {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = '\0';
    }
}

/* pre: the tokenizer.ggml.pre value, or NULL for none. */
static int hand_bpe(struct tv *tv, const char *pre, bool with_merges, struct plumb_err *err)
{
    static char chars[256][3];
    const char *tok[B_N];
    int32_t type[B_N];
    for (unsigned b = 0; b < 256; b++) {
        gpt2_char(b, chars[b]);
        tok[b] = chars[b];
        type[b] = TOKENIZER_TYPE_NORMAL;
    }
    const char *more[] = {"ab", "bc", "abc", "\xC4\xA0!", "34", "\xC4\xA0`", "xyz", "<|endoftext|>", "<|u|>"};
    for (int i = B_AB; i < B_N; i++) {
        tok[i] = more[i - B_AB];
        type[i] = i == B_EOT ? TOKENIZER_TYPE_CONTROL
                  : i == B_USER ? TOKENIZER_TYPE_USER_DEFINED : TOKENIZER_TYPE_NORMAL;
    }
    const char *merges[] = {"b c", "a b", "\xC4\xA0 !", "3 4", "\xC4\xA0 `", "a bc",
                            "nospace", "b c" /* a duplicate: the first rank stays */};
    struct gguf_writer w;
    gguf_writer_init(&w);
    gguf_writer_str(&w, "tokenizer.ggml.model", "gpt2");
    if (pre)
        gguf_writer_str(&w, "tokenizer.ggml.pre", pre);
    gguf_writer_arr_str(&w, "tokenizer.ggml.tokens", tok, B_N);
    gguf_writer_arr(&w, "tokenizer.ggml.token_type", GGUF_VTYPE_I32, type, B_N);
    if (with_merges)
        gguf_writer_arr_str(&w, "tokenizer.ggml.merges", merges, sizeof merges / sizeof merges[0]);
    gguf_writer_u32(&w, "tokenizer.ggml.bos_token_id", B_EOT);
    return tv_open(tv, &w, err);
}

static void hand_bpe_ok(struct tv *tv, const char *pre)
{
    struct plumb_err err = {{0}};
    cr_assert(eq(int, hand_bpe(tv, pre, true, &err), 0), "%s", err.msg);
}

Test(tokenizer, bpe_merges_the_lowest_rank_first)
{
    struct tv tv;
    hand_bpe_ok(&tv, "gpt-2");
    /* "b c" (0) before "a b" (1), then "a bc" (5): one token */
    EXPECT(&tv.t, "abc", false, B_ABC);
    /* same rank twice: leftmost first, both merge */
    EXPECT(&tv.t, "abab", false, B_AB, B_AB);
    /* merges never cross words: "ab", " c" */
    EXPECT(&tv.t, "ab c", false, B_AB, ' ', 'c');
    /* no BOS unless asked; bos here is the control token */
    EXPECT(&tv.t, "a", true, B_EOT, 'a');
    expect_none(&tv.t, "", 0, false);
    tv_close(&tv);
}

Test(tokenizer, bpe_pre_tokenizers_cut_where_llama_cpp_cuts)
{
    struct tv tv;
    /* gpt-2: " !!" is one word (space + punctuation run): "Ġ!" then "!";
     * "12345" one number word, so "3 4" merges; " `" one word */
    hand_bpe_ok(&tv, "gpt-2");
    EXPECT(&tv.t, " !!", false, B_SPBANG, '!');
    EXPECT(&tv.t, "12345", false, '1', '2', B_34, '5');
    EXPECT(&tv.t, " `", false, B_SPTICK);
    /* two spaces before a word: the first space stands alone */
    EXPECT(&tv.t, "  !", false, ' ', B_SPBANG);
    tv_close(&tv);

    /* default: punctuation runs (not '`') are cut off first, so " " | "!!";
     * digits go in threes: "123" | "45", and "3 4" cannot merge */
    hand_bpe_ok(&tv, "default");
    EXPECT(&tv.t, " !!", false, ' ', '!', '!');
    EXPECT(&tv.t, "12345", false, '1', '2', '3', '4', '5');
    EXPECT(&tv.t, " `", false, B_SPTICK);
    EXPECT(&tv.t, "abc", false, B_ABC);
    tv_close(&tv);
    hand_bpe_ok(&tv, NULL); /* no key: default, as llama.cpp */
    cr_assert(eq(int, tv.t.pre, TOKENIZER_PRE_DEFAULT));
    EXPECT(&tv.t, "12345", false, '1', '2', '3', '4', '5');
    tv_close(&tv);

    /* llama-bpe: a word that is a token is taken whole (ignore_merges) */
    hand_bpe_ok(&tv, "llama-bpe");
    EXPECT(&tv.t, "xyz", false, B_XYZ);
    EXPECT(&tv.t, "12345", false, '1', '2', '3', '4', '5');
    tv_close(&tv);
    hand_bpe_ok(&tv, "gpt-2");
    EXPECT(&tv.t, "xyz", false, 'x', 'y', 'z');
    tv_close(&tv);
}

Test(tokenizer, bpe_special_tokens_and_invalid_utf8)
{
    struct tv tv;
    hand_bpe_ok(&tv, "gpt-2");
    EXPECT(&tv.t, "a<|u|>b", false, 'a', B_USER, 'b');
    /* the control token's text is plain text */
    EXPECT(&tv.t, "<|endoftext|>", false, '<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't', '|', '>');
    /* an invalid byte is U+FFFD (EF BF BD), one per byte */
    EXPECT(&tv.t, "a\xFF" "b", false, 'a', 0xEF, 0xBF, 0xBD, 'b');
    EXPECT(&tv.t, "\x80\x80", false, 0xEF, 0xBF, 0xBD, 0xEF, 0xBF, 0xBD);
    /* an overlong NUL is re-encoded as the byte 0 */
    EXPECT(&tv.t, "\xC0\x80", false, 0);
    /* above U+10FFFF: one U+FFFD for the four bytes */
    EXPECT(&tv.t, "\xF4\x90\x80\x80", false, 0xEF, 0xBF, 0xBD);
    /* a truncated sequence at the end: U+FFFD, then the rest as bytes */
    EXPECT(&tv.t, "\xE2\x82", false, 0xEF, 0xBF, 0xBD, 0xEF, 0xBF, 0xBD);

    char buf[8];
    cr_assert(eq(sz, tokenizer_piece(&tv.t, ' ', buf, sizeof buf), 1));
    cr_assert(eq(chr, buf[0], ' '));
    cr_assert(eq(sz, tokenizer_piece(&tv.t, B_SPBANG, buf, sizeof buf), 2));
    cr_assert(eq(int, memcmp(buf, " !", 2), 0));
    cr_assert(eq(sz, tokenizer_piece(&tv.t, B_EOT, buf, sizeof buf), 13));
    tv_close(&tv);
}

Test(tokenizer, bad_bpe_vocabularies_are_rejected_naming_the_key)
{
    struct tv tv;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, hand_bpe(&tv, "qwen2", true, &err), -1));
    cr_assert(eq(str, err.msg, "hand.gguf: tokenizer.ggml.pre: pre-tokenizer 'qwen2' is not supported "
                               "(plumb reads 'default', 'gpt-2' and 'llama-bpe')"));
    tv_close(&tv);
    cr_assert(eq(int, hand_bpe(&tv, "gpt-2", false, &err), -1));
    cr_assert(eq(str, err.msg, "hand.gguf: tokenizer.ggml.merges: missing (a gpt2 tokenizer needs its merges)"));
    tv_close(&tv);
}

/* ---- 3. round trips ---- */

/* Random text: mostly valid UTF-8 from assorted scripts, with control
 * characters, NUL and spaces; with `raw`, also arbitrary bytes. */
static size_t random_text(uint64_t *seed, char *out, size_t cap, bool raw)
{
    static const uint32_t pool[] = {
        'a', 'b', 'Z', '0', '7', ' ', ' ', '\t', '\n', '\r', 0, 1, 0x1F, 0x7F, '\'', ',', '.', '!', '`',
        0xE9, 0xDF, 0xBD, 0xA0, 0x3B1, 0x3A9, 0x416, 0x44F, 0x5D0, 0x627, 0x905, 0xE01, 0x17D2,
        0x3042, 0x30AB, 0x4E2D, 0x6587, 0xAC00, 0x3000, 0x2028, 0xFEFF, 0xFFFD,
        0x1F999, 0x1F600, 0x1F469, 0x200D, 0x301, 0x10348, 0xE000,
    };
    size_t n = (size_t)(test_rand(seed) % 48), len = 0;
    for (size_t i = 0; i < n && len + 4 <= cap; i++) {
        uint64_t r = test_rand(seed);
        if (raw && r % 5 == 0) {
            out[len++] = (char)(r >> 8);
            continue;
        }
        uint32_t cp = pool[(r >> 8) % (sizeof pool / sizeof pool[0])];
        if (cp < 0x80) {
            out[len++] = (char)cp;
        } else if (cp < 0x800) {
            out[len++] = (char)(0xC0 | (cp >> 6));
            out[len++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[len++] = (char)(0xE0 | (cp >> 12));
            out[len++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[len++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[len++] = (char)(0xF0 | (cp >> 18));
            out[len++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            out[len++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[len++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    return len;
}

/*
 * The oracle for BPE's handling of bytes, written from the rules in
 * tokenizer.c's header (llama.cpp's unicode_cpts_from_utf8): a well-formed
 * prefix (by lead byte: 2, 3 or 4 bytes, continuation bytes 10xxxxxx) is
 * re-encoded shortest; anything else is U+FFFD for one byte; a value above
 * U+10FFFF is U+FFFD for its four bytes.
 */
static size_t bpe_expected(const unsigned char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 1 : c < 0xC0 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF8 ? 4 : 0;
        bool ok = k > 0 && i + k <= n;
        for (size_t j = 1; ok && j < k; j++)
            ok = (s[i + j] & 0xC0) == 0x80;
        uint32_t cp = 0xFFFD;
        if (ok) {
            cp = k == 1 ? c : c & (0xFFu >> (k + 1));
            for (size_t j = 1; j < k; j++)
                cp = cp << 6 | (s[i + j] & 0x3Fu);
            if (cp > 0x10FFFF)
                cp = 0xFFFD;
            i += k;
        } else {
            i++;
        }
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else if (cp < 0x800) {
            out[o++] = (char)(0xC0 | (cp >> 6));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[o++] = (char)(0xE0 | (cp >> 12));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[o++] = (char)(0xF0 | (cp >> 18));
            out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    return o;
}

/*
 * The oracle for SPM: the text (with the prefix space) has its spaces written
 * "▁" and is cut into symbols by lead byte; a symbol that is exactly "▁"
 * decodes to ' ', any other to its own bytes (a token's text or byte
 * tokens). So valid UTF-8 comes back unchanged, but a broken lead byte right
 * before a space swallows (part of) that space's "▁", which then comes back
 * as raw bytes: llama.cpp escapes spaces before it cuts symbols, too.
 */
static size_t spm_expected(const unsigned char *s, size_t n, bool prefix, char *out)
{
    unsigned char e[1024];
    size_t en = 0, o = 0;
    if (prefix)
        memcpy(e + en, SP, 3), en += 3;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ' ')
            memcpy(e + en, SP, 3), en += 3;
        else
            e[en++] = s[i];
    for (size_t i = 0; i < en;) {
        size_t k = e[i] < 0xC0 ? 1 : e[i] < 0xE0 ? 2 : e[i] < 0xF0 ? 3 : 4;
        if (k > en - i)
            k = en - i;
        if (k == 3 && !memcmp(e + i, SP, 3))
            out[o++] = ' ';
        else
            memcpy(out + o, e + i, k), o += k;
        i += k;
    }
    if (prefix && o > 0 && out[0] == ' ')
        memmove(out, out + 1, --o);
    return o;
}

/*
 * For `cases` seeded random texts: decode(encode(x)) must equal the oracle's
 * answer (SPM: x itself for valid UTF-8; BPE: x itself for valid UTF-8). All
 * cases run; one assertion reports the count and the first failure with its
 * seed.
 */
static void round_trips(const struct tokenizer *t, uint64_t seed0, int cases, bool raw)
{
    uint64_t seed = seed0;
    int bad = 0;
    char first[1024] = "";
    for (int c = 0; c < cases; c++) {
        char text[256], want[1024];
        size_t len = random_text(&seed, text, sizeof text, raw), n, got_len, want_len;
        struct plumb_err err = {{0}};
        int32_t *ids;
        char *got;
        bool spm = t->model == TOKENIZER_MODEL_SPM;
        cr_assert(eq(int, tokenizer_encode(t, text, len, spm, &ids, &n, &err), 0), "%s", err.msg);
        cr_assert(eq(int, tokenizer_decode(t, ids, n, spm && t->add_space_prefix, &got, &got_len, &err), 0),
                  "%s", err.msg);
        if (spm) {
            want_len = spm_expected((const unsigned char *)text, len, t->add_space_prefix, want);
            cr_assert(raw || (want_len == len && !memcmp(want, text, len)));
        } else {
            want_len = bpe_expected((const unsigned char *)text, len, want);
        }
        if ((got_len != want_len || memcmp(got, want, want_len)) && !bad++)
            snprintf(first, sizeof first, "case %d: \"%s\" came back as \"%s\"", c, show(text, len),
                     show(got, got_len));
        free(ids);
        free(got);
    }
    cr_assert(eq(int, bad, 0), "%d of %d round trips failed (seed %llu); first: %s", bad, cases,
              (unsigned long long)seed0, first);
}

Test(tokenizer, spm_round_trips_utf8_and_keeps_every_byte)
{
    struct tv tv;
    tv_open_file(&tv, VOCAB_DIR "ggml-vocab-llama-spm.gguf");
    round_trips(&tv.t, 1, 2000, false);
    round_trips(&tv.t, 2, 2000, true);
    tv_close(&tv);
    hand_spm_ok(&tv, HAND_OK);
    round_trips(&tv.t, 3, 2000, true);
    tv_close(&tv);
    hand_spm_ok(&tv, HAND_NO_SPACE_PREFIX);
    round_trips(&tv.t, 4, 2000, true);
    tv_close(&tv);
}

Test(tokenizer, bpe_round_trips_valid_utf8_and_replaces_invalid_bytes)
{
    struct tv tv;
    tv_open_file(&tv, VOCAB_DIR "ggml-vocab-gpt-2.gguf");
    round_trips(&tv.t, 5, 2000, false);
    round_trips(&tv.t, 6, 2000, true);
    tv_close(&tv);
    tv_open_file(&tv, VOCAB_DIR "ggml-vocab-llama-bpe.gguf");
    round_trips(&tv.t, 7, 2000, false);
    round_trips(&tv.t, 8, 2000, true);
    tv_close(&tv);
    hand_bpe_ok(&tv, "default");
    round_trips(&tv.t, 9, 2000, true);
    tv_close(&tv);
}

/* ---- 5. the fixture vocabulary of harness/vocab.c ---- */

Test(tokenizer, fixture_vocabulary_pieces_encode_to_themselves)
{
    struct vocab v;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, vocab_build(&v, 2048, &err), 0), "%s", err.msg);
    struct gguf_writer w;
    gguf_writer_init(&w);
    gguf_writer_str(&w, "tokenizer.ggml.model", "llama");
    gguf_writer_arr_str(&w, "tokenizer.ggml.tokens", (const char *const *)v.pieces, (uint64_t)v.n);
    gguf_writer_arr(&w, "tokenizer.ggml.scores", GGUF_VTYPE_F32, v.scores, (uint64_t)v.n);
    gguf_writer_arr(&w, "tokenizer.ggml.token_type", GGUF_VTYPE_I32, v.types, (uint64_t)v.n);
    gguf_writer_u32(&w, "tokenizer.ggml.bos_token_id", (uint32_t)v.bos);
    gguf_writer_u32(&w, "tokenizer.ggml.eos_token_id", (uint32_t)v.eos);
    gguf_writer_u32(&w, "tokenizer.ggml.unknown_token_id", (uint32_t)v.unk);
    gguf_writer_bool(&w, "tokenizer.ggml.add_space_prefix", false);
    struct tv tv;
    cr_assert(eq(int, tv_open(&tv, &w, &err), 0), "%s", err.msg);

    /* vocab.h: every normal piece is reachable, i.e. its own characters
     * encode to exactly that token (spaces written as "▁") */
    int64_t bad = -1, normal = 0;
    for (int64_t id = 0; id < v.n && bad < 0; id++) {
        if (v.types[id] != VOCAB_TYPE_NORMAL)
            continue;
        normal++;
        char text[512];
        size_t len = 0;
        for (const char *p = v.pieces[id]; *p && len + 1 < sizeof text;) {
            if (!strncmp(p, SP, 3)) {
                text[len++] = ' ';
                p += 3;
            } else {
                text[len++] = *p++;
            }
        }
        int32_t *ids;
        size_t n;
        cr_assert(eq(int, tokenizer_encode(&tv.t, text, len, false, &ids, &n, &err), 0), "%s", err.msg);
        if (n != 1 || ids[0] != id)
            bad = id;
        free(ids);
    }
    cr_assert(eq(i64, bad, -1), "piece %lld \"%s\" does not encode to itself", (long long)bad,
              bad >= 0 ? show(v.pieces[bad], strlen(v.pieces[bad])) : "");
    cr_assert(gt(i64, normal, 1000));
    round_trips(&tv.t, 10, 2000, true);
    tv_close(&tv);
    vocab_free(&v);
}

/* ---- 6. speed ---- */

/* 1 MB of text made by repeating `unit`. */
static char *repeat_to_1mb(const char *unit, size_t *len)
{
    size_t n = strlen(unit), total = (size_t)1 << 20;
    char *s = malloc(total);
    cr_assert(s != NULL);
    for (size_t i = 0; i < total; i++)
        s[i] = unit[i % n];
    /* do not end inside a UTF-8 sequence */
    while (total > 0 && ((unsigned char)s[total - 1] & 0xC0) == 0x80)
        total--;
    if (total > 0 && (unsigned char)s[total - 1] >= 0xC0)
        total--;
    *len = total;
    return s;
}

/* A 1 MB input, adversarial for the merge loops (one 1M-symbol word, one
 * run of spaces): it must tokenize, and valid text must come back intact.
 * Speed is not asserted here (machines are shared and noisy); a quadratic
 * merge would still show as the suite's timeout. */
static void big_encode(const struct tokenizer *t, const char *what, const char *unit)
{
    size_t len, n;
    char *text = repeat_to_1mb(unit, &len);
    struct plumb_err err = {{0}};
    int32_t *ids;
    cr_assert(eq(int, tokenizer_encode(t, text, len, false, &ids, &n, &err), 0), "%s", err.msg);
    cr_assert(gt(sz, n, 0), "%s", what);
    char *back;
    size_t back_len;
    cr_assert(eq(int, tokenizer_decode(t, ids, n, false, &back, &back_len, &err), 0), "%s", err.msg);
    cr_assert(gt(sz, back_len, 0), "%s", what);
    free(back);
    free(ids);
    free(text);
}

static const char *mixed_text =
    "The quick brown fox, 12345 times; \"quoted\" text's end.\n\t  Ελληνικά και "
    "кириллица, 中文字符和日本語のテキスト, emoji \xF0\x9F\xA6\x99\xF0\x9F\x98\x80 and "
    "numbers 3.14159 2718281828!   ";

Test(tokenizer, one_megabyte_adversarial_inputs_tokenize, .timeout = 120)
{
    static const char *files[] = {"ggml-vocab-llama-spm", "ggml-vocab-gpt-2", "ggml-vocab-llama-bpe"};
    for (size_t i = 0; i < 3; i++) {
        char path[256];
        snprintf(path, sizeof path, VOCAB_DIR "%s.gguf", files[i]);
        struct tv tv;
        tv_open_file(&tv, path);
        big_encode(&tv.t, files[i], mixed_text);
        big_encode(&tv.t, files[i], "a");          /* one 1 MB word for BPE */
        big_encode(&tv.t, files[i], " ");          /* one 1 MB run of spaces */
        big_encode(&tv.t, files[i], "\xE4\xB8\xAD"); /* CJK, no spaces */
        tv_close(&tv);
    }
}
