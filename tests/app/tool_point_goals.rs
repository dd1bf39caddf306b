//! Goals in an arm's own terms over Zenoh: plan requests and robot states that say where the tool
//! point must go, against `diffplan serve --stream` of the reach task (the real planner, its
//! constraints, loopback Zenoh).

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use bridge::message::{Obstacle, Plan, PlanRequest, RobotMode, RobotState, ToolPointGoal};
use bridge::{BridgeError, Namespace, PlanClient, RobotLink, Transport};
use sim::panda::{READY, franka_panda};

use crate::common::{ROOT, Reaper, endpoint, streaming_planner};

/// A request from the ready pose at rest to `goal`, with one ball behind the arm.
fn request(id: &str, goal: ToolPointGoal) -> PlanRequest {
    let observation: Vec<f32> = READY.iter().map(|q| *q as f32).chain([0.0; 7]).collect();
    let mut request: PlanRequest =
        serde_json::from_value(serde_json::json!({"request_id": id, "observation": observation})).expect("a request");
    request.goal_tool_point = Some(goal);
    request.obstacles = vec![Obstacle::Sphere { center: [-0.4, -0.4, 0.3], radius: 0.05 }];
    request
}

/// How far the plan's last row puts the tool point from `position` (the simulator's forward
/// kinematics), and whether it points down and is at rest there.
fn end_of(plan: &Plan, position: [f64; 3]) -> (f64, bool, bool) {
    let last = plan.states.last().expect("rows");
    let q: Vec<f64> = last[..7].iter().map(|v| f64::from(*v)).collect();
    let tool = franka_panda().tool_frame(&q);
    let gap = (0..3).map(|i| (tool.translation[i] - position[i]).powi(2)).sum::<f64>().sqrt();
    (gap, tool.rotation[2][2] < -0.99, last[7..].iter().all(|v| v.abs() < 1e-4))
}

/// Reference: the simulator's forward kinematics (checked against MuJoCo in `sim`'s tests) of
/// the plan's last row, which must put the tool point within the inverse kinematics' 1 mm of
/// the asked point (plus float32 rounding), pointing down, at rest.
#[test]
fn tool_point_goals_are_planned_to_by_request_and_by_state_and_an_unreachable_one_is_refused() {
    let endpoint = endpoint();
    let task = Path::new(ROOT).join("configs/tasks/panda-reach-obstacles.toml");
    let mut planner = streaming_planner(&task, "armgoal", &["--listen", &endpoint]);
    let mut reaper = Reaper::default();
    reaper.watch(&planner);
    let session = Transport::peer(Vec::new(), vec![endpoint]).open().expect("a session");
    let client = PlanClient::new(&session, Namespace::new("armgoal").expect("a namespace")).for_task("panda-reach");
    client.wait_for_task("panda-reach", Duration::from_mins(1), &AtomicBool::new(false)).expect("the planner comes");

    let position = [0.5, 0.2, 0.3];
    let goal = ToolPointGoal { position, pointing_down: true };
    let plan = client.request(&request("reachable", goal), Duration::from_mins(2)).expect("a plan").body;
    let (gap, down, at_rest) = end_of(&plan, position);
    assert!(gap < 1e-3 + 1e-5 && down && at_rest, "requested: {gap} m from the point, down {down}, at rest {at_rest}");

    // A robot streaming its state with the same goal as a tool point gets a plan that ends there.
    let namespace = Namespace::new("armgoal").expect("a namespace");
    let mut robot = RobotLink::new(&session, &namespace, "arm-0", "panda-reach", true).expect("a robot link");
    let asked = request("state", goal);
    let state = RobotState {
        robot_id: "arm-0".into(),
        task: None,
        episode: 1,
        step: 0,
        time_s: 0.0,
        observation: asked.observation.clone(),
        goal: None,
        goal_tool_point: Some(goal),
        joint_names: None,
        obstacles: asked.obstacles.clone(),
        mode: RobotMode::Running,
    };
    let deadline = Instant::now() + Duration::from_mins(2);
    let streamed = loop {
        robot.publish_state(&state).expect("publish");
        std::thread::sleep(Duration::from_millis(100));
        if let Some(plan) = robot.latest_plan() {
            break plan.body;
        }
        assert!(Instant::now() < deadline, "no plan streamed for a tool-point goal");
    };
    let (gap, down, at_rest) = end_of(&streamed, position);
    assert!(gap < 1e-3 + 1e-5 && down && at_rest, "streamed: {gap} m from the point, down {down}, at rest {at_rest}");

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
