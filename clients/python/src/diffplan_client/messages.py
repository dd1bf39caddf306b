"""The protocol's message bodies (docs/PROTOCOL.md, "Messages"), field for field as the bridge
crate's ``bridge/src/message/*.rs``.

Each class has ``TYPE`` (the envelope's ``type``), ``to_body()`` (the JSON object sent; ``None``
fields are omitted, which the bridge reads as absent), ``from_body()`` (strict: unknown and
missing fields are refused, as with ``deny_unknown_fields``) and ``validate()`` (the bridge's own
checks, run on encode and decode). Wrap a body in its envelope with :mod:`diffplan_client.wire`.

Units are the robot's (the dataset's): for Maze2D, positions in metres and velocities in m/s,
observation = (x, y, vx, vy), action in [-1, 1]^2. States, observations and actions are ``f32``
on the planner; Python floats carry them exactly, and values sent are rounded to ``f32`` there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, List, Optional

from . import _fields as f
from .errors import ERROR_CODES, InvalidMessage
from .keys import check_id

#: A robot's modes: executing a plan, holding still, episode over (no plan wanted).
ROBOT_MODES = ("running", "holding", "done")

#: The samplers a request may ask for.
SAMPLER_KINDS = ("ddpm", "ddim", "dpm_solver_pp")

#: The kinds of node that publish a Heartbeat.
NODE_ROLES = ("robot", "planner")

#: A node's statuses: working, a robot holding still, shutting down.
NODE_STATUSES = ("ok", "holding", "stopping")


def _without_none(body: Dict[str, Any]) -> Dict[str, Any]:
    return {name: value for name, value in body.items() if value is not None}


@dataclass
class Waypoint:
    """A state the plan must pass through at step ``index`` of the plan (0-based)."""

    index: int
    #: The state, or its leading components, in observation units.
    state: List[float]

    def to_body(self) -> Dict[str, Any]:
        return {"index": self.index, "state": f.f32s(self.state)}

    @classmethod
    def from_body(cls, where: str, body: Any) -> Waypoint:
        fields = f.Fields(where, body, ("index", "state"))
        return cls(index=fields.required("index", f.read_u64), state=fields.required("state", f.read_f32s))


@dataclass
class SamplerOptions:
    """Sampler overrides for one request; without them the service uses its task config's."""

    #: ``ddpm``, ``ddim`` or ``dpm_solver_pp``.
    kind: str
    #: Denoising steps (model calls); ``None``: the task config's.
    steps: Optional[int] = None
    #: DDIM's eta, from 0 (deterministic) to 1; only for ``ddim``.
    eta: Optional[float] = None

    def to_body(self) -> Dict[str, Any]:
        return _without_none({"kind": self.kind, "steps": self.steps, "eta": self.eta})

    @classmethod
    def from_body(cls, where: str, body: Any) -> SamplerOptions:
        fields = f.Fields(where, body, ("kind", "steps", "eta"))
        return cls(
            kind=fields.required("kind", f.read_str),
            steps=fields.optional("steps", f.read_u64),
            eta=fields.optional("eta", f.read_f64),
        )

    def validate(self, where: str) -> None:
        """A known kind, an integer ``steps`` and a finite ``eta``; raises :class:`InvalidMessage`
        naming fields under ``where`` (e.g. ``plan_request.sampler``)."""
        if self.kind not in SAMPLER_KINDS:
            raise InvalidMessage(f"{where}.kind", f"{self.kind!r:.64} is not one of {', '.join(SAMPLER_KINDS)}")
        if self.steps is not None:
            f.check_u64(f"{where}.steps", self.steps)
        if self.eta is not None:
            f.check_f64(f"{where}.eta", self.eta)


