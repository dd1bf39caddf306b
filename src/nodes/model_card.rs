//! The model card a planner node serves on its `describe` key: its task, its checkpoint and that
//! checkpoint's digest, the plan's shape, units and goal layout, the sampler's defaults, the
//! request limits and the constraints, taken from the task file, the loaded model and the
//! node's settings.

use std::path::Path;

use anyhow::Context;
use bridge::codec::MAX_PAYLOAD_BYTES;
use bridge::message::{ExampleRequest, GoalLayout, ModelCard, PROTOCOL_VERSION, PlanLimits};
use planner::constraints::Constraints;
use sha2::{Digest, Sha256};

use super::planner::{PlannerNodeConfig, TaskPlanner};
use super::wire;
use crate::task::TaskFile;

/// The card of planner `node`, serving `file` with the loaded `planner`.
pub fn model_card(file: &TaskFile, planner: &TaskPlanner, node: &PlannerNodeConfig) -> anyhow::Result<ModelCard> {
    let (task, config) = (&file.task, &file.config);
    let spec = planner.spec();
    let (observation, action) = task.components();
    let layout = task.trajectory_layout(spec.plan_steps());
    let constraints = match &config.planner.constraints {
        // The names the plans' reports give, read off a residual report of a zero trajectory.
        Some(constraints) => Constraints::new(constraints, layout)?
            .residuals(&vec![0.0; layout.values()])
            .into_iter()
            .map(|residual| residual.name)
            .collect(),
        None => Vec::new(),
    };
    let mut env = task.make_env();
    let start = env.reset(config.eval.seed);
    Ok(ModelCard {
        planner_id: node.id.clone(),
        protocol_version: PROTOCOL_VERSION,
        task: task.id(),
        task_label: task.label(),
        checkpoint: config.planner.checkpoint.display().to_string(),
        checkpoint_digest: checkpoint_digest(&config.planner.checkpoint)?,
        horizon: spec.plan_steps() as u64,
        diffusion_steps: spec.diffusion_steps as u64,
        dt: task.dt_secs(),
        goal: GoalLayout {
            width: observation.len() as u64,
            components: observation.iter().map(|c| c.name.clone()).collect(),
            row: spec.span_steps() as u64,
            note: task.goal_note(),
        },
        observation,
        action,
        sampler: wire::sampler_options(planner.sampler()),
        limits: PlanLimits {
            max_batch: node.max_batch as u64,
            max_steps: spec.diffusion_steps as u64,
            max_payload_bytes: MAX_PAYLOAD_BYTES as u64,
        },
        constraints,
        replan_every: config.planner.replan_every as u64,
        streaming: node.stream,
        example: ExampleRequest { observation: start, goal: env.goal_state() },
    })
}

/// `sha256:` and the SHA-256 of the checkpoint folder `dir`: of each file under it, in order of
/// relative path, the path, its length in bytes (8 bytes, little-endian) and its bytes. Any
/// change to a weight, a manifest or a file name changes it.
pub fn checkpoint_digest(dir: &Path) -> anyhow::Result<String> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in
            std::fs::read_dir(&folder).with_context(|| format!("the checkpoint folder {}", folder.display()))?
        {
            let path = entry?.path();
            if path.is_dir() { folders.push(path) } else { files.push(path) }
        }
    }
    files.sort();
    let mut hasher = Sha256::new();
    for path in files {
        let bytes = std::fs::read(&path).with_context(|| format!("the checkpoint file {}", path.display()))?;
        hasher.update(path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(format!("sha256:{:x}", hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest is SHA-256 as Python's hashlib computes it over the same bytes (reference:
    /// `hashlib.sha256(b"a.txt" + (3).to_bytes(8, "little") + b"abc").hexdigest()`), and it
    /// follows every change of a file's bytes or name.
    #[test]
    fn the_digest_is_sha256_of_names_lengths_and_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.txt"), b"abc").expect("write");
        let digest = checkpoint_digest(dir.path()).expect("digest");
        assert_eq!(digest, "sha256:d89b704b59c6ab9449a8a20dea2cfa0d70c31a45681ba3e8b3838c95d7ac6376");
        std::fs::write(dir.path().join("a.txt"), b"abd").expect("write");
        assert_ne!(checkpoint_digest(dir.path()).expect("digest"), digest);
        std::fs::rename(dir.path().join("a.txt"), dir.path().join("b.txt")).expect("rename");
        assert_ne!(checkpoint_digest(dir.path()).expect("digest"), digest);
    }
}
