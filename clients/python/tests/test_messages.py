"""The messages and their envelope, without a network: the field names, optional fields and
checks of bridge/src/message/*.rs, and the examples of docs/PROTOCOL.md.

Reference: the bridge's own codec tests (bridge/tests/integration/codec.rs); the JSON fixtures
below are what its serde derive writes for the same values.
"""

import ast
import json
import pathlib
import re
import struct
import sys
import unittest

from diffplan_client import (
    ERROR_CODES,
    BadRequest,
    Busy,
    DeadlineExceeded,
    ErrorReply,
    Infeasible,
    InvalidMessage,
    Namespace,
    Plan,
    PlannerInternalError,
    PlanRefused,
    PlanRequest,
    ProtocolError,
    RobotState,
    SamplerOptions,
    UnsupportedVersion,
    Waypoint,
    decode,
    encode,
    encoding_of,
)

DOCS = pathlib.Path(__file__).resolve().parents[3] / "docs" / "PROTOCOL.md"

# bridge/tests/integration/codec.rs `plan(vec![vec![1.0, 2.0, 0.5, -0.5]; 2])`, as serde_json writes it.
RUST_PLAN = (
    '{"v":1,"type":"Plan","stamp_ns":1763800000000000000,"body":{"plan_id":"p-1","request_id":"r",'
    '"planner_id":"planner-0","robot_id":"robot-0","episode":3,"from_step":7,"dt":0.01,'
    '"states":[[1.0,2.0,0.5,-0.5],[1.0,2.0,0.5,-0.5]],"actions":[[1.0,2.0],[1.0,2.0]],"valid_steps":128,'
    '"value":null,"constraints":[],"timing":{"queue_ms":0.1,"sample_ms":80.0,"model_ms":70.0},'
    '"model_calls":20,"seed":42}}'
)

# codec.rs `state()`.
RUST_STATE = (
    '{"v":1,"type":"RobotState","stamp_ns":5,"body":{"robot_id":"robot-0","episode":0,"step":5,"time_s":0.05,'
    '"observation":[1.0,1.0,0.0,0.0],"goal":[3.0,1.0,0.0,0.0],"joint_names":null,"mode":"running"}}'
)


def envelope(message_type, body):
    return json.dumps({"v": 1, "type": message_type, "stamp_ns": 1, "body": body}).encode()


def sent_body(message):
    return json.loads(encode(message))["body"]


class Envelope(unittest.TestCase):
    def test_encoding_names_type_and_version(self):
        self.assertEqual(encoding_of(Plan), "application/json;diffplan/Plan/1")
        self.assertEqual(encoding_of(PlanRequest), "application/json;diffplan/PlanRequest/1")
        self.assertEqual(encoding_of(ErrorReply), "application/json;diffplan/Error/1")
        self.assertEqual(encoding_of(RobotState), "application/json;diffplan/RobotState/1")

    def test_a_sent_envelope_has_exactly_the_four_fields(self):
        raw = json.loads(encode(PlanRequest(request_id="a", observation=[0.0])))
        self.assertEqual(sorted(raw), ["body", "stamp_ns", "type", "v"])
        self.assertEqual((raw["v"], raw["type"]), (1, "PlanRequest"))
        self.assertIsInstance(raw["stamp_ns"], int)

    def test_each_failure_names_its_cause(self):
        good = RUST_STATE.encode()
        self.assertEqual(decode(good, RobotState).stamp_ns, 5)
        cases = {
            "exceeds the 10-byte cap": (good, 10),
            "protocol version 2 is not supported": (RUST_STATE.replace('"v":1', '"v":2').encode(), None),
            "expected a Plan message": (good, "plan"),
            "unknown field 'speed'": (RUST_STATE.replace('"robot_id"', '"speed":1,"robot_id"').encode(), None),
            "robot_state.robot_id": (RUST_STATE.replace("robot-0", "robot/0").encode(), None),
            "duplicate field 'step'": (RUST_STATE.replace('"step":5', '"step":5,"step":6').encode(), None),
            "NaN is not JSON": (RUST_STATE.replace("0.05", "NaN").encode(), None),
            "missing field 'mode'": (RUST_STATE.replace(',"mode":"running"', "").encode(), None),
            "unknown field 'extra'": (RUST_STATE.replace('"body"', '"extra":0,"body"').encode(), None),
            "malformed envelope": (b"\x00garbage{", None),
            "expected an unsigned 64-bit integer": (RUST_STATE.replace('"step":5', '"step":-5').encode(), None),
        }
        for cause, (payload, how) in cases.items():
            with self.subTest(cause):
                with self.assertRaises(ProtocolError) as caught:
                    if how == "plan":
                        decode(payload, Plan)
                    elif how is None:
                        decode(payload, RobotState)
                    else:
                        decode(payload, RobotState, max_bytes=how)
                self.assertIn(cause, str(caught.exception))


