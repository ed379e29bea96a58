#!/usr/bin/python3
"""tinylm's PyTorch peer: grounding tokens/s and generation rollouts/s on one core.

The same architecture as plugins/tinylm (a GPT-style pre-LN decoder; see the
"tinylm" section of docs/benchmarks.md): inputs are a token embedding (text and
special tokens), a projection of the observation (state slots) or an action
embedding (action slots), plus learned position and type embeddings; heads for
tokens, states (MSE) and actions (cross-entropy) read the final LayerNorm; the
hidden state one position before a slot predicts that slot.

 1. Grounding: one optimiser step (AdamW, cosine schedule with warm-up, gradient
    clipping 1.0) over four task micro-batches, goal->rollout, rollout->goal,
    dynamics and consequence, each padded on the right to its own length, their
    gradients accumulated. tokens = every non-pad position of the four.
 2. Generation: B rollouts of S env steps from a prompt of P positions
    (BOS G2R goal SEP s0), incremental decoding with a key/value cache (K and V
    preallocated per layer); each step feeds an action slot (greedy argmax of the
    action head) then a state slot (the state head's prediction): P + 2S positions.

torch runs with one thread, pinned to one core. The peer is given its fastest
settings, measured here, not assumed: each variant (attention kernel, AdamW
implementation, GELU form) is timed in round-robin inside a process, and --sweep runs one
process per OPENBLAS_CORETYPE (read by OpenBLAS when torch loads it) and glibc
malloc setting (docs/bench-pingpong.py's "heap": MALLOC_MMAP_THRESHOLD_,
MALLOC_TRIM_THRESHOLD_). Every measurement is one JSON line on stdout, per wall
second and per CPU second of the process (the fair figure on a shared machine).

Usage (Debian's python3-torch and libopenblas0):
  docs/bench-tinylm.py --sweep                       # every env setting, every variant
  docs/bench-tinylm.py --coretype SkylakeX --malloc heap --train sdpa,plain,exp --gen ew,exp
  go test -c -o /tmp/tinylm.test ./plugins/tinylm && \
    docs/bench-tinylm.py --go /tmp/tinylm.test --coretype SkylakeX --malloc heap \
      --train sdpa,plain,exp --gen ew,exp              # Go / torch, alternating rounds
  docs/bench-tinylm.py --golden DIR                  # fixture for a Go golden test (tiny config)
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

# Special tokens; goal tokens are drawn from [N_SPECIAL, vocab).
PAD, BOS, EOS, SEP, G2R, R2G, DYN, CON = range(8)
N_SPECIAL = 8
TEXT, STATE, ACTION = 0, 1, 2  # slot kinds, also the type-embedding rows

CORETYPES = ["", "SkylakeX", "Haswell"]
MALLOCS = ["default", "heap"]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    a = ap.add_argument
    a("--batch", type=int, default=32, help="rows of each task micro-batch")
    a("--g2r-len", type=int, default=64)
    a("--r2g-len", type=int, default=64)
    a("--dyn-len", type=int, default=4, help="BOS DYN s a: always 4")
    a("--con-len", type=int, default=24)
    a("--goal-len", type=int, default=12, help="goal tokens in g2r/r2g (grown by one where the slots need it)")
    a("--ragged", action="store_true",
      help="row lengths drawn in [len/2, len] (row 0 full) instead of every row full")
    a("--vocab", type=int, default=400)
    a("--dim", type=int, default=128)
    a("--layers", type=int, default=3)
    a("--heads", type=int, default=4)
    a("--ctx", type=int, default=160, help="position embedding rows")
    a("--obs-dim", type=int, default=10)
    a("--n-actions", type=int, default=40)
    a("--gen-batch", type=int, default=128)
    a("--gen-steps", type=int, default=20)
    a("--prompt-len", type=int, default=16, help="BOS G2R goal SEP s0: P positions")
    a("--train", nargs="+", metavar="ATTN,OPTIM,GELU",
      default=["sdpa,flat,exp", "manual,flat,exp", "baddbmm,flat,exp", "sdpa,foreach,exp",
               "sdpa,plain,exp", "sdpa,fused,exp", "sdpa,flat,builtin"],
      help="training variants. ATTN: sdpa (F.scaled_dot_product_attention, is_causal), manual "
           "(matmul, masked_fill, softmax), baddbmm (scale and additive mask in one call). OPTIM "
           "(AdamW): plain (per-tensor loop), foreach, fused (where this torch has it), flat (every "
           "parameter a view of one tensor: one AdamW update, one clip norm). GELU (tanh form): "
           "builtin (F.gelu), exp (x/(1+exp(-u)) with a hand-written backward; the same function)")
    a("--gen", nargs="+", metavar="ATTN,GELU", default=["ew,exp", "bmm,exp", "sdpa,exp", "ew,builtin"],
      help="generation variants. ATTN of the one-position steps over the cache: ew (elementwise "
           "product and sum), bmm (batched matmul), sdpa")
    a("--only", choices=["train", "gen", "both"], default="both")
    a("--rounds", type=int, default=5, help="round-robin rounds over the variants")
    a("--train-steps", type=int, default=4, help="optimiser steps per timed window")
    a("--gen-reps", type=int, default=2, help="generations per timed window")
    a("--seed", type=int, default=0)
    a("--cpu", type=int, default=0, help="core to pin to")
    a("--coretype", default=None, help="OPENBLAS_CORETYPE ('' = OpenBLAS's own choice); default: inherited")
    a("--malloc", choices=MALLOCS, default=None, help="glibc malloc setting; default: inherited")
    a("--sweep", action="store_true", help="one process per coretype x malloc, twice in alternating order")
    a("--compile", action="store_true", help="also try torch.compile (torch >= 2.0)")
    a("--golden", metavar="DIR", help="write the tiny-config golden fixture to DIR and exit")
    a("--go", metavar="TESTBIN",
      help="alternate with plugins/tinylm's benchmarks (a test binary from `go test -c`): per round, "
           "torch's first --train and --gen variant, then BenchmarkGroundStep and BenchmarkGenerate run "
           "at -benchtime 2x and --go-n x, on the same core with GOMAXPROCS=1; a Go figure per CPU "
           "second is the difference of the two runs' CPU time (getrusage) over --go-n - 2 (each run calls "
           "the benchmark at b.N=1, then at b.N=n: the set-up cancels)")
    a("--go-n", type=int, default=10)
    return ap.parse_args(argv)


def reexec(args):
    """Set OpenBLAS's and glibc's environment (both read at start-up), then re-exec."""
    if os.environ.get("KALM_TINYLM_ENV") == "1":
        return
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               KALM_TINYLM_ENV="1")
    if args.coretype is not None:
        env.pop("OPENBLAS_CORETYPE", None)
        if args.coretype:
            env["OPENBLAS_CORETYPE"] = args.coretype
    if args.malloc is not None:
        env.pop("MALLOC_MMAP_THRESHOLD_", None)
        env.pop("MALLOC_TRIM_THRESHOLD_", None)
        if args.malloc == "heap":
            env.update(MALLOC_MMAP_THRESHOLD_=str(1 << 30), MALLOC_TRIM_THRESHOLD_=str(1 << 31))
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def malloc_name():
    return "heap" if os.environ.get("MALLOC_MMAP_THRESHOLD_") else "default"


# ---------------------------------------------------------------- sequences

MIN_LEN = dict(g2r=7, r2g=5, dyn=4, con=5)


def goal_near(goal_len, n, fits, flag, least):
    """The goal length nearest goal_len (shorter first) that fits a row of n positions."""
    for g in sorted(range(1, n), key=lambda g: (abs(g - goal_len), g)):
        if fits(g):
            return g
    raise ValueError(f"{flag} {n}: too short for a goal and the slots; want at least {least}")


def task_rows(task, n, goal_len, cfg, rng):
    """One row of a task as (slots, sup): slots is a list of (kind, value);
    sup is a list of (position, kind, target): the hidden state at position
    predicts target (a token id, an observation, an action id)."""
    obs = lambda: rng.standard_normal(cfg["obs_dim"]).astype("float32")
    act = lambda: int(rng.integers(cfg["n_actions"]))
    goal = lambda g: [(TEXT, int(t)) for t in rng.integers(N_SPECIAL, cfg["vocab"], g)]
    slots, sup = [], []

    def rollout(T, supervise):
        for t in range(T + 1):
            if t > 0:
                if supervise:
                    sup.append((len(slots) - 1, ACTION, a))
                slots.append((ACTION, a))
            s = obs()
            if supervise and t > 0:
                sup.append((len(slots) - 1, STATE, s))
            slots.append((STATE, s))
            a = act()

    if task == "g2r":  # BOS G2R goal SEP s0 a0 ... sT: 3 + g + 2T + 1
        g = goal_near(goal_len, n, lambda g: n - 4 - g >= 2 and (n - 4 - g) % 2 == 0, "--g2r-len", 7)
        T = (n - 4 - g) // 2
        slots += [(TEXT, BOS), (TEXT, G2R)] + goal(g) + [(TEXT, SEP)]
        rollout(T, True)
    elif task == "r2g":  # BOS R2G s0 a0 ... sT SEP goal (-> EOS): 2 + 2T + 1 + 1 + g
        g = goal_near(goal_len, n, lambda g: n - 4 - g >= 0 and (n - 4 - g) % 2 == 0, "--r2g-len", 5)
        T = (n - 4 - g) // 2
        slots += [(TEXT, BOS), (TEXT, R2G)]
        rollout(T, False)
        slots.append((TEXT, SEP))
        for kind, tok in goal(g):
            sup.append((len(slots) - 1, TEXT, tok))
            slots.append((kind, tok))
        sup.append((len(slots) - 1, TEXT, EOS))  # the last goal token predicts EOS
    elif task == "dyn":  # BOS DYN s a -> s'
        if n != 4:
            raise ValueError(f"--dyn-len {n}: the dynamics task is BOS DYN s a, 4 positions")
        slots += [(TEXT, BOS), (TEXT, DYN), (STATE, obs()), (ACTION, act())]
        sup.append((3, STATE, obs()))
    elif task == "con":  # BOS CON s0 goal SEP -> sT
        g = n - 4
        if g < 1:
            raise ValueError(f"--con-len {n}: too short for a goal")
        slots += [(TEXT, BOS), (TEXT, CON), (STATE, obs())] + goal(g) + [(TEXT, SEP)]
        sup.append((n - 1, STATE, obs()))
    assert len(slots) == n, (task, n, len(slots))
    return slots, sup


def make_batch(task, B, L, goal_len, ragged, cfg, rng):
    """A right-padded micro-batch in dense form (numpy): kind, tok [B,T] int64
    (tok: token id at text slots, action id at action slots, PAD elsewhere),
    obs [B,T,obs_dim] (state slots), lens [B], and the supervision per position:
    sup_text, sup_act [B,T] int64 (-1 none), sup_state [B,T,obs_dim] with
    sup_state_mask [B,T] uint8."""
    import numpy as np
    lens = [L] * B
    if ragged and task != "dyn":
        lens = [L] + [int(x) for x in rng.integers(max(L // 2, MIN_LEN[task]), L + 1, B - 1)]
    od = cfg["obs_dim"]
    b = dict(kind=np.zeros((B, L), np.int64), tok=np.zeros((B, L), np.int64),
             obs=np.zeros((B, L, od), np.float32), lens=np.array(lens, np.int64),
             sup_text=np.full((B, L), -1, np.int64), sup_act=np.full((B, L), -1, np.int64),
             sup_state=np.zeros((B, L, od), np.float32), sup_state_mask=np.zeros((B, L), np.uint8))
    for r, n in enumerate(lens):
        slots, sup = task_rows(task, n, goal_len, cfg, rng)
        for p, (kind, v) in enumerate(slots):
            b["kind"][r, p] = kind
            if kind == STATE:
                b["obs"][r, p] = v
            else:
                b["tok"][r, p] = v
        for p, kind, v in sup:
            if kind == TEXT:
                b["sup_text"][r, p] = v
            elif kind == ACTION:
                b["sup_act"][r, p] = v
            else:
                b["sup_state"][r, p] = v
                b["sup_state_mask"][r, p] = 1
    return b


# ---------------------------------------------------------------- model

def build(cfg, attn="sdpa", gelu="exp", step_attn="ew"):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    c2 = 2 * math.sqrt(2 / math.pi)  # tanh-GELU = x·sigmoid(c2·(x + 0.044715·x³))

    def sigmoid_u(x):
        s = x * x
        return s.mul_(-c2 * 0.044715).sub_(c2).mul_(x).exp_().add_(1).reciprocal_()

    class GeluExp(torch.autograd.Function):
        """The tanh-form GELU as x / (1 + exp(-u)): torch 1.13's CPU tanh and sigmoid are scalar
        loops, exp is vectorised (2.2x faster forward and backward, equal to 1e-15 in float64)."""

        @staticmethod
        def forward(ctx, x):
            s = sigmoid_u(x)
            ctx.save_for_backward(x, s)
            return x * s

        @staticmethod
        def backward(ctx, g):
            x, s = ctx.saved_tensors
            d = x * x
            d.mul_(3 * 0.044715 * c2).add_(c2).mul_(x).mul_(1 - s).add_(1).mul_(s)
            return d.mul_(g)

    if gelu == "exp":
        act = lambda x: GeluExp.apply(x) if x.requires_grad else sigmoid_u(x).mul_(x)
    elif gelu == "builtin":
        act = lambda x: F.gelu(x, approximate="tanh")
    else:
        raise ValueError(f"gelu {gelu!r}: want exp or builtin")
    if attn not in ("sdpa", "manual", "baddbmm"):
        raise ValueError(f"attention {attn!r}: want sdpa, manual or baddbmm")
    if step_attn not in ("ew", "bmm", "sdpa"):
        raise ValueError(f"step attention {step_attn!r}: want ew, bmm or sdpa")

    sdpa = getattr(F, "scaled_dot_product_attention", None)
    if sdpa is None:  # torch 1.13: the same kernel under its private name, returns (out, weights)
        _sdpa = F._scaled_dot_product_attention
        sdpa = lambda q, k, v, is_causal: _sdpa(q, k, v, None, 0.0, False, is_causal)[0]
    else:
        sdpa_pub = sdpa
        sdpa = lambda q, k, v, is_causal: sdpa_pub(q, k, v, is_causal=is_causal)

    class Attention(nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.h, self.hd = h, d // h
            self.c_attn = nn.Linear(d, 3 * d)
            self.c_proj = nn.Linear(d, d)
            self.attn = attn

        def forward(self, x, mask):  # x [B,T,d]; mask: additive [T,T] (baddbmm) or bool (manual)
            B, T, d = x.shape
            q, k, v = self.c_attn(x).view(B, T, 3, self.h, self.hd).permute(2, 0, 3, 1, 4).unbind(0)
            if self.attn == "sdpa":
                y = sdpa(q, k, v, True)
            elif self.attn == "manual":
                s = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))
                y = s.masked_fill(mask[:T, :T], float("-inf")).softmax(-1) @ v
            else:  # baddbmm: scale and causal mask in one call
                q3, k3 = q.reshape(B * self.h, T, self.hd), k.reshape(B * self.h, T, self.hd)
                s = torch.baddbmm(mask[:T, :T], q3, k3.transpose(1, 2), alpha=1.0 / math.sqrt(self.hd))
                y = torch.bmm(s.softmax(-1), v.reshape(B * self.h, T, self.hd)).view(B, self.h, T, self.hd)
            return self.c_proj(y.transpose(1, 2).reshape(B, T, d))

        def step(self, x, cache, t):  # one position per row: x [B,d]; cache (K, V) [B,H,ctx,hd]
            B, d = x.shape
            q, k, v = self.c_attn(x).view(B, 3, self.h, self.hd).unbind(1)
            cache[0][:, :, t] = k
            cache[1][:, :, t] = v
            K, V = cache[0][:, :, :t + 1], cache[1][:, :, :t + 1]
            if step_attn == "ew":  # [B,H,t] scores as a product and a sum: no per-row GEMV calls
                s = (q.unsqueeze(2) * K).sum(-1).mul_(1.0 / math.sqrt(self.hd)).softmax(-1)
                y = (s.unsqueeze(-1) * V).sum(2)
            elif step_attn == "sdpa":
                y = sdpa(q.unsqueeze(2), K, V, False)
            else:
                s = (q.unsqueeze(2) @ K.transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))
                y = s.softmax(-1) @ V
            return self.c_proj(y.reshape(B, d))

        def prefill(self, x, cache):  # x [B,P,d]: the prompt, causal; fills the cache's first P
            B, T, d = x.shape
            q, k, v = self.c_attn(x).view(B, T, 3, self.h, self.hd).permute(2, 0, 3, 1, 4).unbind(0)
            cache[0][:, :, :T] = k
            cache[1][:, :, :T] = v
            return self.c_proj(sdpa(q, k, v, True).transpose(1, 2).reshape(B, T, d))

    class Block(nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.ln_1 = nn.LayerNorm(d)
            self.attn = Attention(d, h)
            self.ln_2 = nn.LayerNorm(d)
            self.mlp = nn.ModuleDict(dict(c_fc=nn.Linear(d, 4 * d), c_proj=nn.Linear(4 * d, d)))

        def ff(self, x):
            return x + self.mlp.c_proj(act(self.mlp.c_fc(self.ln_2(x))))

        def forward(self, x, mask):
            return self.ff(x + self.attn(self.ln_1(x), mask))

    class TinyLM(nn.Module):
        def __init__(self, c):
            super().__init__()
            d = c["dim"]
            self.c = c
            self.wte = nn.Embedding(c["vocab"], d)
            self.act_emb = nn.Embedding(c["n_actions"], d)
            self.obs_proj = nn.Linear(c["obs_dim"], d)
            self.wpe = nn.Embedding(c["ctx"], d)
            self.wtype = nn.Embedding(3, d)
            self.h = nn.ModuleList(Block(d, c["heads"]) for _ in range(c["layers"]))
            self.ln_f = nn.LayerNorm(d)
            self.tok_head = nn.Linear(d, c["vocab"])
            self.state_head = nn.Linear(d, c["obs_dim"])
            self.act_head = nn.Linear(d, c["n_actions"])
            ctx = c["ctx"]
            causal = torch.triu(torch.ones(ctx, ctx, dtype=torch.bool), 1)
            self.register_buffer("mask_bool", causal, persistent=False)
            self.register_buffer("mask_add", torch.zeros(ctx, ctx).masked_fill(causal, float("-inf")),
                                 persistent=False)
            g = torch.Generator().manual_seed(c["seed"])
            for n, p in self.named_parameters():  # GPT-2: N(0, 0.02), residual projections / sqrt(2L)
                with torch.no_grad():
                    if n.endswith("bias"):
                        p.zero_()
                    elif ".ln_" in n or n.startswith("ln_"):
                        p.fill_(1.0)
                    else:
                        std = 0.02 / math.sqrt(2 * c["layers"]) if n.endswith("c_proj.weight") else 0.02
                        p.copy_(torch.randn(p.shape, generator=g) * std)

        def embed(self, b):
            """Input vectors [B,T,d] of a prepared batch (see prepare)."""
            B, T = b["kind"].shape
            x = torch.cat([self.wte.weight, self.act_emb.weight])[b["ids"]]  # text and action slots
            x = x.view(B * T, -1).index_copy(0, b["state_pos"], self.obs_proj(b["state_in"]))
            return x.view(B, T, -1) + self.wpe.weight[:T] + self.wtype.weight[b["kind"]]

        def losses(self, b):
            mask = self.mask_bool if self.h[0].attn.attn == "manual" else self.mask_add
            x = self.embed(b)
            for blk in self.h:
                x = blk(x, mask)
            hf = self.ln_f(x).flatten(0, 1)
            out = {}
            if b["text_pos"].numel():
                out["text"] = F.cross_entropy(self.tok_head(hf[b["text_pos"]]), b["text_tgt"])
            if b["state_pos_sup"].numel():
                out["state"] = F.mse_loss(self.state_head(hf[b["state_pos_sup"]]), b["state_tgt"])
            if b["act_pos"].numel():
                out["action"] = F.cross_entropy(self.act_head(hf[b["act_pos"]]), b["act_tgt"])
            out["total"] = out.get("text", 0) + 0.5 * out.get("state", 0) + 0.5 * out.get("action", 0)
            return out

    return TinyLM(cfg)


def prepare(b):
    """Dense numpy batch -> the index tensors the model gathers with."""
    import torch
    kind = torch.from_numpy(b["kind"])
    tok = torch.from_numpy(b["tok"])
    flat_kind = kind.flatten()
    state_pos = (flat_kind == STATE).nonzero().squeeze(1)
    sup_text = torch.from_numpy(b["sup_text"]).flatten()
    sup_act = torch.from_numpy(b["sup_act"]).flatten()
    smask = torch.from_numpy(b["sup_state_mask"]).flatten().bool()
    od = b["obs"].shape[2]
    return dict(
        kind=kind, tok=tok,
        state_pos=state_pos, state_in=torch.from_numpy(b["obs"]).view(-1, od)[state_pos],
        text_pos=(sup_text >= 0).nonzero().squeeze(1), text_tgt=sup_text[sup_text >= 0],
        act_pos=(sup_act >= 0).nonzero().squeeze(1), act_tgt=sup_act[sup_act >= 0],
        state_pos_sup=smask.nonzero().squeeze(1),
        state_tgt=torch.from_numpy(b["sup_state"]).view(-1, od)[smask],
        tokens=int(b["lens"].sum()),
    )


def with_ids(p, vocab):
    import torch
    p["ids"] = torch.where(p["kind"] == ACTION, p["tok"] + vocab, p["tok"])
    return p


def make_batches(cfg, args, rng):
    lens = dict(g2r=args.g2r_len, r2g=args.r2g_len, dyn=args.dyn_len, con=args.con_len)
    out = {}
    for task, L in lens.items():
        if L > 0:
            out[task] = make_batch(task, args.batch, L, args.goal_len, args.ragged, cfg, rng)
    return out


# ---------------------------------------------------------------- training

class Trainer:
    """AdamW (β 0.9/0.95, weight decay 0.01 on every parameter), cosine LR with
    warm-up, gradient clipping at 1.0. optim: plain | foreach | fused | flat."""

    def __init__(self, model, optim, lr=1e-3, warmup=100, total=10000):
        import torch
        self.model, self.optim = model, optim
        params = list(model.parameters())
        self.flatgrad = None
        if optim == "flat":
            n = sum(p.numel() for p in params)
            flat, grad = torch.zeros(n), torch.zeros(n)
            o = 0
            for p in params:
                k = p.numel()
                flat[o:o + k].copy_(p.data.flatten())
                p.data = flat[o:o + k].view_as(p)
                p.grad = grad[o:o + k].view_as(p)  # autograd accumulates into it in place
                o += k
            self.flat = torch.nn.Parameter(flat)
            self.flat.grad = grad
            self.flatgrad = grad
            opt_params, kw = [self.flat], dict(foreach=False)
        else:
            opt_params = params
            kw = {"plain": dict(foreach=False), "foreach": dict(foreach=True), "fused": dict(fused=True)}[optim]
        self.params = params
        self.opt = torch.optim.AdamW(opt_params, lr=lr, betas=(0.9, 0.95), weight_decay=0.01, **kw)
        sched = lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warmup) / max(1, total - warmup))))
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, sched)

    def step(self, batches):
        import torch
        if self.flatgrad is not None:
            self.flatgrad.zero_()
        else:
            self.opt.zero_grad(set_to_none=True)
        losses = {}
        for task, b in batches.items():
            out = self.model.losses(b)
            out["total"].backward()
            losses[task] = out
        if self.flatgrad is not None:
            norm = self.flatgrad.norm()
            self.flatgrad.mul_(torch.clamp(1.0 / (norm + 1e-6), max=1.0))
        else:
            norm = torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()
        self.sched.step()
        return losses, norm


# ---------------------------------------------------------------- generation

def generate(model, obs0, goal, steps):
    """Greedy rollouts: obs0 [B,obs_dim], goal [B,g] token ids. Returns actions
    [B,steps] and states [B,steps,obs_dim] (s1..sS). Under torch.inference_mode."""
    import torch
    m, c = model, model.c
    B, g = goal.shape
    P = g + 4
    d, H = c["dim"], c["heads"]
    hd = d // H
    T = P + 2 * steps
    caches = [(torch.empty(B, H, T, hd), torch.empty(B, H, T, hd)) for _ in m.h]
    wpe, wtype = m.wpe.weight, m.wtype.weight
    # prompt: BOS G2R goal SEP s0
    toks = torch.cat([torch.tensor([BOS, G2R]).expand(B, 2), goal, torch.full((B, 1), SEP)], 1)
    x = torch.cat([m.wte(toks), m.obs_proj(obs0).unsqueeze(1)], 1) + wpe[:P]
    x[:, :P - 1] += wtype[TEXT]
    x[:, P - 1] += wtype[STATE]
    for blk, cache in zip(m.h, caches):
        x = x + blk.attn.prefill(blk.ln_1(x), cache)
        x = blk.ff(x)
    h = m.ln_f(x[:, -1])
    acts = torch.empty(B, steps, dtype=torch.int64)
    states = torch.empty(B, steps, c["obs_dim"])
    t = P
    for s in range(steps):
        a = m.act_head(h).argmax(-1)
        acts[:, s] = a
        x = m.act_emb(a) + (wpe[t] + wtype[ACTION])
        for blk, cache in zip(m.h, caches):
            x = blk.ff(x + blk.attn.step(blk.ln_1(x), cache, t))
        st = m.state_head(m.ln_f(x))
        states[:, s] = st
        t += 1
        x = m.obs_proj(st) + (wpe[t] + wtype[STATE])
        for blk, cache in zip(m.h, caches):
            x = blk.ff(x + blk.attn.step(blk.ln_1(x), cache, t))
        h = m.ln_f(x)
        t += 1
    return acts, states


def generate_full(model, obs0, goal, steps):
    """The same rollouts without a cache (the whole sequence each position): the check for generate."""
    import torch
    m, c = model, model.c
    B, g = goal.shape
    toks = torch.cat([torch.tensor([BOS, G2R]).expand(B, 2), goal, torch.full((B, 1), SEP)], 1)
    kinds = [TEXT] * toks.shape[1] + [STATE]
    embs = [m.wte(toks), m.obs_proj(obs0).unsqueeze(1)]
    acts, states = [], []

    def run():
        x = torch.cat(embs, 1)
        T = x.shape[1]
        x = x + m.wpe.weight[:T] + m.wtype.weight[torch.tensor(kinds)]
        for blk in m.h:
            x = blk(x, m.mask_add if blk.attn.attn != "manual" else m.mask_bool)
        return m.ln_f(x[:, -1])

    for s in range(steps):
        a = m.act_head(run()).argmax(-1)
        acts.append(a)
        embs.append(m.act_emb(a).unsqueeze(1))
        kinds.append(ACTION)
        st = m.state_head(run())
        states.append(st)
        embs.append(m.obs_proj(st).unsqueeze(1))
        kinds.append(STATE)
    return torch.stack(acts, 1), torch.stack(states, 1)


# ---------------------------------------------------------------- measurement

def cfg_of(args):
    return dict(vocab=args.vocab, dim=args.dim, layers=args.layers, heads=args.heads, ctx=args.ctx,
                obs_dim=args.obs_dim, n_actions=args.n_actions, seed=args.seed)


def train_flops(model, batches):
    """Matrix FLOPs of one step: 3x the forward's products (blocks incl. causal attention as a
    triangle over the padded length, the obs projection, the heads on supervised rows)."""
    c = model.c
    d, L = c["dim"], c["layers"]
    f = 0
    for b in batches.values():
        B, T = b["kind"].shape
        rows = B * T
        pairs = B * T * (T + 1) // 2
        f += L * (2 * rows * d * 4 * d + 2 * 2 * pairs * d + 2 * rows * d * 8 * d)
        f += 2 * b["state_pos"].numel() * c["obs_dim"] * d
        f += 2 * d * (b["text_pos"].numel() * c["vocab"] + b["state_pos_sup"].numel() * c["obs_dim"]
                      + b["act_pos"].numel() * c["n_actions"])
    return 3 * f


def emit(rec):
    print(json.dumps(rec), flush=True)


def measure(args):
    import numpy as np
    import torch

    os.sched_setaffinity(0, {args.cpu})
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    cfg = cfg_of(args)
    env = dict(torch=torch.__version__, coretype=os.environ.get("OPENBLAS_CORETYPE", ""),
               malloc=malloc_name(), threads=torch.get_num_threads(), cpu=args.cpu)
    F = torch.nn.functional
    has = dict(sdpa_public=hasattr(F, "scaled_dot_product_attention"),
               sdpa_private=hasattr(F, "_scaled_dot_product_attention"),
               compile=hasattr(torch, "compile"),
               fused_adamw="fused" in torch.optim.AdamW.__init__.__code__.co_varnames)
    emit(dict(kind="env", **env, available=has, load=os.getloadavg()))

    rng = np.random.default_rng(args.seed)
    raw = make_batches(cfg, args, rng)
    batches = {t: with_ids(prepare(b), cfg["vocab"]) for t, b in raw.items()}
    tokens = sum(b["tokens"] for b in batches.values())
    shapes = {t: list(b["kind"].shape) for t, b in batches.items()}

    if args.only in ("train", "both"):
        variants = []
        for spec in args.train:
            parts = spec.split(",")
            if len(parts) != 3:
                sys.exit(f"--train {spec!r}: want ATTN,OPTIM,GELU, e.g. sdpa,flat,exp")
            attn, optim, gelu = parts
            if optim == "fused" and not has["fused_adamw"]:
                emit(dict(kind="skip", what=f"train {spec}", why=f"torch {torch.__version__}'s AdamW has no fused option"))
                continue
            tr = Trainer(build(cfg, attn, gelu), optim)
            for _ in range(2):
                tr.step(batches)
            variants.append(dict(spec=spec, attn=attn, optim=optim, gelu=gelu, tr=tr, wall=[], cpu=[]))
        nparams = sum(p.numel() for p in variants[0]["tr"].params)
        flops = train_flops(variants[0]["tr"].model, batches)
        emit(dict(kind="train_shape", params=nparams, tokens_per_step=tokens, shapes=shapes,
                  six_n_t_gflop=round(6 * nparams * tokens / 1e9, 3), matmul_gflop=round(flops / 1e9, 3)))
        for r in range(args.rounds):
            for v in (variants if r % 2 == 0 else variants[::-1]):
                w0, c0 = time.perf_counter(), time.process_time()
                for _ in range(args.train_steps):
                    v["tr"].step(batches)
                v["wall"].append((time.perf_counter() - w0) / args.train_steps)
                v["cpu"].append((time.process_time() - c0) / args.train_steps)
        for v in variants:
            w, cp = statistics.median(v["wall"]), statistics.median(v["cpu"])
            emit(dict(kind="train", variant=v["spec"], **env,
                      tokens_per_s=round(tokens / w), tokens_per_cpu_s=round(tokens / cp),
                      ms_per_step=round(1e3 * w, 2), cpu_ms_per_step=round(1e3 * cp, 2),
                      gflop_per_cpu_s=round(flops / cp / 1e9, 1), rounds=args.rounds, steps=args.train_steps,
                      load=round(os.getloadavg()[0], 2)))
        del variants

    if args.only in ("gen", "both"):
        g = args.prompt_len - 4
        if g < 1:
            sys.exit(f"--prompt-len {args.prompt_len}: BOS G2R goal SEP s0 needs at least 5")
        if args.prompt_len + 2 * args.gen_steps > args.ctx:
            sys.exit(f"--prompt-len {args.prompt_len} + 2 x --gen-steps {args.gen_steps}: beyond --ctx {args.ctx}")
        B = args.gen_batch
        goal = torch.from_numpy(rng.integers(N_SPECIAL, cfg["vocab"], (B, g)))
        obs0 = torch.from_numpy(rng.standard_normal((B, cfg["obs_dim"])).astype("float32"))
        models = []
        with torch.inference_mode():
            for spec in args.gen:
                parts = spec.split(",")
                if len(parts) != 2:
                    sys.exit(f"--gen {spec!r}: want ATTN,GELU, e.g. ew,exp")
                m = build(cfg, "sdpa", parts[1], parts[0]).eval()
                a1, s1 = generate(m, obs0[:8], goal[:8], args.gen_steps)
                a2, s2 = generate_full(m, obs0[:8], goal[:8], args.gen_steps)
                err = (s1 - s2).abs().max().item()
                if not torch.equal(a1, a2) or err > 1e-4:
                    sys.exit(f"generate ({spec}) with the cache differs from the full forward: "
                             f"actions equal {torch.equal(a1, a2)}, max state error {err}")
                generate(m, obs0, goal, args.gen_steps)
                models.append(dict(spec=spec, m=m, wall=[], cpu=[], check=err))
            for r in range(args.rounds):
                for v in (models if r % 2 == 0 else models[::-1]):
                    w0, c0 = time.perf_counter(), time.process_time()
                    for _ in range(args.gen_reps):
                        generate(v["m"], obs0, goal, args.gen_steps)
                    v["wall"].append((time.perf_counter() - w0) / args.gen_reps)
                    v["cpu"].append((time.process_time() - c0) / args.gen_reps)
        for v in models:
            w, cp = statistics.median(v["wall"]), statistics.median(v["cpu"])
            emit(dict(kind="gen", variant=v["spec"], **env, rollouts_per_s=round(B / w, 1),
                      rollouts_per_cpu_s=round(B / cp, 1), ms_per_generation=round(1e3 * w, 2),
                      cpu_ms_per_generation=round(1e3 * cp, 2), batch=B, steps=args.gen_steps,
                      prompt=args.prompt_len, positions=args.prompt_len + 2 * args.gen_steps,
                      cache_check_max_err=v["check"], rounds=args.rounds, reps=args.gen_reps,
                      load=round(os.getloadavg()[0], 2)))

    if args.compile:
        if not has["compile"]:
            emit(dict(kind="skip", what="torch.compile", why=f"torch {torch.__version__} has no torch.compile (2.0+)"))
        else:
            try:
                m = torch.compile(build(cfg, "sdpa"))
                tr = Trainer(m, "flat")
                tr.step(batches)
                w0 = time.perf_counter()
                for _ in range(args.train_steps):
                    tr.step(batches)
                w = (time.perf_counter() - w0) / args.train_steps
                emit(dict(kind="train", variant="sdpa,flat,exp+compile", **env, tokens_per_s=round(tokens / w)))
            except Exception as e:  # report what happened, as the brief asks
                emit(dict(kind="skip", what="torch.compile", why=f"{type(e).__name__}: {e}"[:300]))


def vs_go(args):
    """Per round: torch (train, then generate), then Go (GroundStep, then Generate), the order
    swapped every round; ratios per round of the per-CPU-second figures."""
    import resource

    import numpy as np
    import torch

    os.sched_setaffinity(0, {args.cpu})
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    cfg = cfg_of(args)
    rng = np.random.default_rng(args.seed)
    batches = {t: with_ids(prepare(b), cfg["vocab"]) for t, b in make_batches(cfg, args, rng).items()}
    tokens = sum(b["tokens"] for b in batches.values())
    attn, optim, gelu = args.train[0].split(",")
    tr = Trainer(build(cfg, attn, gelu), optim)
    gattn, ggelu = args.gen[0].split(",")
    B, g = args.gen_batch, args.prompt_len - 4
    goal = torch.from_numpy(rng.integers(N_SPECIAL, cfg["vocab"], (B, g)))
    obs0 = torch.from_numpy(rng.standard_normal((B, cfg["obs_dim"])).astype("float32"))
    gm = build(cfg, "sdpa", ggelu, gattn).eval()
    for _ in range(2):
        tr.step(batches)
    with torch.inference_mode():
        generate(gm, obs0, goal, args.gen_steps)
    testbin = os.path.abspath(args.go)

    def go(bench):
        """(CPU s per op, wall s per op) from runs at N=2 and N=go_n."""
        cpu, wall = [], []
        for k in (2, args.go_n):
            cmd = [testbin, "-test.run", "^$", "-test.bench", f"^{bench}$", "-test.benchtime", f"{k}x"]
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            w0 = time.perf_counter()
            out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=dict(os.environ, GOMAXPROCS="1"))
            wall.append(time.perf_counter() - w0)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if out.returncode != 0:
                sys.exit(f"{' '.join(cmd)}: exit {out.returncode}:\n{out.stdout}")
            cpu.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
        n = args.go_n - 2
        return (cpu[1] - cpu[0]) / n, (wall[1] - wall[0]) / n

    def torch_train():
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(args.train_steps):
            tr.step(batches)
        return (time.process_time() - c0) / args.train_steps, (time.perf_counter() - w0) / args.train_steps

    def torch_gen():
        w0, c0 = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            for _ in range(args.gen_reps):
                generate(gm, obs0, goal, args.gen_steps)
        return (time.process_time() - c0) / args.gen_reps, (time.perf_counter() - w0) / args.gen_reps

    emit(dict(kind="vs_go", torch=torch.__version__, coretype=os.environ.get("OPENBLAS_CORETYPE", ""),
              malloc=malloc_name(), train=args.train[0], gen=args.gen[0], go=args.go, go_n=args.go_n,
              tokens_per_step=tokens, gen_batch=B, cpu=args.cpu, load=os.getloadavg()))
    rows = []
    for r in range(args.rounds):
        if r % 2 == 0:
            tt, tg = torch_train(), torch_gen()
            gt, gg = go("BenchmarkGroundStep"), go("BenchmarkGenerate")
        else:
            gt, gg = go("BenchmarkGroundStep"), go("BenchmarkGenerate")
            tt, tg = torch_train(), torch_gen()
        row = dict(kind="round", round=r,
                   torch_tokens_per_cpu_s=round(tokens / tt[0]), go_tokens_per_cpu_s=round(tokens / gt[0]),
                   train_ratio_cpu=round(tt[0] / gt[0], 3),
                   torch_rollouts_per_cpu_s=round(B / tg[0], 1), go_rollouts_per_cpu_s=round(B / gg[0], 1),
                   gen_ratio_cpu=round(tg[0] / gg[0], 3),
                   train_ratio_wall=round(tt[1] / gt[1], 3), gen_ratio_wall=round(tg[1] / gg[1], 3),
                   load=round(os.getloadavg()[0], 2))
        rows.append(row)
        emit(row)
    summary = {}
    for k in rows[0]:
        if k not in ("kind", "round", "load"):
            xs = [x[k] for x in rows]
            summary[k] = [round(statistics.median(xs), 3), min(xs), max(xs)]
    emit(dict(kind="vs_go_summary", rounds=len(rows), median_min_max=summary))


def sweep(args):
    """One child process per OPENBLAS_CORETYPE x malloc setting, the list run twice, the second
    time in reverse order; then the best setting per measurement."""
    passthru = [a for a in sys.argv[1:] if a != "--sweep"]
    combos = [(ct, ma) for ct in CORETYPES for ma in MALLOCS]
    recs = []
    for rep, order in enumerate((combos, combos[::-1])):
        for ct, ma in order:
            env = {k: v for k, v in os.environ.items() if k != "KALM_TINYLM_ENV"}
            cmd = [sys.executable, os.path.abspath(__file__)] + passthru + ["--coretype", ct, "--malloc", ma]
            out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=True).stdout
            for line in out.splitlines():
                sys.stdout.write(line + "\n")
                rec = json.loads(line)
                rec["pass"] = rep
                recs.append(rec)
            sys.stdout.flush()
    for kind, key in (("train", "tokens_per_cpu_s"), ("gen", "rollouts_per_cpu_s")):
        rs = [r for r in recs if r["kind"] == kind]
        if not rs:
            continue
        groups = {}
        for r in rs:
            groups.setdefault((r["coretype"], r["malloc"], r["variant"]), []).append(r[key])
        best = max(groups, key=lambda k: statistics.median(groups[k]))
        emit(dict(kind=f"best_{kind}", coretype=best[0], malloc=best[1], variant=best[2],
                  **{key: round(statistics.median(groups[best]), 1)},
                  table={"|".join(k): [round(x, 1) for x in v] for k, v in sorted(groups.items())}))


# ---------------------------------------------------------------- golden

def golden(args):
    """Tiny config (d=16, 1 layer, 2 heads, vocab 20, ragged rows): initial parameters, the four
    micro-batches, each task's losses, the gradients of their sum, and the parameters after one
    AdamW step (constant lr 1e-3, clip 1.0). Computed in float64 from float32 values."""
    import numpy as np
    import torch
    out = args.golden
    cfg = dict(vocab=20, dim=16, layers=1, heads=2, ctx=32, obs_dim=args.obs_dim,
               n_actions=args.n_actions, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    lens = dict(g2r=13, r2g=14, dyn=4, con=8)
    raw = {t: make_batch(t, 3, L, 3, True, cfg, rng) for t, L in lens.items()}
    torch.set_default_dtype(torch.float64)
    model = build(cfg, "manual")
    g = torch.Generator().manual_seed(args.seed + 1)
    for n, p in model.named_parameters():  # non-trivial values (GPT-2's init has unit gains, zero
        with torch.no_grad():              # biases), float32 values, float64 arithmetic
            r = torch.randn(p.shape, generator=g)
            if ".ln_" in n or n.startswith("ln_"):
                p.copy_(1 + 0.2 * r if n.endswith("weight") else 0.2 * r)
            else:
                p.copy_(0.3 * r if n.endswith("weight") else 0.1 * r)
        p.data = p.data.float().double()
    for b in raw.values():
        for k in ("obs", "sup_state"):
            b[k] = b[k].astype(np.float64)
    batches = {t: with_ids(prepare(b), cfg["vocab"]) for t, b in raw.items()}

    def save(path, t):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        a = t.detach().numpy() if hasattr(t, "detach") else t
        np.save(path, a.astype("<f4") if a.dtype.kind == "f" else a.astype("<i8") if a.dtype.kind in "iu" and a.dtype != np.uint8 else a)

    names = [n for n, _ in model.named_parameters()]
    for n, p in model.named_parameters():
        save(os.path.join(out, "params", n + ".npy"), p)
    for t, b in raw.items():
        for k, v in b.items():
            save(os.path.join(out, "batch", t, k + ".npy"), v)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.01, foreach=False)
    losses, total = {}, 0.0
    for t, b in batches.items():
        o = model.losses(b)
        o["total"].backward()
        losses[t] = {k: float(v) for k, v in o.items()}
        total += float(o["total"])
    for n, p in model.named_parameters():
        save(os.path.join(out, "grads", n + ".npy"), p.grad)
    norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0))
    opt.step()
    for n, p in model.named_parameters():
        save(os.path.join(out, "step1", n + ".npy"), p)
    manifest = dict(
        config=cfg, special=dict(PAD=PAD, BOS=BOS, EOS=EOS, SEP=SEP, G2R=G2R, R2G=R2G, DYN=DYN, CON=CON),
        kinds=dict(text=TEXT, state=STATE, action=ACTION),
        tasks={t: dict(batch=int(b["lens"].shape[0]), T=int(b["kind"].shape[1]), lens=b["lens"].tolist())
               for t, b in raw.items()},
        losses=losses, total_loss=total, grad_norm=norm,
        optim=dict(name="AdamW", lr=1e-3, betas=[0.9, 0.95], eps=1e-8, weight_decay=0.01,
                   weight_decay_on="every parameter", clip_norm=1.0),
        params=names,
        notes=["Linear weights are [out, in] as in torch; attn.c_attn is q, k, v stacked on the out axis",
               "GELU is the tanh approximation; LayerNorm eps 1e-5",
               "input at a position = wte[tok] (text) | act_emb[tok] (action) | obs_proj(obs) (state), "
               "+ wpe[position] + wtype[kind]",
               "the hidden state at position p predicts sup_*[p]; a task's loss = text CE + 0.5 state MSE "
               "(mean over elements) + 0.5 action CE, each a mean over its supervised positions; "
               "grads are of the sum of the four tasks' losses, before clipping"])
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    emit(dict(kind="golden", dir=out, params=sum(p.numel() for p in model.parameters()), total_loss=total,
              grad_norm=norm))


def main():
    args = parse_args()
    if args.golden:
        golden(args)
        return
    if args.sweep:
        sweep(args)
        return
    reexec(args)
    if args.go:
        vs_go(args)
        return
    measure(args)


if __name__ == "__main__":
    main()
