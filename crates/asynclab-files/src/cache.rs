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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditional::Meta;

    fn file(len: usize) -> Arc<Cached> {
        let meta = Meta {
            len: len as u64,
            modified: std::time::UNIX_EPOCH,
            ino: 1,
        };
        Arc::new(Cached {
            version: Version::new(meta, "text/plain; charset=utf-8", None),
            contents: Bytes::from(vec![b'x'; len]),
        })
    }

    #[test]
    fn memory_stays_within_the_capacity() {
        let cache = Cache::new(1000, Duration::from_secs(3600));
        cache.put("a", 0, file(500));
        cache.put("b", 0, file(500));
        assert!(cache.get("a", 0).is_some());
        assert!(cache.get("b", 0).is_none(), "over capacity, not cached");
        assert!(
            cache.get("a", 1).is_none(),
            "another encoding is another entry"
        );
        // Replacing an entry frees its old size first.
        cache.put("a", 0, file(600));
        assert_eq!(cache.get("a", 0).map(|c| c.contents.len()), Some(600));
        cache.clear();
        assert!(cache.get("a", 0).is_none());
    }

    #[test]
    fn expired_entries_are_not_served_and_make_room() {
        let cache = Cache::new(1000, Duration::from_millis(20));
        cache.put("a", 0, file(500));
        std::thread::sleep(Duration::from_millis(50));
        assert!(cache.get("a", 0).is_none());
        cache.put("b", 0, file(500));
        assert!(cache.get("b", 0).is_some(), "the expired entry made room");
    }

    #[test]
    fn a_zero_size_turns_it_off() {
        let cache = Cache::new(0, Duration::from_secs(1));
        cache.put("a", 0, file(1));
        assert!(cache.get("a", 0).is_none());
    }
}