class Messages(unittest.TestCase):
    def test_the_bridges_plan_decodes_field_for_field(self):
        plan = decode(RUST_PLAN.encode(), Plan).body
        self.assertEqual((plan.plan_id, plan.request_id, plan.planner_id, plan.robot_id), ("p-1", "r", "planner-0", "robot-0"))
        self.assertEqual((plan.episode, plan.from_step, plan.dt, plan.valid_steps, plan.value), (3, 7, 0.01, 128, None))
        self.assertEqual(plan.states, [[1.0, 2.0, 0.5, -0.5]] * 2)
        self.assertEqual(plan.actions, [[1.0, 2.0]] * 2)
        self.assertEqual((plan.timing.queue_ms, plan.timing.sample_ms, plan.timing.model_ms), (0.1, 80.0, 70.0))
        self.assertEqual((plan.model_calls, plan.seed, plan.constraints, plan.horizon), (20, 42, [], 2))
        self.assertEqual(plan.state_at(7), plan.states[0])
        self.assertEqual(plan.state_at(1000), plan.states[-1], "past the last state, the last state")
        # And back: the same body (the bridge writes null for absent options, this client omits them).
        expected = json.loads(RUST_PLAN)["body"]
        del expected["value"]
        self.assertEqual(sent_body(plan), expected)

    def test_optional_plan_fields_may_be_omitted_or_null(self):
        body = json.loads(RUST_PLAN)["body"]
        for name in ("request_id", "robot_id", "valid_steps", "value", "constraints"):
            del body[name]
        plan = decode(envelope("Plan", body), Plan).body
        self.assertEqual((plan.request_id, plan.robot_id, plan.valid_steps, plan.value, plan.constraints), (None,) * 4 + ([],))
        body["constraints"] = [{"name": "obstacle-0", "before": 0.2, "after": 0.0}]
        self.assertEqual(decode(envelope("Plan", body), Plan).body.constraints[0].after, 0.0)
        body["constraints"] = None  # a Vec with serde(default): absent is fine, null is not
        self.assertRaises(ProtocolError, decode, envelope("Plan", body), Plan)

    def test_an_invalid_plan_is_refused_by_field(self):
        body = json.loads(RUST_PLAN)["body"]
        cases = {
            "plan.states[1]": dict(body, states=[[1.0, 2.0, 0.5, -0.5], [1.0, 2.0]]),
            "plan.states": dict(body, actions=[[1.0, 2.0]]),
            "plan.dt": dict(body, dt=0.0),
            "plan.planner_id": dict(body, planner_id="a b"),
            "plan.states[0][0]": dict(body, states=[[1e39, 2.0, 0.5, -0.5]] * 2),
        }
        for field, bad in cases.items():
            with self.subTest(field):
                with self.assertRaises(ProtocolError) as caught:
                    decode(envelope("Plan", bad), Plan)
                self.assertIn(field, str(caught.exception))

    def test_the_protocol_docs_request_is_what_the_client_sends(self):
        request = PlanRequest(request_id="py-1", observation=[3.0, 1.0, 0.0, 0.0], goal=[1.0, 1.0, 0.0, 0.0], seed=7)
        body = sent_body(request)
        self.assertEqual(
            body,
            {"request_id": "py-1", "episode": 0, "from_step": 0, "observation": [3.0, 1.0, 0.0, 0.0],
             "goal": [1.0, 1.0, 0.0, 0.0], "seed": 7},
        )  # fmt: skip
        self.assertEqual(decode(encode(request), PlanRequest).body, request)

    def test_every_request_field_has_its_wire_name(self):
        request = PlanRequest(
            request_id="r-2", observation=[1, 2], goal=[3.0], seed=9, robot_id="robot_1", episode=4, from_step=8,
            arrival=100, waypoints=[Waypoint(index=32, state=[2.0, 2.0])], sampler=SamplerOptions("ddim", steps=10, eta=0.5),
            batch_size=4, deadline_ms=250,
        )  # fmt: skip
        body = sent_body(request)
        self.assertEqual(
            list(body),
            ["request_id", "robot_id", "episode", "from_step", "observation", "goal", "arrival", "waypoints",
             "sampler", "seed", "batch_size", "deadline_ms"],
        )  # fmt: skip
        self.assertEqual(body["waypoints"], [{"index": 32, "state": [2.0, 2.0]}])
        self.assertEqual(body["sampler"], {"kind": "ddim", "steps": 10, "eta": 0.5})
        self.assertEqual(body["observation"], [1.0, 2.0])
        self.assertEqual(decode(encode(request), PlanRequest).body, request)

    def test_nothing_invalid_is_sent(self):
        good = dict(request_id="r", observation=[0.0, 0.0])
        cases = {
            "plan_request.observation[1]": dict(good, observation=[0.0, float("nan")]),
            "plan_request.observation": dict(good, observation=[]),
            "plan_request.goal[0]": dict(good, goal=[float("inf")]),
            "plan_request.request_id": dict(good, request_id=""),
            "plan_request.robot_id": dict(good, robot_id="robot/0"),
            "plan_request.arrival": dict(good, arrival=5),
            "plan_request.batch_size": dict(good, batch_size=0),
            "plan_request.seed": dict(good, seed=-1),
            "plan_request.sampler.kind": dict(good, sampler=SamplerOptions("x" * 100)),
            "plan_request.sampler.eta": dict(good, sampler=SamplerOptions("ddim", eta=float("nan"))),
            "plan_request.waypoints[0].state[0]": dict(good, waypoints=[Waypoint(1, [float("nan")])]),
        }
        for field, fields in cases.items():
            with self.subTest(field):
                with self.assertRaises(InvalidMessage) as caught:
                    encode(PlanRequest(**fields))
                self.assertEqual(caught.exception.field, field)
        self.assertRaises(InvalidMessage, encode, PlanRequest(request_id="é" * 129, observation=[0.0]))
        state = decode(RUST_STATE.encode(), RobotState).body
        state.observation[2] = float("nan")
        with self.assertRaises(InvalidMessage) as caught:
            encode(state)
        self.assertEqual(caught.exception.field, "robot_state.observation[2]")

    def test_f32_values_round_trip_bit_for_bit(self):
        # Reference: codec.rs's test of the same name; f32 values as Python floats survive JSON exactly.
        edge = [1.1754943508222875e-38, 3.4028234663852886e38, -0.0, 1e-45]
        values = [struct.unpack("<f", struct.pack("<I", bits))[0] for bits in range(1, 1 << 32, 9_999_991)]
        rows = [[v for v in values[i:i + 4]] for i in range(0, len(values) - 3, 4)]
        rows = [row for row in rows if all(abs(v) < float("inf") and v == v for v in row)] + [edge]
        body = dict(json.loads(RUST_PLAN)["body"], states=rows, actions=[[0.0]] * len(rows))
        plan = decode(encode(decode(envelope("Plan", body), Plan).body), Plan).body
        for sent, got in zip(sum(rows, []), sum(plan.states, [])):
            self.assertEqual(struct.pack("<f", sent), struct.pack("<f", got))
        # Rust writes f32::MAX as 3.4028235e38, above f32::MAX as a double, yet it is f32::MAX.
        body["states"] = [[3.4028235e38]] * len(rows)
        self.assertEqual(decode(envelope("Plan", body), Plan).body.states[0], [3.4028235e38])

    def test_the_bridges_robot_state_round_trips(self):
        state = decode(RUST_STATE.encode(), RobotState).body
        self.assertEqual((state.robot_id, state.step, state.time_s, state.goal, state.mode), ("robot-0", 5, 0.05, [3.0, 1.0, 0.0, 0.0], "running"))
        self.assertEqual(sent_body(state), json.loads(RUST_STATE)["body"])

    def test_error_replies_become_one_exception_class_per_code(self):
        classes = [BadRequest, UnsupportedVersion, Busy, DeadlineExceeded, PlannerInternalError, Infeasible]
        self.assertEqual(ERROR_CODES, ("bad_request", "unsupported_version", "busy", "deadline", "internal", "infeasible"))
        for code, cls in zip(ERROR_CODES, classes):
            reply = decode(envelope("Error", {"request_id": "r", "code": code, "message": "why"}), ErrorReply).body
            refusal = PlanRefused.from_reply(reply.code, reply.message, reply.request_id)
            self.assertIs(type(refusal), cls)
            self.assertEqual((refusal.code, refusal.message, refusal.request_id), (code, "why", "r"))
        no_id = decode(envelope("Error", {"code": "bad_request", "message": "garbage"}), ErrorReply).body
        self.assertIsNone(no_id.request_id)
        self.assertRaises(ProtocolError, decode, envelope("Error", {"code": "teapot", "message": ""}), ErrorReply)


