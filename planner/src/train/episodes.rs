//! From a D4RL stream to training windows: episode boundaries, Diffuser's Maze2D re-cut at the
//! goal (`maze2d_set_terminals`), and windows of H steps (`SequenceDataset`, no padding).

use std::ops::Range;

use super::d4rl::D4rlDataset;

/// Distance from the goal within which a Maze2D state counts as at the goal, metres
/// (Diffuser's `maze2d_set_terminals`).
pub const MAZE2D_GOAL_RADIUS: f32 = 0.5;

/// The episodes of `dataset`: a new one starts after every step with `terminals` or `timeouts`
/// set; the last one runs to the end.
#[must_use]
pub fn episodes(dataset: &D4rlDataset) -> Vec<Range<usize>> {
    let mut episodes = Vec::new();
    let mut start = 0;
    for i in 0..dataset.len() {
        if dataset.terminals[i] || dataset.timeouts[i] {
            episodes.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < dataset.len() {
        episodes.push(start..dataset.len());
    }
    episodes
}

/// Diffuser's `maze2d_set_terminals`: replaces `timeouts` so that an episode ends at the last
/// step inside the goal region before the agent leaves it: `timeouts[t] = at_goal[t] ∧
/// ¬at_goal[t + 1]`, with at_goal = ‖(x, y) − goal‖ < 0.5.
pub fn recut_at_goal(dataset: &mut D4rlDataset, goal: [f32; 2]) {
    let at_goal: Vec<bool> = (0..dataset.len())
        .map(|i| {
            let o = dataset.observations.row(i);
            (o[0] - goal[0]).hypot(o[1] - goal[1]) < MAZE2D_GOAL_RADIUS
        })
        .collect();
    dataset.timeouts = (0..dataset.len()).map(|t| t + 1 < at_goal.len() && at_goal[t] && !at_goal[t + 1]).collect();
}

/// Start indices of every window of `horizon` steps that fits inside an episode: s in
/// `start .. end − horizon` (Diffuser's `make_indices` without padding; an episode of H steps
/// or fewer gives none).
#[must_use]
pub fn window_starts(episodes: &[Range<usize>], horizon: usize) -> Vec<usize> {
    episodes.iter().filter(|e| e.len() > horizon).flat_map(|e| e.start..e.end - horizon).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::d4rl::Table;

    fn stream(xs: &[f32], terminals: &[usize], timeouts: &[usize]) -> D4rlDataset {
        let n = xs.len();
        D4rlDataset {
            observations: Table { values: xs.iter().flat_map(|&x| [x, 0.0, 0.0, 0.0]).collect(), width: 4 },
            actions: Table { values: vec![0.0; 2 * n], width: 2 },
            rewards: vec![0.0; n],
            terminals: (0..n).map(|i| terminals.contains(&i)).collect(),
            timeouts: (0..n).map(|i| timeouts.contains(&i)).collect(),
            infos: Vec::new(),
        }
    }

    #[test]
    fn episodes_end_after_terminals_and_timeouts() {
        let dataset = stream(&[0.0; 10], &[2], &[6]);
        assert_eq!(episodes(&dataset), vec![0..3, 3..7, 7..10]);
    }

    #[test]
    fn recut_ends_episodes_where_the_agent_leaves_the_goal() {
        // Reference: Diffuser's maze2d_set_terminals on x = 3, 2, 0.2, 0.1, 2, 0.3, 3 with the
        // goal at the origin: at_goal = F F T T F T F → timeouts at 3 and 5.
        let mut dataset = stream(&[3.0, 2.0, 0.2, 0.1, 2.0, 0.3, 3.0], &[], &[0, 1]);
        recut_at_goal(&mut dataset, [0.0, 0.0]);
        assert_eq!(dataset.timeouts, vec![false, false, false, true, false, true, false]);
    }

    #[test]
    fn windows_fit_inside_episodes() {
        // Episodes of 5, 3 and 6 steps, H = 3: starts 0..2 and 8..11 (the 3-step one has none).
        assert_eq!(window_starts(&[0..5, 5..8, 8..14], 3), vec![0, 1, 8, 9, 10]);
    }
}
