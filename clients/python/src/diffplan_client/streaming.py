"""The streaming (real-time) mode's two ends for a robot written in Python (docs/PROTOCOL.md,
"Robot behaviour", real time): publish the robot's state every control step, receive the plans a
streaming planner (``diffplan serve --stream``) publishes for it.

The planner plans for the newest state of each robot of its task (or of no task) when the robot
has no plan for its episode, every ``replan_every`` steps, or when the robot strays from the plan;
otherwise it re-sends the current plan (same ``plan_id``) to say it is alive. A robot executes the
newest plan of its task and episode whose ``from_step`` is not in the future, and holds when no
plan, new or re-sent, came for its timeout. clients/python/examples/streaming_robot.py is such a
robot.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional, Sequence

import zenoh

from .errors import PlanTimeout, ProtocolError
from .keys import DEFAULT_NAMESPACE, Namespace, check_id
from .messages import Plan, RobotState
from .wire import MAX_PAYLOAD_BYTES, decode, encode, encoding_of


class RobotStatePublisher:
    """Publishes one robot's :class:`RobotState` on ``<ns>/robot/<robot>/state``, and declares the
    robot's liveliness token ``<ns>/alive/robot/<robot>`` while open.

    Every state names ``task``, the task the robot runs (e.g. ``maze2d-umaze``), if given:
    streaming planners plan only for robots of their task or of none. With ``lossless`` (a
    lockstep run) states are never dropped under congestion; otherwise, as for a real-time robot,
    the newest state matters more than every state.
    """

    def __init__(
        self,
        session: zenoh.Session,
        robot_id: str,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        task: Optional[str] = None,
        lossless: bool = False,
    ):
        check_id("robot_id", robot_id)
        if task is not None:
            check_id("task", task)
        self.robot_id = robot_id
        self.task = task
        keys = Namespace(namespace)
        self._publisher = session.declare_publisher(
            keys.robot_state(robot_id),
            encoding=zenoh.Encoding(encoding_of(RobotState)),
            congestion_control=zenoh.CongestionControl.BLOCK if lossless else zenoh.CongestionControl.DROP,
            priority=zenoh.Priority.INTERACTIVE_HIGH,
            express=True,
        )
        self._token = session.liveliness().declare_token(keys.robot_token(robot_id))

    def publish(
        self,
        observation: Sequence[float],
        *,
        episode: int,
        step: int,
        time_s: float,
        goal: Optional[Sequence[float]] = None,
        mode: str = "running",
        joint_names: Optional[Sequence[str]] = None,
    ) -> RobotState:
        """Publishes the robot's state at control ``step`` of ``episode``, ``time_s`` seconds of
        robot time into the episode: its ``observation`` and the ``goal`` it wants planned for, in
        the robot's units (Maze2D: x, y in m; vx, vy in m/s). ``mode`` is ``running``,
        ``holding`` or ``done`` (no plan wanted). Returns the state sent.

        :raises InvalidMessage: the state fails the protocol's checks; nothing was sent.
        """
        state = RobotState(
            robot_id=self.robot_id,
            episode=episode,
            step=step,
            time_s=time_s,
            observation=list(observation),
            goal=None if goal is None else list(goal),
            joint_names=None if joint_names is None else list(joint_names),
            mode=mode,
            task=self.task,
        )
        self.publish_state(state)
        return state

    def publish_state(self, state: RobotState) -> None:
        """Publishes ``state`` as it is (its ``robot_id`` should be this publisher's)."""
        self._publisher.put(encode(state))

    def close(self) -> None:
        """Undeclares the publisher and the liveliness token."""
        self._publisher.undeclare()
        self._token.undeclare()

    def __enter__(self) -> RobotStatePublisher:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class PlanSubscriber:
    """Receives the plans streamed for one robot, on ``<ns>/planner/<planner>/plan/<robot>``
    (``planner`` ``*``: from any planner).

    Keeps the newest valid plan; invalid payloads, and with ``task`` plans of another task, are
    counted in :attr:`rejected` (the reason of the last one in :attr:`last_rejection`) and
    skipped. ``on_plan``, if given, is called with each valid plan, and ``on_rejection`` with the
    reason of each refused one, on Zenoh's thread; keep them short.
    """

    def __init__(
        self,
        session: zenoh.Session,
        robot_id: str,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        planner: str = "*",
        task: Optional[str] = None,
        on_plan: Optional[Callable[[Plan], None]] = None,
        on_rejection: Optional[Callable[[str], None]] = None,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
    ):
        check_id("robot_id", robot_id)
        if planner != "*":
            check_id("planner", planner)
        if task is not None:
            check_id("task", task)
        self.robot_id = robot_id
        #: The robot's task: plans of another task are refused (``None``: plans of any task).
        self.task = task
        self.key = Namespace(namespace).plan_stream(planner, robot_id)
        #: Valid plans received (re-sent plans included).
        self.received = 0
        #: Payloads refused as invalid or of another task.
        self.rejected = 0
        #: Why the last refused payload was refused.
        self.last_rejection: Optional[str] = None
        self._on_plan = on_plan
        self._on_rejection = on_rejection
        self._max_payload_bytes = max_payload_bytes
        self._newest: Optional[Plan] = None
        self._changed = threading.Condition()
        self._subscriber = session.declare_subscriber(self.key, self._receive)

    def _receive(self, sample: zenoh.Sample) -> None:
        try:
            plan = decode(sample.payload.to_bytes(), Plan, self._max_payload_bytes).body
        except ProtocolError as error:
            self._reject(f"{sample.key_expr}: {error}")
            return
        if self.task is not None and plan.task != self.task:
            self._reject(f"{sample.key_expr}: plan {plan.plan_id!r:.80} is for task {plan.task!r}, not {self.task!r}")
            return
        with self._changed:
            self.received += 1
            self._newest = plan
            self._changed.notify_all()
        if self._on_plan is not None:
            self._on_plan(plan)

    def _reject(self, reason: str) -> None:
        with self._changed:
            self.rejected += 1
            self.last_rejection = reason
        if self._on_rejection is not None:
            self._on_rejection(reason)

    def latest(self) -> Optional[Plan]:
        """The newest plan received since the last call of :meth:`latest` or :meth:`wait`, or
        ``None`` if none came. A re-sent plan (same ``plan_id``) counts as received."""
        with self._changed:
            plan, self._newest = self._newest, None
            return plan

    def wait(self, timeout_s: float) -> Plan:
        """The newest plan received since the last call, waiting up to ``timeout_s`` seconds for
        one. Raises :class:`PlanTimeout` if none came."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self._newest is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PlanTimeout(f"no plan on {self.key} within {timeout_s} s", self.key, timeout_s)
                self._changed.wait(left)
            plan, self._newest = self._newest, None
            return plan

    def close(self) -> None:
        """Undeclares the subscriber."""
        self._subscriber.undeclare()

    def __enter__(self) -> PlanSubscriber:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