@dataclass
class PlanRequest:
    """A request for one plan: the payload of a query on ``<ns>/service/plan``."""

    TYPE: ClassVar[str] = "PlanRequest"

    #: Chosen by the client, 1 to 256 bytes of UTF-8; echoed in the plan or error reply.
    request_id: str
    #: The start state, pinned at step 0 of the plan, in observation units.
    observation: List[float]
    #: The goal state or its leading components, pinned at the last step (or at ``arrival``).
    goal: Optional[List[float]] = None
    #: Seed of the sampler's noise: the same seed (and device) gives the same plan.
    seed: int = 0
    #: The robot the plan is for, if any (an id: ``[A-Za-z0-9_-]``, 1 to 64 characters).
    robot_id: Optional[str] = None
    #: The task the plan is for (an id, e.g. ``maze2d-umaze``); a planner of another task refuses
    #: the request (``bad_request``). ``None``: whatever task the answering planner serves.
    task: Optional[str] = None
    #: The robot's episode, echoed in the plan.
    episode: int = 0
    #: The control step the observation was taken at, echoed as the plan's ``from_step``.
    from_step: int = 0
    #: The plan step at which it reaches ``goal`` and holds it; ``None``: the last step. Needs ``goal``.
    arrival: Optional[int] = None
    #: Intermediate states to pass through.
    waypoints: List[Waypoint] = field(default_factory=list)
    #: Sampler overrides; ``None``: the service's task config.
    sampler: Optional[SamplerOptions] = None
    #: Candidates to sample (best first when the service has a value model); ``None``: 1. More
    #: than the planner's ``max_batch`` (64 by default) is refused as ``bad_request``.
    batch_size: Optional[int] = None
    #: Milliseconds the request may wait in the planner's queue before it is refused (``deadline``).
    deadline_ms: Optional[int] = None

    def to_body(self) -> Dict[str, Any]:
        return _without_none(
            {
                "request_id": self.request_id,
                "robot_id": self.robot_id,
                "task": self.task,
                "episode": self.episode,
                "from_step": self.from_step,
                "observation": f.f32s(self.observation),
                "goal": None if self.goal is None else f.f32s(self.goal),
                "arrival": self.arrival,
                "waypoints": [w.to_body() for w in self.waypoints] or None,
                "sampler": None if self.sampler is None else self.sampler.to_body(),
                "seed": self.seed,
                "batch_size": self.batch_size,
                "deadline_ms": self.deadline_ms,
            }
        )

    @classmethod
    def from_body(cls, body: Any) -> PlanRequest:
        names = ("request_id", "robot_id", "task", "episode", "from_step", "observation", "goal", "arrival",
                 "waypoints", "sampler", "seed", "batch_size", "deadline_ms")  # fmt: skip
        fields = f.Fields("plan_request", body, names)
        return cls(
            request_id=fields.required("request_id", f.read_str),
            robot_id=fields.optional("robot_id", f.read_str),
            task=fields.optional("task", f.read_str),
            episode=fields.defaulted("episode", f.read_u64, 0),
            from_step=fields.defaulted("from_step", f.read_u64, 0),
            observation=fields.required("observation", f.read_f32s),
            goal=fields.optional("goal", f.read_f32s),
            arrival=fields.optional("arrival", f.read_u64),
            waypoints=fields.defaulted("waypoints", f.read_list(Waypoint.from_body), []),
            sampler=fields.optional("sampler", SamplerOptions.from_body),
            seed=fields.defaulted("seed", f.read_u64, 0),
            batch_size=fields.optional("batch_size", f.read_u64),
            deadline_ms=fields.optional("deadline_ms", f.read_u64),
        )

    def validate(self) -> None:
        """The bridge's checks of a request, plus the types JSON cannot carry (integers, finite
        ``f32``) and the sampler names; raises :class:`InvalidMessage`."""
        if not isinstance(self.request_id, str) or not 1 <= len(self.request_id.encode()) <= 256:
            raise InvalidMessage("plan_request.request_id", "must be 1 to 256 characters")
        if self.robot_id is not None:
            check_id("plan_request.robot_id", self.robot_id)
        if self.task is not None:
            check_id("plan_request.task", self.task)
        for name in ("episode", "from_step", "seed"):
            f.check_u64(f"plan_request.{name}", getattr(self, name))
        for name in ("arrival", "batch_size", "deadline_ms"):
            if getattr(self, name) is not None:
                f.check_u64(f"plan_request.{name}", getattr(self, name))
        if len(self.observation) == 0:
            raise InvalidMessage("plan_request.observation", "is empty")
        f.check_f32s("plan_request.observation", self.observation)
        if self.goal is not None:
            f.check_f32s("plan_request.goal", self.goal)
        if self.arrival is not None and self.goal is None:
            raise InvalidMessage("plan_request.arrival", "needs a goal to arrive at")
        for i, waypoint in enumerate(self.waypoints):
            f.check_u64(f"plan_request.waypoints[{i}].index", waypoint.index)
            f.check_f32s(f"plan_request.waypoints[{i}].state", waypoint.state)
        if self.sampler is not None:
            self.sampler.validate("plan_request.sampler")
        if self.batch_size == 0:
            raise InvalidMessage("plan_request.batch_size", "must be at least 1")


