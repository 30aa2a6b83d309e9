#!/usr/bin/env python3
"""check_gguf_py.py: plumb's GGUF files as gguf-py (llama.cpp's Python GGUF
library) reads them.

For each model file:
  1. gguf.GGUFReader opens it;
  2. header (version, alignment, data offset, counts), every metadata key in
     order with its value type, array element type and value, and every
     tensor in order with its name, ggml type, shape (ne), offset and size
     equal what `plumb inspect --json` says plumb wrote (inspect prints every
     value in full; floats with enough digits to round-trip);
  3. each tensor's bytes as gguf-py locates them equal the bytes at plumb's
     offset in the file;
  4. each tensor dequantized by gguf-py (gguf.quants.dequantize) equals, bit
     for bit, the floats plumb's own converters make of it (xc-dequant, built
     from tools/crosscheck/dequant.c against build/libplumb.a). Where they
     differ, ggml's C dequantizer (from llama.cpp's libggml-base) is asked
     too, and the report says which side is off.

Usage: check_gguf_py.py --plumb build/plumb --dequant build/xc-dequant
                        [--json OUT.json] MODEL.gguf...
Exit 0 all agree, 1 a disagreement, 2 a file could not be checked.
"""

import argparse
import json
import math
import os
import sys
import tempfile

import numpy as np

import gguf
from gguf.quants import dequantize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xcutil  # noqa: E402

# GGUF value type id -> the name plumb inspect gives it (engine/gguf.c).
VTYPE_NAMES = {0: "u8", 1: "i8", 2: "u16", 3: "i16", 4: "u32", 5: "i32", 6: "f32", 7: "bool",
               8: "string", 9: "array", 10: "u64", 11: "i64", 12: "f64"}


def json_number(v, vtype):
    """A value from plumb's JSON as the exact number it stands for: floats are
    printed with %.9g (f32) or %.17g (f64), which round-trip; non-finite
    floats are the strings "NaN", "Infinity", "-Infinity"."""
    if isinstance(v, str) and vtype in ("f32", "f64"):
        v = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v]
    if vtype == "f32":
        return np.float32(v)
    if vtype == "f64":
        return np.float64(v)
    return v


def same_value(a, b, vtype):
    """a (plumb) == b (gguf-py), NaN equal to NaN, f32 compared as f32."""
    if vtype in ("f32", "f64"):
        x, y = json_number(a, vtype), (np.float32(b) if vtype == "f32" else np.float64(b))
        return (np.isnan(x) and np.isnan(y)) or (x == y and np.signbit(x) == np.signbit(y))
    if vtype == "bool":
        return bool(a) == bool(b)
    return a == b


def check_metadata(path, info, reader, problems):
    fields = [f for f in reader.fields.values() if not f.name.startswith("GGUF.")]
    if len(fields) != len(info["metadata"]):
        problems.append("%s: gguf-py reads %d metadata keys, plumb %d"
                        % (path, len(fields), len(info["metadata"])))
    for kv, f in zip(info["metadata"], fields):
        key = kv["key"]
        if f.name != key:
            problems.append("%s: metadata key order: gguf-py has '%s' where plumb has '%s'"
                            % (path, f.name, key))
            continue
        t = VTYPE_NAMES.get(int(f.types[0]), "?")
        if t != kv["type"]:
            problems.append("%s: %s: gguf-py type %s, plumb %s" % (path, key, t, kv["type"]))
            continue
        if t == "array":
            et = VTYPE_NAMES.get(int(f.types[1]), "?") if len(f.types) > 1 else "?"
            if et != kv["elem_type"] or len(f.data) != kv["count"]:
                problems.append("%s: %s: gguf-py array of %d %s, plumb %d %s"
                                % (path, key, len(f.data), et, kv["count"], kv["elem_type"]))
                continue
            got = xcutil.field_value(f)
            bad = [i for i, (a, b) in enumerate(zip(kv["value"], got)) if not same_value(a, b, et)]
            if bad:
                i = bad[0]
                problems.append("%s: %s[%d]: gguf-py %r, plumb %r (%d elements differ)"
                                % (path, key, i, got[i], kv["value"][i], len(bad)))
        else:
            got = xcutil.field_value(f)
            if not same_value(kv["value"], got, t):
                problems.append("%s: %s: gguf-py %r, plumb %r" % (path, key, got, kv["value"]))


