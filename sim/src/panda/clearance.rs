//! How close the arm comes to what is around it: the table it stands on and the obstacles.
//!
//! The base link never moves, and link 1 only turns about the vertical axis through the base, so
//! neither can approach the table: the table counts for links 2 onwards (their capsules stand
//! clear of it in every configuration the tasks allow, which the reset checks). Obstacles count
//! for every moving link.

use super::description::ArmDescription;
use super::obstacles::Obstacle;

/// The first link index (in [`ArmDescription::links`]) that can reach the table.
pub const FIRST_LINK_NEAR_TABLE: usize = 2;

/// The smallest clearances of an arm configuration, metres (negative: overlapping).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clearance {
    /// To the nearest obstacle (infinite without obstacles).
    pub obstacles_m: f64,
    /// To the table's top (z = `table_top_z`).
    pub table_m: f64,
}

impl Clearance {
    /// The smaller of the two.
    #[must_use]
    pub fn min(&self) -> f64 {
        self.obstacles_m.min(self.table_m)
    }
}

impl ArmDescription {
    /// The clearances at joint angles `q` to `obstacles` and to a table whose top is the plane
    /// z = `table_top_z` (metres).
    #[must_use]
    pub fn clearance(&self, q: &[f64], obstacles: &[Obstacle], table_top_z: f64) -> Clearance {
        let mut clearance = Clearance { obstacles_m: f64::INFINITY, table_m: f64::INFINITY };
        for (link, capsule) in self.capsules_in_base(q) {
            if link == 0 {
                continue;
            }
            for obstacle in obstacles {
                clearance.obstacles_m = clearance.obstacles_m.min(obstacle.clearance(&capsule));
            }
            if link >= FIRST_LINK_NEAR_TABLE {
                let lowest = capsule.a[2].min(capsule.b[2]) - capsule.radius;
                clearance.table_m = clearance.table_m.min(lowest - table_top_z);
            }
        }
        clearance
    }
}

#[cfg(test)]
mod tests {
    use super::super::franka_panda;
    use super::*;

    #[test]
    fn the_ready_pose_clears_the_table_and_meets_an_obstacle_at_its_hand() {
        let arm = franka_panda();
        let ready = [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785];
        let tool = arm.tool_frame(&ready).translation;
        let free = arm.clearance(&ready, &[], 0.0);
        assert!(free.table_m > 0.2 && free.obstacles_m.is_infinite(), "{free:?}");
        // A 5 cm ball on the tool point reaches the hand (whose capsule ends 2.3 cm short of it);
        // one behind the base does not.
        let on_hand = arm.clearance(&ready, &[Obstacle::Sphere { center: tool, radius: 0.05 }], 0.0);
        assert!(on_hand.obstacles_m < 0.0, "{on_hand:?}");
        let away = arm.clearance(&ready, &[Obstacle::Sphere { center: [-0.5, 0.0, 0.3], radius: 0.05 }], 0.0);
        assert!(away.obstacles_m > 0.2, "{away:?}");
    }
}
