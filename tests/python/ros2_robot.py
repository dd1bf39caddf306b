"""A ROS 2 robot as rmw_zenoh puts one on the wire, written with independent tools only: the
`rosbags` package (its ROS 2 Jazzy type store) for the CDR codec and the RIHS01 type hashes,
`eclipse-zenoh` (and its `zenoh.ext` serialiser) for the keys, attachments and liveliness. It
drives `diffplan serve --stream --ros2` (the planner's ROS 2 gateway) as a robot with a
joint_trajectory_controller would, and checks what comes back.

Usage: ros2_robot.py ENDPOINT NAMESPACE. Steps:
1. waits for the gateway's graph tokens (`@ros2_lv/0/**`): the node `diffplan_planner`, its
   publisher of JointTrajectory and its subscription to JointState, with rosbags' hashes;
2. subscribes to the exact JointTrajectory key rmw_zenoh uses, and to diffplan's own plan
   stream for the robot (`<ns>/planner/*/plan/ros2-robot`), the plans the trajectories carry;
3. publishes garbage first (no attachment, a 32-byte attachment, bytes that are not CDR, a
   JointState without velocities), then 40 JointStates encoded by rosbags with rmw_zenoh's
   33-byte attachment, 10 ms apart on a clock of its own (stamps from 1000 s), walking from the
   U-maze start towards the goal;
4. checks every trajectory: the attachment (33 bytes, sequence numbers 1, 2, 3, … one GID),
   joint names, a header stamp equal to one of its states' stamps, points k·dt after it, only
   points after the newest stamp the gateway had seen, the last point at rest, and each point
   equal to the diffplan plan made from that state (positions and velocities of its rows).
Prints one JSON line: {"tokens": [...], "trajectories": N, "compared_points": M,
"first_sequence": 1, ...}; exits non-zero if a check fails.
The Rust test (tests/app/ros2.rs) starts `diffplan serve` and checks the printed line.
"""

import json
import os
import sys
import threading
import time
import traceback

import numpy as np
import zenoh
import zenoh.ext
from rosbags.typesys import Stores, get_typestore

STORE = get_typestore(Stores.ROS2_JAZZY)
JOINT_STATE = "sensor_msgs/msg/JointState"
TRAJECTORY = "trajectory_msgs/msg/JointTrajectory"
DT_NS = 10_000_000


def dds_name(msgtype):
    package, kind, name = msgtype.split("/")
    return f"{package}::{kind}::dds_::{name}_"


def data_key(topic, msgtype):
    return f"0/{topic.strip('/')}/{dds_name(msgtype)}/{STORE.hash_rihs01(msgtype)}"


def fail(message):
    raise SystemExit(f"ros2_robot.py: {message}")


def attachment(sequence, gid):
    return zenoh.ext.z_serialize((zenoh.ext.Int64(sequence), zenoh.ext.Int64(time.time_ns()), gid))


def joint_state(stamp_ns, position, velocity):
    Header = STORE.types["std_msgs/msg/Header"]
    Time = STORE.types["builtin_interfaces/msg/Time"]
    Msg = STORE.types[JOINT_STATE]
    stamp = Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    message = Msg(
        header=Header(stamp=stamp, frame_id=""),
        name=["x", "y"],
        position=np.array(position, dtype=np.float64),
        velocity=np.array(velocity, dtype=np.float64),
        effort=np.array([], dtype=np.float64),
    )
    return STORE.serialize_cdr(message, JOINT_STATE).tobytes()


def wait_for_tokens(session):
    """The gateway's graph tokens, once its node, publisher and subscription are all there."""
    deadline = time.time() + 120
    while time.time() < deadline:
        tokens = [str(r.ok.key_expr) for r in session.liveliness().get("@ros2_lv/0/**", timeout=1.0) if r.ok]
        ours = [t for t in tokens if "/diffplan_planner" in t]
        kinds = {t.split("/")[5] for t in ours}
        if {"NN", "MP", "MS"} <= kinds:
            return ours
        time.sleep(0.2)
    fail("no graph tokens of the gateway within 120 s")


def check_tokens(tokens):
    node = [t for t in tokens if t.split("/")[5] == "NN"]
    if len(node) != 1 or not node[0].endswith("/NN/%/%/diffplan_planner"):
        fail(f"node token: {node}")
    expect = {
        "MP": f"/diffplan_planner/%joint_trajectory_controller%joint_trajectory/{dds_name(TRAJECTORY)}/{STORE.hash_rihs01(TRAJECTORY)}/",
        "MS": f"/diffplan_planner/%joint_states/{dds_name(JOINT_STATE)}/{STORE.hash_rihs01(JOINT_STATE)}/",
    }
    for kind, part in expect.items():
        if not any(t.split("/")[5] == kind and part in t for t in tokens):
            fail(f"no {kind} token with {part} among {tokens}")
    zid = node[0].split("/")[2]
    if not all(t.split("/")[2] == zid and t.split("/")[1] == "0" for t in tokens):
        fail(f"tokens of another session or domain: {tokens}")