@dataclass
class ConstraintResidual:
    """One hard constraint's largest violation before and after projection, in the task's units."""

    #: The constraint's name from the task config.
    name: str
    #: Largest violation of the unprojected sample.
    before: float
    #: Largest violation of the returned plan.
    after: float

    def to_body(self) -> Dict[str, Any]:
        return {"name": self.name, "before": self.before, "after": self.after}

    @classmethod
    def from_body(cls, where: str, body: Any) -> ConstraintResidual:
        fields = f.Fields(where, body, ("name", "before", "after"))
        return cls(
            name=fields.required("name", f.read_str),
            before=fields.required("before", f.read_f64),
            after=fields.required("after", f.read_f64),
        )


@dataclass
class PlanTiming:
    """Milliseconds spent on a plan inside the service."""

    #: From arrival to the start of sampling, ms.
    queue_ms: float
    #: Sampling, model calls included, ms.
    sample_ms: float
    #: Of which in the denoiser, ms.
    model_ms: float

    def to_body(self) -> Dict[str, Any]:
        return {"queue_ms": self.queue_ms, "sample_ms": self.sample_ms, "model_ms": self.model_ms}

    @classmethod
    def from_body(cls, where: str, body: Any) -> PlanTiming:
        fields = f.Fields(where, body, ("queue_ms", "sample_ms", "model_ms"))
        return cls(*(fields.required(name, f.read_f64) for name in ("queue_ms", "sample_ms", "model_ms")))


