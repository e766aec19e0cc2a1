//! A small, bounded pool of read buffers for streaming large files, so a
//! download reads into memory the process already has instead of fresh memory.
//!
//! Why it matters: a buffer of a few hundred KiB is above glibc's `mmap`
//! threshold, or is given back to the kernel when freed at the top of a heap,
//! so a new one per read means the kernel zeroes and maps every page on first
//! touch and unmaps it again afterwards. Profiled on 1 MiB downloads, that was
//! about a quarter of the server's CPU time, more than the copying itself. A
//! buffer taken from this pool has been touched before: reading into it is just
//! the copy. And a buffer that is reused stays warm in the CPU caches between
//! the read that fills it and the socket write that empties it.
//!
//! The async pattern: **lending a buffer to hyper without copying, and getting
//! it back when hyper is done with it.** hyper writes a body frame (a [`Bytes`])
//! whenever the socket allows and drops it afterwards, on no schedule of ours.
//! [`Bytes::from_owner`] wraps our buffer so that the drop of the last handle to
//! it runs our `Drop`, which puts the buffer back in the pool.
//!
//! Bounded both ways: a download holds at most the buffers hyper has not yet
//! written plus the one being read, and the pool keeps at most
//! `files.idle_buffers` free ones (more come back only after a burst; they are
//! freed). A `std::sync::Mutex` is right here: it is held for one `push` or
//! `pop`, never across an `.await`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

/// Free buffers of one size, at most `keep` of them.
#[derive(Debug)]
pub(crate) struct Pool {
    size: usize,
    keep: usize,
    idle: Mutex<Vec<Vec<u8>>>,
    /// How many buffers were ever allocated: the tests' proof of reuse.
    made: AtomicUsize,
}

impl Pool {
    /// A pool of buffers of `size` bytes that keeps at most `keep` free ones.
    pub(crate) fn new(size: usize, keep: usize) -> Arc<Self> {
        Arc::new(Pool {
            size,
            keep,
            idle: Mutex::new(Vec::with_capacity(keep)),
            made: AtomicUsize::new(0),
        })
    }

    /// The size of every buffer.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// A buffer of `size()` bytes, reused when one is free. The bytes in it are
    /// whatever the last reader left (a new one is zeroed once): callers read
    /// over them and only ever hand out what they read.
    pub(crate) fn take(self: &Arc<Self>) -> Buffer {
        let reused = self.lock().pop();
        let bytes = reused.unwrap_or_else(|| {
            self.made.fetch_add(1, Ordering::Relaxed);
            vec![0; self.size]
        });
        Buffer {
            bytes,
            pool: Arc::clone(self),
        }
    }

    /// How many free buffers the pool holds now.
    #[cfg(test)]
    pub(crate) fn idle(&self) -> usize {
        self.lock().len()
    }

    /// How many buffers were ever allocated.
    #[cfg(test)]
    pub(crate) fn made(&self) -> usize {
        self.made.load(Ordering::Relaxed)
    }

    fn put(&self, bytes: Vec<u8>) {
        let mut idle = self.lock();
        if idle.len() < self.keep {
            idle.push(bytes);
        }
        // Otherwise `bytes` is dropped here: the pool never grows past `keep`.
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        // A panic while holding the lock cannot leave the list half-changed
        // (push and pop are each one step), so a poisoned lock is still usable.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A buffer on loan from a [`Pool`]; it goes back when dropped.
#[derive(Debug)]
pub(crate) struct Buffer {
    bytes: Vec<u8>,
    pool: Arc<Pool>,
}

impl Buffer {
    /// The whole buffer, to read into.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// The first `len` bytes as a frame for hyper, without copying; the buffer
    /// returns to the pool when hyper (or anyone) drops the last handle to it.
    pub(crate) fn freeze(self, len: usize) -> Bytes {
        assert!(len <= self.bytes.len(), "a frame longer than its buffer");
        Bytes::from_owner(Filled { buffer: self, len })
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        self.pool.put(std::mem::take(&mut self.bytes));
    }
}

/// What [`Buffer::freeze`] hands to `Bytes`: the buffer and how much of it is data.
struct Filled {
    buffer: Buffer,
    len: usize,
}

impl AsRef<[u8]> for Filled {
    fn as_ref(&self) -> &[u8] {
        &self.buffer.bytes[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_when_the_last_handle_is_dropped() {
        let pool = Pool::new(4096, 4);
        let mut buf = pool.take();
        buf.as_mut_slice()[..3].copy_from_slice(b"abc");
        let frame = buf.freeze(3);
        let part = frame.slice(1..);
        assert_eq!(&frame[..], b"abc");
        drop(frame);
        assert_eq!(pool.idle(), 0, "a slice still holds the buffer");
        assert_eq!(&part[..], b"bc");
        drop(part);
        assert_eq!(pool.idle(), 1);
        // The same memory is lent again, with the old bytes still in it.
        let mut again = pool.take();
        assert_eq!(&again.as_mut_slice()[..3], b"abc");
        assert_eq!(pool.idle(), 0);
    }

    #[test]
    fn the_pool_keeps_no_more_than_its_bound() {
        let pool = Pool::new(4096, 2);
        let lent: Vec<Buffer> = (0..10).map(|_| pool.take()).collect();
        drop(lent);
        assert_eq!(pool.idle(), 2, "the extra buffers are freed, not kept");
        let none = Pool::new(4096, 0);
        drop(none.take());
        assert_eq!(none.idle(), 0);
    }
}
