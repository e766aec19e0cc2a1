//! Counters and a histogram that every worker thread can update without taking
//! turns at one cache line.
//!
//! Pattern: **shard hot shared state per thread.** An `AtomicU64` needs no lock,
//! but it is not free when several threads write it: each `fetch_add` must first
//! pull the cache line holding it away from the core that wrote it last, so two
//! workers counting the same requests spend their time passing that line back
//! and forth. Here each counter is [`SHARDS`] atomics, each on its own cache
//! line ([`Padded`]); a thread always adds to "its" shard ([`shard`]), and a
//! reader (a `/metrics` scrape, `/stats`) adds the shards up. Writes stay on one
//! core; reads, which are rare, pay instead.
//!
//! Two threads may share a shard (there are more threads than shards, or they
//! were numbered that way): the atomics keep the count right, only the speed-up
//! is lost for them.
//!
//! Both types implement prometheus-client's `EncodeMetric`, so they register
//! like its own `Counter` and `Histogram` (whose `observe` takes a lock the
//! workers share).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// How many shards each counter has. Threads are numbered in the order they
/// first count something, so with a runtime's worker threads among the first
/// few, each worker gets a shard of its own.
pub const SHARDS: usize = 8;

/// A value alone on its cache line(s). 128 bytes rather than 64: x86 cores fetch
/// cache lines in adjacent pairs, so neighbours 64 bytes apart still interfere.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct Padded<T>(pub T);

/// The calling thread's shard, from 0 to `SHARDS - 1`, fixed for the thread's life.
pub fn shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    SHARD.with(|shard| *shard)
}

/// A monotonic counter, sharded. Clones share the same count.
#[derive(Debug, Clone, Default)]
pub struct ShardedCounter(Arc<[Padded<AtomicU64>; SHARDS]>);

impl ShardedCounter {
    pub fn inc(&self) {
        self.inc_by(1);
    }

    pub fn inc_by(&self, n: u64) {
        self.0[shard()].0.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one to the calling thread's shard and says which shard that was and
    /// what it held before: numbers that are unique across shards can be made
    /// from the pair (see the HTTP server's request ids).
    pub fn inc_in_shard(&self) -> (usize, u64) {
        let shard = shard();
        (shard, self.0[shard].0.fetch_add(1, Ordering::Relaxed))
    }

    /// The total over every shard.
    pub fn get(&self) -> u64 {
        self.0.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }
}

impl TypedMetric for ShardedCounter {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for ShardedCounter {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<NoLabelSet, _, u64>(&self.get(), None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// A Prometheus histogram with `N` fixed bucket bounds (plus `+Inf`), sharded.
/// Clones share the same observations.
#[derive(Debug, Clone)]
pub struct ShardedHistogram<const N: usize>(Arc<HistogramInner<N>>);

#[derive(Debug)]
struct HistogramInner<const N: usize> {
    bounds: [f64; N],
    shards: [Padded<HistogramShard<N>>; SHARDS],
}

/// One thread's share of the observations.
#[derive(Debug)]
struct HistogramShard<const N: usize> {
    /// Observations per bucket (not cumulative); the last is `+Inf`.
    buckets: [AtomicU64; N],
    above: AtomicU64,
    count: AtomicU64,
    /// The sum of the observations, as `f64` bits.
    sum: AtomicU64,
}

impl<const N: usize> HistogramShard<N> {
    fn new() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            above: AtomicU64::new(0),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }
}

impl<const N: usize> ShardedHistogram<N> {
    /// `bounds` are the buckets' upper bounds, in increasing order.
    pub fn new(bounds: [f64; N]) -> Self {
        Self(Arc::new(HistogramInner {
            bounds,
            shards: std::array::from_fn(|_| Padded(HistogramShard::new())),
        }))
    }

    pub fn observe(&self, value: f64) {
        let inner = &*self.0;
        let shard = &inner.shards[shard()].0;
        match inner.bounds.iter().position(|bound| value <= *bound) {
            Some(i) => shard.buckets[i].fetch_add(1, Ordering::Relaxed),
            None => shard.above.fetch_add(1, Ordering::Relaxed),
        };
        shard.count.fetch_add(1, Ordering::Relaxed);
        // A float has no `fetch_add`: compare-and-swap until no one else changed
        // it in between (on this thread's own shard, the first try nearly always wins).
        let _ = shard
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
    }

