#!/usr/bin/env python3
"""The retrieval warm-up trained in PyTorch, to compare learning speed with datamux (docs/results.md, "Large N").

The model is datamux's retrieval pipeline (examples/pipelines/retrieval*.toml) written in PyTorch:
task embedding (token + position, N(0, 0.02), layer norm) -> [index demux: N+1 prefix embeddings] ->
gaussian mux (fixed codes of norm c, mean over instances) -> post-LN Transformer encoder (dropout 0.1) ->
index or mlp demux -> retrieval head (dense + gelu + layer norm + vocabulary decoder), every instance
at every position in the loss, AdamW (weight decay on every parameter), gradient clipping at 1, linear
warm-up then linear decay. Switches turn on the reference code's (princeton-nlp/DataMUX) choices one
at a time:
  --mux-ln        the reference passes the multiplexed embeddings through RoBERTa's embedding layer
                  again (position embeddings added, then LayerNorm) before the encoder
  --bert-init     Linear weights N(0, 0.02) and zero biases (HF init_weights) instead of PyTorch's default
  --no-decay-ln   no weight decay on biases and layer-norm weights (HF Trainer)

Held-out accuracy over `--eval` generated sequences (every token of every instance) is printed every
--eval-every steps with the wall time, one line per evaluation, as CSV:
  step,seconds,loss,accuracy,min_instance_accuracy

  OPENBLAS_CORETYPE=SKYLAKEX OMP_NUM_THREADS=2 python3 bench/torch_retrieval.py --n 40 --demux mlp --steps 1500
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, a):
        super().__init__()
        n, d, v, L = a.n, a.hidden, a.vocab, a.length
        self.n, self.demux_kind, self.mux_ln = n, a.demux, a.mux_ln
        self.tokens = nn.Parameter(torch.randn(v, d) * 0.02)
        self.positions = nn.Parameter(torch.randn(L + n + 1, d) * 0.02)
        self.embed_norm = nn.LayerNorm(d)
        g = torch.randn(n, d)
        self.register_buffer("codes", a.norm * g / g.norm(dim=1, keepdim=True))
        if a.mux_ln:
            self.mux_positions = nn.Parameter(torch.randn(L + n + 1, d) * 0.02)
            self.mux_norm = nn.LayerNorm(d)
        if a.demux == "index":
            self.index = nn.Parameter(torch.randn(n, d))
            self.filler = nn.Parameter(torch.randn(d))
            self.cls = nn.Parameter(torch.randn(d))
            self.prefix_proj = nn.Linear(d, d, bias=False)
            self.token_proj = nn.Linear(d, d)
            self.demux_norm = nn.LayerNorm(d)
        else:  # one dense + gelu + layer norm per instance
            self.demux_w = nn.Parameter(torch.empty(n, d, d))
            self.demux_b = nn.Parameter(torch.empty(n, d))
            for i in range(n):
                lin = nn.Linear(d, d)
                self.demux_w.data[i] = lin.weight.data
                self.demux_b.data[i] = lin.bias.data
            self.demux_g = nn.Parameter(torch.ones(n, d))
            self.demux_beta = nn.Parameter(torch.zeros(n, d))
        layer = nn.TransformerEncoderLayer(d, a.heads, a.ffn, dropout=0.1, activation="gelu", batch_first=True)
        self.backbone = nn.TransformerEncoder(layer, a.layers, enable_nested_tensor=False)
        self.dense = nn.Linear(d, d)
        self.head_norm = nn.LayerNorm(d)
        self.decoder = nn.Linear(d, v)
        if a.bert_init:
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0.0, 0.02)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
            for name, p in self.backbone.named_parameters():
                if name.endswith("in_proj_weight"):
                    nn.init.normal_(p, 0.0, 0.02)
                elif name.endswith("in_proj_bias"):
                    nn.init.zeros_(p)
            if a.demux == "mlp":
                nn.init.normal_(self.demux_w, 0.0, 0.02)
                nn.init.zeros_(self.demux_b)

    def forward(self, ids):  # ids [N, B, L] -> logits [N, B, L, vocab]
        n, b, L = ids.shape
        d = self.tokens.shape[1]
        x = self.embed_norm(self.tokens[ids] + self.positions[:L])
        p = 0
        if self.demux_kind == "index":
            p = n + 1
            prefix = self.filler.expand(n, p, d).clone()
            prefix[torch.arange(n), torch.arange(n)] = self.index
            prefix[:, n] = self.cls
            x = torch.cat([prefix.unsqueeze(1).expand(n, b, p, d), x], dim=2)
        mixed = (x * self.codes[:, None, None, :]).mean(0)  # [B, P+L, d]
        if self.mux_ln:
            mixed = self.mux_norm(mixed + self.mux_positions[: p + L])
        h = self.backbone(mixed)
        if self.demux_kind == "index":
            t = self.token_proj(h[:, p:])
            q = self.prefix_proj(h[:, :n])
            s = self.demux_norm(F.gelu(q.transpose(0, 1).unsqueeze(2) + t.unsqueeze(0)))
        else:
            y = F.gelu(torch.einsum("bld,nkd->nblk", h, self.demux_w) + self.demux_b[:, None, None, :])
            y = F.layer_norm(y, (d,))
            s = y * self.demux_g[:, None, None, :] + self.demux_beta[:, None, None, :]
        return self.decoder(self.head_norm(F.gelu(self.dense(s))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--demux", choices=["index", "mlp"], default="index")
    ap.add_argument("--vocab", type=int, default=1000)
    ap.add_argument("--length", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=512)
    ap.add_argument("--norm", type=float, default=20.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--schedule", choices=["linear", "constant"], default="linear", help="after the warm-up")
    ap.add_argument("--wd", type=float, default=0.01)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--eval", type=int, default=2048, help="held-out sequences")
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--target", type=float, default=0.0, help="stop at the first evaluation at or above this accuracy")
    ap.add_argument("--mux-ln", action="store_true")
    ap.add_argument("--bert-init", action="store_true")
    ap.add_argument("--no-decay-ln", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = Model(a)
    if a.no_decay_ln:
        decay = [p for name, p in model.named_parameters() if p.dim() >= 2 and "norm" not in name]
        rest = [p for name, p in model.named_parameters() if not (p.dim() >= 2 and "norm" not in name)]
        groups = [{"params": decay, "weight_decay": a.wd}, {"params": rest, "weight_decay": 0.0}]
    else:
        groups = [{"params": list(model.parameters()), "weight_decay": a.wd}]
    opt = torch.optim.AdamW(groups, lr=a.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / a.warmup if s < a.warmup
        else 1.0 if a.schedule == "constant" else max(0.0, (a.steps - s) / max(1, a.steps - a.warmup)))
    gen = torch.Generator().manual_seed(a.seed + 1000)
    rows = math.ceil(a.eval / a.n)
    held = torch.randint(3, a.vocab, (a.n, rows, a.length), generator=torch.Generator().manual_seed(a.seed + 7))
    print("step,seconds,loss,accuracy,min_instance_accuracy", flush=True)
    t0 = time.time()
    loss_sum = 0.0
    for step in range(1, a.steps + 1):
        model.train()
        ids = torch.randint(3, a.vocab, (a.n, a.batch, a.length), generator=gen)
        logits = model(ids)
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), ids.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if a.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        sched.step()
        loss_sum += loss.item()
        if step % a.eval_every == 0 or step == a.steps:
            model.eval()
            with torch.no_grad():
                correct = torch.zeros(a.n)
                for r in range(0, rows, 64):
                    chunk = held[:, r : r + 64]
                    correct += (model(chunk).argmax(-1) == chunk).float().sum(dim=(1, 2))
                per = correct / (rows * a.length)
            acc = per.mean().item()
            print(f"{step},{time.time() - t0:.1f},{loss_sum / a.eval_every:.4f},{acc:.4f},{per.min().item():.4f}", flush=True)
            loss_sum = 0.0
            if a.target > 0 and acc >= a.target:
                break


if __name__ == "__main__":
    main()
