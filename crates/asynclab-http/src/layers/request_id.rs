//! `RequestIdLayer`: every request and its answer carry an `x-request-id`.
//!
//! A client's `x-request-id` is kept; a request without one gets a new id,
//! written into its headers, so handlers (`/headers`, `/echo`) and the access
//! log see it where they see every other header. The answer gets the same id
//! unless it set its own.
//!
//! Why our own layer: tower-http's `SetRequestIdLayer` and
//! `PropagateRequestIdLayer` do the same in two layers and also keep the id in
//! the request's extensions, a map allocated per request that nothing here
//! reads. The per-layer benchmark found that pair the most expensive layers of
//! the stack on `/fast` (figures and command in `docs/performance.md`), far
//! above the "few percent" a kept layer may cost; this one does the same job
//! with the headers only.
//!
//! An id is a per-process prefix and a number (`5f3a9c1e-42`): unique within a
//! process and across restarts, and far cheaper to make than a random UUID.
//! The numbers come from a sharded counter (`asynclab_core::sharded`): number =
//! the shard's count × `SHARDS` + shard, so no two shards hand out the same
//! number and no two worker threads take turns at one counter for every
//! request. Numbers rise per thread, not across the process.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use asynclab_core::sharded::{SHARDS, ShardedCounter};
use bytes::Bytes;
use http::header::{Entry, HeaderValue};
use http::{HeaderName, Request, Response};
use tower::{Layer, Service};

/// The request id header, read from the request and set on the response.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives each request an id (or keeps the client's) and puts it on the answer.
#[derive(Debug, Clone, Default)]
pub struct RequestIdLayer {
    ids: RequestIds,
}

impl RequestIdLayer {
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestId<S>;

    fn layer(&self, inner: S) -> RequestId<S> {
        RequestId {
            inner,
            ids: self.ids.clone(),
        }
    }
}

/// The service of [`RequestIdLayer`].
#[derive(Debug, Clone)]
pub struct RequestId<S> {
    inner: S,
    ids: RequestIds,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestId<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // One lookup (the entry) whether the client sent an id or not.
        let id = match req.headers_mut().entry(X_REQUEST_ID) {
            Entry::Occupied(theirs) => theirs.get().clone(),
            Entry::Vacant(slot) => slot.insert(self.ids.next()).clone(),
        };
        ResponseFuture {
            inner: self.inner.call(req),
            id: Some(id),
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner answer, with the request's id added to it.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        id: Option<HeaderValue>,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = ready!(this.inner.poll(cx))?;
        if let Some(mut id) = this.id.take()
            && let Entry::Vacant(slot) = res.headers_mut().entry(X_REQUEST_ID)
        {
            // Each answer's id is new, so HTTP/2's header compression (HPACK)
            // would only fill its table with ids never sent again, evicting the
            // entries that do repeat, and search every id it holds for each
            // answer. Marked sensitive, the id is sent as a literal that is
            // never indexed (RFC 7541 §7.1.3); HTTP/1.1 ignores the mark.
            id.set_sensitive(true);
            slot.insert(id);
        }
        Poll::Ready(Ok(res))
    }
}

/// Makes request ids. Cheap to clone: each copy of the stack (one per
/// connection) has one.
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
        let id = IdBytes {
            bytes: id,
            len: 9 + digits,
        };
        HeaderValue::from_maybe_shared(Bytes::from_owner(id))
            .expect("hex digits, a dash and decimal digits are a valid header value")
    }
}

/// An id's bytes, owned by the header value. `Bytes::from_owner` lets the
/// id's copies (in the request, the answer and the access log) share this one
/// allocation; bytes copied into a `Vec` would take a second one at the first
/// copy.
struct IdBytes {
    bytes: [u8; 29],
    len: usize,
}

impl AsRef<[u8]> for IdBytes {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
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

    #[tokio::test]
    async fn the_answer_carries_the_id_marked_never_to_be_indexed() {
        let mut svc = RequestIdLayer::new().layer(tower::service_fn(|_: Request<()>| async {
            Ok::<_, std::convert::Infallible>(Response::new(()))
        }));
        let res = svc.call(Request::new(())).await.expect("answered");
        let ours = &res.headers()[X_REQUEST_ID];
        assert!(ours.is_sensitive(), "a new id is not for HPACK's table");
        let theirs = Request::builder()
            .header(X_REQUEST_ID, "abc-123")
            .body(())
            .expect("valid request");
        let res = svc.call(theirs).await.expect("answered");
        assert_eq!(res.headers()[X_REQUEST_ID], "abc-123");
        assert!(res.headers()[X_REQUEST_ID].is_sensitive());
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
