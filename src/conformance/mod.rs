//! Conformance of a third-party node to docs/PROTOCOL.md: [`planner`] checks a plan service,
//! [`robot`] a streaming robot, each over a real Zenoh session, and both fill one [`Report`]: a
//! pass/warn/fail row per check, printed as a table. Every payload the node sent can be kept
//! for an independent schema check (`--payloads DIR`).
//!
//! Every received payload is decoded by the bridge's codec, whose checks are those of the JSON
//! Schemas in docs/schema/ and more (rows of equal width, ids, finite numbers). The Zenoh
//! encoding is advisory in the protocol, so a missing or wrong one is a warning, not a failure.

pub mod planner;
pub mod robot;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use bridge::codec::{self, MAX_PAYLOAD_BYTES};
use bridge::message::Message;
use bridge::zenoh::Wait;
use bridge::zenoh::bytes::Encoding;
use bridge::zenoh::query::QueryTarget;

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The node does what the protocol says it must.
    Pass,
    /// The node departs from what the protocol says it should (advisory).
    Warn,
    /// The node breaks what the protocol says it must.
    Fail,
}

/// The rows of a conformance run, and the payloads it received.
#[derive(Debug, Default)]
pub struct Report {
    rows: Vec<(String, Verdict, String)>,
    /// Where received payloads are written, if anywhere.
    payloads: Option<PathBuf>,
    /// Payloads received.
    received: usize,
    /// Those that did not carry the protocol's encoding: what they carried instead.
    wrong_encodings: Vec<String>,
}

impl Report {
    /// A report writing every received payload under `payloads`, if given.
    pub fn new(payloads: Option<PathBuf>) -> anyhow::Result<Self> {
        if let Some(dir) = &payloads {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Self { rows: Vec::new(), payloads, received: 0, wrong_encodings: Vec::new() })
    }

    /// Records check `name`: `Ok(detail)` passes, `Err(detail)` fails.
    pub fn check(&mut self, name: &str, outcome: Result<String, String>) -> bool {
        let passed = outcome.is_ok();
        let (verdict, detail) = match outcome {
            Ok(detail) => (Verdict::Pass, detail),
            Err(detail) => (Verdict::Fail, detail),
        };
        self.rows.push((name.to_owned(), verdict, detail));
        passed
    }

    /// Records an advisory check: `Err(detail)` warns.
    pub fn advise(&mut self, name: &str, outcome: Result<String, String>) {
        let (verdict, detail) = match outcome {
            Ok(detail) => (Verdict::Pass, detail),
            Err(detail) => (Verdict::Warn, detail),
        };
        self.rows.push((name.to_owned(), verdict, detail));
    }

    /// Decodes `payload`, which came with `encoding`, as a `T`, keeping it under `--payloads` as
    /// `<n>-<Type>.json` first and noting an encoding other than the protocol's.
    pub fn decode<T: Message>(&mut self, payload: &[u8], encoding: &str) -> Result<T, String> {
        let expected = codec::encoding_of::<T>();
        if encoding != expected {
            self.wrong_encodings.push(format!("{encoding:?} for {expected:?}"));
        }
        if let Some(dir) = &self.payloads {
            let path = dir.join(format!("{:04}-{}.json", self.received, T::TYPE));
            if let Err(error) = std::fs::write(&path, payload) {
                tracing::warn!("payload not kept at {}: {error}", path.display());
            }
        }
        self.received += 1;
        codec::decode::<T>(payload, MAX_PAYLOAD_BYTES).map(|m| m.body).map_err(|e| format!("{} refused: {e}", T::TYPE))
    }

    /// Whether no check failed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.rows.iter().all(|(_, verdict, _)| *verdict != Verdict::Fail)
    }

    /// Closes the report with the (advisory) encoding row over every payload received.
    pub fn finish(&mut self) {
        let outcome = match self.wrong_encodings.first() {
            None => Ok(format!("all {} payloads carried application/json;diffplan/<Type>/<v>", self.received)),
            Some(first) => {
                Err(format!("{} of {} payloads did not, e.g. {first}", self.wrong_encodings.len(), self.received))
            }
        };
        self.advise("sets the encoding", outcome);
    }

    /// The report as a Markdown table, with a closing line of counts.
    #[must_use]
    pub fn table(&self) -> String {
        let mut rows = String::new();
        for (name, verdict, detail) in &self.rows {
            let result = match verdict {
                Verdict::Pass => "pass",
                Verdict::Warn => "warn",
                Verdict::Fail => "FAIL",
            };
            // Writing to a String cannot fail.
            let _ = writeln!(rows, "| {name} | {result} | {} |", detail.replace('|', "\\|").replace('\n', " "));
        }
        let count = |v: Verdict| self.rows.iter().filter(|(_, verdict, _)| *verdict == v).count();
        format!(
            "| check | result | detail |\n|---|---|---|\n{rows}\n{} passed, {} warned, {} failed\n",
            count(Verdict::Pass),
            count(Verdict::Warn),
            count(Verdict::Fail)
        )
    }
}

/// One reply to a query: an answer or an error reply, with its payload and encoding.
pub struct Reply {
    /// Whether it is an answer (not an error reply).
    pub ok: bool,
    /// Its payload.
    pub payload: Vec<u8>,
    /// Its Zenoh encoding.
    pub encoding: String,
}

/// The first reply to a `get` on `key` with `payload` (none within `timeout`: `Err`).
pub fn ask(
    session: &bridge::zenoh::Session,
    key: &str,
    payload: Option<(Vec<u8>, String)>,
    timeout: Duration,
) -> Result<Reply, String> {
    let mut get = session.get(key).target(QueryTarget::BestMatching).timeout(timeout);
    if let Some((bytes, encoding)) = payload {
        get = get.payload(bytes).encoding(Encoding::from(encoding));
    }
    let replies = get.wait().map_err(|e| format!("get on {key}: {e}"))?;
    let reply = replies.recv().map_err(|_| format!("no reply on {key}"))?;
    Ok(match reply.into_result() {
        Ok(sample) => Reply {
            ok: true,
            payload: sample.payload().to_bytes().into_owned(),
            encoding: sample.encoding().to_string(),
        },
        Err(error) => Reply {
            ok: false,
            payload: error.payload().to_bytes().into_owned(),
            encoding: error.encoding().to_string(),
        },
    })
}

/// Whether the liveliness token `key` is alive, asked for up to `timeout`.
pub fn token_alive(session: &bridge::zenoh::Session, key: &str, timeout: Duration) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < timeout {
        let alive = session
            .liveliness()
            .get(key)
            .timeout(Duration::from_millis(300))
            .wait()
            .is_ok_and(|replies| std::iter::from_fn(|| replies.recv().ok()).any(|r| r.into_result().is_ok()));
        if alive {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}
