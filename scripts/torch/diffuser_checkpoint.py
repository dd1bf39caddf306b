"""A jannerm/diffuser run in exactly Diffuser's on-disk format, and Diffuser's own planning loop
over it: the oracle of `diffplan import diffuser` (docs/IMPORT.md).

  write   writes into --out: a D4RL-format Maze2D dataset (dataset.hdf5), and a run folder
          (run/) with state_<step>.pt = {'step', 'model', 'ema'} (GaussianDiffusion state dicts:
          the 12 diffusion buffers, the U-Net under `model.` with the maze2d branch's key names,
          `loss_fn.weights`), model_config.pkl, diffusion_config.pkl and dataset_config.pkl
          (pickled `diffuser.utils.config.Config` objects, protocol 4, as Diffuser's Python 3.8
          writes them). `ema` and `model` hold different weights, so importing the wrong one
          shows. Also writes normalizer.json: Diffuser's LimitsNormalizer fitted to the dataset
          with Diffuser's own pipeline (maze2d_set_terminals, sequence_dataset,
          process_maze2d_episode, flatten), re-implemented here in numpy from its source.
          --break KEY writes a second checkpoint, state_broken.pt, whose `ema.model.KEY` has
          one more output channel.
  sample  runs Diffuser's p_sample_loop (GaussianDiffusion with predict_epsilon=False,
          clip_denoised=True) from the checkpoint's own buffers and EMA weights on a case file:
          x_T [B, H, D], noise [K, B, H, D] (z of each step; the last is unused), cond_index
          [P] int64, cond_observation [P, O] raw. Writes x_0 [B, H, D] (normalized) to --out.

Usage:
  python diffuser_checkpoint.py write --out DIR [--horizon 16] [--steps 20] [--break KEY]
  python diffuser_checkpoint.py sample DIR --case CASE.safetensors --out OUT.safetensors
"""

import argparse
import collections
import json
import math
import os
import pickle
import sys
import types

import h5py
import numpy as np
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diffuser_torch import TemporalUnet, perturb_norm_parameters  # noqa: E402

GOAL = (1.0, 1.0)  # maze2d-umaze-v1's target, env._target
STEP = 1200
OBSERVATION_DIM, ACTION_DIM = 4, 2
MULTS = (1, 2)


def cosine_betas(n, s=0.008):
    """Diffuser's cosine_beta_schedule: float64, then float32 like its register_buffer."""
    x = np.linspace(0, n + 1, n + 1)
    ac = np.cos(((x / (n + 1)) + s) / (1 + s) * np.pi * 0.5) ** 2
    ac = ac / ac[0]
    return torch.tensor(np.clip(1 - (ac[1:] / ac[:-1]), 0, 0.999), dtype=torch.float32)


def diffusion_buffers(n, horizon, transition):
    """GaussianDiffusion's buffers, in its order and float32 arithmetic."""
    betas = cosine_betas(n)
    alphas = 1.0 - betas
    ac = torch.cumprod(alphas, axis=0)
    ac_prev = torch.cat([torch.ones(1), ac[:-1]])
    post_var = betas * (1.0 - ac_prev) / (1.0 - ac)
    return {
        "betas": betas,
        "alphas_cumprod": ac,
        "alphas_cumprod_prev": ac_prev,
        "sqrt_alphas_cumprod": torch.sqrt(ac),
        "sqrt_one_minus_alphas_cumprod": torch.sqrt(1.0 - ac),
        "log_one_minus_alphas_cumprod": torch.log(1.0 - ac),
        "sqrt_recip_alphas_cumprod": torch.sqrt(1.0 / ac),
        "sqrt_recipm1_alphas_cumprod": torch.sqrt(1.0 / ac - 1),
        "posterior_variance": post_var,
        "posterior_log_variance_clipped": torch.log(torch.clamp(post_var, min=1e-20)),
        "posterior_mean_coef1": betas * torch.sqrt(ac_prev) / (1.0 - ac),
        "posterior_mean_coef2": (1.0 - ac_prev) * torch.sqrt(alphas) / (1.0 - ac),
    }


