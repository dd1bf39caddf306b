//! Logs how a plan came out of the noise: the first candidate's x_t and x0_hat at every
//! denoising step, as paths in the world (metres, where the task puts each state), scrubbable on
//! the `denoise_step` timeline.

use std::sync::Arc;

use planner::model::ModelSpec;
use planner::observer::{DenoisingStep, Observer, PicardSweep};
use rerun::{Color, LineStrips3D, RecordingStream, Scalars, TimeColumn};
use tch::{Device, Kind, Tensor};

use crate::task::Task;

/// Collects the steps of one plan, then sends them as columns (one row per step).
pub struct DenoiseObserver {
    stream: RecordingStream,
    spec: ModelSpec,
    task: Arc<dyn Task>,
    x_t: Vec<Vec<[f32; 3]>>,
    x0_hat: Vec<Vec<[f32; 3]>>,
    /// Per Picard sweep: the largest state error of its window, relative to τ² (≤ 1: converged).
    sweep_residuals: Vec<f64>,
    /// Every candidate's x0_hat at the last step: the batch the plan was chosen from.
    candidates: Vec<Vec<[f32; 3]>>,
}

impl DenoiseObserver {
    /// An observer of `task`'s plans by the model `spec`, logging to `stream`.
    #[must_use]
    pub fn new(stream: RecordingStream, spec: ModelSpec, task: Arc<dyn Task>) -> Self {
        Self {
            stream,
            spec,
            task,
            x_t: Vec::new(),
            x0_hat: Vec::new(),
            sweep_residuals: Vec::new(),
            candidates: Vec::new(),
        }
    }

    /// The first candidate's positions in metres.
    fn floor_path(&self, normalized: &Tensor) -> Vec<[f32; 3]> {
        self.floor_paths(&normalized.narrow(0, 0, 1)).pop().unwrap_or_default()
    }

    /// Every candidate's positions in metres, `[B, H, A + O]` normalized → B paths.
    fn floor_paths(&self, normalized: &Tensor) -> Vec<Vec<[f32; 3]>> {
        let data = self.spec.normalizer.unnormalize(&normalized.to_device(Device::Cpu).to_kind(Kind::Float), 0);
        let (width, horizon) = (self.spec.action_dim + self.spec.observation_dim, self.spec.horizon);
        let values: Vec<f32> = Vec::try_from(data.flatten(0, -1)).unwrap_or_default();
        values
            .chunks(width * horizon)
            .map(|plan| plan.chunks(width).map(|row| self.task.position(&row[self.spec.action_dim..])).collect())
            .collect()
    }

    /// Sends the collected steps (and Picard sweeps) as plan `plan`, made at `sim_time_s`.
    pub fn finish(self, plan: i64, sim_time_s: f64) -> anyhow::Result<()> {
        let sweeps = self.sweep_residuals.len();
        if sweeps > 0 {
            let times = [
                TimeColumn::new_sequence("picard_sweep", 0..sweeps as i64),
                TimeColumn::new_sequence("plan", std::iter::repeat_n(plan, sweeps)),
                TimeColumn::new_duration_secs("sim_time", std::iter::repeat_n(sim_time_s, sweeps)),
            ];
            let residuals = Scalars::new(self.sweep_residuals).columns_of_unit_batches()?;
            self.stream.send_columns("metrics/plan/picard_residual", times, residuals)?;
        }
        let steps = self.x0_hat.len();
        if steps == 0 {
            return Ok(());
        }
        // Stateful time is per thread: this sets the planner thread's own clock.
        self.stream.set_time_sequence("plan", plan);
        self.stream.set_duration_secs("sim_time", sim_time_s);
        let candidates = LineStrips3D::new(self.candidates).with_colors([Color::from_rgb(250, 200, 120)]);
        self.stream.log("world/denoise/candidates", &candidates)?;
        let times = || {
            [
                TimeColumn::new_sequence("denoise_step", 0..steps as i64),
                TimeColumn::new_sequence("plan", std::iter::repeat_n(plan, steps)),
                TimeColumn::new_duration_secs("sim_time", std::iter::repeat_n(sim_time_s, steps)),
            ]
        };
        for (entity, paths, color) in [
            ("world/denoise/x0_hat", self.x0_hat, Color::from_rgb(200, 60, 200)),
            ("world/denoise/x_t", self.x_t, Color::from_rgb(160, 160, 160)),
        ] {
            let strips = LineStrips3D::update_fields()
                .with_strips(paths)
                .with_colors(std::iter::repeat_n(color, steps))
                .columns_of_unit_batches()?;
            self.stream.send_columns(entity, times(), strips)?;
        }
        Ok(())
    }
}

impl Observer for DenoiseObserver {
    fn on_step(&mut self, step: &DenoisingStep<'_>) {
        let x_t = self.floor_path(step.x_t);
        let x0_hat = self.floor_path(step.x0_hat);
        self.x_t.push(x_t);
        self.x0_hat.push(x0_hat);
        // The last step is the one at model timestep 0 (every sampler ends on the clean end).
        if step.t == 0 {
            self.candidates = self.floor_paths(step.x0_hat);
        }
    }

    fn on_sweep(&mut self, sweep: &PicardSweep) {
        self.sweep_residuals.push(sweep.errors.iter().copied().fold(0.0, f64::max));
    }
}
