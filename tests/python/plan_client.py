"""A plan-service client using only the `eclipse-zenoh` package and the standard library.

Usage: plan_client.py ENDPOINT NAMESPACE. Sends one valid request, one garbage payload, one
request for 10**15 candidates and then the valid request again to `<ns>/service/plan`, decodes
the replies with `json`, checks them, and prints one JSON line: {"states": H, "state_dim": D,
"start": [...], "planner_id": ..., "garbage_code": ..., "huge_batch_code": ...,
"served_after_huge_batch": true|false, "echo_code": ..., "echo_reply_bytes": N,
"forged_code": ...}. Then sends a request whose sampler kind is 3 MiB long (error messages quote
it) and one with an unknown field named "x\nFORGED ..." (the planner's log quotes it).
The Rust test (tests/network.rs) starts `diffplan serve` and checks the printed line.
"""

import json
import sys
import time

import zenoh


def reply_to(session, key, payload):
    """The one reply to `payload` on `key`: "ok" or "err", its encoding, its raw payload."""
    replies = list(session.get(key, payload=payload, encoding=zenoh.Encoding.APPLICATION_JSON, timeout=60.0))
    if len(replies) != 1:
        raise SystemExit(f"expected one reply on {key}, got {len(replies)}")
    reply = replies[0]
    sample = reply.ok if reply.ok is not None else reply.err
    return ("ok" if reply.ok is not None else "err"), str(sample.encoding), sample.payload.to_bytes()


def ask(session, key, payload):
    kind, encoding, raw = reply_to(session, key, payload)
    return kind, encoding, json.loads(raw)


def main():
    endpoint, namespace = sys.argv[1], sys.argv[2]
    conf = zenoh.Config()
    conf.insert_json5("mode", json.dumps("peer"))
    conf.insert_json5("connect/endpoints", json.dumps([endpoint]))
    conf.insert_json5("scouting/multicast/enabled", "false")
    key = f"{namespace}/service/plan"
    start = [3.0, 1.0, 0.0, 0.0]
    request = {
        "v": 1,
        "type": "PlanRequest",
        "stamp_ns": time.time_ns(),
        "body": {"request_id": "py-1", "observation": start, "goal": [1.0, 1.0, 0.0, 0.0], "seed": 7},
    }
    with zenoh.open(conf) as session:
        deadline = time.monotonic() + 60
        while not list(session.liveliness().get(f"{namespace}/alive/planner/*", timeout=1.0)):
            if time.monotonic() > deadline:
                raise SystemExit("no planner came alive within 60 s")
            time.sleep(0.2)
        kind, encoding, plan = ask(session, key, json.dumps(request).encode())
        if kind != "ok":
            raise SystemExit(f"plan request refused: {plan}")
        assert encoding == "application/json;diffplan/Plan/1", encoding
        assert plan["v"] == 1 and plan["type"] == "Plan", plan.keys()
        body = plan["body"]
        assert body["request_id"] == "py-1" and body["seed"] == 7
        assert len(body["states"]) == len(body["actions"]) > 0
        kind, _, error = ask(session, key, b"\x00garbage{")
        if kind != "err":
            raise SystemExit(f"garbage was answered with a plan: {error}")
        huge = dict(request, body=dict(request["body"], request_id="py-huge", batch_size=10**15))
        kind, _, refusal = ask(session, key, json.dumps(huge).encode())
        if kind != "err":
            raise SystemExit(f"10**15 candidates were answered with a plan: {refusal['body'].keys()}")
        kind, _, again = ask(session, key, json.dumps(request).encode())
        long_kind = dict(request, body=dict(request["body"], request_id="py-echo", sampler={"kind": "x" * (3 << 20)}))
        echo_kind, _, raw = reply_to(session, key, json.dumps(long_kind).encode())
        echo, echo_bytes = json.loads(raw), len(raw)
        forged_body = dict(request["body"], request_id="py-forged")
        forged_body["x\nFORGED a line in the planner's log"] = 1
        _, _, forged = ask(session, key, json.dumps(dict(request, body=forged_body)).encode())
        print(json.dumps({
            "states": len(body["states"]),
            "state_dim": len(body["states"][0]),
            "start": body["states"][0],
            "goal": body["states"][-1],
            "planner_id": body["planner_id"],
            "garbage_code": error["body"]["code"],
            "huge_batch_code": refusal["body"]["code"],
            "served_after_huge_batch": kind == "ok" and again["body"]["states"] == body["states"],
            "echo_code": echo["body"]["code"] if echo_kind == "err" else "answered",
            "echo_reply_bytes": echo_bytes,
            "forged_code": forged["body"]["code"],
        }))


if __name__ == "__main__":
    main()
