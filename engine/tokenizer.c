/*
 * tokenizer.c: llama.cpp-compatible tokenizers over GGUF metadata: SPM
 * ("llama") and byte-level BPE ("gpt2") with the gpt-2, llama-bpe and default
 * pre-tokenizers. What it is not: a general regex engine, a Unicode
 * normaliser, or any of llama.cpp's other tokenizers (WPM, UGM, RWKV, ...).
 *
 * The facts matched, all from llama.cpp's src/llama-vocab.cpp and
 * src/unicode.cpp (learned there, written here in plumb's own words):
 *
 * - Special tokens. Before any tokenizer runs, the text is cut around
 *   occurrences of user-defined tokens (type 4), longest token text first
 *   (equal lengths: lower id first; llama.cpp's sort leaves that order
 *   unspecified); each occurrence becomes that token. Control and unknown
 *   tokens are not looked for (parse_special = false, as in
 *   test-tokenizer-0). llama.cpp also re-types a few tokens by name (e.g. a
 *   user-defined "<|im_end|>" becomes control) and strips spaces around some
 *   tokens for named models (phi-3, jina); plumb uses token_type as stored.
 *
 * - SPM. Each text fragment gets ' ' in front when add_space_prefix is set
 *   and it starts the text or follows a special token; ' ' becomes "▁"; the
 *   symbols are the UTF-8 characters by lead byte (a stray byte is its own
 *   symbol); a heap of adjacent pairs whose concatenation is a token, highest
 *   score first, then leftmost, drives the merges; a pair is stale (skipped)
 *   when one side is gone or the two sides no longer add up to its length.
 *   A final symbol that is no token falls back per byte to "<0xNN>", else to
 *   the one-byte token, else (where llama.cpp throws) to unk.
 *
 * - BPE. Each fragment is decoded to code points (an invalid byte becomes one
 *   U+FFFD, as in unicode_cpts_from_utf8; overlong forms are accepted and so
 *   re-encoded shortest; a 4-byte form above U+10FFFF, where llama.cpp throws,
 *   becomes one U+FFFD here), cut into words by the pre-tokenizer, each word
 *   re-encoded as UTF-8 and mapped byte by byte to GPT-2's printable
 *   characters. With ignore_merges (llama-bpe) a word that is a token is
 *   emitted whole. Otherwise the same heap merge runs with the lowest merge
 *   rank first, then leftmost. A final symbol that is no token is emitted as
 *   its bytes' one-byte tokens, silently dropping bytes that have none.
 *
 * - Pre-tokenizers are llama.cpp's hand-written matchers for the GPT-2 and
 *   Llama 3 regexes (unicode_regex_split_custom_gpt2/_llama3), reproduced
 *   branch for branch, quirks included (the Llama 3 punctuation branch tests
 *   the current code point, not the one after a space). "default" is
 *   llama.cpp's chain: runs of [\p{P}$+<=>^~|] (ASCII: all punctuation and
 *   symbols but '`'), then GPT-2, then runs of \p{N}, then [0-9]{3} groups,
 *   each stage cutting the pieces of the previous one.
 *
 * - Character classes. \p{L}, \p{N} and \p{P} are the range tables below,
 *   made the way llama.cpp's scripts/gen-unicode-data.py makes its own: from
 *   Python's `regex` module (here regex 2026.5.9, Unicode 16.0):
 *
 *     import regex
 *     for pat in (r"\p{L}", r"\p{N}", r"\p{P}"):
 *         p = regex.compile(pat)
 *         # maximal runs of code points >= 0x80 that p matches
 *
 *   ASCII is decided by code. Whitespace is the White_Space property (\s in
 *   `regex`): 9-13, 32, 0x85, 0xA0, 0x1680, 0x2000-0x200A, 0x2028, 0x2029,
 *   0x202F, 0x205F, 0x3000. What is approximate: a llama.cpp build whose
 *   unicode-data.cpp came from an older Unicode sees characters assigned
 *   since then as neither letter nor number, so text using them may split
 *   differently; everything else is exact.
 *
 * Invariants: encode never reads outside the text it is given, whatever the
 * bytes; every merge loop is O(n log n) in the symbols of one SPM fragment or
 * one BPE word (each merge pushes at most two pairs).
 */
#include "tokenizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOK_MAX_TEXT (UINT32_C(1) << 29)   /* longest text encode accepts, bytes */
#define TOK_SPACE_ESC "\xE2\x96\x81"       /* U+2581, SentencePiece's space */

/* ---- Unicode character classes ---- */

struct cpt_range {
    uint32_t lo, hi; /* inclusive */
};

