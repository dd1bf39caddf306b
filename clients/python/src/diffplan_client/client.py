"""Asking the plan service for plans (docs/PROTOCOL.md, "Keys": ``<ns>/service/plan``, or
``<ns>/task/<task>/service/plan`` for one task's planners), as the bridge crate's
``plan_client.rs``, and planners for their model cards.

A request is a Zenoh query whose payload is a PlanRequest; the one reply is a Plan, or an error
reply whose payload is an ``Error`` message. Before its first query a client waits for a planner's
liveliness token (``<ns>/alive/planner/<id>``, or ``<ns>/alive/task/<task>/<id>`` for a task,
declared once the planner can answer), so that a client started together with its planner does
not find the service missing.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Dict, List, Optional, Sequence, Set, Tuple

import zenoh

from .errors import NoPlannerError, PlanRefused, PlanTimeout, ProtocolError
from .keys import DEFAULT_NAMESPACE, Namespace, check_id
from .messages import ErrorReply, ModelCard, Plan, PlanRequest, SamplerOptions, Waypoint
from .session import Endpoints, open_session
from .wire import MAX_PAYLOAD_BYTES, decode, encode, encoding_of

#: Seconds a request waits for its reply unless told otherwise (a cold first plan on a CPU
#: takes seconds).
DEFAULT_TIMEOUT_S = 30.0

#: Seconds a request waits for a planner to come alive and answer unless told otherwise.
DEFAULT_WAIT_FOR_PLANNER_S = 30.0

#: Seconds a model card query waits for its replies unless told otherwise.
DEFAULT_DESCRIBE_TIMEOUT_S = 5.0

#: How often a client looks for a planner's liveliness token while it waits, and asks again after
#: a query that no planner answered, seconds.
_POLL_S = 0.2

#: What a request waits for before it asks: (planner, None) for one worker, (None, task) for a
#: planner of a task, (None, None) for any planner.
_Awaited = Tuple[Optional[str], Optional[str]]


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
        :param wait_for_planner_s: seconds a request waits for a planner (of its task) to come
            alive and answer (default 30; 0 asks once, at once).
        :param max_payload_bytes: replies larger than this are refused (default 4 MiB).
        """
        self.session = session
        self.namespace = Namespace(namespace)
        self.timeout_s = timeout_s
        self.wait_for_planner_s = wait_for_planner_s
        self.max_payload_bytes = max_payload_bytes
        self._owns_session = False
        # What requests found alive already, and need not wait for again.
        self._alive_seen: Set[_Awaited] = set()

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

    def served_tasks(self, timeout_s: float = 1.0) -> Dict[str, List[str]]:
        """The tasks served now, each with the sorted ids of its planners (their task tokens)."""
        replies = self.session.liveliness().get(self.namespace.all_task_tokens(), timeout=timeout_s)
        served: Dict[str, set] = {}
        for reply in replies:
            pair = self.namespace.task_of_token(str(reply.ok.key_expr)) if reply.ok is not None else None
            if pair is not None:
                served.setdefault(pair[0], set()).add(pair[1])
        return {task: sorted(planners) for task, planners in sorted(served.items())}

    def wait_for_planner(self, planner: Optional[str] = None, timeout_s: Optional[float] = None) -> List[str]:
        """Waits up to ``timeout_s`` (default: ``wait_for_planner_s``) until a planner (or planner
        ``planner``) is alive; returns the ids alive. Raises :class:`NoPlannerError` if none came."""
        timeout_s = self.wait_for_planner_s if timeout_s is None else timeout_s
        return self._wait_for(planner, None, time.monotonic() + timeout_s, timeout_s)

    def wait_for_task(self, task: str, timeout_s: Optional[float] = None) -> List[str]:
        """Waits up to ``timeout_s`` (default: ``wait_for_planner_s``) until a planner of task
        ``task`` is alive; returns the ids of its planners. Raises :class:`NoPlannerError`, naming
        the tasks that are served, if none came."""
        check_id("task", task)
        timeout_s = self.wait_for_planner_s if timeout_s is None else timeout_s
        return self._wait_for(None, task, time.monotonic() + timeout_s, timeout_s)

    def _wait_for(self, planner: Optional[str], task: Optional[str], deadline: float, waited_s: float) -> List[str]:
        """Polls until planner ``planner`` (without one: a planner of ``task``, or any planner) is
        alive; returns the ids alive. At ``deadline`` raises :class:`NoPlannerError`, saying it
        waited ``waited_s`` seconds."""
        while True:
            ask_s = min(1.0, max(deadline - time.monotonic(), 0.1))
            alive = self.served_tasks(ask_s).get(task, []) if task else self.planners(ask_s)
            if (planner in alive) if planner else alive:
                self._alive_seen.add((planner, task))
                return alive
            if time.monotonic() >= deadline:
                if task:
                    where = f"on namespace {self.namespace.root!r} within {waited_s:g} s"
                    raise self._task_not_served(task, f"no planner serves task {task!r} {where}")
                who = f"planner {planner!r}" if planner else "no planner"
                raise NoPlannerError(
                    f"{who} came alive on namespace {self.namespace.root!r} within {waited_s} s "
                    f"(alive: {', '.join(alive) or 'none'}); is `diffplan serve` running and reachable?",
                    self.namespace.planner_token(planner or "*"),
                )
            time.sleep(_POLL_S)

    def _task_not_served(self, task: str, what: str) -> NoPlannerError:
        """The error for task ``task``: ``what`` went wrong, then the tasks served and by whom."""
        served = ", ".join(f"{name} ({', '.join(ids)})" for name, ids in self.served_tasks().items()) or "none"
        return NoPlannerError(f"{what}; served: {served}", self.namespace.task_tokens(task))

    def describe(self, planner: str, timeout_s: float = DEFAULT_DESCRIBE_TIMEOUT_S) -> ModelCard:
        """The model card of planner ``planner``: its task, checkpoint, horizon, units, limits and
        an example request. Waits for the planner, and asks again when it does not answer, as a
        request to it does (see :meth:`plan`).

        :raises NoPlannerError: the planner did not come alive, or did not answer.
        :raises PlanTimeout: no reply within ``timeout_s`` seconds.
        :raises ProtocolError: the reply is not a ModelCard of that planner.
        """
        check_id("planner", planner)
        key = self.namespace.describe(planner)
        reply = self._first_reply(key, (planner, None), timeout=timeout_s)
        if reply.ok is None:
            raise self._refusal(reply.err.payload.to_bytes(), key, timeout_s)
        card = decode(reply.ok.payload.to_bytes(), ModelCard, self.max_payload_bytes).body
        if card.planner_id != planner:
            raise ProtocolError(f"planner {card.planner_id!r}'s model card answered {key}")
        return card

    def describe_all(self, timeout_s: float = DEFAULT_DESCRIBE_TIMEOUT_S) -> List[ModelCard]:
        """The model cards of every planner that answers within ``timeout_s`` seconds (query target
        ALL on ``<ns>/planner/*/describe``), by planner id; waits for no planner.

        :raises ProtocolError: a reply is not a ModelCard.
        :raises PlanRefused: a planner answered with an ``Error``.
        """
        key = self.namespace.all_describes()
        cards = []
        for reply in self.session.get(key, target=zenoh.QueryTarget.ALL, timeout=timeout_s):
            if reply.ok is not None:
                cards.append(decode(reply.ok.payload.to_bytes(), ModelCard, self.max_payload_bytes).body)
                continue
            refusal = self._refusal(reply.err.payload.to_bytes(), key, timeout_s)
            if not isinstance(refusal, PlanTimeout):  # a timeout ends the listing with what came
                raise refusal
        return sorted(cards, key=lambda card: card.planner_id)

    def plan(
        self,
        observation: Sequence[float],
        goal: Optional[Sequence[float]] = None,
        *,
        seed: int = 0,
        request_id: Optional[str] = None,
        robot_id: Optional[str] = None,
        task: Optional[str] = None,
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
        id. With ``task`` (e.g. ``maze2d-umaze``) the request goes to that task's planners
        (``<ns>/task/<task>/service/plan``), once one of them is alive, and the plan must be of
        that task. ``planner`` addresses one worker by id instead of whichever the network picks
        (it refuses a request for another task than its own as ``bad_request``); ``timeout_s``
        overrides the client's.

        A query that no planner answers (zero replies: a planner's token is alive but its service
        is not reachable yet, or it just went away) is not final: the client waits for a planner's
        token again and asks again, every 0.2 s, until ``wait_for_planner_s`` is spent, then
        raises :class:`NoPlannerError`.

        :returns: the plan (``states[k]`` is for step ``from_step + k``, ``dt`` seconds apart).
        :raises InvalidMessage: the request fails the protocol's checks; nothing was sent.
        :raises NoPlannerError: no planner (of the task) is alive, or none answered; for a task,
            the message lists the tasks that are served.
        :raises PlanTimeout: no reply within the timeout.
        :raises PlanRefused: the planner refused (a subclass per code, e.g. :class:`BadRequest`).
        :raises ProtocolError: the reply does not decode as a Plan or an Error, or answers another
            request or task.
        """
        request = PlanRequest(
            request_id=request_id if request_id is not None else f"py-{uuid.uuid4().hex[:16]}",
            observation=list(observation),
            goal=None if goal is None else list(goal),
            seed=seed,
            robot_id=robot_id,
            task=task,
            episode=episode,
            from_step=from_step,
            arrival=arrival,
            waypoints=list(waypoints),
            sampler=sampler,
            batch_size=batch_size,
            deadline_ms=deadline_ms,
        )
        return self.request(request, planner=planner, timeout_s=timeout_s)

    def request(
        self,
        request: PlanRequest,
        *,
        task: Optional[str] = None,
        planner: Optional[str] = None,
        timeout_s: Optional[float] = None,
    ) -> Plan:
        """Sends ``request`` and returns its plan; see :meth:`plan` for how it waits and what it
        raises. ``task`` sets the request's ``task``; a request whose ``task`` is set goes to that
        task's planners either way."""
        if task is not None:
            request = dataclasses.replace(request, task=task)
        payload = encode(request)
        if planner is not None:
            check_id("planner", planner)
        task = request.task
        key, awaited = self._service_of(planner, task)
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        reply = self._first_reply(
            key,
            awaited,
            payload=payload,
            encoding=zenoh.Encoding(encoding_of(PlanRequest)),
            target=zenoh.QueryTarget.BEST_MATCHING,
            timeout=timeout_s,
        )
        if reply.ok is not None:
            plan = decode(reply.ok.payload.to_bytes(), Plan, self.max_payload_bytes).body
            if plan.request_id is not None and plan.request_id != request.request_id:
                raise ProtocolError(f"a plan for request {plan.request_id!r} answered request {request.request_id!r}")
            if task is not None and plan.task != task:
                raise ProtocolError(f"a plan of task {plan.task!r} answered a request for task {task!r}")
            return plan
        raise self._refusal(reply.err.payload.to_bytes(), key, timeout_s)

    def _first_reply(self, key: str, awaited: _Awaited, **query) -> zenoh.Reply:
        """The first reply to a query on ``key`` (``query``: the arguments of ``Session.get``), once
        ``awaited`` is alive (see :meth:`_service_of`). A query that no planner answers is asked
        again, after waiting for ``awaited`` again, until ``wait_for_planner_s`` is spent; then
        raises :class:`NoPlannerError`."""
        deadline = time.monotonic() + self.wait_for_planner_s
        while True:
            if self.wait_for_planner_s > 0 and awaited not in self._alive_seen:
                self._wait_for(*awaited, deadline, self.wait_for_planner_s)
            reply = next(iter(self.session.get(key, **query)), None)
            if reply is not None:
                return reply
            # No queryable answered: the planner is not reachable yet, or is gone. Look for it again.
            self._alive_seen.discard(awaited)
            if time.monotonic() >= deadline:
                task = awaited[1]
                if task:
                    waited = f"within {self.wait_for_planner_s:g} s"
                    raise self._task_not_served(task, f"no planner of task {task!r} answered {key} {waited}")
                raise NoPlannerError(
                    f"no planner answered {key}; is `diffplan serve` running on namespace {self.namespace.root!r}?", key
                )
            time.sleep(_POLL_S)

    def _service_of(self, planner: Optional[str], task: Optional[str]) -> Tuple[str, _Awaited]:
        """The service key a request goes to, and the (planner, task) it waits for: worker
        ``planner``, else a planner of ``task``, else any planner."""
        if planner:
            return self.namespace.worker_service(planner), (planner, None)
        if task:
            return self.namespace.task_service(task), (None, task)
        return self.namespace.shared_service(), (None, None)

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
