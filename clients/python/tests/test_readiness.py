"""Readiness that cannot race (docs/PROTOCOL.md, "Readiness"), for the Python client: a router, a
planner (fake_planner.py, serving its task) and a client started in each of the six orders, with
short gaps between starts, and the client gets a plan of the task every time.

What it guards against: a peer's first query right after its session opened got zero replies
through a router (the routes to the planner's queryable were not set up yet), and a client took
that as final. The client must wait for a planner of its task to be alive and take zero replies
as "no planner yet" (client.py: `_wait_for`, `_first_reply`). The bridge's own version of this
test is bridge/tests/integration/readiness.rs.

Every node is a separate Zenoh session on loopback, multicast scouting off: the router listens on
a free port, the planner and the client are peers that connect to it. Each start runs in a thread
of its own, since a peer's session does not open until it has reached the router.
"""

import itertools
import json
import os
import tempfile
import threading
import time
import unittest

import zenoh
from fake_planner import TASK, FakePlanner, free_endpoint

from diffplan_client import PlannerClient

START, GOAL = [3.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]

#: The six orders of the three nodes.
ORDERS = list(itertools.permutations(("router", "planner", "client")))

#: Runs of each order.
ROUNDS = 6

#: Seconds a client may take to get its plan (its `wait_for_planner_s`) before the run is a miss.
PATIENCE_S = 15.0

#: The peers' Zenoh config (session.py's `config_file`): multicast scouting off, as without a file,
#: and a peer started before the router tries to reach it every 20-100 ms instead of Zenoh's
#: 1-4 s, so that the runs stay short. A peer's session opens once it reached the router, or
#: after 10 s (then it keeps trying), so that a run whose router never came up still ends.
PEER_CONFIG = {
    "scouting": {"multicast": {"enabled": False}},
    "connect": {
        "timeout_ms": 10000,
        "retry": {"period_init_ms": 20, "period_max_ms": 100, "period_increase_factor": 1.5},
    },
}


def router_config(endpoint: str) -> zenoh.Config:
    """A router listening on ``endpoint``, multicast scouting off. Its session returns from
    opening at once (Zenoh waits ``scouting/delay``, 500 ms, for scouted nodes otherwise)."""
    config = zenoh.Config()
    config.insert_json5("mode", '"router"')
    config.insert_json5("scouting/multicast/enabled", "false")
    config.insert_json5("scouting/delay", "0")
    config.insert_json5("listen/endpoints", json.dumps([endpoint]))
    return config


def gaps_ms(run: int):
    """The two gaps between starts in run ``run``, 0 to 90 ms, varying with the run."""
    return (run * 37) % 91, (run * 53 + 45) % 91


class Readiness(unittest.TestCase):
    def setUp(self):
        handle, self.peer_config = tempfile.mkstemp(prefix="diffplan-ready-", suffix=".json5")
        with os.fdopen(handle, "w") as file:
            json.dump(PEER_CONFIG, file)
        self.addCleanup(os.remove, self.peer_config)

    def test_router_planner_and_client_started_in_every_order_never_miss(self):
        misses = []
        for run in range(ROUNDS * len(ORDERS)):
            order = ORDERS[run % len(ORDERS)]
            gaps = gaps_ms(run)
            why = self._run(run, order, gaps)
            if why is not None:
                misses.append(f"run {run}, order {' > '.join(order)}, gaps {gaps[0]}/{gaps[1]} ms: {why}")
        runs = ROUNDS * len(ORDERS)
        self.assertEqual(misses, [], f"{len(misses)} of {runs} runs missed:\n" + "\n".join(misses))

    def _run(self, run: int, order, gaps) -> "str | None":
        """Starts the three nodes in ``order``; None if the client got a plan of the task, else why
        not. Closes every node before it returns."""
        endpoint = free_endpoint()
        namespace = f"ready/run-{run}"
        nodes = {}  # name: its router session, FakePlanner or PlannerClient, once started
        failures = {}  # name: the exception its start (or, for the client, its plan) raised
        outcome = {}
        lock = threading.Lock()

        def start_router():
            session = zenoh.open(router_config(endpoint))
            with lock:
                nodes["router"] = session

        def start_planner():
            planner = FakePlanner(namespace, "ready-0", task=TASK, connect=endpoint, config_file=self.peer_config)
            with lock:
                nodes["planner"] = planner

        def start_client():
            client = PlannerClient.open(
                endpoint, namespace, config_file=self.peer_config, wait_for_planner_s=PATIENCE_S, timeout_s=5.0
            )
            with lock:
                nodes["client"] = client
            started = time.monotonic()
            outcome["plan"] = client.plan(START, GOAL, task=TASK, request_id=f"ready-{run}")
            outcome["took_s"] = time.monotonic() - started

        def guarded(name, start):
            def target():
                try:
                    start()
                except BaseException as error:  # noqa: BLE001 - reported as the run's miss
                    failures[name] = error

            return target

        starts = {"router": start_router, "planner": start_planner, "client": start_client}
        threads = []
        try:
            for index, name in enumerate(order):
                thread = threading.Thread(target=guarded(name, starts[name]), name=f"ready-{run}-{name}", daemon=True)
                thread.start()
                threads.append(thread)
                if index < len(gaps):
                    time.sleep(gaps[index] / 1000)
            deadline = time.monotonic() + PATIENCE_S + 15
            for thread in threads:
                thread.join(max(deadline - time.monotonic(), 0))
        finally:
            with lock:
                for name in ("client", "planner", "router"):
                    if name in nodes:
                        nodes.pop(name).close()
        stuck = [thread.name for thread in threads if thread.is_alive()]
        if stuck:
            return f"still starting after {PATIENCE_S + 15:g} s: {', '.join(stuck)}"
        if failures:
            return "; ".join(f"the {name} raised {error!r}" for name, error in failures.items())
        plan = outcome.get("plan")
        if plan is None:
            return "the client returned no plan"
        if (plan.task, plan.request_id) != (TASK, f"ready-{run}"):
            return f"a plan of task {plan.task!r} for request {plan.request_id!r}"
        return None


if __name__ == "__main__":
    unittest.main()
