//! A small, bounded, time-validated cache of what `open::resolve` found, so the
//! common request (the same file, asked again and again) makes **no** trip to
//! the blocking pool.
//!
//! Even one `spawn_blocking` per request costs two thread hand-offs, and with 50
//! connections the pool grows to dozens of threads fighting for 2 cores; for
//! small files that is most of the gap to nginx (`docs/performance.md`). So the result
//! of `open::resolve` is kept for `files.cache_ttl`: for a file no larger than
//! `files.chunk`, its bytes; for a larger one, its open descriptor, from which
//! every request streams with positional reads (`body.rs`). Either way with its
//! precomputed `ETag` / `Last-Modified` headers. After the TTL the next request
//! that wants it checks again on disk, through the normal path. This is nginx's
//! `open_file_cache` idea: a change on disk is seen at most one TTL late, and
//! what we send is always one consistent version with its own validators (a
//! file changed in place under a cached descriptor is still cut mid-stream, as
//! `body.rs` checks every piece). Our own uploads clear the cache at once.
//!
//! Why a `std::sync::Mutex` in async code: it is held only for a hash-map lookup
//! or insert, never across an `.await`, so it cannot block the runtime for long,
//! and it is cheaper than an async mutex (see the Tokio docs on
//! [which mutex to use](https://docs.rs/tokio/latest/tokio/sync/struct.Mutex.html#which-kind-of-mutex-should-you-use)).
//! Memory is bounded by `files.cache_size`: when full, expired entries are
//! dropped, and if that is not enough the new file is simply not cached. An
//! open descriptor counts as `files.chunk` bytes (the most a file in memory can
//! cost), which also bounds how many descriptors the cache holds (128 with the
//! defaults). Expired entries are swept on every store, and one TTL after a
//! descriptor is stored (a timer task started by `lib.rs`), so a descriptor
//! is never held open for long after its TTL, even once requests stop: a
//! deleted file's space is freed, and an idle server's descriptors return to
//! their count before the load.

use std::collections::HashMap;
use std::fs::File;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::Version;
use crate::conditional::Meta;

/// One cached file: the headers a 200 would send, and where its bytes are.
#[derive(Debug)]
pub(crate) struct Cached {
    pub version: Version,
    pub contents: Contents,
}

impl Cached {
    /// Whether this entry may answer a request now. Bytes in memory are one
    /// consistent version, served until the TTL. A descriptor is not: if the
    /// file was changed in place, the old bytes are gone and a download would
    /// only be cut, so one `fstat` (on the open descriptor: no path lookup, no
    /// disk, cheap enough for a runtime thread) sends the request the normal
    /// way instead, which stores the new version.
    pub(crate) fn is_current(&self) -> bool {
        match &self.contents {
            Contents::Memory(_) => true,
            Contents::Open(file, _) => {
                file.metadata().map(|m| Meta::of(&m)).ok() == Some(self.version.meta)
            }
        }
    }
}

/// Where a cached file's bytes come from.
#[derive(Debug)]
pub(crate) enum Contents {
    /// A small file, whole.
    Memory(Bytes),
    /// A large file, open; the name (inside the root) is for log lines.
    Open(Arc<File>, Arc<str>),
}

#[derive(Debug)]
pub(crate) struct Cache {
    ttl: Duration,
    capacity: usize,
    /// What an open descriptor counts against `capacity` (`files.chunk`).
    descriptor_cost: usize,
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
    pub(crate) fn new(capacity: usize, ttl: Duration, descriptor_cost: usize) -> Self {
        Cache {
            ttl,
            capacity,
            descriptor_cost,
            state: Mutex::default(),
        }
    }

