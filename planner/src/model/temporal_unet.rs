//! Diffuser's temporal U-Net denoiser in `tch::nn` (docs/ALGORITHMS.md §1.2).

use tch::Tensor;
use tch::nn::{self, Module};

use crate::model::attention::ResidualAttention;
use crate::model::layers::{Conv1dBlock, ResidualTemporalBlock, TimeMlp, downsample, level_widths, upsample};

/// One resolution level: two residual blocks, optional attention, and a resampling conv.
#[derive(Debug)]
struct Level<R> {
    first: ResidualTemporalBlock,
    second: ResidualTemporalBlock,
    attention: Option<ResidualAttention>,
    resample: Option<R>,
}

impl<R: Module> Level<R> {
    fn new(p: &nn::Path, c_in: i64, c_out: i64, embed_dim: i64, attention: bool, resample: Option<R>) -> Self {
        Self {
            first: ResidualTemporalBlock::new(&(p / 0), c_in, c_out, embed_dim),
            second: ResidualTemporalBlock::new(&(p / 1), c_out, c_out, embed_dim),
            attention: attention.then(|| ResidualAttention::new(&(p / 2), c_out)),
            resample,
        }
    }

    /// Returns the level's features before resampling (the skip) and after it.
    fn forward(&self, x: &Tensor, t_embedding: &Tensor) -> (Tensor, Tensor) {
        let h = self.second.forward(&self.first.forward(x, t_embedding), t_embedding);
        let h = match &self.attention {
            Some(attention) => attention.forward(&h),
            None => h,
        };
        let resampled = match &self.resample {
            Some(resample) => h.apply(resample),
            None => h.shallow_clone(),
        };
        (h, resampled)
    }
}

/// The temporal U-Net: `dim_mults.len()` down levels (all but the last halve the length), a
/// middle of two residual blocks, `dim_mults.len() − 1` up levels that each double the length,
/// and a final conv block + 1×1 conv back to the transition width. The time embedding is added
/// inside every residual block.
#[derive(Debug)]
pub struct TemporalUnet {
    time_mlp: TimeMlp,
    downs: Vec<Level<nn::Conv1D>>,
    mid_first: ResidualTemporalBlock,
    mid_attention: Option<ResidualAttention>,
    mid_second: ResidualTemporalBlock,
    ups: Vec<Level<nn::ConvTranspose1D>>,
    final_block: Conv1dBlock,
    final_conv: nn::Conv1D,
}

impl TemporalUnet {
    /// Creates the variables under `p` with Diffuser's `state_dict` names.
    #[must_use]
    pub fn new(p: &nn::Path, transition_dim: usize, dim: usize, dim_mults: &[usize], attention: bool) -> Self {
        let (transition_dim, dim) = (transition_dim as i64, dim as i64);
        let widths = level_widths(transition_dim, dim, dim_mults);
        let last = widths.len() - 1;
        let downs = widths
            .iter()
            .enumerate()
            .map(|(i, &(c_in, c_out))| {
                let level = p / "downs" / i;
                let resample = (i < last).then(|| downsample(&(&level / 3), c_out));
                Level::new(&level, c_in, c_out, dim, attention, resample)
            })
            .collect();
        let mid = widths[last].1;
        let ups = widths[1..]
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &(c_in, c_out))| {
                let level = p / "ups" / i;
                Level::new(&level, c_out * 2, c_in, dim, attention, Some(upsample(&(&level / 3), c_in)))
            })
            .collect();
        Self {
            time_mlp: TimeMlp::new(&(p / "time_mlp"), dim),
            downs,
            mid_first: ResidualTemporalBlock::new(&(p / "mid_block1"), mid, mid, dim),
            mid_attention: attention.then(|| ResidualAttention::new(&(p / "mid_attn"), mid)),
            mid_second: ResidualTemporalBlock::new(&(p / "mid_block2"), mid, mid, dim),
            ups,
            final_block: Conv1dBlock::new(&(p / "final_conv" / 0), dim, dim, 5),
            final_conv: nn::conv1d(p / "final_conv" / 1, dim, transition_dim, 1, Default::default()),
        }
    }

    /// Runs the network.
    ///
    /// # Shapes
    /// `x_t`: `[B, H, A + O]`, `t`: `[B]` diffusion steps → `[B, H, A + O]` (ε or x0).
    pub fn forward(&self, x_t: &Tensor, t: &Tensor) -> Tensor {
        let t_embedding = self.time_mlp.forward(t);
        let mut h = x_t.transpose(1, 2);
        // Diffuser pushes every level's skip but never pops the first (full-resolution) one.
        let mut skips = Vec::with_capacity(self.downs.len());
        for level in &self.downs {
            let (skip, down) = level.forward(&h, &t_embedding);
            skips.push(skip);
            h = down;
        }
        h = self.mid_first.forward(&h, &t_embedding);
        if let Some(attention) = &self.mid_attention {
            h = attention.forward(&h);
        }
        h = self.mid_second.forward(&h, &t_embedding);
        for (level, skip) in self.ups.iter().zip(skips.iter().rev()) {
            let (_, up) = level.forward(&Tensor::cat(&[&h, skip], 1), &t_embedding);
            h = up;
        }
        h.apply(&self.final_block).apply(&self.final_conv).transpose(1, 2)
    }
}
