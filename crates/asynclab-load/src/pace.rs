//! When each connection sends its next request: the closed model (as fast as the
//! server answers) and the open model (`--rate`, requests at fixed times).
//!
//! Pattern: **a schedule that does not wait for the server**. In the open model
//! request *k* (counting over all connections) is due at `start + k / rate`, and
//! connection *i* sends requests *i*, *i + c*, *i + 2c*... If the server stalls, the
//! schedule does not: when the connection is free again, the requests it should have
//! sent are sent at once, and their latency is counted from when they were *due*.
//! Otherwise a stalled server would be sampled less exactly while it is slow, and the
//! percentiles would hide the stall ("coordinated omission", as described by Gil Tene
//! and corrected the same way in wrk2).
//!
//! When the connection is early instead, it sleeps until the due time and counts from
//! when it actually sends: a timer that wakes a millisecond late is the generator's
//! fault, not the server's, and must not show up as server latency.
//!
//! The pacer also decides what counts: requests due before the warmup ends are sent
//! but not reported, and with `-n` every measured request takes one ticket, so exactly
//! N are sent however the connections race for them. Each connection's first ticket
//! is its own (while N lasts); the rest come from a shared atomic counter. Without the
//! reserved ones, a connection whose thread the OS set aside for a few milliseconds
//! could find every ticket gone before it had even connected: `-n 40 -c 2` would then
//! have used one connection, not the two it asked for.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use asynclab_core::stop::{StopFlag, Watch};
use tokio::time::Instant;

use crate::Settings;
use crate::stages::Stages;

/// When requests go out.
#[derive(Debug)]
enum Schedule {
    /// Closed model: each connection sends as soon as it is answered.
    Closed,
    /// Closed model with `--stage`: connection *i* works while the target is at
    /// least *i + 1*, and waits, disconnected, while it is not.
    Connections(Stages),
    /// Open model: one request every `interval_ns` nanoseconds over all connections.
    Constant { interval_ns: f64 },
    /// Open model with `--stage`: request *k* is due when the ramp holds *k* requests.
    Ramp(Stages),
}

/// The timeline shared by every connection of a run.
#[derive(Debug)]
pub(crate) struct Plan {
    start: Instant,
    /// Results count from here on.
    pub(crate) measure_from: Instant,
    /// No request starts at or after this instant.
    end: Option<Instant>,
    /// Measured requests still to send with `-n`, besides the reserved ones.
    budget: Option<AtomicU64>,
    /// Connections `0..reserved` each have one ticket of their own: `min(N, c)`.
    reserved: u64,
    schedule: Schedule,
    connections: u64,
    /// Measured requests that fell due before the end but were never sent.
    missed: AtomicU64,
}

impl Plan {
    pub(crate) fn new(settings: &Settings, start: Instant) -> Plan {
        let measure_from = start + settings.warmup;
        let connections = settings.connections as u64;
        let reserved = settings.requests.map_or(0, |n| n.min(connections));
        Plan {
            start,
            measure_from,
            end: settings.duration.map(|d| measure_from + d),
            budget: settings.requests.map(|n| AtomicU64::new(n - reserved)),
            reserved,
            schedule: match (settings.rate, settings.stages.clone()) {
                (None, None) => Schedule::Closed,
                (None, Some(stages)) => Schedule::Connections(stages),
                (Some(rate), None) => Schedule::Constant {
                    interval_ns: 1e9 / rate,
                },
                (Some(_), Some(stages)) => Schedule::Ramp(stages),
            },
            connections,
            missed: AtomicU64::new(0),
        }
    }

    /// When request `k` (over all connections) is due in the open model; `None` in
    /// the closed model and past the end of a ramp.
    ///
    /// Computed from k each time rather than by adding intervals, so rounding never
    /// drifts: exactly `rate × duration` requests are due.
    fn due(&self, k: u64) -> Option<Instant> {
        match &self.schedule {
            Schedule::Constant { interval_ns } => {
                Some(self.start + Duration::from_nanos((k as f64 * interval_ns) as u64))
            }
            Schedule::Ramp(stages) => stages
                .time_of(k as f64)
                .map(|t| self.start + Duration::from_secs_f64(t)),
            Schedule::Closed | Schedule::Connections(_) => None,
        }
    }