    /// What one entry counts against `files.cache_size`: its bytes (or the
    /// allowance for a descriptor), its key, and a rough allowance for the
    /// headers and bookkeeping.
    fn cost(&self, raw: &str, cached: &Cached) -> usize {
        let contents = match &cached.contents {
            Contents::Memory(bytes) => bytes.len(),
            Contents::Open(..) => self.descriptor_cost,
        };
        contents + raw.len() + 256
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

    /// Remembers `cached` if it fits, after dropping every expired entry.
    pub(crate) fn put(&self, raw: &str, encodings: u8, cached: Arc<Cached>) {
        if !self.enabled() {
            return;
        }
        let size = self.cost(raw, &cached);
        let mut state = self.state.lock().expect("cache lock poisoned");
        let slot = usize::from(encodings);
        if let Some(slots) = state.entries.get_mut(raw) {
            slots[slot] = None;
        }
        // A sweep on every store (a miss, at most once per file per TTL) keeps
        // expired descriptors from staying open while other files are served.
        self.sweep_locked(&mut state);
        if state.bytes + size > self.capacity {
            return;
        }
        state.bytes += size;
        let slots = state.entries.entry(raw.to_owned()).or_default();
        slots[slot] = Some((cached, Instant::now()));
    }

    /// Drops every expired entry (closing the descriptors only it held).
    /// `lib.rs` calls this one TTL after storing a descriptor, so that
    /// descriptors are closed even when no request comes after them.
    pub(crate) fn sweep(&self) {
        let mut state = self.state.lock().expect("cache lock poisoned");
        self.sweep_locked(&mut state);
    }

    fn sweep_locked(&self, state: &mut State) {
        let ttl = self.ttl;
        let mut bytes = 0;
        state.entries.retain(|raw, slots| {
            for entry in slots.iter_mut() {
                match entry {
                    Some((_, stored)) if stored.elapsed() >= ttl => *entry = None,
                    Some((cached, _)) => bytes += self.cost(raw, cached),
                    None => {}
                }
            }
            slots.iter().any(Option::is_some)
        });
        state.bytes = bytes;
    }

    /// How long an entry is served.
    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How many paths have an entry (expired or not).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.state
            .lock()
            .expect("cache lock poisoned")
            .entries
            .len()
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

    fn file(len: usize) -> Arc<Cached> {
        let meta = Meta {
            len: len as u64,
            modified: std::time::UNIX_EPOCH,
            ino: 1,
        };
        Arc::new(Cached {
            version: Version::new(meta, "text/plain; charset=utf-8", None),
            contents: Contents::Memory(Bytes::from(vec![b'x'; len])),
        })
    }

    #[test]
    fn memory_stays_within_the_capacity() {
        let cache = Cache::new(1000, Duration::from_secs(3600), 500);
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
        let len = cache.get("a", 0).map(|c| match &c.contents {
            Contents::Memory(bytes) => bytes.len(),
            Contents::Open(..) => 0,
        });
        assert_eq!(len, Some(600));
        cache.clear();
        assert!(cache.get("a", 0).is_none());
    }

    #[test]
    fn expired_entries_are_not_served_and_make_room() {
        let cache = Cache::new(1000, Duration::from_millis(20), 500);
        cache.put("a", 0, file(500));
        std::thread::sleep(Duration::from_millis(50));
        assert!(cache.get("a", 0).is_none());
        cache.put("b", 0, file(500));
        assert!(cache.get("b", 0).is_some(), "the expired entry made room");
    }

    #[test]
    fn open_descriptors_count_against_the_capacity_and_expire() {
        let cache = Cache::new(1000, Duration::from_millis(20), 500);
        let open = |name: &str| {
            let file =
                File::open(std::env::current_exe().expect("the test binary")).expect("opened");
            let meta = Meta::of(&file.metadata().expect("metadata"));
            Arc::new(Cached {
                version: Version::new(meta, "application/octet-stream", None),
                contents: Contents::Open(Arc::new(file), name.into()),
            })
        };
        let first = open("a");
        let weak = Arc::downgrade(&first);
        cache.put("a", 0, first);
        cache.put("b", 0, open("b"));
        assert!(cache.get("a", 0).is_some());
        assert!(cache.get("b", 0).is_none(), "two descriptors exceed 1000");
        std::thread::sleep(Duration::from_millis(50));
        // Storing anything sweeps the expired entry, closing its descriptor.
        cache.put("c", 0, file(10));
        assert!(
            weak.upgrade().is_none(),
            "an expired descriptor stayed open"
        );
    }

    #[test]
    fn a_zero_size_turns_it_off() {
        let cache = Cache::new(0, Duration::from_secs(1), 500);
        cache.put("a", 0, file(1));
        assert!(cache.get("a", 0).is_none());
    }
}
