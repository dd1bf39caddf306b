//! The recording of a run: one Rerun stream, the entity hierarchy of docs/TELEMETRY.md, and the
//! executed path of the current episode.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use planner::constraints::{ConstraintConfig, outline};
use planner::workspace::WorkspaceObstacle;
use rerun::blueprint::{Blueprint, Horizontal, Spatial3DView, TextLogView, TimePanel, TimeSeriesView, Vertical};
use rerun::{
    Boxes3D, Capsules3D, Color, Ellipsoids3D, LineStrips3D, Points3D, Quaternion, RecordingStream, Scalars, TextLog,
};
use sim::{Geometry, Scene};

use super::sink::Sink;
use crate::episode::{EpisodeObserver, Level, PlannedPath};
use crate::task::{JOINT_RANGE, Task};

/// Colours: walls grey, executed path blue, plans orange, goal green.
const WALL: [u8; 3] = [120, 120, 120];
const EXECUTED: [u8; 3] = [40, 110, 230];
const PLANNED: [u8; 3] = [240, 140, 30];
const GOAL: [u8; 3] = [30, 180, 60];
/// Obstacles of the task's constraints and of its episodes: red.
const OBSTACLE: [u8; 3] = [220, 40, 40];
/// An arm's links.
const ARM: [u8; 3] = [200, 200, 210];
/// Points on an obstacle's outline.
const OUTLINE_POINTS: usize = 64;

fn rgb([r, g, b]: [u8; 3]) -> Color {
    Color::from_rgb(r, g, b)
}

/// A run's recording.
pub struct Recorder {
    stream: RecordingStream,
    file: Option<PathBuf>,
    /// Plans logged so far (the `plan` timeline).
    plans: i64,
    /// The executed positions of the current episode, metres.
    executed: Vec<[f32; 3]>,
    /// Seconds per step of the current episode.
    dt: f64,
    /// A logging call failed (reported once; the run goes on).
    failed: bool,
    /// The task whose episodes are recorded: where its states put the robot.
    task: Option<Arc<dyn Task>>,
    /// The plan being executed and the step of its first row.
    plan: Option<(u64, Vec<Vec<f32>>)>,
}

/// The layout the viewer opens with: the world on the left; timings and the event log on the right.
fn blueprint() -> Blueprint {
    Blueprint::new(Horizontal::new([
        Spatial3DView::new("world").with_origin("/world").into(),
        Vertical::new([
            TimeSeriesView::new("plan timings").with_origin("/metrics/plan").into(),
            TimeSeriesView::new("robot").with_origin("/metrics/robot").into(),
            TimeSeriesView::new("joints: planned, executed, limits").with_origin("/metrics/joints").into(),
            TextLogView::new("events").with_origin("/events").into(),
        ])
        .into(),
    ]))
    .with_time_panel(TimePanel::new().with_timeline("sim_time"))
}

