#!/usr/bin/env python3
"""write_models.py: llama models plumb did not write, and whether plumb
takes them.

gguf-py's GGUFWriter (llama.cpp's own Python writer, the one its converters
use) writes small llama models from seeded numpy weights: the tensor layout,
metadata and alignment are gguf-py's choices, not plumb's. Weights are
quantized with gguf-py's quantizers where it has them (gguf.quants.quantize:
bf16, q4_0, q4_1, q5_0, q5_1, q8_0; f16 is numpy's own conversion); the
K-quants, which gguf-py can only dequantize, are quantized by ggml's C
reference quantizers (ggml_quantize_chunk from llama.cpp's libggml-base), so
no byte of these files comes from plumb.

The models (attention layout, weight types):
  gp-mha-f32      4 heads, 4 kv (MHA)          f32
  gp-gqa-f16      8 heads, 2 kv (GQA)          f16 matrices
  gp-mqa-bf16     4 heads, 1 kv (MQA), tied    bf16 matrices
  gp-tied-q8_0    4 heads, 2 kv, tied output   q8_0 matrices
  gp-mixed        4 heads, 2 kv                q8_0 embedding, q4_0/q5_0/q4_1/
                                               q5_1 projections, f16 output
  gp-kquants      4 heads, 2 kv                q4_k attention, q5_k gate/up,
                                               q6_k down and output, q8_0
                                               embedding (ggml's quantizers)
Every matrix, the token embedding included, is drawn as N(0, 1/n) for a
row length n, so activations and logits (tied ones too) are O(1) and softmax
is not one-hot: KL divergence means something. Norm weights are
1 + N(0, 1/8^2).

Then each model must pass `plumb inspect`, `plumb run` and `plumb dump`
(exit 0). Usage: write_models.py --plumb build/plumb -o DIR
"""

import argparse
import os
import sys

import numpy as np

import gguf
from gguf import GGMLQuantizationType as Q
from gguf.quants import quantize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xcutil  # noqa: E402

# name, n_heads, n_kv_heads, dim, ffn_dim, layers, tied, rope base, eps, types by role
MODELS = [
    ("gp-mha-f32", 4, 4, 64, 128, 2, False, 10000.0, 1e-5, {"*": Q.F32}),
    ("gp-gqa-f16", 8, 2, 128, 192, 2, False, 10000.0, 1e-5, {"*": Q.F16}),
    ("gp-mqa-bf16", 4, 1, 96, 160, 3, True, 500000.0, 1e-6, {"*": Q.BF16}),
    ("gp-tied-q8_0", 4, 2, 128, 256, 2, True, 10000.0, 1e-5, {"*": Q.Q8_0}),
    ("gp-mixed", 4, 2, 128, 256, 2, False, 10000.0, 1e-5,
     {"token_embd": Q.Q8_0, "attn_q": Q.Q4_0, "attn_k": Q.Q4_0, "attn_v": Q.Q5_0,
      "attn_output": Q.Q5_0, "ffn_gate": Q.Q4_1, "ffn_up": Q.Q4_1, "ffn_down": Q.Q5_1,
      "output": Q.F16}),
    ("gp-kquants", 4, 2, 256, 512, 2, False, 10000.0, 1e-5,
     {"token_embd": Q.Q8_0, "attn_q": Q.Q4_K, "attn_k": Q.Q4_K, "attn_v": Q.Q4_K,
      "attn_output": Q.Q4_K, "ffn_gate": Q.Q5_K, "ffn_up": Q.Q5_K, "ffn_down": Q.Q6_K,
      "output": Q.Q6_K}),
]
VOCAB_PIECES = ["\u2581the", "\u2581a", "\u2581of", "\u2581and", "\u2581to", "\u2581in", "er",
                "on", "an", "re", "\u2581r", "iv", "\u2581T", "he", "\u2581s", "ed", "ing",
                "\u2581w", "at", "en", "\u2581river", "\u2581The", "or", "es", "is", "\u2581c",
                "it", "al", "ar", "\u2581b", "\u2581f", "ou", "\u2581h", "\u2581p", "le", "st",
                "\u2581m", "\u2581d", "\u2581o", "\u2581l", "\u2581"]
K_QUANTS = {Q.Q4_K, Q.Q5_K, Q.Q6_K}