/* Generated (see the file header): code points >= 0x80 in \p{L}, \p{N}, \p{P}. */
static const struct cpt_range tok_letter[] = {
    {0xAA, 0xAA}, {0xB5, 0xB5}, {0xBA, 0xBA}, {0xC0, 0xD6}, {0xD8, 0xF6},
    {0xF8, 0x2C1}, {0x2C6, 0x2D1}, {0x2E0, 0x2E4}, {0x2EC, 0x2EC},
    {0x2EE, 0x2EE}, {0x370, 0x374}, {0x376, 0x377}, {0x37A, 0x37D},
    {0x37F, 0x37F}, {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C},
    {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481}, {0x48A, 0x52F},
    {0x531, 0x556}, {0x559, 0x559}, {0x560, 0x588}, {0x5D0, 0x5EA},
    {0x5EF, 0x5F2}, {0x620, 0x64A}, {0x66E, 0x66F}, {0x671, 0x6D3},
    {0x6D5, 0x6D5}, {0x6E5, 0x6E6}, {0x6EE, 0x6EF}, {0x6FA, 0x6FC},
    {0x6FF, 0x6FF}, {0x710, 0x710}, {0x712, 0x72F}, {0x74D, 0x7A5},
    {0x7B1, 0x7B1}, {0x7CA, 0x7EA}, {0x7F4, 0x7F5}, {0x7FA, 0x7FA},
    {0x800, 0x815}, {0x81A, 0x81A}, {0x824, 0x824}, {0x828, 0x828},
    {0x840, 0x858}, {0x860, 0x86A}, {0x870, 0x887}, {0x889, 0x88F},
    {0x8A0, 0x8C9}, {0x904, 0x939}, {0x93D, 0x93D}, {0x950, 0x950},
    {0x958, 0x961}, {0x971, 0x980}, {0x985, 0x98C}, {0x98F, 0x990},
    {0x993, 0x9A8}, {0x9AA, 0x9B0}, {0x9B2, 0x9B2}, {0x9B6, 0x9B9},
    {0x9BD, 0x9BD}, {0x9CE, 0x9CE}, {0x9DC, 0x9DD}, {0x9DF, 0x9E1},
    {0x9F0, 0x9F1}, {0x9FC, 0x9FC}, {0xA05, 0xA0A}, {0xA0F, 0xA10},
    {0xA13, 0xA28}, {0xA2A, 0xA30}, {0xA32, 0xA33}, {0xA35, 0xA36},
    {0xA38, 0xA39}, {0xA59, 0xA5C}, {0xA5E, 0xA5E}, {0xA72, 0xA74},
    {0xA85, 0xA8D}, {0xA8F, 0xA91}, {0xA93, 0xAA8}, {0xAAA, 0xAB0},
    {0xAB2, 0xAB3}, {0xAB5, 0xAB9}, {0xABD, 0xABD}, {0xAD0, 0xAD0},
    {0xAE0, 0xAE1}, {0xAF9, 0xAF9}, {0xB05, 0xB0C}, {0xB0F, 0xB10},
    {0xB13, 0xB28}, {0xB2A, 0xB30}, {0xB32, 0xB33}, {0xB35, 0xB39},
    {0xB3D, 0xB3D}, {0xB5C, 0xB5D}, {0xB5F, 0xB61}, {0xB71, 0xB71},
    {0xB83, 0xB83}, {0xB85, 0xB8A}, {0xB8E, 0xB90}, {0xB92, 0xB95},
    {0xB99, 0xB9A}, {0xB9C, 0xB9C}, {0xB9E, 0xB9F}, {0xBA3, 0xBA4},
    {0xBA8, 0xBAA}, {0xBAE, 0xBB9}, {0xBD0, 0xBD0}, {0xC05, 0xC0C},
    {0xC0E, 0xC10}, {0xC12, 0xC28}, {0xC2A, 0xC39}, {0xC3D, 0xC3D},
    {0xC58, 0xC5A}, {0xC5C, 0xC5D}, {0xC60, 0xC61}, {0xC80, 0xC80},
    {0xC85, 0xC8C}, {0xC8E, 0xC90}, {0xC92, 0xCA8}, {0xCAA, 0xCB3},
    {0xCB5, 0xCB9}, {0xCBD, 0xCBD}, {0xCDC, 0xCDE}, {0xCE0, 0xCE1},
    {0xCF1, 0xCF2}, {0xD04, 0xD0C}, {0xD0E, 0xD10}, {0xD12, 0xD3A},
    {0xD3D, 0xD3D}, {0xD4E, 0xD4E}, {0xD54, 0xD56}, {0xD5F, 0xD61},
    {0xD7A, 0xD7F}, {0xD85, 0xD96}, {0xD9A, 0xDB1}, {0xDB3, 0xDBB},
    {0xDBD, 0xDBD}, {0xDC0, 0xDC6}, {0xE01, 0xE30}, {0xE32, 0xE33},
    {0xE40, 0xE46}, {0xE81, 0xE82}, {0xE84, 0xE84}, {0xE86, 0xE8A},
    {0xE8C, 0xEA3}, {0xEA5, 0xEA5}, {0xEA7, 0xEB0}, {0xEB2, 0xEB3},
    {0xEBD, 0xEBD}, {0xEC0, 0xEC4}, {0xEC6, 0xEC6}, {0xEDC, 0xEDF},
    {0xF00, 0xF00}, {0xF40, 0xF47}, {0xF49, 0xF6C}, {0xF88, 0xF8C},
    {0x1000, 0x102A}, {0x103F, 0x103F}, {0x1050, 0x1055}, {0x105A, 0x105D},
    {0x1061, 0x1061}, {0x1065, 0x1066}, {0x106E, 0x1070}, {0x1075, 0x1081},
    {0x108E, 0x108E}, {0x10A0, 0x10C5}, {0x10C7, 0x10C7}, {0x10CD, 0x10CD},
    {0x10D0, 0x10FA}, {0x10FC, 0x1248}, {0x124A, 0x124D}, {0x1250, 0x1256},
    {0x1258, 0x1258}, {0x125A, 0x125D}, {0x1260, 0x1288}, {0x128A, 0x128D},
    {0x1290, 0x12B0}, {0x12B2, 0x12B5}, {0x12B8, 0x12BE}, {0x12C0, 0x12C0},
    {0x12C2, 0x12C5}, {0x12C8, 0x12D6}, {0x12D8, 0x1310}, {0x1312, 0x1315},
    {0x1318, 0x135A}, {0x1380, 0x138F}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD},
    {0x1401, 0x166C}, {0x166F, 0x167F}, {0x1681, 0x169A}, {0x16A0, 0x16EA},
    {0x16F1, 0x16F8}, {0x1700, 0x1711}, {0x171F, 0x1731}, {0x1740, 0x1751},
    {0x1760, 0x176C}, {0x176E, 0x1770}, {0x1780, 0x17B3}, {0x17D7, 0x17D7},
    {0x17DC, 0x17DC}, {0x1820, 0x1878}, {0x1880, 0x1884}, {0x1887, 0x18A8},
    {0x18AA, 0x18AA}, {0x18B0, 0x18F5}, {0x1900, 0x191E}, {0x1950, 0x196D},
    {0x1970, 0x1974}, {0x1980, 0x19AB}, {0x19B0, 0x19C9}, {0x1A00, 0x1A16},
    {0x1A20, 0x1A54}, {0x1AA7, 0x1AA7}, {0x1B05, 0x1B33}, {0x1B45, 0x1B4C},
    {0x1B83, 0x1BA0}, {0x1BAE, 0x1BAF}, {0x1BBA, 0x1BE5}, {0x1C00, 0x1C23},
    {0x1C4D, 0x1C4F}, {0x1C5A, 0x1C7D}, {0x1C80, 0x1C8A}, {0x1C90, 0x1CBA},
    {0x1CBD, 0x1CBF}, {0x1CE9, 0x1CEC}, {0x1CEE, 0x1CF3}, {0x1CF5, 0x1CF6},
    {0x1CFA, 0x1CFA}, {0x1D00, 0x1DBF}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D},
    {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59},
    {0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4},
    {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC},
    {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4},
    {0x1FF6, 0x1FFC}, {0x2071, 0x2071}, {0x207F, 0x207F}, {0x2090, 0x209C},
    {0x2102, 0x2102}, {0x2107, 0x2107}, {0x210A, 0x2113}, {0x2115, 0x2115},
    {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126}, {0x2128, 0x2128},
    {0x212A, 0x212D}, {0x212F, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149},
    {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2CE4}, {0x2CEB, 0x2CEE},
    {0x2CF2, 0x2CF3}, {0x2D00, 0x2D25}, {0x2D27, 0x2D27}, {0x2D2D, 0x2D2D},
    {0x2D30, 0x2D67}, {0x2D6F, 0x2D6F}, {0x2D80, 0x2D96}, {0x2DA0, 0x2DA6},
    {0x2DA8, 0x2DAE}, {0x2DB0, 0x2DB6}, {0x2DB8, 0x2DBE}, {0x2DC0, 0x2DC6},
    {0x2DC8, 0x2DCE}, {0x2DD0, 0x2DD6}, {0x2DD8, 0x2DDE}, {0x2E2F, 0x2E2F},
    {0x3005, 0x3006}, {0x3031, 0x3035}, {0x303B, 0x303C}, {0x3041, 0x3096},
    {0x309D, 0x309F}, {0x30A1, 0x30FA}, {0x30FC, 0x30FF}, {0x3105, 0x312F},
    {0x3131, 0x318E}, {0x31A0, 0x31BF}, {0x31F0, 0x31FF}, {0x3400, 0x4DBF},
    {0x4E00, 0xA48C}, {0xA4D0, 0xA4FD}, {0xA500, 0xA60C}, {0xA610, 0xA61F},
    {0xA62A, 0xA62B}, {0xA640, 0xA66E}, {0xA67F, 0xA69D}, {0xA6A0, 0xA6E5},
    {0xA717, 0xA71F}, {0xA722, 0xA788}, {0xA78B, 0xA7DC}, {0xA7F1, 0xA801},
    {0xA803, 0xA805}, {0xA807, 0xA80A}, {0xA80C, 0xA822}, {0xA840, 0xA873},
    {0xA882, 0xA8B3}, {0xA8F2, 0xA8F7}, {0xA8FB, 0xA8FB}, {0xA8FD, 0xA8FE},
    {0xA90A, 0xA925}, {0xA930, 0xA946}, {0xA960, 0xA97C}, {0xA984, 0xA9B2},
    {0xA9CF, 0xA9CF}, {0xA9E0, 0xA9E4}, {0xA9E6, 0xA9EF}, {0xA9FA, 0xA9FE},
    {0xAA00, 0xAA28}, {0xAA40, 0xAA42}, {0xAA44, 0xAA4B}, {0xAA60, 0xAA76},
    {0xAA7A, 0xAA7A}, {0xAA7E, 0xAAAF}, {0xAAB1, 0xAAB1}, {0xAAB5, 0xAAB6},
    {0xAAB9, 0xAABD}, {0xAAC0, 0xAAC0}, {0xAAC2, 0xAAC2}, {0xAADB, 0xAADD},
    {0xAAE0, 0xAAEA}, {0xAAF2, 0xAAF4}, {0xAB01, 0xAB06}, {0xAB09, 0xAB0E},
    {0xAB11, 0xAB16}, {0xAB20, 0xAB26}, {0xAB28, 0xAB2E}, {0xAB30, 0xAB5A},
    {0xAB5C, 0xAB69}, {0xAB70, 0xABE2}, {0xAC00, 0xD7A3}, {0xD7B0, 0xD7C6},
    {0xD7CB, 0xD7FB}, {0xF900, 0xFA6D}, {0xFA70, 0xFAD9}, {0xFB00, 0xFB06},
    {0xFB13, 0xFB17}, {0xFB1D, 0xFB1D}, {0xFB1F, 0xFB28}, {0xFB2A, 0xFB36},
    {0xFB38, 0xFB3C}, {0xFB3E, 0xFB3E}, {0xFB40, 0xFB41}, {0xFB43, 0xFB44},
    {0xFB46, 0xFBB1}, {0xFBD3, 0xFD3D}, {0xFD50, 0xFD8F}, {0xFD92, 0xFDC7},
    {0xFDF0, 0xFDFB}, {0xFE70, 0xFE74}, {0xFE76, 0xFEFC}, {0xFF21, 0xFF3A},
    {0xFF41, 0xFF5A}, {0xFF66, 0xFFBE}, {0xFFC2, 0xFFC7}, {0xFFCA, 0xFFCF},
    {0xFFD2, 0xFFD7}, {0xFFDA, 0xFFDC}, {0x10000, 0x1000B}, {0x1000D, 0x10026},
    {0x10028, 0x1003A}, {0x1003C, 0x1003D}, {0x1003F, 0x1004D},
    {0x10050, 0x1005D}, {0x10080, 0x100FA}, {0x10280, 0x1029C},
    {0x102A0, 0x102D0}, {0x10300, 0x1031F}, {0x1032D, 0x10340},
    {0x10342, 0x10349}, {0x10350, 0x10375}, {0x10380, 0x1039D},
    {0x103A0, 0x103C3}, {0x103C8, 0x103CF}, {0x10400, 0x1049D},
    {0x104B0, 0x104D3}, {0x104D8, 0x104FB}, {0x10500, 0x10527},
    {0x10530, 0x10563}, {0x10570, 0x1057A}, {0x1057C, 0x1058A},
    {0x1058C, 0x10592}, {0x10594, 0x10595}, {0x10597, 0x105A1},
    {0x105A3, 0x105B1}, {0x105B3, 0x105B9}, {0x105BB, 0x105BC},
    {0x105C0, 0x105F3}, {0x10600, 0x10736}, {0x10740, 0x10755},
    {0x10760, 0x10767}, {0x10780, 0x10785}, {0x10787, 0x107B0},
    {0x107B2, 0x107BA}, {0x10800, 0x10805}, {0x10808, 0x10808},
    {0x1080A, 0x10835}, {0x10837, 0x10838}, {0x1083C, 0x1083C},
    {0x1083F, 0x10855}, {0x10860, 0x10876}, {0x10880, 0x1089E},
    {0x108E0, 0x108F2}, {0x108F4, 0x108F5}, {0x10900, 0x10915},
    {0x10920, 0x10939}, {0x10940, 0x10959}, {0x10980, 0x109B7},
    {0x109BE, 0x109BF}, {0x10A00, 0x10A00}, {0x10A10, 0x10A13},
    {0x10A15, 0x10A17}, {0x10A19, 0x10A35}, {0x10A60, 0x10A7C},
    {0x10A80, 0x10A9C}, {0x10AC0, 0x10AC7}, {0x10AC9, 0x10AE4},
    {0x10B00, 0x10B35}, {0x10B40, 0x10B55}, {0x10B60, 0x10B72},
    {0x10B80, 0x10B91}, {0x10C00, 0x10C48}, {0x10C80, 0x10CB2},
    {0x10CC0, 0x10CF2}, {0x10D00, 0x10D23}, {0x10D4A, 0x10D65},
    {0x10D6F, 0x10D85}, {0x10E80, 0x10EA9}, {0x10EB0, 0x10EB1},
    {0x10EC2, 0x10EC7}, {0x10F00, 0x10F1C}, {0x10F27, 0x10F27},
    {0x10F30, 0x10F45}, {0x10F70, 0x10F81}, {0x10FB0, 0x10FC4},
    {0x10FE0, 0x10FF6}, {0x11003, 0x11037}, {0x11071, 0x11072},
    {0x11075, 0x11075}, {0x11083, 0x110AF}, {0x110D0, 0x110E8},
    {0x11103, 0x11126}, {0x11144, 0x11144}, {0x11147, 0x11147},
    {0x11150, 0x11172}, {0x11176, 0x11176}, {0x11183, 0x111B2},
    {0x111C1, 0x111C4}, {0x111DA, 0x111DA}, {0x111DC, 0x111DC},
    {0x11200, 0x11211}, {0x11213, 0x1122B}, {0x1123F, 0x11240},
    {0x11280, 0x11286}, {0x11288, 0x11288}, {0x1128A, 0x1128D},
    {0x1128F, 0x1129D}, {0x1129F, 0x112A8}, {0x112B0, 0x112DE},
    {0x11305, 0x1130C}, {0x1130F, 0x11310}, {0x11313, 0x11328},
    {0x1132A, 0x11330}, {0x11332, 0x11333}, {0x11335, 0x11339},
    {0x1133D, 0x1133D}, {0x11350, 0x11350}, {0x1135D, 0x11361},
    {0x11380, 0x11389}, {0x1138B, 0x1138B}, {0x1138E, 0x1138E},
    {0x11390, 0x113B5}, {0x113B7, 0x113B7}, {0x113D1, 0x113D1},
    {0x113D3, 0x113D3}, {0x11400, 0x11434}, {0x11447, 0x1144A},
    {0x1145F, 0x11461}, {0x11480, 0x114AF}, {0x114C4, 0x114C5},
    {0x114C7, 0x114C7}, {0x11580, 0x115AE}, {0x115D8, 0x115DB},
    {0x11600, 0x1162F}, {0x11644, 0x11644}, {0x11680, 0x116AA},
    {0x116B8, 0x116B8}, {0x11700, 0x1171A}, {0x11740, 0x11746},
    {0x11800, 0x1182B}, {0x118A0, 0x118DF}, {0x118FF, 0x11906},
    {0x11909, 0x11909}, {0x1190C, 0x11913}, {0x11915, 0x11916},
    {0x11918, 0x1192F}, {0x1193F, 0x1193F}, {0x11941, 0x11941},
    {0x119A0, 0x119A7}, {0x119AA, 0x119D0}, {0x119E1, 0x119E1},
    {0x119E3, 0x119E3}, {0x11A00, 0x11A00}, {0x11A0B, 0x11A32},
    {0x11A3A, 0x11A3A}, {0x11A50, 0x11A50}, {0x11A5C, 0x11A89},
    {0x11A9D, 0x11A9D}, {0x11AB0, 0x11AF8}, {0x11BC0, 0x11BE0},
    {0x11C00, 0x11C08}, {0x11C0A, 0x11C2E}, {0x11C40, 0x11C40},
    {0x11C72, 0x11C8F}, {0x11D00, 0x11D06}, {0x11D08, 0x11D09},
    {0x11D0B, 0x11D30}, {0x11D46, 0x11D46}, {0x11D60, 0x11D65},
    {0x11D67, 0x11D68}, {0x11D6A, 0x11D89}, {0x11D98, 0x11D98},
    {0x11DB0, 0x11DDB}, {0x11EE0, 0x11EF2}, {0x11F02, 0x11F02},
    {0x11F04, 0x11F10}, {0x11F12, 0x11F33}, {0x11FB0, 0x11FB0},
    {0x12000, 0x12399}, {0x12480, 0x12543}, {0x12F90, 0x12FF0},
    {0x13000, 0x1342F}, {0x13441, 0x13446}, {0x13460, 0x143FA},
    {0x14400, 0x14646}, {0x16100, 0x1611D}, {0x16800, 0x16A38},
    {0x16A40, 0x16A5E}, {0x16A70, 0x16ABE}, {0x16AD0, 0x16AED},
    {0x16B00, 0x16B2F}, {0x16B40, 0x16B43}, {0x16B63, 0x16B77},
    {0x16B7D, 0x16B8F}, {0x16D40, 0x16D6C}, {0x16E40, 0x16E7F},
    {0x16EA0, 0x16EB8}, {0x16EBB, 0x16ED3}, {0x16F00, 0x16F4A},
    {0x16F50, 0x16F50}, {0x16F93, 0x16F9F}, {0x16FE0, 0x16FE1},
    {0x16FE3, 0x16FE3}, {0x16FF2, 0x16FF3}, {0x17000, 0x18CD5},
    {0x18CFF, 0x18D1E}, {0x18D80, 0x18DF2}, {0x1AFF0, 0x1AFF3},
    {0x1AFF5, 0x1AFFB}, {0x1AFFD, 0x1AFFE}, {0x1B000, 0x1B122},
    {0x1B132, 0x1B132}, {0x1B150, 0x1B152}, {0x1B155, 0x1B155},
    {0x1B164, 0x1B167}, {0x1B170, 0x1B2FB}, {0x1BC00, 0x1BC6A},
    {0x1BC70, 0x1BC7C}, {0x1BC80, 0x1BC88}, {0x1BC90, 0x1BC99},
    {0x1D400, 0x1D454}, {0x1D456, 0x1D49C}, {0x1D49E, 0x1D49F},
    {0x1D4A2, 0x1D4A2}, {0x1D4A5, 0x1D4A6}, {0x1D4A9, 0x1D4AC},
    {0x1D4AE, 0x1D4B9}, {0x1D4BB, 0x1D4BB}, {0x1D4BD, 0x1D4C3},
    {0x1D4C5, 0x1D505}, {0x1D507, 0x1D50A}, {0x1D50D, 0x1D514},
    {0x1D516, 0x1D51C}, {0x1D51E, 0x1D539}, {0x1D53B, 0x1D53E},
    {0x1D540, 0x1D544}, {0x1D546, 0x1D546}, {0x1D54A, 0x1D550},
    {0x1D552, 0x1D6A5}, {0x1D6A8, 0x1D6C0}, {0x1D6C2, 0x1D6DA},
    {0x1D6DC, 0x1D6FA}, {0x1D6FC, 0x1D714}, {0x1D716, 0x1D734},
    {0x1D736, 0x1D74E}, {0x1D750, 0x1D76E}, {0x1D770, 0x1D788},
    {0x1D78A, 0x1D7A8}, {0x1D7AA, 0x1D7C2}, {0x1D7C4, 0x1D7CB},
    {0x1DF00, 0x1DF1E}, {0x1DF25, 0x1DF2A}, {0x1E030, 0x1E06D},
    {0x1E100, 0x1E12C}, {0x1E137, 0x1E13D}, {0x1E14E, 0x1E14E},
    {0x1E290, 0x1E2AD}, {0x1E2C0, 0x1E2EB}, {0x1E4D0, 0x1E4EB},
    {0x1E5D0, 0x1E5ED}, {0x1E5F0, 0x1E5F0}, {0x1E6C0, 0x1E6DE},
    {0x1E6E0, 0x1E6E2}, {0x1E6E4, 0x1E6E5}, {0x1E6E7, 0x1E6ED},
    {0x1E6F0, 0x1E6F4}, {0x1E6FE, 0x1E6FF}, {0x1E7E0, 0x1E7E6},
    {0x1E7E8, 0x1E7EB}, {0x1E7ED, 0x1E7EE}, {0x1E7F0, 0x1E7FE},
    {0x1E800, 0x1E8C4}, {0x1E900, 0x1E943}, {0x1E94B, 0x1E94B},
    {0x1EE00, 0x1EE03}, {0x1EE05, 0x1EE1F}, {0x1EE21, 0x1EE22},
    {0x1EE24, 0x1EE24}, {0x1EE27, 0x1EE27}, {0x1EE29, 0x1EE32},
    {0x1EE34, 0x1EE37}, {0x1EE39, 0x1EE39}, {0x1EE3B, 0x1EE3B},
    {0x1EE42, 0x1EE42}, {0x1EE47, 0x1EE47}, {0x1EE49, 0x1EE49},
    {0x1EE4B, 0x1EE4B}, {0x1EE4D, 0x1EE4F}, {0x1EE51, 0x1EE52},
    {0x1EE54, 0x1EE54}, {0x1EE57, 0x1EE57}, {0x1EE59, 0x1EE59},
    {0x1EE5B, 0x1EE5B}, {0x1EE5D, 0x1EE5D}, {0x1EE5F, 0x1EE5F},
    {0x1EE61, 0x1EE62}, {0x1EE64, 0x1EE64}, {0x1EE67, 0x1EE6A},
    {0x1EE6C, 0x1EE72}, {0x1EE74, 0x1EE77}, {0x1EE79, 0x1EE7C},
    {0x1EE7E, 0x1EE7E}, {0x1EE80, 0x1EE89}, {0x1EE8B, 0x1EE9B},
    {0x1EEA1, 0x1EEA3}, {0x1EEA5, 0x1EEA9}, {0x1EEAB, 0x1EEBB},
    {0x20000, 0x2A6DF}, {0x2A700, 0x2B81D}, {0x2B820, 0x2CEAD},
    {0x2CEB0, 0x2EBE0}, {0x2EBF0, 0x2EE5D}, {0x2F800, 0x2FA1D},
    {0x30000, 0x3134A}, {0x31350, 0x33479},
};
static const struct cpt_range tok_number[] = {
    {0xB2, 0xB3}, {0xB9, 0xB9}, {0xBC, 0xBE}, {0x660, 0x669}, {0x6F0, 0x6F9},
    {0x7C0, 0x7C9}, {0x966, 0x96F}, {0x9E6, 0x9EF}, {0x9F4, 0x9F9},
    {0xA66, 0xA6F}, {0xAE6, 0xAEF}, {0xB66, 0xB6F}, {0xB72, 0xB77},
    {0xBE6, 0xBF2}, {0xC66, 0xC6F}, {0xC78, 0xC7E}, {0xCE6, 0xCEF},
    {0xD58, 0xD5E}, {0xD66, 0xD78}, {0xDE6, 0xDEF}, {0xE50, 0xE59},
    {0xED0, 0xED9}, {0xF20, 0xF33}, {0x1040, 0x1049}, {0x1090, 0x1099},
    {0x1369, 0x137C}, {0x16EE, 0x16F0}, {0x17E0, 0x17E9}, {0x17F0, 0x17F9},
    {0x1810, 0x1819}, {0x1946, 0x194F}, {0x19D0, 0x19DA}, {0x1A80, 0x1A89},
    {0x1A90, 0x1A99}, {0x1B50, 0x1B59}, {0x1BB0, 0x1BB9}, {0x1C40, 0x1C49},
    {0x1C50, 0x1C59}, {0x2070, 0x2070}, {0x2074, 0x2079}, {0x2080, 0x2089},
    {0x2150, 0x2182}, {0x2185, 0x2189}, {0x2460, 0x249B}, {0x24EA, 0x24FF},
    {0x2776, 0x2793}, {0x2CFD, 0x2CFD}, {0x3007, 0x3007}, {0x3021, 0x3029},
    {0x3038, 0x303A}, {0x3192, 0x3195}, {0x3220, 0x3229}, {0x3248, 0x324F},
    {0x3251, 0x325F}, {0x3280, 0x3289}, {0x32B1, 0x32BF}, {0xA620, 0xA629},
    {0xA6E6, 0xA6EF}, {0xA830, 0xA835}, {0xA8D0, 0xA8D9}, {0xA900, 0xA909},
    {0xA9D0, 0xA9D9}, {0xA9F0, 0xA9F9}, {0xAA50, 0xAA59}, {0xABF0, 0xABF9},
    {0xFF10, 0xFF19}, {0x10107, 0x10133}, {0x10140, 0x10178},
    {0x1018A, 0x1018B}, {0x102E1, 0x102FB}, {0x10320, 0x10323},
    {0x10341, 0x10341}, {0x1034A, 0x1034A}, {0x103D1, 0x103D5},
    {0x104A0, 0x104A9}, {0x10858, 0x1085F}, {0x10879, 0x1087F},
    {0x108A7, 0x108AF}, {0x108FB, 0x108FF}, {0x10916, 0x1091B},
    {0x109BC, 0x109BD}, {0x109C0, 0x109CF}, {0x109D2, 0x109FF},
    {0x10A40, 0x10A48}, {0x10A7D, 0x10A7E}, {0x10A9D, 0x10A9F},
    {0x10AEB, 0x10AEF}, {0x10B58, 0x10B5F}, {0x10B78, 0x10B7F},
    {0x10BA9, 0x10BAF}, {0x10CFA, 0x10CFF}, {0x10D30, 0x10D39},
    {0x10D40, 0x10D49}, {0x10E60, 0x10E7E}, {0x10F1D, 0x10F26},
    {0x10F51, 0x10F54}, {0x10FC5, 0x10FCB}, {0x11052, 0x1106F},
    {0x110F0, 0x110F9}, {0x11136, 0x1113F}, {0x111D0, 0x111D9},
    {0x111E1, 0x111F4}, {0x112F0, 0x112F9}, {0x11450, 0x11459},
    {0x114D0, 0x114D9}, {0x11650, 0x11659}, {0x116C0, 0x116C9},
    {0x116D0, 0x116E3}, {0x11730, 0x1173B}, {0x118E0, 0x118F2},
    {0x11950, 0x11959}, {0x11BF0, 0x11BF9}, {0x11C50, 0x11C6C},
    {0x11D50, 0x11D59}, {0x11DA0, 0x11DA9}, {0x11DE0, 0x11DE9},
    {0x11F50, 0x11F59}, {0x11FC0, 0x11FD4}, {0x12400, 0x1246E},
    {0x16130, 0x16139}, {0x16A60, 0x16A69}, {0x16AC0, 0x16AC9},
    {0x16B50, 0x16B59}, {0x16B5B, 0x16B61}, {0x16D70, 0x16D79},
    {0x16E80, 0x16E96}, {0x16FF4, 0x16FF6}, {0x1CCF0, 0x1CCF9},
    {0x1D2C0, 0x1D2D3}, {0x1D2E0, 0x1D2F3}, {0x1D360, 0x1D378},
    {0x1D7CE, 0x1D7FF}, {0x1E140, 0x1E149}, {0x1E2F0, 0x1E2F9},
    {0x1E4F0, 0x1E4F9}, {0x1E5F1, 0x1E5FA}, {0x1E8C7, 0x1E8CF},
    {0x1E950, 0x1E959}, {0x1EC71, 0x1ECAB}, {0x1ECAD, 0x1ECAF},
    {0x1ECB1, 0x1ECB4}, {0x1ED01, 0x1ED2D}, {0x1ED2F, 0x1ED3D},
    {0x1F100, 0x1F10C}, {0x1FBF0, 0x1FBF9},
};
static const struct cpt_range tok_punct[] = {
    {0xA1, 0xA1}, {0xA7, 0xA7}, {0xAB, 0xAB}, {0xB6, 0xB7}, {0xBB, 0xBB},
    {0xBF, 0xBF}, {0x37E, 0x37E}, {0x387, 0x387}, {0x55A, 0x55F},
    {0x589, 0x58A}, {0x5BE, 0x5BE}, {0x5C0, 0x5C0}, {0x5C3, 0x5C3},
    {0x5C6, 0x5C6}, {0x5F3, 0x5F4}, {0x609, 0x60A}, {0x60C, 0x60D},
    {0x61B, 0x61B}, {0x61D, 0x61F}, {0x66A, 0x66D}, {0x6D4, 0x6D4},
    {0x700, 0x70D}, {0x7F7, 0x7F9}, {0x830, 0x83E}, {0x85E, 0x85E},
    {0x964, 0x965}, {0x970, 0x970}, {0x9FD, 0x9FD}, {0xA76, 0xA76},
    {0xAF0, 0xAF0}, {0xC77, 0xC77}, {0xC84, 0xC84}, {0xDF4, 0xDF4},
    {0xE4F, 0xE4F}, {0xE5A, 0xE5B}, {0xF04, 0xF12}, {0xF14, 0xF14},
    {0xF3A, 0xF3D}, {0xF85, 0xF85}, {0xFD0, 0xFD4}, {0xFD9, 0xFDA},
    {0x104A, 0x104F}, {0x10FB, 0x10FB}, {0x1360, 0x1368}, {0x1400, 0x1400},
    {0x166E, 0x166E}, {0x169B, 0x169C}, {0x16EB, 0x16ED}, {0x1735, 0x1736},
    {0x17D4, 0x17D6}, {0x17D8, 0x17DA}, {0x1800, 0x180A}, {0x1944, 0x1945},
    {0x1A1E, 0x1A1F}, {0x1AA0, 0x1AA6}, {0x1AA8, 0x1AAD}, {0x1B4E, 0x1B4F},
    {0x1B5A, 0x1B60}, {0x1B7D, 0x1B7F}, {0x1BFC, 0x1BFF}, {0x1C3B, 0x1C3F},
    {0x1C7E, 0x1C7F}, {0x1CC0, 0x1CC7}, {0x1CD3, 0x1CD3}, {0x2010, 0x2027},
    {0x2030, 0x2043}, {0x2045, 0x2051}, {0x2053, 0x205E}, {0x207D, 0x207E},
    {0x208D, 0x208E}, {0x2308, 0x230B}, {0x2329, 0x232A}, {0x2768, 0x2775},
    {0x27C5, 0x27C6}, {0x27E6, 0x27EF}, {0x2983, 0x2998}, {0x29D8, 0x29DB},
    {0x29FC, 0x29FD}, {0x2CF9, 0x2CFC}, {0x2CFE, 0x2CFF}, {0x2D70, 0x2D70},
    {0x2E00, 0x2E2E}, {0x2E30, 0x2E4F}, {0x2E52, 0x2E5D}, {0x3001, 0x3003},
    {0x3008, 0x3011}, {0x3014, 0x301F}, {0x3030, 0x3030}, {0x303D, 0x303D},
    {0x30A0, 0x30A0}, {0x30FB, 0x30FB}, {0xA4FE, 0xA4FF}, {0xA60D, 0xA60F},
    {0xA673, 0xA673}, {0xA67E, 0xA67E}, {0xA6F2, 0xA6F7}, {0xA874, 0xA877},
    {0xA8CE, 0xA8CF}, {0xA8F8, 0xA8FA}, {0xA8FC, 0xA8FC}, {0xA92E, 0xA92F},
    {0xA95F, 0xA95F}, {0xA9C1, 0xA9CD}, {0xA9DE, 0xA9DF}, {0xAA5C, 0xAA5F},
    {0xAADE, 0xAADF}, {0xAAF0, 0xAAF1}, {0xABEB, 0xABEB}, {0xFD3E, 0xFD3F},
    {0xFE10, 0xFE19}, {0xFE30, 0xFE52}, {0xFE54, 0xFE61}, {0xFE63, 0xFE63},
    {0xFE68, 0xFE68}, {0xFE6A, 0xFE6B}, {0xFF01, 0xFF03}, {0xFF05, 0xFF0A},
    {0xFF0C, 0xFF0F}, {0xFF1A, 0xFF1B}, {0xFF1F, 0xFF20}, {0xFF3B, 0xFF3D},
    {0xFF3F, 0xFF3F}, {0xFF5B, 0xFF5B}, {0xFF5D, 0xFF5D}, {0xFF5F, 0xFF65},
    {0x10100, 0x10102}, {0x1039F, 0x1039F}, {0x103D0, 0x103D0},
    {0x1056F, 0x1056F}, {0x10857, 0x10857}, {0x1091F, 0x1091F},
    {0x1093F, 0x1093F}, {0x10A50, 0x10A58}, {0x10A7F, 0x10A7F},
    {0x10AF0, 0x10AF6}, {0x10B39, 0x10B3F}, {0x10B99, 0x10B9C},
    {0x10D6E, 0x10D6E}, {0x10EAD, 0x10EAD}, {0x10ED0, 0x10ED0},
    {0x10F55, 0x10F59}, {0x10F86, 0x10F89}, {0x11047, 0x1104D},
    {0x110BB, 0x110BC}, {0x110BE, 0x110C1}, {0x11140, 0x11143},
    {0x11174, 0x11175}, {0x111C5, 0x111C8}, {0x111CD, 0x111CD},
    {0x111DB, 0x111DB}, {0x111DD, 0x111DF}, {0x11238, 0x1123D},
    {0x112A9, 0x112A9}, {0x113D4, 0x113D5}, {0x113D7, 0x113D8},
    {0x1144B, 0x1144F}, {0x1145A, 0x1145B}, {0x1145D, 0x1145D},
    {0x114C6, 0x114C6}, {0x115C1, 0x115D7}, {0x11641, 0x11643},
    {0x11660, 0x1166C}, {0x116B9, 0x116B9}, {0x1173C, 0x1173E},
    {0x1183B, 0x1183B}, {0x11944, 0x11946}, {0x119E2, 0x119E2},
    {0x11A3F, 0x11A46}, {0x11A9A, 0x11A9C}, {0x11A9E, 0x11AA2},
    {0x11B00, 0x11B09}, {0x11BE1, 0x11BE1}, {0x11C41, 0x11C45},
    {0x11C70, 0x11C71}, {0x11EF7, 0x11EF8}, {0x11F43, 0x11F4F},
    {0x11FFF, 0x11FFF}, {0x12470, 0x12474}, {0x12FF1, 0x12FF2},
    {0x16A6E, 0x16A6F}, {0x16AF5, 0x16AF5}, {0x16B37, 0x16B3B},
    {0x16B44, 0x16B44}, {0x16D6D, 0x16D6F}, {0x16E97, 0x16E9A},
    {0x16FE2, 0x16FE2}, {0x1BC9F, 0x1BC9F}, {0x1DA87, 0x1DA8B},
    {0x1E5FF, 0x1E5FF}, {0x1E95E, 0x1E95F},
};

