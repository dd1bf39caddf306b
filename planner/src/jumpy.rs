//! Jumpy models: a trajectory row every `stride` environment steps (`ModelSpec::stride`), as in
//! Hierarchical Diffuser's sparse plans and Diffusion Veteran's strided horizon. The planner
//! samples the rows and hands out a plan with a row for every step in between, linearly
//! interpolated, so trackers, replanning and the wire see a dense plan as from any model.

/// The dense trajectory through `rows` (each of the same width), `stride` steps apart: row
/// i·stride + j is rows[i] + (j / stride)·(rows[i + 1] − rows[i]) for j in 0..stride, then the
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

/// The row holding environment step `step` of a plan, for a goal that must be reached by then:
/// the last row at or before it, ⌊step / stride⌋.
#[must_use]
pub fn row_by_step(step: usize, stride: usize) -> usize {
    step / stride.max(1)
}

/// Rows a trajectory moves along after `steps` environment steps: the nearest whole number,
/// round(steps / stride) (a replan's warm start is shifted by it).
#[must_use]
pub fn rows_in_steps(steps: usize, stride: usize) -> usize {
    let stride = stride.max(1);
    (steps + stride / 2) / stride
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
    fn steps_map_to_rows_at_or_before_them_and_shifts_round() {
        assert_eq!((row_by_step(0, 12), row_by_step(11, 12), row_by_step(12, 12), row_by_step(372, 12)), (0, 0, 1, 31));
        assert_eq!((rows_in_steps(5, 12), rows_in_steps(6, 12), rows_in_steps(13, 12), rows_in_steps(13, 1)), (0, 1, 1, 13));
    }
}
