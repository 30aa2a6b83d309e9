/*
 * test_sha256.c: SHA-256 against the FIPS 180-2 example vectors (and
 * coreutils' sha256sum for the million-'a' case), one-shot and streamed.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

TestSuite(sha256, .timeout = 30);

static void hex_of(const void *data, size_t len, char hex[65])
{
    uint8_t d[32];
    sha256(data, len, d);
    sha256_hex(d, hex);
}

Test(sha256, matches_the_fips_examples)
{
    char hex[65];
    hex_of("abc", 3, hex);
    cr_assert(eq(str, hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    hex_of("", 0, hex);
    cr_assert(eq(str, hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two, strlen(two), hex);
    cr_assert(eq(str, hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
}

Test(sha256, streamed_in_odd_pieces_equals_one_shot)
{
    size_t n = 1000000;
    char *m = malloc(n);
    memset(m, 'a', n);
    char hex[65];
    hex_of(m, n, hex);
    cr_assert(eq(str, hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));

    struct sha256_ctx c;
    sha256_init(&c);
    size_t off = 0, step = 1;
    while (off < n) {
        size_t take = step < n - off ? step : n - off;
        sha256_update(&c, m + off, take);
        off += take;
        step = step * 3 % 997 + 1; /* lengths crossing block edges every way */
    }
    uint8_t d[32];
    sha256_final(&c, d);
    char hex2[65];
    sha256_hex(d, hex2);
    cr_assert(eq(str, hex2, hex));
    free(m);
}

Test(sha256, padding_edges_55_56_64_bytes)
{
    /* Lengths where the length field just fits, just spills, and fills a block;
     * expected digests from coreutils sha256sum. */
    char m[64];
    memset(m, 'a', sizeof m);
    char hex[65];
    hex_of(m, 55, hex);
    cr_assert(eq(str, hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"));
    hex_of(m, 56, hex);
    cr_assert(eq(str, hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"));
    hex_of(m, 64, hex);
    cr_assert(eq(str, hex, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"));
}
