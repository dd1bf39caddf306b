"""Tells a running real-time robot to shut down, as an operator would, and reports the last state
it published. Raw Zenoh and `json` only.

Usage: stop_robot.py ENDPOINT NAMESPACE ROBOT. Waits until the robot has run 50 steps of an
episode, sends the `shutdown` command (docs/PROTOCOL.md, Command), then collects its states
until none came for 2 s. Prints one JSON line: {"commanded_at_step": S, "last": {"step": …,
"mode": …}}; exits non-zero if the robot never ran.
"""

import json
import sys
import threading
import time

import zenoh


def main():
    endpoint, namespace, robot = sys.argv[1], sys.argv[2], sys.argv[3]
    config = zenoh.Config()
    config.insert_json5("mode", '"peer"')
    config.insert_json5("connect/endpoints", json.dumps([endpoint]))
    config.insert_json5("scouting/multicast/enabled", "false")
    session = zenoh.open(config)
    lock = threading.Lock()
    states = []

    def on_state(sample):
        with lock:
            states.append(json.loads(sample.payload.to_bytes())["body"])

    _sub = session.declare_subscriber(f"{namespace}/robot/{robot}/state", on_state)
    deadline = time.time() + 120
    while time.time() < deadline:
        with lock:
            running = [s for s in states if s["mode"] == "running" and s["step"] >= 50]
        if running:
            break
        time.sleep(0.02)
    else:
        raise SystemExit("stop_robot.py: the robot never ran 50 steps")
    commanded_at = running[0]["step"]
    command = {"v": 2, "type": "Command", "stamp_ns": time.time_ns(), "body": {"robot_id": robot, "command": "shutdown"}}
    session.put(f"{namespace}/robot/{robot}/cmd", json.dumps(command).encode())
    count = -1
    while True:
        time.sleep(2.0)
        with lock:
            if len(states) == count:
                break
            count = len(states)
    with lock:
        last = states[-1]
    print(json.dumps({"commanded_at_step": commanded_at, "last": {"step": last["step"], "mode": last["mode"]}}))


if __name__ == "__main__":
    main()
