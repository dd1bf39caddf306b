//! The maze cells a task's obstacles cover. A plan cannot leave from inside a keep-out region,
//! so resets never start the robot, or put a random goal, in such a cell; constrained and
//! unconstrained runs of a task therefore play the same episodes.

use planner::constraints::ConstraintConfig;
use sim::maze2d::{Layout, POSITION_JITTER};

/// Points per axis sampled over the square a reset may place the ball in (centre ± jitter).
const SAMPLES_PER_AXIS: u32 = 9;

/// The open cells of `layout` where some reset position (x, y) at rest lies inside one of the
/// `constraints`' obstacles (its barrier below the margin), in the layout's order.
#[must_use]
pub fn covered_cells(layout: Layout, constraints: Option<&ConstraintConfig>) -> Vec<(i64, i64)> {
    let Some(constraints) = constraints.filter(|c| !c.obstacle.is_empty()) else {
        return Vec::new();
    };
    let jitter = f64::from(POSITION_JITTER);
    let offsets: Vec<f64> = (0..SAMPLES_PER_AXIS)
        .map(|k| -jitter + 2.0 * jitter * f64::from(k) / f64::from(SAMPLES_PER_AXIS - 1))
        .collect();
    let covered = |(i, j): (i64, i64)| {
        offsets.iter().any(|dx| {
            offsets.iter().any(|dy| {
                let observation = [i as f64 + dx, j as f64 + dy, 0.0, 0.0];
                constraints.obstacle.iter().any(|o| o.barrier(&observation) < constraints.margin)
            })
        })
    };
    layout.open_cells().into_iter().filter(|&cell| covered(cell)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obstacles(toml: &str) -> ConstraintConfig {
        toml::from_str(toml).unwrap()
    }

    /// Oracle: SafeDiffuser's Maze2D-large obstacles (algorithms.md §3.2) against D4RL's large
    /// grid, by hand. The circle (4.5, 5.3), r = 1, holds the centres of (4, 6) and (5, 6)
    /// (distance 0.86); the power-4 superellipse (1.5, 4.8), half-width 1, those of (1, 4) and
    /// (2, 4) (0.5⁴ + 0.8⁴ = 0.47 < 1). The nearest other reset squares stay outside: (5, 4)
    /// at distance 1.26 from the circle, (3, 4) at 1.4⁴ = 3.8 for the superellipse.
    #[test]
    fn safediffusers_large_obstacles_cover_four_cells() {
        let config = obstacles(
            "[[obstacle]]\ndims = [0, 1]\ncenter = [4.5, 5.3]\nradii = [1.0, 1.0]\npower = 2\n\
             [[obstacle]]\ndims = [0, 1]\ncenter = [1.5, 4.8]\nradii = [1.0, 1.0]\npower = 4\n",
        );
        assert_eq!(covered_cells(Layout::Large, Some(&config)), vec![(1, 4), (2, 4), (4, 6), (5, 6)]);
    }

    /// A circle of radius 0.05 next to a cell centre reaches only into the jitter of that cell.
    #[test]
    fn an_obstacle_inside_one_reset_square_covers_that_cell_alone() {
        let config = obstacles("[[obstacle]]\ndims = [0, 1]\ncenter = [3.08, 1.0]\nradii = [0.05, 0.05]\n");
        assert_eq!(covered_cells(Layout::Umaze, Some(&config)), vec![(3, 1)]);
        assert!(covered_cells(Layout::Umaze, None).is_empty());
    }
}
