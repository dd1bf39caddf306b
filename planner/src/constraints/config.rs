//! `[planner.constraints]` in a task file: hard constraints in the data's (user's) units, parsed
//! by serde (unknown keys refused) and then checked against a [`TrajectoryLayout`] by
//! [`ConstraintConfig::validate`], which names the field and the fix of every problem.

use serde::{Deserialize, Serialize};

use super::layout::TrajectoryLayout;
use crate::error::{Error, Result};

/// Every hard constraint of a plan. The default has none.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConstraintConfig {
    /// Obstacles keep `b(p) ≥ margin`, in units of the barrier `b` (dimensionless; default 0,
    /// SafeDiffuser uses 0.01).
    pub margin: f64,
    /// How obstacles act during sampling (default robust).
    pub obstacle_mode: ObstacleMode,
    /// ReS slack weight w, dimensionless (default 100, SafeDiffuser's); only with
    /// `obstacle_mode = "relaxed"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relaxed_weight: Option<f64>,
    /// ReS: the last this many sampler steps are hard (default 10, SafeDiffuser's); only with
    /// `obstacle_mode = "relaxed"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hard_steps: Option<usize>,
    /// `lower ≤ obs[dims] ≤ upper` on every row (observation units).
    pub state_box: Vec<BoxConfig>,
    /// `lower ≤ action[dims] ≤ upper` on every row (action units).
    pub action_box: Vec<BoxConfig>,
    /// `normal · obs[dims] ≤ offset` on every row.
    pub half_space: Vec<HalfSpaceConfig>,
    /// `|obs[h+1, d] − obs[h, d]| / dt ≤ max` (observation units per second).
    pub velocity_limit: Vec<RateLimitConfig>,
    /// `|obs[h+1, d] − 2 obs[h, d] + obs[h−1, d]| / dt² ≤ max` (observation units per second²).
    pub acceleration_limit: Vec<RateLimitConfig>,
    /// Regions the observations must stay out of.
    pub obstacle: Vec<ObstacleConfig>,
    /// Arms only: metres every part of the arm keeps from the table and from each request's
    /// obstacles (`crate::workspace`). Absent: the planner keeps no clearance, and refuses
    /// requests that bring obstacles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clearance_margin_m: Option<f64>,
}

/// How obstacles act at intermediate sampler steps (SafeDiffuser §3.1, docs/ALGORITHMS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObstacleMode {
    /// RoS: every step is projected out of every obstacle.
    #[default]
    Robust,
    /// ReS: early steps take only the slack-relaxed pull; the last `hard_steps` are hard.
    Relaxed,
}

/// `lower[i] ≤ v[dims[i]] ≤ upper[i]` on every row, `v` the observations or the actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoxConfig {
    /// Indices into the observations (`state_box`) or the actions (`action_box`).
    pub dims: Vec<usize>,
    /// Lower bound per dim, in the data's units.
    pub lower: Vec<f64>,
    /// Upper bound per dim, in the data's units.
    pub upper: Vec<f64>,
}

/// `normal · obs[dims] ≤ offset` on every row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HalfSpaceConfig {
    /// Indices into the observations.
    pub dims: Vec<usize>,
    /// Outward normal, one entry per dim (any nonzero length).
    pub normal: Vec<f64>,
    /// Right-hand side, in units of `normal · obs`.
    pub offset: f64,
}

/// A limit on the first (velocity) or second (acceleration) difference of observations per
/// unit of time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Indices into the observations.
    pub dims: Vec<usize>,
    /// Largest rate per dim (> 0): units per second for velocity, per second² for acceleration.
    pub max: Vec<f64>,
    /// Acceleration limits only: per entry of `dims`, the observation dim that holds its speed
    /// (units per second). The plan then also joins the robot's motion at both ends, as two
    /// more windows: it starts at the start's speed, `|x[1] − x[0] − dt·v[0]| / dt² ≤ max` (a
    /// robot moving at `v[0]` cannot jump to another speed), and ends at rest, since the robot
    /// holds the last row: `|x[H−1] − x[H−2]| / dt² ≤ max`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub speed_dims: Vec<usize>,
}

