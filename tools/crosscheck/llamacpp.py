"""llamacpp.py: run a GGUF model through llama.cpp and capture what plumb taps.

The cross-check's one way into llama.cpp: llama-cpp-python's low-level
ctypes bindings (llama_model_load_from_file, llama_init_from_model,
llama_decode) and, for intermediate tensors, llama.cpp's eval callback
(llama_context_params.cb_eval) reading ggml tensors in place.

What is fixed here, so that llama.cpp computes what plumb computes:
- the KV cache is f32 (type_k = type_v = GGML_TYPE_F32): no fp16 rounding
  of keys and values;
- flash attention is off: the plain path (K.Q, softmax, V.softmax) that
  plumb's engine follows, and the one whose intermediates llama.cpp names;
- every position of the batch asks for logits; the whole token list is one
  batch (n_batch = n_ubatch = the token count) at positions 0..n-1 of
  sequence 0;
- n_threads as asked (2 by default); CPU only; no mmap (the models are tiny,
  and a file rewritten while mapped cannot change under a run).

Tap names. llama.cpp's graph names most intermediates as plumb's taps are
named (plumb took the names from it), with one exception: current llama.cpp
calls the attention output BEFORE the output projection "kqv_out-N" and the
output AFTER it "attn_out-N", while plumb's "kqv_out-N" is after the
projection. So llama.cpp's attn_out-N is reported as plumb's kqv_out-N, and
llama.cpp's own kqv_out-N (no plumb counterpart) is not captured.
llama.cpp's "inp_embd" is the tensor for embedding vectors a caller gives
instead of tokens; the token embedding lookup itself, plumb's inp_embd, is
an unnamed GET_ROWS of token_embd.weight, found by its op and source.
Where llama.cpp gives one name to several tensors (Qcur-N names the Q
projection, its 3-D view and the RoPE output), the last one computed is kept:
that is the one the name finally means (Q after RoPE, as in plumb).

This module never prints; callers decide what to show. llama.cpp's own log is
collected (LlamaCpp.log) and shown only when something fails.
"""

import ctypes
import os

import numpy as np

import llama_cpp as L
from llama_cpp import _ggml

GGML_TYPE_F32 = 0
GGML_TYPE_F16 = 1
GGML_MAX_DIMS = 4

# plumb's taps in plumb's execution order, per layer and around the layers.
LAYER_TAPS = ["attn_norm", "Qcur", "Kcur", "Vcur", "kqv_out", "ffn_inp", "ffn_norm",
              "ffn_gate", "ffn_up", "ffn_out", "l_out"]


def plumb_tap_order(n_layers):
    """Every tap plumb's engine writes, in its execution order."""
    names = ["inp_embd"]
    for layer in range(n_layers):
        names += ["%s-%d" % (t, layer) for t in LAYER_TAPS]
    return names + ["result_norm", "result_output"]


def llama_name_to_plumb(t):
    """plumb's tap name for the llama.cpp graph tensor t (a GgmlTensor), or
    None when plumb has no such tap (see the module comment: attn_out-N is
    kqv_out-N; inp_embd is the token embedding lookup)."""
    name = t.name.decode("utf-8", "replace")
    if _is_embedding_lookup(t):
        return "inp_embd"
    if name == "inp_embd":
        return None  # llama.cpp's input for given embedding vectors, unused here
    if name.startswith("attn_out-"):
        return "kqv_out-" + name[len("attn_out-"):]
    if name.startswith("kqv_out-"):
        return None  # llama.cpp's pre-projection attention output
    return name


def _is_embedding_lookup(t):
    """llama.cpp names "inp_embd" the tensor that takes embedding vectors
    given by the caller; the token embedding lookup (what plumb's inp_embd
    is) is an unnamed GET_ROWS of token_embd.weight."""
    if t.op < 0 or _ggml_lib.ggml_op_name(t.op) != b"GET_ROWS" or not t.src[0]:
        return False
    src = ctypes.cast(t.src[0], ctypes.POINTER(GgmlTensor)).contents
    return src.name == b"token_embd.weight"


