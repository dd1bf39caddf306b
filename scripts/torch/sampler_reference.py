"""Diffplan's samplers (DDPM, DDIM, DPM-Solver++ 2M) in plain PyTorch: the oracle of the Rust
sampler tests and the PyTorch baseline of the sampling benchmark.

Written from the formulas in docs/ALGORITHMS.md §1.4 (Diffuser's GaussianDiffusion)
and §4 (DPM-Solver++), independently of the Rust code. The network comes from a diffplan
checkpoint folder (manifest.toml + weights.safetensors) through diffuser_torch.load_checkpoint.

Conventions:
  schedule   float64. Cosine (Diffuser): f(u) = cos²(((u + s)/(1 + s))·π/2), ᾱ(i) = f(i/N)/f(0),
             β_i = clip(1 − ᾱ(i+1)/ᾱ(i), 0, 0.999); linear: β_i = start + (end − start)·i/(N − 1)
             (N = 1: the midpoint). abar_t = ∏_{j≤t}(1 − β_j) for t = 0..N−1 and abar_{−1} = 1.
  timesteps  K steps: t_k = floor((N − 1)·(K − 1 − k)/(K − 1) + 0.5), k = 0..K−1 (K = 1: [N − 1]).
             Step k goes from t_k to t_{k+1}; the last step goes to t = −1 (abar = 1, clean).
  pins       raw observations pinned at horizon indices, normalized with the statistics of the
             observation dims (limits: 2(x − min)/(max − min) − 1, gaussian: (x − mean)/std; float64,
             rounded once to float32). Inpainting writes x[:, index, A:] = pin, after the initial
             noise and after every step.
  x0_hat     the network output (output = "sample") or (x − sqrt(1 − a)·ε̂)/sqrt(a) (output =
             "epsilon"), then clamped to [−1, 1] with --clip; ε̂ = (x − sqrt(a)·x0_hat)/sqrt(1 − a).
  arithmetic float32 tensors, python-float (float64) coefficients, no autograd.

  run    reads a case file and writes every intermediate of the loop.
         Case: x_T [B, H, D] float32; noise [K, B, H, D] float32 (z_k of step k; absent: zeros);
         cond_index [P] int64 and cond_observation [P, O] float32 (raw; absent: no pins).
         Output: xs [K+1, B, H, D] (x after the initial inpainting, then after each step) and
         x0_hats [K, B, H, D] (x0_hat of each step, after clipping).
  bench  times the whole loop end to end (seeded noise, pins at indices 0 and H − 1 with random
         observations) and one forward pass of the network at the same batch; prints one JSON line.

Usage:
  python sampler_reference.py run CHECKPOINT_DIR --case CASE.safetensors --sampler {ddpm,ddim,dpm_solver_pp} \
      --steps K [--eta 0.0] [--clip] --out OUT.safetensors
  python sampler_reference.py bench CHECKPOINT_DIR --sampler {ddpm,ddim,dpm_solver_pp} --steps K [--eta 0.0] \
      [--clip] --batch 1 --iters 10 --warmup 2 --threads 2
"""

import argparse
import json
import math
import os
import statistics
import sys
import time
import tomllib

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diffuser_torch import load_checkpoint  # noqa: E402

SAMPLERS = ("ddpm", "ddim", "dpm_solver_pp")


def read_spec(checkpoint):
    with open(os.path.join(checkpoint, "manifest.toml"), "rb") as f:
        spec = tomllib.load(f)["spec"]
    if spec["output"] not in ("epsilon", "sample"):
        raise SystemExit(f"spec.output must be 'epsilon' or 'sample' for sampling, not {spec['output']!r}")
    return spec


def betas(schedule, n):
    """β_0..β_{N−1} of a spec.schedule table, float64."""
    if schedule["kind"] == "cosine":
        s = schedule.get("s", 0.008)

        def f(i):
            return math.cos((i / n + s) / (1 + s) * math.pi / 2) ** 2

        return [min(max(1 - f(i + 1) / f(i), 0.0), 0.999) for i in range(n)]
    if schedule["kind"] == "linear":
        start, end = schedule["beta_start"], schedule["beta_end"]
        if n == 1:
            return [(start + end) / 2]
        return [start + (end - start) * i / (n - 1) for i in range(n)]
    raise SystemExit(f"unknown schedule kind {schedule['kind']!r} in manifest.toml")


def alphas_cumprod(spec):
    """abar_t for t = 0..N−1, float64."""
    abar, product = [], 1.0
    for beta in betas(spec.get("schedule", {"kind": "cosine"}), spec["diffusion_steps"]):
        product *= 1 - beta
        abar.append(product)
    return abar


