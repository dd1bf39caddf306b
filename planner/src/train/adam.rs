//! Adam (Kingma & Ba 2015) without weight decay, with global-norm gradient clipping, written
//! out so that its moments can be saved and a run resumed exactly.

use std::collections::BTreeMap;

use tch::{Kind, Tensor};

/// β1, β2 and ε of Adam (PyTorch's defaults, as Diffuser uses them).
const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPSILON: f64 = 1e-8;

/// Adam's state for a set of named variables.
#[derive(Debug)]
pub struct Adam {
    learning_rate: f64,
    step: i64,
    first: BTreeMap<String, Tensor>,
    second: BTreeMap<String, Tensor>,
}

impl Adam {
    /// Zero moments for `variables`.
    #[must_use]
    pub fn new(variables: &BTreeMap<String, Tensor>, learning_rate: f64) -> Self {
        let zeros = || variables.iter().map(|(name, v)| (name.clone(), v.zeros_like())).collect();
        Self { learning_rate, step: 0, first: zeros(), second: zeros() }
    }

    /// Clips the gradients' global norm to `max_norm` (0: no clipping), then takes one step.
    /// Variables without a gradient (unused by the loss) are left alone. Returns the gradient
    /// norm before clipping.
    pub fn step(&mut self, variables: &BTreeMap<String, Tensor>, max_norm: f64) -> f64 {
        let _no_grad = tch::no_grad_guard();
        let with_gradient: Vec<(&String, &Tensor, Tensor)> =
            variables.iter().map(|(name, v)| (name, v, v.grad())).filter(|(_, _, g)| g.defined()).collect();
        if with_gradient.is_empty() {
            return 0.0;
        }
        let norms: Vec<Tensor> = with_gradient.iter().map(|(_, _, g)| g.norm()).collect();
        let norm = Tensor::stack(&norms, 0).to_kind(Kind::Double).square().sum(Kind::Double).sqrt().double_value(&[]);
        let clipped = (max_norm > 0.0 && norm > max_norm).then(|| max_norm / (norm + 1e-6));
        self.step += 1;
        let correction1 = 1.0 - BETA1.powi(self.step as i32);
        let correction2 = 1.0 - BETA2.powi(self.step as i32);
        // In place where PyTorch's Adam is: each temporary is a full copy of a parameter.
        for (name, variable, mut gradient) in with_gradient {
            let (Some(m), Some(v)) = (self.first.get_mut(name), self.second.get_mut(name)) else { continue };
            if let Some(scale) = clipped {
                // The gradient is zeroed before the next backward pass, so it may be scaled in place.
                let _ = gradient.g_mul_scalar_(scale);
            }
            let _ = m.lerp_(&gradient, 1.0 - BETA1);
            let _ = v.g_mul_scalar_(BETA2).addcmul_(&(&gradient * (1.0 - BETA2)), &gradient);
            let mut update = &*m * (self.learning_rate / correction1);
            let mut denominator = v.sqrt();
            let _ = denominator.g_div_scalar_(correction2.sqrt()).g_add_scalar_(EPSILON);
            let _ = update.g_div_(&denominator);
            let mut variable = variable.shallow_clone();
            variable -= update;
        }
        norm
    }

    /// The moments as named tensors (`first.<var>`, `second.<var>`), for saving.
    #[must_use]
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let named = |prefix: &str, map: &BTreeMap<String, Tensor>| {
            map.iter().map(|(k, v)| (format!("{prefix}.{k}"), v.shallow_clone())).collect::<Vec<_>>()
        };
        let mut state = named("first", &self.first);
        state.extend(named("second", &self.second));
        state
    }

    /// Restores moments saved by [`Adam::state`] after `steps` steps; returns the names of
    /// moments that were missing.
    pub fn restore(&mut self, state: Vec<(String, Tensor)>, steps: i64) -> Vec<String> {
        let mut state: BTreeMap<String, Tensor> = state.into_iter().collect();
        let mut missing = Vec::new();
        for (prefix, map) in [("first", &mut self.first), ("second", &mut self.second)] {
            for (name, moment) in map.iter_mut() {
                match state.remove(&format!("{prefix}.{name}")) {
                    Some(saved) => *moment = saved.to_device(moment.device()),
                    None => missing.push(format!("{prefix}.{name}")),
                }
            }
        }
        self.step = steps;
        missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_adam_update_written_out_by_hand() {
        // Reference: Kingma & Ba, Algorithm 1, two steps on f(w) = Σ w² with w = (1, −2).
        let mut w = Tensor::from_slice(&[1.0f32, -2.0]).set_requires_grad(true);
        let variables = BTreeMap::from([("w".to_string(), w.shallow_clone())]);
        let mut adam = Adam::new(&variables, 0.1);
        let mut want = [1.0f64, -2.0];
        let (mut m, mut v) = ([0.0f64; 2], [0.0f64; 2]);
        for step in 1..=2 {
            w.zero_grad();
            (&w * &w).sum(Kind::Float).backward();
            adam.step(&variables, 0.0);
            for i in 0..2 {
                let g = 2.0 * want[i];
                m[i] = BETA1 * m[i] + (1.0 - BETA1) * g;
                v[i] = BETA2 * v[i] + (1.0 - BETA2) * g * g;
                let (m_hat, v_hat) = (m[i] / (1.0 - BETA1.powi(step)), v[i] / (1.0 - BETA2.powi(step)));
                want[i] -= 0.1 * m_hat / (v_hat.sqrt() + EPSILON);
                assert!((w.double_value(&[i as i64]) - want[i]).abs() < 1e-6, "step {step}, w[{i}]");
            }
        }
    }

    #[test]
    fn clipping_scales_the_gradient_to_the_norm() {
        // With clipping at 1, a gradient (30, 40) acts like (0.6, 0.8): Adam's first step moves
        // each weight by lr·sign(g) whatever the scale, so compare the second moment instead.
        let w = Tensor::from_slice(&[0.0f32, 0.0]).set_requires_grad(true);
        let variables = BTreeMap::from([("w".to_string(), w.shallow_clone())]);
        let mut adam = Adam::new(&variables, 0.1);
        (&w * Tensor::from_slice(&[30.0f32, 40.0])).sum(Kind::Float).backward();
        let norm = adam.step(&variables, 1.0);
        assert!((norm - 50.0).abs() < 1e-4);
        let second = adam.state().into_iter().find(|(n, _)| n == "second.w").expect("second moment").1;
        assert!((second.double_value(&[0]) - 0.001 * 0.36).abs() < 1e-6);
    }
}