def check_tensors(path, info, reader, raw, plumb_floats, problems, stats):
    tensors = reader.tensors
    if len(tensors) != len(info["tensors"]):
        problems.append("%s: gguf-py reads %d tensors, plumb %d"
                        % (path, len(tensors), len(info["tensors"])))
        return
    at = 0  # position in plumb's floats
    for pt, t in zip(info["tensors"], tensors):
        name = pt["name"]
        where = "%s: tensor '%s'" % (path, name)
        shape = [int(x) for x in t.shape]
        start = info["data_offset"] + pt["offset"]
        if t.name != name or int(t.tensor_type) != pt["type_id"] or shape != pt["shape"]:
            problems.append("%s: gguf-py reads '%s' %s %s, plumb '%s' %s %s"
                            % (path, t.name, t.tensor_type.name, shape, name, pt["type"],
                               pt["shape"]))
            return
        if int(t.data_offset) != start or int(t.n_bytes) != pt["size"]:
            problems.append("%s: gguf-py at offset %d, %d bytes; plumb at %d, %d bytes"
                            % (where, t.data_offset, t.n_bytes, start, pt["size"]))
            return
        gbytes = np.ascontiguousarray(t.data).view(np.uint8).ravel()
        if gbytes.tobytes() != raw[start:start + pt["size"]]:
            problems.append("%s: gguf-py's bytes differ from the file at plumb's offset" % where)
        n = int(np.prod(shape))
        mine = plumb_floats[at:at + n]
        at += n
        theirs = np.ascontiguousarray(dequantize(t.data, t.tensor_type), dtype=np.float32).ravel()
        stats["tensors"] += 1
        stats["elements"] += n
        stats["types"].add(pt["type"])
        if theirs.size != n:
            problems.append("%s: gguf-py dequantizes to %d floats, expected %d"
                            % (where, theirs.size, n))
            continue
        diff = np.nonzero(mine.view(np.uint32) != theirs.view(np.uint32))[0]
        if diff.size:
            i = int(diff[0])
            verdict = judge(pt["type_id"], raw[start:start + pt["size"]], n, mine, theirs)
            problems.append("%s (%s): %d of %d floats differ from gguf-py's; first at %d: plumb "
                            "%r (0x%08x), gguf-py %r (0x%08x); %s"
                            % (where, pt["type"], diff.size, n, i, float(mine[i]),
                               int(mine.view(np.uint32)[i]), float(theirs[i]),
                               int(theirs.view(np.uint32)[i]), verdict))
    if at != plumb_floats.size:
        problems.append("%s: xc-dequant wrote %d floats, the tensors hold %d"
                        % (path, plumb_floats.size, at))


def judge(type_id, raw, n, mine, theirs):
    """Who is right where plumb and gguf-py differ: ggml's C code decides."""
    try:
        import llamacpp
        ref = llamacpp.ggml_dequantize(type_id, raw, n)
    except Exception as e:  # llama.cpp not importable: say so, decide nothing
        return "ggml's dequantizer unavailable (%s)" % e
    ok_mine = bool((ref.view(np.uint32) == mine.view(np.uint32)).all())
    ok_theirs = bool((ref.view(np.uint32) == theirs.view(np.uint32)).all())
    if ok_mine and not ok_theirs:
        return "ggml's C dequantizer agrees with plumb: a gguf-py difference"
    if ok_theirs and not ok_mine:
        return "ggml's C dequantizer agrees with gguf-py: a plumb BUG"
    return "ggml's C dequantizer agrees with %s" % ("both" if ok_mine else "neither")


def check_file(path, plumb, dequant, workdir):
    """Check one file; returns (problems, stats)."""
    problems = []
    stats = {"tensors": 0, "elements": 0, "types": set(), "keys": 0}
    info = xcutil.plumb_inspect(plumb, path)
    reader = gguf.GGUFReader(path)
    with open(path, "rb") as fp:
        raw = fp.read()
    fields = reader.fields
    version = int(fields["GGUF.version"].parts[-1][0])
    if version != info["version"] or reader.alignment != info["alignment"] \
            or reader.data_offset != info["data_offset"]:
        problems.append("%s: header: gguf-py v%d, alignment %d, data at %d; plumb v%d, %d, %d"
                        % (path, version, reader.alignment, reader.data_offset, info["version"],
                           info["alignment"], info["data_offset"]))
    stats["keys"] = len(info["metadata"])
    check_metadata(path, info, reader, problems)
    out = os.path.join(workdir, os.path.basename(path) + ".f32")
    xcutil.run([dequant, path, out], "xc-dequant " + path)
    plumb_floats = np.fromfile(out, dtype=np.float32)
    os.unlink(out)
    check_tensors(path, info, reader, raw, plumb_floats, problems, stats)
    stats["types"] = sorted(stats["types"])
    return problems, stats


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plumb", default="build/plumb")
    ap.add_argument("--dequant", default="build/xc-dequant")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args(argv)
    results, bad_input = [], False
    with tempfile.TemporaryDirectory() as work:
        for path in args.models:
            try:
                problems, stats = check_file(path, args.plumb, args.dequant, work)
            except (xcutil.XcError, OSError, ValueError) as e:
                print("check_gguf_py: %s: %s" % (path, e), file=sys.stderr)
                results.append({"model": path, "error": str(e)})
                bad_input = True
                continue
            print("%-40s %s: %d keys, %d tensors (%s), %d floats bit-identical%s"
                  % (path, "ok  " if not problems else "FAIL", stats["keys"], stats["tensors"],
                     ", ".join(stats["types"]), stats["elements"] if not problems else 0,
                     "" if not problems else ""))
            for p in problems:
                print("    " + p)
            results.append({"model": path, "problems": problems, **stats})
    if args.json:
        with open(args.json, "w") as fp:
            json.dump(results, fp, indent=1)
    if bad_input:
        return 2
    return 1 if any(r.get("problems") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
