/*
 * vocab.c: a deterministic SentencePiece-style vocabulary. See vocab.h.
 *
 * How the normal pieces (ids 259 and up) are chosen, in order; each piece k
 * (k = 1, 2, ... in order of creation) gets score -k:
 *
 *  1. Single characters: "\xE2\x96\x81" (U+2581, which SentencePiece writes
 *     for a space), then the printable ASCII characters '!'..'~' in byte
 *     order. Everything the built-in corpus uses is among them.
 *
 *  2. BPE training over vocab_corpus, a few paragraphs of English. The corpus
 *     is cut at spaces into words and each word gets a "\xE2\x96\x81" prefix,
 *     as SentencePiece does; merges never cross words. Each word starts as
 *     its characters. Each round counts, over all words weighted by how
 *     often the word occurs, every adjacent pair of symbols (integer counts);
 *     the pair with the highest count wins, ties going to the pair whose left
 *     symbol is bytewise smallest, then whose right symbol is; every
 *     occurrence of it is merged, left to right, without overlap. The
 *     merged string becomes the next piece unless it is already a token or
 *     is not reachable (below). Training stops when no word has two symbols
 *     left, or the vocabulary is full.
 *
 *  3. Concatenations, if n is still not reached: for a = 259, 260, ... (the
 *     list keeps growing as pieces are added) and for b = 259 .. a, the
 *     candidates piece[a] + piece[b], then piece[b] + piece[a] (once when
 *     a == b); a candidate that is already a token, or not reachable, is
 *     skipped.
 *
 * Reachability. The encoder (llama.cpp's SentencePiece BPE) starts from the
 * UTF-8 characters and repeatedly merges the adjacent pair whose
 * concatenation is a token with the highest score, leftmost on ties. A new
 * piece P has the lowest score of all, so it only takes part when two symbols
 * that make up P are all that is left: P is reachable exactly when encoding
 * it with the pieces before it ends in two symbols. Pieces added later score
 * lower than every merge used on the way to P, so they never change P's
 * encoding: reachability, once checked, holds in the final vocabulary.
 *
 * Only integers are involved (the scores are small integers stored in float,
 * exact below 2^24). No randomness, no libm, no locale.
 */
#include "vocab.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VOCAB_FIRST_NORMAL 259
#define VOCAB_SPACE "\xE2\x96\x81" /* U+2581 LOWER ONE EIGHTH BLOCK */

/* The training text: ASCII letters, digits, punctuation and single spaces. */
static const char vocab_corpus[] =
    "To measure a thing well you must first decide what the thing is. A length "
    "of wire, the weight of a letter, the time a kettle takes to boil: each "
    "seems simple until you try to write the number down and someone asks how "
    "sure you are. The careful worker answers that question before it is asked. "
    "She notes the instrument, the temperature of the room, the hour, and the "
    "hand that held the ruler. She repeats the reading, and when two readings "
    "disagree she does not pick the one she likes; she records both and looks "
    "for the reason they differ. "
    "Every measurement is a comparison. A balance compares two weights, a clock "
    "compares a process with the swing of a pendulum or the beat of a crystal, "
    "and a thermometer compares the expansion of a liquid with marks that "
    "somebody else once made with care. When we trust a number we are trusting "
    "that chain of comparisons, link by link, back to a standard kept in a "
    "quiet room. If one link is weak, the whole number is weaker than it looks. "
    "Small errors have a way of growing. A scale that reads one gram heavy is "
    "harmless for a single letter and ruinous for a thousand parcels. A clock "
    "that loses a second each day is fine for breakfast and useless for "
    "navigation. So the careful worker keeps a record of each correction, "
    "checks the instrument against a known reference at the start and at the "
    "end of the day, and writes down the conditions under which the check was "
    "made. None of this is exciting, and all of it matters. "
    "There is also the question of rounding. A measured value carries more "
    "digits than it deserves, and the temptation is to keep them all because "
    "they look precise. Precision is not accuracy. Three readings that agree "
    "to the fifth decimal place can all be wrong by the same amount if the "
    "instrument was never checked. The honest report gives the value, the "
    "uncertainty, and the method, so that another person, in another place, "
    "with another instrument, can repeat the work and see whether the answer "
    "holds. That, in the end, is what it means to know something by "
    "measuring it: not that we were certain, but that anyone who follows the "
    "same steps will find the same result, within the limits we have stated.";