def vocabulary():
    """A SentencePiece-style vocabulary: <unk> <s> </s>, 256 byte tokens,
    then pieces by descending score (single letters come from bytes)."""
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)] + VOCAB_PIECES
    types = [2, 3, 3] + [6] * 256 + [1] * len(VOCAB_PIECES)
    scores = [0.0, 0.0, 0.0] + [0.0] * 256 + [-float(i + 1) for i in range(len(VOCAB_PIECES))]
    return tokens, scores, types


def encode(name, w, types):
    """(data, raw_dtype) for a float32 matrix w [rows, n] of tensor `name`."""
    role = name.split(".")[-2] if name.startswith("blk.") else name.split(".")[0]
    qt = types.get(role, types.get("*", Q.F32))
    if w.ndim == 1 or qt == Q.F32:
        return w.astype(np.float32), None
    if qt in K_QUANTS:
        import llamacpp  # ggml's quantizers: gguf-py has none for the K formats
        return llamacpp.ggml_quantize(int(qt), w), qt
    data = quantize(w, qt)  # gguf-py: f16 (numpy), bf16, q4_0, q4_1, q5_0, q5_1, q8_0
    return data, (None if qt == Q.F16 else qt)


def write_model(path, spec, seed):
    name, n_head, n_kv, dim, ffn, n_layer, tied, base, eps, types = spec
    rng = np.random.default_rng(seed)
    tokens, scores, ttypes = vocabulary()
    n_vocab = len(tokens)
    hd = dim // n_head

    def mat(rows, n):
        return (rng.standard_normal((rows, n)) / np.sqrt(n)).astype(np.float32)

    def norm(n):
        return (1.0 + rng.standard_normal(n) / 8.0).astype(np.float32)

    w = gguf.GGUFWriter(path, "llama")
    w.add_name(name)
    w.add_context_length(64)
    w.add_embedding_length(dim)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(ffn)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_layer_norm_rms_eps(eps)
    w.add_rope_freq_base(base)
    w.add_rope_dimension_count(hd)
    w.add_vocab_size(n_vocab)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(ttypes)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    if any(t not in (Q.F32, Q.F16) for t in types.values()):
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    def add(tname, arr):
        data, raw = encode(tname, arr, types)
        if raw is None:
            w.add_tensor(tname, data)
        else:
            w.add_tensor(tname, data, raw_dtype=raw)

    add("token_embd.weight", mat(n_vocab, dim))  # N(0, 1/dim): tied logits O(1) too
    for layer in range(n_layer):
        p = "blk.%d." % layer
        add(p + "attn_norm.weight", norm(dim))
        add(p + "attn_q.weight", mat(n_head * hd, dim))
        add(p + "attn_k.weight", mat(n_kv * hd, dim))
        add(p + "attn_v.weight", mat(n_kv * hd, dim))
        add(p + "attn_output.weight", mat(dim, n_head * hd))
        add(p + "ffn_norm.weight", norm(dim))
        add(p + "ffn_gate.weight", mat(ffn, dim))
        add(p + "ffn_up.weight", mat(ffn, dim))
        add(p + "ffn_down.weight", mat(dim, ffn))
    add("output_norm.weight", norm(dim))
    if not tied:
        add("output.weight", mat(n_vocab, dim))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def accept(plumb, path, workdir, n_vocab):
    """plumb inspect, run and dump on path; raises XcError on a non-zero exit."""
    xcutil.run([plumb, "inspect", path], "plumb inspect " + path)
    xcutil.run([plumb, "run", "-m", path, "-p", "The river", "-n", "4", "--seed", "1"],
               "plumb run " + path)
    out = os.path.join(workdir, os.path.basename(path) + ".dump.gguf.gz")
    xcutil.run([plumb, "dump", "-m", path, "--tokens", "1,100,200,%d" % (n_vocab - 1), "-o", out],
               "plumb dump " + path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plumb", default="build/plumb")
    ap.add_argument("-o", "--out", required=True, help="folder for the models")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    failed = 0
    for i, spec in enumerate(MODELS):
        path = os.path.join(args.out, spec[0] + ".gguf")
        write_model(path, spec, seed=7000 + i)
        try:
            accept(args.plumb, path, args.out, len(vocabulary()[0]))
            print("%-40s written by gguf-py %s; plumb inspect, run, dump: ok"
                  % (path, gguf.__name__))
        except xcutil.XcError as e:
            print("%-40s FAIL: %s" % (path, e))
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
