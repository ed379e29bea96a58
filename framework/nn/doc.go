// Package nn is a small float32 neural-network core for the offline RL
// algorithms and the in-process language model.
//
// Tensors are row-major [Mat] views over []float32. Matrix products ([Gemm])
// run on this package's packed single-threaded SGEMM with assembly
// micro-kernels (generated AVX-512 ones for every tile up to 12×32, or an
// AVX2 6×16 one, chosen at run time) where the CPU has AVX2 and FMA, on
// gonum's blas32 otherwise (in pieces small enough for its serial path), and
// on OpenBLAS through gonum/netlib when built with `-tags openblas` (see
// [Backend] and [PluginEnv]). Adam, ReLU, bias gradients, softmax's maximum
// and exponentials ([Max]), tanh, GELU and LayerNorm also have AVX2 kernels,
// and [Exp32], [Tanh32], [Log32] and [Log1p32] are float32 versions of the
// math package's functions ([ExpTo], [TanhTo] and [Log1pTo] apply them to
// slices with AVX2, bit for bit). Every layer keeps its own preallocated
// activation and gradient buffers, which grow to the largest batch seen and
// are reused afterwards, so a training step performs no heap allocation once
// warmed up. [MLP.Hold] packs an MLP's weights once for a run of products on
// chunks of a large batch; [MLP.Track] keeps a target network's weights
// packed between the Polyak updates of [MLP.PolyakFrom].
//
// Conventions, chosen to match PyTorch so that weights can be compared
// element by element with torch fixtures:
//
//   - A [Linear] weight is stored [out, in] (torch layout) and computes
//     y = x·Wᵀ + b; it is initialised as torch.nn.Linear does
//     (uniform in ±1/√in for weights and bias).
//   - Gradients accumulate into Param.Grad (as torch's .grad) until
//     [ZeroGrad] is called. [MLP.ZeroGrad] defers the clearing to each
//     layer's next backward, which then writes its gradients instead of
//     adding them to zeros; optimisers and [ClipGradNorm] clear what is
//     still pending before reading, and [MLP.Settle] does it on request.
//   - Forward saves what Backward needs; a layer supports one Forward
//     followed by at most one Backward at a time. To evaluate a network on
//     several inputs in one loss, stack the inputs into one batch.
//   - Backward may overwrite the gradient it is given (in-place activation
//     derivatives).
//
// Transformer building blocks for the in-process language model: [GELU]
// (torch's tanh approximation, computed with float32 exp/tanh kernels),
// causal multi-head self-attention [Attention] and the pre-LayerNorm block
// [Block] (x + Attn(LN(x)), then x + MLP(LN(x)) with a GELU MLP of width
// 4·Dim and optional residual dropout; nanoGPT's parameter names, and
// [Block.InitGPT2] for GPT-2's initialisation). They take a batch of B
// sequences of T tokens as [B·T, Dim] rows and optional per-sequence lengths
// for right padding. Attention's QKV and output projections match
// torch.nn.MultiheadAttention's in_proj and out_proj; it works on a
// head-major copy of q, k and v and, per (sequence, head), multiplies blocks
// of 32 query rows by only the keys the causal mask lets them see (56% of
// the full T×T products at T = 256, 75% at T = 64).
//
// Optimisers ([Adam], with decoupled weight decay for AdamW), global-norm
// gradient clipping ([ClipGradNorm]) and a cosine learning-rate schedule
// ([Cosine]) follow torch.optim's arithmetic.
//
// [ProductFLOPs] counts the work of every matrix product (2·m·n·k), so a
// benchmark reports the GFLOP/s of what a step really multiplies.
package nn
