"""A stand-in for `diffplan serve` on loopback, for the client's tests: it declares the shared and
its own service key and its liveliness token as the bridge's PlannerService does, answers each
query as `answer(request)` says, and in streaming mode plans for every robot state it receives.
The real service is tested against this package by tests/python/install_client.sh.
"""

from __future__ import annotations

import socket
import threading
from typing import Callable, List, Union

import zenoh

from diffplan_client import ErrorReply, Namespace, Plan, PlanRequest, PlanTiming, ProtocolError, RobotState
from diffplan_client import decode, encode, encoding_of, open_session


def free_endpoint() -> str:
    """A free loopback TCP endpoint."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"tcp/127.0.0.1:{probe.getsockname()[1]}"


def straight_line(request_id, observation, goal, planner_id="fake-0", robot_id=None, episode=0, from_step=0, seed=0):
    """A 5-step plan from `observation` to `goal` (or staying put), as a planner would send it."""
    goal = goal or observation
    states = [[a + (b - a) * k / 4 for a, b in zip(observation, goal + observation[len(goal):])] for k in range(5)]
    return Plan(
        plan_id=f"{planner_id}-1",
        request_id=request_id,
        planner_id=planner_id,
        robot_id=robot_id,
        episode=episode,
        from_step=from_step,
        dt=0.01,
        states=states,
        actions=[[0.5, -0.5]] * 5,
        timing=PlanTiming(queue_ms=0.1, sample_ms=2.0, model_ms=1.5),
        model_calls=5,
        seed=seed,
    )


#: What `answer` returns: a Plan or an ErrorReply to send, ("ok", bytes) or ("err", bytes) to send
#: raw, or "hold" to keep the query unanswered until it times out.
Answer = Union[Plan, ErrorReply, tuple, str]


def plan_for(request: PlanRequest) -> Answer:
    return straight_line(request.request_id, request.observation, request.goal, seed=request.seed)


class FakePlanner:
    """Serves on a fresh loopback endpoint until closed (use as a context manager)."""

    def __init__(
        self,
        namespace: str = "fake",
        planner_id: str = "fake-0",
        answer: Callable[[PlanRequest], Answer] = plan_for,
        stream: bool = False,
        alive: bool = True,
    ):
        self.endpoint = free_endpoint()
        self.keys = Namespace(namespace)
        self.planner_id = planner_id
        self.answer = answer
        self.requests: List[PlanRequest] = []
        self.states: List[RobotState] = []
        self._held: List[zenoh.Query] = []
        self._lock = threading.Lock()
        self.session = open_session(listen=self.endpoint)
        keys = [self.keys.shared_service(), self.keys.worker_service(planner_id)]
        self._queryables = [self.session.declare_queryable(k, self._on_query, complete=True) for k in keys]
        self._subscriber = self.session.declare_subscriber(self.keys.all_robot_states(), self._on_state) if stream else None
        self._token = self.session.liveliness().declare_token(self.keys.planner_token(planner_id)) if alive else None

    def _on_query(self, query: zenoh.Query) -> None:
        try:
            request = decode(query.payload.to_bytes(), PlanRequest).body
        except ProtocolError as error:
            self._send(query, ErrorReply(code="bad_request", message=str(error)))
            return
        with self._lock:
            self.requests.append(request)
        self._send(query, self.answer(request))

    def _send(self, query: zenoh.Query, answer: Answer) -> None:
        if answer == "hold":
            with self._lock:
                self._held.append(query)
        elif isinstance(answer, Plan):
            query.reply(query.key_expr, encode(answer), encoding=encoding_of(Plan))
        elif isinstance(answer, ErrorReply):
            query.reply_err(encode(answer), encoding=encoding_of(ErrorReply))
        elif answer[0] == "ok":
            query.reply(query.key_expr, answer[1])
        else:
            query.reply_err(answer[1])

    def _on_state(self, sample: zenoh.Sample) -> None:
        state = decode(sample.payload.to_bytes(), RobotState).body
        with self._lock:
            self.states.append(state)
        if state.mode == "done":
            return
        plan = straight_line(None, state.observation, state.goal, self.planner_id, state.robot_id, state.episode, state.step)
        self.session.put(self.keys.plan_stream(self.planner_id, state.robot_id), encode(plan), encoding=encoding_of(Plan))

    def publish_raw_plan(self, robot: str, payload: bytes) -> None:
        """Puts `payload` on this planner's plan stream for `robot`, whatever it is."""
        self.session.put(self.keys.plan_stream(self.planner_id, robot), payload)

    def close(self) -> None:
        with self._lock:
            self._held.clear()
        self.session.close()

    def __enter__(self) -> FakePlanner:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