impl Recorder {
    /// Opens the recording `recording_id` on `sink`.
    pub fn open(sink: &Sink, recording_id: &str) -> anyhow::Result<Self> {
        let builder = rerun::RecordingStreamBuilder::new("diffplan")
            .recording_id(recording_id)
            .send_properties(true)
            .with_default_blueprint(blueprint());
        let mut file = None;
        let stream = match sink {
            Sink::Save(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                }
                file = Some(path.clone());
                builder.save(path).with_context(|| format!("opening the recording {}", path.display()))?
            }
            Sink::Spawn => builder.spawn().context("spawning a Rerun viewer (is `rerun` on PATH?)")?,
            Sink::Connect(Some(url)) => {
                builder.connect_grpc_opts(url.clone()).with_context(|| format!("connecting to {url}"))?
            }
            Sink::Connect(None) => builder.connect_grpc().context("connecting to the local Rerun viewer")?,
            Sink::Off => RecordingStream::disabled(),
        };
        // Recordings index by simulated time and plan, not by the wall clock. (A disabled
        // stream warns on every setting: touch it only when recording.)
        if stream.is_enabled() {
            stream.set_log_time_enabled(false);
            stream.set_log_tick_enabled(false);
        }
        Ok(Self { stream, file, plans: 0, executed: Vec::new(), dt: 0.0, failed: false, task: None, plan: None })
    }

    /// The stream for the planner's [`super::DenoiseObserver`], or `None` when nothing is
    /// recorded (then nothing need be copied off the device).
    #[must_use]
    pub fn recording(&self) -> Option<RecordingStream> {
        self.stream.is_enabled().then(|| self.stream.clone())
    }

    /// Logs `task`'s static scene and the obstacles of its `constraints`, and records its
    /// episodes from now on.
    pub fn scene(&mut self, task: Arc<dyn Task>, constraints: Option<&ConstraintConfig>) -> anyhow::Result<()> {
        self.walls(&task.make_env().scene())?;
        if let Some(constraints) = constraints {
            self.obstacles(constraints)?;
        }
        self.task = Some(task);
        Ok(())
    }

    /// Logs the walls of `scene` as boxes, metres.
    fn walls(&self, scene: &Scene) -> anyhow::Result<()> {
        let (mut centers, mut half_sizes) = (Vec::new(), Vec::new());
        for shape in scene.shapes.iter().filter(|s| s.label == "wall") {
            if let Geometry::Cuboid { half_extents } = shape.geometry {
                centers.push(shape.center);
                half_sizes.push(half_extents);
            }
        }
        self.stream.log_static(
            "world/scene/walls",
            &Boxes3D::from_centers_and_half_sizes(centers, half_sizes).with_colors([rgb(WALL)]),
        )?;
        Ok(())
    }

    /// Logs the task's obstacles (hard constraints on the planned positions) as outlines on the
    /// floor, one entity per obstacle under `world/scene/obstacles`.
    fn obstacles(&self, constraints: &ConstraintConfig) -> anyhow::Result<()> {
        for (i, obstacle) in constraints.obstacle.iter().enumerate() {
            let outline: Vec<[f32; 3]> =
                outline(obstacle, OUTLINE_POINTS).into_iter().map(|[x, y]| [x as f32, y as f32, 0.0]).collect();
            self.stream.log_static(
                format!("world/scene/obstacles/{}", obstacle.label(i)),
                &LineStrips3D::new([outline]).with_colors([rgb(OBSTACLE)]).with_radii([0.02]),
            )?;
        }
        Ok(())
    }

    /// Flushes and closes the recording; returns the file written, if any, with its size in bytes.
    pub fn finish(self) -> anyhow::Result<Option<(PathBuf, u64)>> {
        if self.stream.is_enabled() {
            self.stream.flush_blocking().context("flushing the recording")?;
        }
        drop(self.stream);
        Ok(match self.file {
            Some(path) => {
                let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
                Some((path, bytes))
            }
            None => None,
        })
    }
}

impl Recorder {
    /// Reports the first failed logging call; telemetry never stops the robot.
    fn check(&mut self, result: Result<(), rerun::RecordingStreamError>) {
        if let Err(error) = result
            && !self.failed
        {
            self.failed = true;
            tracing::warn!("the Rerun recording lost data: {error}");
        }
    }

    /// Where `state` puts the robot, metres (the origin before a task is known).
    fn position(&self, state: &[f32]) -> [f32; 3] {
        self.task.as_ref().map_or([0.0; 3], |task| task.position(state))
    }

    fn log_step(&mut self, t: u64, observation: &[f32], reward: f32, tracking_error: Option<f32>) -> RecordResult {
        self.stream.set_duration_secs("sim_time", t as f64 * self.dt);
        let position = self.position(observation);
        self.executed.push(position);
        self.stream.log("world/robot", &Points3D::new([position]).with_radii([0.1]).with_colors([rgb(EXECUTED)]))?;
        // The whole path every 10 steps keeps the recording small and the path visible.
        if t.is_multiple_of(10) {
            let path = LineStrips3D::new([self.executed.clone()]).with_colors([rgb(EXECUTED)]).with_radii([0.03]);
            self.stream.log("world/executed", &path)?;
        }
        self.log_body(t, observation)?;
        self.stream.log("metrics/robot/reward", &Scalars::single(f64::from(reward)))?;
        if let Some(error) = tracking_error {
            self.stream.log("metrics/robot/tracking_error", &Scalars::single(f64::from(error)))?;
        }
        Ok(())
    }