    /// How many requests the open-model schedule holds in `span` from its start.
    fn expected(&self, span: Duration) -> f64 {
        match &self.schedule {
            Schedule::Constant { interval_ns } => span.as_nanos() as f64 / interval_ns,
            Schedule::Ramp(stages) => stages.expected(span.as_secs_f64()),
            Schedule::Closed | Schedule::Connections(_) => 0.0,
        }
    }

    /// How long the schedule takes to hold `n` measured requests, for the rate's
    /// window (see `Report::new`); zero in the closed model.
    pub(crate) fn span_of(&self, n: u64) -> Duration {
        let skipped = self.expected(self.measure_from - self.start).ceil() as u64;
        let due = self
            .due(skipped + n)
            .or(self.end)
            .unwrap_or(self.measure_from);
        due.saturating_duration_since(self.measure_from)
    }

    /// Measured requests that were due but never sent: the connections were all
    /// still busy when the run ended (`--rate` beyond what they can carry).
    pub(crate) fn missed(&self) -> u64 {
        self.missed.load(Ordering::Relaxed)
    }

    /// Counts the requests `k, k + c, k + 2c, ...` due before the end as missed.
    fn miss_from(&self, k: u64) {
        let Some(end) = self.end else { return };
        let c = self.connections;
        let before_end = |k| self.due(k).is_some_and(|due| due < end);
        // The count by arithmetic, then corrected by `due` itself, so a rounding
        // at the boundary agrees with the check that ended the connection.
        let last = self.expected(end - self.start).ceil() as u64;
        let mut n = if k < last { (last - k - 1) / c + 1 } else { 0 };
        while before_end(k + n * c) {
            n += 1;
        }
        while n > 0 && !before_end(k + (n - 1) * c) {
            n -= 1;
        }
        let warming = (0..n)
            .take_while(|i| self.due(k + i * c).is_some_and(|d| d < self.measure_from))
            .count() as u64;
        self.missed.fetch_add(n - warming, Ordering::Relaxed);
    }

    /// Takes one ticket from the shared `-n` budget; false when none is left.
    fn take_shared_ticket(&self) -> bool {
        match &self.budget {
            None => true,
            // A compare-and-swap loop, never going below zero: two connections can
            // never both take the last ticket.
            Some(left) => left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok(),
        }
    }

    fn is_over(&self, at: Instant) -> bool {
        self.end.is_some_and(|end| at >= end)
    }
}

/// One request's place in the run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    /// Latency is measured from here.
    pub(crate) origin: Instant,
    /// When the request goes out (the request's timeout counts from here): `origin`,
    /// or later for a request sent late in the open model. Read once, here, so the
    /// loop needs no second clock reading per request.
    pub(crate) sent: Instant,
    /// False during the warmup: sent, but not reported.
    pub(crate) measured: bool,
}

/// One connection's view of the [`Plan`].
#[derive(Debug)]
pub(crate) struct Pacer {
    plan: Arc<Plan>,
    /// The run's stop, looked at before each request: a plain load.
    stop: StopFlag,
    /// The same stop, for the waits that it cuts short (this connection's own).
    stopped: Watch,
    /// This connection's number.
    index: u64,
    /// The global number of this connection's next request (open model).
    next: u64,
    /// This connection's own `-n` ticket, not yet used.
    own_ticket: bool,
}

impl Pacer {
    /// Connection `index`'s pacer; `stop` ends it before its next request.
    pub(crate) fn new(plan: Arc<Plan>, index: usize, stop: &StopFlag) -> Pacer {
        let own_ticket = (index as u64) < plan.reserved;
        Pacer {
            plan,
            stop: stop.clone(),
            stopped: stop.watch(),
            index: index as u64,
            next: index as u64,
            own_ticket,
        }
    }

