/*
 * tokenizer.h: text <-> token ids for llama-family GGUF models, built from the
 * file's `tokenizer.ggml.*` metadata and matching llama.cpp's tokenizers
 * (src/llama-vocab.cpp, src/unicode.cpp) id for id.
 *
 * Two tokenizer models are read:
 *
 *   "llama"  SentencePiece-style BPE (llama.cpp's SPM tokenizer). The text
 *            gets a leading space (unless tokenizer.ggml.add_space_prefix is
 *            false), every ' ' becomes U+2581 "▁", the text is cut into UTF-8
 *            characters, and adjacent symbols are merged, always the pair
 *            whose concatenation is the token of highest score (ties: the
 *            leftmost pair), until no adjacent pair forms a token. A final
 *            symbol that is not a token becomes one byte token "<0xNN>" per
 *            byte (else the one-byte token, else unk).
 *   "gpt2"   byte-level BPE. The text is cut into words by a pre-tokenizer
 *            chosen by tokenizer.ggml.pre ("gpt-2": the GPT-2 regex;
 *            "llama-bpe"/"llama3"/"llama-v3": the Llama 3 regex; "default"
 *            or no key: llama.cpp's default chain of four regexes; any other
 *            value is rejected by name), each word's bytes are mapped to
 *            printable characters (GPT-2's bytes_to_unicode), and adjacent
 *            symbols are merged by lowest rank in tokenizer.ggml.merges.
 *
 * As in llama.cpp's test-tokenizer-0 (common_tokenize with parse_special =
 * false), user-defined tokens (token_type 4) found in the text are split out
 * and emitted as themselves before anything else; control (3) and unknown
 * (2) tokens in the text are plain text.
 *
 * Ownership: a tokenizer borrows the gguf_ctx it was built from (token and
 * merge strings are views into the mapping): the context must stay open until
 * tokenizer_free(). Everything else is owned by the tokenizer. A built
 * tokenizer is never modified by encode/decode, so one may be shared by
 * several threads.
 *
 * Engine code: nothing here prints or exits; failures return -1 with one line
 * in struct plumb_err.
 */
#ifndef PLUMB_TOKENIZER_H
#define PLUMB_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "gguf.h"

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum tokenizer_token_type {
    TOKENIZER_TYPE_UNDEFINED = 0,
    TOKENIZER_TYPE_NORMAL = 1,
    TOKENIZER_TYPE_UNKNOWN = 2,
    TOKENIZER_TYPE_CONTROL = 3,
    TOKENIZER_TYPE_USER_DEFINED = 4,
    TOKENIZER_TYPE_UNUSED = 5,
    TOKENIZER_TYPE_BYTE = 6
};

enum tokenizer_model {
    TOKENIZER_MODEL_SPM = 1,    /* "llama" */
    TOKENIZER_MODEL_BPE = 2     /* "gpt2" */
};

/* The BPE pre-tokenizer (how text is cut into words before merging). */
enum tokenizer_pre {
    TOKENIZER_PRE_NONE = 0,     /* SPM: no pre-tokenizer */
    TOKENIZER_PRE_DEFAULT,      /* "default" or missing key */
    TOKENIZER_PRE_GPT2,         /* "gpt-2" */
    TOKENIZER_PRE_LLAMA3        /* "llama-bpe", "llama3", "llama-v3" */
};

/* One vocabulary entry. text is a view into the GGUF mapping (not
 * NUL-terminated), or into tokenizer.owned for an empty token, which llama.cpp
 * renames "[EMPTY_<id>]". */
struct tokenizer_token {
    const char *text;
    uint32_t len;
    uint8_t type;               /* enum tokenizer_token_type, as stored (0..255) */
    float score;                /* tokenizer.ggml.scores[id], 0 when absent */
};

/*
 * A built tokenizer. Invariants after tokenizer_init(): n_vocab >= 1; token
 * texts are unique; bos, eos, unk are -1 (none) or in [0, n_vocab); every
 * score is a number (not NaN); for BPE, merges has n_merges entries.
 *
 * The two hash tables are open-addressed with linear probing: a slot holds an
 * index + 1 (0 = empty); the capacity is a power of two at least twice the
 * number of entries, so probes stay short and always end.
 */
struct tokenizer {
    enum tokenizer_model model;
    enum tokenizer_pre pre;
    int64_t n_vocab;
    struct tokenizer_token *tokens;     /* (n_vocab,) */
    int32_t bos, eos, unk;              /* -1 when the vocabulary has none */
    bool add_bos;               /* the model asks for BOS (tokenizer.ggml.add_bos_token
                                 * or llama.cpp's default); advisory: encode
                                 * adds BOS only when its caller says so */
    bool add_space_prefix;      /* SPM: a space before text at the start / after a special token */
    bool ignore_merges;         /* BPE llama3: a word that is itself a token is not merged */
    uint32_t max_token_len;     /* bytes of the longest token text */