class Keys(unittest.TestCase):
    def test_keys_are_the_bridges(self):
        ns = Namespace("lab/run-3")
        self.assertEqual(ns.shared_service(), "lab/run-3/service/plan")
        self.assertEqual(ns.worker_service("w-0"), "lab/run-3/planner/w-0/service/plan")
        self.assertEqual(ns.robot_state("r"), "lab/run-3/robot/r/state")
        self.assertEqual(ns.plans_for("r"), "lab/run-3/planner/*/plan/r")
        self.assertEqual(ns.all_planner_tokens(), "lab/run-3/alive/planner/*")
        self.assertEqual(ns.planner_of_token(ns.planner_token("w2")), "w2")
        self.assertIsNone(ns.planner_of_token("other/alive/planner/w2"))
        for bad in ["", "lab//x", "lab/**", "a$", "é"]:
            self.assertRaises(InvalidMessage, Namespace, bad)


class Package(unittest.TestCase):
    @unittest.skipUnless(hasattr(sys, "stdlib_module_names"), "Python 3.10 lists the standard library")
    def test_it_imports_only_the_standard_library_and_zenoh(self):
        import diffplan_client

        allowed = set(sys.stdlib_module_names) | {"zenoh", "diffplan_client", "__future__"}
        for path in pathlib.Path(diffplan_client.__file__).parent.glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module]
                for name in names:
                    self.assertIn(name.split(".")[0], allowed, f"{path.name} imports {name}")

    @unittest.skipUnless(DOCS.exists(), "docs/PROTOCOL.md is not beside this checkout")
    def test_the_protocol_docs_examples_parse(self):
        text = DOCS.read_text()
        examples = re.findall(r"```python\n(.*?)```", text, re.S)
        self.assertTrue(examples, "PROTOCOL.md has a Python example")
        for example in examples:
            compile(example, "PROTOCOL.md", "exec")
            self.assertIn("diffplan_client", example)
        for raw in re.findall(r"```json\n(.*?)```", text, re.S):
            if "..." not in raw:
                self.assertEqual(decode(raw.encode(), PlanRequest).body.request_id, "py-1")


if __name__ == "__main__":
    unittest.main()
