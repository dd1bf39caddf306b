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
    NODE_ROLES,
    NODE_STATUSES,
    BadRequest,
    Busy,
    DeadlineExceeded,
    ErrorReply,
    Heartbeat,
    Infeasible,
    InvalidMessage,
    ModelCard,
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

# codec.rs's DIGEST and TASK.
DIGEST = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

# bridge/tests/integration/codec.rs `plan(vec![vec![1.0, 2.0, 0.5, -0.5]; 2])`, as serde_json writes it.
RUST_PLAN = (
    '{"v":2,"type":"Plan","stamp_ns":1763800000000000000,"body":{"plan_id":"p-1","request_id":"r",'
    '"planner_id":"planner-0","task":"point-2d","checkpoint_digest":"' + DIGEST + '",'
    '"robot_id":"robot-0","episode":3,"from_step":7,"dt":0.01,'
    '"states":[[1.0,2.0,0.5,-0.5],[1.0,2.0,0.5,-0.5]],"actions":[[1.0,2.0],[1.0,2.0]],"valid_steps":128,'
    '"value":null,"constraints":[],"timing":{"queue_ms":0.1,"sample_ms":80.0,"model_ms":70.0},'
    '"model_calls":20,"seed":42}}'
)

# codec.rs `state()`.
RUST_STATE = (
    '{"v":2,"type":"RobotState","stamp_ns":5,"body":{"robot_id":"robot-0","task":"point-2d","episode":0,'
    '"step":5,"time_s":0.05,"observation":[1.0,1.0,0.0,0.0],"goal":[3.0,1.0,0.0,0.0],"joint_names":null,'
    '"mode":"running"}}'
)


def envelope(message_type, body):
    return json.dumps({"v": 2, "type": message_type, "stamp_ns": 1, "body": body}).encode()


def sent_body(message):
    return json.loads(encode(message))["body"]


