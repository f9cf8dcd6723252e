//! RPM/TWAMP-light style probes between the PEs that carry a link: each
//! agent reflects UDP probes back to their sender, after the lab's path
//! delay (and whatever delay or loss a test injects at that PE), and sends
//! a burst to every other PE sharing a link VRF once per interval. The
//! round trips are measured for real, on loopback.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngExt;
use tokio::net::UdpSocket;

use crate::Knobs;

/// Probes per test, as an RPM test's probe count.
pub(crate) const PROBES_PER_TEST: u32 = 10;
/// How long a test waits for its last reply.
const REPLY_WAIT: Duration = Duration::from_millis(600);

/// One test's results: the latest completed burst.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct TestResult {
    pub(crate) sent: u32,
    pub(crate) rtts: Vec<Duration>,
}

impl TestResult {
    pub(crate) fn ms(d: Duration) -> u32 {
        u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
    }

    pub(crate) fn min_ms(&self) -> u32 {
        self.rtts.iter().min().map_or(0, |d| Self::ms(*d))
    }

    pub(crate) fn max_ms(&self) -> u32 {
        self.rtts.iter().max().map_or(0, |d| Self::ms(*d))
    }

    pub(crate) fn average_ms(&self) -> u32 {
        if self.rtts.is_empty() {
            return 0;
        }
        let total: Duration = self.rtts.iter().sum();
        Self::ms(total / self.rtts.len() as u32)
    }

    /// DISMAN-PING-MIB's `pingResultsRttSumOfSquares`, in ms².
    pub(crate) fn sum_of_squares(&self) -> u32 {
        self.rtts
            .iter()
            .map(|d| u64::from(Self::ms(*d)).pow(2))
            .sum::<u64>()
            .try_into()
            .unwrap_or(u32::MAX)
    }
}

/// Results by (far PE, link VRF).
pub(crate) type Results = Arc<Mutex<HashMap<(String, String), TestResult>>>;

/// Echoes each probe back to its sender after the path's delay both ways
/// and the PE's added delay; drops it with the PE's loss probability.
pub(crate) async fn reflect(socket: Arc<UdpSocket>, knobs: Knobs, one_way: Duration) {
    let mut buf = [0u8; 64];
    loop {
        let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let (loss, extra) = {
            let k = knobs.lock();
            (k.loss_percent, k.added_latency)
        };
        if rand::rng().random_bool((loss / 100.0).clamp(0.0, 1.0)) {
            continue;
        }
        // A little variation, so that jitter is never exactly zero.
        let wobble = Duration::from_micros(rand::rng().random_range(0..800));
        let payload = buf[..n].to_vec();
        let socket = socket.clone();
        tokio::spawn(async move {
            tokio::time::sleep(one_way * 2 + extra + wobble).await;
            let _ = socket.send_to(&payload, peer).await;
        });
    }
}

/// One burst of [`PROBES_PER_TEST`] probes to `far`, spaced a little apart,
/// and the round trips of those that came back in time.
pub(crate) async fn run_test(far: SocketAddr) -> std::io::Result<TestResult> {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    let mut sent_at = HashMap::new();
    let mut rtts = Vec::new();
    let mut buf = [0u8; 64];
    for seq in 0..PROBES_PER_TEST {
        socket.send_to(&seq.to_be_bytes(), far).await?;
        sent_at.insert(seq, Instant::now());
        // Collect replies that are already in while pacing the probes.
        let pace = tokio::time::sleep(Duration::from_millis(10));
        tokio::pin!(pace);
        loop {
            tokio::select! {
                _ = &mut pace => break,
                r = socket.recv_from(&mut buf) => record(r, &buf, &mut sent_at, &mut rtts),
            }
        }
    }
    let deadline = tokio::time::sleep(REPLY_WAIT);
    tokio::pin!(deadline);
    while !sent_at.is_empty() {
        tokio::select! {
            _ = &mut deadline => break,
            r = socket.recv_from(&mut buf) => record(r, &buf, &mut sent_at, &mut rtts),
        }
    }
    Ok(TestResult {
        sent: PROBES_PER_TEST,
        rtts,
    })
}

fn record(
    r: std::io::Result<(usize, SocketAddr)>,
    buf: &[u8],
    sent_at: &mut HashMap<u32, Instant>,
    rtts: &mut Vec<Duration>,
) {
    let Ok((4, _)) = r else {
        return;
    };
    let seq = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if let Some(t) = sent_at.remove(&seq) {
        rtts.push(t.elapsed());
    }
}
