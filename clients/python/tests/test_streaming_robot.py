"""The example robot (examples/streaming_robot.py) against a streaming stand-in planner
(fake_planner.py): it follows the stream, holds when the stream stops, refuses plans of another task
and plans that do not decode, resumes on the next fresh plan, and stops on SIGTERM with a last
heartbeat.
"""

import pathlib
import queue
import signal
import subprocess
import sys
import time
import unittest

from fake_planner import TASK, FakePlanner, straight_line

from diffplan_client import Heartbeat, decode, encode

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "streaming_robot.py"
ROBOT = "py-robot-0"


class StreamingRobot(unittest.TestCase):
    def next_status(self, heartbeats, status, within_s=10.0):
        """The next heartbeat whose status is `status`, skipping others, within `within_s` seconds."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            try:
                heartbeat = heartbeats.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if heartbeat.status == status:
                return heartbeat
        self.fail(f"no {status!r} heartbeat within {within_s} s")

    def test_it_holds_without_fresh_plans_and_refuses_other_tasks(self):
        with FakePlanner(stream=True) as planner:
            heartbeats = queue.Queue()
            on_status = lambda sample: heartbeats.put(decode(sample.payload.to_bytes(), Heartbeat).body)  # noqa: E731
            planner.session.declare_subscriber(planner.keys.robot_status(ROBOT), on_status)
            command = [sys.executable, str(EXAMPLE), "--connect", planner.endpoint, "--namespace", "fake",
                       "--plan-timeout-ms", "200", "--duration-s", "60"]  # fmt: skip
            robot = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
            try:
                running = self.next_status(heartbeats, "ok")
                self.assertEqual((running.node_id, running.role, running.task), (ROBOT, "robot", TASK))
                self.assertGreaterEqual(running.counters["plans_received"], 1)
                deadline = time.monotonic() + 10
                while planner.states[-1].observation[0] > 2.5 and time.monotonic() < deadline:
                    time.sleep(0.05)
                moved = planner.states[-1]
                self.assertLess(moved.observation[0], 2.5, "it drives from x = 3 towards the goal at x = 1")
                self.assertEqual((moved.task, moved.mode, moved.episode), (TASK, "running", 0))

                while not heartbeats.empty():  # statuses so far (a loaded machine may have held a moment)
                    heartbeats.get()
                planner.streaming.clear()
                holding = self.next_status(heartbeats, "holding")
                self.assertRegex(holding.reason, r"^no fresh plan for \d+ ms$")
                for i in range(3):
                    other = straight_line(None, moved.observation, None, task="maze2d-large", plan_id=f"other-{i}")
                    planner.publish_raw_plan(ROBOT, encode(other))
                planner.publish_raw_plan(ROBOT, b"{}")
                self.assertRaises(queue.Empty, heartbeats.get, timeout=0.5)  # still holding

                planner.streaming.set()
                resumed = self.next_status(heartbeats, "ok")
                self.assertEqual(resumed.counters["plans_rejected"], 4)
                self.assertGreaterEqual(resumed.counters["holds"], 2, "before the first plan, and when it stopped")

                robot.send_signal(signal.SIGTERM)
                stopping = self.next_status(heartbeats, "stopping")
                self.assertGreater(stopping.step, resumed.step)
                self.assertEqual(robot.wait(timeout=10), 0)
                self.assertIn("is for task 'maze2d-large'", robot.stderr.read())
            finally:
                if robot.poll() is None:
                    robot.kill()
                robot.communicate()


if __name__ == "__main__":
    unittest.main()