    /// Waits for this connection's next request; `None` when the run is over for it.
    pub(crate) async fn next(&mut self) -> Option<Slot> {
        let plan = &*self.plan;
        if self.stop.is_stopped() {
            return None;
        }
        let (origin, due, sent) = match plan.schedule {
            Schedule::Closed | Schedule::Connections(_) => {
                let now = Instant::now();
                (now, now, now)
            }
            Schedule::Constant { .. } | Schedule::Ramp(_) => {
                let k = self.next;
                let due = plan.due(k)?;
                self.next += plan.connections;
                if plan.is_over(due) {
                    return None;
                }
                let now = Instant::now();
                if now < due {
                    // Early: sleep, but wake for a ctrl-c.
                    tokio::select! {
                        () = tokio::time::sleep_until(due) => {}
                        () = &mut self.stopped => return None,
                    }
                    let now = Instant::now();
                    (now, due, now)
                } else if plan.is_over(now) {
                    // Late, and the run is over: a stalled server has left a backlog
                    // that would keep the run going long after its end. What was due
                    // but never sent is not started, but counted as missed.
                    plan.miss_from(k);
                    return None;
                } else {
                    // Late (the previous answer came after this one was due): send
                    // now and count from the due time.
                    (due, due, now)
                }
            }
        };
        if plan.is_over(due) {
            return None;
        }
        let measured = due >= plan.measure_from;
        if measured && !self.take_ticket() {
            return None;
        }
        Some(Slot {
            origin,
            sent,
            measured,
        })
    }

    /// Sleeps for `wait` (a backoff), but no later than the end of the run or a stop.
    pub(crate) async fn pause(&mut self, wait: Duration) {
        let mut until = Instant::now() + wait;
        if let Some(end) = self.plan.end {
            until = until.min(end);
        }
        tokio::select! {
            () = tokio::time::sleep_until(until) => {}
            () = &mut self.stopped => {}
        }
    }

    /// With `--stage` and no `--rate`: when this connection, not wanted now, is
    /// wanted again (the end of the run if never). `None` while it is wanted.
    pub(crate) fn parked_until(&self) -> Option<Instant> {
        let Schedule::Connections(stages) = &self.plan.schedule else {
            return None;
        };
        let now = Instant::now().saturating_duration_since(self.plan.start);
        let level = (self.index + 1) as f64;
        // A hair of tolerance: at the computed wake-up time the value is `level`,
        // give or take a rounding.
        if stages.value_at(now.as_secs_f64()) >= level - 1e-9 {
            return None;
        }
        let end = self.plan.end.unwrap_or(self.plan.start);
        Some(
            stages
                .reaches(level, now.as_secs_f64())
                .map_or(end, |t| self.plan.start + Duration::from_secs_f64(t)),
        )
    }

    /// Sleeps until `wake`; false when the run ends or stops first.
    pub(crate) async fn sleep_until(&mut self, wake: Instant) -> bool {
        if self.plan.is_over(wake) {
            return false;
        }
        tokio::select! {
            () = tokio::time::sleep_until(wake) => true,
            () = &mut self.stopped => false,
        }
    }

    /// With `-n`: this connection's own ticket first, then a shared one.
    fn take_ticket(&mut self) -> bool {
        std::mem::take(&mut self.own_ticket) || self.plan.take_shared_ticket()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `-n requests -c connections`, closed model, no warmup.
    fn plan(requests: u64, connections: usize) -> Arc<Plan> {
        let mut settings = Settings::new("http://127.0.0.1:1/".parse().expect("valid URL"));
        settings.requests = Some(requests);
        settings.duration = None;
        settings.connections = connections;
        Arc::new(Plan::new(&settings, Instant::now()))
    }

    /// How many slots a connection gets if it asks until told the run is over.
    async fn drain(pacer: &mut Pacer) -> u64 {
        let mut slots = 0;
        while pacer.next().await.is_some() {
            slots += 1;
        }
        slots
    }

    #[tokio::test]
    async fn a_connection_that_comes_late_still_gets_its_own_request() {
        let plan = plan(40, 2);
        let stop = StopFlag::new();
        let mut first = Pacer::new(plan.clone(), 0, &stop);
        let mut late = Pacer::new(plan, 1, &stop);
        // The first connection takes everything it can before the other asks once.
        assert_eq!(drain(&mut first).await, 39);
        assert_eq!(drain(&mut late).await, 1);
    }

    #[tokio::test]
    async fn exactly_n_whatever_the_order_and_fewer_requests_than_connections() {
        let plan = plan(3, 5);
        let stop = StopFlag::new();
        let mut pacers: Vec<_> = (0..5).map(|i| Pacer::new(plan.clone(), i, &stop)).collect();
        let mut slots = Vec::new();
        for pacer in pacers.iter_mut().rev() {
            slots.push(drain(pacer).await);
        }
        // Connections 0, 1 and 2 each send one; 3 and 4 have nothing to send.
        assert_eq!(slots, [0, 0, 1, 1, 1]);
    }
}
