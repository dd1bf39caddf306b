//! Collision-free joint-space paths: RRT-Connect, then shortcutting.
//!
//! RRT-Connect (Kuffner & LaValle, 2000) grows a tree from the start and one from the goal. Each
//! round draws a random configuration, extends one tree a step towards it, then pulls the other
//! tree towards the new node as far as it is free; the trees swap roles every round, and the
//! search ends when they meet. A segment is free when every configuration along it, at most
//! `CHECK_STEP_RAD` apart in every joint, is free. Shortcutting then replaces the part between
//! two random points of the path by a straight segment wherever that segment is free.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Largest change of any joint between two configurations checked along a segment, rad.
pub const CHECK_STEP_RAD: f64 = 0.02;
/// Largest step a tree grows by, rad (in the joint with the largest change).
const EXTEND_STEP_RAD: f64 = 0.2;

/// A joint-space path search over configurations that `free` accepts, within `lower`..`upper`.
pub struct PathSearch<'a> {
    /// Whether a configuration is allowed (within its margin of everything).
    pub free: &'a dyn Fn(&[f64]) -> bool,
    /// Lowest angle per joint, rad.
    pub lower: &'a [f64],
    /// Highest angle per joint, rad.
    pub upper: &'a [f64],
}

impl PathSearch<'_> {
    /// Whether every configuration on the straight segment from `a` to `b` is free.
    #[must_use]
    pub fn segment_is_free(&self, a: &[f64], b: &[f64]) -> bool {
        let checks = (largest_change(a, b) / CHECK_STEP_RAD).ceil().max(1.0) as usize;
        (0..=checks).all(|i| (self.free)(&lerp(a, b, i as f64 / checks as f64)))
    }

    /// A free path from `start` to `goal` (both included), or `None` after `max_rounds`.
    pub fn rrt_connect(
        &self,
        start: &[f64],
        goal: &[f64],
        max_rounds: usize,
        rng: &mut ChaCha8Rng,
    ) -> Option<Vec<Vec<f64>>> {
        if !(self.free)(start) || !(self.free)(goal) {
            return None;
        }
        if self.segment_is_free(start, goal) {
            return Some(vec![start.to_vec(), goal.to_vec()]);
        }
        let mut trees = [Tree::rooted(start), Tree::rooted(goal)];
        for round in 0..max_rounds {
            let sample: Vec<f64> = self.lower.iter().zip(self.upper).map(|(l, u)| rng.gen_range(*l..*u)).collect();
            let (grow, other) = if round % 2 == 0 { (0, 1) } else { (1, 0) };
            let Some(new) = self.extend(&mut trees[grow], &sample) else { continue };
            let target = trees[grow].nodes[new].clone();
            if let Some(met) = self.connect(&mut trees[other], &target) {
                let (from_start, from_goal) = if grow == 0 { (new, met) } else { (met, new) };
                let mut path = trees[0].path_to(from_start);
                let mut back = trees[1].path_to(from_goal);
                back.reverse();
                path.extend(back.into_iter().skip(1));
                return Some(path);
            }
        }
        None
    }

    /// One step of `tree` towards `target`; the new node's index, if the step is free.
    fn extend(&self, tree: &mut Tree, target: &[f64]) -> Option<usize> {
        let nearest = tree.nearest(target);
        let from = &tree.nodes[nearest];
        let change = largest_change(from, target);
        let to = if change <= EXTEND_STEP_RAD { target.to_vec() } else { lerp(from, target, EXTEND_STEP_RAD / change) };
        self.segment_is_free(from, &to).then(|| tree.add(to, nearest))
    }

    /// Extends `tree` towards `target` until it arrives (its index) or is blocked (`None`).
    fn connect(&self, tree: &mut Tree, target: &[f64]) -> Option<usize> {
        loop {
            let new = self.extend(tree, target)?;
            if largest_change(&tree.nodes[new], target) == 0.0 {
                return Some(new);
            }
        }
    }

    /// `path` with free straight segments cut through it, `rounds` random tries.
    #[must_use]
    pub fn shortcut(&self, mut path: Vec<Vec<f64>>, rounds: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
        for _ in 0..rounds {
            if path.len() < 3 {
                break;
            }
            let i = rng.gen_range(0..path.len() - 2);
            let j = rng.gen_range(i + 2..path.len());
            if self.segment_is_free(&path[i], &path[j]) {
                path.drain(i + 1..j);
            }
        }
        path
    }
}

/// A tree of configurations with each node's parent.
struct Tree {
    nodes: Vec<Vec<f64>>,
    parents: Vec<usize>,
}

impl Tree {
    fn rooted(root: &[f64]) -> Self {
        Self { nodes: vec![root.to_vec()], parents: vec![0] }
    }

    fn add(&mut self, node: Vec<f64>, parent: usize) -> usize {
        self.nodes.push(node);
        self.parents.push(parent);
        self.nodes.len() - 1
    }

    /// The node nearest `target` (the largest joint change as the distance).
    fn nearest(&self, target: &[f64]) -> usize {
        (0..self.nodes.len())
            .min_by(|a, b| largest_change(&self.nodes[*a], target).total_cmp(&largest_change(&self.nodes[*b], target)))
            .unwrap_or(0)
    }

    /// The nodes from the root to `node`.
    fn path_to(&self, mut node: usize) -> Vec<Vec<f64>> {
        let mut path = vec![self.nodes[node].clone()];
        while node != 0 {
            node = self.parents[node];
            path.push(self.nodes[node].clone());
        }
        path.reverse();
        path
    }
}

/// The largest change of any joint from `a` to `b`, rad.
#[must_use]
pub fn largest_change(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

fn lerp(a: &[f64], b: &[f64], t: f64) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + t * (y - x)).collect()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    /// A 2-joint world with a wall across the middle that has one gap: the straight path is
    /// blocked, every found path must be free at the checking resolution, and start and goal
    /// are its ends.
    #[test]
    fn rrt_connect_finds_a_free_path_around_a_wall_and_shortcutting_keeps_it_free() {
        let free = |q: &[f64]| !(q[0].abs() < 0.1 && (q[1] < 0.5 || q[1] > 0.8));
        let search = PathSearch { free: &free, lower: &[-1.0, -1.0], upper: &[1.0, 1.0] };
        let (start, goal) = ([-0.8, -0.5], [0.8, -0.5]);
        assert!(!search.segment_is_free(&start, &goal));
        for seed in 0..10 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let path = search.rrt_connect(&start, &goal, 5000, &mut rng).expect("a path through the gap");
            let short = search.shortcut(path.clone(), 100, &mut rng);
            for candidate in [&path, &short] {
                assert_eq!(candidate.first().map(Vec::as_slice), Some(&start[..]));
                assert_eq!(candidate.last().map(Vec::as_slice), Some(&goal[..]));
                assert!(
                    candidate.windows(2).all(|w| search.segment_is_free(&w[0], &w[1])),
                    "seed {seed}: a segment collides"
                );
            }
            let length = |p: &[Vec<f64>]| p.windows(2).map(|w| largest_change(&w[0], &w[1])).sum::<f64>();
            assert!(length(&short) <= length(&path) + 1e-12, "seed {seed}: shortcutting lengthened the path");
        }
    }

    #[test]
    fn a_goal_inside_an_obstacle_has_no_path() {
        let free = |q: &[f64]| q[0] < 0.5;
        let search = PathSearch { free: &free, lower: &[-1.0, -1.0], upper: &[1.0, 1.0] };
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(search.rrt_connect(&[0.0, 0.0], &[0.7, 0.0], 100, &mut rng), None);
    }
}
