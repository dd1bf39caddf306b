"""Diffuser's temporal U-Net and value function in PyTorch, for parity tests and baselines.

The architecture (Janner et al. 2022; layer structure as in docs/ALGORITHMS.md
§1.1-1.3) is written here in plain PyTorch with the same `state_dict` key names as the original
code, so that names match what real Diffuser checkpoints use.

  reference  builds a randomly initialised module and writes the parity oracle of the Rust
             tests into --out: weights.safetensors (state_dict, float32), module.pt (TorchScript,
             torch.jit.trace) and cases.safetensors (inputs `x` [B, H, T], `t` [B] int64 and
             PyTorch's output `y`).
  export     adds module.pt, a TorchScript export, to a diffplan checkpoint folder: builds the
             architecture its manifest.toml names, loads weights.safetensors strictly, traces.
  bench      times PyTorch eager forward passes of a checkpoint's network (the baseline of
             `diffplan bench forward`); prints one JSON object per batch size.
  train-bench
             times Diffuser's training step (x0 loss with start and goal inpainted, Adam,
             clipping, EMA) on a checkpoint's network (the baseline of `diffplan bench train`).

Usage:
  python diffuser_torch.py reference --arch unet --transition 6 --horizon 128 --mults 1,4,8 \
      --out DIR [--attention] [--batch 3] [--steps 64] [--seed 0]
  python diffuser_torch.py export CHECKPOINT_DIR
  python diffuser_torch.py bench CHECKPOINT_DIR --batches 1,32 --iters 20 --threads 2
  python diffuser_torch.py train-bench CHECKPOINT_DIR --action-dim 2 [--stride 12] [--batch 32]
"""

import argparse
import json
import math
import os
import statistics
import time
import tomllib
import warnings

import torch
from safetensors.torch import load_file, save_file
from torch import nn


class SinusoidalPosEmb(nn.Module):
    """[B] step -> [B, dim]: sin block then cos block, freq_k = exp(-k ln(1e4) / (half - 1))."""

    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, t):
        half = self.dim // 2
        freqs = torch.exp(torch.arange(half, device=t.device) * (-math.log(10000) / (half - 1)))
        angles = t.float()[:, None] * freqs[None, :]
        return torch.cat((angles.sin(), angles.cos()), dim=-1)


class Conv1dBlock(nn.Module):
    """Conv1d(k, same padding) -> GroupNorm(8) over [B, C, 1, H] -> Mish."""

    def __init__(self, c_in, c_out, kernel):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2),
            nn.Unflatten(2, (1, -1)),
            nn.GroupNorm(8, c_out),
            nn.Flatten(2, 3),
            nn.Mish(),
        )

    def forward(self, x):
        return self.block(x)


