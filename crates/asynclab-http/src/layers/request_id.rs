//! Where request ids come from: tower-http's `SetRequestIdLayer` keeps a
//! client's `x-request-id` or asks [`RequestIds`] for one, and
//! `PropagateRequestIdLayer` puts it on the response (see `stack.rs`).
//!
//! An id is a per-process prefix and a number (`5f3a9c1e-42`): unique within a
//! process and across restarts, and far cheaper to make than a random UUID.
//! The numbers come from a sharded counter (`asynclab_core::sharded`): number =
//! the shard's count × `SHARDS` + shard, so no two shards hand out the same
//! number and no two worker threads take turns at one counter for every
//! request. Numbers rise per thread, not across the process.

use std::sync::Arc;

use asynclab_core::sharded::{SHARDS, ShardedCounter};
use http::header::HeaderValue;
use http::{HeaderName, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// The request id header, read from the request and set on the response.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Makes request ids. Cheap to clone: the stack clones it per request.
#[derive(Debug, Clone)]
pub struct RequestIds(Arc<Ids>);

#[derive(Debug)]
struct Ids {
    prefix: u32,
    counts: ShardedCounter,
}

impl RequestIds {
    pub fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Self::with_prefix(nanos ^ std::process::id().rotate_left(16))
    }

    fn with_prefix(prefix: u32) -> Self {
        Self(Arc::new(Ids {
            prefix,
            counts: ShardedCounter::default(),
        }))
    }

    fn next(&self) -> HeaderValue {
        let (shard, count) = self.0.counts.inc_in_shard();
        self.format(count.wrapping_mul(SHARDS as u64).wrapping_add(shard as u64))
    }

    /// Written into a buffer on the stack: `format!` would allocate a `String`
    /// only to have the header value copy it.
    fn format(&self, n: u64) -> HeaderValue {
        // 8 hex digits, a dash, and at most 20 decimal digits (`u64::MAX`).
        let mut id = [0u8; 29];
        for (i, digit) in id[..8].iter_mut().enumerate() {
            *digit = b"0123456789abcdef"[(self.0.prefix >> (28 - 4 * i)) as usize & 0xf];
        }
        id[8] = b'-';
        let digits = n.checked_ilog10().unwrap_or(0) as usize + 1;
        let mut rest = n;
        for digit in id[9..9 + digits].iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        HeaderValue::from_bytes(&id[..9 + digits])
            .expect("hex digits, a dash and decimal digits are a valid header value")
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        Some(RequestId::new(self.next()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_the_prefix_in_hex_and_a_number() {
        let ids = RequestIds::with_prefix(0x05f3_a9c1);
        assert_eq!(ids.format(9), "05f3a9c1-9");
        assert_eq!(ids.format(10), "05f3a9c1-10");
        assert_eq!(ids.format(u64::MAX), "05f3a9c1-18446744073709551615");
        let n = |id: HeaderValue| -> u64 {
            let id = id.to_str().expect("ascii");
            id[9..].parse().expect("a decimal number after the dash")
        };
        let (a, b) = (n(ids.next()), n(ids.next()));
        assert_eq!(b, a + SHARDS as u64, "one thread counts in its own shard");
    }

    #[test]
    fn request_ids_from_many_threads_are_unique() {
        let ids = RequestIds::new();
        let seen: Vec<HeaderValue> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..2 * SHARDS)
                .map(|_| s.spawn(|| (0..500).map(|_| ids.next()).collect::<Vec<_>>()))
                .collect();
            threads
                .into_iter()
                .flat_map(|t| t.join().expect("thread ran"))
                .collect()
        });
        let unique: std::collections::HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), 2 * SHARDS * 500);
    }
}
