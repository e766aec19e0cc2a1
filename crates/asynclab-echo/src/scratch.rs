//! Buffers that belong to a worker thread instead of a connection.
//!
//! Pattern: **`thread_local!` scratch space for async tasks.** Most echoes are
//! read, answered and written back in one go, without an `.await` in between. A
//! buffer used only in such a stretch need not belong to the connection: one per
//! worker thread serves every connection that thread runs. So a busy connection
//! makes no allocation per message, and an idle one holds no buffer at all.
//!
//! The one rule: never hold the borrow across an `.await`. Between two
//! `.await`s a task runs uninterrupted on one thread, so nothing else can use
//! that thread's buffers meanwhile; across an `.await` other tasks run on the
//! thread, and this one may even move to another thread. The closure passed to
//! [`with`] is synchronous, which is what makes this impossible to get wrong.

use std::cell::RefCell;

/// This worker thread's buffers.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// What one read fills: `echo.read_buffer` bytes.
    pub read: Vec<u8>,
    /// Answers being built (line mode), empty when handed out.
    pub answers: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch { read: Vec::new(), answers: Vec::new() })
    };
}

/// Runs `f` with this thread's buffers: `read` is `read_size` bytes long,
/// `answers` is empty.
pub(crate) fn with<T>(read_size: usize, f: impl FnOnce(&mut Scratch) -> T) -> T {
    SCRATCH.with_borrow_mut(|scratch| {
        if scratch.read.len() != read_size {
            scratch.read.resize(read_size, 0);
        }
        scratch.answers.clear();
        f(scratch)
    })
}
