//! A slow, lossy network link for the fault tests, made in user space because this kernel has
//! no `netem` queueing discipline: a TCP proxy on loopback that holds every chunk it forwards for
//! a delay each way and, for a share of the chunks, a further 200 ms, which is what TCP does when
//! a segment is lost (a retransmission after its minimum timeout). Order is kept, so a "lost"
//! chunk holds up the chunks behind it, as on a real connection.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Linux's minimum TCP retransmission timeout.
const RETRANSMISSION: Duration = Duration::from_millis(200);

/// Starts the proxy: connections to the returned endpoint (`tcp/127.0.0.1:<port>`) reach
/// `upstream` (`127.0.0.1:<port>`), each chunk held `delay`, and `loss` of them held a further
/// retransmission timeout. It runs until the test process ends.
pub fn start(upstream: u16, delay: Duration, loss: f64, seed: u64) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for (k, downstream) in listener.incoming().enumerate() {
            let Ok(downstream) = downstream else { continue };
            let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
            let streams =
                [(downstream.try_clone(), upstream.try_clone()), (upstream.try_clone(), downstream.try_clone())];
            for (j, (from, to)) in streams.into_iter().enumerate() {
                if let (Ok(from), Ok(to)) = (from, to) {
                    let rng = ChaCha8Rng::seed_from_u64(seed + 2 * k as u64 + j as u64);
                    forward(from, to, delay, loss, rng);
                }
            }
        }
    });
    format!("tcp/127.0.0.1:{port}")
}

/// Forwards `from` to `to` in two threads: one reads and stamps each chunk with its release
/// time, the other writes it then.
fn forward(mut from: TcpStream, mut to: TcpStream, delay: Duration, loss: f64, mut rng: ChaCha8Rng) {
    let (sender, receiver) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buffer = vec![0; 64 * 1024];
        let mut last = Instant::now();
        while let Ok(n @ 1..) = from.read(&mut buffer) {
            let lost = if rng.gen_bool(loss) { RETRANSMISSION } else { Duration::ZERO };
            last = last.max(Instant::now() + delay + lost);
            if sender.send((last, buffer[..n].to_vec())).is_err() {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        for (release, chunk) in receiver {
            std::thread::sleep(release.saturating_duration_since(Instant::now()));
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}