class Envelope(unittest.TestCase):
    def test_encoding_names_type_and_version(self):
        self.assertEqual(encoding_of(Plan), "application/json;diffplan/Plan/2")
        self.assertEqual(encoding_of(PlanRequest), "application/json;diffplan/PlanRequest/2")
        self.assertEqual(encoding_of(ErrorReply), "application/json;diffplan/Error/2")
        self.assertEqual(encoding_of(RobotState), "application/json;diffplan/RobotState/2")
        self.assertEqual(encoding_of(Heartbeat), "application/json;diffplan/Heartbeat/2")
        self.assertEqual(encoding_of(ModelCard), "application/json;diffplan/ModelCard/2")

    def test_a_sent_envelope_has_exactly_the_four_fields(self):
        raw = json.loads(encode(PlanRequest(request_id="a", observation=[0.0])))
        self.assertEqual(sorted(raw), ["body", "stamp_ns", "type", "v"])
        self.assertEqual((raw["v"], raw["type"]), (2, "PlanRequest"))
        self.assertIsInstance(raw["stamp_ns"], int)

    def test_each_failure_names_its_cause(self):
        good = RUST_STATE.encode()
        self.assertEqual(decode(good, RobotState).stamp_ns, 5)
        cases = {
            "exceeds the 10-byte cap": (good, 10),
            "protocol version 1 is not supported": (RUST_STATE.replace('"v":2', '"v":1').encode(), None),
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
        self.assertEqual((plan.task, plan.checkpoint_digest), ("point-2d", DIGEST))
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
            "plan.task": dict(body, task="maze2d umaze"),
            "plan.checkpoint_digest": dict(body, checkpoint_digest=DIGEST.upper()),
            "missing field 'task'": {k: v for k, v in body.items() if k != "task"},
            "missing field 'checkpoint_digest'": {k: v for k, v in body.items() if k != "checkpoint_digest"},
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
            request_id="r-2", observation=[1, 2], goal=[3.0], seed=9, robot_id="robot_1", task="maze2d-umaze",
            episode=4, from_step=8,
            arrival=100, waypoints=[Waypoint(index=32, state=[2.0, 2.0])], sampler=SamplerOptions("ddim", steps=10, eta=0.5),
            batch_size=4, deadline_ms=250,
        )  # fmt: skip
        body = sent_body(request)
        self.assertEqual(
            list(body),
            ["request_id", "robot_id", "task", "episode", "from_step", "observation", "goal", "arrival",
             "waypoints", "sampler", "seed", "batch_size", "deadline_ms"],
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
            "plan_request.task": dict(good, task="maze2d/*"),
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
        self.assertEqual(state.task, "point-2d")
        self.assertEqual(sent_body(state), json.loads(RUST_STATE)["body"])
        # A robot of no task: `task` absent or null, sent as null.
        body = json.loads(RUST_STATE)["body"]
        del body["task"]
        self.assertIsNone(decode(envelope("RobotState", body), RobotState).body.task)
        self.assertIsNone(decode(envelope("RobotState", dict(body, task=None)), RobotState).body.task)
        self.assertEqual(sent_body(decode(envelope("RobotState", body), RobotState).body)["task"], None)
        with self.assertRaises(ProtocolError) as caught:
            decode(envelope("RobotState", dict(body, task="")), RobotState)
        self.assertIn("robot_state.task", str(caught.exception))

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


class Heartbeats(unittest.TestCase):
    # A planner's heartbeat, as the bridge writes it (null for absent options).
    PLANNER = {"node_id": "planner-0", "role": "planner", "status": "ok", "reason": None, "step": None,
               "counters": {"plans_served": 12, "errors_sent": 0}, "task": "maze2d-umaze",
               "checkpoint_digest": DIGEST}  # fmt: skip

    def test_a_heartbeat_round_trips(self):
        heartbeat = decode(envelope("Heartbeat", self.PLANNER), Heartbeat).body
        self.assertEqual((heartbeat.node_id, heartbeat.role, heartbeat.status), ("planner-0", "planner", "ok"))
        self.assertEqual((heartbeat.reason, heartbeat.step, heartbeat.counters["plans_served"]), (None, None, 12))
        self.assertEqual((heartbeat.task, heartbeat.checkpoint_digest), ("maze2d-umaze", DIGEST))
        self.assertEqual(decode(encode(heartbeat), Heartbeat).body, heartbeat)
        robot = Heartbeat("robot-0", "robot", "holding", reason="no fresh plan for 500 ms", step=40,
                          counters={"plans_received": 3, "plans_rejected": 1}, task="maze2d-umaze")  # fmt: skip
        self.assertEqual(
            sent_body(robot),
            {"node_id": "robot-0", "role": "robot", "status": "holding", "reason": "no fresh plan for 500 ms",
             "step": 40, "counters": {"plans_received": 3, "plans_rejected": 1}, "task": "maze2d-umaze"},
        )  # fmt: skip
        self.assertEqual(decode(encode(robot), Heartbeat).body, robot)
        self.assertEqual((NODE_ROLES, NODE_STATUSES), (("robot", "planner"), ("ok", "holding", "stopping")))

    def test_optional_heartbeat_fields_may_be_omitted(self):
        body = {"node_id": "r", "role": "robot", "status": "stopping"}
        heartbeat = decode(envelope("Heartbeat", body), Heartbeat).body
        self.assertEqual((heartbeat.reason, heartbeat.step, heartbeat.counters, heartbeat.task), (None, None, {}, None))
        self.assertIsNone(heartbeat.checkpoint_digest)

    def test_a_bad_heartbeat_is_refused_by_field(self):
        cases = {
            "heartbeat.checkpoint_digest": dict(self.PLANNER, checkpoint_digest="sha256:" + "0" * 63),
            "unknown field 'uptime_s'": dict(self.PLANNER, uptime_s=3),
            "heartbeat.role": dict(self.PLANNER, role="operator"),
            "heartbeat.status": dict(self.PLANNER, status="busy"),
            "heartbeat.counters.plans_served": dict(self.PLANNER, counters={"plans_served": -1}),
            "heartbeat.counters": dict(self.PLANNER, counters=None),  # a map with serde(default): null is refused
            "heartbeat.task": dict(self.PLANNER, task="a/b"),
            "heartbeat.node_id": dict(self.PLANNER, node_id=""),
        }
        for cause, body in cases.items():
            with self.subTest(cause):
                with self.assertRaises(ProtocolError) as caught:
                    decode(envelope("Heartbeat", body), Heartbeat)
                self.assertIn(cause, str(caught.exception))
        for field, heartbeat in {
            "heartbeat.role": Heartbeat("r", "operator", "ok"),
            "heartbeat.checkpoint_digest": Heartbeat("p", "planner", "ok", checkpoint_digest="md5:00"),
            "heartbeat.counters.holds": Heartbeat("r", "robot", "ok", counters={"holds": 1.5}),
        }.items():
            with self.subTest(field):
                with self.assertRaises(InvalidMessage) as caught:
                    encode(heartbeat)
                self.assertEqual(caught.exception.field, field)


class ModelCards(unittest.TestCase):
    # A U-maze planner's card, as protocol-v2 lists the fields.
    CARD = {
        "planner_id": "planner-0", "protocol_version": 2, "task": "maze2d-umaze",
        "task_label": "maze2d-umaze (fixed goal)", "checkpoint": "models/maze2d-umaze", "checkpoint_digest": DIGEST, "horizon": 128, "diffusion_steps": 64,
        "dt": 0.01,
        "observation": [{"name": "x", "unit": "m", "low": None, "high": None}, {"name": "y", "unit": "m"},
                        {"name": "vx", "unit": "m/s"}, {"name": "vy", "unit": "m/s"}],
        "action": [{"name": "ax", "unit": "1", "low": -1.0, "high": 1.0},
                   {"name": "ay", "unit": "1", "low": -1.0, "high": 1.0}],
        "goal": {"width": 4, "components": ["x", "y", "vx", "vy"], "row": 127, "note": "arrive at (x, y) at rest"},
        "sampler": {"kind": "ddim", "steps": 20, "eta": None},
        "limits": {"max_batch": 64, "max_steps": 1000, "max_payload_bytes": 4194304},
        "constraints": ["walls"], "replan_every": 16, "streaming": True,
        "example": {"observation": [3.0, 1.0, 0.0, 0.0], "goal": [1.0, 1.0, 0.0, 0.0]},
    }  # fmt: skip

    def test_a_model_card_round_trips(self):
        card = decode(envelope("ModelCard", self.CARD), ModelCard).body
        self.assertEqual((card.planner_id, card.protocol_version, card.task), ("planner-0", 2, "maze2d-umaze"))
        self.assertEqual((card.checkpoint, card.checkpoint_digest), ("models/maze2d-umaze", DIGEST))
        self.assertEqual((card.horizon, card.diffusion_steps, card.dt), (128, 64, 0.01))
        self.assertEqual((card.replan_every, card.streaming), (16, True))
        self.assertEqual([(c.name, c.unit) for c in card.observation], [("x", "m"), ("y", "m"), ("vx", "m/s"), ("vy", "m/s")])
        self.assertEqual((card.observation[0].low, card.observation[0].high), (None, None))
        self.assertEqual((card.action[1].low, card.action[1].high), (-1.0, 1.0))
        self.assertEqual((card.goal.width, card.goal.row, card.goal.components[1]), (4, 127, "y"))
        self.assertEqual((card.sampler.kind, card.sampler.steps, card.sampler.eta), ("ddim", 20, None))
        self.assertEqual((card.limits.max_batch, card.limits.max_payload_bytes), (64, 4 << 20))
        self.assertEqual((card.constraints, card.example.goal), (["walls"], [1.0, 1.0, 0.0, 0.0]))
        self.assertEqual(decode(encode(card), ModelCard).body, card)
        # Sent as the bridge writes it, less the nulls of absent options.
        expected = json.loads(json.dumps(self.CARD))
        del expected["observation"][0]["low"], expected["observation"][0]["high"], expected["sampler"]["eta"]
        self.assertEqual(sent_body(card), expected)

    def test_a_bad_model_card_is_refused_by_field(self):
        card = self.CARD
        cases = {
            "model_card.checkpoint_digest": dict(card, checkpoint_digest="sha256:" + "g" * 64),
            "unknown field 'gpu'": dict(card, gpu="H200"),
            "unknown field 'max_horizon'": dict(card, limits=dict(card["limits"], max_horizon=128)),
            "missing field 'note'": dict(card, goal={k: v for k, v in card["goal"].items() if k != "note"}),
            "missing field 'example'": {k: v for k, v in card.items() if k != "example"},
            "model_card.streaming": dict(card, streaming=1),
            "model_card.sampler.kind": dict(card, sampler={"kind": "euler"}),
            "model_card.task": dict(card, task="maze2d umaze"),
            "model_card.dt": dict(card, dt=0),
            "model_card.horizon": dict(card, horizon=1.5),
            "model_card.action[0].low": dict(card, action=[{"name": "ax", "unit": "1", "low": "-1"}]),
            "model_card.example.goal[0]": dict(card, example={"observation": [0.0], "goal": [1e39]}),
            "model_card.example": dict(card, example={"observation": [0.0, 0.0], "goal": [1.0, 1.0]}),
            "model_card.goal": dict(card, goal=dict(card["goal"], row=128)),
            "at least one row, observation and action value": dict(card, action=[]),
        }
        for cause, body in cases.items():
            with self.subTest(cause):
                with self.assertRaises(ProtocolError) as caught:
                    decode(envelope("ModelCard", body), ModelCard)
                self.assertIn(cause, str(caught.exception))
        self.assertRaises(ProtocolError, decode, envelope("Heartbeat", card), ModelCard)


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
        self.assertEqual(ns.describe("w-0"), "lab/run-3/planner/w-0/describe")
        self.assertEqual(ns.all_describes(), "lab/run-3/planner/*/describe")
        self.assertEqual(ns.task_service("maze2d-umaze"), "lab/run-3/task/maze2d-umaze/service/plan")
        self.assertEqual(ns.task_token("maze2d-umaze", "w-0"), "lab/run-3/alive/task/maze2d-umaze/w-0")
        self.assertEqual(ns.task_tokens("maze2d-umaze"), "lab/run-3/alive/task/maze2d-umaze/*")
        self.assertEqual(ns.all_task_tokens(), "lab/run-3/alive/task/*/*")
        self.assertEqual(ns.robot_token("r"), "lab/run-3/alive/robot/r")
        self.assertEqual(ns.robot_status("r"), "lab/run-3/robot/r/status")
        self.assertEqual(ns.task_of_token(ns.task_token("maze2d-umaze", "w-0")), ("maze2d-umaze", "w-0"))
        for other in ["lab/run-3/alive/task/t", "lab/run-3/alive/task/t/p/x", "lab/alive/task/t/p", "lab/run-3/alive/task//p"]:
            self.assertIsNone(ns.task_of_token(other), other)
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