/* ---- a string table: pieces back to back, found by an open-addressing hash */

struct vocab_tab {
    char *buf;          /* pieces, each NUL-terminated */
    size_t used, cap;
    size_t *off;        /* (n,) start of each piece in buf */
    uint32_t *len;      /* (n,) bytes of each piece, without the NUL */
    int64_t n, cap_n;
    int32_t *slot;      /* (n_slot,) piece id or -1; n_slot a power of two */
    size_t n_slot;
};

static uint64_t vocab_hash(const char *s, size_t len)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static void vocab_tab_free(struct vocab_tab *t)
{
    free(t->buf);
    free(t->off);
    free(t->len);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

/* Id of the piece equal to len bytes at s, or -1. */
static int64_t vocab_tab_find(const struct vocab_tab *t, const char *s, size_t len)
{
    if (t->n_slot == 0)
        return -1;
    size_t mask = t->n_slot - 1;
    for (size_t i = (size_t)vocab_hash(s, len) & mask;; i = (i + 1) & mask) {
        int32_t id = t->slot[i];
        if (id < 0)
            return -1;
        if (t->len[id] == len && memcmp(t->buf + t->off[id], s, len) == 0)
            return id;
    }
}

static void vocab_tab_place(struct vocab_tab *t, int32_t id)
{
    size_t mask = t->n_slot - 1;
    size_t i = (size_t)vocab_hash(t->buf + t->off[id], t->len[id]) & mask;
    while (t->slot[i] >= 0)
        i = (i + 1) & mask;
    t->slot[i] = id;
}

/* Append a piece known to be absent; its id is the previous count. Returns
 * the id, or -1 when memory runs out. s must not point into t->buf. */
static int64_t vocab_tab_add(struct vocab_tab *t, const char *s, size_t len)
{
    assert(len < UINT32_MAX);
    if (t->used + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->used + len + 1)
            cap *= 2;
        char *b = realloc(t->buf, cap);
        if (!b)
            return -1;
        t->buf = b;
        t->cap = cap;
    }
    if (t->n == t->cap_n) {
        int64_t cap_n = t->cap_n ? 2 * t->cap_n : 1024;
        size_t *o = realloc(t->off, (size_t)cap_n * sizeof *o);
        if (!o)
            return -1;
        t->off = o;
        uint32_t *l = realloc(t->len, (size_t)cap_n * sizeof *l);
        if (!l)
            return -1;
        t->len = l;
        t->cap_n = cap_n;
    }
    if ((size_t)(t->n + 1) * 2 > t->n_slot) { /* keep the load under 1/2 */
        size_t n_slot = t->n_slot ? 2 * t->n_slot : 2048;
        int32_t *sl = malloc(n_slot * sizeof *sl);
        if (!sl)
            return -1;
        free(t->slot);
        t->slot = sl;
        t->n_slot = n_slot;
        memset(sl, 0xff, n_slot * sizeof *sl); /* every slot -1 */
        for (int64_t id = 0; id < t->n; id++)
            vocab_tab_place(t, (int32_t)id);
    }
    int64_t id = t->n++;
    t->off[id] = t->used;
    t->len[id] = (uint32_t)len;
    memcpy(t->buf + t->used, s, len);
    t->buf[t->used + len] = '\0';
    t->used += len + 1;
    vocab_tab_place(t, (int32_t)id);
    return id;
}

/* ---- the builder */

