//! Planners tied to tasks over real Zenoh sessions on loopback: found by task, described by
//! their model cards, asked on their task's key; requests, robots and plans of another task are
//! refused or left alone, and a robot whose task no planner serves is told which tasks are.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bridge::message::{ErrorReply, Plan, PlanRequest, RobotMode, RobotState};
use bridge::zenoh::Wait;
use bridge::{BridgeError, Namespace, PlanClient, PlanHandler, PlannerService, RobotLink, ServiceReport, Transport};

use crate::codec::{card, state};
use crate::link::{StraightLine, endpoints, request};

/// [`StraightLine`] as planner `planner` of task `task`.
struct OfTask {
    planner: &'static str,
    task: &'static str,
}

impl OfTask {
    fn stamped(&self, plan: Result<Plan, ErrorReply>) -> Result<Plan, ErrorReply> {
        plan.map(|plan| Plan { planner_id: self.planner.into(), task: self.task.into(), ..plan })
    }
}

impl PlanHandler for OfTask {
    fn plan(&mut self, request: &PlanRequest) -> Result<Plan, ErrorReply> {
        self.stamped(StraightLine.plan(request))
    }

    fn plan_for_state(&mut self, state: &RobotState) -> Result<Plan, ErrorReply> {
        self.stamped(StraightLine.plan_for_state(state))
    }
}

/// Planner `planner` of `task` serving in a thread until the returned flag is set.
fn serve(
    transport: &Transport,
    namespace: &Namespace,
    mut handler: OfTask,
    stream: bool,
) -> (Arc<AtomicBool>, std::thread::JoinHandle<ServiceReport>) {
    let session = transport.open().expect("planner session");
    let mut service =
        PlannerService::new(&session, namespace.clone(), card(handler.planner, handler.task)).expect("service");
    service.stream = stream;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    (stop, std::thread::spawn(move || service.run(&mut handler, &flag).expect("service runs")))
}

#[test]
fn planners_are_found_described_and_asked_by_task() {
    let (router, transport) = endpoints();
    let _router = router.open().expect("router");
    let namespace = Namespace::new("linktest/tasks").expect("ns");
    let alpha = serve(&transport, &namespace, OfTask { planner: "alpha", task: "point-a" }, false);
    let beta = serve(&transport, &namespace, OfTask { planner: "beta", task: "point-b" }, false);
    let session = transport.open().expect("client session");
    let client = PlanClient::new(&session, namespace.clone());
    let running = AtomicBool::new(false);
    let wait = Duration::from_secs(20);
    assert_eq!(client.wait_for_task("point-a", wait, &running).expect("alpha comes"), vec!["alpha".to_string()]);
    assert_eq!(client.wait_for_task("point-b", wait, &running).expect("beta comes"), vec!["beta".to_string()]);
    let served = client.served_tasks(Duration::from_secs(1)).expect("tasks");
    let expected: BTreeMap<String, Vec<String>> =
        [("point-a".into(), vec!["alpha".into()]), ("point-b".into(), vec!["beta".into()])].into();
    assert_eq!(served, expected);

    let timeout = Duration::from_secs(10);
    assert_eq!(client.describe("alpha", timeout).expect("alpha's card"), card("alpha", "point-a"));
    let cards = client.describe_all(timeout).expect("every card");
    assert_eq!(
        cards.iter().map(|c| (c.planner_id.as_str(), c.task.as_str())).collect::<Vec<_>>(),
        [("alpha", "point-a"), ("beta", "point-b")]
    );

    // The task's key reaches the task's planner, every time.
    let of_b = PlanClient::new(&session, namespace.clone()).for_task("point-b");
    for _ in 0..5 {
        let plan = of_b.request(&request(vec![0.0; 4]), timeout).expect("a plan of point-b");
        assert_eq!((plan.body.task.as_str(), plan.body.planner_id.as_str()), ("point-b", "beta"));
    }
    // A request naming another task is refused by name; a plan of another task is refused.
    let for_a = PlanRequest { task: Some("point-a".into()), ..request(vec![0.0; 4]) };
    match client.request_from("beta", &for_a, timeout) {
        Err(BridgeError::Remote { code, message }) => {
            assert_eq!(code, "bad_request");
            assert!(message.contains("serves task point-b, not point-a"), "{message}");
        }
        other => panic!("beta planned for point-a: {other:?}"),
    }
    match of_b.request_from("alpha", &request(vec![0.0; 4]), timeout) {
        Err(BridgeError::WrongTask { expected, got, planner }) => {
            assert_eq!((expected.as_str(), got.as_str(), planner.as_str()), ("point-b", "point-a", "alpha"));
        }
        other => panic!("a plan of point-a was taken for point-b: {other:?}"),
    }
    // No planner of point-c: the error names the tasks that are served.
    let error = client.wait_for_task("point-c", Duration::from_secs(1), &running).expect_err("nobody serves point-c");
    let message = error.to_string();
    assert!(message.contains("no planner serves task point-c"), "{message}");
    assert!(message.contains("served: point-a (alpha); point-b (beta)"), "{message}");

    for (stop, handle) in [alpha, beta] {
        stop.store(true, Ordering::Relaxed);
        handle.join().expect("service thread");
    }
}

#[test]
fn robots_take_only_their_tasks_plans_and_streaming_planners_plan_only_for_their_tasks_robots() {
    let (router, transport) = endpoints();
    let _router = router.open().expect("router");
    let namespace = Namespace::new("linktest/robots").expect("ns");
    let session = transport.open().expect("robot session");
    let mut of_a = RobotLink::new(&session, &namespace, "ra", "point-a", true).expect("robot a");
    let mut of_b = RobotLink::new(&session, &namespace, "rb", "point-b", true).expect("robot b");
    let (stop, planner) = serve(&transport, &namespace, OfTask { planner: "beta", task: "point-b" }, true);
    of_b.wait_for_planner(Duration::from_secs(20), &AtomicBool::new(false)).expect("beta comes");

    let state_of = |robot: &str, task: &str| RobotState {
        robot_id: robot.into(),
        task: Some(task.into()),
        mode: RobotMode::Running,
        ..state()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let plan = loop {
        of_a.publish_state(&state_of("ra", "point-a")).expect("publish");
        of_b.publish_state(&state_of("rb", "point-b")).expect("publish");
        std::thread::sleep(Duration::from_millis(50));
        assert!(of_a.latest_plan().is_none(), "a planner of point-b planned for a robot of point-a");
        if let Some(plan) = of_b.latest_plan() {
            break plan;
        }
        assert!(Instant::now() < deadline, "robot b got no plan");
    };
    assert_eq!(plan.body.task, "point-b");
    // A well-formed plan of point-b on robot a's key is refused and counted, never executed.
    let intruder = transport.open().expect("intruder session");
    let payload = bridge::codec::encode(&Plan { robot_id: Some("ra".into()), ..plan.body }).expect("encodes");
    let deadline = Instant::now() + Duration::from_secs(10);
    // Sent again until it arrives: a session that has just opened may not have its routes yet.
    while !of_a.counters().contains_key("plans_rejected") {
        intruder.put(namespace.plan_stream("beta", "ra"), payload.clone()).wait().expect("put");
        std::thread::sleep(Duration::from_millis(100));
        assert!(of_a.latest_plan().is_none(), "robot a took a plan of point-b");
        assert!(Instant::now() < deadline, "the plan of point-b never reached robot a");
    }
    assert_eq!(of_a.counters().get("plans_received"), None);
    stop.store(true, Ordering::Relaxed);
    planner.join().expect("service thread");
}