    /// An arm's links at `observation` (capsules) and what it handles (boxes: the pick-and-place
    /// cube), and each joint's angle beside the plan's for step `t` and the joint's limits
    /// (`metrics/joints/<joint>/…`); nothing for a robot drawn as a point.
    fn log_body(&mut self, t: u64, observation: &[f32]) -> RecordResult {
        let Some(task) = self.task.clone() else { return Ok(()) };
        let shapes = task.body_shapes(observation);
        if shapes.is_empty() {
            return Ok(());
        }
        let (mut starts, mut ends, mut radii) = (Vec::new(), Vec::new(), Vec::new());
        let (mut centers, mut half_sizes) = (Vec::new(), Vec::new());
        for shape in &shapes {
            match shape.geometry {
                Geometry::Capsule { half_axis, radius } => {
                    starts.push(std::array::from_fn::<f32, 3, _>(|i| shape.center[i] - half_axis[i]));
                    ends.push(std::array::from_fn::<f32, 3, _>(|i| shape.center[i] + half_axis[i]));
                    radii.push(radius);
                }
                Geometry::Cuboid { half_extents } => {
                    centers.push(shape.center);
                    half_sizes.push(half_extents);
                }
                Geometry::Sphere { .. } => {}
            }
        }
        self.stream.log("world/robot/links", &capsules(&starts, &ends, &radii).with_colors([rgb(ARM)]))?;
        if !centers.is_empty() {
            self.stream.log("world/robot/objects", &Boxes3D::from_centers_and_half_sizes(centers, half_sizes))?;
        }
        let limits = task.limits();
        let planned = self.plan.as_ref().map(|(from, states)| {
            let row = (t.saturating_sub(*from) as usize).min(states.len() - 1);
            states[row].clone()
        });
        for bound in limits.bounds.iter().filter(|b| b.kind == JOINT_RANGE) {
            let name = &limits.components[bound.component].0;
            let value = |v: f32| Scalars::single(f64::from(v));
            self.stream.log(format!("metrics/joints/{name}/executed"), &value(observation[bound.component]))?;
            if let Some(row) = &planned {
                self.stream.log(format!("metrics/joints/{name}/planned"), &value(row[bound.component]))?;
            }
            self.stream.log(format!("metrics/joints/{name}/lower"), &value(bound.low))?;
            self.stream.log(format!("metrics/joints/{name}/upper"), &value(bound.high))?;
        }
        Ok(())
    }