/// Keep out of `b(p) < margin`, `p = obs[dims]`: for a superellipse
/// `b(p) = Σ_i |(p_i − c_i)/r_i|^power − 1`, for a box `b(p) = max_i |p_i − c_i|/r_i − 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObstacleConfig {
    /// Name in reports (default `<i>`, reported as `obstacle <i>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Indices into the observations.
    pub dims: Vec<usize>,
    /// Centre c, observation units.
    pub center: Vec<f64>,
    /// Half-widths r (> 0), observation units.
    pub radii: Vec<f64>,
    /// Even exponent ≥ 2 of a superellipse: 2 circle/ellipse, 4 SafeDiffuser's rounded square
    /// (default 2); not with `shape = "box"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<f64>,
    /// Superellipse (default) or axis-aligned box.
    #[serde(default)]
    pub shape: ObstacleShape,
}

/// The family of an obstacle's barrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObstacleShape {
    /// `Σ_i |(p_i − c_i)/r_i|^power − 1`.
    #[default]
    Superellipse,
    /// `max_i |p_i − c_i|/r_i − 1`.
    Box,
}

impl ObstacleConfig {
    /// The obstacle's name in reports: its `name`, or its index `i`.
    #[must_use]
    pub fn label(&self, i: usize) -> String {
        self.name.clone().unwrap_or_else(|| i.to_string())
    }

    /// The superellipse's exponent, `None` for a box.
    pub(crate) fn superellipse_exponent(&self) -> Option<i32> {
        match self.shape {
            ObstacleShape::Superellipse => Some(self.exponent()),
            ObstacleShape::Box => None,
        }
    }
}

fn invalid(field: &str, message: String) -> Error {
    Error::Config { field: format!("constraints.{field}"), message }
}

/// Non-empty, in range, each dim once.
fn check_dims(path: &str, dims: &[usize], limit: usize, part: &str) -> Result<()> {
    let field = format!("{path}.dims");
    if dims.is_empty() {
        return Err(invalid(&field, format!("empty; list the {part} indices the constraint acts on")));
    }
    if let Some(&d) = dims.iter().find(|&&d| d >= limit) {
        return Err(invalid(
            &field,
            format!("{part} index {d} is out of range: the {part}s have {limit} dims (0..{limit})"),
        ));
    }
    if let Some((i, d)) = dims.iter().enumerate().find(|(i, d)| dims[..*i].contains(d)) {
        return Err(invalid(&field, format!("{part} index {d} appears twice (position {i}); list each dim once")));
    }
    Ok(())
}

/// One value per dim, all finite.
fn check_values(path: &str, name: &str, values: &[f64], dims: usize) -> Result<()> {
    let field = format!("{path}.{name}");
    if values.len() != dims {
        return Err(invalid(
            &field,
            format!("{} values for {dims} dims; give one value per entry of dims", values.len()),
        ));
    }
    check_finite(&field, values)
}

fn check_finite(field: &str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(invalid(field, format!("entry {i} is {}; every bound must be a finite number", values[i]))),
        None => Ok(()),
    }
}

fn check_positive(field: &str, values: &[f64], what: &str) -> Result<()> {
    match values.iter().position(|&v| v <= 0.0) {
        Some(i) => Err(invalid(field, format!("entry {i} is {}; {what} must be > 0", values[i]))),
        None => Ok(()),
    }
}

impl BoxConfig {
    fn validate(&self, path: &str, limit: usize, part: &str) -> Result<()> {
        check_dims(path, &self.dims, limit, part)?;
        check_values(path, "lower", &self.lower, self.dims.len())?;
        check_values(path, "upper", &self.upper, self.dims.len())?;
        if let Some(i) = (0..self.dims.len()).find(|&i| self.lower[i] > self.upper[i]) {
            return Err(invalid(
                &format!("{path}.upper"),
                format!(
                    "entry {i} ({}) is below lower ({}) for {part} dim {}: no value fits; swap or widen the bounds",
                    self.upper[i], self.lower[i], self.dims[i]
                ),
            ));
        }
        Ok(())
    }
}

impl HalfSpaceConfig {
    fn validate(&self, path: &str, limit: usize) -> Result<()> {
        check_dims(path, &self.dims, limit, "observation")?;
        check_values(path, "normal", &self.normal, self.dims.len())?;
        check_finite(&format!("{path}.offset"), &[self.offset])?;
        if self.normal.iter().all(|&n| n == 0.0) {
            return Err(invalid(
                &format!("{path}.normal"),
                "all zeros: a half-space needs a nonzero normal (the direction that must stay ≤ offset)".into(),
            ));
        }
        Ok(())
    }
}

