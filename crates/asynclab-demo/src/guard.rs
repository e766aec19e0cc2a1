//! A drop guard: the proof that a future was cancelled.
//!
//! In Rust async, cancelling a future *is* dropping it: whoever stopped polling it
//! (a `select!` whose other branch won, a `timeout` that fired, hyper after the
//! client hung up) drops it, and its destructors run at that `.await` point. The
//! future's code after that `.await` never runs. A guard created at the start of
//! the future sees both endings: `finish` on the normal path, `Drop` alone when the
//! future was abandoned mid-wait, which is how `/race` and `/timeout` can *report*
//! that the losing work was dropped instead of just claiming it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by [`Guard`]'s `Drop` when its future was dropped before it finished.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dropped(Arc<AtomicBool>);

impl Dropped {
    /// A guard to move into the future being watched.
    pub fn guard(&self, what: &'static str) -> Guard {
        Guard {
            what,
            finished: false,
            dropped: self.clone(),
        }
    }

    /// True once the watched future was dropped unfinished.
    pub fn happened(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Lives inside a future; notices being dropped before [`Guard::finish`].
#[derive(Debug)]
pub(crate) struct Guard {
    what: &'static str,
    finished: bool,
    dropped: Dropped,
}

impl Guard {
    /// The future ran to the end: its drop is not a cancellation.
    pub fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.finished {
            self.dropped.0.store(true, Ordering::SeqCst);
            tracing::debug!(
                what = self.what,
                "future dropped before it finished (cancelled)"
            );
        }
    }
}
