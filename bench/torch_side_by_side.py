#!/usr/bin/python3
"""The rows of `datamux bench` in PyTorch, interleaved with datamux runs, with per-row ratios.

Same shapes on both sides (see bench/src/bench*.cpp):
  linear   F.linear forward (inference mode) and forward+backward, [M, K] x [N, K]^T + b
  encoder  nn.TransformerEncoderLayer(256, 4, 1024, gelu, dropout 0.1, batch_first) on [32, 64, 256]:
           inference forward (eval + inference_mode: torch's fused fast path), training forward,
           training forward+backward
  mux      the multiplexed model (task embedding, index-demux prefix, gaussian mux, 4-layer encoder,
           index demux, [CLS] or token-level retrieval head) at N in 1,2,5,10,20,40 on 16 rows x 64
           tokens, and the plain N=1 model (no mux, no demux, no prefix)
  train    one AdamW step (clip 1.0) of the pipeline examples/pipelines/retrieval.toml
PyTorch is given its best: torch.inference_mode, its fused encoder fast path where it applies,
pre-built modules, the thread count pinned like datamux's, OpenBLAS's core type from the CPU flags and
glibc malloc thresholds raised so freed activations are not returned to the OS every step.

Rounds: for each group, datamux runs (a subprocess, `datamux bench --group G --json`) then PyTorch,
alternately, `--rounds` times; each side's best round per row is kept (load from other processes only
ever slows a side down), and the ratio is taken between those.

  /usr/bin/python3 bench/torch_side_by_side.py --datamux build/bin/datamux --quick --out side_by_side.md
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import tomllib


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def ensure_environment(threads):
    """Re-executes with the environment PyTorch and OpenBLAS read at start-up (they must be set before
    import): OpenBLAS's kernel set (SKYLAKEX crashes with SIGILL on AVX2-only hosts), thread counts,
    and malloc thresholds."""
    flags = cpu_flags()
    want = {
        "OPENBLAS_CORETYPE": "SKYLAKEX" if "avx512f" in flags else ("ZEN" if "AuthenticAMD" in open("/proc/cpuinfo").read() else "HASWELL"),
        "OMP_NUM_THREADS": str(threads),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "passive"),  # as `datamux` defaults to (cli/omp_env.cpp)
        "MALLOC_MMAP_THRESHOLD_": str(1 << 30),
        "MALLOC_TRIM_THRESHOLD_": str(1 << 31),
    }
    if "avx2" not in flags and "avx512f" not in flags:
        want["OPENBLAS_CORETYPE"] = "SANDYBRIDGE" if "avx" in flags else "NEHALEM"
    if all(os.environ.get(k) == v for k, v in want.items()):
        return
    env = dict(os.environ)
    env.update(want)
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


# ---------------------------------------------------------------------------------------------------
# timing


def time_best_median(fn, budget_s, warmup=2, min_iters=3):
    for _ in range(warmup):
        fn()
    times, total = [], 0.0
    while len(times) < min_iters or total < budget_s:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        total += dt
    times.sort()
    return times[len(times) // 2]


# ---------------------------------------------------------------------------------------------------
# the models


def build_torch_side(torch):
    nn = torch.nn
    F = torch.nn.functional

    class TaskEmbedding(nn.Module):
        def __init__(self, vocab, length, dim):
            super().__init__()
            self.tokens = nn.Embedding(vocab, dim)
            self.positions = nn.Parameter(torch.randn(length, dim) * 0.02)
            self.norm = nn.LayerNorm(dim)

        def forward(self, ids):  # [..., L] -> [..., L, d]
            return self.norm(self.tokens(ids) + self.positions[: ids.shape[-1]])

    class IndexDemux(nn.Module):
        """DataMUX index demux: prefix of N+1 tokens before the mux; h^i_t = LN(gelu(W_p p_i + W_h h_t + b))."""

        def __init__(self, n, d):
            super().__init__()
            self.n = n
            self.index = nn.Parameter(torch.randn(n, d))
            self.filler = nn.Parameter(torch.randn(d))
            self.cls = nn.Parameter(torch.randn(d))
            self.prefix_proj = nn.Linear(d, d, bias=False)
            self.token_proj = nn.Linear(d, d)
            self.norm = nn.LayerNorm(d)

        def prepare(self, x):  # [N, B, L, d] -> [N, B, N+1+L, d]
            n, b, _, d = x.shape
            prefix = self.filler.expand(n, n + 1, d).clone()
            prefix[torch.arange(n), torch.arange(n)] = self.index
            prefix[:, n] = self.cls
            return torch.cat([prefix.unsqueeze(1).expand(n, b, n + 1, d), x], dim=2)

        def forward(self, h, tokens=None):  # [B, N+1+L, d] -> [N, B, L', d] (only the tokens asked for)
            p = self.n + 1
            states = h[:, p:] if tokens is None else h[:, p : p + tokens]
            t = self.token_proj(states)  # [B, L', d]
            q = self.prefix_proj(h[:, : self.n])  # [B, N, d]
            return self.norm(F.gelu(q.transpose(0, 1).unsqueeze(2) + t.unsqueeze(0)))

    class ClsHead(nn.Module):
        def __init__(self, d, classes):
            super().__init__()
            self.dense = nn.Linear(d, d)
            self.classifier = nn.Linear(d, classes)

        def forward(self, states, targets):  # states [N, B, L', d], reads position 0
            logits = self.classifier(torch.tanh(self.dense(states[:, :, 0])))
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)), logits

    class RetrievalHead(nn.Module):
        def __init__(self, d, vocab):
            super().__init__()
            self.dense = nn.Linear(d, d)
            self.norm = nn.LayerNorm(d)
            self.decoder = nn.Linear(d, vocab)

        def forward(self, states, targets):  # states [N, B, L, d], every instance decoded
            logits = self.decoder(self.norm(F.gelu(self.dense(states))))
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)), logits

    def encoder(d, heads, ffn, layers, dropout=0.1):
        layer = nn.TransformerEncoderLayer(d, heads, ffn, dropout=dropout, activation="gelu", batch_first=True)
        return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    class MuxModel(nn.Module):
        def __init__(self, n, vocab, length, d, heads, ffn, layers, head, classes=2, norm=20.0):
            super().__init__()
            self.n = n
            self.embed = TaskEmbedding(vocab, length, d)
            g = torch.randn(n, d)
            self.register_buffer("codes", norm * g / g.norm(dim=1, keepdim=True))
            self.demux = IndexDemux(n, d)
            self.backbone = encoder(d, heads, ffn, layers)
            self.cls = head == "cls"
            self.head = ClsHead(d, classes) if self.cls else RetrievalHead(d, vocab)

        def forward(self, ids, targets):  # ids [N, B, L]
            x = self.demux.prepare(self.embed(ids))  # [N, B, P+L, d]
            mixed = (x * self.codes[:, None, None, :]).mean(0)  # gaussian mux
            h = self.backbone(mixed)
            # A [CLS] head reads one token per instance: demultiplex only that one.
            states = self.demux(h, tokens=1 if self.cls else None)
            return self.head(states, targets)

    class PlainModel(nn.Module):
        def __init__(self, vocab, length, d, heads, ffn, layers, head, classes=2):
            super().__init__()
            self.embed = TaskEmbedding(vocab, length, d)
            self.backbone = encoder(d, heads, ffn, layers)
            self.head = ClsHead(d, classes) if head == "cls" else RetrievalHead(d, vocab)

        def forward(self, ids, targets):  # ids [1, B, L]
            return self.head(self.backbone(self.embed(ids[0])).unsqueeze(0), targets)

    return MuxModel, PlainModel, encoder


# ---------------------------------------------------------------------------------------------------
# the groups (names match `datamux bench` rows)


def run_linear(torch, budget):
    F = torch.nn.functional
    rows = {}
    for m, k, n in [(2048, 256, 1024), (2048, 1024, 256), (2048, 256, 256)]:
        x = torch.randn(m, k)
        w = torch.randn(n, k) * 0.05
        b = torch.randn(n)
        dy = torch.randn(m, n)
        dims = f"{m}x{k}x{n}"
        flops = 2.0 * m * k * n

        def fwd():
            with torch.inference_mode():
                F.linear(x, w, b)

        t = time_best_median(fwd, budget)
        rows[f"fwd {dims}"] = {"ms": t * 1e3, "gflops": flops / t * 1e-9}
        xg, wg, bg = (v.clone().requires_grad_() for v in (x, w, b))

        def fwd_bwd():
            xg.grad = wg.grad = bg.grad = None
            F.linear(xg, wg, bg).backward(dy)

        t = time_best_median(fwd_bwd, budget)
        rows[f"fwd+bwd {dims}"] = {"ms": t * 1e3, "gflops": 3 * flops / t * 1e-9}
    return rows


def run_encoder(torch, encoder, budget):
    b, l, d, h, ffn = 32, 64, 256, 4, 1024
    layer = encoder(d, h, ffn, 1).layers[0]
    x = torch.randn(b, l, d)
    dy = torch.randn(b, l, d)
    dims = f"B{b} L{l} d{d} h{h} ffn{ffn}"
    rows = {}

    def inference():
        with torch.inference_mode():
            layer(x)

    layer.eval()
    rows[f"inference fwd ({dims})"] = {"ms": time_best_median(inference, budget) * 1e3}
    layer.train()

    def train_fwd():
        layer(x)

    rows[f"training fwd ({dims})"] = {"ms": time_best_median(train_fwd, budget) * 1e3}

    def train_fwd_bwd():
        layer.zero_grad(set_to_none=True)
        layer(x).backward(dy)

    rows[f"training fwd+bwd ({dims})"] = {"ms": time_best_median(train_fwd_bwd, budget) * 1e3}
    return rows


def run_mux(torch, MuxModel, PlainModel, budget, instances):
    vocab, length, d, heads, ffn, layers, rows_per_batch, classes = 1000, 64, 256, 4, 1024, 4, 16, 2
    out = {}
    for head in ("cls", "token"):
        plain = PlainModel(vocab, length, d, heads, ffn, layers, head, classes).eval()
        ids = torch.randint(1, vocab, (1, rows_per_batch, length))
        tg = torch.randint(0, classes, (1, rows_per_batch)) if head == "cls" else ids

        def step_plain():
            with torch.inference_mode():
                plain(ids, tg)

        t = time_best_median(step_plain, budget)
        plain_rate = rows_per_batch / t
        out[f"{head} plain N=1"] = {"ms": t * 1e3, "items_per_s": plain_rate, "ratio": 1.0}
        for n in instances:
            model = MuxModel(n, vocab, length, d, heads, ffn, layers, head, classes).eval()
            ids = torch.randint(1, vocab, (n, rows_per_batch, length))
            tg = torch.randint(0, classes, (n, rows_per_batch)) if head == "cls" else ids

            def step():
                with torch.inference_mode():
                    model(ids, tg)

            t = time_best_median(step, budget)
            rate = n * rows_per_batch / t
            out[f"{head} N={n}"] = {"ms": t * 1e3, "items_per_s": rate, "ratio": rate / plain_rate}
    return out


def run_train(torch, MuxModel, pipeline, budget):
    with open(pipeline, "rb") as f:
        c = tomllib.load(f)
    task, model_c, bb, tr = c["task"], c["model"], c["backbone"], c["train"]
    n, d = model_c.get("instances", 2), model_c.get("hidden", 128)
    vocab, length = task.get("vocab", 1000), task.get("length", 16)
    batch = tr.get("batch", 32)
    heads, layers = bb.get("heads", 4), bb.get("layers", 4)
    ffn = bb.get("ffn", 0) or 4 * d
    norm = c.get("mux", {}).get("norm", 1.0)
    model = MuxModel(n, vocab, length, d, heads, ffn, layers, "token", norm=norm).train()
    opt = torch.optim.AdamW(model.parameters(), lr=tr.get("lr", 1e-3), betas=(tr.get("beta1", 0.9), tr.get("beta2", 0.999)),
                            weight_decay=tr.get("weight_decay", 0.01))
    clip = tr.get("clip_norm", 1.0)
    batches = [torch.randint(1, vocab, (n, batch, length)) for _ in range(4)]
    state = {"i": 0}

    def step():
        ids = batches[state["i"] % len(batches)]
        state["i"] += 1
        loss, _ = model(ids, ids)  # all instances scored ([head] all_instances = true)
        loss.item()
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        opt.zero_grad(set_to_none=True)

    t = time_best_median(step, budget)
    name = f"step {os.path.basename(pipeline)} (N={n}, batch {batch})"
    return {name: {"ms": t * 1e3, "items_per_s": n * batch / t}}


# ---------------------------------------------------------------------------------------------------
# driver


def run_datamux(binary, group, quick, threads, pipeline, instances, precision):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    cmd = [binary, "bench", "--group", group, "--json", path, "--threads", str(threads), "--pipeline", pipeline,
           "--instances", ",".join(map(str, instances)), "--precision", precision]
    if quick:
        cmd.append("--quick")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))  # OMP_WAIT_POLICY: the same as PyTorch's
    for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "OPENBLAS_CORETYPE"):
        env.pop(k, None)  # datamux runs as a user would run it
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    with open(path) as f:
        report = json.load(f)
    os.unlink(path)
    return report


def better(old, new, key):
    """The better of two measurements of one row: shorter time, or more instances/s."""
    if old is None:
        return new
    if key == "items_per_s":
        return new if new.get(key, 0) > old.get(key, 0) else old
    return new if new["ms"] < old["ms"] else old


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datamux", default="build/bin/datamux", help="the datamux binary")
    ap.add_argument("--quick", action="store_true", help="short budgets on both sides")
    ap.add_argument("--rounds", type=int, default=2, help="alternating datamux/PyTorch rounds per group")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--group", action="append", choices=["linear", "encoder", "mux", "train"])
    ap.add_argument("--instances", default="1,2,5,10,20,40")
    ap.add_argument("--pipeline", default="examples/pipelines/retrieval.toml")
    ap.add_argument("--datamux-precision", default="f32", choices=["f32", "bf16"],
                    help="datamux's matmul inputs (bf16 only where the CPU has AVX512-BF16/AMX; PyTorch stays f32)")
    ap.add_argument("--out", help="also write the table (Markdown) here")
    ap.add_argument("--json", help="also write both sides' figures as JSON here")
    args = ap.parse_args()
    if args.rounds < 1 or args.threads < 1:
        ap.error("--rounds and --threads must be >= 1")
    try:
        instances = [int(v) for v in args.instances.split(",")]
    except ValueError:
        ap.error(f"--instances must be a comma-separated list of integers, got {args.instances!r}")
    if not os.path.isfile(args.pipeline):
        ap.error(f"pipeline {args.pipeline} does not exist (run from the source tree or pass --pipeline)")
    if not os.access(args.datamux, os.X_OK):
        ap.error(f"{args.datamux} is not an executable datamux binary (build it: bash scripts/build.sh)")
    ensure_environment(args.threads)

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    MuxModel, PlainModel, encoder = build_torch_side(torch)
    budget = 0.6 if args.quick else 2.0
    groups = args.group or ["linear", "encoder", "mux", "train"]

    ours, theirs, host = {}, {}, None
    for group in groups:
        for r in range(args.rounds):
            print(f"[{group}] round {r + 1}/{args.rounds}: datamux", file=sys.stderr, flush=True)
            rep = run_datamux(args.datamux, group, args.quick, args.threads, args.pipeline, instances,
                              args.datamux_precision)
            host = rep["host"]
            for row in rep["rows"]:
                key = "items_per_s" if row["group"] == "mux" else "ms"
                ours[(group, row["name"])] = better(ours.get((group, row["name"])), row, key)
            print(f"[{group}] round {r + 1}/{args.rounds}: PyTorch", file=sys.stderr, flush=True)
            if group == "linear":
                res = run_linear(torch, budget / 2)
            elif group == "encoder":
                res = run_encoder(torch, encoder, budget)
            elif group == "mux":
                res = run_mux(torch, MuxModel, PlainModel, budget * 0.8, instances)
            else:
                res = run_train(torch, MuxModel, args.pipeline, budget)
            for name, row in res.items():
                key = "items_per_s" if group == "mux" else "ms"
                theirs[(group, name)] = better(theirs.get((group, name)), row, key)

    lines = [
        f"CPU: {cpu_model()} ({os.cpu_count()} cores), {args.threads} threads per side; datamux ISA "
        f"{host['cpu_features']}, oneDNN {host['onednn_version']} ({host['onednn_isa']}), matmul {host['precision']}; "
        f"PyTorch {torch.__version__}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')} on both sides; "
        f"best of {args.rounds} alternating rounds per side",
        "",
        "| group | row | datamux | PyTorch | speed-up (PyTorch time / datamux time, or datamux inst/s / PyTorch inst/s) | multiplier datamux / PyTorch |",
        "|---|---|---|---|---|---|",
    ]
    table = []
    for (group, name), row in ours.items():
        t = theirs.get((group, name))
        if t is None:
            continue
        if group == "mux":
            speed = row["items_per_s"] / t["items_per_s"]
            a, b = f"{row['items_per_s']:.0f} inst/s", f"{t['items_per_s']:.0f} inst/s"
            mult = f"{row['ratio']:.1f}x / {t['ratio']:.1f}x"
        else:
            speed = t["ms"] / row["ms"]
            a, b, mult = f"{row['ms']:.2f} ms", f"{t['ms']:.2f} ms", ""
        lines.append(f"| {group} | {name} | {a} | {b} | {speed:.2f}x | {mult} |")
        table.append({"group": group, "row": name, "datamux": row, "torch": t, "speedup": speed})
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"host": host, "torch": torch.__version__, "rows": table}, f, indent=2)


if __name__ == "__main__":
    main()
