//! An expert's recorded stream in D4RL's layout, shared by the tasks whose observations are
//! positions followed by as many velocities (Maze2D's x, y, vx, vy; the Panda's angles and
//! speeds).

use planner::train::d4rl::{D4rlDataset, Table};
use sim::Collected;

/// `stream` as a D4RL dataset: its columns, no `terminals`, and under `infos/` the goals and
/// the `qpos` and `qvel` halves of the observations that D4RL's files repeat.
#[must_use]
pub fn d4rl_stream(stream: Collected, positions: usize, action_width: usize, goal_width: usize) -> D4rlDataset {
    let width = 2 * positions;
    let half = |offset: usize| Table {
        values: stream.observations.chunks(width).flat_map(|o| o[offset..offset + positions].to_vec()).collect(),
        width: positions,
    };
    let (qpos, qvel) = (half(0), half(positions));
    D4rlDataset {
        terminals: vec![false; stream.rewards.len()],
        observations: Table { values: stream.observations, width },
        actions: Table { values: stream.actions, width: action_width },
        rewards: stream.rewards,
        timeouts: stream.timeouts,
        infos: vec![
            ("goal".into(), Table { values: stream.goals, width: goal_width }),
            ("qpos".into(), qpos),
            ("qvel".into(), qvel),
        ],
    }
}