def timesteps(n, steps):
    if steps == 1:
        return [n - 1]
    return [math.floor((n - 1) * (steps - 1 - k) / (steps - 1) + 0.5) for k in range(steps)]


def normalize_observations(spec, observations):
    """Raw observations [P, O] -> normalized float32, with the statistics of dims A..A+O."""
    norm, x = spec["normalizer"], observations.double()

    def stats(key):
        return torch.tensor(norm[key][spec["action_dim"]:], dtype=torch.float64)

    if norm["kind"] == "limits":
        lo, hi = stats("min"), stats("max")
        return (2 * (x - lo) / (hi - lo) - 1).float()
    if norm["kind"] == "gaussian":
        return ((x - stats("mean")) / stats("std")).float()
    raise SystemExit(f"unknown normalizer kind {norm['kind']!r} in manifest.toml")


def inpaint(x, pins, action_dim):
    """Writes the normalized pins (index [P], values [P, O]) into x [B, H, D] in place."""
    index, values = pins
    x[:, index, action_dim:] = values
    return x


def predict_x0(spec, x, out, a, clip):
    x0_hat = out if spec["output"] == "sample" else (x - math.sqrt(1 - a) * out) / math.sqrt(a)
    return x0_hat.clamp(-1.0, 1.0) if clip else x0_hat


def ddpm_step(x, x0_hat, a, a_next, z):
    """Diffuser's posterior step from abar a to a_next (skipped steps allowed); z is None on the last step."""
    beta = 1 - a / a_next
    mean = (beta * math.sqrt(a_next) / (1 - a)) * x0_hat + ((1 - a_next) * math.sqrt(1 - beta) / (1 - a)) * x
    if z is None:
        return mean
    variance = beta * (1 - a_next) / (1 - a)
    return mean + math.exp(0.5 * math.log(max(variance, 1e-20))) * z


def ddim_step(x, x0_hat, a, a_next, eta, z):
    """DDIM from abar a to a_next; z is None on the last step."""
    eps_hat = (x - math.sqrt(a) * x0_hat) / math.sqrt(1 - a)
    sigma = eta * math.sqrt((1 - a_next) / (1 - a)) * math.sqrt(1 - a / a_next)
    x = math.sqrt(a_next) * x0_hat + math.sqrt(1 - a_next - sigma**2) * eps_hat
    return x if z is None else x + sigma * z


def log_snr(abar):
    """λ = log α − log σ with α = sqrt(abar), σ = sqrt(1 − abar)."""
    return math.log(math.sqrt(abar)) - math.log(math.sqrt(1 - abar))


def dpmpp2m_step(x, x0_hat, a, a_next, previous):
    """DPM-Solver++ 2M from abar a to a_next (not the last step); previous = (abar, x0_hat) of the
    step before, or None on the first step (first order)."""
    h = log_snr(a_next) - log_snr(a)
    phi = math.sqrt(a_next) * (math.exp(-h) - 1)
    x = (math.sqrt(1 - a_next) / math.sqrt(1 - a)) * x - phi * x0_hat
    if previous is None:
        return x
    a_prev, x0_prev = previous
    r0 = (log_snr(a) - log_snr(a_prev)) / h
    d1 = (x0_hat - x0_prev) / r0
    return x - 0.5 * phi * d1


def sample(module, spec, x_t, noise, pins, sampler, steps, eta, clip):
    """The sampling loop: returns the lists xs (K+1 tensors) and x0_hats (K tensors)."""
    abar = alphas_cumprod(spec)
    ts = timesteps(spec["diffusion_steps"], steps)
    action_dim = spec["action_dim"]
    x = inpaint(x_t.clone(), pins, action_dim)
    xs, x0_hats, previous = [x], [], None
    for k, t in enumerate(ts):
        last = k == steps - 1
        a, a_next = abar[t], 1.0 if last else abar[ts[k + 1]]
        z = None if last else noise[k]
        out = module(x, torch.full((x.shape[0],), t, dtype=torch.long))
        x0_hat = predict_x0(spec, x, out, a, clip)
        if sampler == "ddpm":
            x = ddpm_step(x, x0_hat, a, a_next, z)
        elif sampler == "ddim":
            x = ddim_step(x, x0_hat, a, a_next, eta, z)
        elif last:
            x = x0_hat.clone()  # x is inpainted in place below, x0_hat is kept as it is
        else:
            x = dpmpp2m_step(x, x0_hat, a, a_next, previous)
        previous = (a, x0_hat)
        x = inpaint(x, pins, action_dim)
        xs.append(x)
        x0_hats.append(x0_hat)
    return xs, x0_hats


