/*
 * test_vocab.c: the synthetic SentencePiece vocabulary (harness/vocab.c).
 *
 * Checks the fixed layout (specials, bytes), uniqueness, score order,
 * determinism (pinned by a hash and a few known pieces), and reachability
 * with an encoder written here independently of vocab.c: llama.cpp's
 * SentencePiece BPE rule (merge the adjacent pair whose concatenation is the
 * highest-scoring token, leftmost on ties).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

/* Criterion 2.4.1's cr_assert() stores an int into a 1-bit field, which gcc's
 * -Wconversion flags at every use; the rest of the warnings stay on. */
#pragma GCC diagnostic ignored "-Wconversion"

#include "vocab.h"

TestSuite(vocab, .timeout = 30);

/* FNV-1a over every piece (with its NUL), score bits and type. */
static uint64_t vocab_digest(const struct vocab *v)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (int64_t i = 0; i < v->n; i++) {
        unsigned char buf[8];
        const unsigned char *p = (const unsigned char *)v->pieces[i];
        size_t len = strlen(v->pieces[i]) + 1;
        for (size_t k = 0; k < len; k++)
            h = (h ^ p[k]) * UINT64_C(0x100000001b3);
        memcpy(buf, &v->scores[i], 4);
        memcpy(buf + 4, &v->types[i], 4);
        for (size_t k = 0; k < 8; k++)
            h = (h ^ buf[k]) * UINT64_C(0x100000001b3);
    }
    return h;
}

/* ---- an independent SentencePiece-BPE encoder: sorted pieces + bsearch */

struct enc {
    const struct vocab *v;
    int64_t *sorted; /* ids ordered by piece bytes */
};

static const struct vocab *enc_cmp_vocab;

static int enc_sort_cmp(const void *a, const void *b)
{
    return strcmp(enc_cmp_vocab->pieces[*(const int64_t *)a],
                  enc_cmp_vocab->pieces[*(const int64_t *)b]);
}

static void enc_init(struct enc *e, const struct vocab *v)
{
    e->v = v;
    e->sorted = malloc((size_t)v->n * sizeof *e->sorted);
    cr_assert(ne(ptr, e->sorted, NULL));
    for (int64_t i = 0; i < v->n; i++)
        e->sorted[i] = i;
    enc_cmp_vocab = v;
    qsort(e->sorted, (size_t)v->n, sizeof *e->sorted, enc_sort_cmp);
}

