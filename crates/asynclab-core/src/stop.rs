//! A stop that thousands of connection tasks watch, cheaply.
//!
//! Every connection of a server waits, in its `select!`, for the server to say
//! "finish up" and later "stop now". The obvious tool is a `CancellationToken`,
//! and that is what wakes the tasks here too. But polling a token's waiter
//! takes the token's lock, and a connection task is polled on every message it
//! serves: with one token shared by every connection, that is one lock taken by
//! thousands of tasks on two cores, thousands of times a second, for a signal
//! that comes once. (A child token per connection spreads the lock, but still
//! takes one per wake-up, and creating and dropping the child each takes the
//! parent's.)
//!
//! Pattern: **a flag in front of a wake-up.** A [`StopFlag`] is an `AtomicBool`
//! next to a token. [`StopFlag::stop`] sets the flag, then cancels the token.
//! A waiting task holds a [`Watch`]: polled the first time, it registers the
//! task with the token (so the cancellation will wake it); after that it looks
//! only at the flag, a plain load from memory every core can keep in its cache,
//! and polls the token's waiter again only once the flag is set. The flag is
//! set before the wake-up, so a task woken by the stop always sees it.
//!
//! Why not a `select!` precondition (`() = waiter, if flag.load(..)`)? `select!`
//! evaluates those once, when it starts waiting, not on each wake-up: a flag set
//! while it waits would never be seen. The check has to live inside the future.
//!
//! Each phase of the process's [`crate::Shutdown`] is a `StopFlag`; the
//! connection tasks of both servers watch its `stopping` and `cut` phases.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// A one-way signal, from one owner to many waiting tasks. Cheap to clone;
/// every clone sees the same state.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    /// Set once, before `token` is cancelled.
    stopped: AtomicBool,
    /// Wakes the tasks that wait.
    token: CancellationToken,
}

impl StopFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag, then wakes every task waiting on it. Calling it again
    /// changes nothing.
    pub fn stop(&self) {
        // `Release` pairs with the `Acquire` in `is_stopped`: a task woken by
        // the cancellation below sees the flag set.
        self.0.stopped.store(true, Ordering::Release);
        self.0.token.cancel();
    }

    /// True once [`StopFlag::stop`] was called. A load, no lock.
    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::Acquire)
    }

    /// A waiter for a task that waits on this flag many times, as a connection
    /// loop does (see the module docs). It is one allocation: make it once and
    /// poll it by `&mut` in every `select!`.
    ///
    /// It must stay in the task that first polled it: after that first poll it
    /// does not hand the token a new waker, so another task would not be woken.
    pub fn watch(&self) -> Watch {
        let waiter = self.0.token.clone().cancelled_owned();
        Watch::new(self.clone(), Box::pin(waiter))
    }

    /// Completes once the flag is set. No allocation, but each poll takes the
    /// token's lock: for a wait that happens once or rarely (a farewell, a
    /// write that blocks), not for a loop.
    pub fn stopped(&self) -> WaitForCancellationFuture<'_> {
        self.0.token.cancelled()
    }
}

/// Completes once its [`StopFlag`] is set; polled, it looks at the flag and
/// leaves the token alone until then. See [`StopFlag::watch`].
pub struct Watch {
    flag: StopFlag,
    waiter: Pin<Box<dyn Future<Output = ()> + Send>>,
    /// The waiter was polled once, so the task is registered with the token.
    registered: bool,
}

impl Watch {
    fn new(flag: StopFlag, waiter: Pin<Box<dyn Future<Output = ()> + Send>>) -> Self {
        Self {
            flag,
            waiter,
            registered: false,
        }
    }
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("stopped", &self.flag.is_stopped())
            .field("registered", &self.registered)
            .finish()
    }
}

impl Future for Watch {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.registered && !self.flag.is_stopped() {
            return Poll::Pending;
        }
        self.registered = true;
        self.waiter.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    /// A waiter that counts its polls and completes once `flag` is stopped.
    fn counted(polls: Arc<AtomicUsize>, flag: &StopFlag) -> Watch {
        let mut waiting = Box::pin(flag.0.token.clone().cancelled_owned());
        let waiter = std::future::poll_fn(move |cx| {
            polls.fetch_add(1, Ordering::Relaxed);
            waiting.as_mut().poll(cx)
        });
        Watch::new(flag.clone(), Box::pin(waiter))
    }

    #[tokio::test]
    async fn a_watch_polls_its_waiter_once_then_only_after_the_stop() {
        let flag = StopFlag::new();
        let polls = Arc::new(AtomicUsize::new(0));
        let mut watch = counted(polls.clone(), &flag);
        for _ in 0..3 {
            assert!(futures_util::poll!(&mut watch).is_pending());
        }
        assert_eq!(
            polls.load(Ordering::Relaxed),
            1,
            "registered once, then left alone"
        );
        flag.stop();
        tokio::time::timeout(Duration::from_secs(5), &mut watch)
            .await
            .expect("the watch completes once the flag is set");
        assert_eq!(polls.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_task_waiting_in_a_select_loop_is_woken_by_the_stop() {
        let flag = StopFlag::new();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        let task = tokio::spawn({
            let flag = flag.clone();
            async move {
                // Like a connection: other wake-ups come and go, the same
                // watch is polled again each time round the loop.
                let mut watch = flag.watch();
                let mut messages = 0;
                loop {
                    tokio::select! {
                        Some(()) = rx.recv() => messages += 1,
                        () = &mut watch => return messages,
                    }
                }
            }
        });
        for _ in 0..3 {
            tx.send(()).await.expect("the task is listening");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!task.is_finished(), "nothing stopped it yet");
        flag.stop();
        let messages = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the stop wakes the task")
            .expect("the task did not panic");
        assert_eq!(messages, 3);
    }

    #[tokio::test]
    async fn a_watch_made_after_the_stop_completes_at_once() {
        let flag = StopFlag::new();
        assert!(!flag.is_stopped());
        flag.stop();
        flag.stop();
        assert!(flag.is_stopped());
        assert!(futures_util::poll!(flag.watch()).is_ready());
        assert!(futures_util::poll!(std::pin::pin!(flag.stopped())).is_ready());
    }
}
