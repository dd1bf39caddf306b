//! Jumpy models: a trajectory row every `stride` environment steps (`ModelSpec::stride`), as in
//! Hierarchical Diffuser's sparse plans and Diffusion Veteran's strided horizon. The planner
//! samples the rows and hands out a plan with a row for every step in between, linearly
//! interpolated, so trackers, replanning and the wire see a dense plan as from any model.

use tch::Tensor;

use crate::driver::picard::shift_iterates;

/// The dense trajectory through `rows` (each of the same width), `stride` steps apart: row
/// i·stride + j is `rows[i] + (j / stride)·(rows[i + 1] − rows[i])` for j in 0..stride, then the
/// last row. (H − 1)·stride + 1 rows from H; `rows` unchanged when `stride` is 1.
#[must_use]
pub fn upsample(rows: &[Vec<f32>], stride: usize) -> Vec<Vec<f32>> {
    if stride <= 1 || rows.len() < 2 {
        return rows.to_vec();
    }
    let mut dense = Vec::with_capacity((rows.len() - 1) * stride + 1);
    for pair in rows.windows(2) {
        let (from, to) = (&pair[0], &pair[1]);
        for j in 0..stride {
            let share = j as f32 / stride as f32;
            dense.push(from.iter().zip(to).map(|(a, b)| a + share * (b - a)).collect());
        }
    }
    dense.extend(rows.last().cloned());
    dense
}

/// The row of a goal to be reached by environment step `step`: the last row at or before it,
/// ⌊step / stride⌋, but row 1 for a step inside the first stride (row 0 is the start).
#[must_use]
pub fn row_by_step(step: usize, stride: usize) -> usize {
    match step {
        0 => 0,
        _ => (step / stride.max(1)).max(1),
    }
}

/// Moves every iterate (`[B, H, A + O]`) along by `steps` environment steps, for a warm start
/// after the robot executed them: ⌊steps / stride⌋ whole rows
/// ([`crate::driver::picard::shift_iterates`]), and the rest of a row by the same linear
/// interpolation between neighbouring rows as the plan handed out; the last row repeats at the
/// end.
#[must_use]
pub fn shift_by_steps(iterates: &[Tensor], steps: usize, stride: usize) -> Vec<Tensor> {
    let stride = stride.max(1);
    let whole = shift_iterates(iterates, steps / stride);
    if steps.is_multiple_of(stride) {
        return whole;
    }
    let share = (steps % stride) as f64 / stride as f64;
    let next = shift_iterates(iterates, steps / stride + 1);
    whole.iter().zip(&next).map(|(a, b)| a * (1.0 - share) + b * share).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsampling_a_linear_trajectory_gives_every_step_of_it() {
        // Reference: the analytic line x(s) = (2 + 0.5 s, −s) sampled at every step s; its rows
        // every 4 steps, interpolated, must give back every step exactly (to f32 rounding).
        let at = |s: usize| vec![2.0 + 0.5 * s as f32, -(s as f32)];
        let rows: Vec<Vec<f32>> = (0..4).map(|i| at(4 * i)).collect();
        let dense = upsample(&rows, 4);
        assert_eq!(dense.len(), 13);
        for (s, row) in dense.iter().enumerate() {
            let want = at(s);
            assert!(row.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-5), "step {s}: {row:?} vs {want:?}");
        }
        // A row lands on every stride-th step unchanged.
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(&dense[4 * i], row);
        }
    }

    #[test]
    fn a_dense_trajectory_is_handed_out_as_it_is() {
        let rows = vec![vec![1.0, 2.0], vec![3.0, 5.0], vec![-1.0, 0.0]];
        assert_eq!(upsample(&rows, 1), rows);
        assert_eq!(upsample(&rows[..1], 6), rows[..1].to_vec());
    }

    #[test]
    fn a_warm_start_moves_along_by_whole_and_partial_rows() {
        // Reference: the line x(s) = 3 + 0.5 s over rows every 4 steps (s = 0, 4, …, 20); moved
        // along by 6 steps, row i must hold x(4i + 6), and the rows past the end the last value.
        let x = |s: f32| 3.0 + 0.5 * s;
        let rows: Vec<f32> = (0..6).map(|i| x(4.0 * i as f32)).collect();
        let tensor = Tensor::from_slice(&rows).view([1, 6, 1]);
        let shifted = Vec::<f32>::try_from(shift_by_steps(&[tensor.shallow_clone()], 6, 4)[0].view([-1])).expect("f32");
        let want = [x(6.0), x(10.0), x(14.0), x(18.0), x(20.0), x(20.0)];
        assert!(shifted.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-5), "{shifted:?} vs {want:?}");
        let whole = shift_by_steps(&[tensor.shallow_clone()], 8, 4);
        assert!(whole[0].equal(&shift_iterates(&[tensor], 2)[0]));
    }

    #[test]
    fn steps_map_to_rows_at_or_before_them() {
        assert_eq!((row_by_step(0, 12), row_by_step(13, 12), row_by_step(24, 12), row_by_step(372, 12)), (0, 1, 2, 31));
        // A goal due within the first stride goes to row 1, after the start.
        assert_eq!((row_by_step(1, 12), row_by_step(11, 12), row_by_step(1, 1)), (1, 1, 1));
    }
}