    /// Sum, count and per-bucket counts (`+Inf` last) over every shard.
    pub fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let inner = &*self.0;
        let mut sum = 0.0;
        let mut count = 0;
        // `f64::MAX` is how prometheus-client spells the `+Inf` bound.
        let mut buckets: Vec<(f64, u64)> = inner
            .bounds
            .iter()
            .chain([&f64::MAX])
            .map(|bound| (*bound, 0))
            .collect();
        for shard in &inner.shards {
            let shard = &shard.0;
            sum += f64::from_bits(shard.sum.load(Ordering::Relaxed));
            count += shard.count.load(Ordering::Relaxed);
            for (total, n) in buckets
                .iter_mut()
                .zip(shard.buckets.iter().chain([&shard.above]))
            {
                total.1 += n.load(Ordering::Relaxed);
            }
        }
        (sum, count, buckets)
    }
}

impl<const N: usize> TypedMetric for ShardedHistogram<N> {
    const TYPE: MetricType = MetricType::Histogram;
}

impl<const N: usize> EncodeMetric for ShardedHistogram<N> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let (sum, count, buckets) = self.snapshot();
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_many_threads_add_up() {
        let counter = ShardedCounter::default();
        std::thread::scope(|s| {
            for _ in 0..2 * SHARDS {
                s.spawn(|| {
                    for _ in 0..1000 {
                        counter.inc();
                    }
                    counter.inc_by(5);
                });
            }
        });
        assert_eq!(counter.get(), 2 * SHARDS as u64 * 1005);
    }

    #[test]
    fn a_thread_counts_on_in_its_own_shard() {
        let counter = ShardedCounter::default();
        let (shard, before) = counter.inc_in_shard();
        assert_eq!(before, 0);
        assert_eq!(counter.inc_in_shard(), (shard, 1));
        assert_eq!(counter.get(), 2);
    }

    #[test]
    fn a_thread_keeps_its_shard() {
        let first = shard();
        assert!(first < SHARDS);
        assert_eq!(shard(), first);
        let other = std::thread::spawn(shard).join().expect("thread ran");
        assert!(other < SHARDS);
    }

    #[test]
    fn shards_sit_on_separate_cache_lines() {
        assert_eq!(std::mem::align_of::<Padded<AtomicU64>>(), 128);
        assert_eq!(std::mem::size_of::<[Padded<AtomicU64>; 2]>(), 256);
    }

    #[test]
    fn histogram_buckets_count_and_sum_over_threads() {
        let h = ShardedHistogram::new([0.01, 0.1, 1.0]);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    h.observe(0.005); // first bucket
                    h.observe(0.01); // a bound belongs to its own bucket
                    h.observe(0.5);
                    h.observe(7.0); // above every bound: +Inf
                });
            }
        });
        let (sum, count, buckets) = h.snapshot();
        assert_eq!(count, 16);
        assert!((sum - 4.0 * 7.515).abs() < 1e-9, "{sum}");
        assert_eq!(
            buckets,
            vec![(0.01, 8), (0.1, 0), (1.0, 4), (f64::MAX, 4)],
            "per bucket, not cumulative; the encoder adds them up"
        );
    }

    #[test]
    fn encodes_as_prometheus_text() {
        use prometheus_client::encoding::text::encode;
        use prometheus_client::registry::Registry;
        let counter = ShardedCounter::default();
        counter.inc_by(3);
        let h = ShardedHistogram::new([0.5]);
        h.observe(0.25);
        h.observe(2.0);
        let mut registry = Registry::default();
        registry.register("hits", "Hits", counter);
        registry.register("wait_seconds", "Waits", h);
        let mut text = String::new();
        encode(&mut text, &registry).expect("encodes");
        for line in [
            "hits_total 3",
            "wait_seconds_sum 2.25",
            "wait_seconds_count 2",
            "wait_seconds_bucket{le=\"0.5\"} 1",
            "wait_seconds_bucket{le=\"+Inf\"} 2",
        ] {
            assert!(text.contains(line), "{line:?} missing from\n{text}");
        }
    }
}
