"""Plans with the installed `diffplan_client` package against a running `diffplan serve --stream`.

Usage: plan_with_client.py ENDPOINT NAMESPACE, run by the python of the venv the package was
installed in (tests/python/install_client.sh). Asks the plan service for one plan, then acts as a
robot: publishes its state, with its goal's position alone, until a streamed plan for it
arrives; then as a robot that restarts mid-episode elsewhere. Prints one JSON line: where the
package was imported from, its dependencies, both plans' shapes, pins and headers (task and
checkpoint digest included), and where the plans before and after the restart start.
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
# Another free cell of the U-maze, where the restarted robot finds itself.
RESTARTED_AT = [3.0, 3.0, 0.0, 0.0]


def next_plan(states, plans, observation, *, episode, step, goal, limit_s=60.0):
    """The next plan streamed while the robot publishes `observation` at `step` every 100 ms."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        states.publish(observation, episode=episode, step=step, time_s=step * 0.01, goal=goal)
        try:
            return plans.wait(timeout_s=0.1)
        except PlanTimeout:
            pass
    raise SystemExit(f"no plan streamed for robot {states.robot_id} at step {step} within {limit_s} s")


def streamed_plan(session, namespace, robot, episode):
    """The first plan streamed for `robot` at step 0 of `episode`, which asks for its goal's
    position alone, as PROTOCOL.md allows: it is reached at rest."""
    with PlanSubscriber(session, robot, namespace) as plans, RobotStatePublisher(session, robot, namespace) as states:
        return next_plan(states, plans, START, episode=episode, step=0, goal=GOAL[:2])


def plans_around_a_restart(session, namespace, robot):
    """A robot of the plan-once task that runs to step 40 of its one long episode (0), then
    restarts somewhere else at step 0 of the same episode: the plans streamed at its start and
    after the restart."""
    with PlanSubscriber(session, robot, namespace) as plans, RobotStatePublisher(session, robot, namespace) as states:
        first = next_plan(states, plans, START, episode=0, step=0, goal=GOAL)
        # The plan-once task re-sends its plan while the robot moves on.
        next_plan(states, plans, START, episode=0, step=40, goal=GOAL)
        time.sleep(0.3)
        plans.latest()
        return first, next_plan(states, plans, RESTARTED_AT, episode=0, step=0, goal=GOAL)


def main():
    endpoint, namespace = sys.argv[1], sys.argv[2]
    module = pathlib.Path(diffplan_client.__file__).resolve()
    requires = importlib.metadata.requires("diffplan-client") or []
    with PlannerClient.open(endpoint, namespace, timeout_s=60.0, wait_for_planner_s=60.0) as client:
        plan = client.plan(START, GOAL, seed=7, request_id="pkg-1")
        streamed = streamed_plan(client.session, namespace, "py-robot", episode=5)
        before_restart, after_restart = plans_around_a_restart(client.session, namespace, "py-restarted")
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
        "restarted": {
            "start_before": before_restart.states[0],
            "start_after": after_restart.states[0],
            "from_step_after": after_restart.from_step,
        },
    }))


if __name__ == "__main__":
    main()
