"""A plan-service client: the repository's Python package (clients/python) for what a client
does, raw Zenoh and `json` for the payloads the package cannot send.

Usage: plan_client.py ENDPOINT NAMESPACE. Waits for a planner and sends one valid request (with
the package), the same request raw as docs/PROTOCOL.md documents it (its reply must be the same
plan, with the Plan encoding), one garbage payload (raw), one request for 10**15 candidates, one from
[1e30, 1, 0, 0] and the valid request again (with the package), then, raw, a request whose sampler kind is 3 MiB
long (error messages quote it) and one with an unknown field named "x\\nFORGED ..." (the
planner's log quotes it). Prints one JSON line: {"states": H, "state_dim": D, "start": [...],
"goal": [...], "planner_id": ..., "task": ..., "checkpoint_digest": ..., "garbage_code": ...,
"huge_batch_code": ..., "far_start_code": ..., "served_after_huge_batch": true|false, "echo_code": ...,
"echo_reply_bytes": N, "forged_code": ...}; exits non-zero if a check fails.
The Rust test (tests/app/network.rs) starts `diffplan serve` and checks the printed line.
"""

import json
import pathlib
import sys
import time

import zenoh

# This checkout's package, whether or not some version of it is installed in the interpreter's
# venv (tests/python/install_client.sh tests the installed one).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "clients" / "python" / "src"))

from diffplan_client import PlannerClient, PlanRefused  # noqa: E402


def reply_to(session, key, payload):
    """The one reply to raw `payload` on `key`: "ok" or "err", its encoding, its raw payload."""
    replies = list(session.get(key, payload=payload, encoding=zenoh.Encoding.APPLICATION_JSON, timeout=60.0))
    if len(replies) != 1:
        raise SystemExit(f"expected one reply on {key}, got {len(replies)}")
    reply = replies[0]
    sample = reply.ok if reply.ok is not None else reply.err
    return ("ok" if reply.ok is not None else "err"), str(sample.encoding), sample.payload.to_bytes()


def ask(session, key, payload):
    kind, encoding, raw = reply_to(session, key, payload)
    return kind, encoding, json.loads(raw)


def refusal_code(client, **request):
    """The error code the planner answers `request` with ("answered" for a plan)."""
    try:
        client.plan(**request)
    except PlanRefused as refusal:
        return refusal.code
    return "answered"


def main():
    endpoint, namespace = sys.argv[1], sys.argv[2]
    start, goal = [3.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]
    with PlannerClient.open(endpoint, namespace, timeout_s=60.0, wait_for_planner_s=60.0) as client:
        try:
            plan = client.plan(start, goal, seed=7, request_id="py-1")
        except PlanRefused as refusal:
            raise SystemExit(f"plan request refused: {refusal}") from None
        assert plan.request_id == "py-1" and plan.seed == 7, plan

        session, key = client.session, client.namespace.shared_service()
        body = {"request_id": "py-raw", "observation": start, "goal": goal, "seed": 7}
        request = {"v": 2, "type": "PlanRequest", "stamp_ns": time.time_ns(), "body": body}
        kind, encoding, raw_plan = ask(session, key, json.dumps(request).encode())
        if kind != "ok":
            raise SystemExit(f"the documented raw request was refused: {raw_plan}")
        assert encoding == "application/json;diffplan/Plan/2", encoding
        assert raw_plan["v"] == 2 and raw_plan["type"] == "Plan", raw_plan.keys()
        assert raw_plan["body"]["states"] == plan.states, "a raw client gets the package's plan"
        raw_header = (raw_plan["body"]["task"], raw_plan["body"]["checkpoint_digest"])
        assert raw_header == (plan.task, plan.checkpoint_digest), raw_header
        kind, encoding, error = ask(session, key, b"\x00garbage{")
        if kind != "err":
            raise SystemExit(f"garbage was answered with a plan: {error}")
        assert encoding == "application/json;diffplan/Error/2", encoding
        huge_batch_code = refusal_code(client, observation=start, goal=goal, seed=7, batch_size=10**15)
        far_code = refusal_code(client, observation=[1e30, 1.0, 0.0, 0.0], goal=goal, seed=7)
        again = client.plan(start, goal, seed=7)
        long_kind = dict(request, body=dict(body, request_id="py-echo", sampler={"kind": "x" * (3 << 20)}))
        echo_kind, _, raw = reply_to(session, key, json.dumps(long_kind).encode())
        echo, echo_bytes = json.loads(raw), len(raw)
        forged_body = dict(body, request_id="py-forged")
        forged_body["x\nFORGED a line in the planner's log"] = 1
        _, _, forged = ask(session, key, json.dumps(dict(request, body=forged_body)).encode())
        print(json.dumps({
            "states": len(plan.states),
            "state_dim": len(plan.states[0]),
            "start": plan.states[0],
            "goal": plan.states[-1],
            "planner_id": plan.planner_id,
            "task": plan.task,
            "checkpoint_digest": plan.checkpoint_digest,
            "garbage_code": error["body"]["code"],
            "huge_batch_code": huge_batch_code,
            "far_start_code": far_code,
            "served_after_huge_batch": again.states == plan.states,
            "echo_code": echo["body"]["code"] if echo_kind == "err" else "answered",
            "echo_reply_bytes": echo_bytes,
            "forged_code": forged["body"]["code"],
        }))


if __name__ == "__main__":
    main()
