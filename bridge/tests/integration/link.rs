//! The bridge over real Zenoh sessions on loopback, with a scripted planner as test double (the
//! real planner is exercised end to end in the application's tests/app/network.rs): queries,
//! streaming, and garbage on every input.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bridge::message::{ErrorCode, ErrorReply, Plan, PlanRequest, RobotMode, RobotState};
use bridge::zenoh::Wait;
use bridge::{BridgeError, Namespace, PlanClient, PlanHandler, PlannerService, RobotLink, Transport};

use crate::codec::{DIGEST, TASK, card};

/// Plans a straight line from the observation to the goal for task [`TASK`]; refuses a 3-value
/// observation.
pub(crate) struct StraightLine;

impl StraightLine {
    fn line(observation: &[f32], goal: &[f32]) -> Plan {
        let states: Vec<Vec<f32>> =
            (0..8).map(|k| observation.iter().zip(goal).map(|(o, g)| o + (g - o) * k as f32 / 7.0).collect()).collect();
        let actions = states.iter().map(|s| vec![s[0], s[1]]).collect();
        let ids = (format!("line-{}", observation[0]), "scripted".into(), TASK.into());
        Plan { checkpoint_digest: DIGEST.into(), ..Plan::bare(ids, (0, 0), 0.01, states, actions) }
    }
}

impl PlanHandler for StraightLine {
    fn plan(&mut self, request: &PlanRequest) -> Result<Plan, ErrorReply> {
        if request.observation.len() != 4 {
            return Err(ErrorReply {
                request_id: None,
                code: ErrorCode::BadRequest,
                message: format!("observation has {} values, expected 4", request.observation.len()),
            });
        }
        Ok(Self::line(&request.observation, request.goal.as_deref().unwrap_or(&[0.0; 4])))
    }

    fn plan_for_state(&mut self, state: &RobotState) -> Result<Plan, ErrorReply> {
        let mut plan = Self::line(&state.observation, state.goal.as_deref().unwrap_or(&[0.0; 4]));
        plan.episode = state.episode;
        plan.from_step = state.step;
        Ok(plan)
    }
}

