#!/usr/bin/env python3
"""llama_logits.py: plumb's logits and activations against llama.cpp's.

For each model: the same token list goes through `plumb dump` (the scalar
reference engine, every tap) and through llama.cpp (tools/crosscheck/
llamacpp.py: f32 KV cache, no flash attention, logits at every position, 2
threads); all positions' logits are compared (plumb is the reference, see
xcutil.py for the metrics), and so is every intermediate llama.cpp exposes,
under plumb's tap names (llama.cpp's attn_out-N is plumb's kqv_out-N).

Targets, by the model's weight class (the 2-D weights' types):
  f32        max rel <= 1e-5, top-1 agrees at every position
  f16        max rel <= 5e-3, cosine >= 0.99999, mean KLD <= 1e-4
  bf16       max rel <= 3e-2, cosine >= 0.9999,  mean KLD <= 1e-3
  quantized  max rel <= 0.1,  cosine >= 0.998,   mean KLD <= 1e-2, max KLD <= 5e-2
and for all but f32, top-1 agrees wherever plumb's top logit leads the
runner-up by more than 5% of max |logit|. A model mixing float and
quantized weights is quantized; f16 with bf16 is bf16.

Why they differ at all: llama.cpp's CPU matmuls round the activation to the
weight's dot type before the dot product (fp16 for F16 weights, bf16 for
BF16, Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for the K-quants),
and its SIMD code sums in another order; plumb multiplies the dequantized
weights with float activations in index order.

Usage: llama_logits.py --plumb build/plumb [--json OUT.json] MODEL.gguf...
Exit 0 every target met, 1 one missed, 2 a model could not be run.
"""

import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llamacpp  # noqa: E402
import xcutil  # noqa: E402

FLOAT_TYPES = {"f32", "f16", "bf16"}

TARGETS = {
    "f32": {"max_rel": 1e-5, "top1": 1.0},
    "f16": {"max_rel": 5e-3, "cosine": 0.99999, "kld_mean": 1e-4, "top1_decided": 1.0},
    "bf16": {"max_rel": 3e-2, "cosine": 0.9999, "kld_mean": 1e-3, "top1_decided": 1.0},
    "quantized": {"max_rel": 0.1, "cosine": 0.998, "kld_mean": 1e-2, "kld_max": 5e-2,
                  "top1_decided": 1.0},
}
AT_LEAST = {"cosine", "top1", "top1_decided"}  # bounds from below; the rest from above


def weight_class(info):
    """(class, the 2-D weight types) from `plumb inspect --json`."""
    types = sorted({t["type"] for t in info["tensors"] if len(t["shape"]) >= 2})
    if any(t not in FLOAT_TYPES for t in types):
        return "quantized", types
    if "bf16" in types:
        return "bf16", types
    if "f16" in types:
        return "f16", types
    return "f32", types


def misses(cls, m):
    """The targets m misses, as 'metric value vs bound' strings."""
    out = []
    for key, bound in TARGETS[cls].items():
        v = m[key]
        ok = v >= bound if key in AT_LEAST else v <= bound
        if not ok:
            out.append("%s %.3g %s %.3g" % (key, v, "<" if key in AT_LEAST else ">", bound))
    return out


def check_model(plumb, path, n_threads, workdir):
    info = xcutil.plumb_inspect(plumb, path)
    cls, types = weight_class(info)
    with llamacpp.LlamaCpp(path, n_threads=n_threads) as lm:
        tokens = xcutil.tokens_for(lm.n_vocab, lm.n_ctx_train)
        logits, _ = lm.eval(tokens)
        tap_logits, taps = lm.eval(tokens, taps=True)
    dump = os.path.join(workdir, os.path.basename(path) + ".gguf.gz")
    ptaps, _ = xcutil.plumb_dump(plumb, path, tokens, dump)
    m = xcutil.logit_metrics(logits, ptaps["result_output"])
    layers = []
    for name, ref in ptaps.items():
        if name not in taps:
            layers.append({"tap": name, "missing": True})
            continue
        tm = xcutil.tap_metrics(taps[name], ref)
        tm["tap"] = name
        layers.append(tm)
    return {
        "model": path,
        "class": cls,
        "types": types,
        "tokens": tokens,
        "metrics": m,
        "misses": misses(cls, m),
        "taps": layers,
        "callback_changes_logits": bool((tap_logits != logits).any()),
    }


def fmt_row(r):
    m = r["metrics"]
    top1 = "%d/%d" % (round(m["top1"] * m["n_pos"]), m["n_pos"])
    return ("%-24s %-20s %10.3g %12.9f %10.3g %10.3g %7s %s"
            % (os.path.basename(r["model"]).replace(".gguf", ""), ",".join(r["types"]),
               m["max_rel"], m["cosine"], m["kld_mean"], m["kld_max"], top1,
               "ok" if not r["misses"] else "MISS: " + "; ".join(r["misses"])))


HEADER = ("%-24s %-20s %10s %12s %10s %10s %7s %s"
          % ("model", "types", "max rel", "cosine", "mean KLD", "max KLD", "top-1", "targets"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plumb", default="build/plumb")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args(argv)
    print("%s; %s" % (llamacpp.version(), llamacpp.system_info()))
    print(HEADER)
    results, broken = [], False
    with tempfile.TemporaryDirectory() as work:
        for path in args.models:
            try:
                r = check_model(args.plumb, path, args.threads, work)
            except (xcutil.XcError, llamacpp.LlamaCppError, OSError) as e:
                print("%-24s ERROR: %s" % (os.path.basename(path), e))
                results.append({"model": path, "error": str(e)})
                broken = True
                continue
            print(fmt_row(r))
            results.append(r)
    if args.json:
        with open(args.json, "w") as fp:
            json.dump({"llama_cpp": llamacpp.version(), "system_info": llamacpp.system_info(),
                       "results": results}, fp, indent=1)
    if broken:
        return 2
    return 1 if any(r.get("misses") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