    uint32_t *token_slots;      /* (token_mask + 1,) text -> id + 1 */
    size_t token_mask;

    const struct gguf_value *merges;    /* BPE: tokenizer.ggml.merges elements, "a b" strings */
    int64_t n_merges;
    uint32_t *merge_slots;      /* (merge_mask + 1,) "left right" -> rank + 1 */
    size_t merge_mask;

    int32_t *specials;          /* user-defined token ids, longest text first */
    int64_t n_specials;

    int32_t byte_fallback[256]; /* byte -> id when a merged symbol is no token
                                 * (SPM "<0xNN>", else the 1-byte text, else
                                 * unk; BPE the 1-byte text), -1 = dropped */

    char *owned;                /* storage for "[EMPTY_<id>]" texts */
};

/*
 * Build t from g's tokenizer.ggml.* metadata. Validates: the model name; the
 * token list (array of strings, 1..2^31-1 entries, no duplicates); scores
 * (f32 or i32 array, one per token, no NaN) and token_type (i32 array, one per
 * token) when present; merges (array of strings) for gpt2; the pre-tokenizer
 * name; bos/eos/unk ids in range when given; add_space_prefix/add_bos_token
 * are bools. Errors read "FILE: KEY: reason". Defaults follow llama.cpp:
 * SPM bos 1, eos 2, unk 0; BPE bos 11, eos 11, no unk (a default out of range
 * means none). t's previous contents are overwritten, not freed; on failure
 * t is left zeroed. g must stay open until tokenizer_free(t).
 */
int tokenizer_init(struct tokenizer *t, const struct gguf_ctx *g, struct plumb_err *err);

/* Release what t owns; safe on a zeroed or failed tokenizer. Leaves t zeroed. */
void tokenizer_free(struct tokenizer *t);

/*
 * Tokenize len bytes of text (any bytes: NULs and invalid UTF-8 are allowed;
 * see tokenizer.c for what invalid UTF-8 becomes). With add_bos, the BOS id
 * comes first (an error when the vocabulary has none). On success *ids is a
 * malloc'd array of *n_ids ids that the caller frees (non-NULL even when
 * *n_ids is 0). Returns 0, or -1 with err set (out of memory, text over
 * 512 MiB, no BOS) and *ids = NULL, *n_ids = 0.
 */
int tokenizer_encode(const struct tokenizer *t, const char *text, size_t len, bool add_bos,
                     int32_t **ids, size_t *n_ids, struct plumb_err *err);

/*
 * The bytes token id stands for, into buf (up to cap bytes, no NUL added;
 * buf may be NULL when cap is 0). Returns the piece's full length even when
 * cap is smaller, so a caller can size a buffer and ask again. Normal tokens:
 * SPM "▁" -> ' ', BPE GPT-2 characters -> their bytes; byte tokens "<0xNN>"
 * -> that byte; control, unknown and user-defined tokens -> their text as
 * stored; unused and undefined types -> nothing. An id out of range -> 0.
 */
size_t tokenizer_piece(const struct tokenizer *t, int32_t id, char *buf, size_t cap);

/*
 * Detokenize: the concatenation of the ids' pieces, except that control
 * tokens (BOS, EOS, ...) contribute nothing, into a malloc'd NUL-terminated
 * *text of *len bytes (the caller frees; it may contain NULs). With
 * strip_leading_space, one leading ' ' of the result is dropped (the one an
 * SPM encode with add_space_prefix put there). No other clean-up (llama.cpp's
 * clean_spaces for BPE vocabularies is not applied).
 *
 * Round trips: for valid UTF-8 x, SPM decode(encode(x), strip =
 * add_space_prefix) == x and BPE decode(encode(x)) == x, except that (as in
 * llama.cpp) SPM turns a literal U+2581 into a space and puts a space after
 * each user-defined token. Invalid UTF-8: SPM keeps every byte (byte
 * tokens), though a broken lead byte just before a space swallows (part of)
 * the space's "▁", which then comes back as those raw bytes; BPE replaces
 * each invalid byte with U+FFFD (see tokenizer.c). Returns 0, or -1 with err
 * set (an id out of range, out of memory).
 */
int tokenizer_decode(const struct tokenizer *t, const int32_t *ids, size_t n,
                     bool strip_leading_space, char **text, size_t *len, struct plumb_err *err);

/* Number of tokens in the vocabulary. */
int64_t tokenizer_n_vocab(const struct tokenizer *t);

/* The BOS / EOS / unknown token id, or -1 when there is none. */
int32_t tokenizer_bos(const struct tokenizer *t);
int32_t tokenizer_eos(const struct tokenizer *t);
int32_t tokenizer_unk(const struct tokenizer *t);

/* The id of the token whose text is exactly these len bytes, or -1. */
int32_t tokenizer_find(const struct tokenizer *t, const char *text, size_t len);

#endif