struct vocab_builder {
    struct vocab_tab tok;   /* every token so far, by id */
    float *scores;          /* (n,) */
    int64_t n;              /* target size */
    int64_t n_normal;       /* normal pieces so far: the next score is -(n_normal+1) */
    char *cand;             /* scratch: a candidate piece */
    size_t cand_cap;
    size_t *sym_start;      /* scratch for the encoder, one entry per byte */
    size_t *sym_end;
    int64_t *pair;
    size_t scratch_cap;
};

/* Bytes in the UTF-8 character whose first byte is b (1 for a stray byte),
 * as llama.cpp's splitter counts them. */
static size_t vocab_utf8_len(unsigned char b)
{
    if (b < 0x80)
        return 1;
    if ((b & 0xe0) == 0xc0)
        return 2;
    if ((b & 0xf0) == 0xe0)
        return 3;
    if ((b & 0xf8) == 0xf0)
        return 4;
    return 1;
}

static int vocab_scratch(struct vocab_builder *b, size_t len)
{
    if (len <= b->scratch_cap)
        return 0;
    size_t cap = b->scratch_cap ? b->scratch_cap : 64;
    while (cap < len)
        cap *= 2;
    size_t *s = realloc(b->sym_start, cap * sizeof *s);
    if (!s)
        return -1;
    b->sym_start = s;
    size_t *e = realloc(b->sym_end, cap * sizeof *e);
    if (!e)
        return -1;
    b->sym_end = e;
    int64_t *p = realloc(b->pair, cap * sizeof *p);
    if (!p)
        return -1;
    b->pair = p;
    b->scratch_cap = cap;
    return 0;
}

/* Token id of the text spanning symbols i and i+1, or -1. */
static int64_t vocab_pair_token(const struct vocab_builder *b, const char *s, size_t i)
{
    return vocab_tab_find(&b->tok, s + b->sym_start[i], b->sym_end[i + 1] - b->sym_start[i]);
}

/*
 * Encode len bytes at s with the tokens so far, as the SentencePiece BPE
 * encoder does, and return the number of symbols left (>= 1), or -1 when
 * memory runs out. Each pair's token is looked up once and again only when a
 * merge changes a neighbour.
 */
static int64_t vocab_encode_count(struct vocab_builder *b, const char *s, size_t len)
{
    if (vocab_scratch(b, len) < 0)
        return -1;
    size_t m = 0;
    for (size_t i = 0; i < len; m++) {
        size_t cl = vocab_utf8_len((unsigned char)s[i]);
        if (cl > len - i)
            cl = len - i;
        b->sym_start[m] = i;
        b->sym_end[m] = i + cl;
        i += cl;
    }
    for (size_t i = 0; i + 1 < m; i++)
        b->pair[i] = vocab_pair_token(b, s, i);
    while (m > 1) {
        size_t best = m;
        for (size_t i = 0; i + 1 < m; i++) /* strict > keeps the leftmost on ties */
            if (b->pair[i] >= 0 && (best == m || b->scores[b->pair[i]] > b->scores[b->pair[best]]))
                best = i;
        if (best == m)
            break;
        b->sym_end[best] = b->sym_end[best + 1];
        size_t tail = m - best - 2;
        memmove(b->sym_start + best + 1, b->sym_start + best + 2, tail * sizeof *b->sym_start);
        memmove(b->sym_end + best + 1, b->sym_end + best + 2, tail * sizeof *b->sym_end);
        memmove(b->pair + best + 1, b->pair + best + 2, (tail > 0 ? tail - 1 : 0) * sizeof *b->pair);
        m--;
        if (best > 0)
            b->pair[best - 1] = vocab_pair_token(b, s, best - 1);
        if (best + 1 < m)
            b->pair[best] = vocab_pair_token(b, s, best);
    }
    return (int64_t)m;
}

/* Append a token with its score and return 0, or -1 when memory runs out. */
static int vocab_push(struct vocab_builder *b, const char *s, size_t len, float score)
{
    int64_t id = vocab_tab_add(&b->tok, s, len);
    if (id < 0)
        return -1;
    b->scores[id] = score;
    return 0;
}