@dataclass
class Plan:
    """A planned trajectory: the reply to a PlanRequest, or streamed to a robot.

    ``states[k]`` and ``actions[k]`` are planned for control step ``from_step + k``; past the last
    state a robot holds the last state.
    """

    TYPE: ClassVar[str] = "Plan"

    #: Unique per planner (``<planner_id>-<counter>``); a re-sent plan keeps its id.
    plan_id: str
    #: The planner that made it.
    planner_id: str
    #: The task of the planner that made it (an id, e.g. ``maze2d-umaze``); a robot executes
    #: only plans of its own task.
    task: str
    #: The digest of the checkpoint folder that made it: ``sha256:`` and 64 lowercase hex digits.
    checkpoint_digest: str
    #: The robot's episode the plan is for.
    episode: int
    #: The control step of that episode the plan starts at.
    from_step: int
    #: Seconds between consecutive states.
    dt: float
    #: Planned states, one row per step, in observation units.
    states: List[List[float]]
    #: Planned actions, one row per step (Maze2D: in [-1, 1]^2).
    actions: List[List[float]]
    #: Where the time went.
    timing: PlanTiming
    #: Denoiser evaluations spent on it.
    model_calls: int
    #: The sampler's seed.
    seed: int
    #: The request it answers, if it answers one.
    request_id: Optional[str] = None
    #: The robot it is for, if any.
    robot_id: Optional[str] = None
    #: Steps after ``from_step`` the plan may be executed; ``None``: until replaced.
    valid_steps: Optional[int] = None
    #: The value model's estimate of the plan's return, if the planner has one.
    value: Optional[float] = None
    #: Constraint residuals before and after projection (empty: no constraints configured).
    constraints: List[ConstraintResidual] = field(default_factory=list)

    @property
    def horizon(self) -> int:
        """Planned steps (rows of ``states``)."""
        return len(self.states)

    def state_at(self, step: int) -> List[float]:
        """The state planned for control step ``step`` (at or after ``from_step``); past the last
        state, the last state, which a robot holds."""
        if step < self.from_step:
            raise ValueError(f"step {step} is before the plan's from_step {self.from_step}")
        return self.states[min(step - self.from_step, len(self.states) - 1)]

    def to_body(self) -> Dict[str, Any]:
        return _without_none(
            {
                "plan_id": self.plan_id,
                "request_id": self.request_id,
                "planner_id": self.planner_id,
                "task": self.task,
                "checkpoint_digest": self.checkpoint_digest,
                "robot_id": self.robot_id,
                "episode": self.episode,
                "from_step": self.from_step,
                "dt": self.dt,
                "states": [f.f32s(row) for row in self.states],
                "actions": [f.f32s(row) for row in self.actions],
                "valid_steps": self.valid_steps,
                "value": self.value,
                "constraints": [c.to_body() for c in self.constraints],
                "timing": self.timing.to_body(),
                "model_calls": self.model_calls,
                "seed": self.seed,
            }
        )

    @classmethod
    def from_body(cls, body: Any) -> Plan:
        names = ("plan_id", "request_id", "planner_id", "task", "checkpoint_digest", "robot_id", "episode",
                 "from_step", "dt", "states", "actions", "valid_steps", "value", "constraints", "timing",
                 "model_calls", "seed")  # fmt: skip
        fields = f.Fields("plan", body, names)
        return cls(
            plan_id=fields.required("plan_id", f.read_str),
            request_id=fields.optional("request_id", f.read_str),
            planner_id=fields.required("planner_id", f.read_str),
            task=fields.required("task", f.read_str),
            checkpoint_digest=fields.required("checkpoint_digest", f.read_str),
            robot_id=fields.optional("robot_id", f.read_str),
            episode=fields.required("episode", f.read_u64),
            from_step=fields.required("from_step", f.read_u64),
            dt=fields.required("dt", f.read_f64),
            states=fields.required("states", f.read_f32_rows),
            actions=fields.required("actions", f.read_f32_rows),
            valid_steps=fields.optional("valid_steps", f.read_u64),
            value=fields.optional("value", f.read_f64),
            constraints=fields.defaulted("constraints", f.read_list(ConstraintResidual.from_body), []),
            timing=fields.required("timing", PlanTiming.from_body),
            model_calls=fields.required("model_calls", f.read_u64),
            seed=fields.required("seed", f.read_u64),
        )

    def validate(self) -> None:
        """The bridge's checks of a plan: valid ids and checkpoint digest, as many actions as
        states (at least one), rows of one width with finite values, a positive ``dt``; raises
        :class:`InvalidMessage`."""
        check_id("plan.planner_id", self.planner_id)
        check_id("plan.task", self.task)
        f.check_digest("plan.checkpoint_digest", self.checkpoint_digest)
        if self.robot_id is not None:
            check_id("plan.robot_id", self.robot_id)
        if len(self.states) == 0 or len(self.states) != len(self.actions):
            raise InvalidMessage(
                "plan.states",
                f"{len(self.states)} states and {len(self.actions)} actions; a plan has as many of each, at least one",
            )
        f.check_rows("plan.states", self.states, len(self.states[0]))
        f.check_rows("plan.actions", self.actions, len(self.actions[0]))
        f.check_f64("plan.dt", self.dt)
        if self.dt <= 0:
            raise InvalidMessage("plan.dt", f"{self.dt} is not a positive time step")


@dataclass
class ErrorReply:
    """Why a plan request was refused: the payload of an error reply."""

    TYPE: ClassVar[str] = "Error"

    #: ``bad_request``, ``unsupported_version``, ``busy``, ``deadline``, ``internal`` or ``infeasible``.
    code: str
    #: What went wrong and how to fix it (at most 1024 characters, control characters escaped).
    message: str
    #: The refused request's id, when it could be read.
    request_id: Optional[str] = None

    def to_body(self) -> Dict[str, Any]:
        return _without_none({"request_id": self.request_id, "code": self.code, "message": self.message})

    @classmethod
    def from_body(cls, body: Any) -> ErrorReply:
        fields = f.Fields("error", body, ("request_id", "code", "message"))
        return cls(
            request_id=fields.optional("request_id", f.read_str),
            code=fields.required("code", f.read_choice(ERROR_CODES)),
            message=fields.required("message", f.read_str),
        )

    def validate(self) -> None:
        if self.code not in ERROR_CODES:
            raise InvalidMessage("error.code", f"{self.code!r:.64} is not one of {', '.join(ERROR_CODES)}")


