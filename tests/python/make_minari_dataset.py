"""Writes small point-mass datasets with the real `minari` package, for the Minari reader's tests.

    make_minari_dataset.py OUT [--seed 0] [--episodes 4]

writes, under the Minari root OUT (what MINARI_DATASETS_PATH names):

- `diffplan/pointmass-v0`: a Box observation space, o = [x, y, vx, vy] (float64);
- `diffplan/pointmass-dict-v0`: the same episodes with the Dict space of Gymnasium-Robotics'
  PointMaze (Minari's `D4RL/pointmaze/*`): `observation` [x, y, vx, vy], `achieved_goal` [x, y],
  `desired_goal` [gx, gy];

both with 2-D float32 actions in [-1, 1], and OUT/reference.json with the arrays as written
(the test's oracle; floats as Python writes them, f32 values exactly). Deterministic in the seed.

A point of unit mass under a noisy PD controller towards a goal, explicit Euler with dt = 0.1 s
and velocity damping 0.1: v' = 0.99 v + dt a, p' = p + dt v'. Reward 1 within 0.5 m of the goal.
Episode 0 terminates at the goal; the others are truncated at their time limit (40, 47, 54, ...
steps).
"""

import argparse
import json
import os
import pathlib
import warnings

import numpy as np

DT_SECS = 0.1
GOAL_RADIUS = 0.5


def episodes(seed, count):
    """Yields dicts of observations [T+1, 4] float64, actions [T, 2] float32, rewards [T],
    terminations [T] and truncations [T] (bool), goal [2]."""
    rng = np.random.default_rng(seed)
    for e in range(count):
        limit = 40 + 7 * e
        position = rng.uniform(-2.0, 2.0, 2)
        velocity = np.zeros(2)
        # Episode 0's goal is within reach, so that it terminates before its time limit.
        goal = position + [1.5, 1.0] if e == 0 else rng.uniform(-2.0, 2.0, 2)
        observations = [np.concatenate([position, velocity])]
        actions, rewards, terminations = [], [], []
        for _ in range(limit):
            action = np.clip(2.0 * (goal - position) - 1.5 * velocity + 0.3 * rng.standard_normal(2), -1.0, 1.0)
            action = action.astype(np.float32)
            velocity = 0.99 * velocity + DT_SECS * action
            position = position + DT_SECS * velocity
            observations.append(np.concatenate([position, velocity]))
            actions.append(action)
            at_goal = bool(np.linalg.norm(position - goal) < GOAL_RADIUS)
            rewards.append(1.0 if at_goal else 0.0)
            terminations.append(e == 0 and at_goal)
            if terminations[-1]:
                break
        steps = len(actions)
        truncations = [not terminations[-1] and t == steps - 1 for t in range(steps)]
        yield {
            "observations": np.array(observations),
            "actions": np.array(actions, dtype=np.float32),
            "rewards": np.array(rewards),
            "terminations": np.array(terminations),
            "truncations": np.array(truncations),
            "goal": goal,
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=4)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    # Minari reads its root when a dataset is created, so set it before importing.
    os.environ["MINARI_DATASETS_PATH"] = str(args.out.resolve())
    # Minari warns that no Gymnasium environment is attached; these datasets have none on purpose.
    warnings.filterwarnings("ignore", category=UserWarning, module="minari")
    import minari
    from gymnasium import spaces
    from minari.data_collector import EpisodeBuffer

    data = list(episodes(args.seed, args.episodes))
    box = spaces.Box(-np.inf, np.inf, (4,), np.float64)
    point = spaces.Box(-np.inf, np.inf, (2,), np.float64)
    maze = spaces.Dict({"achieved_goal": point, "desired_goal": point, "observation": box})
    action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)

    def buffer(i, episode, observations):
        # As DataCollector records them: one info per observation, the reset's included.
        infos = {"success": np.linalg.norm(episode["observations"][:, :2] - episode["goal"], axis=1) < GOAL_RADIUS}
        return EpisodeBuffer(
            id=i,
            seed=args.seed + i,
            observations=observations,
            actions=episode["actions"],
            rewards=episode["rewards"],
            terminations=episode["terminations"],
            truncations=episode["truncations"],
            infos=infos,
        )

    def maze_observations(episode):
        o = episode["observations"]
        return {
            "achieved_goal": o[:, :2].copy(),
            "desired_goal": np.tile(episode["goal"], (len(o), 1)),
            "observation": o,
        }

    for dataset_id, space, observations in [
        ("diffplan/pointmass-v0", box, lambda e: e["observations"]),
        ("diffplan/pointmass-dict-v0", maze, maze_observations),
    ]:
        minari.create_dataset_from_buffers(
            dataset_id,
            [buffer(i, e, observations(e)) for i, e in enumerate(data)],
            observation_space=space,
            action_space=action_space,
            algorithm_name="noisy PD controller (tests/python/make_minari_dataset.py)",
            author="diffplan tests",
            author_email="diffplan@example.invalid",
            code_permalink="tests/python/make_minari_dataset.py",
            description="A point mass driven to random goals, for diffplan's Minari reader.",
        )

    reference = {
        "minari_version": minari.__version__,
        "episodes": [
            {
                "observations": e["observations"].tolist(),
                "actions": e["actions"].astype(np.float64).tolist(),
                "rewards": e["rewards"].tolist(),
                "terminations": e["terminations"].tolist(),
                "truncations": e["truncations"].tolist(),
                "goal": e["goal"].tolist(),
            }
            for e in data
        ],
    }
    (args.out / "reference.json").write_text(json.dumps(reference))


if __name__ == "__main__":
    main()
