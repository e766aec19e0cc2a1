//! `GET /counter` and `POST /counter`: one piece of state shared by every request.
//!
//! Pattern: **shared state behind an `Arc`, with the right lock**. Every handler
//! gets a clone of the same `Arc<Counter>`; the lock inside is a plain
//! `std::sync::Mutex`, not `tokio::sync::Mutex`, because the critical section is a
//! few nanoseconds with no `.await` in it: lock, add, copy the numbers out, unlock.
//! Tokio's own docs recommend the std mutex in that case; it is cheaper, and the
//! async one exists for locks that must be held *across* an `.await`.
//!
//! Why a std lock is never held across an `.await`: while the task is suspended
//! there, the lock stays taken and any other task that wants it blocks its whole
//! worker thread (possibly the one the holder needs to resume on: a deadlock). The
//! compiler helps: a `std::sync::MutexGuard` is not `Send`, so a future holding one
//! across an `.await` cannot be passed to `tokio::spawn` (and hyper needs `Send`).
//! Below, the guard lives in a block that ends before anything else happens.
//!
//! (Two numbers change together, the value and the number of POSTs that moved it
//! (`POST /counter?by=5` adds 5), which is why this is a lock and not a single
//! `AtomicU64`: a reader must never see one updated without the other.)

use std::sync::Mutex;

use serde_json::{Value, json};

#[derive(Debug, Default)]
pub(crate) struct Counter {
    state: Mutex<State>,
}

#[derive(Debug, Default, Clone, Copy)]
struct State {
    value: u64,
    increments: u64,
}

impl Counter {
    /// `POST /counter?by=N`: add `by` and report the new value.
    pub fn increment(&self, by: u64) -> Value {
        let now = {
            let mut state = self
                .state
                .lock()
                .expect("the counter lock is never poisoned");
            state.value = state.value.saturating_add(by);
            state.increments += 1;
            *state
        }; // <- the guard is dropped here, before any .await could happen
        report(now, "incremented")
    }

    /// `GET /counter`: read without changing.
    pub fn read(&self) -> Value {
        let now = *self
            .state
            .lock()
            .expect("the counter lock is never poisoned");
        report(now, "read")
    }
}

fn report(state: State, action: &str) -> Value {
    json!({
        "value": state.value,
        "increments": state.increments,
        "action": action,
        "lock": "std::sync::Mutex inside an Arc shared by every request",
        "why": "the lock is held only to add and copy two numbers, with no .await inside, \
                so a std Mutex is cheaper than tokio::sync::Mutex and safe. A std guard held \
                across an .await would keep the lock while the task sleeps and block the \
                worker threads of every task that wants it; its guard is not Send, so the \
                compiler refuses to spawn such a future",
    })
}