@dataclass
class RobotState:
    """A robot's state at one control step, published on ``<ns>/robot/<robot>/state``."""

    TYPE: ClassVar[str] = "RobotState"

    #: The robot's id, as in its key.
    robot_id: str
    #: Episode id (the simulator uses the episode's reset seed; 0 for one long episode).
    episode: int
    #: Control step within the episode.
    step: int
    #: Seconds of robot time since the episode began.
    time_s: float
    #: The observation, in the units of the model's dataset.
    observation: List[float]
    #: The goal the robot wants planned for, or its leading components (e.g. a position).
    goal: Optional[List[float]] = None
    #: Joint names, for robots with joints.
    joint_names: Optional[List[str]] = None
    #: ``running``, ``holding`` or ``done`` (a streaming planner plans for no ``done`` robot).
    mode: str = "running"
    #: The task the robot runs (an id, e.g. ``maze2d-umaze``): streaming planners plan only for
    #: robots whose task is theirs or ``None``.
    task: Optional[str] = None

    def to_body(self) -> Dict[str, Any]:
        # `goal`, `joint_names` and `task` are sent as null rather than omitted, as the bridge sends them.
        return {
            "robot_id": self.robot_id,
            "task": self.task,
            "episode": self.episode,
            "step": self.step,
            "time_s": float(self.time_s),
            "observation": f.f32s(self.observation),
            "goal": None if self.goal is None else f.f32s(self.goal),
            "joint_names": None if self.joint_names is None else list(self.joint_names),
            "mode": self.mode,
        }

    @classmethod
    def from_body(cls, body: Any) -> RobotState:
        names = ("robot_id", "task", "episode", "step", "time_s", "observation", "goal", "joint_names", "mode")
        fields = f.Fields("robot_state", body, names)
        return cls(
            robot_id=fields.required("robot_id", f.read_str),
            task=fields.optional("task", f.read_str),
            episode=fields.required("episode", f.read_u64),
            step=fields.required("step", f.read_u64),
            time_s=fields.required("time_s", f.read_f64),
            observation=fields.required("observation", f.read_f32s),
            goal=fields.optional("goal", f.read_f32s),
            joint_names=fields.optional("joint_names", f.read_strs),
            mode=fields.required("mode", f.read_choice(ROBOT_MODES)),
        )

    def validate(self) -> None:
        """The bridge's checks of a state: valid robot and task ids, a non-empty finite
        observation, a finite goal and time; raises :class:`InvalidMessage`."""
        check_id("robot_state.robot_id", self.robot_id)
        if self.task is not None:
            check_id("robot_state.task", self.task)
        f.check_u64("robot_state.episode", self.episode)
        f.check_u64("robot_state.step", self.step)
        if len(self.observation) == 0:
            raise InvalidMessage("robot_state.observation", "is empty")
        f.check_f32s("robot_state.observation", self.observation)
        if self.goal is not None:
            f.check_f32s("robot_state.goal", self.goal)
        f.check_f64("robot_state.time_s", self.time_s)
        if self.joint_names is not None and not all(isinstance(n, str) for n in self.joint_names):
            raise InvalidMessage("robot_state.joint_names", "must be strings")
        if self.mode not in ROBOT_MODES:
            raise InvalidMessage("robot_state.mode", f"{self.mode!r:.64} is not one of {', '.join(ROBOT_MODES)}")


