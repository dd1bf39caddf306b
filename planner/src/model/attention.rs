//! Diffuser's optional linear attention, wrapped as `Residual(PreNorm(LinearAttention))`
//! (docs/ALGORITHMS.md §1.1). Parameter paths: `fn.norm.{g,b}`, `fn.fn.to_qkv`, `fn.fn.to_out`.

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// Attention heads (Diffuser: 4).
const HEADS: i64 = 4;
/// Width of one head (Diffuser: 32).
const HEAD_DIM: i64 = 32;
/// LayerNorm epsilon (Diffuser: 1e-5).
const LAYER_NORM_EPS: f64 = 1e-5;

/// `x + LinearAttention(LayerNorm_channels(x))`.
#[derive(Debug)]
pub(crate) struct ResidualAttention {
    gain: Tensor,
    bias: Tensor,
    to_qkv: nn::Conv1D,
    to_out: nn::Conv1D,
}

impl ResidualAttention {
    pub(crate) fn new(p: &nn::Path, dim: i64) -> Self {
        let inner = p / "fn";
        let norm = &inner / "norm";
        let attention = &inner / "fn";
        let hidden = HEADS * HEAD_DIM;
        Self {
            gain: norm.var("g", &[1, dim, 1], nn::Init::Const(1.0)),
            bias: norm.var("b", &[1, dim, 1], nn::Init::Const(0.0)),
            to_qkv: nn::conv1d(
                &attention / "to_qkv",
                dim,
                hidden * 3,
                1,
                nn::ConvConfig { bias: false, ..Default::default() },
            ),
            to_out: nn::conv1d(&attention / "to_out", hidden, dim, 1, Default::default()),
        }
    }
}

impl Module for ResidualAttention {
    /// # Shapes
    /// `x`: `[B, dim, L]` → `[B, dim, L]`.
    fn forward(&self, x: &Tensor) -> Tensor {
        // No size() calls here: a traced TorchScript export must not bake in the batch size.
        let mean = x.mean_dim(1, true, Kind::Float);
        let var = x.var_correction(1, 0, true);
        let normed = (x - mean) / (var + LAYER_NORM_EPS).sqrt() * &self.gain + &self.bias;
        let qkv = normed.apply(&self.to_qkv).chunk(3, 1);
        let heads = |u: &Tensor| u.unflatten(1, [HEADS, HEAD_DIM]);
        let q = heads(&qkv[0]) * (HEAD_DIM as f64).powf(-0.5);
        let k = heads(&qkv[1]).softmax(-1, Kind::Float);
        let v = heads(&qkv[2]);
        let context = Tensor::einsum("bhdn,bhen->bhde", &[k, v], None::<i64>);
        let out = Tensor::einsum("bhde,bhdn->bhen", &[context, q], None::<i64>);
        out.flatten(1, 2).apply(&self.to_out) + x
    }
}
