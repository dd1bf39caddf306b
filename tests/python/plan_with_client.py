"""Plans with the installed `diffplan_client` package against a running `diffplan serve --stream`.

Usage: plan_with_client.py ENDPOINT NAMESPACE, run by the python of the venv the package was
installed in (tests/python/install_client.sh). Asks the plan service for one plan, then acts as a
robot: publishes its state, with its goal's position alone, until a streamed plan for it arrives. Prints one JSON line: where the
package was imported from, its dependencies, and both plans' shapes, pins and headers (task and
checkpoint digest included).
"""

import importlib.metadata
import json
import pathlib
import re
import sys
import time

import diffplan_client
from diffplan_client import PlannerClient, PlanSubscriber, PlanTimeout, RobotStatePublisher

START, GOAL = [3.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]


def streamed_plan(session, namespace, robot, episode, limit_s=60.0):
    """The first plan streamed for `robot`, which publishes its state at step 0 every 100 ms."""
    with PlanSubscriber(session, robot, namespace) as plans, RobotStatePublisher(session, robot, namespace) as states:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            # The goal's position alone, as PROTOCOL.md allows: it is reached at rest.
            states.publish(START, episode=episode, step=0, time_s=0.0, goal=GOAL[:2])
            try:
                return plans.wait(timeout_s=0.1)
            except PlanTimeout:
                pass
    raise SystemExit(f"no plan streamed for robot {robot} within {limit_s} s")


def main():
    endpoint, namespace = sys.argv[1], sys.argv[2]
    module = pathlib.Path(diffplan_client.__file__).resolve()
    requires = importlib.metadata.requires("diffplan-client") or []
    with PlannerClient.open(endpoint, namespace, timeout_s=60.0, wait_for_planner_s=60.0) as client:
        plan = client.plan(START, GOAL, seed=7, request_id="pkg-1")
        streamed = streamed_plan(client.session, namespace, "py-robot", episode=5)
    print(json.dumps({
        "installed_in_venv": sys.prefix != sys.base_prefix and module.is_relative_to(pathlib.Path(sys.prefix).resolve()),
        "dependencies": sorted(re.match(r"[A-Za-z0-9._-]+", r).group(0) for r in requires),
        "states": len(plan.states),
        "state_dim": len(plan.states[0]),
        "action_dim": len(plan.actions[0]),
        "start": plan.states[0],
        "goal": plan.states[-1],
        "dt": plan.dt,
        "request_id": plan.request_id,
        "planner_id": plan.planner_id,
        "task": plan.task,
        "checkpoint_digest": plan.checkpoint_digest,
        "streamed": {
            "robot_id": streamed.robot_id,
            "episode": streamed.episode,
            "from_step": streamed.from_step,
            "states": len(streamed.states),
            "start": streamed.states[0],
            "end": streamed.states[-1],
            "task": streamed.task,
        },
    }))


if __name__ == "__main__":
    main()
