//! Soft value-based decoding (SVDD, Li et al. 2024): derivative-free guidance inside sampling.
//!
//! At every step that adds noise, each of the B trajectories draws M noises (the tape's first,
//! then M − 1 from a stream of the plan's seed kept for this driver), the M·B candidates x_{k+1}
//! go through the next step's model call in one batch, their clean estimates are scored, and one
//! candidate per trajectory is kept: the best at temperature 0, else one drawn with probability
//! ∝ exp(score / temperature). The kept candidate's model output feeds the next step, so the
//! run still makes K batched model calls. M = 1 reproduces the sequential sampler.

use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use tch::Tensor;

use super::DriverRun;
use super::step_map::StepMap;
use crate::error::{Error, Result};
use crate::guidance::SoftDecodingConfig;
use crate::noise::{NoiseTape, standard_normals};
use crate::observer::{DenoisingStep, Observer};
use crate::sampler::Sampler;

/// Scores of candidate clean estimates, `[R, H, A + O]` normalized → R numbers (higher is better).
pub type Scorer<'a> = dyn Fn(&Tensor) -> Result<Vec<f64>> + 'a;

/// Runs `map` from the tape's x_T, choosing among `config.candidates` noises per trajectory at
/// each noisy step by `score`. `seed` seeds the extra noises and the draws at temperature > 0.
pub fn sample_soft_decoding(
    map: &StepMap<'_>,
    tape: &NoiseTape,
    config: &SoftDecodingConfig,
    score: &Scorer<'_>,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<DriverRun> {
    config.validate()?;
    let sampler = map.sampler();
    check_noisy(sampler)?;
    let _no_grad = tch::no_grad_guard();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(SOFT_DECODING_STREAM);
    let mut x = tape.initial().copy();
    map.inpainting().apply(&mut x);
    let batch = x.size()[0] as usize;
    let mut model_time = Duration::ZERO;
    let mut x_t = map.guided(&x, &[0], batch)?;
    let mut x0_hat = map.x0_hat(0, &x_t, &map.predict(&x_t, &[0], batch, &mut model_time)?)?;
    let mut x0_prev: Option<Tensor> = None;
    let steps = sampler.steps();
    for (k, &t) in sampler.timesteps().iter().enumerate() {
        observer.on_step(&DenoisingStep { k, t, x_t: &x_t, x0_hat: &x0_hat });
        let last = k + 1 == steps;
        let draws = if sampler.needs_noise(k) && !last { config.candidates } else { 1 };
        let noises = candidate_noises(tape.step(k), draws, &x, &mut rng);
        let mut candidates = Vec::with_capacity(draws);
        for noise in &noises {
            candidates.push(map.advance(k, &x_t, &x0_hat, x0_prev.as_ref(), noise.as_ref())?);
        }
        if last {
            x = candidates.swap_remove(0);
            break;
        }
        let stacked = Tensor::cat(&candidates, 0);
        let guided = map.guided(&stacked, &vec![k + 1; draws], batch)?;
        let outputs = map.predict(&guided, &vec![k + 1; draws], batch, &mut model_time)?;
        let estimates = map.x0_hat(k + 1, &guided, &outputs)?;
        let chosen = if draws == 1 {
            (0..batch as i64).collect()
        } else {
            choose(&score(&estimates)?, draws, batch, config.temperature, &mut rng)?
        };
        let index = Tensor::from_slice(&chosen).to_device(x.device());
        x0_prev = Some(x0_hat);
        x = stacked.index_select(0, &index);
        x_t = guided.index_select(0, &index);
        x0_hat = estimates.index_select(0, &index);
    }
    Ok(DriverRun { x, model_time, model_calls: steps, picard: None, iterates: Vec::new() })
}

/// Errors unless some step of `sampler` adds noise: otherwise there is nothing to choose between.
fn check_noisy(sampler: &Sampler) -> Result<()> {
    if (0..sampler.steps()).any(|k| sampler.needs_noise(k)) {
        return Ok(());
    }
    Err(Error::Request {
        field: "soft_decoding".into(),
        message: format!(
            "{} adds no noise, so there is nothing to choose between; use ddpm or ddim with eta > 0",
            sampler.config().kind.name()
        ),
    })
}

/// The ChaCha8 stream of a plan's seed that this driver draws from (the tape uses stream 0).
const SOFT_DECODING_STREAM: u64 = 1;

/// The M noises of one step: the tape's first, then fresh standard normals shaped like `like`.
fn candidate_noises(
    tape_noise: Option<&Tensor>,
    draws: usize,
    like: &Tensor,
    rng: &mut ChaCha8Rng,
) -> Vec<Option<Tensor>> {
    let mut noises = vec![tape_noise.map(Tensor::shallow_clone)];
    for _ in 1..draws {
        let values = standard_normals(rng, like.numel());
        noises.push(Some(Tensor::from_slice(&values).view(like.size().as_slice()).to_device(like.device())));
    }
    noises
}

/// Per trajectory b, the row (m·B + b) of the candidate kept: the best score, or a draw
/// ∝ exp(score / temperature).
fn choose(scores: &[f64], draws: usize, batch: usize, temperature: f64, rng: &mut ChaCha8Rng) -> Result<Vec<i64>> {
    if scores.len() != draws * batch || scores.iter().any(|s| !s.is_finite()) {
        return Err(Error::Internal {
            what: format!(
                "soft_decoding reward: {} scores for {} candidates, or a non-finite score",
                scores.len(),
                draws * batch
            ),
        });
    }
    Ok((0..batch)
        .map(|b| {
            let of = |m: usize| scores[m * batch + b];
            let best = (0..draws).max_by(|&i, &j| of(i).total_cmp(&of(j))).unwrap_or(0);
            let m = if temperature == 0.0 {
                best
            } else {
                let weights: Vec<f64> = (0..draws).map(|m| ((of(m) - of(best)) / temperature).exp()).collect();
                let mut target = weights.iter().sum::<f64>() * ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64);
                weights
                    .iter()
                    .position(|&w| {
                        target -= w;
                        target < 0.0
                    })
                    .unwrap_or(best)
            };
            (m * batch + b) as i64
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_zero_keeps_the_best_candidate_of_each_trajectory() {
        // Two trajectories, three candidates each, row m·B + b.
        let scores = [0.1, 5.0, 0.9, -1.0, 0.3, 2.0];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(choose(&scores, 3, 2, 0.0, &mut rng).expect("valid"), vec![2, 1]);
        assert!(choose(&[0.0, f64::NAN], 2, 1, 0.0, &mut rng).is_err());
    }

    #[test]
    fn high_temperature_draws_follow_the_softmax() {
        // Reference: softmax probabilities exp(s/T)/Σ exp(s/T) for s = (0, ln 3), T = 1: 1/4, 3/4.
        let scores = [0.0, 3f64.ln()];
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 20_000;
        let second = (0..n).filter(|_| choose(&scores, 2, 1, 1.0, &mut rng).expect("valid")[0] == 1).count();
        let share = second as f64 / f64::from(n);
        assert!((share - 0.75).abs() < 0.02, "{share}");
    }
}
