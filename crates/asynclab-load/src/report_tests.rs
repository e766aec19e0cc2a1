//! The report's histogram bars.

use super::*;

/// Latencies between 1.001 s and 1.012 s (as `/fanout?mode=sequential` gives):
/// every bar holds answers, none splits a bucket, and they add up.
#[test]
fn clustered_latencies_fill_their_bars() {
    let mut hdr = crate::stats::histogram();
    for us in (1_001_000..=1_012_000).step_by(100) {
        hdr.record(us).expect("in range");
    }
    let bars = buckets(&hdr);
    assert!(bars.len() > 5, "{bars:?}");
    assert!(bars.iter().all(|b| b.count > 0), "{bars:?}");
    assert_eq!(bars.iter().map(|b| b.count).sum::<u64>(), hdr.len());
    assert!(bars.windows(2).all(|w| w[0].to_us == w[1].from_us));
}