#define TOK_N_RANGES(a) (sizeof(a) / sizeof((a)[0]))

enum {
    CPT_IN = 1,       /* a code point inside the piece being split (never 0 there) */
    CPT_LETTER = 2,   /* \p{L} */
    CPT_NUMBER = 4,   /* \p{N} */
    CPT_SPACE = 8     /* \s */
};

static bool cpt_in_ranges(const struct cpt_range *r, size_t n, uint32_t c)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < r[mid].lo)
            hi = mid;
        else if (c > r[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

static bool cpt_is_space(uint32_t c)
{
    return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* The class bits of code point c (CPT_IN always set). */
static unsigned cpt_class(uint32_t c)
{
    if (c < 0x80) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
            return CPT_IN | CPT_LETTER;
        if (c >= '0' && c <= '9')
            return CPT_IN | CPT_NUMBER;
        return cpt_is_space(c) ? CPT_IN | CPT_SPACE : CPT_IN;
    }
    if (cpt_is_space(c))
        return CPT_IN | CPT_SPACE;
    if (cpt_in_ranges(tok_letter, TOK_N_RANGES(tok_letter), c))
        return CPT_IN | CPT_LETTER;
    if (cpt_in_ranges(tok_number, TOK_N_RANGES(tok_number), c))
        return CPT_IN | CPT_NUMBER;
    return CPT_IN;
}

/* The default pre-tokenizer's first class, [\p{P}$+<=>^~|]: llama.cpp runs it
 * on text where ASCII stays itself and other code points are collapsed to
 * their category, so ASCII is the explicit list and the rest is \p{P}. */
static bool cpt_is_default_punct(uint32_t c)
{
    if (c < 0x80)
        return c > 0x20 && c < 0x7F && c != '`' && !(c >= '0' && c <= '9') &&
               !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z');
    return cpt_in_ranges(tok_punct, TOK_N_RANGES(tok_punct), c);
}

/* Bytes in the UTF-8 sequence that lead byte c starts, judged by its top four
 * bits alone (a continuation or invalid byte counts 1), as llama.cpp's
 * unicode_len_utf8. */
static size_t utf8_len(unsigned char c)
{
    static const unsigned char len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len[c >> 4];
}

/*
 * Decode one code point at s[*off] (n bytes in all) the way llama.cpp's
 * unicode_cpt_from_utf8 + unicode_cpts_from_utf8 do: a well-formed prefix of
 * the right length gives its value (overlong forms and surrogates included);
 * anything else gives U+FFFD and consumes one byte. Values above U+10FFFF
 * (where llama.cpp later throws) give U+FFFD and consume their four bytes.
 */
static uint32_t utf8_decode(const unsigned char *s, size_t n, size_t *off)
{
    size_t i = *off;
    unsigned c = s[i];
    if (c < 0x80) {
        *off = i + 1;
        return c;
    }
    if ((c & 0x40) && !(c & 0x20)) {
        if (i + 1 < n && (s[i + 1] & 0xC0) == 0x80) {
            *off = i + 2;
            return ((uint32_t)(c & 0x1F) << 6) | (s[i + 1] & 0x3Fu);
        }
    } else if ((c & 0x40) && !(c & 0x10)) {
        if (i + 2 < n && (s[i + 1] & 0xC0) == 0x80 && (s[i + 2] & 0xC0) == 0x80) {
            *off = i + 3;
            return ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[i + 1] & 0x3F) << 6) |
                   (s[i + 2] & 0x3Fu);
        }
    } else if ((c & 0x40) && !(c & 0x08)) {
        if (i + 3 < n && (s[i + 1] & 0xC0) == 0x80 && (s[i + 2] & 0xC0) == 0x80 &&
            (s[i + 3] & 0xC0) == 0x80) {
            uint32_t cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[i + 1] & 0x3F) << 12) |
                          ((uint32_t)(s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3Fu);
            *off = i + 4;
            return cp <= 0x10FFFF ? cp : 0xFFFD;
        }
    }
    *off = i + 1;
    return 0xFFFD;
}