def read_case(path, spec, horizon, transition, steps):
    """x_T, noise [K, B, H, D] (zeros if absent) and the normalized pins of a case file."""
    case = load_file(path)
    x_t = case["x_T"].float()
    if x_t.dim() != 3 or tuple(x_t.shape[1:]) != (horizon, transition):
        raise SystemExit(f"x_T must be [B, {horizon}, {transition}], got {list(x_t.shape)}")
    noise = case.get("noise", torch.zeros(steps, *x_t.shape)).float()
    if tuple(noise.shape) != (steps, *x_t.shape):
        raise SystemExit(f"noise must be [{steps}, {', '.join(map(str, x_t.shape))}], got {list(noise.shape)}")
    index = case.get("cond_index", torch.zeros(0, dtype=torch.long)).long()
    observations = case.get("cond_observation", torch.zeros(0, spec["observation_dim"]))
    if len(index) != len(observations) or ((index < 0) | (index >= horizon)).any():
        raise SystemExit(f"cond_index must hold one index in 0..{horizon} per row of cond_observation")
    return x_t, noise, (index, normalize_observations(spec, observations))


def check_arguments(args, spec):
    n = spec["diffusion_steps"]
    if not 1 <= args.steps <= n:
        raise SystemExit(f"--steps must be in 1..{n} (the checkpoint's diffusion_steps), not {args.steps}")
    if not 0 <= args.eta <= 1:
        raise SystemExit(f"--eta must be in [0, 1], not {args.eta}")


def run(args):
    spec = read_spec(args.checkpoint)
    check_arguments(args, spec)
    module, horizon, transition, _ = load_checkpoint(args.checkpoint)
    x_t, noise, pins = read_case(args.case, spec, horizon, transition, args.steps)
    with torch.no_grad():
        xs, x0_hats = sample(module, spec, x_t, noise, pins, args.sampler, args.steps, args.eta, args.clip)
    save_file({"xs": torch.stack(xs).contiguous(), "x0_hats": torch.stack(x0_hats).contiguous()}, args.out)


def median_ms(function, warmup, iters):
    times = []
    for i in range(warmup + iters):
        start = time.perf_counter()
        function()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def bench(args):
    torch.set_num_threads(args.threads)
    spec = read_spec(args.checkpoint)
    check_arguments(args, spec)
    module, horizon, transition, n = load_checkpoint(args.checkpoint)
    generator = torch.Generator().manual_seed(0)
    x_t = torch.randn(args.batch, horizon, transition, generator=generator)
    noise = torch.randn(args.steps, args.batch, horizon, transition, generator=generator)
    observations = torch.randn(2, spec["observation_dim"], generator=generator)
    pins = (torch.tensor([0, horizon - 1]), normalize_observations(spec, observations))
    t = torch.randint(0, n, (args.batch,), generator=generator)
    with torch.no_grad():
        loop_ms = median_ms(
            lambda: sample(module, spec, x_t, noise, pins, args.sampler, args.steps, args.eta, args.clip),
            args.warmup,
            args.iters,
        )
        forward_ms = median_ms(lambda: module(x_t, t), args.warmup, args.iters)
    result = {"sampler": args.sampler, "steps": args.steps, "batch": args.batch, "median_ms": loop_ms}
    print(json.dumps({**result, "forward_median_ms": forward_ms}), flush=True)


def add_sampler_arguments(parser):
    parser.add_argument("checkpoint")
    parser.add_argument("--sampler", choices=SAMPLERS, required=True)
    parser.add_argument("--steps", type=int, required=True, help="sampling steps K, 1 <= K <= N")
    parser.add_argument("--eta", type=float, default=0.0, help="DDIM noise scale η in [0, 1]")
    parser.add_argument("--clip", action="store_true", help="clamp x0_hat to [-1, 1]")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="write every intermediate of one sampling run")
    add_sampler_arguments(run_parser)
    run_parser.add_argument("--case", required=True)
    run_parser.add_argument("--out", required=True)
    bench_parser = commands.add_parser("bench", help="time the sampling loop and one forward pass")
    add_sampler_arguments(bench_parser)
    bench_parser.add_argument("--batch", type=int, default=1)
    bench_parser.add_argument("--iters", type=int, default=10)
    bench_parser.add_argument("--warmup", type=int, default=2)
    bench_parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    {"run": run, "bench": bench}[args.command](args)


if __name__ == "__main__":
    main()
