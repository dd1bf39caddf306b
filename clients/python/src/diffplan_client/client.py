"""Asking the plan service for plans (docs/PROTOCOL.md, "Keys": ``<ns>/service/plan``), as the
bridge crate's ``plan_client.rs``.

A request is a Zenoh query whose payload is a PlanRequest; the one reply is a Plan, or an error
reply whose payload is an ``Error`` message. Before its first query a client waits for a planner's
liveliness token (``<ns>/alive/planner/<id>``, declared once the planner can answer), so that a
client started together with its planner does not find the service missing.
"""

from __future__ import annotations

import time
import uuid
from typing import List, Optional, Sequence

import zenoh

from .errors import NoPlannerError, PlanRefused, PlanTimeout, ProtocolError
from .keys import DEFAULT_NAMESPACE, Namespace, check_id
from .messages import ErrorReply, Plan, PlanRequest, SamplerOptions, Waypoint
from .session import Endpoints, open_session
from .wire import MAX_PAYLOAD_BYTES, decode, encode, encoding_of

#: Seconds a request waits for its reply unless told otherwise (a cold first plan on a CPU
#: takes seconds).
DEFAULT_TIMEOUT_S = 30.0

#: Seconds the first request waits for a planner to come alive unless told otherwise.
DEFAULT_WAIT_FOR_PLANNER_S = 30.0

#: How often a client looks for a planner's liveliness token while it waits, seconds.
_POLL_S = 0.2


