"""A stand-in for `diffplan serve` on loopback, for the client's tests: it declares the shared, its
task's and its own service key, its model card and its liveliness tokens (its own and its task's)
as the bridge's PlannerService does, answers each query as `answer(request)` says, refuses requests
for another task, and in streaming mode plans for every robot state of its task it receives.
The real service is tested against this package by tests/python/install_client.sh.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from typing import Callable, Dict, List, Optional, Tuple, Union

import zenoh

from diffplan_client import (
    Component,
    ErrorReply,
    ExampleRequest,
    GoalLayout,
    ModelCard,
    Namespace,
    Plan,
    PlanLimits,
    PlanRequest,
    PlanTiming,
    ProtocolError,
    RobotState,
    SamplerOptions,
    decode,
    encode,
    encoding_of,
    open_session,
)
from diffplan_client.session import Endpoints

#: The fake planner's task and checkpoint digest.
TASK = "maze2d-umaze"
DIGEST = "sha256:" + hashlib.sha256(b"a fake checkpoint").hexdigest()


def free_endpoint() -> str:
    """A free loopback TCP endpoint."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"tcp/127.0.0.1:{probe.getsockname()[1]}"


def straight_line(request_id, observation, goal, planner_id="fake-0", robot_id=None, episode=0, from_step=0, seed=0,
                  task=TASK, plan_id=None):  # fmt: skip
    """A 5-step plan from `observation` to `goal` (or staying put), as a planner would send it."""
    goal = goal or observation
    states = [[a + (b - a) * k / 4 for a, b in zip(observation, goal + observation[len(goal):])] for k in range(5)]
    return Plan(
        plan_id=plan_id or f"{planner_id}-1",
        request_id=request_id,
        planner_id=planner_id,
        task=task,
        checkpoint_digest=DIGEST,
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


def model_card(planner_id="fake-0", task=TASK) -> ModelCard:
    """The card of a Maze2D planner, as `diffplan serve` describes one."""
    units = [("x", "m"), ("y", "m"), ("vx", "m/s"), ("vy", "m/s")]
    return ModelCard(
        planner_id=planner_id,
        protocol_version=2,
        task=task,
        task_label=f"{task} (fixed goal)",
        checkpoint="models/maze2d-umaze",
        checkpoint_digest=DIGEST,
        horizon=128,
        diffusion_steps=64,
        dt=0.01,
        observation=[Component(name, unit) for name, unit in units],
        action=[Component("ax", "1", low=-1.0, high=1.0), Component("ay", "1", low=-1.0, high=1.0)],
        goal=GoalLayout(width=4, components=["x", "y", "vx", "vy"], row=127, note="arrive at (x, y) at rest"),
        sampler=SamplerOptions("ddim", steps=20, eta=0.0),
        limits=PlanLimits(max_batch=64, max_steps=1000, max_payload_bytes=4 << 20),
        constraints=[],
        replan_every=0,
        streaming=False,
        example=ExampleRequest(observation=[3.0, 1.0, 0.0, 0.0], goal=[1.0, 1.0, 0.0, 0.0]),
    )


#: What `answer` returns: a Plan or an ErrorReply to send, ("ok", bytes) or ("err", bytes) to send
#: raw, or "hold" to keep the query unanswered until it times out.
Answer = Union[Plan, ErrorReply, tuple, str]


def plan_for(request: PlanRequest) -> Answer:
    return straight_line(request.request_id, request.observation, request.goal, seed=request.seed)


class FakePlanner:
    """Serves on a fresh loopback endpoint until closed (use as a context manager).

    With `serve_after_s` its liveliness tokens are declared at once but its queryables (services
    and model card) only that many seconds later, so that queries meanwhile find no planner to answer them. Streaming
    (`stream`) plans once per robot and episode and re-sends that plan for each later state, as
    the real one does between replans, while `streaming` is set. With `connect` it also joins
    those endpoints (a router's), with `config_file` as its Zenoh config's base (session.py).
    """

    def __init__(
        self,
        namespace: str = "fake",
        planner_id: str = "fake-0",
        answer: Callable[[PlanRequest], Answer] = plan_for,
        stream: bool = False,
        alive: bool = True,
        task: str = TASK,
        serve_after_s: float = 0.0,
        connect: Endpoints = (),
        config_file: Optional[str] = None,
    ):
        self.endpoint = free_endpoint()
        self.keys = Namespace(namespace)
        self.planner_id = planner_id
        self.task = task
        self.answer = answer
        self.requests: List[PlanRequest] = []
        self.states: List[RobotState] = []
        #: Whether robots' states are answered with plans (`stream` only).
        self.streaming = threading.Event()
        self.streaming.set()
        self._streamed: Dict[Tuple[str, int], Plan] = {}
        self._held: List[zenoh.Query] = []
        self._queryables: list = []
        self._closed = False
        self._lock = threading.Lock()
        self.session = open_session(connect, self.endpoint, config_file=config_file)
        if stream:
            self._subscriber = self.session.declare_subscriber(self.keys.all_robot_states(), self._on_state)
        self._serving = threading.Timer(serve_after_s, self._serve)
        if serve_after_s > 0:
            self._serving.start()
        else:  # as the real one: its tokens once it can answer
            self._serve()
        self._tokens = []
        if alive:
            liveliness = self.session.liveliness()
            for key in (self.keys.planner_token(planner_id), self.keys.task_token(task, planner_id)):
                self._tokens.append(liveliness.declare_token(key))

    def _serve(self) -> None:
        keys = self.keys
        services = [keys.shared_service(), keys.task_service(self.task), keys.worker_service(self.planner_id)]
        with self._lock:
            if self._closed:
                return
            self._queryables = [self.session.declare_queryable(k, self._on_query, complete=True) for k in services]
            self._queryables.append(self.session.declare_queryable(keys.describe(self.planner_id), self._on_describe))

    def _on_describe(self, query: zenoh.Query) -> None:
        query.reply(query.key_expr, encode(model_card(self.planner_id, self.task)), encoding=encoding_of(ModelCard))

    def _on_query(self, query: zenoh.Query) -> None:
        try:
            request = decode(query.payload.to_bytes(), PlanRequest).body
        except ProtocolError as error:
            self._send(query, ErrorReply(code="bad_request", message=str(error)))
            return
        with self._lock:
            self.requests.append(request)
        if request.task not in (None, self.task):
            message = f"this planner serves task {self.task!r}, not {request.task!r}"
            self._send(query, ErrorReply(code="bad_request", message=message, request_id=request.request_id))
            return
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
        if state.mode == "done" or state.task not in (None, self.task) or not self.streaming.is_set():
            return
        with self._lock:
            plan = self._streamed.get((state.robot_id, state.episode))
            if plan is None:
                plan_id = f"{self.planner_id}-{len(self._streamed) + 1}"
                plan = straight_line(None, state.observation, state.goal, self.planner_id, state.robot_id,
                                     state.episode, state.step, task=self.task, plan_id=plan_id)  # fmt: skip
                self._streamed[(state.robot_id, state.episode)] = plan
        key = self.keys.plan_stream(self.planner_id, state.robot_id)
        self.session.put(key, encode(plan), encoding=encoding_of(Plan))

    def publish_raw_plan(self, robot: str, payload: bytes) -> None:
        """Puts `payload` on this planner's plan stream for `robot`, whatever it is."""
        self.session.put(self.keys.plan_stream(self.planner_id, robot), payload)

    def close(self) -> None:
        self._serving.cancel()
        with self._lock:
            self._closed = True
            self._held.clear()
        self.session.close()

    def __enter__(self) -> FakePlanner:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
