//! Transport security with Zenoh's own mechanisms (docs/SECURITY.md): TLS with mutual
//! authentication, every node proving a role by the Common Name of its certificate (`planner`,
//! `robot`, `operator`, from one lab certificate authority), and the router's access control,
//! which lets each role send only what the protocol gives it to send. A secured network is a
//! router and its clients: every message passes the router, where the rules are enforced.
//!
//! What each role may put on the network (anything else is dropped at the router):
//!
//! | role | publishes | serves | asks | subscribes to |
//! |---|---|---|---|---|
//! | planner | plans, its status | plan and `describe` queries | – | robot states |
//! | robot | its state and status | – | plan and `describe` queries | plans, commands |
//! | operator | commands | – | plan and `describe` queries | states, statuses |
//!
//! and every role declares liveliness tokens only under its own kind (`alive/planner`,
//! `alive/task`, `alive/robot`) and may look at all of them.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::{BridgeError, Namespace};

/// The roles a certificate's Common Name names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The router of a secured network.
    Router,
    /// A planner worker.
    Planner,
    /// A robot (or a client that plays one, like `eval --remote`).
    Robot,
    /// A person's tools: commands, monitoring.
    Operator,
}

impl Role {
    /// The Common Name, and file stem in a lab folder.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Router => "router",
            Self::Planner => "planner",
            Self::Robot => "robot",
            Self::Operator => "operator",
        }
    }
}

/// A node's TLS identity: the lab's certificate authority, the node's certificate and its key
/// (PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsIdentity {
    /// The certificate authority every peer's certificate must chain to.
    pub ca: PathBuf,
    /// This node's certificate.
    pub certificate: PathBuf,
    /// This node's private key.
    pub key: PathBuf,
}

impl TlsIdentity {
    /// The identity of `role` in a lab folder made by `scripts/lab-certs.sh`: `ca.pem`,
    /// `<role>.pem` and `<role>-key.pem`, each checked to exist.
    pub fn from_lab(dir: &Path, role: Role) -> Result<Self, BridgeError> {
        let identity = Self {
            ca: dir.join("ca.pem"),
            certificate: dir.join(format!("{}.pem", role.name())),
            key: dir.join(format!("{}-key.pem", role.name())),
        };
        for file in [&identity.ca, &identity.certificate, &identity.key] {
            if !file.is_file() {
                return Err(BridgeError::Config(format!(
                    "{} is missing: make the lab's certificates with `scripts/lab-certs.sh {}`",
                    file.display(),
                    dir.display()
                )));
            }
        }
        Ok(identity)
    }
}

/// The router's access-control rules for namespace `namespace` (Zenoh's `access_control`
/// section): deny by default, allow what the table above says.
#[must_use]
pub fn access_control(namespace: &Namespace) -> Value {
    let ns = namespace.root();
    let services = [
        format!("{ns}/planner/*/service/plan"),
        format!("{ns}/service/plan"),
        format!("{ns}/task/*/service/plan"),
        format!("{ns}/planner/*/describe"),
    ];
    let plans = [format!("{ns}/planner/*/plan/*")];
    let states = [format!("{ns}/robot/*/state")];
    let statuses = [format!("{ns}/robot/*/status"), format!("{ns}/planner/*/status")];
    let commands = [format!("{ns}/robot/*/cmd")];
    let rule = |id: &str, messages: &[&str], flow: &str, keys: Vec<String>| json!({ "id": id, "permission": "allow", "messages": messages, "flows": [flow], "key_exprs": keys });
    let all = |keys: &[&[String]]| keys.iter().flat_map(|k| k.iter().cloned()).collect::<Vec<_>>();
    let rules = vec![
        // Everyone learns what the others declared and who is alive.
        rule(
            "hear-declarations",
            &["declare_subscriber", "declare_queryable", "liveliness_token", "declare_liveliness_subscriber"],
            "egress",
            vec![format!("{ns}/**")],
        ),
        rule(
            "watch-alive",
            &["liveliness_query", "declare_liveliness_subscriber"],
            "ingress",
            vec![format!("{ns}/alive/**")],
        ),
        rule("hear-alive-replies", &["reply"], "egress", vec![format!("{ns}/alive/**")]),
        // Planners.
        rule(
            "planner-alive",
            &["liveliness_token"],
            "ingress",
            vec![format!("{ns}/alive/planner/*"), format!("{ns}/alive/task/*/*")],
        ),
        rule("planner-publishes", &["put"], "ingress", all(&[&plans, &[format!("{ns}/planner/*/status")]])),
        rule("planner-serves", &["declare_queryable", "reply"], "ingress", services.to_vec()),
        rule("planner-is-asked", &["query"], "egress", services.to_vec()),
        rule("planner-hears-states", &["declare_subscriber"], "ingress", states.to_vec()),
        rule("planner-receives-states", &["put"], "egress", states.to_vec()),
        // Robots.
        rule("robot-alive", &["liveliness_token"], "ingress", vec![format!("{ns}/alive/robot/*")]),
        rule("robot-publishes", &["put"], "ingress", all(&[&states, &[format!("{ns}/robot/*/status")]])),
        rule("robot-hears", &["declare_subscriber"], "ingress", all(&[&plans, &commands])),
        rule("robot-receives", &["put"], "egress", all(&[&plans, &commands])),
        // Robots and operators ask planners.
        rule("asks", &["query"], "ingress", services.to_vec()),
        rule("hears-answers", &["reply"], "egress", services.to_vec()),
        // Operators.
        rule("operator-commands", &["put"], "ingress", commands.to_vec()),
        rule("operator-watches", &["declare_subscriber"], "ingress", all(&[&states, &statuses])),
        rule("operator-receives", &["put"], "egress", all(&[&states, &statuses])),
    ];
    let subject = |role: Role| json!({ "id": role.name(), "cert_common_names": [role.name()] });
    let common = ["hear-declarations", "watch-alive", "hear-alive-replies"];
    let policy = |role: Role, own: &[&str]| {
        let rules: Vec<&str> = common.iter().chain(own).copied().collect();
        json!({ "id": role.name(), "rules": rules, "subjects": [role.name()] })
    };
    json!({
        "enabled": true,
        "default_permission": "deny",
        "rules": rules,
        "subjects": [subject(Role::Planner), subject(Role::Robot), subject(Role::Operator)],
        "policies": [
            policy(Role::Planner, &["planner-alive", "planner-publishes", "planner-serves", "planner-is-asked",
                "planner-hears-states", "planner-receives-states"]),
            policy(Role::Robot, &["robot-alive", "robot-publishes", "robot-hears", "robot-receives", "asks",
                "hears-answers"]),
            policy(Role::Operator, &["operator-commands", "operator-watches", "operator-receives", "asks",
                "hears-answers"]),
        ],
    })
}