class PlannerClient:
    """A client of the plan service on one namespace.

    Give it a Zenoh session (it stays yours to close), or let :meth:`open` make one that
    :meth:`close` closes. Every method is blocking; one client may serve several threads.

    >>> with PlannerClient.open("tcp/127.0.0.1:7447") as client:        # doctest: +SKIP
    ...     plan = client.plan([3.0, 1.0, 0.0, 0.0], goal=[1.0, 1.0, 0.0, 0.0], seed=7)
    """

    def __init__(
        self,
        session: zenoh.Session,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        wait_for_planner_s: float = DEFAULT_WAIT_FOR_PLANNER_S,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
    ):
        """
        :param session: an open Zenoh session connected to the planners' network.
        :param namespace: the key namespace, one or more ``/``-separated ids (default ``diffplan``).
        :param timeout_s: seconds each request waits for its reply (default 30).
        :param wait_for_planner_s: seconds the first request to a key waits for a planner's
            liveliness token (default 30; 0 asks at once).
        :param max_payload_bytes: replies larger than this are refused (default 4 MiB).
        """
        self.session = session
        self.namespace = Namespace(namespace)
        self.timeout_s = timeout_s
        self.wait_for_planner_s = wait_for_planner_s
        self.max_payload_bytes = max_payload_bytes
        self._owns_session = False
        self._planners_seen: set = set()

    @classmethod
    def open(
        cls,
        connect: Endpoints,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        listen: Endpoints = (),
        mode: str = "peer",
        config_file: Optional[str] = None,
        **options,
    ) -> PlannerClient:
        """A client on a session of its own, connected to ``connect`` (e.g.
        ``"tcp/127.0.0.1:7447"``, where ``diffplan serve --listen`` or a router listens).
        ``options`` are those of the constructor. :meth:`close` closes the session."""
        client = cls(open_session(connect, listen, mode=mode, config_file=config_file), namespace, **options)
        client._owns_session = True
        return client

    def close(self) -> None:
        """Closes the session if this client opened it."""
        if self._owns_session and not self.session.is_closed():
            self.session.close()

    def __enter__(self) -> PlannerClient:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def planners(self, timeout_s: float = 1.0) -> List[str]:
        """Ids of the planners alive now (their liveliness tokens), sorted."""
        replies = self.session.liveliness().get(self.namespace.all_planner_tokens(), timeout=timeout_s)
        ids = {self.namespace.planner_of_token(str(reply.ok.key_expr)) for reply in replies if reply.ok is not None}
        return sorted(i for i in ids if i)

    def wait_for_planner(self, planner: Optional[str] = None, timeout_s: Optional[float] = None) -> List[str]:
        """Waits up to ``timeout_s`` (default: ``wait_for_planner_s``) until a planner (or planner
        ``planner``) is alive; returns the ids alive. Raises :class:`NoPlannerError` if none came."""
        timeout_s = self.wait_for_planner_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        while True:
            alive = self.planners(timeout_s=min(1.0, max(timeout_s, 0.1)))
            if (planner in alive) if planner else alive:
                self._planners_seen.add(planner)
                return alive
            if time.monotonic() >= deadline:
                who = f"planner {planner!r}" if planner else "no planner"
                raise NoPlannerError(
                    f"{who} came alive on namespace {self.namespace.root!r} within {timeout_s} s "
                    f"(alive: {', '.join(alive) or 'none'}); is `diffplan serve` running and reachable?",
                    self.namespace.planner_token(planner or "*"),
                )
            time.sleep(_POLL_S)

    def plan(
        self,
        observation: Sequence[float],
        goal: Optional[Sequence[float]] = None,
        *,
        seed: int = 0,
        request_id: Optional[str] = None,
        robot_id: Optional[str] = None,
        episode: int = 0,
        from_step: int = 0,
        arrival: Optional[int] = None,
        waypoints: Sequence[Waypoint] = (),
        sampler: Optional[SamplerOptions] = None,
        batch_size: Optional[int] = None,
        deadline_ms: Optional[int] = None,
        planner: Optional[str] = None,
        timeout_s: Optional[float] = None,
    ) -> Plan:
        """Plans from ``observation`` (pinned at step 0) to ``goal`` (pinned at the last step, or
        at step ``arrival``), in the robot's units (Maze2D: x, y in m; vx, vy in m/s).

        The fields are those of :class:`PlanRequest`; ``request_id`` defaults to a fresh unique
        id. ``planner`` addresses one worker by id instead of whichever the network picks;
        ``timeout_s`` overrides the client's.

        :returns: the plan (``states[k]`` is for step ``from_step + k``, ``dt`` seconds apart).
        :raises InvalidMessage: the request fails the protocol's checks; nothing was sent.
        :raises NoPlannerError: no planner is alive, or none answered.
        :raises PlanTimeout: no reply within the timeout.
        :raises PlanRefused: the planner refused (a subclass per code, e.g. :class:`BadRequest`).
        :raises ProtocolError: the reply does not decode as a Plan or an Error.
        """
        request = PlanRequest(
            request_id=request_id if request_id is not None else f"py-{uuid.uuid4().hex[:16]}",
            observation=list(observation),
            goal=None if goal is None else list(goal),
            seed=seed,
            robot_id=robot_id,
            episode=episode,
            from_step=from_step,
            arrival=arrival,
            waypoints=list(waypoints),
            sampler=sampler,
            batch_size=batch_size,
            deadline_ms=deadline_ms,
        )
        return self.request(request, planner=planner, timeout_s=timeout_s)

    def request(self, request: PlanRequest, *, planner: Optional[str] = None, timeout_s: Optional[float] = None) -> Plan:
        """Sends ``request`` and returns its plan; see :meth:`plan` for what it raises."""
        payload = encode(request)
        if planner is not None:
            check_id("planner", planner)
        key = self.namespace.worker_service(planner) if planner else self.namespace.shared_service()
        if planner not in self._planners_seen and self.wait_for_planner_s > 0:
            self.wait_for_planner(planner)
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        replies = self.session.get(
            key,
            payload=payload,
            encoding=zenoh.Encoding(encoding_of(PlanRequest)),
            target=zenoh.QueryTarget.BEST_MATCHING,
            timeout=timeout_s,
        )
        reply = next(iter(replies), None)
        if reply is None:
            raise NoPlannerError(
                f"no planner answered {key}; is `diffplan serve` running on namespace {self.namespace.root!r}?", key
            )
        if reply.ok is not None:
            plan = decode(reply.ok.payload.to_bytes(), Plan, self.max_payload_bytes).body
            if plan.request_id is not None and plan.request_id != request.request_id:
                raise ProtocolError(f"a plan for request {plan.request_id!r} answered request {request.request_id!r}")
            return plan
        raise self._refusal(reply.err.payload.to_bytes(), key, timeout_s)

    def _refusal(self, payload: bytes, key: str, timeout_s: float) -> Exception:
        """The exception an error reply stands for."""
        try:
            error: ErrorReply = decode(payload, ErrorReply, self.max_payload_bytes).body
        except ProtocolError as undecodable:
            # Zenoh's own errors are plain text; its timeout says "Timeout".
            if b"Timeout" in payload[:256]:
                return PlanTimeout(f"no reply from {key} within {timeout_s} s", key, timeout_s)
            return ProtocolError(f"an error reply on {key} that is not an Error message: {undecodable}")
        return PlanRefused.from_reply(error.code, error.message, error.request_id)