/* Encode cp (<= 0x10FFFF) as UTF-8 into out (4 bytes of room); returns the length. */
static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * GPT-2's bytes_to_unicode: the 188 printable bytes '!'..'~', 0xA1..0xAC,
 * 0xAE..0xFF stand for themselves; the other 68 (0x00-0x20, 0x7F-0xA0, 0xAD),
 * in byte order, become U+0100..U+0143.
 */
static uint32_t gpt2_byte_to_cpt(unsigned char b)
{
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
        return b;
    if (b <= 0x20)
        return 0x100u + b;
    if (b <= 0xA0)
        return 0x100u + 33 + (b - 0x7Fu);
    return 0x100u + 67; /* 0xAD */
}

/* The inverse: the byte cp stands for, or -1 when it stands for none. */
static int gpt2_cpt_to_byte(uint32_t cp)
{
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return (int)cp;
    if (cp >= 0x100 && cp < 0x100 + 33)
        return (int)(cp - 0x100);
    if (cp >= 0x100 + 33 && cp < 0x100 + 67)
        return (int)(0x7F + cp - (0x100 + 33));
    if (cp == 0x100 + 67)
        return 0xAD;
    return -1;
}

/* ---- hashing and lookups ---- */

/* A table hash of n bytes, eight at a time (host byte order: it never
 * leaves the process). */
