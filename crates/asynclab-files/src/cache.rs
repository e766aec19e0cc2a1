//! A small, bounded, time-validated cache of small files, so the common request
//! (a few KiB, asked again and again) makes **no** trip to the blocking pool.
//!
//! Even one `spawn_blocking` per request costs two thread hand-offs, and with 50
//! connections the pool grows to dozens of threads fighting for 2 cores; that is
//! the difference between ~30% and ~100% of nginx on 4 KiB files. So the result
//! of `open::resolve` for a file no larger than `files.chunk` (its bytes and its
//! precomputed `ETag` / `Last-Modified` headers) is kept for `files.cache_ttl`,
//! and then checked again on disk by the next request that wants it, through the
//! normal path. This is nginx's `open_file_cache_valid` idea: a change on disk is
//! seen at most one TTL late, and what we send is always one consistent version
//! with its own validators. Our own uploads clear the cache at once.
//!
//! Why a `std::sync::Mutex` in async code: it is held only for a hash-map lookup
//! or insert, never across an `.await`, so it cannot block the runtime for long,
//! and it is cheaper than an async mutex (see the Tokio docs on
//! [which mutex to use](https://docs.rs/tokio/latest/tokio/sync/struct.Mutex.html#which-kind-of-mutex-should-you-use)).
//! Memory is bounded by `files.cache_size`: when full, expired entries are
//! dropped, and if that is not enough the new file is simply not cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::Version;

/// One cached small file: the exact bytes and headers a 200 would send.
#[derive(Debug)]
pub(crate) struct Cached {
    pub version: Version,
    pub contents: Bytes,
}

/// What one entry counts against `files.cache_size`: its bytes, its key, and a
/// rough allowance for the headers and bookkeeping.
fn cost(raw: &str, cached: &Cached) -> usize {
    cached.contents.len() + raw.len() + 256
}

#[derive(Debug)]
pub(crate) struct Cache {
    ttl: Duration,
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Keyed by the raw request path (a `String` key can be looked up by `&str`,
    /// so a hit allocates nothing), then by the set of accepted encodings (0..=3),
    /// since both decide which file `open::resolve` picked.
    entries: HashMap<String, [Option<Entry>; 4]>,
    bytes: usize,
}

type Entry = (Arc<Cached>, Instant);

impl Cache {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        Cache {
            ttl,
            capacity,
            state: Mutex::default(),
        }
    }

    fn enabled(&self) -> bool {
        self.capacity > 0 && !self.ttl.is_zero()
    }

    /// A fresh entry for this request, if any.
    pub(crate) fn get(&self, raw: &str, encodings: u8) -> Option<Arc<Cached>> {
        if !self.enabled() {
            return None;
        }
        let state = self.state.lock().expect("cache lock poisoned");
        let (cached, stored) = state.entries.get(raw)?[usize::from(encodings)].as_ref()?;
        (stored.elapsed() < self.ttl).then(|| Arc::clone(cached))
    }

    /// Remembers `cached` if it fits.
    pub(crate) fn put(&self, raw: &str, encodings: u8, cached: Arc<Cached>) {
        if !self.enabled() {
            return;
        }
        let size = cost(raw, &cached);
        let mut state = self.state.lock().expect("cache lock poisoned");
        let slot = usize::from(encodings);
        if let Some((old, _)) = state
            .entries
            .get_mut(raw)
            .and_then(|slots| slots[slot].take())
        {
            state.bytes -= cost(raw, &old);
        }
        if state.bytes + size > self.capacity {
            let ttl = self.ttl;
            let mut bytes = 0;
            state.entries.retain(|raw, slots| {
                for entry in slots.iter_mut() {
                    match entry {
                        Some((_, stored)) if stored.elapsed() >= ttl => *entry = None,
                        Some((cached, _)) => bytes += cost(raw, cached),
                        None => {}
                    }
                }
                slots.iter().any(Option::is_some)
            });
            state.bytes = bytes;
            if state.bytes + size > self.capacity {
                return;
            }
        }
        state.bytes += size;
        let slots = state.entries.entry(raw.to_owned()).or_default();
        slots[slot] = Some((cached, Instant::now()));
    }

    /// Forgets everything (after an upload changed a file).
    pub(crate) fn clear(&self) {
        let mut state = self.state.lock().expect("cache lock poisoned");
        state.entries.clear();
        state.bytes = 0;
    }
}