/* Offer a normal piece: added when new and reachable. Returns 1 when added,
 * 0 when skipped, -1 when memory runs out. s must not point into the table. */
static int vocab_offer(struct vocab_builder *b, const char *s, size_t len)
{
    if (b->tok.n >= b->n || vocab_tab_find(&b->tok, s, len) >= 0)
        return 0;
    int64_t left = vocab_encode_count(b, s, len);
    if (left < 0)
        return -1;
    if (left > 2) /* 1 only for a single character: a longer one would be a token */
        return 0;
    b->n_normal++;
    return vocab_push(b, s, len, -(float)b->n_normal) < 0 ? -1 : 1;
}

/* The candidate x + y into b->cand; returns its length, or -1 on no memory. */
static int64_t vocab_concat(struct vocab_builder *b, const struct vocab_tab *t, int64_t x, int64_t y)
{
    size_t lx = t->len[x], ly = t->len[y];
    if (lx + ly > b->cand_cap) {
        size_t cap = b->cand_cap ? b->cand_cap : 256;
        while (cap < lx + ly)
            cap *= 2;
        char *c = realloc(b->cand, cap);
        if (!c)
            return -1;
        b->cand = c;
        b->cand_cap = cap;
    }
    memcpy(b->cand, t->buf + t->off[x], lx);
    memcpy(b->cand + lx, t->buf + t->off[y], ly);
    return (int64_t)(lx + ly);
}

/* ---- stage 2: BPE training */

struct vocab_pair_count {
    int64_t a, b;   /* training symbol ids */
    int64_t count;
};

static int vocab_pair_cmp(const void *pa, const void *pb)
{
    const struct vocab_pair_count *x = pa, *y = pb;
    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    if (x->b != y->b)
        return x->b < y->b ? -1 : 1;
    return 0;
}

/* Bytewise order of two training symbols. */
static int vocab_sym_cmp(const struct vocab_tab *t, int64_t x, int64_t y)
{
    return strcmp(t->buf + t->off[x], t->buf + t->off[y]);
}

/* The corpus as distinct words, each a run of training symbols. */
struct vocab_corpus_words {
    struct vocab_tab words;  /* distinct "\xE2\x96\x81word" strings */
    int64_t *freq;           /* (words.n,) occurrences */
    int64_t *first;          /* (words.n,) start of the word's symbols in sym */
    int64_t *n_sym;          /* (words.n,) symbols left in the word */
    int64_t *sym;            /* training symbol ids */
};

static void vocab_words_free(struct vocab_corpus_words *w)
{
    vocab_tab_free(&w->words);
    free(w->freq);
    free(w->first);
    free(w->n_sym);
    free(w->sym);
}

/* Split the corpus into words, count them, and spell each in characters
 * (training symbols in `train`). */
static int vocab_words_init(struct vocab_corpus_words *w, struct vocab_tab *train)
{
    size_t clen = sizeof vocab_corpus - 1;
    size_t max_words = clen / 2 + 1;
    char word[256];
    w->freq = calloc(max_words, sizeof *w->freq);
    w->first = calloc(max_words, sizeof *w->first);
    w->n_sym = calloc(max_words, sizeof *w->n_sym);
    w->sym = calloc(clen + 3 * max_words, sizeof *w->sym);
    if (!w->freq || !w->first || !w->n_sym || !w->sym)
        return -1;
    int64_t n_sym = 0;
    for (size_t i = 0; i < clen;) {
        while (i < clen && vocab_corpus[i] == ' ')
            i++;
        size_t j = i;
        while (j < clen && vocab_corpus[j] != ' ')
            j++;
        if (j == i)
            break;
        assert(j - i + 3 < sizeof word);
        memcpy(word, VOCAB_SPACE, 3);
        memcpy(word + 3, vocab_corpus + i, j - i);
        size_t wl = j - i + 3;
        i = j;
        int64_t id = vocab_tab_find(&w->words, word, wl);
        if (id >= 0) {
            w->freq[id]++;
            continue;
        }
        id = vocab_tab_add(&w->words, word, wl);
        if (id < 0)
            return -1;
        w->freq[id] = 1;
        w->first[id] = n_sym;
        for (size_t k = 0; k < wl;) {
            size_t cl = vocab_utf8_len((unsigned char)word[k]);
            int64_t s = vocab_tab_find(train, word + k, cl);
            if (s < 0)
                s = vocab_tab_add(train, word + k, cl);
            if (s < 0)
                return -1;
            w->sym[n_sym++] = s;
            w->n_sym[id]++;
            k += cl;
        }
    }
    return 0;
}

