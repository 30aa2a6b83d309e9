"""bench_vs_llamacpp.py: plumb's speed against llama.cpp's, on the same
GGUF files, the same thread count, measured side by side in one run.

For every model, ROUNDS rounds; each round runs llama.cpp's llama-bench once
and `plumb bench` once, alternating which goes first, so that a slow spell
of the machine lands on both. The figure of each side is the median over
its rounds; the ratio is plumb / llama.cpp of those medians.

What is measured, the same on both sides:
  prompt   PROMPT tokens in one batch from an empty cache (llama-bench's
           pp test at depth 0; plumb bench's prompt phase), tokens/s
  decode   DECODE tokens one at a time after PROMPT tokens are in the
           cache (llama-bench's tg test at depth PROMPT, `-d`; plumb
           bench's decode phase, which follows its prompt), tokens/s over
           the whole phase: llama-bench's avg_ts with one repetition,
           plumb's decode_phase_tokens_per_s (tokens over the phase's time,
           not its per-token median)
Both take the model from the page cache through mmap; llama-bench runs a
warm-up before each test, plumb bench one warm-up repetition.

Only the Python standard library: it runs with any python3.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


class BenchError(Exception):
    pass


def run_json(cmd, what):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       errors="replace")
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise BenchError(f"{what}: exit {p.returncode}: {tail}")
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError as e:
        raise BenchError(f"{what}: output is not JSON ({e})")


def llama_round(exe, model, threads, prompt, decode):
    """One llama-bench run: (prompt tok/s, decode tok/s, build string)."""
    rows = run_json([exe, "-m", model, "-t", str(threads), "-p", str(prompt), "-n", str(decode),
                     "-d", f"0,{prompt}", "-r", "1", "-o", "json"], f"llama-bench on {model}")
    pp = tg = None
    build = ""
    for r in rows:
        build = f"{r.get('build_commit', '?')} ({r.get('backends', '?')}, {r.get('cpu_info', '?')})"
        if r["n_prompt"] == prompt and r["n_gen"] == 0 and r.get("n_depth", 0) == 0:
            pp = r["avg_ts"]
        if r["n_prompt"] == 0 and r["n_gen"] == decode and r.get("n_depth", 0) == prompt:
            tg = r["avg_ts"]
    if pp is None or tg is None:
        raise BenchError(f"llama-bench on {model}: no pp{prompt} at depth 0 or tg{decode} "
                         f"at depth {prompt} in its output")
    return pp, tg, build


def plumb_round(exe, model, kernels, threads, prompt, decode):
    """One plumb bench run: (prompt tok/s, decode tok/s, kernel set)."""
    j = run_json([exe, "bench", "-m", model, "--kernels", kernels, "--threads", str(threads),
                  "--prompt", str(prompt), "--decode", str(decode), "--reps", "1", "--json"],
                 f"plumb bench on {model}")
    return j["prompt_tokens_per_s"], j["decode_phase_tokens_per_s"], j["kernels"]


def fmt(x):
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plumb", required=True)
    ap.add_argument("--llama-bench", required=True)
    ap.add_argument("--kernels", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--decode", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--report", required=True)
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()

    for m in a.models:
        if not os.path.isfile(m):
            print(f"{m}: no such model file (make bench-models writes them)", file=sys.stderr)
            return 2
    started = time.time()
    rows = []
    build = kset = "?"
    try:
        for m in a.models:
            lp, lt, pp_, pt = [], [], [], []
            for r in range(a.rounds):
                order = ("llama", "plumb") if r % 2 == 0 else ("plumb", "llama")
                for side in order:
                    if side == "llama":
                        p, t, build = llama_round(a.llama_bench, m, a.threads, a.prompt, a.decode)
                        lp.append(p)
                        lt.append(t)
                    else:
                        p, t, kset = plumb_round(a.plumb, m, a.kernels, a.threads, a.prompt, a.decode)
                        pp_.append(p)
                        pt.append(t)
            row = dict(model=os.path.basename(m),
                       llama_pp=statistics.median(lp), plumb_pp=statistics.median(pp_),
                       llama_tg=statistics.median(lt), plumb_tg=statistics.median(pt))
            rows.append(row)
            print(f"{row['model']:<24} prompt {fmt(row['plumb_pp'])} vs {fmt(row['llama_pp'])}"
                  f" ({row['plumb_pp'] / row['llama_pp']:.2f}x)  decode {fmt(row['plumb_tg'])} vs "
                  f"{fmt(row['llama_tg'])} ({row['plumb_tg'] / row['llama_tg']:.2f}x)", flush=True)
    except BenchError as e:
        print(f"bench-vs-llamacpp: {e}", file=sys.stderr)
        return 2

    lines = [
        "# plumb bench against llama.cpp's llama-bench",
        "",
        f"Written by `make bench-vs-llamacpp` (tools/crosscheck/bench_vs_llamacpp.py) in "
        f"{time.time() - started:.0f} s. Same files, {a.threads} threads; medians of "
        f"{a.rounds} alternating rounds per side. Prompt: {a.prompt} tokens in one batch; "
        f"decode: {a.decode} tokens after {a.prompt} in the cache, tokens over the phase's time.",
        "",
        f"- plumb: `plumb bench --kernels {a.kernels}` (set used: {kset})",
        f"- llama.cpp: llama-bench built with GGML_NATIVE=ON, build {build}",
        "",
        f"| model | prompt {a.prompt}, llama.cpp | plumb | ratio | decode, llama.cpp | plumb | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['model']} | {fmt(r['llama_pp'])} | {fmt(r['plumb_pp'])} | "
                     f"{r['plumb_pp'] / r['llama_pp']:.2f} | {fmt(r['llama_tg'])} | "
                     f"{fmt(r['plumb_tg'])} | {r['plumb_tg'] / r['llama_tg']:.2f} |")
    lines += ["", "Tokens/s; ratio = plumb / llama.cpp (above 1: plumb is faster).", ""]
    os.makedirs(os.path.dirname(os.path.abspath(a.report)), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(a.report)), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines))
    os.replace(tmp, a.report)
    print(f"wrote {a.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