class GgmlTensor(ctypes.Structure):
    """struct ggml_tensor from ggml.h (ggml 0.25.x). Checked against ggml's
    accessor functions at the first callback (see _check_layout)."""
    _fields_ = [
        ("type", ctypes.c_int),
        ("buffer", ctypes.c_void_p),
        ("ne", ctypes.c_int64 * GGML_MAX_DIMS),
        ("nb", ctypes.c_size_t * GGML_MAX_DIMS),
        ("op", ctypes.c_int),
        ("op_params", ctypes.c_int32 * 16),
        ("flags", ctypes.c_int32),
        ("src", ctypes.c_void_p * 10),
        ("view_src", ctypes.c_void_p),
        ("view_offs", ctypes.c_size_t),
        ("data", ctypes.c_void_p),
        ("name", ctypes.c_char * 64),
        ("extra", ctypes.c_void_p),
        ("padding", ctypes.c_char * 8),
    ]


_ggml_lib = _ggml.libggml
_ggml_lib.ggml_get_name.restype = ctypes.c_void_p
_ggml_lib.ggml_get_name.argtypes = [ctypes.c_void_p]
_ggml_lib.ggml_get_data.restype = ctypes.c_void_p
_ggml_lib.ggml_get_data.argtypes = [ctypes.c_void_p]
_ggml_lib.ggml_nelements.restype = ctypes.c_int64
_ggml_lib.ggml_nelements.argtypes = [ctypes.c_void_p]
_ggml_lib.ggml_op_name.restype = ctypes.c_char_p
_ggml_lib.ggml_op_name.argtypes = [ctypes.c_int]
_ggml_lib.ggml_version.restype = ctypes.c_char_p
_ggml_lib.ggml_commit.restype = ctypes.c_char_p


def version():
    """'llama.cpp <commit> (ggml <version>, llama-cpp-python <version>)'."""
    commit = _ggml_lib.ggml_commit().decode()
    return "llama.cpp %s (ggml %s, llama-cpp-python %s)" % (
        commit, _ggml_lib.ggml_version().decode(), L.__version__)


def system_info():
    """llama.cpp's one-line CPU feature summary (which SIMD paths it uses)."""
    return L.llama_print_system_info().decode().strip()


class LlamaCppError(Exception):
    pass


_backend_ready = False
_log_lines = []


@L.llama_log_callback
def _log_sink(level, text, user_data):
    _log_lines.append(text.decode("utf-8", "replace") if text else "")
    del _log_lines[:-200]  # keep the tail


def _init_backend():
    global _backend_ready
    if not _backend_ready:
        L.llama_log_set(_log_sink, ctypes.c_void_p(0))
        L.llama_backend_init()
        _backend_ready = True


