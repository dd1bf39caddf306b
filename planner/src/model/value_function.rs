//! Diffuser's value function in `tch::nn` (docs/ALGORITHMS.md §1.3).

use tch::Tensor;
use tch::nn;

use crate::model::layers::{ResidualTemporalBlock, TimeMlp, downsample, level_widths};

/// The U-Net's down path (every level halves the length, the last one too), two narrowing
/// residual blocks each followed by a halving, then `Linear(fc + dim, fc/2) → Mish →
/// Linear(fc/2, 1)` on the flattened features concatenated with the time embedding.
///
/// `fc` uses the true length after each stride-2 convolution (⌈L/2⌉ per halving). Diffuser
/// computes it with a formula that agrees wherever Diffuser's own module runs (e.g. H = 32,
/// dim_mults (1, 2, 4, 8): fc = 64) and fails to build elsewhere.
#[derive(Debug)]
pub struct ValueFunction {
    time_mlp: TimeMlp,
    levels: Vec<(ResidualTemporalBlock, ResidualTemporalBlock, nn::Conv1D)>,
    mid_first: ResidualTemporalBlock,
    mid_first_down: nn::Conv1D,
    mid_second: ResidualTemporalBlock,
    mid_second_down: nn::Conv1D,
    hidden: nn::Linear,
    out: nn::Linear,
}

impl ValueFunction {
    /// Creates the variables under `p` with Diffuser's `state_dict` names.
    #[must_use]
    pub fn new(p: &nn::Path, transition_dim: usize, horizon: usize, dim: usize, dim_mults: &[usize]) -> Self {
        let dim = dim as i64;
        let widths = level_widths(transition_dim as i64, dim, dim_mults);
        let levels = widths
            .iter()
            .enumerate()
            .map(|(i, &(c_in, c_out))| {
                let level = p / "blocks" / i;
                (
                    ResidualTemporalBlock::new(&(&level / 0), c_in, c_out, dim),
                    ResidualTemporalBlock::new(&(&level / 1), c_out, c_out, dim),
                    downsample(&(&level / 2), c_out),
                )
            })
            .collect();
        let mid = widths[widths.len() - 1].1;
        let halvings = widths.len() + 2;
        let final_length = (0..halvings).fold(horizon as i64, |length, _| (length + 1) / 2);
        let fc = mid / 4 * final_length;
        Self {
            time_mlp: TimeMlp::new(&(p / "time_mlp"), dim),
            levels,
            mid_first: ResidualTemporalBlock::new(&(p / "mid_block1"), mid, mid / 2, dim),
            mid_first_down: downsample(&(p / "mid_down1"), mid / 2),
            mid_second: ResidualTemporalBlock::new(&(p / "mid_block2"), mid / 2, mid / 4, dim),
            mid_second_down: downsample(&(p / "mid_down2"), mid / 4),
            hidden: nn::linear(p / "final_block" / 0, fc + dim, fc / 2, Default::default()),
            out: nn::linear(p / "final_block" / 2, fc / 2, 1, Default::default()),
        }
    }

    /// Values of noisy trajectories.
    ///
    /// # Shapes
    /// `x_t`: `[B, H, A + O]`, `t`: `[B]` diffusion steps → `[B, 1]`.
    pub fn forward(&self, x_t: &Tensor, t: &Tensor) -> Tensor {
        let t_embedding = self.time_mlp.forward(t);
        let mut h = x_t.transpose(1, 2);
        for (first, second, down) in &self.levels {
            h = second.forward(&first.forward(&h, &t_embedding), &t_embedding).apply(down);
        }
        h = self.mid_first.forward(&h, &t_embedding).apply(&self.mid_first_down);
        h = self.mid_second.forward(&h, &t_embedding).apply(&self.mid_second_down);
        Tensor::cat(&[h.flatten(1, -1), t_embedding], -1).apply(&self.hidden).mish().apply(&self.out)
    }
}