class ResidualTemporalBlock(nn.Module):
    """Two conv blocks; the time embedding is added after the first; 1x1 conv residual."""

    def __init__(self, c_in, c_out, embed_dim, kernel=5):
        super().__init__()
        self.blocks = nn.ModuleList([Conv1dBlock(c_in, c_out, kernel), Conv1dBlock(c_out, c_out, kernel)])
        self.time_mlp = nn.Sequential(nn.Mish(), nn.Linear(embed_dim, c_out), nn.Unflatten(1, (c_out, 1)))
        self.residual_conv = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, t):
        h = self.blocks[0](x) + self.time_mlp(t)
        h = self.blocks[1](h)
        return h + self.residual_conv(x)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel axis of [B, C, H], eps 1e-5, parameters g and b of [1, C, 1]."""

    def __init__(self, dim):
        super().__init__()
        self.g = nn.Parameter(torch.ones(1, dim, 1))
        self.b = nn.Parameter(torch.zeros(1, dim, 1))

    def forward(self, x):
        var = torch.var(x, dim=1, unbiased=False, keepdim=True)
        mean = torch.mean(x, dim=1, keepdim=True)
        return (x - mean) / (var + 1e-5).sqrt() * self.g + self.b


class LinearAttention(nn.Module):
    """4 heads of 32; softmax of keys over the sequence; out = (k v^T)^T q."""

    def __init__(self, dim, heads=4, dim_head=32):
        super().__init__()
        self.heads = heads
        self.dim_head = dim_head
        self.to_qkv = nn.Conv1d(dim, heads * dim_head * 3, 1, bias=False)
        self.to_out = nn.Conv1d(heads * dim_head, dim, 1)

    def forward(self, x):
        b, _, n = x.shape
        q, k, v = (u.reshape(b, self.heads, self.dim_head, n) for u in self.to_qkv(x).chunk(3, dim=1))
        q = q * self.dim_head**-0.5
        k = k.softmax(dim=-1)
        context = torch.einsum("bhdn,bhen->bhde", k, v)
        out = torch.einsum("bhde,bhdn->bhen", context, q)
        return self.to_out(out.reshape(b, self.heads * self.dim_head, n))


class PreNorm(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.fn = fn
        self.norm = ChannelLayerNorm(dim)

    def forward(self, x):
        return self.fn(self.norm(x))


class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x) + x


def attention_or_identity(dim, attention):
    return Residual(PreNorm(dim, LinearAttention(dim))) if attention else nn.Identity()


class Downsample1d(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, 3, 2, 1)

    def forward(self, x):
        return self.conv(x)


class Upsample1d(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv = nn.ConvTranspose1d(dim, dim, 4, 2, 1)

    def forward(self, x):
        return self.conv(x)


def time_mlp(dim):
    return nn.Sequential(SinusoidalPosEmb(dim), nn.Linear(dim, dim * 4), nn.Mish(), nn.Linear(dim * 4, dim))


def channel_pairs(transition, dim, mults):
    dims = [transition] + [dim * m for m in mults]
    return list(zip(dims[:-1], dims[1:]))


class TemporalUnet(nn.Module):
    """x [B, H, T], t [B] -> [B, H, T]."""

    def __init__(self, transition, dim, mults, attention):
        super().__init__()
        pairs = channel_pairs(transition, dim, mults)
        self.time_mlp = time_mlp(dim)
        self.downs = nn.ModuleList()
        for level, (c_in, c_out) in enumerate(pairs):
            last = level == len(pairs) - 1
            self.downs.append(nn.ModuleList([
                ResidualTemporalBlock(c_in, c_out, dim),
                ResidualTemporalBlock(c_out, c_out, dim),
                attention_or_identity(c_out, attention),
                nn.Identity() if last else Downsample1d(c_out),
            ]))
        mid = pairs[-1][1]
        self.mid_block1 = ResidualTemporalBlock(mid, mid, dim)
        self.mid_attn = attention_or_identity(mid, attention)
        self.mid_block2 = ResidualTemporalBlock(mid, mid, dim)
        self.ups = nn.ModuleList()
        for c_in, c_out in reversed(pairs[1:]):
            self.ups.append(nn.ModuleList([
                ResidualTemporalBlock(c_out * 2, c_in, dim),
                ResidualTemporalBlock(c_in, c_in, dim),
                attention_or_identity(c_in, attention),
                Upsample1d(c_in),
            ]))
        self.final_conv = nn.Sequential(Conv1dBlock(dim, dim, 5), nn.Conv1d(dim, transition, 1))

    def forward(self, x, t):
        x = x.transpose(1, 2)
        temb = self.time_mlp(t)
        skips = []
        for block1, block2, attn, down in self.downs:
            x = attn(block2(block1(x, temb), temb))
            skips.append(x)
            x = down(x)
        x = self.mid_block2(self.mid_attn(self.mid_block1(x, temb)), temb)
        for block1, block2, attn, up in self.ups:
            x = torch.cat((x, skips.pop()), dim=1)
            x = up(attn(block2(block1(x, temb), temb)))
        return self.final_conv(x).transpose(1, 2)


class ValueFunction(nn.Module):
    """x [B, H, T], t [B] -> [B, 1]. The flattened width uses the true length after every
    stride-2 convolution (ceil halving), which equals Diffuser's formula where Diffuser runs."""

    def __init__(self, transition, horizon, dim, mults):
        super().__init__()
        pairs = channel_pairs(transition, dim, mults)
        self.time_mlp = time_mlp(dim)
        self.blocks = nn.ModuleList()
        length = horizon
        for c_in, c_out in pairs:
            self.blocks.append(nn.ModuleList([
                ResidualTemporalBlock(c_in, c_out, dim),
                ResidualTemporalBlock(c_out, c_out, dim),
                Downsample1d(c_out),
            ]))
            length = (length + 1) // 2
        mid = pairs[-1][1]
        self.mid_block1 = ResidualTemporalBlock(mid, mid // 2, dim)
        self.mid_down1 = Downsample1d(mid // 2)
        self.mid_block2 = ResidualTemporalBlock(mid // 2, mid // 4, dim)
        self.mid_down2 = Downsample1d(mid // 4)
        length = (((length + 1) // 2) + 1) // 2
        fc = mid // 4 * length
        self.final_block = nn.Sequential(nn.Linear(fc + dim, fc // 2), nn.Mish(), nn.Linear(fc // 2, 1))

    def forward(self, x, t):
        x = x.transpose(1, 2)
        temb = self.time_mlp(t)
        for block1, block2, down in self.blocks:
            x = down(block2(block1(x, temb), temb))
        x = self.mid_down1(self.mid_block1(x, temb))
        x = self.mid_down2(self.mid_block2(x, temb))
        return self.final_block(torch.cat((x.flatten(1), temb), dim=-1))


def perturb_norm_parameters(module, generator):
    """Default GroupNorm/LayerNorm affine parameters are 1 and 0; randomise them so that a
    loader that skipped them would fail the parity check."""
    with torch.no_grad():
        for name, param in module.named_parameters():
            if name.endswith((".g", ".b")) or ".block.2." in name:
                param.add_(0.2 * torch.randn(param.shape, generator=generator))


def trace(module, x, t):
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.trace(module, (x, t))


def reference(args):
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed + 1)
    if args.arch == "unet":
        module = TemporalUnet(args.transition, args.dim, args.mults, args.attention)
    else:
        module = ValueFunction(args.transition, args.horizon, args.dim, args.mults)
    perturb_norm_parameters(module, generator)
    module = module.eval()

    x = torch.randn(args.batch, args.horizon, args.transition, generator=generator)
    t = torch.randint(0, args.steps, (args.batch,), generator=generator)
    with torch.no_grad():
        y = module(x, t)
    traced = trace(module, x, t)

    os.makedirs(args.out, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
    save_file(state, os.path.join(args.out, "weights.safetensors"))
    traced.save(os.path.join(args.out, "module.pt"))
    save_file({"x": x, "t": t, "y": y.contiguous()}, os.path.join(args.out, "cases.safetensors"))


def load_checkpoint(checkpoint):
    """The module a diffplan checkpoint folder describes, with its weights, and its spec."""
    with open(os.path.join(checkpoint, "manifest.toml"), "rb") as f:
        manifest = tomllib.load(f)
    spec, arch = manifest["spec"], manifest["architecture"]
    transition = spec["action_dim"] + spec["observation_dim"]
    dim = arch.get("dim", 32)
    if arch["kind"] == "temporal_unet":
        module = TemporalUnet(transition, dim, arch["dim_mults"], arch.get("attention", False))
    elif arch["kind"] == "value_function":
        module = ValueFunction(transition, spec["horizon"], dim, arch["dim_mults"])
    else:
        raise SystemExit(f"unknown architecture kind {arch['kind']!r} in manifest.toml")
    module.load_state_dict(load_file(os.path.join(checkpoint, "weights.safetensors")), strict=True)
    return module.eval(), spec["horizon"], transition, spec["diffusion_steps"]


def export(args):
    module, horizon, transition, _ = load_checkpoint(args.checkpoint)
    x = torch.zeros(1, horizon, transition)
    t = torch.zeros(1, dtype=torch.long)
    staged = os.path.join(args.checkpoint, "module.pt.partial")
    trace(module, x, t).save(staged)
    os.replace(staged, os.path.join(args.checkpoint, "module.pt"))


def bench(args):
    torch.set_num_threads(args.threads)
    module, horizon, transition, steps = load_checkpoint(args.checkpoint)
    generator = torch.Generator().manual_seed(0)
    for batch in args.batches:
        x = torch.randn(batch, horizon, transition, generator=generator)
        t = torch.randint(0, steps, (batch,), generator=generator)
        times = []
        with torch.no_grad():
            for i in range(args.warmup + args.iters):
                start = time.perf_counter()
                module(x, t)
                if i >= args.warmup:
                    times.append(time.perf_counter() - start)
        print(json.dumps({"batch": batch, "median_ms": 1e3 * statistics.median(times)}), flush=True)


def train_bench(args):
    """Diffuser's training step on the checkpoint's network: B windows drawn from a data table,
    q_sample, start and goal inpainted, x0 loss, backward, gradient clipping, Adam, EMA every 10
    steps. Prints the median step time."""
    torch.set_num_threads(args.threads)
    module, horizon, transition, steps = load_checkpoint(args.checkpoint)
    module.train()
    ema = [p.detach().clone() for p in module.parameters()]
    optimizer = torch.optim.Adam(module.parameters(), lr=2e-4)
    generator = torch.Generator().manual_seed(0)
    data = torch.rand(args.rows, transition, generator=generator) * 2 - 1
    s = 0.008
    f = torch.cos(((torch.arange(steps + 1, dtype=torch.float64) / steps + s) / (1 + s)) * math.pi / 2) ** 2
    alpha_bar = (f / f[0]).clamp(min=1e-12)
    betas = (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)
    alphas_cumprod = torch.cumprod(1 - betas, 0)
    signal, noise = alphas_cumprod.sqrt().float(), (1 - alphas_cumprod).sqrt().float()
    mask = torch.zeros(1, horizon, transition)
    mask[:, [0, horizon - 1], args.action_dim:] = 1.0
    span = (horizon - 1) * args.stride + 1
    offsets = torch.arange(horizon) * args.stride
    times = []
    for i in range(args.warmup + args.iters):
        start = time.perf_counter()
        starts = torch.randint(0, args.rows - span, (args.batch,), generator=generator)
        x0 = data[(starts[:, None] + offsets).reshape(-1)].view(args.batch, horizon, transition)
        t = torch.randint(0, steps, (args.batch,), generator=generator)
        eps = torch.randn(x0.shape, generator=generator)
        x_t = signal[t].view(-1, 1, 1) * x0 + noise[t].view(-1, 1, 1) * eps
        x_t = x_t * (1 - mask) + x0 * mask
        prediction = module(x_t, t) * (1 - mask) + x0 * mask
        loss = ((prediction - x0) ** 2).mean()
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        optimizer.step()
        if (i + 1) % 10 == 0:
            with torch.no_grad():
                for average, p in zip(ema, module.parameters()):
                    average.mul_(0.995).add_(p.detach(), alpha=0.005)
        float(loss)
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    print(json.dumps({"batch": args.batch, "median_ms": 1e3 * statistics.median(times)}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    ref = commands.add_parser("reference", help="write a parity test case")
    ref.add_argument("--arch", choices=["unet", "value"], required=True)
    ref.add_argument("--transition", type=int, required=True)
    ref.add_argument("--horizon", type=int, required=True)
    ref.add_argument("--mults", type=lambda s: [int(m) for m in s.split(",")], required=True)
    ref.add_argument("--dim", type=int, default=32)
    ref.add_argument("--attention", action="store_true")
    ref.add_argument("--batch", type=int, default=3)
    ref.add_argument("--steps", type=int, default=64, help="training diffusion steps N (t < N)")
    ref.add_argument("--seed", type=int, default=0)
    ref.add_argument("--out", required=True)
    exp = commands.add_parser("export", help="add module.pt to a checkpoint folder")
    exp.add_argument("checkpoint")
    ben = commands.add_parser("bench", help="time PyTorch eager forward passes")
    ben.add_argument("checkpoint")
    ben.add_argument("--batches", type=lambda s: [int(b) for b in s.split(",")], default=[1, 32])
    ben.add_argument("--iters", type=int, default=20)
    ben.add_argument("--warmup", type=int, default=3)
    ben.add_argument("--threads", type=int, default=torch.get_num_threads())
    tra = commands.add_parser("train-bench", help="time PyTorch eager training steps")
    tra.add_argument("checkpoint")
    tra.add_argument("--batch", type=int, default=32)
    tra.add_argument("--stride", type=int, default=1, help="steps between a window's rows")
    tra.add_argument("--action-dim", type=int, required=True)
    tra.add_argument("--rows", type=int, default=100_000, help="rows of the random data table")
    tra.add_argument("--iters", type=int, default=20)
    tra.add_argument("--warmup", type=int, default=3)
    tra.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    {"reference": reference, "export": export, "bench": bench, "train-bench": train_bench}[args.command](args)


if __name__ == "__main__":
    main()
