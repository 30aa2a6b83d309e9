/*
 * fuzz_spec.c: libFuzzer target for the model-spec reader (spec_parse)
 * and, for small models, the generator behind it. See fuzz.h for how
 * targets are built and replayed.
 *
 * A rejected input must come back with one line of message and a zeroed
 * struct. An accepted one must hold spec.h's invariants: the hyper-parameters
 * pass llama_layout_check, every tensor of the layout gets a type plumb can
 * quantize whose block size divides its row, the model holds at most 2^32 weights. A spec of at most
 * SPEC_FZ_MAX_GEN weights is also generated (into memory) and the file must
 * read back with the layout's tensors and a tokenizer that builds: every
 * spec plumb accepts gives a model plumb can open.
 */
#include <stdbool.h>

#include "dtype.h"
#include "fuzz.h"
#include "gen.h"
#include "gguf.h"
#include "llama_layout.h"
#include "spec.h"
#include "tokenizer.h"

#define SPEC_FZ_MAX_GEN (INT64_C(1) << 16) /* weights; the tiny fixtures hold ~2^17 */

/* Generate s into memory and open the result. */
static void spec_fz_generate(const struct spec *s)
{
    struct gguf_writer w;
    struct gen g;
    struct plumb_err err;
    struct fuzz_buf out = {0};
    gguf_writer_init(&w);
    if (gen_describe(&g, s, 1, &w, &err) != 0)
        fuzz_fail("an accepted spec does not generate: %s", err.msg);
    if (gguf_writer_write(&w, fuzz_buf_sink, &out, &err) != 0)
        fuzz_fail("an accepted spec does not write: %s", err.msg);
    gen_free(&g);
    gguf_writer_free(&w);

    struct gguf_ctx m;
    if (gguf_open_memory(&m, out.p, out.n, "gen.gguf", &err) != 0)
        fuzz_fail("a generated model does not read back: %s", err.msg);
    int64_t count = llama_layout_count(&s->hp);
    if ((int64_t)m.n_tensors != count)
        fuzz_fail("generated %llu tensors, the layout has %lld", (unsigned long long)m.n_tensors,
                  (long long)count);
    struct tokenizer t;
    if (tokenizer_init(&t, &m, &err) != 0)
        fuzz_fail("a generated vocabulary does not build: %s", err.msg);
    if (tokenizer_n_vocab(&t) != s->hp.n_vocab)
        fuzz_fail("vocabulary of %lld, spec says %lld", (long long)tokenizer_n_vocab(&t),
                  (long long)s->hp.n_vocab);
    tokenizer_free(&t);
    gguf_close(&m);
    free(out.p);
}

int fuzz_spec(const uint8_t *data, size_t size)
{
    struct spec s;
    struct plumb_err err;
    if (spec_parse(&s, (const char *)data, size, "fuzz.yaml", &err) != 0) {
        fuzz_check_err(&err, "spec_parse");
        if (s.rules || s.n_rules || s.name || s.path)
            fuzz_fail("a failed parse left the spec filled");
        return 0;
    }
    size_t n = s.name ? strlen(s.name) : 0;
    if (n < 1 || n > 256)
        fuzz_fail("name of %zu bytes", n);
    if (llama_layout_check(&s.hp, &err) != 0)
        fuzz_fail("accepted hyper-parameters fail the layout check: %s", err.msg);
    if (s.n_rules > 256)
        fuzz_fail("%zu rules", s.n_rules);
    int64_t count = llama_layout_count(&s.hp), weights = 0;
    for (int64_t i = 0; i < count; i++) {
        struct llama_tensor_desc t;
        llama_layout_get(&s.hp, i, &t);
        int type = spec_tensor_type(&s, &t);
        size_t row;
        if (!dtype_can_quantize(type) || !dtype_row_size(type, t.ne[0], &row))
            fuzz_fail("tensor '%s' gets type %s, which cannot hold it", t.name, dtype_name(type));
        weights += t.ne[0] * t.ne[1];
    }
    if (weights > (INT64_C(1) << 32))
        fuzz_fail("%lld weights accepted", (long long)weights);
    if (weights <= SPEC_FZ_MAX_GEN)
        spec_fz_generate(&s);
    spec_free(&s);
    return 0;
}

FUZZ_ENTRY(fuzz_spec)
