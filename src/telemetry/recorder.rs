//! The recording of a run: one Rerun stream, the entity hierarchy of docs/TELEMETRY.md, and the
//! executed path of the current episode.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use planner::constraints::{ConstraintConfig, outline};
use rerun::blueprint::{Blueprint, Horizontal, Spatial3DView, TextLogView, TimePanel, TimeSeriesView, Vertical};
use rerun::{Boxes3D, Color, LineStrips3D, Points3D, RecordingStream, Scalars, TextLog};
use sim::{Geometry, Scene};

use super::sink::Sink;
use crate::episode::{EpisodeObserver, Level, PlannedPath};
use crate::task::Task;

/// Colours: walls grey, executed path blue, plans orange, goal green.
const WALL: [u8; 3] = [120, 120, 120];
const EXECUTED: [u8; 3] = [40, 110, 230];
const PLANNED: [u8; 3] = [240, 140, 30];
const GOAL: [u8; 3] = [30, 180, 60];
/// Obstacles of the task's constraints: red.
const OBSTACLE: [u8; 3] = [220, 40, 40];
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
}

/// The layout the viewer opens with: the world on the left; timings and the event log on the right.
fn blueprint() -> Blueprint {
    Blueprint::new(Horizontal::new([
        Spatial3DView::new("world").with_origin("/world").into(),
        Vertical::new([
            TimeSeriesView::new("plan timings").with_origin("/metrics/plan").into(),
            TimeSeriesView::new("robot").with_origin("/metrics/robot").into(),
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
        Ok(Self { stream, file, plans: 0, executed: Vec::new(), dt: 0.0, failed: false, task: None })
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
        self.stream.log("metrics/robot/reward", &Scalars::single(f64::from(reward)))?;
        if let Some(error) = tracking_error {
            self.stream.log("metrics/robot/tracking_error", &Scalars::single(f64::from(error)))?;
        }
        Ok(())
    }

    fn log_plan(&mut self, t: u64, plan: &PlannedPath) -> RecordResult {
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

impl EpisodeObserver for Recorder {
    fn episode_began(&mut self, seed: u64, goal: &[f32], dt: f64) {
        if !self.stream.is_enabled() {
            return;
        }
        self.executed.clear();
        self.dt = dt;
        self.stream.set_time_sequence("episode", seed as i64);
        self.stream.set_duration_secs("sim_time", 0.0);
        let logged = self
            .stream
            .log("world/goal", &Points3D::new([self.position(goal)]).with_radii([0.15]).with_colors([rgb(GOAL)]));
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
