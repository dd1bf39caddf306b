//! Goals in an arm's own terms over Zenoh: plan requests that say where the tool point must go,
//! against `diffplan serve` of the reach task (the real planner, its constraints, loopback Zenoh).

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use bridge::message::{Obstacle, PlanRequest, ToolPointGoal};
use bridge::{BridgeError, Namespace, PlanClient, Transport};
use sim::panda::{READY, franka_panda};

use crate::common::{ROOT, Reaper, diffplan, endpoint};

/// A request from the ready pose at rest to `goal`, with one ball behind the arm.
fn request(id: &str, goal: ToolPointGoal) -> PlanRequest {
    let observation: Vec<f32> = READY.iter().map(|q| *q as f32).chain([0.0; 7]).collect();
    let mut request: PlanRequest =
        serde_json::from_value(serde_json::json!({"request_id": id, "observation": observation})).expect("a request");
    request.goal_tool_point = Some(goal);
    request.obstacles = vec![Obstacle::Sphere { center: [-0.4, -0.4, 0.3], radius: 0.05 }];
    request
}

/// Reference: the simulator's forward kinematics (checked against MuJoCo in `sim`'s tests) of
/// the plan's last row, which must put the tool point within the inverse kinematics' 1 mm of
/// the asked point (plus float32 rounding), pointing down, at rest.
#[test]
fn a_tool_point_goal_is_planned_to_and_an_unreachable_one_is_refused_naming_the_field() {
    let endpoint = endpoint();
    let task = Path::new(ROOT).join("configs/tasks/panda-reach-obstacles.toml");
    let mut planner = diffplan()
        .args(["serve", "--id", "planner-arm", "--listen", &endpoint, "--namespace", "armgoal"])
        .arg("--config")
        .arg(&task)
        .env("OMP_NUM_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the planner");
    let mut reaper = Reaper::default();
    reaper.watch(&planner);
    let session = Transport::peer(Vec::new(), vec![endpoint]).open().expect("a session");
    let client = PlanClient::new(&session, Namespace::new("armgoal").expect("a namespace")).for_task("panda-reach");
    client.wait_for_task("panda-reach", Duration::from_mins(1), &AtomicBool::new(false)).expect("the planner comes");

    let position = [0.5, 0.2, 0.3];
    let goal = ToolPointGoal { position, pointing_down: true };
    let plan = client.request(&request("reachable", goal), Duration::from_mins(2)).expect("a plan").body;
    let last = plan.states.last().expect("rows");
    let q: Vec<f64> = last[..7].iter().map(|v| f64::from(*v)).collect();
    let tool = franka_panda().tool_frame(&q);
    let gap = (0..3).map(|i| (tool.translation[i] - position[i]).powi(2)).sum::<f64>().sqrt();
    assert!(gap < 1e-3 + 1e-5, "the plan ends {gap} m from the asked point");
    assert!(tool.rotation[2][2] < -0.99, "the tool points down: {:?}", tool.rotation);
    assert!(last[7..].iter().all(|v| v.abs() < 1e-4), "at rest: {last:?}");

    let far = ToolPointGoal { position: [1.5, 0.0, 0.5], pointing_down: false };
    match client.request(&request("far", far), Duration::from_mins(1)) {
        Err(BridgeError::Remote { code, message }) => {
            assert_eq!(code, "bad_request");
            assert!(
                message.contains("plan_request.goal_tool_point") && message.contains("out of the arm's reach"),
                "{message}"
            );
        }
        other => panic!("an unreachable goal: {other:?}"),
    }
    planner.kill().expect("stop the planner");
    planner.wait().expect("reap the planner");
}