static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = UINT64_C(0x9E3779B97F4A7C15) ^ n, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * UINT64_C(0xBF58476D1CE4E5B9);
        h ^= h >> 29;
    }
    w = 0;
    if (n)
        memcpy(&w, s, n);
    h = (h ^ w) * UINT64_C(0x94D049BB133111EB);
    return h ^ (h >> 32);
}

/* The table hash of a merge: its two sides hashed apart, then combined. */
static uint64_t hash_pair(const void *l, size_t ln, const void *r, size_t rn)
{
    uint64_t h = hash_bytes(l, ln) * UINT64_C(0x9E3779B97F4A7C15) ^ hash_bytes(r, rn);
    h *= UINT64_C(0xBF58476D1CE4E5B9);
    return h ^ (h >> 31);
}

int32_t tokenizer_find(const struct tokenizer *t, const char *text, size_t len)
{
    if (!t->token_slots || len > t->max_token_len)
        return -1;
    size_t i = (size_t)hash_bytes(text, len) & t->token_mask;
    for (;;) {
        uint32_t v = t->token_slots[i];
        if (!v)
            return -1;
        const struct tokenizer_token *tok = &t->tokens[v - 1];
        if (tok->len == len && (len == 0 || !memcmp(tok->text, text, len)))
            return (int32_t)(v - 1);
        i = (i + 1) & t->token_mask;
    }
}

/* Where a merge string splits: its first ' ' at index >= 1 (llama.cpp's
 * word.find(' ', 1)), or 0 when it has none (such an entry never matches). */
static size_t merge_split(const struct gguf_value *m)
{
    if (m->len < 2)
        return 0;
    const void *sp = memchr(m->data + 1, ' ', (size_t)m->len - 1);
    return sp ? (size_t)((const uint8_t *)sp - m->data) : 0;
}

/*
 * The rank of merging symbol texts l and r (the index of "l r" in
 * tokenizer.ggml.merges, first one on duplicates), or -1. Symbols are GPT-2
 * characters, which never include ' ', so a merge string equal to l ' ' r
 * splits exactly there.
 */
static int32_t merge_rank(const struct tokenizer *t, const char *l, size_t ln, const char *r, size_t rn)
{
    size_t i = (size_t)hash_pair(l, ln, r, rn) & t->merge_mask;
    for (;;) {
        uint32_t v = t->merge_slots[i];
        if (!v)
            return -1;
        const struct gguf_value *m = &t->merges->elems[v - 1];
        if (m->len == ln + 1 + rn && m->data[ln] == ' ' && !memcmp(m->data, l, ln) &&
            !memcmp(m->data + ln + 1, r, rn))
            return (int32_t)(v - 1);
        i = (i + 1) & t->merge_mask;
    }
}

/* Smallest power of two >= 2n (and >= 16), or 0 on overflow. */
static size_t table_capacity(size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n) {
        if (cap > SIZE_MAX / 2)
            return 0;
        cap *= 2;
    }
    return cap;
}

/* ---- building ---- */

/* A token text for an error message: at most 40 bytes, control bytes and
 * quotes escaped, so the message stays one line. */
