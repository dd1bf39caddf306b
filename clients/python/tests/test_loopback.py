"""The client over a real Zenoh network on loopback (multicast off), against a stand-in planner
(fake_planner.py): each reply a planner can give becomes its result or typed exception.
"""

import time
import unittest

from fake_planner import FakePlanner, free_endpoint, straight_line

from diffplan_client import (
    BadRequest,
    Busy,
    ErrorReply,
    InvalidMessage,
    NoPlannerError,
    PlannerClient,
    PlanRefused,
    PlanSubscriber,
    PlanTimeout,
    ProtocolError,
    RobotStatePublisher,
    encode,
    open_session,
)

START, GOAL = [3.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]


def client_of(planner, **options):
    return PlannerClient.open(planner.endpoint, planner.keys.root, **options)


class Requests(unittest.TestCase):
    def test_a_plan_comes_back_with_the_request_echoed(self):
        with FakePlanner() as planner, client_of(planner) as client:
            plan = client.plan(START, GOAL, seed=7, request_id="py-1")
            self.assertEqual((plan.request_id, plan.seed, plan.planner_id), ("py-1", 7, "fake-0"))
            self.assertEqual((plan.states[0], plan.states[-1]), (START, GOAL))
            self.assertEqual(client.planners(), ["fake-0"])
            # A worker addressed by id; a fresh request id each time by default.
            plan = client.plan(START, GOAL, planner="fake-0")
            self.assertTrue(plan.request_id.startswith("py-"))
            self.assertEqual(len({r.request_id for r in planner.requests}), 2)

    def test_each_error_code_raises_its_class(self):
        refusals = {"bad_request": BadRequest, "busy": Busy}
        for code, cls in refusals.items():
            with self.subTest(code):
                answer = lambda request: ErrorReply(code=code, message="no", request_id=request.request_id)
                with FakePlanner(answer=answer) as planner, client_of(planner) as client:
                    with self.assertRaises(cls) as caught:
                        client.plan(START, GOAL, request_id="py-2")
                    self.assertIsInstance(caught.exception, PlanRefused)
                    self.assertEqual((caught.exception.code, caught.exception.request_id), (code, "py-2"))

    def test_a_held_query_times_out(self):
        with FakePlanner(answer=lambda request: "hold") as planner, client_of(planner, timeout_s=0.5) as client:
            started = time.monotonic()
            with self.assertRaises(PlanTimeout) as caught:
                client.plan(START, GOAL)
            self.assertLess(time.monotonic() - started, 5.0)
            self.assertEqual(caught.exception.timeout_s, 0.5)
            self.assertIsInstance(caught.exception, TimeoutError)

    def test_undecodable_replies_are_protocol_errors(self):
        answers = {
            "a plan that is not JSON": ("ok", b"\x00garbage{"),
            "an error that is not an Error": ("err", b"out of cheese"),
            "an invalid plan": ("ok", encode(straight_line("py-3", START, GOAL)).replace(b'"dt":0.01', b'"dt":-1.0')),
            "another request's plan": straight_line("someone-else", START, GOAL),
        }
        for what, answer in answers.items():
            with self.subTest(what):
                with FakePlanner(answer=lambda request: answer) as planner, client_of(planner) as client:
                    self.assertRaises(ProtocolError, client.plan, START, GOAL, request_id="py-3")

    def test_no_planner_alive_is_reported_after_the_wait(self):
        with FakePlanner(alive=False) as planner, client_of(planner, wait_for_planner_s=0.5) as client:
            started = time.monotonic()
            self.assertRaises(NoPlannerError, client.plan, START, GOAL)
            self.assertLess(time.monotonic() - started, 5.0)
        # Without waiting: the query itself finds no queryable.
        with open_session(connect=free_endpoint()) as session:
            client = PlannerClient(session, "nobody", wait_for_planner_s=0)
            with self.assertRaises(NoPlannerError) as caught:
                client.plan(START, GOAL)
            self.assertEqual(caught.exception.key, "nobody/service/plan")

    def test_an_invalid_request_is_refused_before_it_is_sent(self):
        with FakePlanner() as planner, client_of(planner) as client:
            self.assertRaises(InvalidMessage, client.plan, [float("nan")] * 4, GOAL)
            self.assertRaises(InvalidMessage, client.plan, START, None, arrival=3)
            self.assertEqual(planner.requests, [])


class Streaming(unittest.TestCase):
    def test_a_published_state_brings_a_plan_for_that_robot_and_step(self):
        with FakePlanner(stream=True) as planner, open_session(connect=planner.endpoint) as session:
            with PlanSubscriber(session, "robot-0", planner.keys.root) as plans, \
                    RobotStatePublisher(session, "robot-0", planner.keys.root, lossless=True) as states:  # fmt: skip
                self.assertIsNone(plans.latest())
                deadline = time.monotonic() + 10
                plan = None
                while plan is None and time.monotonic() < deadline:
                    states.publish(START, episode=2, step=3, time_s=0.03, goal=GOAL)
                    try:
                        plan = plans.wait(timeout_s=0.5)
                    except PlanTimeout:
                        pass
                self.assertIsNotNone(plan, "no plan streamed")
                self.assertEqual((plan.robot_id, plan.episode, plan.from_step), ("robot-0", 2, 3))
                self.assertEqual(plan.states[0], START)
                self.assertEqual(planner.states[0].goal, GOAL)
                planner.publish_raw_plan("robot-0", b"{}")
                deadline = time.monotonic() + 5
                while plans.rejected == 0 and time.monotonic() < deadline:
                    time.sleep(0.01)
                self.assertEqual(plans.rejected, 1, "an invalid plan is counted and skipped")
                self.assertIn("missing field", plans.last_rejection or "")
                self.assertRaises(InvalidMessage, states.publish, START, episode=-1, step=0, time_s=0.0)

    def test_waiting_for_a_plan_that_never_comes_times_out(self):
        with open_session(connect=free_endpoint()) as session, PlanSubscriber(session, "robot-9") as plans:
            self.assertRaises(PlanTimeout, plans.wait, 0.2)


if __name__ == "__main__":
    unittest.main()
