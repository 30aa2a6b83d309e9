#!/usr/bin/env python3
"""llamacpp_dump.py: a llama.cpp run written as a plumb dump, for `plumb compare`.

    llamacpp_dump.py -m MODEL.gguf --tokens 1,2,3 -o OUT.gguf.gz [--threads N]

Runs MODEL through the llama.cpp that llama-cpp-python has loaded (yours, if
your llama-cpp-python is built from your llama.cpp tree) with the settings
of tools/crosscheck/llamacpp.py (f32 KV cache, no flash attention, one batch,
logits at every position), captures the intermediates through llama.cpp's
eval callback, and writes them exactly as `plumb dump` writes its own:
a gzip-compressed GGUF v3 file, one F32 tensor per tap with ne = [width,
positions], in plumb's execution order, under plumb's tap names (llama.cpp's
attn_out-N, the attention output after the output projection, is written as
plumb's kqv_out-N), with provenance under plumb.*: plumb.kernels is
"llama.cpp <commit> (...)". Then, for example:

    plumb dump -m MODEL.gguf --tokens 1,2,3 -o ref.gguf.gz
    plumb compare ref.gguf.gz OUT.gguf.gz --tolerances fixtures/policies/quantized.yaml

shows, tap by tap, where llama.cpp's numbers leave plumb's reference.
Needs numpy, gguf and llama-cpp-python (make crosscheck builds a venv with
them under build/crosscheck/venv). Exit 0 written, 2 bad input or a failure.
"""

import argparse
import datetime
import gzip
import hashlib
import os
import platform
import shutil
import sys
import tempfile

import numpy as np

import gguf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llamacpp  # noqa: E402

WRITER = "llamacpp_dump.py (plumb tools/crosscheck)"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fp:
        for chunk in iter(lambda: fp.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_dump(out, model_path, tokens, taps, n_layers, n_threads):
    """Write taps (plumb tap name -> float32 [n_pos, width]) as a plumb dump
    at out (gzip, via a temporary file and rename). Taps are written in
    plumb's execution order; names plumb does not know are left out."""
    order = [n for n in llamacpp.plumb_tap_order(n_layers) if n in taps]
    folder = os.path.dirname(os.path.abspath(out))
    fd, tmp_gguf = tempfile.mkstemp(suffix=".gguf", dir=folder)
    os.close(fd)
    tmp_gz = out + ".tmp.%d" % os.getpid()
    try:
        w = gguf.GGUFWriter(tmp_gguf, "plumb-dump")
        w.add_string("plumb.version", WRITER)
        w.add_string("plumb.model.file", os.path.basename(model_path))
        w.add_string("plumb.model.sha256", sha256_file(model_path))
        w.add_key_value("plumb.tokens", [int(t) for t in tokens], gguf.GGUFValueType.ARRAY,
                        sub_type=gguf.GGUFValueType.INT32)
        w.add_string("plumb.kernels", llamacpp.version())
        w.add_uint32("plumb.threads", n_threads)
        w.add_string("plumb.compiler", "as built by llama-cpp-python %s" % llamacpp.L.__version__)
        w.add_string("plumb.cflags", llamacpp.system_info())
        w.add_string("plumb.arch", platform.machine())
        w.add_string("plumb.date",
                     datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        for name in order:
            w.add_tensor(name, np.ascontiguousarray(taps[name], dtype=np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        with open(tmp_gguf, "rb") as src, gzip.open(tmp_gz, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst)
        os.replace(tmp_gz, out)
    finally:
        for p in (tmp_gguf, tmp_gz):
            if os.path.exists(p):
                os.unlink(p)
    return order


def parse_tokens(s):
    try:
        ids = [int(x) for x in s.split(",")]
    except ValueError:
        ids = None
    if not ids or any(i < 0 or i > 0x7FFFFFFF for i in ids):
        raise ValueError("--tokens wants comma-separated token ids, got '%s'" % s)
    return ids


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Run a model through llama.cpp and write every intermediate as a plumb dump.")
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("--tokens", required=True, help="token ids, comma-separated")
    ap.add_argument("-o", "--output", required=True, help="the dump to write (.gguf.gz)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    try:
        tokens = parse_tokens(args.tokens)
        with llamacpp.LlamaCpp(args.model, n_threads=args.threads) as lm:
            logits, taps = lm.eval(tokens, taps=True)
            n_layers = lm.n_layers
        taps["result_output"] = logits  # the same bits as the tapped one; see llama_logits.py
        order = write_dump(args.output, args.model, tokens, taps, n_layers, args.threads)
    except (llamacpp.LlamaCppError, ValueError, OSError) as e:
        print("llamacpp_dump: %s" % e, file=sys.stderr)
        return 2
    missing = [n for n in llamacpp.plumb_tap_order(n_layers) if n not in taps]
    print("%s: %d taps, %d positions (%s)%s" % (
        args.output, len(order), len(tokens), llamacpp.version(),
        "; not exposed by llama.cpp: " + ", ".join(missing) if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
