//! ROS 2 over rmw_zenoh end to end: the planner's gateway against a ROS 2 robot written with
//! independent tools (tests/python/ros2_robot.py: `rosbags` for CDR and type hashes,
//! `eclipse-zenoh` for keys, attachments and graph tokens), and the simulator as a ROS 2 robot
//! in a launch.

use std::process::{Command, Stdio};

use crate::common::{Reaper, diffplan, endpoint, fast_task, python};

#[test]
fn a_ros2_robot_written_with_rosbags_is_driven_by_trajectories_that_carry_diffplans_plans() {
    let dir = tempfile::tempdir().expect("tempdir");
    let task = fast_task(dir.path(), 10);
    let endpoint = endpoint();
    let log_path = dir.path().join("planner.log");
    let mut planner = diffplan()
        .args(["serve", "--ros2", "--id", "planner-ros2", "--listen", &endpoint, "--namespace", "ros2test"])
        .arg("--config")
        .arg(&task)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("log file"))
        .spawn()
        .expect("start the planner");
    let mut reaper = Reaper::default();
    reaper.watch(&planner);
    let output = python(&["tests/python/ros2_robot.py", &endpoint, "ros2test"]);
    // Still serving after the garbage and the states: it is alive to be stopped.
    assert!(planner.try_wait().expect("poll").is_none(), "the planner exited");
    Command::new("kill").args(["-INT", &planner.id().to_string()]).status().expect("interrupt the planner");
    let status = planner.wait().expect("reap the planner");
    let log = std::fs::read_to_string(&log_path).expect("planner log");
    assert!(output.status.success(), "ROS 2 robot: {}\nplanner log:\n{log}", String::from_utf8_lossy(&output.stderr));
    assert!(status.success(), "the planner stopped with {status}\n{log}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(report["tokens"], 3, "the node, its publisher and its subscription");
    assert_eq!(report["first_sequence"], 1);
    // 40 states, replanning every 10 steps: the first plan and at least two replans.
    assert!(report["trajectories"].as_u64().expect("count") >= 3, "{report}");
    assert!(report["compared_points"].as_u64().expect("count") >= 3 * 100, "{report}");
    // The garbage was refused by name, and counted, without stopping anything.
    for refusal in ["no attachment", "32 bytes, not 33", "JointState", "needs every joint's velocity"] {
        assert!(log.contains(refusal), "no refusal naming {refusal:?} in the planner's log:\n{log}");
    }
    assert!(log.contains("ROS 2 gateway: 40 joint states relayed, 1 refused, 3 malformed samples rejected"), "{log}");
}

#[test]
fn the_simulator_as_a_ros2_robot_reaches_the_goal_through_the_gateway_in_a_launch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let task = fast_task(dir.path(), 10);
    let launch = dir.path().join("launch.toml");
    let text = format!(
        "[network]\nendpoint = \"auto\"\nnamespace = \"ros2launch\"\n\n[planner]\nconfig = \"{task}\"\n\n\
         [robot]\nconfig = \"{task}\"\nmode = \"realtime\"\nepisodes = 2\nspeed = 0.5\n\n[ros2]\ndomain = 3\n",
        task = task.display()
    );
    std::fs::write(&launch, text).expect("write launch");
    let output = diffplan().arg("launch").arg(&launch).args(["--rerun", "off"]).output().expect("run the launch");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let row: Vec<&str> = stdout.lines().last().expect("a table row").split('|').map(str::trim).collect();
    assert_eq!(row[4], "2", "{stdout}");
    assert_ne!(row[6], "0/2", "no episode reached the goal:\n{stdout}\n{stderr}");
    assert!(
        stderr.contains("ROS 2 gateway: JointState from 3/joint_states/sensor_msgs::msg::dds_::JointState_/"),
        "{stderr}"
    );
    assert!(stderr.contains(" 0 refused, 0 malformed samples rejected"), "{stderr}");
    assert!(!stderr.contains("ignored a JointTrajectory"), "{stderr}");
}
