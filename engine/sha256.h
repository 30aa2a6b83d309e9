/*
 * sha256.h: SHA-256 (FIPS 180-4), for checksums recorded in provenance
 * metadata (spec hashes, model checksums). Streaming and one-shot forms.
 */
#ifndef PLUMB_SHA256_H
#define PLUMB_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256_ctx {
    uint32_t h[8];
    uint64_t n_bytes;     /* total bytes absorbed */
    uint8_t buf[64];
    size_t buf_len;
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, uint8_t out[32]);

/* One shot. */
void sha256(const void *data, size_t len, uint8_t out[32]);

/* 64 lower-case hex digits and a NUL into hex[65]. */
void sha256_hex(const uint8_t digest[32], char hex[65]);

#endif
