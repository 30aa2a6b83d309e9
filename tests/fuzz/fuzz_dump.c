/*
 * fuzz_dump.c: libFuzzer target for the dump reader (harness/dump.h):
 * gzip, then GGUF, then the tap checks, from memory (dump_read_memory). See
 * fuzz.h for how targets are built and replayed.
 *
 * A rejected input must come back with one line of message. An accepted
 * dump must hold taps of width >= 1 and positions >= 1 whose floats lie
 * inside the inflated bytes and are read here as floats, as compare.c reads
 * them (so a misaligned tap is caught by UBSan); every tap must be found by
 * name; and the dump compared with itself under a policy that switches on
 * every metric, logits included, must pass: the same bits are never drift.
 */
#include <stdbool.h>

#include "compare.h"
#include "dump.h"
#include "fuzz.h"
#include "policy.h"

/* Comparing costs a few passes over the floats: bounded per input. */
#define DUMP_FZ_MAX_COMPARE (INT64_C(1) << 16)

static const char dump_fz_policy_yaml[] =
    "defaults:\n"
    "  atol: 0\n"
    "  max_ulp: 0\n"
    "  max_abs: 0\n"
    "  max_rel: 0\n"
    "  min_cosine: 1.0\n"
    "  max_nmse: 0\n"
    "  max_rmse: 0\n"
    "  max_kld: 0\n"
    "  max_kld_max: 0\n"
    "  min_top1: 1.0\n"
    "  top_k: 5\n"
    "  min_topk: 1.0\n";

static const struct policy *dump_fz_policy(void)
{
    static struct policy p;
    static bool ready;
    if (!ready) {
        struct plumb_err err;
        if (policy_parse(&p, dump_fz_policy_yaml, sizeof dump_fz_policy_yaml - 1, "self.yaml",
                         &err))
            fuzz_fail("the self-comparison policy does not parse: %s", err.msg);
        ready = true;
    }
    return &p;
}

int fuzz_dump(const uint8_t *data, size_t size)
{
    struct dump d;
    struct plumb_err err;
    if (dump_read_memory(&d, data, size, "fuzz.gguf.gz", &err) != 0) {
        fuzz_check_err(&err, "dump_read_memory");
        dump_free(&d);
        return 0;
    }
    const uint8_t *lo = d.bytes, *hi = d.bytes + d.n_bytes;
    int64_t total = 0;
    for (int64_t i = 0; i < d.n_taps; i++) {
        const struct dump_tap *t = &d.taps[i];
        if (t->width < 1 || t->n_pos < 1 || strnlen(t->name, DUMP_NAME_MAX) == DUMP_NAME_MAX)
            fuzz_fail("tap %lld: width %lld, positions %lld", (long long)i, (long long)t->width,
                      (long long)t->n_pos);
        const uint8_t *p = (const uint8_t *)t->data;
        int64_t n = t->width * t->n_pos; /* the GGUF reader bounded it by the bytes */
        if (p < lo || (uint64_t)n > (uint64_t)(hi - p) / sizeof(float))
            fuzz_fail("tap '%s': floats outside the inflated dump", t->name);
        volatile float sum = 0.0f;
        for (int64_t j = 0; j < n; j++)
            sum += t->data[j];
        (void)sum;
        if (dump_find(&d, t->name) != t)
            fuzz_fail("tap '%s' is not found by name", t->name);
        total += n;
    }
    if (total <= DUMP_FZ_MAX_COMPARE) {
        struct compare_result r;
        if (compare_dumps(&d, &d, dump_fz_policy(), &r, &err) != 0)
            fuzz_fail("comparing a dump with itself failed: %s", err.msg);
        if (!r.pass || r.first_fail != -1 || r.n_taps != d.n_taps)
            fuzz_fail("a dump differs from itself (first failing tap %lld of %lld)",
                      (long long)r.first_fail, (long long)r.n_taps);
        compare_result_free(&r);
    }
    dump_free(&d);
    return 0;
}

FUZZ_ENTRY(fuzz_dump)