def main():
    endpoint, namespace = sys.argv[1], sys.argv[2]
    config = zenoh.Config()
    config.insert_json5("mode", '"peer"')
    config.insert_json5("connect/endpoints", json.dumps([endpoint]))
    config.insert_json5("scouting/multicast/enabled", "false")
    session = zenoh.open(config)
    tokens = wait_for_tokens(session)
    check_tokens(tokens)

    lock = threading.Lock()
    trajectories, plans = [], []

    def on_trajectory(sample):
        with lock:
            att = sample.attachment.to_bytes() if sample.attachment is not None else b""
            trajectories.append((att, sample.payload.to_bytes()))

    def on_plan(sample):
        with lock:
            plans.append(json.loads(sample.payload.to_bytes())["body"])

    _traj_sub = session.declare_subscriber(data_key("/joint_trajectory_controller/joint_trajectory", TRAJECTORY), on_trajectory)
    _plan_sub = session.declare_subscriber(f"{namespace}/planner/*/plan/ros2-robot", on_plan)
    time.sleep(0.5)

    states_key = data_key("/joint_states", JOINT_STATE)
    gid = bytes(range(16))
    base = 1000 * 10**9
    # Garbage: none of it may stop the gateway.
    session.put(states_key, joint_state(base - 10**9, [3.0, 1.0], [0.0, 0.0]))
    session.put(states_key, joint_state(base - 10**9, [3.0, 1.0], [0.0, 0.0]), attachment=attachment(1, gid).to_bytes()[:32])
    session.put(states_key, b"\x00\x01\x00\x00\xff\xff\xff\xff", attachment=attachment(2, gid))
    no_velocity = STORE.serialize_cdr(
        STORE.types[JOINT_STATE](
            header=STORE.types["std_msgs/msg/Header"](stamp=STORE.types["builtin_interfaces/msg/Time"](sec=999, nanosec=0), frame_id=""),
            name=["x", "y"], position=np.array([3.0, 1.0]), velocity=np.array([], dtype=np.float64),
            effort=np.array([], dtype=np.float64)),
        JOINT_STATE).tobytes()
    session.put(states_key, no_velocity, attachment=attachment(3, gid))
    time.sleep(0.3)

    stamps = []
    position = np.array([3.0, 1.0])
    velocity = np.array([0.0, 0.0])
    for k in range(40):
        stamp = base + k * DT_NS
        stamps.append(stamp)
        session.put(states_key, joint_state(stamp, position, velocity), attachment=attachment(4 + k, gid))
        time.sleep(0.01)
        position = position + np.array([0.0, 0.004])
        velocity = np.array([0.0, 0.4])
    time.sleep(1.5)

    with lock:
        received, made = list(trajectories), list(plans)
    if not received:
        fail("no JointTrajectory came back")
    sequences, gids, compared = [], set(), 0
    for att, payload in received:
        if len(att) != 33:
            fail(f"attachment of {len(att)} bytes")
        sequences.append(int.from_bytes(att[:8], "little", signed=True))
        if att[16] != 16:
            fail("GID length byte is not 16")
        gids.add(att[17:])
        trajectory = STORE.deserialize_cdr(payload, TRAJECTORY)
        if list(trajectory.joint_names) != ["x", "y"]:
            fail(f"joint names {trajectory.joint_names}")
        start = trajectory.header.stamp.sec * 10**9 + trajectory.header.stamp.nanosec
        if start not in stamps:
            fail(f"header stamp {start} is none of the robot's stamps")
        from_step = stamps.index(start)
        plan = next((p for p in made if p["from_step"] == from_step), None)
        if plan is None:
            fail(f"no diffplan plan from step {from_step}")
        if abs(plan["dt"] * 1e9 - DT_NS) > 1:
            fail(f"plan dt {plan['dt']}")
        points = trajectory.points
        for j, point in enumerate(points):
            tfs = point.time_from_start.sec * 10**9 + point.time_from_start.nanosec
            if tfs % DT_NS != 0 or tfs <= 0:
                fail(f"point {j} at {tfs} ns is not a whole step after the state")
            row = plan["states"][tfs // DT_NS]
            if not np.allclose(point.positions, row[:2], rtol=0, atol=1e-6):
                fail(f"point {j} positions {point.positions} vs plan row {row}")
            last = j == len(points) - 1
            expected_velocity = [0.0, 0.0] if last else row[2:4]
            if not np.allclose(point.velocities, expected_velocity, rtol=0, atol=1e-6):
                fail(f"point {j} velocities {point.velocities} vs {expected_velocity}")
            compared += 1
        first = points[0].time_from_start.sec * 10**9 + points[0].time_from_start.nanosec
        if start + first <= stamps[min(from_step, len(stamps) - 1)]:
            fail("a point at or before its own state")
        if (len(points) + first // DT_NS - 1) != len(plan["states"]) - 1:
            fail(f"{len(points)} points from row {first // DT_NS} for a plan of {len(plan['states'])} rows")
    if sequences != list(range(1, len(sequences) + 1)):
        fail(f"sequence numbers {sequences}")
    if len(gids) != 1:
        fail(f"{len(gids)} GIDs")
    print(json.dumps({
        "tokens": len(tokens),
        "trajectories": len(received),
        "compared_points": compared,
        "first_sequence": sequences[0],
        "plans": len(made),
    }))
    session.close()


if __name__ == "__main__":
    # Leaves at once, whatever Zenoh's threads are doing, with the status of the checks.
    try:
        main()
        code = 0
    except SystemExit as failed:
        print(failed, file=sys.stderr)
        code = 1
    except Exception:  # noqa: BLE001 - any failure is the test's failure, with its trace
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
