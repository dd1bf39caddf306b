//! The key-expression namespace (docs/PROTOCOL.md, "Keys"). Every key starts with a namespace
//! (default `diffplan`) so that runs sharing a network stay apart.

use crate::BridgeError;

/// The keys of one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    root: String,
}

/// `Err(reason)` unless `id` is a non-empty run of `[A-Za-z0-9_-]`, at most 64 long.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 {
        return Err(format!("{id:?} must be 1 to 64 characters"));
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-')) {
        return Err(format!("{id:?} contains {c:?}; ids use only letters, digits, '_' and '-'"));
    }
    Ok(())
}

impl Namespace {
    /// A namespace of one or more `/`-separated chunks of `[A-Za-z0-9_-]`.
    pub fn new(root: &str) -> Result<Self, BridgeError> {
        for chunk in root.split('/') {
            check_id(chunk).map_err(|reason| BridgeError::Config(format!("namespace {root:?}: chunk {reason}")))?;
        }
        Ok(Self { root: root.to_owned() })
    }

    /// The namespace itself.
    #[must_use]
    pub fn root(&self) -> &str {
        &self.root
    }

    /// Where robot `robot` publishes its [`RobotState`](crate::message::RobotState).
    #[must_use]
    pub fn robot_state(&self, robot: &str) -> String {
        format!("{}/robot/{robot}/state", self.root)
    }

    /// The states of every robot.
    #[must_use]
    pub fn all_robot_states(&self) -> String {
        format!("{}/robot/*/state", self.root)
    }

    /// Where robot `robot` listens for [`Command`](crate::message::Command)s.
    #[must_use]
    pub fn robot_command(&self, robot: &str) -> String {
        format!("{}/robot/{robot}/cmd", self.root)
    }

    /// Where robot `robot` publishes its [`Heartbeat`](crate::message::Heartbeat).
    #[must_use]
    pub fn robot_status(&self, robot: &str) -> String {
        format!("{}/robot/{robot}/status", self.root)
    }

    /// Where planner `planner` streams plans for robot `robot`.
    #[must_use]
    pub fn plan_stream(&self, planner: &str, robot: &str) -> String {
        format!("{}/planner/{planner}/plan/{robot}", self.root)
    }

    /// Plans for robot `robot` from any planner (what the robot subscribes to).
    #[must_use]
    pub fn plans_for(&self, robot: &str) -> String {
        format!("{}/planner/*/plan/{robot}", self.root)
    }

    /// Where planner `planner` publishes its [`Heartbeat`](crate::message::Heartbeat).
    #[must_use]
    pub fn planner_status(&self, planner: &str) -> String {
        format!("{}/planner/{planner}/status", self.root)
    }

    /// The plan service of one worker, to address it alone.
    #[must_use]
    pub fn worker_service(&self, planner: &str) -> String {
        format!("{}/planner/{planner}/service/plan", self.root)
    }

    /// The plan service every worker declares: a query reaches exactly one of them.
    #[must_use]
    pub fn shared_service(&self) -> String {
        format!("{}/service/plan", self.root)
    }

    /// Where planner `planner` answers with its [`ModelCard`](crate::message::ModelCard).
    #[must_use]
    pub fn describe(&self, planner: &str) -> String {
        format!("{}/planner/{planner}/describe", self.root)
    }

    /// Every planner's `describe` key (a query with target `All` gets every card).
    #[must_use]
    pub fn all_describes(&self) -> String {
        format!("{}/planner/*/describe", self.root)
    }

    /// The plan service of the planners of task `task`: a query reaches exactly one of them.
    #[must_use]
    pub fn task_service(&self, task: &str) -> String {
        format!("{}/task/{task}/service/plan", self.root)
    }

    /// The liveliness token planner `planner` declares for its task `task`.
    #[must_use]
    pub fn task_token(&self, task: &str, planner: &str) -> String {
        format!("{}/alive/task/{task}/{planner}", self.root)
    }

    /// The task tokens of every planner of `task`.
    #[must_use]
    pub fn task_tokens(&self, task: &str) -> String {
        format!("{}/alive/task/{task}/*", self.root)
    }

    /// The task tokens of every planner.
    #[must_use]
    pub fn all_task_tokens(&self) -> String {
        format!("{}/alive/task/*/*", self.root)
    }

    /// The task and planner of a task token key, if it is one of this namespace's.
    #[must_use]
    pub fn task_of_token(&self, key: &str) -> Option<(String, String)> {
        let rest = key.strip_prefix(&format!("{}/alive/task/", self.root))?;
        let (task, planner) = rest.split_once('/')?;
        Some((task.to_owned(), planner.to_owned()))
    }

    /// Liveliness token of planner `planner`.
    #[must_use]
    pub fn planner_token(&self, planner: &str) -> String {
        format!("{}/alive/planner/{planner}", self.root)
    }

    /// Liveliness tokens of all planners.
    #[must_use]
    pub fn all_planner_tokens(&self) -> String {
        format!("{}/alive/planner/*", self.root)
    }

    /// Liveliness token of robot `robot`.
    #[must_use]
    pub fn robot_token(&self, robot: &str) -> String {
        format!("{}/alive/robot/{robot}", self.root)
    }

    /// The planner id at the end of a planner token key, if it is one of this namespace's.
    #[must_use]
    pub fn planner_of_token(&self, key: &str) -> Option<String> {
        key.strip_prefix(&format!("{}/alive/planner/", self.root)).map(str::to_owned)
    }

    /// The robot whose state key `key` is (`<ns>/robot/<robot>/state`).
    #[must_use]
    pub fn robot_of_state(&self, key: &str) -> Option<String> {
        key.strip_prefix(&format!("{}/robot/", self.root))?.strip_suffix("/state").map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_namespaces_refuse_key_expression_syntax() {
        assert!(check_id("robot_1-a").is_ok());
        for bad in ["", "a/b", "*", "a$", "a?b", "#", "é"] {
            assert!(check_id(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Namespace::new("lab/run-3").is_ok());
        assert!(Namespace::new("lab//x").is_err());
        assert!(Namespace::new("lab/**").is_err());
    }

    #[test]
    fn token_keys_round_trip_to_planner_ids() {
        let ns = Namespace::new("t").expect("valid");
        assert_eq!(ns.planner_of_token(&ns.planner_token("w2")).as_deref(), Some("w2"));
        assert_eq!(ns.planner_of_token("other/alive/planner/w2"), None);
        assert_eq!(ns.task_of_token(&ns.task_token("maze2d-umaze", "w2")), Some(("maze2d-umaze".into(), "w2".into())));
        assert_eq!(ns.task_of_token(&ns.planner_token("w2")), None);
    }
}