impl RateLimitConfig {
    /// `order` 1: a velocity limit, 2: an acceleration limit.
    fn validate(&self, path: &str, limit: usize, order: usize) -> Result<()> {
        let unit = if order == 1 { "units per second" } else { "units per second²" };
        check_dims(path, &self.dims, limit, "observation")?;
        check_values(path, "max", &self.max, self.dims.len())?;
        check_positive(&format!("{path}.max"), &self.max, &format!("a limit ({unit})"))?;
        if self.speed_dims.is_empty() {
            return Ok(());
        }
        let field = format!("{path}.speed_dims");
        if order == 1 {
            return Err(invalid(
                &field,
                "only acceleration limits take the start's speed; move speed_dims to an acceleration_limit".into(),
            ));
        }
        if self.speed_dims.len() != self.dims.len() {
            return Err(invalid(
                &field,
                format!(
                    "{} entries for {} dims; give the speed's observation dim of every entry of dims",
                    self.speed_dims.len(),
                    self.dims.len()
                ),
            ));
        }
        match self.speed_dims.iter().find(|&&d| d >= limit) {
            Some(d) => Err(invalid(
                &field,
                format!("observation index {d} is out of range: the observations have {limit} dims (0..{limit})"),
            )),
            None => Ok(()),
        }
    }
}

