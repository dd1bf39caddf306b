//! JSON in a versioned envelope: `{"v": 2, "type": "Plan", "stamp_ns": …, "body": {…}}`.
//!
//! Decoding checks, in order: the size cap, UTF-8 JSON of the envelope's shape, the version, the
//! type, the body's shape (unknown fields rejected), then the body's own checks (finite numbers,
//! consistent lengths). Encoding runs the same body checks, so nothing invalid is ever sent.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::WireError;
use crate::message::{Message, PROTOCOL_VERSION};

/// The default cap on a received payload, bytes (a 1024-step plan of 64 floats per row is ~1 MiB).
pub const MAX_PAYLOAD_BYTES: usize = 4 << 20;

/// A decoded message with the sender's stamp.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamped<T> {
    /// Sender's wall clock at encoding, nanoseconds since the Unix epoch (for latency reports
    /// only: never compare clocks of different machines for staleness).
    pub stamp_ns: u64,
    /// The message.
    pub body: T,
}

#[derive(Serialize)]
struct EnvelopeOut<'a, T> {
    v: u64,
    #[serde(rename = "type")]
    kind: &'static str,
    stamp_ns: u64,
    body: &'a T,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeIn {
    v: u64,
    #[serde(rename = "type")]
    kind: String,
    stamp_ns: u64,
    body: serde_json::Value,
}

/// The Zenoh encoding string of `T`'s payloads: `application/json;diffplan/<Type>/<v>`.
#[must_use]
pub fn encoding_of<T: Message>() -> String {
    format!("application/json;diffplan/{}/{PROTOCOL_VERSION}", T::TYPE)
}

/// Nanoseconds since the Unix epoch on this machine's clock.
#[must_use]
pub fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// Encodes `message` (checked first) in an envelope stamped now.
pub fn encode<T: Message>(message: &T) -> Result<Vec<u8>, WireError> {
    message.validate()?;
    let envelope = EnvelopeOut { v: PROTOCOL_VERSION, kind: T::TYPE, stamp_ns: now_ns(), body: message };
    serde_json::to_vec(&envelope)
        .map_err(|e| WireError::Malformed { what: T::TYPE.into(), reason: format!("cannot encode: {e}") })
}

/// Decodes a `T` from `payload`, refusing anything over `max_bytes`.
pub fn decode<T: Message>(payload: &[u8], max_bytes: usize) -> Result<Stamped<T>, WireError> {
    if payload.len() > max_bytes {
        return Err(WireError::Oversized { len: payload.len(), max: max_bytes });
    }
    let envelope: EnvelopeIn = serde_json::from_slice(payload)
        .map_err(|e| WireError::Malformed { what: "envelope".into(), reason: e.to_string() })?;
    if envelope.v != PROTOCOL_VERSION {
        return Err(WireError::UnsupportedVersion { found: envelope.v, supported: PROTOCOL_VERSION });
    }
    if envelope.kind != T::TYPE {
        return Err(WireError::WrongType { expected: T::TYPE, found: envelope.kind });
    }
    let body: T = serde_json::from_value(envelope.body)
        .map_err(|e| WireError::Malformed { what: T::TYPE.into(), reason: e.to_string() })?;
    body.validate()?;
    Ok(Stamped { stamp_ns: envelope.stamp_ns, body })
}