@dataclass
class Heartbeat:
    """A node's status: a robot's on ``<ns>/robot/<robot>/status`` on every change of status, a
    planner's on ``<ns>/planner/<planner>/status`` every second."""

    TYPE: ClassVar[str] = "Heartbeat"

    #: The node's id.
    node_id: str
    #: ``robot`` or ``planner``.
    role: str
    #: ``ok``, ``holding`` (a robot holding still) or ``stopping``.
    status: str
    #: Why, for anything but ``ok`` (e.g. ``no fresh plan for 250 ms``).
    reason: Optional[str] = None
    #: The robot's control step (robots only).
    step: Optional[int] = None
    #: The task the node plans for or runs (an id; planners and robots set it).
    task: Optional[str] = None
    #: The digest of the planner's checkpoint folder (planners set it).
    checkpoint_digest: Optional[str] = None
    #: Counts since the node started (``plans_received``, ``plans_rejected``, ``holds``, ...).
    counters: Dict[str, int] = field(default_factory=dict)

    def to_body(self) -> Dict[str, Any]:
        return _without_none(
            {
                "node_id": self.node_id,
                "role": self.role,
                "status": self.status,
                "reason": self.reason,
                "step": self.step,
                "task": self.task,
                "checkpoint_digest": self.checkpoint_digest,
                "counters": dict(self.counters),
            }
        )

    @classmethod
    def from_body(cls, body: Any) -> Heartbeat:
        names = ("node_id", "role", "status", "reason", "step", "task", "checkpoint_digest", "counters")
        fields = f.Fields("heartbeat", body, names)
        return cls(
            node_id=fields.required("node_id", f.read_str),
            role=fields.required("role", f.read_choice(NODE_ROLES)),
            status=fields.required("status", f.read_choice(NODE_STATUSES)),
            reason=fields.optional("reason", f.read_str),
            step=fields.optional("step", f.read_u64),
            task=fields.optional("task", f.read_str),
            checkpoint_digest=fields.optional("checkpoint_digest", f.read_str),
            counters=fields.defaulted("counters", f.read_u64_map, {}),
        )

    def validate(self) -> None:
        """A valid node id and task, a known role and status, counts from 0 to 2^64 - 1, a
        well-formed checkpoint digest; raises :class:`InvalidMessage`."""
        check_id("heartbeat.node_id", self.node_id)
        if self.role not in NODE_ROLES:
            raise InvalidMessage("heartbeat.role", f"{self.role!r:.64} is not one of {', '.join(NODE_ROLES)}")
        if self.status not in NODE_STATUSES:
            raise InvalidMessage("heartbeat.status", f"{self.status!r:.64} is not one of {', '.join(NODE_STATUSES)}")
        if self.step is not None:
            f.check_u64("heartbeat.step", self.step)
        for name, count in self.counters.items():
            if not isinstance(name, str):
                raise InvalidMessage("heartbeat.counters", f"{name!r:.64} is not a counter name")
            f.check_u64(f"heartbeat.counters.{name[:64]}", count)
        if self.task is not None:
            check_id("heartbeat.task", self.task)
        if self.checkpoint_digest is not None:
            f.check_digest("heartbeat.checkpoint_digest", self.checkpoint_digest)


@dataclass
class Component:
    """One entry of a model's observation or action, in the robot's units."""

    #: E.g. ``x`` or ``vx``.
    name: str
    #: E.g. ``m`` or ``m/s``.
    unit: str
    #: Its lower bound, if it has one.
    low: Optional[float] = None
    #: Its upper bound, if it has one.
    high: Optional[float] = None

    def to_body(self) -> Dict[str, Any]:
        return _without_none({"name": self.name, "unit": self.unit, "low": self.low, "high": self.high})

    @classmethod
    def from_body(cls, where: str, body: Any) -> Component:
        fields = f.Fields(where, body, ("name", "unit", "low", "high"))
        return cls(
            name=fields.required("name", f.read_str),
            unit=fields.required("unit", f.read_str),
            low=fields.optional("low", f.read_f64),
            high=fields.optional("high", f.read_f64),
        )