def _tensor_rows(t, n_tok):
    """The tensor t (a GgmlTensor, f32 or f16, any strides) as a float32
    array of n_tok rows: llama.cpp's activations are [width..., n_tok]."""
    ne = [int(t.ne[i]) for i in range(GGML_MAX_DIMS)]
    nb = [int(t.nb[i]) for i in range(GGML_MAX_DIMS)]
    if t.type == GGML_TYPE_F32:
        dt = np.float32
    elif t.type == GGML_TYPE_F16:
        dt = np.float16
    else:
        raise LlamaCppError("tensor '%s' has ggml type %d; only f32/f16 taps are read"
                            % (t.name.decode(), t.type))
    size = np.dtype(dt).itemsize
    extent = sum((n - 1) * s for n, s in zip(ne, nb)) + size
    base = np.frombuffer((ctypes.c_char * extent).from_address(t.data), dtype=np.uint8)
    # a strided view over the bytes (any layout, views included), one
    # innermost axis per element's bytes, then copied and reinterpreted
    arr = np.lib.stride_tricks.as_strided(base, shape=ne[::-1] + [size], strides=nb[::-1] + [1])
    arr = np.ascontiguousarray(arr).view(dt).reshape(ne[::-1])
    total = arr.size
    if total % n_tok:
        raise LlamaCppError("tensor '%s' has %d elements, not a multiple of %d tokens"
                            % (t.name.decode(), total, n_tok))
    return arr.astype(np.float32).reshape(n_tok, total // n_tok)


class LlamaCpp:
    """One model loaded in llama.cpp. eval() runs a token list from position
    0 in a fresh context and returns logits (and taps when asked)."""

    def __init__(self, path, n_threads=2):
        _init_backend()
        self.path = path
        self.n_threads = n_threads
        mp = L.llama_model_default_params()
        mp.n_gpu_layers = 0
        mp.use_mmap = False
        _log_lines.clear()
        self.model = L.llama_model_load_from_file(os.fsencode(path), mp)
        if not self.model:
            raise LlamaCppError("%s: llama.cpp cannot load it: %s" % (path, self.log_tail()))
        vocab = L.llama_model_get_vocab(self.model)
        self.n_vocab = L.llama_vocab_n_tokens(vocab)
        self.n_layers = L.llama_model_n_layer(self.model)
        self.n_ctx_train = L.llama_model_n_ctx_train(self.model)

    def close(self):
        if self.model:
            L.llama_model_free(self.model)
            self.model = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def log_tail(n=8):
        return " | ".join(s.strip() for s in _log_lines[-n:] if s.strip())

    def eval(self, tokens, taps=False, raw_names=()):
        """Evaluate tokens (ids) at positions 0..n-1. Returns (logits, tapped):
        logits a float32 array [n, n_vocab]; tapped a dict plumb tap name ->
        float32 array [n, width] (empty unless taps). raw_names: llama.cpp
        tensor names to capture as well, under "llama:" + name (for digging
        into a difference: "kqv_out-0" is llama.cpp's pre-projection output)."""
        n = len(tokens)
        if n < 1:
            raise LlamaCppError("%s: empty token list" % self.path)
        if any(t < 0 or t >= self.n_vocab for t in tokens):
            raise LlamaCppError("%s: a token id is outside 0..%d" % (self.path, self.n_vocab - 1))
        cp = L.llama_context_default_params()
        cp.n_ctx = max(n, self.n_ctx_train)
        cp.n_batch = n
        cp.n_ubatch = n
        cp.n_seq_max = 1
        cp.n_threads = self.n_threads
        cp.n_threads_batch = self.n_threads
        cp.type_k = GGML_TYPE_F32
        cp.type_v = GGML_TYPE_F32
        cp.flash_attn_type = L.LLAMA_FLASH_ATTN_TYPE_DISABLED
        cp.embeddings = False
        cp.no_perf = True
        cp.offload_kqv = False
        tapped = {}
        state = {"checked": False, "error": None}

        def on_tensor(tptr, ask, user_data):
            try:
                t = ctypes.cast(tptr, ctypes.POINTER(GgmlTensor)).contents
                name = llama_name_to_plumb(t)
                raw = t.name.decode("utf-8", "replace")
                if raw in raw_set:
                    if ask:
                        return True
                    tapped["llama:" + raw] = _tensor_rows(t, n)
                    if name is None or name not in wanted:
                        return True
                if ask:
                    return name is not None and name in wanted
                if not state["checked"]:
                    _check_layout(tptr, t)
                    state["checked"] = True
                tapped[name] = _tensor_rows(t, n)
                return True
            except Exception as e:  # never let an exception unwind through C
                state["error"] = e
                return False

        wanted = set(plumb_tap_order(self.n_layers))
        raw_set = set(raw_names)
        cb = L.ggml_backend_sched_eval_callback(on_tensor)
        if taps or raw_set:
            cp.cb_eval = cb
            cp.cb_eval_user_data = None
        _log_lines.clear()
        ctx = L.llama_init_from_model(self.model, cp)
        if not ctx:
            raise LlamaCppError("%s: llama.cpp cannot create a context: %s"
                                % (self.path, self.log_tail()))
        batch = L.llama_batch_init(n, 0, 1)
        try:
            for i, tok in enumerate(tokens):
                batch.token[i] = tok
                batch.pos[i] = i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = 1
            batch.n_tokens = n
            rc = L.llama_decode(ctx, batch)
            if state["error"] is not None:
                raise LlamaCppError("%s: reading llama.cpp's tensors: %s"
                                    % (self.path, state["error"]))
            if rc != 0:
                raise LlamaCppError("%s: llama_decode returned %d: %s"
                                    % (self.path, rc, self.log_tail()))
            logits = np.empty((n, self.n_vocab), dtype=np.float32)
            for i in range(n):
                p = L.llama_get_logits_ith(ctx, i)
                logits[i] = np.ctypeslib.as_array(p, shape=(self.n_vocab,))
        finally:
            L.llama_batch_free(batch)
            L.llama_free(ctx)
        return logits, tapped


def _check_layout(tptr, t):
    """GgmlTensor must match this ggml's struct: compare fields with ggml's
    own accessors on a live tensor."""
    name_addr = ctypes.addressof(t) + GgmlTensor.name.offset
    ok = (_ggml_lib.ggml_get_name(tptr) == name_addr
          and (_ggml_lib.ggml_get_data(tptr) or 0) == (t.data or 0)
          and _ggml_lib.ggml_nelements(tptr) == t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3])
    if not ok:
        raise LlamaCppError("struct ggml_tensor layout differs from this ggml (%s); update "
                            "GgmlTensor in tools/crosscheck/llamacpp.py" % version())