/* Token id of len bytes at s, or -1. */
static int64_t enc_find(const struct enc *e, const char *s, size_t len)
{
    int64_t lo = 0, hi = e->v->n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        const char *p = e->v->pieces[e->sorted[mid]];
        int c = strncmp(p, s, len);
        if (c == 0)
            c = p[len] == '\0' ? 0 : 1; /* p is longer: after s */
        if (c == 0)
            return e->sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static size_t enc_char_len(unsigned char b)
{
    return b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 1;
}

/* Encode s; returns the number of tokens and the first in *first (-1 when a
 * final symbol is not a token). */
static size_t enc_encode(const struct enc *e, const char *s, int64_t *first)
{
    size_t len = strlen(s), m = 0;
    size_t start[512], end[512];
    cr_assert(lt(sz, len, (size_t)512));
    for (size_t i = 0; i < len; m++) {
        size_t cl = enc_char_len((unsigned char)s[i]);
        start[m] = i;
        end[m] = i + cl;
        i += cl;
    }
    for (;;) {
        size_t best = m;
        float best_score = 0.0f;
        for (size_t i = 0; i + 1 < m; i++) {
            int64_t id = enc_find(e, s + start[i], end[i + 1] - start[i]);
            if (id >= 0 && (best == m || e->v->scores[id] > best_score)) {
                best = i;
                best_score = e->v->scores[id];
            }
        }
        if (best == m)
            break;
        end[best] = end[best + 1];
        for (size_t i = best + 1; i + 1 < m; i++) {
            start[i] = start[i + 1];
            end[i] = end[i + 1];
        }
        m--;
    }
    *first = m ? enc_find(e, s + start[0], end[0] - start[0]) : -1;
    return m;
}

static void check_reachable(int64_t n)
{
    struct vocab v;
    struct plumb_err err;
    cr_assert(eq(int, vocab_build(&v, n, &err), 0), "%s", err.msg);
    struct enc e;
    enc_init(&e, &v);
    for (int64_t i = VOCAB_MIN; i < v.n; i++) {
        int64_t tok;
        size_t count = enc_encode(&e, v.pieces[i], &tok);
        if (count != 1 || tok != i)
            cr_fail("n=%lld: piece %lld '%s' encodes to %zu tokens, first %lld", (long long)n,
                    (long long)i, v.pieces[i], count, (long long)tok);
    }
    free(e.sorted);
    vocab_free(&v);
}

Test(vocab, specials_and_byte_tokens_have_fixed_ids)
{
    struct vocab v;
    struct plumb_err err;
    cr_assert(eq(int, vocab_build(&v, 512, &err), 0), "%s", err.msg);
    cr_assert(eq(i64, v.n, 512));
    cr_assert(eq(str, v.pieces[0], "<unk>"));
    cr_assert(eq(str, v.pieces[1], "<s>"));
    cr_assert(eq(str, v.pieces[2], "</s>"));
    cr_assert(eq(i32, v.types[0], VOCAB_TYPE_UNKNOWN));
    cr_assert(eq(i32, v.types[1], VOCAB_TYPE_CONTROL));
    cr_assert(eq(i32, v.types[2], VOCAB_TYPE_CONTROL));
    cr_assert(eq(i32, v.unk, 0));
    cr_assert(eq(i32, v.bos, 1));
    cr_assert(eq(i32, v.eos, 2));
    for (int b = 0; b < 256; b++) {
        char want[8];
        snprintf(want, sizeof want, "<0x%02X>", (unsigned)b);
        cr_assert(eq(str, v.pieces[3 + b], want));
        cr_assert(eq(i32, v.types[3 + b], VOCAB_TYPE_BYTE));
    }
    for (int i = 0; i < VOCAB_MIN; i++)
        cr_assert(eq(flt, v.scores[i], 0.0f), "id %d", i);
    for (int64_t i = VOCAB_MIN; i < v.n; i++)
        cr_assert(eq(i32, v.types[i], VOCAB_TYPE_NORMAL), "id %lld", (long long)i);
    vocab_free(&v);
}

Test(vocab, pieces_are_unique_nonempty_and_scores_strictly_decrease)
{
    struct vocab v;
    struct plumb_err err;
    cr_assert(eq(int, vocab_build(&v, 32000, &err), 0), "%s", err.msg);
    struct enc e;
    enc_init(&e, &v);
    for (int64_t i = 1; i < v.n; i++)
        if (strcmp(v.pieces[e.sorted[i - 1]], v.pieces[e.sorted[i]]) == 0)
            cr_fail("ids %lld and %lld are both '%s'", (long long)e.sorted[i - 1],
                    (long long)e.sorted[i], v.pieces[e.sorted[i]]);
    for (int64_t i = 0; i < v.n; i++)
        cr_assert(gt(sz, strlen(v.pieces[i]), (size_t)0), "id %lld", (long long)i);
    int64_t worst = -1;
    for (int64_t i = VOCAB_MIN + 1; i < v.n && worst < 0; i++)
        if (!(v.scores[i] < v.scores[i - 1]))
            worst = i;
    cr_assert(eq(i64, worst, -1), "score of id %lld does not decrease", (long long)worst);
    cr_assert(lt(flt, v.scores[VOCAB_MIN], 0.0f));
    free(e.sorted);
    vocab_free(&v);
}

Test(vocab, same_n_gives_the_same_vocab)
{
    struct vocab a, b;
    struct plumb_err err;
    cr_assert(eq(int, vocab_build(&a, 32000, &err), 0), "%s", err.msg);
    cr_assert(eq(int, vocab_build(&b, 32000, &err), 0), "%s", err.msg);
    for (int64_t i = 0; i < a.n; i++) {
        cr_assert(eq(str, a.pieces[i], b.pieces[i]), "id %lld", (long long)i);
        cr_assert(eq(flt, a.scores[i], b.scores[i]), "id %lld", (long long)i);
        cr_assert(eq(i32, a.types[i], b.types[i]), "id %lld", (long long)i);
    }
    vocab_free(&a);
    vocab_free(&b);
}

Test(vocab, smaller_n_is_a_prefix_of_larger_n)
{
    struct vocab a, b;
    struct plumb_err err;
    cr_assert(eq(int, vocab_build(&a, 512, &err), 0), "%s", err.msg);
    cr_assert(eq(int, vocab_build(&b, 32000, &err), 0), "%s", err.msg);
    for (int64_t i = 0; i < a.n; i++)
        cr_assert(eq(str, a.pieces[i], b.pieces[i]), "id %lld", (long long)i);
    vocab_free(&a);
    vocab_free(&b);
}

/* A change to the corpus, the tie rule or the stage order shows up here. */
Test(vocab, n_512_is_pinned)
{
    struct vocab v;
    struct plumb_err err;
    cr_assert(eq(int, vocab_build(&v, 512, &err), 0), "%s", err.msg);
    cr_assert(eq(str, v.pieces[259], "\xE2\x96\x81"));
    cr_assert(eq(str, v.pieces[260], "!"));
    cr_assert(eq(str, v.pieces[353], "~"));
    cr_assert(eq(str, v.pieces[354], "\xE2\x96\x81t"));
    cr_assert(eq(str, v.pieces[357], "\xE2\x96\x81the"));
    cr_assert(eq(str, v.pieces[448], "\xE2\x96\x81instrument"));
    cr_assert(eq(flt, v.scores[259], -1.0f));
    cr_assert(eq(flt, v.scores[511], -253.0f));
    cr_assert(eq(u64, vocab_digest(&v), UINT64_C(0xd579a6bc4a2b692d)), "digest 0x%016llx",
              (unsigned long long)vocab_digest(&v));
    vocab_free(&v);
}

Test(vocab, every_normal_piece_is_reachable_n_512)
{
    check_reachable(512);
}

Test(vocab, every_normal_piece_is_reachable_n_32000)
{
    check_reachable(32000);
}

Test(vocab, n_259_has_no_normal_pieces)
{
    struct vocab v;
    struct plumb_err err;
    cr_assert(eq(int, vocab_build(&v, 259, &err), 0), "%s", err.msg);
    cr_assert(eq(i64, v.n, 259));
    cr_assert(eq(str, v.pieces[258], "<0xFF>"));
    for (int i = 0; i < 259; i++)
        cr_assert(ne(i32, v.types[i], VOCAB_TYPE_NORMAL), "id %d", i);
    vocab_free(&v);
}

Test(vocab, n_32000_builds_in_well_under_a_second)
{
    struct vocab v;
    struct plumb_err err;
    clock_t t0 = clock();
    cr_assert(eq(int, vocab_build(&v, 32000, &err), 0), "%s", err.msg);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    cr_assert(eq(i64, v.n, 32000));
    cr_assert(lt(dbl, secs, 1.0), "took %.3f s", secs);
    vocab_free(&v);
}

Test(vocab, n_out_of_range_is_refused)
{
    static const int64_t bad[] = {-1, 0, 258, VOCAB_MAX + 1, INT64_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct vocab v;
        struct plumb_err err = {{0}};
        cr_assert(eq(int, vocab_build(&v, bad[i], &err), -1), "n=%lld", (long long)bad[i]);
        cr_assert(ne(ptr, strstr(err.msg, "vocab:"), NULL), "%s", err.msg);
        cr_assert(eq(ptr, v.pieces, NULL));
        vocab_free(&v);
    }
}

Test(vocab, free_is_safe_on_zeroed_and_twice)
{
    struct vocab v;
    memset(&v, 0, sizeof v);
    vocab_free(&v);
    vocab_free(NULL);
    cr_assert(eq(int, vocab_build(&v, 300, NULL), 0));
    vocab_free(&v);
    vocab_free(&v);
}
