#!/usr/bin/env python3
"""A real-time robot in Python: a simulated point mass that follows the plans a streaming planner
(`diffplan serve --stream`) sends it, as docs/PROTOCOL.md's "Robot behaviour" (real time) and
"Executing a plan" describe. It needs only the diffplan_client package and eclipse-zenoh.

    python streaming_robot.py --connect tcp/127.0.0.1:7447 --task maze2d-umaze

Every control step (DT, paced on the wall clock) it publishes its RobotState on
<ns>/robot/<id>/state, observation (x, y, vx, vy) in m and m/s, and drives towards the newest plan
of its task with an action a in [-1, 1]^2: v += a * ACCEL * DT, then p += v * DT (no walls). It
holds still before its first plan, when no plan (new or re-sent) came for --plan-timeout-ms, and
past the plan's validity window, and says so in a Heartbeat on <ns>/robot/<id>/status on every
change of status. It stops after --duration-s or on SIGINT/SIGTERM with a last `stopping`
heartbeat and exits 0; it exits 2 when another robot with its id is alive.
"""

import argparse
import signal
import sys
import threading
import time

import zenoh

from diffplan_client import Heartbeat, Namespace, PlanSubscriber, RobotStatePublisher, encode, encoding_of, open_session

#: Seconds per control step (Maze2D's period).
DT = 0.01
#: Acceleration per unit of action, m/s^2: the point mass's velocity changes by action * ACCEL * DT a step.
ACCEL = 10.0
#: The one long episode this robot runs; its steps count from 0.
EPISODE = 0
#: How long another robot's token may stay alive before the id counts as taken, s: a crashed
#: robot's token lives until Zenoh's lease (10 s) expires.
STALE_TOKEN_S = 12.0
#: Lines a second written to stderr about refused plans; the rest are counted.
LOG_LINES_PER_S = 5
#: The robot's own limits, checked on every plan before it is executed: its workspace, |x| and
#: |y| in m, and its speed per axis, m/s.
WORKSPACE_M = 10.0
MAX_SPEED = 5.5


def beyond_limits(states):
    """Why the planned `states` leave the robot's limits, or None when they keep within them."""
    for k, (x, y, vx, vy) in enumerate(states):
        if max(abs(x), abs(y)) > WORKSPACE_M:
            return f"states[{k}] = ({x}, {y}) m is outside the workspace of ±{WORKSPACE_M} m"
        if max(abs(vx), abs(vy)) > MAX_SPEED:
            return f"states[{k}] asks ({vx}, {vy}) m/s, over {MAX_SPEED} m/s"
    return None


def clip(value):
    """`value` inside the action bounds [-1, 1]."""
    return max(-1.0, min(1.0, value))


def track(states, index, observation):
    """Diffuser's controller: the action towards `states[index + 1]` (past the end: the last state's
    position at zero velocity), action = (p' - p) + (v' - v), clipped to [-1, 1]."""
    x, y, vx, vy = states[index + 1] if index + 1 < len(states) else (*states[-1][:2], 0.0, 0.0)
    return [clip(x - observation[0] + vx - observation[2]), clip(y - observation[1] + vy - observation[3])]


class RateLimitedLog:
    """At most `per_s` lines a second to stderr, from any thread; the next line written says how
    many were held back."""

    def __init__(self, per_s):
        self.per_s, self.window, self.written, self.held = per_s, time.monotonic(), 0, 0
        self.lock = threading.Lock()

    def warn(self, line):
        with self.lock:
            if time.monotonic() - self.window >= 1.0:
                self.window, self.written = time.monotonic(), 0
            if self.written >= self.per_s:
                self.held += 1
                return
            suffix = f" ({self.held} lines held back)" if self.held else ""
            self.written, self.held = self.written + 1, 0
            print(f"streaming_robot: {line}{suffix}", file=sys.stderr)


def id_is_free(session, robot_token, stop):
    """Whether no other robot with this id (its liveliness token `robot_token`) stays alive for
    STALE_TOKEN_S seconds, or until `stop` (docs/PROTOCOL.md, "One node per id")."""
    deadline, said = time.monotonic() + STALE_TOKEN_S, False
    while any(reply.ok is not None for reply in session.liveliness().get(robot_token, timeout=0.3)):
        if time.monotonic() >= deadline or stop.is_set():
            return False
        if not said:
            print(f"streaming_robot: {robot_token} is alive; waiting up to {STALE_TOKEN_S:g} s", file=sys.stderr)
            said = True
        stop.wait(0.5)
    return True


