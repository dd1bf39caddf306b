//! Building blocks of Diffuser's temporal networks (docs/ALGORITHMS.md §1.1), named so that the
//! variable paths equal the `state_dict` keys of the original PyTorch modules.
//!
//! All blocks work channels-first: `[B, C, H]`.

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// Convolution kernel size of every residual block (Diffuser: 5).
const KERNEL: i64 = 5;
/// GroupNorm groups (Diffuser: 8).
const GROUPS: i64 = 8;

/// Sinusoidal embedding of the diffusion step followed by Linear(d, 4d) → Mish → Linear(4d, d).
#[derive(Debug)]
pub(crate) struct TimeMlp {
    dim: i64,
    hidden: nn::Linear,
    out: nn::Linear,
}

impl TimeMlp {
    pub(crate) fn new(p: &nn::Path, dim: i64) -> Self {
        Self {
            dim,
            hidden: nn::linear(p / 1, dim, dim * 4, Default::default()),
            out: nn::linear(p / 3, dim * 4, dim, Default::default()),
        }
    }

    /// # Shapes
    /// `t`: `[B]` integer steps (any numeric kind) → `[B, dim]`.
    pub(crate) fn forward(&self, t: &Tensor) -> Tensor {
        let half = self.dim / 2;
        // freq_k = exp(−k · ln(10⁴) / (half − 1)); embedding = [sin(t·freq), cos(t·freq)].
        let freqs = (Tensor::arange(half, (Kind::Float, t.device())) * (-(10_000f64.ln()) / (half - 1) as f64)).exp();
        let angles = t.to_kind(Kind::Float).unsqueeze(1) * freqs.unsqueeze(0);
        let embedding = Tensor::cat(&[angles.sin(), angles.cos()], -1);
        embedding.apply(&self.hidden).mish().apply(&self.out)
    }
}

/// Conv1d(k, same padding) → GroupNorm(8) → Mish.
#[derive(Debug)]
pub(crate) struct Conv1dBlock {
    conv: nn::Conv1D,
    norm: nn::GroupNorm,
}

impl Conv1dBlock {
    pub(crate) fn new(p: &nn::Path, c_in: i64, c_out: i64, kernel: i64) -> Self {
        let block = p / "block";
        let conv_config = nn::ConvConfig { padding: kernel / 2, ..Default::default() };
        Self {
            conv: nn::conv1d(&block / 0, c_in, c_out, kernel, conv_config),
            norm: nn::group_norm(&block / 2, GROUPS, c_out, Default::default()),
        }
    }
}

impl Module for Conv1dBlock {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.apply(&self.conv).apply(&self.norm).mish()
    }
}

/// Two conv blocks with the time embedding added after the first, and a residual connection
/// (a 1×1 convolution when the width changes).
#[derive(Debug)]
pub(crate) struct ResidualTemporalBlock {
    first: Conv1dBlock,
    second: Conv1dBlock,
    time: nn::Linear,
    residual: Option<nn::Conv1D>,
}

impl ResidualTemporalBlock {
    pub(crate) fn new(p: &nn::Path, c_in: i64, c_out: i64, embed_dim: i64) -> Self {
        let blocks = p / "blocks";
        Self {
            first: Conv1dBlock::new(&(&blocks / 0), c_in, c_out, KERNEL),
            second: Conv1dBlock::new(&(&blocks / 1), c_out, c_out, KERNEL),
            time: nn::linear(p / "time_mlp" / 1, embed_dim, c_out, Default::default()),
            residual: (c_in != c_out).then(|| nn::conv1d(p / "residual_conv", c_in, c_out, 1, Default::default())),
        }
    }

    /// # Shapes
    /// `x`: `[B, c_in, L]`, `t_embedding`: `[B, embed_dim]` → `[B, c_out, L]`.
    pub(crate) fn forward(&self, x: &Tensor, t_embedding: &Tensor) -> Tensor {
        let h = self.first.forward(x) + t_embedding.mish().apply(&self.time).unsqueeze(-1);
        let h = self.second.forward(&h);
        match &self.residual {
            Some(conv) => h + x.apply(conv),
            None => h + x,
        }
    }
}

/// Conv1d(d, d, 3, stride 2, padding 1): length L ↦ ⌈L/2⌉.
pub(crate) fn downsample(p: &nn::Path, dim: i64) -> nn::Conv1D {
    let config = nn::ConvConfig { stride: 2, padding: 1, ..Default::default() };
    nn::conv1d(p / "conv", dim, dim, 3, config)
}

/// ConvTranspose1d(d, d, 4, stride 2, padding 1): length L ↦ 2L.
pub(crate) fn upsample(p: &nn::Path, dim: i64) -> nn::ConvTranspose1D {
    let config = nn::ConvTransposeConfig { stride: 2, padding: 1, ..Default::default() };
    nn::conv_transpose1d(p / "conv", dim, dim, 4, config)
}

/// Channel widths `(c_in, c_out)` of each resolution level: transition → dim·m₀ → dim·m₁ ….
pub(crate) fn level_widths(transition_dim: i64, dim: i64, dim_mults: &[usize]) -> Vec<(i64, i64)> {
    let widths: Vec<i64> = std::iter::once(transition_dim).chain(dim_mults.iter().map(|&m| dim * m as i64)).collect();
    widths.windows(2).map(|w| (w[0], w[1])).collect()
}