@dataclass
class GoalLayout:
    """What a request's ``goal`` holds and where the plan is pinned to it."""

    #: Values in a goal (as wide as the observation).
    width: int
    #: The observation components they stand for, e.g. ``x, y, vx, vy``.
    components: List[str]
    #: The plan row the goal is pinned at by default (``horizon - 1``).
    row: int
    #: What the goal means, e.g. arrive at (x, y) at rest.
    note: str

    def to_body(self) -> Dict[str, Any]:
        return {"width": self.width, "components": list(self.components), "row": self.row, "note": self.note}

    @classmethod
    def from_body(cls, where: str, body: Any) -> GoalLayout:
        fields = f.Fields(where, body, ("width", "components", "row", "note"))
        return cls(
            width=fields.required("width", f.read_u64),
            components=fields.required("components", f.read_strs),
            row=fields.required("row", f.read_u64),
            note=fields.required("note", f.read_str),
        )


@dataclass
class PlanLimits:
    """What a planner refuses as ``bad_request`` before any work."""

    #: Candidates one request may ask for (``batch_size``).
    max_batch: int
    #: Denoising steps one request may ask for (``sampler.steps``).
    max_steps: int
    #: The largest request payload it reads, bytes.
    max_payload_bytes: int

    def to_body(self) -> Dict[str, Any]:
        return {"max_batch": self.max_batch, "max_steps": self.max_steps, "max_payload_bytes": self.max_payload_bytes}

    @classmethod
    def from_body(cls, where: str, body: Any) -> PlanLimits:
        names = ("max_batch", "max_steps", "max_payload_bytes")
        fields = f.Fields(where, body, names)
        return cls(*(fields.required(name, f.read_u64) for name in names))


@dataclass
class ExampleRequest:
    """A valid start and goal of a planner's task, in observation units."""

    #: A start state (a full observation).
    observation: List[float]
    #: A goal (as wide as the observation).
    goal: List[float]

    def to_body(self) -> Dict[str, Any]:
        return {"observation": f.f32s(self.observation), "goal": f.f32s(self.goal)}

    @classmethod
    def from_body(cls, where: str, body: Any) -> ExampleRequest:
        fields = f.Fields(where, body, ("observation", "goal"))
        return cls(observation=fields.required("observation", f.read_f32s), goal=fields.required("goal", f.read_f32s))