impl ObstacleConfig {
    fn validate(&self, path: &str, limit: usize) -> Result<()> {
        check_dims(path, &self.dims, limit, "observation")?;
        check_values(path, "center", &self.center, self.dims.len())?;
        check_values(path, "radii", &self.radii, self.dims.len())?;
        check_positive(&format!("{path}.radii"), &self.radii, "a radius (observation units)")?;
        if self.name.as_deref().is_some_and(str::is_empty) {
            return Err(invalid(&format!("{path}.name"), "empty; leave it out to report the obstacle by index".into()));
        }
        match (self.shape, self.power) {
            (ObstacleShape::Box, Some(power)) => Err(invalid(
                &format!("{path}.power"),
                format!("{power} is given with shape = \"box\"; power belongs to superellipses: remove one of them"),
            )),
            (ObstacleShape::Superellipse, Some(power))
                if !(power.is_finite() && power >= 2.0 && power.fract() == 0.0 && (power / 2.0).fract() == 0.0) =>
            {
                Err(invalid(
                    &format!("{path}.power"),
                    format!(
                        "{power}; the exponent must be an even integer ≥ 2 (2: circle or ellipse, 4: rounded square) \
                         so that the barrier is smooth and its level sets convex"
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// The exponent of a superellipse (validated even integer ≥ 2; default 2).
    pub(crate) fn exponent(&self) -> i32 {
        self.power.map_or(2, |p| p as i32)
    }
}

impl ConstraintConfig {
    /// Checks every field against `layout`: dims in range and listed once, one value per dim,
    /// finite numbers, `lower ≤ upper`, positive limits and radii, even exponents ≥ 2, nonzero
    /// normals, ReS settings only with `obstacle_mode = "relaxed"`, and boxes (and half-spaces
    /// against them) that leave some value feasible.
    pub fn validate(&self, layout: &TrajectoryLayout) -> Result<()> {
        layout.validate()?;
        self.validate_scalars()?;
        let (obs, act) = (layout.observation_dim, layout.action_dim);
        for (i, c) in self.state_box.iter().enumerate() {
            c.validate(&format!("state_box[{i}]"), obs, "observation")?;
        }
        for (i, c) in self.action_box.iter().enumerate() {
            c.validate(&format!("action_box[{i}]"), act, "action")?;
        }
        for (i, c) in self.half_space.iter().enumerate() {
            c.validate(&format!("half_space[{i}]"), obs)?;
        }
        for (i, c) in self.velocity_limit.iter().enumerate() {
            c.validate(&format!("velocity_limit[{i}]"), obs, 1)?;
        }
        for (i, c) in self.acceleration_limit.iter().enumerate() {
            c.validate(&format!("acceleration_limit[{i}]"), obs, 2)?;
        }
        for (i, c) in self.obstacle.iter().enumerate() {
            c.validate(&format!("obstacle[{i}]"), obs)?;
            if let Some(j) = self.obstacle[..i].iter().position(|o| o.name.is_some() && o.name == c.name) {
                return Err(invalid(
                    &format!("obstacle[{i}].name"),
                    format!("{:?} is also obstacle[{j}]'s name; reports need distinct names", c.label(i)),
                ));
            }
        }
        check_overlap(&self.state_box, "state_box", obs, "observation")?;
        check_overlap(&self.action_box, "action_box", act, "action")?;
        self.check_half_spaces(obs)
    }

    fn validate_scalars(&self) -> Result<()> {
        if !(self.margin.is_finite() && self.margin >= 0.0) {
            return Err(invalid(
                "margin",
                format!("{}; the barrier margin must be a finite number ≥ 0 (SafeDiffuser: 0.01)", self.margin),
            ));
        }
        if let Some(margin) = self.clearance_margin_m.filter(|m| !(m.is_finite() && *m >= 0.0)) {
            return Err(invalid(
                "clearance_margin_m",
                format!("{margin}; the clearance margin must be a finite number of metres ≥ 0"),
            ));
        }
        let relaxed_only =
            "only applies with obstacle_mode = \"relaxed\"; remove it or set obstacle_mode = \"relaxed\"";
        match self.obstacle_mode {
            ObstacleMode::Robust if self.relaxed_weight.is_some() => {
                Err(invalid("relaxed_weight", relaxed_only.into()))
            }
            ObstacleMode::Robust if self.hard_steps.is_some() => Err(invalid("hard_steps", relaxed_only.into())),
            ObstacleMode::Relaxed if self.relaxed_weight.is_some_and(|w| !(w.is_finite() && w > 0.0)) => Err(invalid(
                "relaxed_weight",
                format!(
                    "{:?}; the ReS slack weight must be a finite number > 0 (SafeDiffuser: 100; \
                     for no relaxation use obstacle_mode = \"robust\")",
                    self.relaxed_weight
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Half-spaces that no point of the state boxes satisfies: `min over the box of n·p > offset`.
    fn check_half_spaces(&self, limit: usize) -> Result<()> {
        let (lower, upper) = merged_bounds(&self.state_box, limit);
        for (i, hs) in self.half_space.iter().enumerate() {
            let lowest: f64 = hs
                .dims
                .iter()
                .zip(&hs.normal)
                .map(|(&d, &n)| match n {
                    n if n > 0.0 => n * lower[d],
                    n if n < 0.0 => n * upper[d],
                    _ => 0.0,
                })
                .sum();
            if lowest > hs.offset {
                return Err(invalid(
                    &format!("half_space[{i}].offset"),
                    format!(
                        "{}, but normal · obs is at least {lowest} inside the state boxes: no state satisfies both; \
                         raise the offset or widen the boxes",
                        hs.offset
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Per dim, the intersection of every box's range (±∞ where no box acts).
pub(crate) fn merged_bounds(boxes: &[BoxConfig], width: usize) -> (Vec<f64>, Vec<f64>) {
    let mut lower = vec![f64::NEG_INFINITY; width];
    let mut upper = vec![f64::INFINITY; width];
    for b in boxes {
        for (i, &d) in b.dims.iter().enumerate() {
            lower[d] = lower[d].max(b.lower[i]);
            upper[d] = upper[d].min(b.upper[i]);
        }
    }
    (lower, upper)
}

/// Boxes on one dim whose ranges do not overlap: named at the first box that empties the range.
fn check_overlap(boxes: &[BoxConfig], kind: &str, width: usize, part: &str) -> Result<()> {
    for j in 0..boxes.len() {
        let (lower, upper) = merged_bounds(&boxes[..=j], width);
        if let Some(&d) = boxes[j].dims.iter().find(|&&d| lower[d] > upper[d]) {
            let (before_lower, before_upper) = merged_bounds(&boxes[..j], width);
            let i = boxes[j].dims.iter().position(|&x| x == d).unwrap_or(0);
            return Err(invalid(
                &format!("{kind}[{j}].lower"),
                format!(
                    "{kind}[{j}] allows [{}, {}] on {part} dim {d}, the boxes before it only [{}, {}]: the ranges \
                     do not overlap, so no trajectory satisfies both; widen one or remove it",
                    boxes[j].lower[i], boxes[j].upper[i], before_lower[d], before_upper[d]
                ),
            ));
        }
    }
    Ok(())
}
