/*
 * vocab.h: a small, real SentencePiece-style vocabulary for synthetic models.
 *
 * vocab_build() makes the `tokenizer.ggml.*` arrays of a "llama" (SentencePiece
 * BPE) tokenizer with exactly n tokens, the same on every machine:
 *
 *   id 0            "<unk>"              type 2 (unknown)  score 0
 *   id 1            "<s>"                type 3 (control)  score 0
 *   id 2            "</s>"               type 3 (control)  score 0
 *   ids 3..258      "<0x00>".."<0xFF>"   type 6 (byte)     score 0
 *   ids 259..n-1    normal pieces        type 1 (normal)   score -1, -2, -3, ...
 *
 * Normal pieces come in three stages, each documented in vocab.c: the single
 * characters "\xE2\x96\x81" (U+2581, SentencePiece's space) and '!'..'~';
 * then the merges of a small BPE training over a built-in English text; then,
 * if n asks for more, concatenations of two earlier pieces in a fixed order.
 *
 * Invariants (pinned by tests/test_vocab.c): pieces are unique, non-empty
 * UTF-8; scores of normal pieces strictly decrease with the id; every normal
 * piece is reachable, i.e. a SentencePiece-BPE encoder (start from the UTF-8
 * characters, repeatedly merge the adjacent pair whose concatenation is a
 * token of highest score, leftmost on ties; llama.cpp's llm_tokenizer_spm)
 * turns the piece's own characters into exactly that one token.
 */
#ifndef PLUMB_VOCAB_H
#define PLUMB_VOCAB_H

#include <stdint.h>

#include "err.h"

#define VOCAB_MIN 259                   /* 3 specials + 256 byte tokens */
#define VOCAB_MAX (INT64_C(1) << 24)    /* scores -k stay exact in float */

/* SentencePiece token types, as stored in tokenizer.ggml.token_type. */
enum vocab_type {
    VOCAB_TYPE_NORMAL = 1,
    VOCAB_TYPE_UNKNOWN = 2,
    VOCAB_TYPE_CONTROL = 3,
    VOCAB_TYPE_USER_DEFINED = 4,
    VOCAB_TYPE_UNUSED = 5,
    VOCAB_TYPE_BYTE = 6
};

/*
 * A built vocabulary. pieces[i] points into `text`, which owns the storage of
 * every piece (NUL-terminated, back to back); scores and types are parallel
 * arrays of n entries.
 */
struct vocab {
    int64_t n;
    char **pieces;     /* (n,) NUL-terminated UTF-8 */
    float *scores;     /* (n,) */
    int32_t *types;    /* (n,) enum vocab_type */
    int32_t bos, eos, unk;
    char *text;        /* storage behind pieces */
};

/*
 * Build the vocabulary of exactly n tokens (VOCAB_MIN <= n <= VOCAB_MAX) into
 * v. Same n, same vocabulary, on every machine. Returns 0, or -1 with err set
 * (n out of range, out of memory) and v zeroed. Release with vocab_free().
 */
int vocab_build(struct vocab *v, int64_t n, struct plumb_err *err);

/* Release; safe on a zeroed or failed vocab. */
void vocab_free(struct vocab *v);

#endif