static void describe_text(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && i < 40 && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F || c == '\'' || c == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    if (n > 40 && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Read an optional integer key as a token id: absent leaves *id alone, a
 * value out of [0, n_vocab) is an error naming the key. */
static int read_token_id(const struct gguf_ctx *g, const char *key, int64_t n_vocab, int32_t *id,
                         struct plumb_err *err)
{
    const struct gguf_value *v = gguf_get(g, key);
    uint64_t u;
    if (!v)
        return 0;
    if (gguf_value_u64(v, key, &u, err) != 0)
        return -1;
    if (u >= (uint64_t)n_vocab)
        return err_set(err, "%s: token id %llu is out of range (the vocabulary has %lld tokens)", key,
                       (unsigned long long)u, (long long)n_vocab);
    *id = (int32_t)u;
    return 0;
}

/* Read an optional bool key: absent leaves *out alone. */
static int read_bool(const struct gguf_ctx *g, const char *key, bool *out, struct plumb_err *err)
{
    const struct gguf_value *v = gguf_get(g, key);
    return v ? gguf_value_bool(v, key, out, err) : 0;
}

static bool str_is(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(s, lit, n);
}

/* Token texts (renaming empty ones), scores, types. */
static int init_tokens(struct tokenizer *t, const struct gguf_ctx *g, struct plumb_err *err)
{
    const char *key = "tokenizer.ggml.tokens";
    const struct gguf_value *v = gguf_get(g, key);
    if (!v)
        return err_set(err, "%s: missing (no vocabulary in this file)", key);
    /* (an empty array has no elems, whatever its element type: it is told
     * apart as empty, not as an array of non-strings) */
    if (v->type != GGUF_VTYPE_ARRAY || (v->len && (v->elem_type != GGUF_VTYPE_STRING || !v->elems)))
        return err_set(err, "%s: has type %s, expected an array of strings", key,
                       v->type == GGUF_VTYPE_ARRAY ? "array of non-strings" : gguf_vtype_name((int)v->type));
    if (v->len == 0)
        return err_set(err, "%s: the vocabulary is empty", key);
    if (v->len > INT32_MAX)
        return err_set(err, "%s: %llu tokens, more than ids (int32) can number", key,
                       (unsigned long long)v->len);
    int64_t n = (int64_t)v->len;
    t->n_vocab = n;
    t->tokens = calloc((size_t)n, sizeof *t->tokens);
    if (!t->tokens)
        return err_set(err, "%s: out of memory for %lld tokens", key, (long long)n);

    /* llama.cpp renames an empty token "[EMPTY_<id>]". */
    size_t owned = 0;
    for (int64_t i = 0; i < n; i++)
        if (v->elems[i].len == 0)
            owned += sizeof "[EMPTY_2147483647]";
    if (owned && !(t->owned = malloc(owned)))
        return err_set(err, "%s: out of memory", key);
    size_t used = 0;
    for (int64_t i = 0; i < n; i++) {
        struct tokenizer_token *tok = &t->tokens[i];
        if (v->elems[i].len == 0) {
            int k = snprintf(t->owned + used, owned - used, "[EMPTY_%lld]", (long long)i);
            tok->text = t->owned + used;
            tok->len = (uint32_t)k;
            used += (size_t)k + 1;
        } else {
            tok->text = (const char *)v->elems[i].data;
            tok->len = (uint32_t)v->elems[i].len; /* gguf caps strings at 1 GiB */
        }
        tok->type = TOKENIZER_TYPE_NORMAL;
        if (tok->len > t->max_token_len)
            t->max_token_len = tok->len;
    }

    key = "tokenizer.ggml.scores";
    if ((v = gguf_get(g, key))) {
        if (v->type != GGUF_VTYPE_ARRAY ||
            (v->elem_type != GGUF_VTYPE_F32 && v->elem_type != GGUF_VTYPE_I32))
            return err_set(err, "%s: has type %s, expected an array of f32 or i32", key,
                           v->type == GGUF_VTYPE_ARRAY ? gguf_vtype_name((int)v->elem_type)
                                                       : gguf_vtype_name((int)v->type));
        if (v->len != (uint64_t)n)
            return err_set(err, "%s: has %llu entries, expected %lld (one per token)", key,
                           (unsigned long long)v->len, (long long)n);
        for (int64_t i = 0; i < n; i++) {
            float s;
            if (v->elem_type == GGUF_VTYPE_F32) {
                memcpy(&s, v->data + 4 * i, 4);
            } else {
                int32_t k;
                memcpy(&k, v->data + 4 * i, 4);
                s = (float)k;
            }
            if (isnan(s))
                return err_set(err, "%s: entry %lld is NaN", key, (long long)i);
            t->tokens[i].score = s;
        }
    }

    key = "tokenizer.ggml.token_type";
    if ((v = gguf_get(g, key))) {
        if (v->type != GGUF_VTYPE_ARRAY || v->elem_type != GGUF_VTYPE_I32)
            return err_set(err, "%s: has type %s, expected an array of i32", key,
                           v->type == GGUF_VTYPE_ARRAY ? gguf_vtype_name((int)v->elem_type)
                                                       : gguf_vtype_name((int)v->type));
        if (v->len != (uint64_t)n)
            return err_set(err, "%s: has %llu entries, expected %lld (one per token)", key,
                           (unsigned long long)v->len, (long long)n);
        for (int64_t i = 0; i < n; i++) {
            int32_t k;
            memcpy(&k, v->data + 4 * i, 4);
            /* llama.cpp treats any other value as "undefined". */
            t->tokens[i].type = (uint8_t)(k >= TOKENIZER_TYPE_NORMAL && k <= TOKENIZER_TYPE_BYTE ? k : 0);
        }
    }
    return 0;
}

/* The text -> id table; rejects duplicate texts (as llama.cpp does). */
static int init_token_table(struct tokenizer *t, struct plumb_err *err)
{
    size_t cap = table_capacity((size_t)t->n_vocab);
    if (!cap || !(t->token_slots = calloc(cap, sizeof *t->token_slots)))
        return err_set(err, "tokenizer.ggml.tokens: out of memory for the lookup table");
    t->token_mask = cap - 1;
    for (int64_t id = 0; id < t->n_vocab; id++) {
        const struct tokenizer_token *tok = &t->tokens[id];
        size_t i = (size_t)hash_bytes(tok->text, tok->len) & t->token_mask;
        while (t->token_slots[i]) {
            const struct tokenizer_token *o = &t->tokens[t->token_slots[i] - 1];
            if (o->len == tok->len && !memcmp(o->text, tok->text, tok->len)) {
                char show[200];
                describe_text(show, sizeof show, tok->text, tok->len);
                return err_set(err, "tokenizer.ggml.tokens: token %lld '%s' duplicates token %lu",
                               (long long)id, show, (unsigned long)(t->token_slots[i] - 1));
            }
            i = (i + 1) & t->token_mask;
        }
        t->token_slots[i] = (uint32_t)id + 1;
    }
    return 0;
}

/* The "left right" -> rank table over tokenizer.ggml.merges. */
static int init_merges(struct tokenizer *t, const struct gguf_ctx *g, struct plumb_err *err)
{
    const char *key = "tokenizer.ggml.merges";
    const struct gguf_value *v = gguf_get(g, key);
    if (!v)
        return err_set(err, "%s: missing (a gpt2 tokenizer needs its merges)", key);
    if (v->type != GGUF_VTYPE_ARRAY || (v->len && (v->elem_type != GGUF_VTYPE_STRING || !v->elems)))
        return err_set(err, "%s: has type %s, expected an array of strings", key,
                       v->type == GGUF_VTYPE_ARRAY ? "array of non-strings" : gguf_vtype_name((int)v->type));
    if (v->len > INT32_MAX)
        return err_set(err, "%s: %llu merges, more than ranks (int32) can number", key,
                       (unsigned long long)v->len);
    t->merges = v;
    t->n_merges = (int64_t)v->len;
    size_t cap = table_capacity((size_t)t->n_merges);
    if (!cap || !(t->merge_slots = calloc(cap, sizeof *t->merge_slots)))
        return err_set(err, "%s: out of memory for the lookup table", key);
    t->merge_mask = cap - 1;
    for (int64_t r = 0; r < t->n_merges; r++) {
        const struct gguf_value *m = &v->elems[r];
        size_t sp = merge_split(m);
        if (!sp)
            continue; /* llama.cpp files it under ("", ""), which no pair matches */
        size_t i = (size_t)hash_pair(m->data, sp, m->data + sp + 1, (size_t)m->len - sp - 1) & t->merge_mask;
        bool dup = false;
        while (t->merge_slots[i]) {
            const struct gguf_value *o = &v->elems[t->merge_slots[i] - 1];
            if (o->len == m->len && !memcmp(o->data, m->data, (size_t)m->len)) {
                dup = true; /* the first rank wins, as with llama.cpp's emplace */
                break;
            }
            i = (i + 1) & t->merge_mask;
        }
        if (!dup)
            t->merge_slots[i] = (uint32_t)r + 1;
    }
    return 0;
}

struct special_entry {
    uint32_t len;
    int32_t id;
};

static int special_cmp(const void *a, const void *b)
{
    const struct special_entry *x = a, *y = b;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* User-defined tokens, longest text first, then by id. */
static int init_specials(struct tokenizer *t, struct plumb_err *err)
{
    int64_t n = 0;
    for (int64_t i = 0; i < t->n_vocab; i++)
        n += t->tokens[i].type == TOKENIZER_TYPE_USER_DEFINED;
    if (!n)
        return 0;
    struct special_entry *e = malloc((size_t)n * sizeof *e);
    t->specials = malloc((size_t)n * sizeof *t->specials);
    if (!e || !t->specials) {
        free(e);
        return err_set(err, "tokenizer.ggml.token_type: out of memory");
    }
    int64_t k = 0;
    for (int64_t i = 0; i < t->n_vocab; i++)
        if (t->tokens[i].type == TOKENIZER_TYPE_USER_DEFINED)
            e[k++] = (struct special_entry){t->tokens[i].len, (int32_t)i};
    qsort(e, (size_t)n, sizeof *e, special_cmp);
    for (int64_t i = 0; i < n; i++)
        t->specials[i] = e[i].id;
    t->n_specials = n;
    free(e);
    return 0;
}

/* What each byte falls back to when a symbol is no token: SPM "<0xNN>", else
 * the one-byte text, else unk; BPE the one-byte text only (-1: dropped). */
static void init_byte_fallback(struct tokenizer *t)
{
    for (int b = 0; b < 256; b++) {
        char c = (char)b, hex[7];
        int32_t id = -1;
        if (t->model == TOKENIZER_MODEL_SPM) {
            snprintf(hex, sizeof hex, "<0x%02X>", b);
            id = tokenizer_find(t, hex, 6);
            if (id < 0)
                id = tokenizer_find(t, &c, 1);
            if (id < 0)
                id = t->unk;
        } else {
            id = tokenizer_find(t, &c, 1);
        }
        t->byte_fallback[b] = id;
    }
}

static int init_all(struct tokenizer *t, const struct gguf_ctx *g, struct plumb_err *err)
{
    const char *key = "tokenizer.ggml.model";
    const struct gguf_value *v = gguf_get(g, key);
    const char *s;
    size_t n;
    if (!v)
        return err_set(err, "%s: missing (no tokenizer in this file)", key);
    if (gguf_value_str(v, key, &s, &n, err) != 0)
        return -1;
    if (str_is(s, n, "llama")) {
        t->model = TOKENIZER_MODEL_SPM;
    } else if (str_is(s, n, "gpt2")) {
        t->model = TOKENIZER_MODEL_BPE;
    } else {
        char show[200];
        describe_text(show, sizeof show, s, n);
        return err_set(err, "%s: tokenizer '%s' is not supported (plumb reads 'llama' and 'gpt2')",
                       key, show);
    }

    if (init_tokens(t, g, err) != 0 || init_token_table(t, err) != 0)
        return -1;

    /* llama.cpp's defaults; a default outside the vocabulary means none. */
    if (t->model == TOKENIZER_MODEL_SPM) {
        t->bos = 1, t->eos = 2, t->unk = 0;
        t->add_space_prefix = true;
        t->add_bos = true;
        t->pre = TOKENIZER_PRE_NONE;
    } else {
        t->bos = 11, t->eos = 11, t->unk = -1;
        t->add_space_prefix = false;
        t->add_bos = false;
        key = "tokenizer.ggml.pre";
        t->pre = TOKENIZER_PRE_DEFAULT;
        if ((v = gguf_get(g, key))) {
            if (gguf_value_str(v, key, &s, &n, err) != 0)
                return -1;
            if (str_is(s, n, "default")) {
                t->pre = TOKENIZER_PRE_DEFAULT;
            } else if (str_is(s, n, "gpt-2")) {
                t->pre = TOKENIZER_PRE_GPT2;
            } else if (str_is(s, n, "llama-bpe") || str_is(s, n, "llama3") || str_is(s, n, "llama-v3")) {
                t->pre = TOKENIZER_PRE_LLAMA3;
                t->ignore_merges = true;
                t->add_bos = true;
            } else {
                char show[200];
                describe_text(show, sizeof show, s, n);
                return err_set(err, "%s: pre-tokenizer '%s' is not supported (plumb reads 'default', "
                               "'gpt-2' and 'llama-bpe')", key, show);
            }
        }
        if (init_merges(t, g, err) != 0)
            return -1;
    }
    if (t->bos >= t->n_vocab)
        t->bos = -1;
    if (t->eos >= t->n_vocab)
        t->eos = -1;
    if (t->unk >= t->n_vocab)
        t->unk = -1;
    if (read_token_id(g, "tokenizer.ggml.bos_token_id", t->n_vocab, &t->bos, err) != 0 ||
        read_token_id(g, "tokenizer.ggml.eos_token_id", t->n_vocab, &t->eos, err) != 0 ||
        read_token_id(g, "tokenizer.ggml.unknown_token_id", t->n_vocab, &t->unk, err) != 0 ||
        read_bool(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix, err) != 0 ||
        read_bool(g, "tokenizer.ggml.add_bos_token", &t->add_bos, err) != 0)
        return -1;

    if (init_specials(t, err) != 0)
        return -1;
    init_byte_fallback(t);
    return 0;
}

int tokenizer_init(struct tokenizer *t, const struct gguf_ctx *g, struct plumb_err *err)
{
    memset(t, 0, sizeof *t);
    if (init_all(t, g, err) != 0) {
        err_prefix(err, "%s", g->path ? g->path : "gguf");
        tokenizer_free(t);
        return -1;
    }
    return 0;
}

void tokenizer_free(struct tokenizer *t)
{
    free(t->tokens);
    free(t->token_slots);
    free(t->merge_slots);
    free(t->specials);
    free(t->owned);
    memset(t, 0, sizeof *t);
}

int64_t tokenizer_n_vocab(const struct tokenizer *t)
{
    return t->n_vocab;
}

int32_t tokenizer_bos(const struct tokenizer *t)
{
    return t->bos;
}

int32_t tokenizer_eos(const struct tokenizer *t)
{
    return t->eos;
}

int32_t tokenizer_unk(const struct tokenizer *t)
{
    return t->unk;
}

/* ---- encoding: working memory ---- */

/* A symbol of the merge loop: bytes [off, off + n) of the text being merged
 * (n = 0 once merged into its left neighbour), in a doubly linked list. */
struct symbol {
    int32_t prev, next;
    uint32_t off, n;
};

/*
 * A candidate merge of symbol left with the symbol after it, size bytes in
 * all. key = priority << 32 | (UINT32_MAX - left), so a larger key comes out
 * first: higher priority, then the leftmost pair. The priority is the SPM
 * score of the merged token mapped to an order-preserving uint32, or
 * UINT32_MAX - the BPE merge rank. The right symbol is not stored: while the
 * pair is live it is left's next, and a pair whose left has grown or whose
 * next is not the one queued no longer adds up to size (see merge_symbols).
 * 16 bytes, so a 4-ary heap's four children share a cache line.
 */
struct bigram {
    uint64_t key;
    uint32_t size;
};

/* A piece of the input after special-token splitting: text [off, off + len)
 * when id < 0, else the special token id. */
struct fragment {
    size_t off, len;
    int32_t id;
};

/* Growable arrays, reused across fragments and words of one encode call. */
struct tok_work {
    int32_t *ids;               /* the output */
    size_t n_ids, cap_ids;
    char *buf;                  /* SPM: escaped fragment; BPE: one encoded word */
    size_t n_buf, cap_buf;
    uint32_t *cpts;             /* BPE: the fragment's code points */
    size_t cap_cpts;
    size_t *lens[2];            /* BPE: piece lengths (in code points), two for ping-pong */
    size_t n_lens[2], cap_lens[2];
    struct symbol *syms;
    size_t n_syms, cap_syms;
    struct bigram *heap;
    size_t n_heap, cap_heap;
    struct fragment *frags[2];
    size_t n_frags[2], cap_frags[2];
};

static void work_free(struct tok_work *w)
{
    free(w->ids);
    free(w->buf);
    free(w->cpts);
    free(w->lens[0]);
    free(w->lens[1]);
    free(w->syms);
    free(w->heap);
    free(w->frags[0]);
    free(w->frags[1]);
}

/* Make room for need elements of size elem in *p (capacity *cap). */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return -1;
        c *= 2;
    }
    if (c > SIZE_MAX / elem)
        return -1;
    void *q = realloc(*p, c * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int push_id(struct tok_work *w, int32_t id)
{
    if (grow((void **)&w->ids, &w->cap_ids, w->n_ids + 1, sizeof *w->ids) != 0)
        return -1;
    w->ids[w->n_ids++] = id;
    return 0;
}

static int push_bytes(struct tok_work *w, const char *s, size_t n)
{
    if (!n)
        return 0;
    if (grow((void **)&w->buf, &w->cap_buf, w->n_buf + n, 1) != 0)
        return -1;
    memcpy(w->buf + w->n_buf, s, n);
    w->n_buf += n;
    return 0;
}

static int push_len(struct tok_work *w, int which, size_t len)
{
    if (!len)
        return 0;
    if (grow((void **)&w->lens[which], &w->cap_lens[which], w->n_lens[which] + 1, sizeof(size_t)) != 0)
        return -1;
    w->lens[which][w->n_lens[which]++] = len;
    return 0;
}

static int push_frag(struct tok_work *w, int which, size_t off, size_t len, int32_t id)
{
    if (grow((void **)&w->frags[which], &w->cap_frags[which], w->n_frags[which] + 1,
             sizeof(struct fragment)) != 0)
        return -1;
    w->frags[which][w->n_frags[which]++] = (struct fragment){off, len, id};
    return 0;
}

/* ---- the merge loop shared by SPM and BPE ---- */

/* A score as a uint32 in the same order (no NaN here; -0 counts as +0, as
 * float comparison has it). */
static uint32_t score_order(float score)
{
    uint32_t u;
    if (score == 0)
        score = 0; /* -0 -> +0 */
    memcpy(&u, &score, sizeof u);
    return u & 0x80000000u ? ~u : u | 0x80000000u;
}

/* A 4-ary max-heap on key. */
static int heap_push(struct tok_work *w, struct bigram b)
{
    if (grow((void **)&w->heap, &w->cap_heap, w->n_heap + 1, sizeof *w->heap) != 0)
        return -1;
    size_t i = w->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 4;
        if (w->heap[parent].key >= b.key)
            break;
        w->heap[i] = w->heap[parent];
        i = parent;
    }
    w->heap[i] = b;
    return 0;
}

static struct bigram heap_pop(struct tok_work *w)
{
    struct bigram top = w->heap[0];
    struct bigram last = w->heap[--w->n_heap];
    size_t i = 0, n = w->n_heap;
    for (;;) {
        size_t c = 4 * i + 1, best = c;
        if (c >= n)
            break;
        for (size_t k = c + 1; k < c + 4 && k < n; k++)
            if (w->heap[k].key > w->heap[best].key)
                best = k;
        if (w->heap[best].key <= last.key)
            break;
        w->heap[i] = w->heap[best];
        i = best;
    }
    if (n)
        w->heap[i] = last;
    return top;
}

/* Queue the merge of symbols left and right of text s if there is one: SPM
 * when their concatenation is a token (keyed by its score), BPE when
 * "left right" is a merge (keyed by minus its rank). */
static int try_pair(const struct tokenizer *t, const char *s, struct tok_work *w, int32_t left, int32_t right)
{
    if (left < 0 || right < 0)
        return 0;
    const struct symbol *l = &w->syms[left], *r = &w->syms[right];
    uint32_t size = l->n + r->n, prio;
    if (t->model == TOKENIZER_MODEL_SPM) {
        int32_t id = tokenizer_find(t, s + l->off, size);
        if (id < 0)
            return 0;
        prio = score_order(t->tokens[id].score);
    } else {
        int32_t rank = merge_rank(t, s + l->off, l->n, s + r->off, r->n);
        if (rank < 0)
            return 0;
        prio = UINT32_MAX - (uint32_t)rank;
    }
    return heap_push(w, (struct bigram){(uint64_t)prio << 32 | (UINT32_MAX - (uint32_t)left), size});
}

/*
 * Cut s[0, n) into UTF-8 symbols and merge them to a fixed point. Each merge
 * pushes at most two new pairs, so the loop is O(n log n). A popped pair is
 * stale when its left symbol has been merged away, or it and its current
 * next no longer add up to the pair's size: the left only grows by
 * absorbing its next, the next only by absorbing its own next, so equal
 * size means the very pair that was queued (llama.cpp checks the same).
 * Symbols keep their start, so equal size also means the same text.
 */
static int merge_symbols(const struct tokenizer *t, const char *s, uint32_t n, struct tok_work *w)
{
    w->n_syms = 0;
    w->n_heap = 0;
    for (uint32_t off = 0; off < n;) {
        uint32_t k = (uint32_t)utf8_len((unsigned char)s[off]);
        if (k > n - off)
            k = n - off;
        if (grow((void **)&w->syms, &w->cap_syms, w->n_syms + 1, sizeof *w->syms) != 0)
            return -1;
        int32_t i = (int32_t)w->n_syms++;
        w->syms[i] = (struct symbol){i - 1, off + k < n ? i + 1 : -1, off, k};
        off += k;
    }
    for (size_t i = 1; i < w->n_syms; i++)
        if (try_pair(t, s, w, (int32_t)i - 1, (int32_t)i) != 0)
            return -1;
    while (w->n_heap) {
        struct bigram b = heap_pop(w);
        int32_t left = (int32_t)(UINT32_MAX - (uint32_t)b.key);
        struct symbol *l = &w->syms[left];
        if (!l->n || l->next < 0)
            continue;
        struct symbol *r = &w->syms[l->next];
        if (!r->n || l->n + r->n != b.size)
            continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            w->syms[r->next].prev = left;
        if (try_pair(t, s, w, l->prev, left) != 0 || try_pair(t, s, w, left, l->next) != 0)
            return -1;
    }
    return 0;
}

/* Emit the merged symbols: each symbol's token, else its bytes' fallbacks. */
static int emit_symbols(const struct tokenizer *t, const char *s, struct tok_work *w)
{
    for (size_t i = 0; i < w->n_syms; i++) {
        const struct symbol *sym = &w->syms[i];
        if (!sym->n)
            continue;
        int32_t id = tokenizer_find(t, s + sym->off, sym->n);
        if (id >= 0) {
            if (push_id(w, id) != 0)
                return -1;
            continue;
        }
        for (uint32_t j = 0; j < sym->n; j++) {
            int32_t b = t->byte_fallback[(unsigned char)s[sym->off + j]];
            if (b >= 0 && push_id(w, b) != 0)
                return -1;
        }
    }
    return 0;
}

/* ---- SPM ---- */

/* One text fragment: optional leading space, ' ' -> "▁", merge, emit. */
static int spm_fragment(const struct tokenizer *t, const char *text, size_t len, bool prefix_space,
                        struct tok_work *w)
{
    w->n_buf = 0;
    if (prefix_space && push_bytes(w, TOK_SPACE_ESC, 3) != 0)
        return -1;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != ' ')
            continue;
        if (push_bytes(w, text + start, i - start) != 0 ||
            (i < len && push_bytes(w, TOK_SPACE_ESC, 3) != 0))
            return -1;
        start = i + 1;
    }
    /* n_buf <= 3 * TOK_MAX_TEXT + 3 < 2^32. */
    if (merge_symbols(t, w->buf, (uint32_t)w->n_buf, w) != 0)
        return -1;
    return emit_symbols(t, w->buf, w);
}