/// A loopback TCP port free now, below Linux's ephemeral range (32768–60999): a port the
/// system hands out (to a Zenoh peer's own listener, say) could be taken between choosing it
/// and a router binding it later in the test.
pub(crate) fn free_port() -> u16 {
    use std::sync::atomic::AtomicU16;
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let start = (std::process::id() % 12_000) as u16;
    loop {
        let port = 20_000 + (start + NEXT.fetch_add(1, Ordering::Relaxed) * 7) % 12_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A router transport on a free loopback port, and a peer transport joining it.
pub(crate) fn endpoints() -> (Transport, Transport) {
    let port = free_port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    (Transport::router(vec![endpoint.clone()]), Transport::peer(Vec::new(), vec![endpoint]))
}

/// A router on a free loopback port and a peer transport joining it.
fn network() -> (bridge::zenoh::Session, Transport) {
    let (router, peer) = endpoints();
    (router.open().expect("router"), peer)
}

/// Runs a scripted planner service in a thread until the returned flag is set.
fn serve(
    transport: &Transport,
    namespace: &Namespace,
    stream: bool,
) -> (Arc<AtomicBool>, std::thread::JoinHandle<bridge::ServiceReport>) {
    let session = transport.open().expect("planner session");
    let mut service = PlannerService::new(&session, namespace.clone(), card("scripted", TASK)).expect("service");
    service.stream = stream;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let handle = std::thread::spawn(move || service.run(&mut StraightLine, &flag).expect("service runs"));
    (stop, handle)
}

fn wait_for_worker(client: &PlanClient) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.workers(Duration::from_millis(500)).expect("liveliness").is_empty() {
        assert!(Instant::now() < deadline, "the planner never came alive");
    }
}

pub(crate) fn request(observation: Vec<f32>) -> PlanRequest {
    PlanRequest {
        request_id: "t-1".into(),
        robot_id: None,
        task: None,
        episode: 0,
        from_step: 0,
        observation,
        goal: Some(vec![1.0, 1.0, 0.0, 0.0]),
        goal_tool_point: None,
        arrival: None,
        waypoints: Vec::new(),
        obstacles: Vec::new(),
        sampler: None,
        seed: 0,
        batch_size: None,
        deadline_ms: None,
    }
}

#[test]
fn queries_are_answered_refused_or_rejected_with_a_code() {
    let (_router, transport) = network();
    let namespace = Namespace::new("linktest/query").expect("ns");
    let (stop, service) = serve(&transport, &namespace, false);
    let session = transport.open().expect("client session");
    let client = PlanClient::new(&session, namespace.clone());
    wait_for_worker(&client);
    assert_eq!(client.workers(Duration::from_secs(1)).expect("workers"), vec!["scripted".to_string()]);
    let timeout = Duration::from_secs(10);

    let plan = client.request(&request(vec![0.0, 0.0, 0.0, 0.0]), timeout).expect("a plan");
    assert_eq!(plan.body.request_id.as_deref(), Some("t-1"), "the request id is echoed");
    assert_eq!(plan.body.states.last().expect("states"), &vec![1.0, 1.0, 0.0, 0.0]);
    let same = client.request_from("scripted", &request(vec![0.0, 0.0, 0.0, 0.0]), timeout).expect("by id");
    assert_eq!(same.body.states, plan.body.states);

    match client.request(&request(vec![0.0; 3]), timeout) {
        Err(BridgeError::Remote { code, message }) => {
            assert_eq!(code, "bad_request");
            assert!(message.contains("expected 4"), "{message}");
        }
        other => panic!("a 3-value observation was not refused: {other:?}"),
    }
    // Garbage and a future protocol version, sent raw.
    let raw = |payload: Vec<u8>| -> ErrorReply {
        let replies = session.get(namespace.shared_service()).payload(payload).timeout(timeout).wait().expect("get");
        let reply = replies.recv().expect("one reply");
        let error = reply.into_result().expect_err("an error reply");
        bridge::codec::decode::<ErrorReply>(&error.payload().to_bytes(), 1 << 20).expect("a decodable Error").body
    };
    assert_eq!(raw(b"\xff\x00 not json".to_vec()).code, ErrorCode::BadRequest);
    let future = String::from_utf8(bridge::codec::encode(&request(vec![0.0; 4])).expect("encodes"))
        .expect("utf-8")
        .replacen("\"v\":2", "\"v\":9", 1);
    let refused = raw(future.into_bytes());
    assert_eq!(refused.code, ErrorCode::UnsupportedVersion);
    assert!(refused.message.contains("version 9"), "{}", refused.message);

    stop.store(true, Ordering::Relaxed);
    let report = service.join().expect("service thread");
    assert_eq!((report.plans_served, report.errors_sent, report.payloads_rejected), (2, 3, 2));
}

/// [`StraightLine`], taking 300 ms over each query.
struct Slow;

impl PlanHandler for Slow {
    fn plan(&mut self, request: &PlanRequest) -> Result<Plan, ErrorReply> {
        std::thread::sleep(Duration::from_millis(300));
        StraightLine.plan(request)
    }

    fn plan_for_state(&mut self, state: &RobotState) -> Result<Plan, ErrorReply> {
        StraightLine.plan_for_state(state)
    }
}

/// A worker with a queue of one, asked six times at once while it takes 300 ms a plan: some
/// queries are answered `busy`, each naming its own request, and every other one gets its plan.
#[test]
fn a_full_queue_answers_busy_with_the_request_id() {
    let (_router, transport) = network();
    let namespace = Namespace::new("linktest/busy").expect("ns");
    let session = transport.open().expect("planner session");
    let mut service = PlannerService::new(&session, namespace.clone(), card("slow", TASK)).expect("service");
    service.queue = 1;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let worker = std::thread::spawn(move || service.run(&mut Slow, &flag).expect("service runs"));
    let client_session = transport.open().expect("client session");
    wait_for_worker(&PlanClient::new(&client_session, namespace.clone()));
    let pending: Vec<_> = (0..6)
        .map(|i| {
            let body = PlanRequest { request_id: format!("busy-{i}"), ..request(vec![i as f32, 0.0, 0.0, 0.0]) };
            let payload = bridge::codec::encode(&body).expect("encodes");
            let replies = client_session
                .get(namespace.shared_service())
                .payload(payload)
                .timeout(Duration::from_secs(20))
                .wait()
                .expect("get");
            (format!("busy-{i}"), replies)
        })
        .collect();
    let mut busy = 0;
    for (id, replies) in pending {
        match replies.recv().expect("one reply").into_result() {
            Ok(sample) => {
                let plan = bridge::codec::decode::<Plan>(&sample.payload().to_bytes(), 1 << 20).expect("a plan");
                assert_eq!(plan.body.request_id.as_deref(), Some(id.as_str()));
            }
            Err(error) => {
                let error =
                    bridge::codec::decode::<ErrorReply>(&error.payload().to_bytes(), 1 << 20).expect("an error");
                assert_eq!(error.body.code, ErrorCode::Busy, "{:?}", error.body);
                assert_eq!(error.body.request_id.as_deref(), Some(id.as_str()), "the refused request is named");
                busy += 1;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    worker.join().expect("service thread");
    assert!((1..6).contains(&busy), "{busy} of 6 queries were refused busy");
}

#[test]
fn a_streaming_planner_answers_robot_states_and_the_robot_rejects_garbage_plans() {
    let (_router, transport) = network();
    let namespace = Namespace::new("linktest/stream").expect("ns");
    let robot_session = transport.open().expect("robot session");
    let mut link = RobotLink::new(&robot_session, &namespace, "r1", TASK, true).expect("link");
    // Garbage on the robot's plan key is counted and skipped, never a plan.
    let intruder = transport.open().expect("intruder session");
    let garbage_key = namespace.plan_stream("intruder", "r1");
    std::thread::sleep(Duration::from_millis(500));
    intruder.put(&garbage_key, b"{\"v\":1,\"type\":\"Plan\",\"stamp_ns\":0,\"body\":{}}".to_vec()).wait().expect("put");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !link.counters().contains_key("plans_rejected") {
        assert!(link.latest_plan().is_none(), "garbage became a plan");
        assert!(Instant::now() < deadline, "the garbage plan never arrived");
        std::thread::sleep(Duration::from_millis(20));
    }

    let (stop, service) = serve(&transport, &namespace, true);
    wait_for_worker(&PlanClient::new(&robot_session, namespace.clone()));
    let state = RobotState {
        robot_id: "r1".into(),
        task: Some(TASK.into()),
        episode: 4,
        step: 17,
        time_s: 0.17,
        observation: vec![0.5, 0.5, 0.0, 0.0],
        goal: Some(vec![2.0, 1.0, 0.0, 0.0]),
        goal_tool_point: None,
        joint_names: None,
        obstacles: Vec::new(),
        mode: RobotMode::Running,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let plan = loop {
        link.publish_state(&state).expect("publish");
        std::thread::sleep(Duration::from_millis(50));
        if let Some(plan) = link.latest_plan() {
            break plan;
        }
        assert!(Instant::now() < deadline, "no streamed plan arrived");
    };
    assert_eq!((plan.body.episode, plan.body.from_step), (4, 17), "the plan names the state it was made from");
    // A state published on r1's key in the name of robot r2 is rejected: no plan for r2.
    let mut r2 = RobotLink::new(&robot_session, &namespace, "r2", TASK, true).expect("r2's link");
    let forged = RobotState { robot_id: "r2".into(), step: 18, ..state.clone() };
    for _ in 0..10 {
        intruder.put(namespace.robot_state("r1"), bridge::codec::encode(&forged).expect("state")).wait().expect("put");
        std::thread::sleep(Duration::from_millis(30));
    }
    assert!(r2.latest_plan().is_none(), "the planner planned for a robot id taken from the body");
    assert_eq!(plan.body.robot_id.as_deref(), Some("r1"));
    assert_eq!(plan.body.states[0], state.observation);
    stop.store(true, Ordering::Relaxed);
    let report = service.join().expect("service thread");
    assert!(report.payloads_rejected >= 10, "{report:?}: the forged states are counted as rejected");
    link.publish_status(bridge::message::NodeStatus::Ok, None, 17).expect("status");
    // The counters behind the status: one rejected plan, at least one received.
    let mut counters = link.counters().clone();
    assert_eq!(counters.remove("plans_rejected"), Some(1));
    assert!(counters.remove("plans_received").is_some_and(|n| n >= 1));
}

/// A second planner with the id of one alive refuses to start, naming the id; so does a second
/// robot; once the first planner stops, its id is free again.
#[test]
fn a_second_node_with_a_live_id_refuses_to_start() {
    let (_router, transport) = network();
    let namespace = Namespace::new("linktest/unique").expect("ns");
    let (stop, first) = serve(&transport, &namespace, false);
    let session = transport.open().expect("session");
    wait_for_worker(&PlanClient::new(&session, namespace.clone()));

    let twin = PlannerService::new(&session, namespace.clone(), card("scripted", TASK)).expect("service");
    let started = Instant::now();
    let refused = twin.run(&mut StraightLine, &AtomicBool::new(false)).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("planner scripted is already alive") && refused.contains("--id"), "{refused}");
    // It waited out a possibly stale token first.
    assert!(started.elapsed() >= Duration::from_secs(12), "refused after {:?}", started.elapsed());

    let robot = RobotLink::new(&session, &namespace, "twin", TASK, true).expect("the first robot");
    let other = transport.open().expect("another session");
    // A session that has just opened may not see tokens yet (the documented limit): wait until
    // it does, as a robot started after the first one would.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !other
        .liveliness()
        .get(namespace.robot_token("twin"))
        .timeout(Duration::from_millis(300))
        .wait()
        .map(|replies| std::iter::from_fn(|| replies.recv().ok()).any(|r| r.into_result().is_ok()))
        .expect("liveliness query")
    {
        assert!(Instant::now() < deadline, "the second session never saw the first robot");
    }
    let refused =
        RobotLink::new(&other, &namespace, "twin", TASK, true).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("robot twin is already alive"), "{refused}");
    drop(robot);

    stop.store(true, Ordering::Relaxed);
    first.join().expect("service thread");
    let (stop, again) = serve(&transport, &namespace, false);
    wait_for_worker(&PlanClient::new(&session, namespace.clone()));
    stop.store(true, Ordering::Relaxed);
    again.join().expect("the id is free again once its planner stopped");
}
