//! An expert's recorded stream in D4RL's layout, shared by the tasks whose observations start
//! with positions followed by as many velocities (Maze2D's x, y, vx, vy; the Panda's angles and
//! speeds, then the pick-and-place cube's position).

use planner::train::d4rl::{D4rlDataset, Table};
use sim::Collected;

/// `stream` (observations of `width` values) as a D4RL dataset: its columns, no `terminals`, and
/// under `infos/` the goals and the `qpos` and `qvel` parts of the observations (their first
/// `positions` values and the as many after them) that D4RL's files repeat.
#[must_use]
pub fn d4rl_stream(
    stream: Collected,
    positions: usize,
    width: usize,
    action_width: usize,
    goal_width: usize,
) -> D4rlDataset {
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
