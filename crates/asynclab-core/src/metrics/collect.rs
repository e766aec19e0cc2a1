//! Metrics read when `/metrics` is scraped rather than counted as things
//! happen: the process (CPU time, memory, file descriptors, start time) and the
//! Tokio runtime (workers, tasks alive, the global queue).
//!
//! Pattern: **a collector, asked at scrape time.** Counting CPU seconds as they
//! pass would be absurd; the kernel already keeps them. A prometheus-client
//! `Collector` is called on every scrape and encodes what it reads then, so
//! these numbers cost nothing between scrapes.
//!
//! The process metrics have the names every Prometheus client library uses
//! (`process_cpu_seconds_total`, ...; no `asynclab_` prefix), so the usual
//! dashboards work. They are read from Linux's `/proc` (on other systems they
//! are left out). `/proc` counts CPU time in clock ticks of 1/100 s: the
//! kernel's `USER_HZ` is 100 on every Linux architecture, and Prometheus's own
//! procfs library takes the same constant.

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeGaugeValue, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Clock ticks per second in `/proc` (Linux's `USER_HZ`).
const TICKS_PER_SEC: f64 = 100.0;

/// `process_*`: read from `/proc/self` at each scrape.
#[derive(Debug)]
pub(super) struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let stat = Stat::read();
        if let Some(stat) = &stat {
            let cpu = ConstCounter::new(stat.cpu_ticks as f64 / TICKS_PER_SEC);
            let help = "CPU time this process has used, user and system, in seconds.";
            cpu.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                help,
                None,
                cpu.metric_type(),
            )?)?;
        }
        if let Some(rss) = resident_bytes() {
            gauge(
                &mut encoder,
                "process_resident_memory_bytes",
                "Resident memory (RSS) of this process, in bytes.",
                rss as f64,
            )?;
        }
        if let Some(stat) = &stat {
            gauge(
                &mut encoder,
                "process_virtual_memory_bytes",
                "Virtual memory size of this process, in bytes.",
                stat.virtual_bytes as f64,
            )?;
        }
        if let Some(open) = open_fds() {
            gauge(
                &mut encoder,
                "process_open_fds",
                "File descriptors this process has open (sockets included).",
                open as f64,
            )?;
        }
        if let Some(max) = max_fds() {
            gauge(
                &mut encoder,
                "process_max_fds",
                "The most file descriptors this process may open (its soft limit, ulimit -n).",
                max as f64,
            )?;
        }
        if let Some(start) = stat.as_ref().and_then(|s| start_time(s.start_ticks)) {
            gauge(
                &mut encoder,
                "process_start_time_seconds",
                "When this process started, in seconds since the Unix epoch.",
                start,
            )?;
        }
        Ok(())
    }
}

/// `asynclab_runtime_*`: the stable metrics of the Tokio runtime that serves
/// the scrape (the one runtime all servers of the process share).
#[derive(Debug)]
pub(super) struct RuntimeCollector;

impl Collector for RuntimeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Ok(());
        };
        let m = runtime.metrics();
        gauge(
            &mut encoder,
            "asynclab_runtime_workers",
            "Worker threads of the Tokio runtime.",
            m.num_workers() as f64,
        )?;
        gauge(
            &mut encoder,
            "asynclab_runtime_alive_tasks",
            "Tasks alive in the Tokio runtime (spawned, not yet finished).",
            m.num_alive_tasks() as f64,
        )?;
        gauge(
            &mut encoder,
            "asynclab_runtime_global_queue_depth",
            "Tasks waiting in the Tokio runtime's global (injection) queue.",
            m.global_queue_depth() as f64,
        )
    }
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: impl EncodeGaugeValue + fmt::Debug + Send + Sync + 'static,
) -> fmt::Result {
    let gauge = ConstGauge::new(value);
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

/// What `/proc/self/stat` says (see `man 5 proc`).
#[derive(Debug)]
struct Stat {
    /// utime + stime, in clock ticks.
    cpu_ticks: u64,
    /// Clock ticks from boot to the process's start.
    start_ticks: u64,
    virtual_bytes: u64,
}

impl Stat {
    fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        Self::parse(&stat)
    }

    fn parse(stat: &str) -> Option<Self> {
        // The command name (field 2) is in parentheses and may hold spaces, so
        // count fields from the last `)`: field 3 (state) is index 0 after it.
        let (_, rest) = stat.rsplit_once(')')?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        Some(Self {
            cpu_ticks: field(14)? + field(15)?,
            start_ticks: field(22)?,
            virtual_bytes: field(23)?,
        })
    }
}

/// `VmRSS` from `/proc/self/status` (in kB there): exact whatever the page size.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}

#[cfg(target_os = "linux")]
fn max_fds() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(target_os = "linux"))]
fn max_fds() -> Option<u64> {
    None
}

/// Boot time (`btime` in `/proc/stat`) plus the ticks to the process's start.
fn start_time(start_ticks: u64) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let boot: u64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(boot as f64 + start_ticks as f64 / TICKS_PER_SEC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_command_names_end() {
        // A command name with spaces and a `)` in it, as a process may pick.
        let line = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1234 56789 321 18446744073709551615";
        let stat = Stat::parse(line).expect("parses");
        assert_eq!(
            (stat.cpu_ticks, stat.start_ticks, stat.virtual_bytes),
            (300, 1234, 56789)
        );
    }
}
