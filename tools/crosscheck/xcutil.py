"""xcutil.py: what the cross-check scripts share: running plumb, reading
dumps, and the logit metrics.

The metrics on logits, over all positions (a = candidate, b = reference,
each [n_pos, n_vocab]; the reference is plumb's scalar engine, the
specification):
  max_rel   max |a - b| / max |b|: the largest error relative to the
            largest logit (an error measure that a logit near 0 cannot blow up)
  cosine    a.b / (|a| |b|) over all elements, in double
  kld       per position KL(softmax(b) || softmax(a)), in double through
            log-softmax, as llama-perplexity --kl-divergence computes it;
            its mean and max over positions
  top1      share of positions where argmax a == argmax b
  top1_decided  the same, only over positions whose reference top-1 leads
            the runner-up by more than 5% of max |b| (where a disagreement
            cannot be a near tie flipped by rounding); 1.0 when there is none
"""

import gzip
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np

import gguf


class XcError(Exception):
    pass


def run(cmd, what):
    """Run cmd; return its stdout. Raise XcError with its stderr on a
    non-zero exit."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       errors="replace")
    if p.returncode != 0:
        raise XcError("%s: exit %d: %s" % (what, p.returncode, (p.stderr or p.stdout).strip()))
    return p.stdout


def plumb_inspect(plumb, path):
    """`plumb inspect --json` of path, parsed."""
    return json.loads(run([plumb, "inspect", "--json", path], "plumb inspect " + path))


def read_gguf_gz(path):
    """A GGUFReader over a gzip-compressed GGUF (a dump). The file is
    inflated to a temporary file that is removed when the reader is dropped
    (GGUFReader maps a path); the tensor arrays are copied first."""
    fd, tmp = tempfile.mkstemp(suffix=".gguf")
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(path, "rb") as src:
            shutil.copyfileobj(src, out)
        reader = gguf.GGUFReader(tmp)
        taps = {}
        for t in reader.tensors:
            width, n_pos = int(t.shape[0]), int(t.shape[1])
            taps[t.name] = np.array(t.data, dtype=np.float32).reshape(n_pos, width)
        meta = {}
        for f in reader.fields.values():
            if f.name.startswith("GGUF."):
                continue
            meta[f.name] = field_value(f)
        del reader
        return taps, meta
    finally:
        os.unlink(tmp)


def field_value(f):
    """A GGUFReader field's value in Python terms (str, int, float, bool, or
    a list of those)."""
    vt = gguf.GGUFValueType
    t0 = f.types[0]
    if t0 == vt.ARRAY:
        if len(f.types) > 1 and f.types[1] == vt.STRING:
            return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
        if len(f.types) > 1 and f.types[1] == vt.ARRAY:
            raise XcError("%s: nested arrays are not compared" % f.name)
        return [f.parts[i].tolist()[0] for i in f.data]
    if t0 == vt.STRING:
        return bytes(f.parts[f.data[0]]).decode("utf-8")
    v = f.parts[f.data[0]].tolist()[0]
    return bool(v) if t0 == vt.BOOL else v


def plumb_dump(plumb, model, tokens, out):
    """`plumb dump` of tokens; returns (taps in file order, metadata)."""
    run([plumb, "dump", "-m", model, "--tokens", ",".join(map(str, tokens)), "-o", out],
        "plumb dump " + model)
    return read_gguf_gz(out)


def log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def logit_metrics(a, b):
    """Metrics of candidate logits a against reference logits b, both
    [n_pos, n_vocab] (see the module comment)."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if a.shape != b.shape:
        raise XcError("logits shapes differ: %s against %s" % (a.shape, b.shape))
    if not np.isfinite(a).all() or not np.isfinite(b).all():
        return {"max_rel": float("inf"), "cosine": float("nan"), "kld_mean": float("inf"),
                "kld_max": float("inf"), "top1": 0.0, "top1_decided": 0.0, "n_decided": 0,
                "n_pos": a.shape[0]}
    da, db = a.astype(np.float64), b.astype(np.float64)
    scale = np.abs(db).max()
    max_rel = np.abs(da - db).max() / scale if scale > 0 else float(np.abs(da - db).max())
    na, nb = np.sqrt((da * da).sum()), np.sqrt((db * db).sum())
    cosine = (da * db).sum() / (na * nb) if na > 0 and nb > 0 else 1.0
    lp, lq = log_softmax(db), log_softmax(da)
    kld = np.maximum((np.exp(lp) * (lp - lq)).sum(axis=-1), 0.0)
    ta, tb = a.argmax(axis=-1), b.argmax(axis=-1)
    agree = ta == tb
    srt = np.sort(db, axis=-1)
    lead = srt[:, -1] - srt[:, -2] if db.shape[1] > 1 else np.full(db.shape[0], np.inf)
    decided = lead > 0.05 * scale
    return {
        "max_rel": float(max_rel),
        "cosine": float(cosine),
        "kld_mean": float(kld.mean()),
        "kld_max": float(kld.max()),
        "top1": float(agree.mean()),
        "top1_decided": float(agree[decided].mean()) if decided.any() else 1.0,
        "n_decided": int(decided.sum()),
        "n_pos": int(a.shape[0]),
    }


def tap_metrics(a, b):
    """max |a-b| / max |b| and cosine of one tap (a candidate, b reference)."""
    da, db = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    scale = np.abs(db).max()
    diff = np.abs(da - db).max() if da.size else 0.0
    na, nb = np.sqrt((da * da).sum()), np.sqrt((db * db).sum())
    return {"max_abs": float(diff), "max_rel": float(diff / scale) if scale > 0 else float(diff),
            "cosine": float((da * db).sum() / (na * nb)) if na > 0 and nb > 0 else 1.0}


def tokens_for(n_vocab, n_ctx, n=None):
    """A deterministic token list for a model: BOS (1), then ids spread over
    the whole vocabulary (its last id included), filling most of the context
    (at most 24 tokens), so every position's attention sees a real history."""
    n = n or min(24, n_ctx)
    ids = [1]
    step = 7919  # a prime: consecutive ids land far apart
    for i in range(1, n - 1):
        ids.append((i * step) % n_vocab)
    ids.append(n_vocab - 1)
    return ids[:n]