/*
 * Stage 2 (see the file header). Training symbols live in their own table,
 * since a merged string the vocabulary skips must still be a symbol of the
 * training.
 */
static int vocab_train(struct vocab_builder *b)
{
    struct vocab_tab train = {0};
    struct vocab_corpus_words w = {0};
    struct vocab_pair_count *pairs = NULL;
    char *merged = NULL;
    int rc = -1;
    if (vocab_words_init(&w, &train) < 0)
        goto fail;
    size_t max_pairs = sizeof vocab_corpus;
    pairs = malloc(max_pairs * sizeof *pairs);
    merged = malloc(sizeof vocab_corpus + 3);
    if (!pairs || !merged)
        goto fail;
    while (b->tok.n < b->n) {
        size_t np = 0;
        for (int64_t k = 0; k < w.words.n; k++)
            for (int64_t j = 0; j + 1 < w.n_sym[k]; j++) {
                assert(np < max_pairs);
                const int64_t *s = w.sym + w.first[k] + j;
                pairs[np++] = (struct vocab_pair_count){s[0], s[1], w.freq[k]};
            }
        if (np == 0)
            break;
        qsort(pairs, np, sizeof *pairs, vocab_pair_cmp);
        size_t best = 0, uniq = 0;
        for (size_t i = 0; i < np; uniq++) {
            pairs[uniq] = pairs[i];
            for (i++; i < np && vocab_pair_cmp(&pairs[i], &pairs[uniq]) == 0; i++)
                pairs[uniq].count += pairs[i].count;
            const struct vocab_pair_count *p = &pairs[uniq], *q = &pairs[best];
            if (uniq == 0 || p->count > q->count ||
                (p->count == q->count &&
                 (vocab_sym_cmp(&train, p->a, q->a) < 0 ||
                  (p->a == q->a && vocab_sym_cmp(&train, p->b, q->b) < 0))))
                best = uniq;
        }
        int64_t a = pairs[best].a, bb = pairs[best].b;
        size_t la = train.len[a], lb = train.len[bb];
        memcpy(merged, train.buf + train.off[a], la);
        memcpy(merged + la, train.buf + train.off[bb], lb);
        int64_t c = vocab_tab_find(&train, merged, la + lb);
        if (c < 0)
            c = vocab_tab_add(&train, merged, la + lb);
        if (c < 0)
            goto fail;
        for (int64_t k = 0; k < w.words.n; k++) {
            int64_t *s = w.sym + w.first[k];
            int64_t out = 0;
            for (int64_t j = 0; j < w.n_sym[k]; j++) {
                if (j + 1 < w.n_sym[k] && s[j] == a && s[j + 1] == bb) {
                    s[out++] = c;
                    j++;
                } else {
                    s[out++] = s[j];
                }
            }
            w.n_sym[k] = out;
        }
        if (vocab_offer(b, merged, la + lb) < 0)
            goto fail;
    }
    rc = 0;
fail:
    free(merged);
    free(pairs);
    vocab_words_free(&w);
    vocab_tab_free(&train);
    return rc;
}

/* ---- stages 1 and 3, and the whole */