@dataclass
class ModelCard:
    """What a planner serves: the reply to a query on ``<ns>/planner/<planner>/describe``."""

    TYPE: ClassVar[str] = "ModelCard"

    #: The planner's id.
    planner_id: str
    #: The protocol version it speaks.
    protocol_version: int
    #: Its task (an id, e.g. ``maze2d-umaze``).
    task: str
    #: The task for people, e.g. ``maze2d-umaze (fixed goal)``.
    task_label: str
    #: The checkpoint's path, as the task config names it.
    checkpoint: str
    #: The digest of the checkpoint folder: ``sha256:`` and 64 lowercase hex digits.
    checkpoint_digest: str
    #: Rows of a plan (H).
    horizon: int
    #: The model's diffusion (training) steps (N).
    diffusion_steps: int
    #: Seconds between plan rows.
    dt: float
    #: The observation's components (O entries).
    observation: List[Component]
    #: The action's components (A entries).
    action: List[Component]
    #: What a goal holds.
    goal: GoalLayout
    #: The sampler used when a request names none.
    sampler: SamplerOptions
    #: What it refuses before any work.
    limits: PlanLimits
    #: The names of the hard constraints its plans satisfy.
    constraints: List[str]
    #: Steps between streamed replans (0: plan once).
    replan_every: int
    #: Whether it streams plans to robots' states.
    streaming: bool
    #: A valid start and goal of its task.
    example: ExampleRequest

    def to_body(self) -> Dict[str, Any]:
        return {
            "planner_id": self.planner_id,
            "protocol_version": self.protocol_version,
            "task": self.task,
            "task_label": self.task_label,
            "checkpoint": self.checkpoint,
            "checkpoint_digest": self.checkpoint_digest,
            "horizon": self.horizon,
            "diffusion_steps": self.diffusion_steps,
            "dt": self.dt,
            "observation": [c.to_body() for c in self.observation],
            "action": [c.to_body() for c in self.action],
            "goal": self.goal.to_body(),
            "sampler": self.sampler.to_body(),
            "limits": self.limits.to_body(),
            "constraints": list(self.constraints),
            "replan_every": self.replan_every,
            "streaming": self.streaming,
            "example": self.example.to_body(),
        }

    @classmethod
    def from_body(cls, body: Any) -> ModelCard:
        names = ("planner_id", "protocol_version", "task", "task_label", "checkpoint", "checkpoint_digest", "horizon",
                 "diffusion_steps", "dt", "observation", "action", "goal", "sampler", "limits", "constraints",
                 "replan_every", "streaming", "example")  # fmt: skip
        fields = f.Fields("model_card", body, names)
        return cls(
            planner_id=fields.required("planner_id", f.read_str),
            protocol_version=fields.required("protocol_version", f.read_u64),
            task=fields.required("task", f.read_str),
            task_label=fields.required("task_label", f.read_str),
            checkpoint=fields.required("checkpoint", f.read_str),
            checkpoint_digest=fields.required("checkpoint_digest", f.read_str),
            horizon=fields.required("horizon", f.read_u64),
            diffusion_steps=fields.required("diffusion_steps", f.read_u64),
            dt=fields.required("dt", f.read_f64),
            observation=fields.required("observation", f.read_list(Component.from_body)),
            action=fields.required("action", f.read_list(Component.from_body)),
            goal=fields.required("goal", GoalLayout.from_body),
            sampler=fields.required("sampler", SamplerOptions.from_body),
            limits=fields.required("limits", PlanLimits.from_body),
            constraints=fields.required("constraints", f.read_strs),
            replan_every=fields.required("replan_every", f.read_u64),
            streaming=fields.required("streaming", f.read_bool),
            example=fields.required("example", ExampleRequest.from_body),
        )

    def validate(self) -> None:
        """The bridge's checks of a card: valid planner and task ids and checkpoint digest, at
        least one plan row, observation and action value, a positive ``dt``, a goal as wide as its
        components pinned at a row of the plan, an example as wide as the card says; plus the
        types JSON cannot carry (integers, finite ``f32``, a known sampler); raises
        :class:`InvalidMessage`."""
        check_id("model_card.planner_id", self.planner_id)
        check_id("model_card.task", self.task)
        f.check_digest("model_card.checkpoint_digest", self.checkpoint_digest)
        for name in ("protocol_version", "horizon", "diffusion_steps", "replan_every"):
            f.check_u64(f"model_card.{name}", getattr(self, name))
        for name in ("width", "row"):
            f.check_u64(f"model_card.goal.{name}", getattr(self.goal, name))
        for name in ("max_batch", "max_steps", "max_payload_bytes"):
            f.check_u64(f"model_card.limits.{name}", getattr(self.limits, name))
        if self.horizon == 0 or not self.observation or not self.action:
            raise InvalidMessage("model_card", "a card describes at least one row, observation and action value")
        f.check_f64("model_card.dt", self.dt)
        if self.dt <= 0:
            raise InvalidMessage("model_card.dt", f"{self.dt} is not a positive time step")
        goal = self.goal
        if goal.width != len(goal.components) or goal.row >= self.horizon:
            raise InvalidMessage(
                "model_card.goal",
                f"width {goal.width} with {len(goal.components)} components at row {goal.row} of {self.horizon}; "
                "the width counts the components and the row is a row of the plan",
            )
        for part in ("observation", "action"):
            for i, component in enumerate(getattr(self, part)):
                for bound in ("low", "high"):
                    if getattr(component, bound) is not None:
                        f.check_f32(f"model_card.{part}[{i}].{bound}", getattr(component, bound))
        self.sampler.validate("model_card.sampler")
        f.check_f32s("model_card.example.observation", self.example.observation)
        f.check_f32s("model_card.example.goal", self.example.goal)
        if len(self.example.observation) != len(self.observation) or len(self.example.goal) != goal.width:
            raise InvalidMessage(
                "model_card.example",
                f"an observation of {len(self.example.observation)} and a goal of {len(self.example.goal)} values; "
                f"the card's widths are {len(self.observation)} and {goal.width}",
            )
        if not isinstance(self.streaming, bool):
            raise InvalidMessage("model_card.streaming", f"{self.streaming!r:.40} is not a boolean")