/* ---- BPE pre-tokenizers ----
 *
 * Each stage reads the piece lengths in lens[from] (code points, in order,
 * summing to the fragment) and writes its finer cut to lens[to]. Inside a
 * stage a position outside the current piece has class 0, exactly like
 * llama.cpp's OUT_OF_RANGE / empty flags.
 */

struct piece_ctx {
    const uint32_t *cp;
    size_t beg, end;    /* the piece: cp[beg, end) */
    size_t prev;        /* where the next emitted word starts */
    struct tok_work *w;
    int to;
};

static unsigned cls_at(const struct piece_ctx *p, size_t pos)
{
    return pos >= p->beg && pos < p->end ? cpt_class(p->cp[pos]) : 0;
}

static uint32_t cp_at(const struct piece_ctx *p, size_t pos)
{
    return pos >= p->beg && pos < p->end ? p->cp[pos] : UINT32_MAX;
}

/* Close the word [prev, end). */
static int emit_word(struct piece_ctx *p, size_t end)
{
    int rc = push_len(p->w, p->to, end - p->prev);
    p->prev = end;
    return rc;
}

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static int split_gpt2(struct piece_ctx *p)
{
    size_t pos = p->beg;
    while (pos < p->end) {
        uint32_t c = p->cp[pos];
        unsigned f = cls_at(p, pos);
        if (c == '\'' && pos + 1 < p->end) {
            uint32_t c1 = p->cp[pos + 1];
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                pos += 2;
                if (emit_word(p, pos) != 0)
                    return -1;
                continue;
            }
            if (pos + 2 < p->end) {
                uint32_t c2 = p->cp[pos + 2];
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                    pos += 3;
                    if (emit_word(p, pos) != 0)
                        return -1;
                    continue;
                }
            }
        }
        /* The class after an optional leading space. */
        unsigned f2 = c == ' ' ? cls_at(p, pos + 1) : f;
        unsigned want = 0;
        if (f2 & CPT_LETTER)
            want = CPT_LETTER;
        else if (f2 & CPT_NUMBER)
            want = CPT_NUMBER;
        if (want) {
            pos += c == ' ';
            while (cls_at(p, pos) & want)
                pos++;
            if (emit_word(p, pos) != 0)
                return -1;
            continue;
        }
        if ((f2 & CPT_IN) && !(f2 & (CPT_SPACE | CPT_LETTER | CPT_NUMBER))) {
            pos += c == ' ';
            for (unsigned g = cls_at(p, pos); (g & CPT_IN) && !(g & (CPT_SPACE | CPT_LETTER | CPT_NUMBER));
                 g = cls_at(p, pos))
                pos++;
            if (emit_word(p, pos) != 0)
                return -1;
            continue;
        }
        size_t nws = 0;
        while (cls_at(p, pos + nws) & CPT_SPACE)
            nws++;
        if (nws > 1 && pos + nws < p->end)
            pos += nws - 1;     /* \s+(?!\S): leave the last space to the next word */
        else if (nws > 0)
            pos += nws;         /* \s+ */
        else
            pos++;              /* no branch matched: one code point */
        if (emit_word(p, pos) != 0)
            return -1;
    }
    return 0;
}

static uint32_t ascii_lower(uint32_t c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *          ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * (case folding only matters for ASCII here: no other code point lowercases
 * to one of "stmdrvel"). */
static int split_llama3(struct piece_ctx *p)
{
    size_t pos = p->beg;
    while (pos < p->end) {
        uint32_t c = p->cp[pos];
        unsigned f = cls_at(p, pos);
        if (c == '\'' && pos + 1 < p->end) {
            uint32_t c1 = ascii_lower(p->cp[pos + 1]);
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                pos += 2;
                if (emit_word(p, pos) != 0)
                    return -1;
                continue;
            }
            if (pos + 2 < p->end) {
                uint32_t c2 = ascii_lower(p->cp[pos + 2]);
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                    pos += 3;
                    if (emit_word(p, pos) != 0)
                        return -1;
                    continue;
                }
            }
        }
        /* [^\r\n\p{L}\p{N}]?\p{L}+ */
        if (!(c == '\r' || c == '\n' || (f & CPT_NUMBER)) &&
            ((f & CPT_LETTER) || (cls_at(p, pos + 1) & CPT_LETTER))) {
            pos++;
            while (cls_at(p, pos) & CPT_LETTER)
                pos++;
            if (emit_word(p, pos) != 0)
                return -1;
            continue;
        }
        /* \p{N}{1,3} */
        if (f & CPT_NUMBER) {
            size_t ini = pos;
            while (cls_at(p, pos) & CPT_NUMBER) {
                if (++pos - ini >= 3) {
                    if (emit_word(p, pos) != 0)
                        return -1;
                    ini = pos;
                }
            }
            if (emit_word(p, pos) != 0)
                return -1;
            continue;
        }
        /*  ?[^\s\p{L}\p{N}]+[\r\n]*  (llama.cpp tests f, the class at pos,
         * for "in range", not f2: a lone trailing ' ' lands here) */
        unsigned f2 = c == ' ' ? cls_at(p, pos + 1) : f;
        if (!(f2 & (CPT_SPACE | CPT_LETTER | CPT_NUMBER)) && (f & CPT_IN)) {
            pos += c == ' ';
            for (unsigned g = cls_at(p, pos); (g & CPT_IN) && !(g & (CPT_SPACE | CPT_LETTER | CPT_NUMBER));
                 g = cls_at(p, pos))
                pos++;
            for (uint32_t c2 = cp_at(p, pos); c2 == '\r' || c2 == '\n'; c2 = cp_at(p, pos))
                pos++;
            if (emit_word(p, pos) != 0)
                return -1;
            continue;
        }
        size_t nws = 0, last_rn = 0;
        while (cls_at(p, pos + nws) & CPT_SPACE) {
            uint32_t c2 = p->cp[pos + nws];
            if (c2 == '\r' || c2 == '\n')
                last_rn = pos + nws + 1;
            nws++;
        }
        if (last_rn > 0)
            pos = last_rn;          /* \s*[\r\n]+ */
        else if (nws > 1 && pos + nws < p->end)
            pos += nws - 1;         /* \s+(?!\S) */
        else if (nws > 0)
            pos += nws;             /* \s+ */
        else
            pos++;
        if (emit_word(p, pos) != 0)
            return -1;
    }
    return 0;
}

/* Alternate maximal runs of code points in / not in a class (what a regex
 * "[class]+" does to a piece: matches and the gaps between them). */
static int split_runs(struct piece_ctx *p, bool (*in_class)(uint32_t))
{
    size_t pos = p->beg;
    while (pos < p->end) {
        bool in = in_class(p->cp[pos]);
        while (pos < p->end && in_class(p->cp[pos]) == in)
            pos++;
        if (emit_word(p, pos) != 0)
            return -1;
    }
    return 0;
}

static bool cpt_is_number(uint32_t c)
{
    return (cpt_class(c) & CPT_NUMBER) != 0;
}

/* "[0-9][0-9][0-9]": leftmost runs of three ASCII digits, and the gaps. */
static int split_digit_triples(struct piece_ctx *p)
{
    size_t pos = p->beg;
    while (pos < p->end) {
        if (pos + 3 <= p->end && p->cp[pos] - '0' < 10 && p->cp[pos + 1] - '0' < 10 &&
            p->cp[pos + 2] - '0' < 10) {
            if (emit_word(p, pos) != 0 || emit_word(p, pos + 3) != 0)
                return -1;
            pos += 3;
        } else {
            pos++;
        }
    }
    return emit_word(p, p->end);
}