def maze2d_branch_names(state):
    """The maze2d branch has no attention slot: its resampling convs sit at index 2."""
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] in ("downs", "ups") and parts[2] == "3":
            parts[2] = "2"
        out[".".join(parts)] = value
    return out


def gaussian_diffusion_state(unet, buffers, loss_weights):
    """An OrderedDict with `_metadata`, as Module.state_dict() returns it."""
    state = collections.OrderedDict(buffers)
    for key, value in maze2d_branch_names(unet.state_dict()).items():
        state["model." + key] = value.detach().clone()
    state["loss_fn.weights"] = loss_weights
    state._metadata = collections.OrderedDict({"": {"version": 1}, "model": {"version": 1}})
    return state


def install_diffuser_classes():
    """Module objects named like Diffuser's, so pickle writes its class references."""
    classes = {}
    for module, name in [
        ("diffuser.utils.config", "Config"),
        ("diffuser.models.temporal", "TemporalUnet"),
        ("diffuser.models.diffusion", "GaussianDiffusion"),
        ("diffuser.datasets.sequence", "GoalDataset"),
    ]:
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
        cls = type(name, (), {"__module__": module})
        setattr(sys.modules[module], name, cls)
        classes[name] = cls
    return classes


def write_config(classes, path, target, device, **kwargs):
    config = classes["Config"].__new__(classes["Config"])
    config.__dict__.update({"_class": classes[target], "_device": device, "_dict": dict(kwargs)})
    with open(path, "wb") as f:
        pickle.dump(config, f, protocol=4)


def write_dataset(path, rng):
    """A Maze2D stream that visits the goal and leaves it several times."""
    n = 900
    xy = np.stack([rng.uniform(0.6, 3.4, n), rng.uniform(0.6, 3.4, n)], 1)
    for start in (100, 350, 610):
        xy[start:start + 4] = np.array(GOAL) + rng.uniform(-0.2, 0.2, (4, 2))
    velocity = np.concatenate([np.zeros((1, 2)), np.diff(xy, axis=0) / 0.1], 0)
    observations = np.concatenate([xy, velocity], 1).astype(np.float32)
    actions = rng.uniform(-1, 1, (n, ACTION_DIM)).astype(np.float32)
    with h5py.File(path, "w") as f:
        f["observations"] = observations
        f["actions"] = actions
        f["rewards"] = np.zeros(n, dtype=np.float32)
        f["terminals"] = np.zeros(n, dtype=bool)
        f["timeouts"] = np.zeros(n, dtype=bool)
        f["infos/goal"] = np.tile(np.array(GOAL, dtype=np.float32), (n, 1))
    return observations, actions


def diffuser_limits(observations, actions):
    """Diffuser's maze2d pipeline, from its source, and LimitsNormalizer's min/max per field."""
    at_goal = np.linalg.norm(observations[:, :2] - np.array(GOAL), axis=-1) < 0.5
    timeouts = np.zeros(len(observations), dtype=bool)
    timeouts[:-1] = at_goal[:-1] * ~at_goal[1:]
    kept_obs, kept_act, start = [], [], 0
    for i in range(len(observations)):
        if timeouts[i]:
            kept_obs.append(observations[start:i + 1][:-1])
            kept_act.append(actions[start:i + 1][:-1])
            start = i + 1
    obs, act = np.concatenate(kept_obs), np.concatenate(kept_act)
    return {"min": act.min(0).tolist() + obs.min(0).tolist(), "max": act.max(0).tolist() + obs.max(0).tolist()}


