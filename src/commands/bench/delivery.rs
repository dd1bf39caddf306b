//! Delivery time on the wire, measured one message at a time: shared by `bench wire`'s JSON
//! and ROS 2 rows.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;

/// Deliveries timed one at a time, after 500 ms for the subscriber to be known and with 20 left
/// out as warm-up: `send` publishes one, and the subscriber sends each one's delivery time in
/// nanoseconds to `received`. Milliseconds.
pub fn timed_deliveries(
    samples: usize,
    received: &mpsc::Receiver<anyhow::Result<i64>>,
    mut send: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Vec<f64>> {
    std::thread::sleep(Duration::from_millis(500));
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples + 20 {
        send()?;
        let nanos = received.recv_timeout(Duration::from_secs(5)).context("a published plan never arrived")??;
        if i >= 20 {
            times.push(nanos as f64 / 1e6);
        }
    }
    Ok(times)
}
