"""What can go wrong talking to a planner: one exception class per failure a caller can act on.

Every exception of this package derives from :class:`DiffplanError`. A refused request raises a
subclass of :class:`PlanRefused`, one per error code of the protocol (docs/PROTOCOL.md, "Error").
Zenoh's own failures (a session that cannot open) propagate as ``zenoh.ZError``.
"""

from __future__ import annotations

from typing import Optional


class DiffplanError(Exception):
    """Base class of every error this package raises."""


class InvalidMessage(DiffplanError, ValueError):
    """A message would not pass the protocol's checks, so it is not sent.

    The same checks as the bridge crate's ``validate`` (finite numbers, consistent row lengths,
    ids usable in a key), run before encoding, so that nothing invalid leaves this client.
    """

    def __init__(self, field: str, reason: str):
        super().__init__(f"invalid {field}: {reason}")
        #: The offending field, dotted as in the Rust bridge (``plan_request.observation[2]``).
        self.field = field
        #: What is wrong with it.
        self.reason = reason


class ProtocolError(DiffplanError):
    """A payload received from the network does not decode as the message it should be.

    Raised for oversized payloads, non-JSON, a wrong envelope, another protocol version, another
    message type, unknown or missing fields, and bodies that fail their checks.
    """


class NoPlannerError(DiffplanError):
    """No planner answered: none is alive on the namespace, or none serves the task or key asked."""

    def __init__(self, message: str, key: str):
        super().__init__(message)
        #: The key expression that found no planner.
        self.key = key


class PlanTimeout(DiffplanError, TimeoutError):
    """A planner took the request but no reply came within the timeout."""

    def __init__(self, message: str, key: str, timeout_s: float):
        super().__init__(message)
        #: The key expression queried (or subscribed to).
        self.key = key
        #: The timeout that passed, seconds.
        self.timeout_s = timeout_s


class PlanRefused(DiffplanError):
    """The planner answered with an ``Error`` reply instead of a plan.

    ``except PlanRefused`` catches every refusal; the subclasses name the code. Raise one from a
    decoded reply with :meth:`from_reply`.
    """

    #: The protocol's error code this class stands for (``None`` on the base class).
    CODE: Optional[str] = None

    def __init__(self, code: str, message: str, request_id: Optional[str] = None):
        super().__init__(f"planner refused request {request_id!r} ({code}): {message}")
        #: The wire code, e.g. ``bad_request``.
        self.code = code
        #: The planner's explanation: what went wrong and how to fix it (at most 1024 characters).
        self.message = message
        #: The refused request's id, when the planner could read it.
        self.request_id = request_id

    @staticmethod
    def from_reply(code: str, message: str, request_id: Optional[str] = None) -> PlanRefused:
        """The exception for error code ``code``: an instance of its subclass."""
        cls = _BY_CODE.get(code, PlanRefused)
        return cls(code, message, request_id)


class BadRequest(PlanRefused):
    """``bad_request``: the request could not be decoded or does not fit the model (dimensions,
    indices, too many candidates). Sending it again will not help; the message says what to fix."""

    CODE = "bad_request"


class UnsupportedVersion(PlanRefused):
    """``unsupported_version``: the planner speaks another protocol version; upgrade one side."""

    CODE = "unsupported_version"


class Busy(PlanRefused):
    """``busy``: the worker's queue is full; try another worker or later."""

    CODE = "busy"


class DeadlineExceeded(PlanRefused):
    """``deadline``: the request waited in the queue past its ``deadline_ms``."""

    CODE = "deadline"


class PlannerInternalError(PlanRefused):
    """``internal``: sampling failed (e.g. the plan diverged); the message says how."""

    CODE = "internal"


class Infeasible(PlanRefused):
    """``infeasible``: no plan satisfies the task's hard constraints; the message names the
    constraint and its violation. No violating plan is ever sent."""

    CODE = "infeasible"


_BY_CODE = {cls.CODE: cls for cls in (BadRequest, UnsupportedVersion, Busy, DeadlineExceeded, PlannerInternalError, Infeasible)}

#: The error codes of protocol version 2, in the order docs/PROTOCOL.md lists them.
ERROR_CODES = tuple(_BY_CODE)
