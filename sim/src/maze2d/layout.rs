//! D4RL's Maze2D layouts (`d4rl/pointmaze/maze_model.py`): the cell grids, the goal cell, the
//! episode lengths and the reference returns.
//!
//! Coordinates are D4RL's observation frame: cell (i, j) (row i, column j of the maze string) is
//! at (x, y) = (i, j). In D4RL's MuJoCo model the ball's slide joints start at world (1.2, 1.2)
//! while wall cell (i, j) sits at world (i + 1, j + 1); so, in observation coordinates, a wall
//! cell's box is centred at (i − 0.2, j − 0.2). We keep that offset so that observations,
//! goals and datasets line up with D4RL's.

use super::BALL_RADIUS;
use crate::score::ReferenceReturns;

/// Offset of a wall box's centre from its cell's integer coordinates, in the observation frame.
pub const WALL_OFFSET: f32 = -0.2;
/// Half the side of a wall box, metres.
pub const WALL_HALF_SIDE: f32 = 0.5;

/// One of D4RL's Maze2D layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// `maze2d-umaze-v1`: 5 × 5, goal (1, 1), 300 steps.
    Umaze,
    /// `maze2d-medium-v1`: 8 × 8, goal (6, 6), 600 steps.
    Medium,
    /// `maze2d-large-v1`: 9 × 12, goal (7, 9), 800 steps.
    Large,
}

impl Layout {
    /// Every layout.
    pub const ALL: [Layout; 3] = [Layout::Umaze, Layout::Medium, Layout::Large];

    /// The name used in configs (`umaze`, `medium`, `large`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Umaze => "umaze",
            Self::Medium => "medium",
            Self::Large => "large",
        }
    }

    /// The layout called `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|layout| layout.name() == name)
    }

    /// D4RL's maze string, rows top to bottom: `#` wall, `O` free, `G` goal.
    #[must_use]
    pub fn rows(self) -> &'static [&'static str] {
        match self {
            Self::Umaze => &["#####", "#GOO#", "###O#", "#OOO#", "#####"],
            Self::Medium => {
                &["########", "#OO##OO#", "#OO#OOO#", "##OOO###", "#OO#OOO#", "#O#OO#O#", "#OOO#OG#", "########"]
            }
            Self::Large => &[
                "############",
                "#OOOO#OOOOO#",
                "#O##O#O#O#O#",
                "#OOOOOO#OOO#",
                "#O####O###O#",
                "#OO#O#OOOOO#",
                "##O#O#O#O###",
                "#OO#OOO#OGO#",
                "############",
            ],
        }
    }

    /// Steps per episode (D4RL v1 `max_episode_steps`).
    #[must_use]
    pub fn max_episode_steps(self) -> usize {
        match self {
            Self::Umaze => 300,
            Self::Medium => 600,
            Self::Large => 800,
        }
    }

    /// D4RL's reference returns (random / expert) for the normalized score.
    #[must_use]
    pub fn reference_returns(self) -> ReferenceReturns {
        match self {
            Self::Umaze => ReferenceReturns { random: 23.85, expert: 161.86 },
            Self::Medium => ReferenceReturns { random: 13.13, expert: 277.39 },
            Self::Large => ReferenceReturns { random: 6.7, expert: 273.99 },
        }
    }

    /// Whether cell (i, j) is a wall (cells outside the grid count as walls).
    #[must_use]
    pub fn is_wall(self, (i, j): (i64, i64)) -> bool {
        let rows = self.rows();
        if i < 0 || j < 0 || i as usize >= rows.len() || j as usize >= rows[0].len() {
            return true;
        }
        rows[i as usize].as_bytes()[j as usize] == b'#'
    }

    /// The goal cell, marked `G` in the maze string.
    #[must_use]
    pub fn goal_cell(self) -> (i64, i64) {
        match self {
            Self::Umaze => (1, 1),
            Self::Medium => (6, 6),
            Self::Large => (7, 9),
        }
    }

    /// Every free cell including the goal, row by row (D4RL's `empty_and_goal_locations`,
    /// from which starts and random goals are drawn).
    #[must_use]
    pub fn open_cells(self) -> Vec<(i64, i64)> {
        let mut cells: Vec<(i64, i64)> = self.cells(b'O').collect();
        cells.push(self.goal_cell());
        cells
    }

    /// Whether a ball of radius [`BALL_RADIUS`] at (x, y), observation coordinates, overlaps
    /// the wall box of its own cell or of a neighbouring one.
    #[must_use]
    pub fn ball_overlaps_wall(self, x: f32, y: f32) -> bool {
        let (i, j) = ((x - WALL_OFFSET).round() as i64, (y - WALL_OFFSET).round() as i64);
        (i - 1..=i + 1).any(|ci| {
            (j - 1..=j + 1).any(|cj| {
                if !self.is_wall((ci, cj)) {
                    return false;
                }
                let (cx, cy) = (ci as f32 + WALL_OFFSET, cj as f32 + WALL_OFFSET);
                let dx = ((x - cx).abs() - WALL_HALF_SIDE).max(0.0);
                let dy = ((y - cy).abs() - WALL_HALF_SIDE).max(0.0);
                dx * dx + dy * dy < BALL_RADIUS * BALL_RADIUS
            })
        })
    }

    /// Every wall cell.
    #[must_use]
    pub fn wall_cells(self) -> Vec<(i64, i64)> {
        self.cells(b'#').collect()
    }

    fn cells(self, tile: u8) -> impl Iterator<Item = (i64, i64)> {
        self.rows().iter().enumerate().flat_map(move |(i, row)| {
            row.bytes().enumerate().filter(move |&(_, t)| t == tile).map(move |(j, _)| (i as i64, j as i64))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_d4rl() {
        // Reference: D4RL maze_model.py strings; goal cells (1,1), (6,6), (7,9); grid sizes.
        assert_eq!(Layout::Umaze.goal_cell(), (1, 1));
        assert_eq!(Layout::Medium.goal_cell(), (6, 6));
        assert_eq!(Layout::Large.goal_cell(), (7, 9));
        for layout in Layout::ALL {
            assert_eq!(layout.cells(b'G').collect::<Vec<_>>(), vec![layout.goal_cell()], "{layout:?}");
        }
        assert_eq!(Layout::Umaze.open_cells().len(), 7);
        for layout in Layout::ALL {
            let rows = layout.rows();
            assert!(rows.iter().all(|r| r.len() == rows[0].len()), "{layout:?} is ragged");
            assert!(rows[0].bytes().all(|t| t == b'#') && rows[rows.len() - 1].bytes().all(|t| t == b'#'));
            assert_eq!(Layout::from_name(layout.name()), Some(layout));
        }
        assert!(Layout::Umaze.is_wall((2, 1)) && !Layout::Umaze.is_wall((2, 3)) && Layout::Umaze.is_wall((-1, 0)));
    }

    #[test]
    fn the_ball_overlaps_a_wall_box_within_its_radius() {
        // Reference: U-maze cell (0, 0) is a wall, its box spans [−0.7, 0.3]² in observation
        // coordinates; cell (1, 1) is open.
        assert!(Layout::Umaze.ball_overlaps_wall(0.35, 1.0), "0.05 from the wall's face");
        assert!(!Layout::Umaze.ball_overlaps_wall(0.45, 1.0), "0.15 from the wall's face");
        assert!(!Layout::Umaze.ball_overlaps_wall(1.0, 1.0), "the open cell's centre");
    }
}
