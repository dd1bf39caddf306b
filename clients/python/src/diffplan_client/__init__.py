"""A Python client of diffplan's Zenoh wire protocol, version 2 (docs/PROTOCOL.md).

- :class:`PlannerClient`: plan requests to the plan service, or to one task's planners, with
  typed errors (:class:`NoPlannerError`, :class:`PlanTimeout`, :class:`PlanRefused` and one
  subclass per error code, :class:`ProtocolError`, :class:`InvalidMessage`); the tasks served and
  the planners' model cards (:class:`ModelCard`).
- :class:`RobotStatePublisher` and :class:`PlanSubscriber`: a robot's end of the streaming
  (real-time) mode.
- The messages (:class:`PlanRequest`, :class:`Plan`, :class:`ErrorReply`, :class:`RobotState`,
  :class:`Heartbeat`, :class:`ModelCard`, ...)
  as dataclasses with the wire's field names, and their envelope codec (:mod:`diffplan_client.wire`).

Depends only on ``eclipse-zenoh`` (1.10) and the standard library.
"""

from .client import DEFAULT_DESCRIBE_TIMEOUT_S, DEFAULT_TIMEOUT_S, DEFAULT_WAIT_FOR_PLANNER_S, PlannerClient
from .errors import (
    ERROR_CODES,
    BadRequest,
    Busy,
    DeadlineExceeded,
    DiffplanError,
    Infeasible,
    InvalidMessage,
    NoPlannerError,
    PlannerInternalError,
    PlanRefused,
    PlanTimeout,
    ProtocolError,
    UnsupportedVersion,
)
from .keys import DEFAULT_NAMESPACE, Namespace
from .messages import (
    NODE_ROLES,
    NODE_STATUSES,
    ROBOT_MODES,
    SAMPLER_KINDS,
    Component,
    ConstraintResidual,
    ErrorReply,
    ExampleRequest,
    GoalLayout,
    Heartbeat,
    ModelCard,
    Plan,
    PlanLimits,
    PlanRequest,
    PlanTiming,
    RobotState,
    SamplerOptions,
    Waypoint,
)
from .session import open_session, session_config
from .streaming import PlanSubscriber, RobotStatePublisher
from .wire import MAX_PAYLOAD_BYTES, PROTOCOL_VERSION, Stamped, decode, encode, encoding_of

__version__ = "0.2.0"

__all__ = [
    "BadRequest",
    "Busy",
    "Component",
    "ConstraintResidual",
    "DEFAULT_DESCRIBE_TIMEOUT_S",
    "DEFAULT_NAMESPACE",
    "DEFAULT_TIMEOUT_S",
    "DEFAULT_WAIT_FOR_PLANNER_S",
    "DeadlineExceeded",
    "DiffplanError",
    "ERROR_CODES",
    "ErrorReply",
    "ExampleRequest",
    "GoalLayout",
    "Heartbeat",
    "Infeasible",
    "InvalidMessage",
    "MAX_PAYLOAD_BYTES",
    "ModelCard",
    "NODE_ROLES",
    "NODE_STATUSES",
    "Namespace",
    "NoPlannerError",
    "PROTOCOL_VERSION",
    "Plan",
    "PlanLimits",
    "PlanRefused",
    "PlanRequest",
    "PlanSubscriber",
    "PlanTimeout",
    "PlanTiming",
    "PlannerClient",
    "PlannerInternalError",
    "ProtocolError",
    "ROBOT_MODES",
    "RobotState",
    "RobotStatePublisher",
    "SAMPLER_KINDS",
    "SamplerOptions",
    "Stamped",
    "UnsupportedVersion",
    "Waypoint",
    "decode",
    "encode",
    "encoding_of",
    "open_session",
    "session_config",
]
