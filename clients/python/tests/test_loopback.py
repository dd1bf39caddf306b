"""The client over a real Zenoh network on loopback (multicast off), against a stand-in planner
(fake_planner.py): each reply a planner can give becomes its result or typed exception; requests
for a task reach that task's planners; model cards; a planner that does not answer yet is asked
again.
"""

import time
import unittest

from fake_planner import TASK, FakePlanner, free_endpoint, model_card, straight_line

from diffplan_client import (
    BadRequest,
    Busy,
    ErrorReply,
    InvalidMessage,
    NoPlannerError,
    PlannerClient,
    PlanRefused,
    PlanRequest,
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


class Tasks(unittest.TestCase):
    def test_a_request_for_a_task_goes_to_its_planners(self):
        with FakePlanner() as planner, client_of(planner) as client:
            plan = client.plan(START, GOAL, task=TASK, request_id="py-t")
            self.assertEqual((plan.task, planner.requests[-1].task), (TASK, TASK))
            self.assertEqual(client.served_tasks(), {TASK: ["fake-0"]})
            self.assertEqual(client.wait_for_task(TASK), ["fake-0"])
            client.request(PlanRequest(request_id="py-r", observation=START), task=TASK)
            self.assertEqual((planner.requests[-1].request_id, planner.requests[-1].task), ("py-r", TASK))
            # A worker addressed by id refuses another task's request itself.
            self.assertRaises(BadRequest, client.plan, START, GOAL, task="maze2d-large", planner="fake-0")

    def test_a_task_nobody_serves_names_the_tasks_served(self):
        with FakePlanner() as planner, client_of(planner, wait_for_planner_s=0.5) as client:
            with self.assertRaises(NoPlannerError) as caught:
                client.plan(START, GOAL, task="maze2d-large")
            self.assertEqual(
                str(caught.exception),
                "no planner serves task 'maze2d-large' on namespace 'fake' within 0.5 s; served: maze2d-umaze (fake-0)",
            )
            self.assertEqual(caught.exception.key, "fake/alive/task/maze2d-large/*")
            self.assertEqual(planner.requests, [])

    def test_a_plan_of_another_task_is_a_protocol_error(self):
        answer = lambda request: straight_line(request.request_id, START, GOAL, task="maze2d-large")
        with FakePlanner(answer=answer) as planner, client_of(planner) as client:
            with self.assertRaises(ProtocolError) as caught:
                client.plan(START, GOAL, task=TASK)
            self.assertIn("'maze2d-large'", str(caught.exception))
            self.assertEqual(client.plan(START, GOAL).task, "maze2d-large", "no task asked, none checked")

    def test_model_cards(self):
        with FakePlanner() as planner, client_of(planner, wait_for_planner_s=0.5) as client:
            self.assertEqual(client.describe("fake-0"), model_card())
            self.assertEqual(client.describe_all(), [model_card()])
            self.assertRaises(NoPlannerError, client.describe, "nobody")


class ZeroReplies(unittest.TestCase):
    """A planner whose token is alive but whose service answers nothing yet: asked again."""

    def test_a_planner_that_serves_late_is_asked_again(self):
        asks = {
            "a plan": lambda client: client.plan(START, GOAL, request_id="py-late").request_id,
            "a plan of a task": lambda client: client.plan(START, GOAL, task=TASK, request_id="py-late").request_id,
            "a model card": lambda client: client.describe("fake-0").planner_id,
        }
        for what, ask in asks.items():
            with self.subTest(what):
                created = time.monotonic()
                with FakePlanner(serve_after_s=2.0) as planner, client_of(planner, wait_for_planner_s=10) as client:
                    self.assertLess(time.monotonic() - created, 1.5, "the client asks before the planner serves")
                    self.assertIn(ask(client), ("py-late", "fake-0"))
                    self.assertGreaterEqual(time.monotonic() - created, 2.0)

    def test_a_planner_that_never_serves_is_reported_after_the_wait(self):
        with FakePlanner(serve_after_s=60) as planner, client_of(planner, wait_for_planner_s=1.0) as client:
            for task, message in [
                (None, "no planner answered fake/service/plan;"),
                (TASK, "no planner of task 'maze2d-umaze' answered fake/task/maze2d-umaze/service/plan within 1 s; "
                       "served: maze2d-umaze (fake-0)"),
            ]:  # fmt: skip
                with self.subTest(task=task):
                    started = time.monotonic()
                    with self.assertRaises(NoPlannerError) as caught:
                        client.plan(START, GOAL, task=task)
                    self.assertTrue(str(caught.exception).startswith(message), str(caught.exception))
                    self.assertLess(time.monotonic() - started, 5.0)


class Streaming(unittest.TestCase):
    def test_a_published_state_brings_a_plan_for_that_robot_and_step(self):
        with FakePlanner(stream=True) as planner, open_session(connect=planner.endpoint) as session:
            ns = planner.keys.root
            with PlanSubscriber(session, "robot-0", ns, task=TASK) as plans, \
                    RobotStatePublisher(session, "robot-0", ns, task=TASK, lossless=True) as states:  # fmt: skip
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
                self.assertEqual((plan.states[0], plan.task), (START, TASK))
                self.assertEqual((planner.states[0].goal, planner.states[0].task), (GOAL, TASK))
                planner.publish_raw_plan("robot-0", b"{}")
                deadline = time.monotonic() + 5
                while plans.rejected == 0 and time.monotonic() < deadline:
                    time.sleep(0.01)
                self.assertEqual(plans.rejected, 1, "an invalid plan is counted and skipped")
                self.assertIn("missing field", plans.last_rejection or "")
                planner.publish_raw_plan("robot-0", encode(straight_line(None, START, GOAL, task="maze2d-large")))
                while plans.rejected == 1 and time.monotonic() < deadline:
                    time.sleep(0.01)
                self.assertEqual(plans.rejected, 2, "another task's plan is counted and skipped")
                self.assertIn("is for task 'maze2d-large'", plans.last_rejection or "")
                self.assertIsNone(plans.latest())
                self.assertRaises(InvalidMessage, states.publish, START, episode=-1, step=0, time_s=0.0)

    def test_waiting_for_a_plan_that_never_comes_times_out(self):
        with open_session(connect=free_endpoint()) as session, PlanSubscriber(session, "robot-9") as plans:
            self.assertRaises(PlanTimeout, plans.wait, 0.2)


if __name__ == "__main__":
    unittest.main()
