//! JSON Schemas of the wire's messages, generated from the message types (never written twice):
//! each is the envelope of docs/PROTOCOL.md (`v`, `type`, `stamp_ns`, `body`) around its type's
//! body. They are shipped as `docs/schema/<Type>.schema.json`; a test keeps them current.
//!
//! A schema checks shape: fields, types, required and optional (`null` or absent), integer
//! ranges, unknown fields refused. The checks JSON cannot express (rows of equal width, ids of
//! the allowed characters, finite numbers) are each message's `validate`, listed in PROTOCOL.md.

use schemars::JsonSchema;
use serde_json::{Value, json};

use crate::message::PROTOCOL_VERSION;
use crate::message::{Command, ErrorReply, Heartbeat, Message, ModelCard, Plan, PlanRequest, RobotState};

/// `(type name, schema)` of every message.
#[must_use]
pub fn message_schemas() -> Vec<(&'static str, Value)> {
    vec![
        envelope::<RobotState>(),
        envelope::<PlanRequest>(),
        envelope::<Plan>(),
        envelope::<ErrorReply>(),
        envelope::<Command>(),
        envelope::<Heartbeat>(),
        envelope::<ModelCard>(),
    ]
}

/// The envelope of `T`, with `T`'s body schema and its definitions.
fn envelope<T: Message + JsonSchema>() -> (&'static str, Value) {
    let mut body = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null);
    let definitions = body.as_object_mut().and_then(|b| b.remove("$defs")).unwrap_or_else(|| json!({}));
    if let Some(body) = body.as_object_mut() {
        body.remove("$schema");
    }
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("{} message", T::TYPE),
        "description": format!("A {} in the envelope of docs/PROTOCOL.md, encoding application/json;diffplan/{}/{PROTOCOL_VERSION}.", T::TYPE, T::TYPE),
        "type": "object",
        "properties": {
            "v": {"description": "Protocol version.", "const": PROTOCOL_VERSION},
            "type": {"description": "The message type.", "const": T::TYPE},
            "stamp_ns": {"description": "The sender's wall clock at encoding, ns since the Unix epoch.", "type": "integer", "minimum": 0},
            "body": body,
        },
        "required": ["v", "type", "stamp_ns", "body"],
        "additionalProperties": false,
        "$defs": definitions,
    });
    (T::TYPE, schema)
}