/* Returns 0, -1 when memory runs out, -2 when stage 3 runs dry. */
static int vocab_fill(struct vocab_builder *b)
{
    char piece[8];
    /* Specials and bytes. */
    if (vocab_push(b, "<unk>", 5, 0.0f) < 0 || vocab_push(b, "<s>", 3, 0.0f) < 0 ||
        vocab_push(b, "</s>", 4, 0.0f) < 0)
        return -1;
    for (int byte = 0; byte < 256; byte++) {
        snprintf(piece, sizeof piece, "<0x%02X>", (unsigned)byte);
        if (vocab_push(b, piece, 6, 0.0f) < 0)
            return -1;
    }
    /* Stage 1: single characters. */
    if (vocab_offer(b, VOCAB_SPACE, 3) < 0)
        return -1;
    for (int ch = '!'; ch <= '~'; ch++) {
        piece[0] = (char)ch;
        if (vocab_offer(b, piece, 1) < 0)
            return -1;
    }
    /* Stage 2: BPE training. */
    if (vocab_train(b) < 0)
        return -1;
    /* Stage 3: concatenations. The candidate is copied out of the table
     * first, since adding it may move the table's storage. */
    for (int64_t a = VOCAB_FIRST_NORMAL; b->tok.n < b->n; a++) {
        if (a >= b->tok.n) /* cannot happen: each a adds pieces ("▁▁", ...) */
            return -2;
        for (int64_t y = VOCAB_FIRST_NORMAL; y <= a && b->tok.n < b->n; y++) {
            for (int order = 0; order < (y == a ? 1 : 2); order++) {
                int64_t len = order == 0 ? vocab_concat(b, &b->tok, a, y)
                                         : vocab_concat(b, &b->tok, y, a);
                if (len < 0 || vocab_offer(b, b->cand, (size_t)len) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

static void vocab_builder_free(struct vocab_builder *b)
{
    vocab_tab_free(&b->tok);
    free(b->scores);
    free(b->cand);
    free(b->sym_start);
    free(b->sym_end);
    free(b->pair);
}

int vocab_build(struct vocab *v, int64_t n, struct plumb_err *err)
{
    memset(v, 0, sizeof *v);
    if (n < VOCAB_MIN || n > VOCAB_MAX)
        return err_set(err, "vocab: %lld tokens, expected %d to %lld", (long long)n, VOCAB_MIN,
                       (long long)VOCAB_MAX);
    struct vocab_builder b;
    memset(&b, 0, sizeof b);
    b.n = n;
    b.scores = malloc((size_t)n * sizeof *b.scores);
    v->pieces = malloc((size_t)n * sizeof *v->pieces);
    v->types = malloc((size_t)n * sizeof *v->types);
    int rc = -1;
    if (!b.scores || !v->pieces || !v->types || (rc = vocab_fill(&b)) < 0)
        goto fail;
    assert(b.tok.n == n);
    v->n = n;
    v->text = b.tok.buf; /* ownership moves to v */
    b.tok.buf = NULL;
    v->scores = b.scores;
    b.scores = NULL;
    for (int64_t i = 0; i < n; i++) {
        v->pieces[i] = v->text + b.tok.off[i];
        v->types[i] = i == 0   ? VOCAB_TYPE_UNKNOWN
                      : i < 3  ? VOCAB_TYPE_CONTROL
                      : i < VOCAB_FIRST_NORMAL ? VOCAB_TYPE_BYTE
                                               : VOCAB_TYPE_NORMAL;
    }
    v->unk = 0;
    v->bos = 1;
    v->eos = 2;
    vocab_builder_free(&b);
    return 0;
fail:
    vocab_builder_free(&b);
    vocab_free(v);
    if (rc == -2)
        return err_set(err, "vocab: ran out of candidate pieces before %lld tokens", (long long)n);
    return err_set(err, "vocab: out of memory building %lld tokens", (long long)n);
}

void vocab_free(struct vocab *v)
{
    if (!v)
        return;
    free(v->pieces);
    free(v->scores);
    free(v->types);
    free(v->text);
    memset(v, 0, sizeof *v);
}