def write(args):
    os.makedirs(os.path.join(args.out, "run"), exist_ok=True)
    rng = np.random.default_rng(args.seed)
    observations, actions = write_dataset(os.path.join(args.out, "dataset.hdf5"), rng)
    with open(os.path.join(args.out, "normalizer.json"), "w") as f:
        json.dump(diffuser_limits(observations, actions), f)

    transition = OBSERVATION_DIM + ACTION_DIM
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed + 1)
    raw = TemporalUnet(transition, 32, list(MULTS), False)
    ema = TemporalUnet(transition, 32, list(MULTS), False)
    for module in (raw, ema):
        perturb_norm_parameters(module, generator)
    buffers = diffusion_buffers(args.steps, args.horizon, transition)
    loss_weights = torch.ones(args.horizon, transition)
    data = {
        "step": STEP,
        "model": gaussian_diffusion_state(raw, buffers, loss_weights),
        "ema": gaussian_diffusion_state(ema, buffers, loss_weights),
    }
    run = os.path.join(args.out, "run")
    torch.save(data, os.path.join(run, f"state_{STEP}.pt"))
    if args.broken:
        key = "model." + args.broken
        broken = collections.OrderedDict(data["ema"])
        shape = list(broken[key].shape)
        shape[0] += 1
        broken[key] = torch.zeros(shape)
        torch.save({"step": STEP, "model": data["model"], "ema": broken}, os.path.join(run, "state_broken.pt"))

    classes = install_diffuser_classes()
    write_config(classes, os.path.join(run, "model_config.pkl"), "TemporalUnet", "cuda",
                 horizon=args.horizon, transition_dim=transition, cond_dim=OBSERVATION_DIM, dim_mults=MULTS)
    write_config(classes, os.path.join(run, "diffusion_config.pkl"), "GaussianDiffusion", "cuda",
                 horizon=args.horizon, observation_dim=OBSERVATION_DIM, action_dim=ACTION_DIM,
                 n_timesteps=args.steps, loss_type="l2", clip_denoised=True, predict_epsilon=False,
                 action_weight=1, loss_weights=None, loss_discount=1)
    write_config(classes, os.path.join(run, "dataset_config.pkl"), "GoalDataset", None,
                 env="maze2d-umaze-v1", horizon=args.horizon, normalizer="LimitsNormalizer",
                 preprocess_fns=["maze2d_set_terminals"], use_padding=False, max_path_length=40000)


def sample(args):
    """Diffuser's p_sample_loop with the checkpoint's own buffers, x0-prediction, clipped."""
    state = torch.load(os.path.join(args.dir, "run", f"state_{STEP}.pt"), weights_only=True)["ema"]
    with open(os.path.join(args.dir, "normalizer.json")) as f:
        limits = json.load(f)
    transition = OBSERVATION_DIM + ACTION_DIM
    unet = TemporalUnet(transition, 32, list(MULTS), False)
    network = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
    unet.load_state_dict({k.replace(".2.conv.", ".3.conv."): v for k, v in network.items()}, strict=True)
    unet.eval()
    case = load_file(args.case)
    lo = torch.tensor(limits["min"][ACTION_DIM:], dtype=torch.float64)
    hi = torch.tensor(limits["max"][ACTION_DIM:], dtype=torch.float64)
    cond = (2 * (case["cond_observation"].double() - lo) / (hi - lo) - 1).float()
    index = case["cond_index"]

    def condition(x):
        x[:, index, ACTION_DIM:] = cond
        return x

    x = condition(case["x_T"].clone())
    n = state["betas"].shape[0]
    with torch.no_grad():
        for k, i in enumerate(reversed(range(n))):
            t = torch.full((x.shape[0],), i, dtype=torch.long)
            x_recon = unet(x, t).clamp(-1.0, 1.0)
            mean = state["posterior_mean_coef1"][i] * x_recon + state["posterior_mean_coef2"][i] * x
            nonzero = 0.0 if i == 0 else 1.0
            x = mean + nonzero * (0.5 * state["posterior_log_variance_clipped"][i]).exp() * case["noise"][k]
            x = condition(x)
    save_file({"x_0": x.contiguous()}, args.out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    w = commands.add_parser("write", help="write a Diffuser run, its dataset and the reference normalizer")
    w.add_argument("--out", required=True)
    w.add_argument("--horizon", type=int, default=16)
    w.add_argument("--steps", type=int, default=20)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--break", dest="broken", help="a U-Net key (without `model.`) to give a wrong shape")
    s = commands.add_parser("sample", help="Diffuser's p_sample_loop on a case file")
    s.add_argument("dir")
    s.add_argument("--case", required=True)
    s.add_argument("--out", required=True)
    args = parser.parse_args()
    {"write": write, "sample": sample}[args.command](args)


if __name__ == "__main__":
    main()