class Robot:
    """The point mass, its plan, its hold and its end of the wire."""

    def __init__(self, session, args):
        keys = Namespace(args.namespace)
        self.args = args
        self.log = RateLimitedLog(LOG_LINES_PER_S)
        self.states = RobotStatePublisher(session, args.id, args.namespace, task=args.task)  # and its token
        # Counts and reports plans that do not decode or are for another task, and refuses them.
        refused = lambda reason: self.log.warn(f"refused a plan: {reason}")  # noqa: E731
        self.plans = PlanSubscriber(session, args.id, args.namespace, task=args.task, on_rejection=refused)
        self.status = session.declare_publisher(
            keys.robot_status(args.id),
            encoding=zenoh.Encoding(encoding_of(Heartbeat)),
            congestion_control=zenoh.CongestionControl.BLOCK,
        )
        self.observation = [*args.start, 0.0, 0.0]  # x, y in m; vx, vy in m/s
        self.goal = [*args.goal, 0.0, 0.0]  # arrive at the goal at rest
        self.plan, self.origin, self.last_fresh_s = None, 0, None
        self.hold, self.hold_began = None, 0  # the state held (None: executing), and since which step
        self.counters = {"plans_ignored": 0, "holds": 0}
        self.unusable = 0  # plans that decoded but do not fit this robot: rejected too

    def heartbeat(self, status, step, reason=None):
        """Publishes the robot's status at `step` with its counters."""
        rejected = self.plans.rejected + self.unusable
        counters = dict(self.counters, plans_received=self.plans.received, plans_rejected=rejected)
        heartbeat = Heartbeat(self.args.id, "robot", status, reason, step, task=self.args.task, counters=counters)
        self.status.put(encode(heartbeat))

    def receive(self, t):
        """Takes the newest plan at step `t`: a re-sent current plan says the planner is alive and the
        plan holds; a new one of this episode, not from the future, is adopted; others are ignored."""
        plan = self.plans.latest()
        if plan is None:
            return
        if self.plan is not None and plan.plan_id == self.plan.plan_id:
            self.last_fresh_s = time.monotonic()
        elif len(plan.states[0]) != 4 or len(plan.actions[0]) != 2:
            self.unusable += 1
            self.log.warn(f"refused plan {plan.plan_id!r}: states must be (x, y, vx, vy), actions (ax, ay)")
        elif beyond_limits(plan.states) is not None:
            # Whatever the planner claims: drop the plan being executed too, and hold where it is.
            self.unusable += 1
            self.plan, self.last_fresh_s = None, None
            reason = f"refused plan {plan.plan_id!r}: {beyond_limits(plan.states)}"
            if self.hold is None:
                self.begin_hold(t, reason)
            else:
                self.log.warn(reason)
        elif plan.episode == EPISODE and plan.from_step <= t:
            # Steps count from from_step, or from now when it was planned from where the robot still holds.
            self.origin = t if self.hold is not None and plan.from_step >= self.hold_began else plan.from_step
            self.plan, self.last_fresh_s = plan, time.monotonic()
        else:
            self.counters["plans_ignored"] += 1

    def decide(self, t):
        """Whether to execute the plan at step `t` (its row index) or hold (None), reporting changes."""
        index = t - self.origin if self.plan is not None else None
        expired = index is not None and self.plan.valid_steps is not None and index >= self.plan.valid_steps
        age_ms = None if self.last_fresh_s is None else (time.monotonic() - self.last_fresh_s) * 1e3
        fresh = self.plan is not None and age_ms is not None and age_ms <= self.args.plan_timeout_ms
        if fresh and not expired:
            if self.hold is not None:
                self.hold = None
                self.heartbeat("ok", t)
            return index
        if self.hold is None:
            reason = "the plan's validity window passed" if expired else f"no fresh plan for {age_ms:.0f} ms"
            self.begin_hold(t, reason)
        return None

    def begin_hold(self, t, reason):
        """Holds the position at step `t` with zero velocity, and says why."""
        self.hold, self.hold_began = [*self.observation[:2], 0.0, 0.0], t
        self.counters["holds"] += 1
        self.log.warn(f"holding at step {t}: {reason}")
        self.heartbeat("holding", t, reason)

    def step(self, t):
        """One control step: publish the state, take plans, act, move the point mass DT on."""
        mode = "running" if self.hold is None else "holding"
        self.states.publish(self.observation, episode=EPISODE, step=t, time_s=t * DT, goal=self.goal, mode=mode)
        self.receive(t)
        index = self.decide(t)
        states, index = (self.plan.states, index) if index is not None else ([self.hold], 0)
        action = track(states, index, self.observation)
        x, y, vx, vy = self.observation
        vx, vy = vx + action[0] * ACCEL * DT, vy + action[1] * ACCEL * DT
        self.observation = [x + vx * DT, y + vy * DT, vx, vy]

    def run(self, stop, duration_s):
        """Steps on the wall clock until `stop` is set or `duration_s` seconds passed; then says it stops."""
        self.begin_hold(0, "no plan yet")
        clock, t = time.monotonic(), 0
        while not stop.is_set() and (duration_s is None or time.monotonic() - clock < duration_s):
            stop.wait(max(0.0, clock + t * DT - time.monotonic()))
            self.step(t)
            t += 1
        self.states.publish(self.observation, episode=EPISODE, step=t, time_s=t * DT, mode="done")
        self.heartbeat("stopping", t, "told to stop (SIGINT or SIGTERM)" if stop.is_set() else f"ran {duration_s:g} s")

    def close(self):
        self.plans.close()
        self.states.close()
        self.status.undeclare()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connect", required=True, help="a Zenoh endpoint, e.g. tcp/127.0.0.1:7447")
    parser.add_argument("--namespace", default="diffplan")
    parser.add_argument("--id", default="py-robot-0", help="the robot's id")
    parser.add_argument("--task", default="maze2d-umaze", help="the task it runs: plans of other tasks are refused")
    parser.add_argument("--plan-timeout-ms", type=float, default=500.0, help="hold when no plan came for this long")
    parser.add_argument("--duration-s", type=float, help="stop after this long (default: at SIGINT or SIGTERM)")
    parser.add_argument("--start", type=float, nargs=2, default=[3.0, 1.0], metavar=("X", "Y"), help="m")
    parser.add_argument("--goal", type=float, nargs=2, default=[1.0, 1.0], metavar=("X", "Y"), help="m")
    args = parser.parse_args()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with open_session(connect=args.connect) as session:
        if not id_is_free(session, Namespace(args.namespace).robot_token(args.id), stop):
            if stop.is_set():
                return 0
            print(f"streaming_robot: robot {args.id} stayed alive for {STALE_TOKEN_S:g} s: another robot has this id; "
                  "start this one with another --id (or stop the other one)", file=sys.stderr)  # fmt: skip
            return 2
        robot = Robot(session, args)
        try:
            robot.run(stop, args.duration_s)
        finally:
            robot.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