    /// The obstacles of the episode reset with `seed` (balls and boxes the task draws per
    /// episode), replacing the last episode's.
    fn log_episode_obstacles(&self, seed: u64) -> RecordResult {
        let Some(task) = &self.task else { return Ok(()) };
        let (mut balls, mut radii, mut box_centers, mut half_sizes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for obstacle in task.obstacles(seed) {
            let point = |p: [f64; 3]| p.map(|v| v as f32);
            match obstacle {
                WorkspaceObstacle::Sphere { center, radius } => {
                    balls.push(point(center));
                    radii.push(radius as f32);
                }
                WorkspaceObstacle::Box { center, half_extents } => {
                    box_centers.push(point(center));
                    half_sizes.push(point(half_extents));
                }
            }
        }
        let entity = "world/scene/episode_obstacles";
        self.stream.log(
            format!("{entity}/balls"),
            &Ellipsoids3D::from_centers_and_radii(balls, radii).with_colors([rgb(OBSTACLE)]),
        )?;
        self.stream.log(
            format!("{entity}/boxes"),
            &Boxes3D::from_centers_and_half_sizes(box_centers, half_sizes).with_colors([rgb(OBSTACLE)]),
        )
    }

    fn log_plan(&mut self, t: u64, plan: &PlannedPath) -> RecordResult {
        self.plan = Some((t, plan.states.clone()));
        self.stream.set_duration_secs("sim_time", t as f64 * self.dt);
        self.stream.set_time_sequence("plan", self.plans);
        self.plans += 1;
        let path: Vec<[f32; 3]> = plan.states.iter().map(|s| self.position(s)).collect();
        let ends = [path[0], path[path.len() - 1]];
        self.stream.log("world/plan", &LineStrips3D::new([path]).with_colors([rgb(PLANNED)]).with_radii([0.03]))?;
        self.stream.log("world/plan/ends", &Points3D::new(ends).with_radii([0.08]).with_colors([rgb(PLANNED)]))?;
        self.stream.log("metrics/plan/latency_ms", &Scalars::single(plan.latency_ms))?;
        self.stream.log("metrics/plan/model_calls", &Scalars::single(plan.model_calls as f64))?;
        self.stream.log("metrics/plan/model_ms", &Scalars::single(plan.model_ms))?;
        if let Some(violation) = plan.constraint_violation {
            self.stream.log("metrics/plan/constraint_violation", &Scalars::single(violation))?;
        }
        let text = format!(
            "plan {} adopted at step {t} ({:.0} ms, {} model calls)",
            self.plans - 1,
            plan.latency_ms,
            plan.model_calls
        );
        self.stream.log("events", &TextLog::new(text).with_level(rerun::TextLogLevel::INFO))
    }
}

type RecordResult = Result<(), rerun::RecordingStreamError>;

/// Capsules from `starts[i]` to `ends[i]` of `radii[i]`: Rerun's capsules run along +z from the
/// origin, so each is turned onto its axis by the shortest rotation and moved to its start.
fn capsules(starts: &[[f32; 3]], ends: &[[f32; 3]], radii: &[f32]) -> Capsules3D {
    let mut lengths = Vec::with_capacity(starts.len());
    let mut turns = Vec::with_capacity(starts.len());
    for (a, b) in starts.iter().zip(ends) {
        let axis: [f32; 3] = std::array::from_fn(|i| b[i] - a[i]);
        let length = axis.iter().map(|v| v * v).sum::<f32>().sqrt();
        lengths.push(length);
        turns.push(if length == 0.0 {
            Quaternion::IDENTITY
        } else {
            let d = axis.map(|v| v / length);
            // The rotation of +z onto d: axis z × d = (−d_y, d_x, 0), w = 1 + d_z, normalized; d = −z
            // turns half a turn about x.
            let (x, y, w) = (-d[1], d[0], 1.0 + d[2]);
            let norm = (x * x + y * y + w * w).sqrt();
            if norm < 1e-6 {
                Quaternion::from_xyzw([1.0, 0.0, 0.0, 0.0])
            } else {
                Quaternion::from_xyzw([x / norm, y / norm, 0.0, w / norm])
            }
        });
    }
    Capsules3D::from_lengths_and_radii(lengths, radii.iter().copied())
        .with_translations(starts.iter().copied())
        .with_quaternions(turns)
}

impl EpisodeObserver for Recorder {
    fn episode_began(&mut self, seed: u64, goal: &[f32], dt: f64) {
        if !self.stream.is_enabled() {
            return;
        }
        self.executed.clear();
        self.plan = None;
        self.dt = dt;
        self.stream.set_time_sequence("episode", seed as i64);
        self.stream.set_duration_secs("sim_time", 0.0);
        let logged = self
            .stream
            .log("world/goal", &Points3D::new([self.position(goal)]).with_radii([0.15]).with_colors([rgb(GOAL)]));
        self.check(logged);
        let logged = self.log_episode_obstacles(seed);
        self.check(logged);
        self.event(Level::Info, &format!("episode {seed} begins"));
    }

    fn planned(&mut self, t: u64, plan: &PlannedPath) {
        if !self.stream.is_enabled() {
            return;
        }
        let logged = self.log_plan(t, plan);
        self.check(logged);
    }

    fn stepped(&mut self, t: u64, observation: &[f32], reward: f32, tracking_error: Option<f32>) {
        if !self.stream.is_enabled() {
            return;
        }
        let logged = self.log_step(t, observation, reward, tracking_error);
        self.check(logged);
    }

    fn event(&mut self, level: Level, text: &str) {
        let level = match level {
            Level::Warn => rerun::TextLogLevel::WARN,
            Level::Info => rerun::TextLogLevel::INFO,
        };
        let logged = self.stream.log("events", &TextLog::new(text).with_level(level));
        self.check(logged);
    }
}