# ---- ggml's own converters (the third opinion in check_gguf_py.py, and the
# K-quant quantizer in write_models.py, where gguf-py has none) ----

_to_float_t = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_int64)


class GgmlTypeTraits(ctypes.Structure):
    """struct ggml_type_traits from ggml.h."""
    _fields_ = [
        ("type_name", ctypes.c_char_p),
        ("blck_size", ctypes.c_int64),
        ("blck_size_interleave", ctypes.c_int64),
        ("type_size", ctypes.c_size_t),
        ("is_quantized", ctypes.c_bool),
        ("to_float", ctypes.c_void_p),
        ("from_float_ref", ctypes.c_void_p),
    ]


_ggml_lib.ggml_get_type_traits.restype = ctypes.POINTER(GgmlTypeTraits)
_ggml_lib.ggml_get_type_traits.argtypes = [ctypes.c_int]
_ggml_lib.ggml_quantize_chunk.restype = ctypes.c_size_t
_ggml_lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                          ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                                          ctypes.c_void_p]


def ggml_dequantize(type_id, raw, n):
    """n floats from raw (bytes of type type_id) by ggml's own to_float."""
    tr = _ggml_lib.ggml_get_type_traits(type_id).contents
    if type_id == GGML_TYPE_F32:
        return np.frombuffer(bytes(raw), dtype=np.float32)[:n].copy()
    if not tr.to_float:
        raise LlamaCppError("ggml has no to_float for type %d" % type_id)
    src = np.ascontiguousarray(np.frombuffer(bytes(raw), dtype=np.uint8))
    out = np.empty(n, dtype=np.float32)
    _to_float_t(tr.to_float)(src.ctypes.data, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), n)
    return out


def ggml_quantize(type_id, rows):
    """rows (float32 [n_rows, n]) quantized by ggml_quantize_chunk (the
    reference quantizers, no importance matrix); returns uint8 [n_rows,
    row bytes]."""
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    n_rows, n = rows.shape
    tr = _ggml_lib.ggml_get_type_traits(type_id).contents
    if n % tr.blck_size:
        raise LlamaCppError("row length %d is not whole blocks of %d" % (n, tr.blck_size))
    row_bytes = n // tr.blck_size * tr.type_size
    out = np.zeros((n_rows, row_bytes), dtype=np.uint8)
    got = _ggml_lib.ggml_quantize_chunk(type_id, rows.ctypes.data, out.ctypes.data, 0,
                                        n_rows, n, None)
    if got != out.nbytes:
        raise LlamaCppError("ggml_quantize_chunk wrote %d bytes, expected %d" % (got, out.nbytes))
    return out
