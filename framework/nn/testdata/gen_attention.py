#!/usr/bin/python3
"""Writes the torch fixtures for attention_test.go's golden tests.

Run with Debian's /usr/bin/python3 (torch 1.13) from this directory:

    /usr/bin/python3 gen_attention.py

attention.json: torch.nn.MultiheadAttention (batch_first, causal bool mask,
key_padding_mask from the lengths) on fixed weights and inputs.
block.json: a pre-LayerNorm GPT block written out with torch modules
(LayerNorm, MultiheadAttention, Linear, GELU(approximate="tanh")).

Inputs and weights are drawn in float32 and the reference is computed in
float64. The loss is sum(coef * out * valid), valid masking padding rows (the
Go layer zeroes a padding row's attention context, torch lets it attend to the
valid keys; the two agree on everything this loss sees). Each case records the
inputs, parameters under the Go names, the output and the gradients of the
loss with respect to the input and every parameter.
"""
import json

import torch

torch.manual_seed(0)


def f32(t):
    return t.float().double()


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def masks(B, T, lens):
    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    if lens is None:
        return causal, None, torch.ones(B, T, dtype=torch.float64)
    ar = torch.arange(T)[None, :]
    pad = ar >= torch.tensor(lens)[:, None]
    return causal, pad, (~pad).double()


def make_mha(D, H, std):
    mha = torch.nn.MultiheadAttention(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for p in mha.parameters():
            p.copy_(f32(torch.randn(p.shape) * std))
    return mha


def mha_params(prefix, mha):
    return {
        prefix + "c_attn.weight": mha.in_proj_weight,
        prefix + "c_attn.bias": mha.in_proj_bias,
        prefix + "c_proj.weight": mha.out_proj.weight,
        prefix + "c_proj.bias": mha.out_proj.bias,
    }


def record(name, B, T, D, H, lens, x, coef, params, fn):
    causal, pad, valid = masks(B, T, lens)
    x = x.clone().requires_grad_(True)
    out = fn(x, causal, pad)
    loss = (out * coef * valid[:, :, None]).sum()
    loss.backward()
    return {
        "name": name, "B": B, "T": T, "Dim": D, "Heads": H, "lens": lens,
        "x": flat(x), "coef": flat(coef),
        "params": {k: flat(p) for k, p in params.items()},
        "out": flat(out), "dx": flat(x.grad),
        "grads": {k: flat(p.grad) for k, p in params.items()},
    }


def attention_case(name, B, T, D, H, lens):
    mha = make_mha(D, H, 0.3)
    x = f32(torch.randn(B, T, D))
    coef = f32(torch.randn(B, T, D))
    params = mha_params("attn.", mha)

    def fn(x, causal, pad):
        return mha(x, x, x, attn_mask=causal, key_padding_mask=pad, need_weights=False)[0]

    return record(name, B, T, D, H, lens, x, coef, params, fn)


def block_case(name, B, T, D, H, lens):
    ln1 = torch.nn.LayerNorm(D, dtype=torch.float64)
    ln2 = torch.nn.LayerNorm(D, dtype=torch.float64)
    fc = torch.nn.Linear(D, 4 * D, dtype=torch.float64)
    proj = torch.nn.Linear(4 * D, D, dtype=torch.float64)
    mha = make_mha(D, H, 0.2)
    with torch.no_grad():
        for m in (ln1, ln2):
            m.weight.copy_(f32(1 + 0.2 * torch.randn(D)))
            m.bias.copy_(f32(0.2 * torch.randn(D)))
        for m in (fc, proj):
            m.weight.copy_(f32(torch.randn(m.weight.shape) * 0.2))
            m.bias.copy_(f32(torch.randn(m.bias.shape) * 0.2))
    x = f32(torch.randn(B, T, D))
    coef = f32(torch.randn(B, T, D))
    params = {"ln_1.weight": ln1.weight, "ln_1.bias": ln1.bias}
    params.update(mha_params("attn.", mha))
    params.update({
        "ln_2.weight": ln2.weight, "ln_2.bias": ln2.bias,
        "mlp.c_fc.weight": fc.weight, "mlp.c_fc.bias": fc.bias,
        "mlp.c_proj.weight": proj.weight, "mlp.c_proj.bias": proj.bias,
    })

    def fn(x, causal, pad):
        a = ln1(x)
        h = x + mha(a, a, a, attn_mask=causal, key_padding_mask=pad, need_weights=False)[0]
        g = torch.nn.functional.gelu(fc(ln2(h)), approximate="tanh")
        return h + proj(g)

    return record(name, B, T, D, H, lens, x, coef, params, fn)


def main():
    att = [
        attention_case("causal", 2, 6, 8, 2, None),
        # T > 32 crosses the Go layer's query-row blocks; the lengths end in
        # the second block, in the first, and at T.
        attention_case("padded", 3, 37, 8, 2, [37, 34, 5]),
    ]
    blk = [block_case("block_padded", 2, 35, 16, 4, [35, 20])]
    for fname, cases in (("attention.json", att), ("block.json", blk)):
        with open(fname, "w") as f:
            json.dump({"cases": cases}, f)
            f.write("\n")


if __name__ == "__main__":
    main()
