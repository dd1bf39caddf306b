//! A secured network (docs/SECURITY.md): a router with TLS, mutual authentication and the
//! roles' access control, a robot, a planner and an operator proving their roles, and hostile
//! peers. Certificates are made for each run by scripts/lab-certs.sh (the openssl CLI).

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use bridge::codec;
use bridge::message::{Command, CommandKind, Plan};
use bridge::security::{Role, TlsIdentity};
use bridge::zenoh::Wait;
use bridge::{Namespace, RobotLink, Transport, TransportMode};

use crate::codec::{DIGEST, TASK};

/// A fresh lab folder `name` with its certificates.
fn lab(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("diffplan-lab-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/lab-certs.sh");
    let made = Process::new("bash").arg(script).arg(&dir).output().expect("run scripts/lab-certs.sh");
    assert!(made.status.success(), "lab-certs.sh: {}", String::from_utf8_lossy(&made.stderr));
    dir
}

/// A secured router of the lab in `dir` on a free loopback port, with the roles' access control
/// on namespace `secured`: its endpoint and session.
fn secured_router(dir: &Path) -> (String, bridge::zenoh::Session) {
    let port = std::net::UdpSocket::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let endpoint = format!("quic/127.0.0.1:{port}");
    let namespace = Namespace::new("secured").expect("namespace");
    let router = Transport::secured_router(dir, &namespace, vec![endpoint.clone()]).expect("router identity");
    (endpoint, router.open().expect("the secured router"))
}

fn client(dir: &Path, role: Role, endpoint: &str) -> Transport {
    Transport::secured_client(dir, role, vec![endpoint.to_owned()]).expect("identity")
}

/// A plan for `robot` by `planner`.
fn plan(planner: &str, robot: &str) -> Vec<u8> {
    let states = vec![vec![1.0, 1.0, 0.0, 0.0]; 4];
    let plan =
        Plan::bare((format!("{planner}-1"), planner.into(), TASK.into()), (0, 0), 0.01, states, vec![vec![0.0; 2]; 4]);
    codec::encode(&Plan { robot_id: Some(robot.into()), checkpoint_digest: DIGEST.into(), ..plan }).expect("plan")
}

fn command(robot: &str, kind: CommandKind) -> Vec<u8> {
    codec::encode(&Command { robot_id: robot.into(), command: kind }).expect("command")
}

/// Polls `look` for up to `wait`.
fn within<T>(wait: Duration, mut look: impl FnMut() -> Option<T>) -> Option<T> {
    let began = Instant::now();
    loop {
        if let Some(found) = look() {
            return Some(found);
        }
        if began.elapsed() > wait {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn only_a_planner_identity_reaches_a_robot_with_plans_and_only_an_operator_with_commands() {
    let dir = lab("roles");
    let (endpoint, _router) = secured_router(&dir);
    let namespace = Namespace::new("secured").expect("namespace");
    let robot_session = client(&dir, Role::Robot, &endpoint).open().expect("robot");
    let mut robot = RobotLink::new(&robot_session, &namespace, "robot-0", TASK, false).expect("robot link");
    let planner = client(&dir, Role::Planner, &endpoint).open().expect("planner");
    let operator = client(&dir, Role::Operator, &endpoint).open().expect("operator");
    // A compromised robot identity tries to act as planner and as operator.
    let impostor = client(&dir, Role::Robot, &endpoint).open().expect("a second robot identity");
    std::thread::sleep(Duration::from_millis(500));

    let plan_key = |planner: &str| namespace.plan_stream(planner, "robot-0");
    let command_key = namespace.robot_command("robot-0");
    for _ in 0..10 {
        impostor.put(plan_key("evil"), plan("evil", "robot-0")).wait().expect("put");
        impostor.put(&command_key, command("robot-0", CommandKind::Shutdown)).wait().expect("put");
        std::thread::sleep(Duration::from_millis(30));
    }
    assert!(within(Duration::from_millis(500), || robot.latest_plan()).is_none(), "a plan from a robot identity");
    assert!(robot.commands().is_empty(), "a command from a robot identity");
    // The planner and the operator get through.
    let adopted = within(Duration::from_secs(5), || {
        planner.put(plan_key("planner-a"), plan("planner-a", "robot-0")).wait().expect("put");
        robot.latest_plan()
    })
    .expect("the planner's plan arrives");
    assert_eq!(adopted.body.planner_id, "planner-a");
    let commands = within(Duration::from_secs(5), || {
        operator.put(&command_key, command("robot-0", CommandKind::Hold)).wait().expect("put");
        Some(robot.commands()).filter(|c| !c.is_empty())
    })
    .expect("the operator's command arrives");
    assert!(commands.iter().all(|c| c.command == CommandKind::Hold), "{commands:?}");
    // A robot identity cannot serve plan queries: a robot asking gets no reply from it.
    let _fake = impostor
        .declare_queryable(namespace.shared_service())
        .callback(|query| {
            let _ = query.reply(query.key_expr().clone(), b"forged".to_vec()).wait();
        })
        .wait()
        .expect("the declaration itself is local");
    std::thread::sleep(Duration::from_millis(300));
    let replies = robot_session.get(namespace.shared_service()).timeout(Duration::from_secs(1)).wait().expect("get");
    assert!(replies.recv().is_err(), "a robot identity answered a plan query");
}

#[test]
fn peers_without_a_certificate_of_the_lab_cannot_join() {
    let (dir, other) = (lab("ours"), lab("theirs"));
    let (endpoint, _router) = secured_router(&dir);
    assert!(client(&dir, Role::Robot, &endpoint).open().is_ok(), "a certificate of the lab joins");
    // A certificate of another lab: the TLS handshake fails, so the client has no router.
    assert!(client(&other, Role::Planner, &endpoint).open().is_err(), "another lab's planner joined");
    // No certificate at all, over QUIC to the router's port.
    let anonymous = Transport { mode: TransportMode::Client, ..Transport::peer(Vec::new(), vec![endpoint.clone()]) };
    assert!(anonymous.open().is_err(), "a client without a certificate joined");
    let error = TlsIdentity::from_lab(Path::new("/nonexistent-lab"), Role::Robot).unwrap_err();
    assert!(error.to_string().contains("scripts/lab-certs.sh"), "{error}");
}