enum split_kind { SPLIT_GPT2, SPLIT_LLAMA3, SPLIT_PUNCT, SPLIT_NUMBER, SPLIT_DIGITS3 };

/* Run one stage over every piece in lens[*cur]; the result becomes current. */
static int split_stage(const uint32_t *cp, struct tok_work *w, int *cur, enum split_kind kind)
{
    int from = *cur, to = 1 - from;
    struct piece_ctx p = {cp, 0, 0, 0, w, to};
    w->n_lens[to] = 0;
    for (size_t i = 0; i < w->n_lens[from]; i++) {
        p.beg = p.prev = p.end;
        p.end = p.beg + w->lens[from][i];
        int rc;
        switch (kind) {
        case SPLIT_GPT2: rc = split_gpt2(&p); break;
        case SPLIT_LLAMA3: rc = split_llama3(&p); break;
        case SPLIT_PUNCT: rc = split_runs(&p, cpt_is_default_punct); break;
        case SPLIT_NUMBER: rc = split_runs(&p, cpt_is_number); break;
        default: rc = split_digit_triples(&p); break;
        }
        if (rc != 0)
            return -1;
    }
    *cur = to;
    return 0;
}

/* Encode one word (code points) as GPT-2 characters into w->buf. */
static int bpe_word_text(const uint32_t *cp, size_t n, struct tok_work *w)
{
    w->n_buf = 0;
    for (size_t i = 0; i < n; i++) {
        char u[4];
        size_t k = utf8_encode(cp[i], u);
        for (size_t j = 0; j < k; j++) {
            char m[4];
            size_t mk = utf8_encode(gpt2_byte_to_cpt((unsigned char)u[j]), m);
            if (push_bytes(w, m, mk) != 0)
                return -1;
        }
    }
    return 0;
}

/* One text fragment: decode, pre-tokenize, then per word map bytes, merge, emit. */
static int bpe_fragment(const struct tokenizer *t, const char *text, size_t len, struct tok_work *w)
{
    if (grow((void **)&w->cpts, &w->cap_cpts, len, sizeof *w->cpts) != 0)
        return -1;
    size_t n = 0;
    for (size_t off = 0; off < len;)
        w->cpts[n++] = utf8_decode((const unsigned char *)text, len, &off);

    int cur = 0;
    w->n_lens[0] = 0;
    if (push_len(w, 0, n) != 0)
        return -1;
    int rc = 0;
    switch (t->pre) {
    case TOKENIZER_PRE_GPT2:
        rc = split_stage(w->cpts, w, &cur, SPLIT_GPT2);
        break;
    case TOKENIZER_PRE_LLAMA3:
        rc = split_stage(w->cpts, w, &cur, SPLIT_LLAMA3);
        break;
    default:
        rc = split_stage(w->cpts, w, &cur, SPLIT_PUNCT);
        rc = rc ? rc : split_stage(w->cpts, w, &cur, SPLIT_GPT2);
        rc = rc ? rc : split_stage(w->cpts, w, &cur, SPLIT_NUMBER);
        rc = rc ? rc : split_stage(w->cpts, w, &cur, SPLIT_DIGITS3);
        break;
    }
    if (rc != 0)
        return -1;

    size_t start = 0;
    for (size_t i = 0; i < w->n_lens[cur]; i++) {
        size_t wn = w->lens[cur][i];
        if (bpe_word_text(w->cpts + start, wn, w) != 0)
            return -1;
        start += wn;
        if (t->ignore_merges) {
            int32_t id = tokenizer_find(t, w->buf, w->n_buf);
            if (id >= 0) {
                if (push_id(w, id) != 0)
                    return -1;
                continue;
            }
        }
        /* n_buf <= 6 * TOK_MAX_TEXT (an invalid byte -> U+FFFD -> 3 bytes
         * -> 6 bytes of GPT-2 characters) < 2^32. */
        if (merge_symbols(t, w->buf, (uint32_t)w->n_buf, w) != 0 || emit_symbols(t, w->buf, w) != 0)
            return -1;
    }
    return 0;
}

/* ---- encode ---- */

/* First occurrence of needle (m >= 1 bytes) in hay[0, n), or SIZE_MAX. */
static size_t find_bytes(const char *hay, size_t n, const char *needle, size_t m)
{
    size_t i = 0;
    while (m <= n && i <= n - m) {
        const char *c = memchr(hay + i, needle[0], n - m - i + 1);
        if (!c)
            return SIZE_MAX;
        i = (size_t)(c - hay);
        if (!memcmp(hay + i, needle, m))
            return i;
        i++;
    }
    return SIZE_MAX;
}

/*
 * Cut text around user-defined tokens, longest first: each special token in
 * turn splits every text fragment left of it at all its (leftmost,
 * non-overlapping) occurrences. Leaves the fragments in w->frags[*cur].
 */
static int partition(const struct tokenizer *t, const char *text, size_t len, struct tok_work *w, int *cur)
{
    *cur = 0;
    w->n_frags[0] = 0;
    if (!len)
        return 0;
    if (push_frag(w, 0, 0, len, -1) != 0)
        return -1;
    for (int64_t k = 0; k < t->n_specials; k++) {
        const struct tokenizer_token *sp = &t->tokens[t->specials[k]];
        int from = *cur, to = 1 - from;
        w->n_frags[to] = 0;
        for (size_t i = 0; i < w->n_frags[from]; i++) {
            struct fragment f = w->frags[from][i];
            if (f.id >= 0) {
                if (push_frag(w, to, f.off, f.len, f.id) != 0)
                    return -1;
                continue;
            }
            size_t off = f.off, end = f.off + f.len;
            for (;;) {
                size_t at = find_bytes(text + off, end - off, sp->text, sp->len);
                if (at == SIZE_MAX)
                    break;
                if (at > 0 && push_frag(w, to, off, at, -1) != 0)
                    return -1;
                if (push_frag(w, to, 0, 0, t->specials[k]) != 0)
                    return -1;
                off += at + sp->len;
            }
            if (off < end && push_frag(w, to, off, end - off, -1) != 0)
                return -1;
        }
        *cur = to;
    }
    return 0;
}

int tokenizer_encode(const struct tokenizer *t, const char *text, size_t len, bool add_bos,
                     int32_t **ids, size_t *n_ids, struct plumb_err *err)
{
    struct tok_work w = {0};
    int cur;
    *ids = NULL;
    *n_ids = 0;
    if (len > TOK_MAX_TEXT)
        return err_set(err, "tokenizer: text of %zu bytes is longer than the %lu bytes accepted", len,
                       (unsigned long)TOK_MAX_TEXT);
    if (add_bos && t->bos < 0)
        return err_set(err, "tokenizer: BOS asked for, but the vocabulary has no BOS token");
    if (partition(t, text, len, &w, &cur) != 0 || grow((void **)&w.ids, &w.cap_ids, 1, sizeof *w.ids) != 0 ||
        (add_bos && push_id(&w, t->bos) != 0))
        goto oom;

    bool prev_special = true; /* SPM: the text's start counts as after a special token */
    for (size_t i = 0; i < w.n_frags[cur]; i++) {
        const struct fragment *f = &w.frags[cur][i];
        int rc;
        if (f->id >= 0) {
            rc = push_id(&w, f->id);
            prev_special = true;
        } else if (t->model == TOKENIZER_MODEL_SPM) {
            rc = spm_fragment(t, text + f->off, f->len, t->add_space_prefix && prev_special, &w);
            prev_special = false;
        } else {
            rc = bpe_fragment(t, text + f->off, f->len, &w);
        }
        if (rc != 0)
            goto oom;
    }
    *ids = w.ids;
    *n_ids = w.n_ids;
    w.ids = NULL;
    work_free(&w);
    return 0;
oom:
    work_free(&w);
    return err_set(err, "tokenizer: out of memory encoding %zu bytes", len);
}

/* ---- decode ---- */

/* Append n bytes to buf (cap bytes of room) at *at, counting what does not fit. */
static void put(char *buf, size_t cap, size_t *at, const char *s, size_t n)
{
    if (*at < cap)
        memcpy(buf + *at, s, n < cap - *at ? n : cap - *at);
    *at += n;
}

/* The byte of a byte token "<0xNN>": up to two hex digits from index 3, as
 * llama.cpp's strtol(text.substr(3, 2), 16) reads them (0 when none). */
static unsigned char byte_token_value(const struct tokenizer_token *tok)
{
    unsigned v = 0;
    for (uint32_t i = 3; i < 5 && i < tok->len; i++) {
        char c = tok->text[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            break;
        v = v * 16 + d;
    }
    return (unsigned char)v;
}

size_t tokenizer_piece(const struct tokenizer *t, int32_t id, char *buf, size_t cap)
{
    if (id < 0 || id >= t->n_vocab)
        return 0;
    const struct tokenizer_token *tok = &t->tokens[id];
    size_t at = 0;
    switch (tok->type) {
    case TOKENIZER_TYPE_UNKNOWN:
    case TOKENIZER_TYPE_CONTROL:
    case TOKENIZER_TYPE_USER_DEFINED:
        put(buf, cap, &at, tok->text, tok->len);
        break;
    case TOKENIZER_TYPE_BYTE: {
        char b = (char)byte_token_value(tok);
        put(buf, cap, &at, &b, 1);
        break;
    }
    case TOKENIZER_TYPE_NORMAL:
        if (t->model == TOKENIZER_MODEL_SPM) {
            size_t start = 0;
            for (size_t i = 0; i < tok->len; i++) {
                if (i + 3 <= tok->len && !memcmp(tok->text + i, TOK_SPACE_ESC, 3)) {
                    put(buf, cap, &at, tok->text + start, i - start);
                    put(buf, cap, &at, " ", 1);
                    i += 2;
                    start = i + 1;
                }
            }
            put(buf, cap, &at, tok->text + start, tok->len - start);
        } else {
            /* GPT-2 characters back to bytes; a character that stands for
             * no byte is kept as UTF-8 (llama.cpp writes "[UNK_BYTE_...]"). */
            for (size_t off = 0; off < tok->len;) {
                uint32_t cp = utf8_decode((const unsigned char *)tok->text, tok->len, &off);
                int b = gpt2_cpt_to_byte(cp);
                if (b >= 0) {
                    char c = (char)b;
                    put(buf, cap, &at, &c, 1);
                } else {
                    char u[4];
                    put(buf, cap, &at, u, utf8_encode(cp, u));
                }
            }
        }
        break;
    default: /* unused, undefined: nothing, as in llama.cpp */
        break;
    }
    return at;
}

int tokenizer_decode(const struct tokenizer *t, const int32_t *ids, size_t n, bool strip_leading_space,
                     char **text, size_t *len, struct plumb_err *err)
{
    char *buf = NULL;
    size_t cap = 0, used = 0;
    *text = NULL;
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab) {
            free(buf);
            return err_set(err, "tokenizer: token %zu: id %ld is out of range (the vocabulary has %lld tokens)",
                           i, (long)ids[i], (long long)t->n_vocab);
        }
        if (t->tokens[ids[i]].type == TOKENIZER_TYPE_CONTROL)
            continue;
        size_t k = tokenizer_piece(t, ids[i], buf ? buf + used : NULL, cap - used);
        if (k > cap - used || !buf) {
            if (grow((void **)&buf, &cap, used + k + 1, 1) != 0)
                goto oom;
            tokenizer_piece(t, ids[i], buf + used, cap - used);
        }
        used += k;
    }
    if (grow((void **)&buf, &cap, used + 1, 1) != 0)
        goto oom;
    if (strip_leading_space && used > 0 && buf[0] == ' ') {
        memmove(buf, buf + 1, used - 1);
        used--;
    }
    buf[used] = '\0';
    *text = buf;
    *len = used;
    return 0;
oom:
    free(buf);
    return err_set(err, "tokenizer: out of memory decoding %zu tokens", n);
}
