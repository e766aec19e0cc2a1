//! `asynclab load`: a load generator for HTTP servers and TCP echo servers that is
//! fast enough not to be the bottleneck and honest about latency.
//!
//! A map of the crate, one idea per file:
//!
//! - [`args`]: the command line (clap derive) and its conversion to [`Settings`].
//! - `settings.rs`: the validated description of a run; tests build it directly.
//! - `target.rs`: the target URL parsed: an HTTP request built once, or an echo target.
//! - `run.rs`: [`run`], one task per connection in a `JoinSet`, merged at the end.
//! - `--threads N` runs the connections on N single-threaded runtimes, as wrk uses N
//!   event loops (`threads.rs`, [`Runtimes`]).
//! - `pace.rs`: closed model vs `--rate` (open model) and coordinated-omission correction.
//! - `worker.rs`: one connection's loop: `select!` between the request, a cut and a timeout
//!   (`lazy_deadline.rs`: the timeout's timer, re-armed only when it fires).
//! - `ws.rs`: WebSocket echo (`ws://`, `wss://`), handshake times and clean closes counted apart.
//! - `tls.rs`: `https://` and `wss://`: one TLS client per run, the stream both
//!   protocols run over, handshakes timed and counted (resumed, failed) apart.
//! - `h1.rs`, `h2.rs`, `echo.rs`: the protocols: HTTP/1.1 by hand on a reused buffer,
//!   HTTP/2 with hyper's `client::conn`, and an echo checked byte for byte.
//! - `stats.rs`: HDR histograms and counters in shards under uncontended std mutexes.
//! - `report.rs`, `summary.rs`, `plot.rs`: the results as data (`--json`), text and SVG.
//! - `hdr.rs`, `merge.rs`: the histogram saved losslessly in the JSON, and `load
//!   merge`, which adds saved runs up exactly.
//! - `stages.rs`: `--stage` ramps, the schedule as a function of time.
//! - `scenario.rs`, `template.rs`: several named, weighted, templated requests.
//! - `thresholds.rs`: `--fail-if` conditions and their exit status.
//! - `breakpoint.rs`: `--breakpoint`, runs at rising rates until a condition holds.
//! - `timeline.rs`: per-interval rate, errors and percentiles, sampled from the shards.
//! - `progress.rs`, `command.rs`: the terminal side: progress bar, ctrl-c, exit code.
//! - `tools.rs`: `load merge` and `load report`, the commands on saved runs.
//!
//! Tests and other crates call [`run`] with [`Settings`]; the `asynclab` binary calls
//! [`command::main`].

pub mod args;
mod breakpoint;
mod charts;
pub mod command;
mod echo;
mod error;
mod h1;
mod h2;
mod hdr;
mod html;
mod lazy_deadline;
mod merge;
mod pace;
mod plot;
mod progress;
mod report;
mod run;
mod scenario;
mod settings;
mod stages;
mod stats;
mod summary;
mod target;
mod template;
mod threads;
mod thresholds;
mod timeline;
mod tls;
mod tools;
mod worker;
mod ws;

pub use args::LoadArgs;
pub use breakpoint::{Breakpoint, Search, Step, search};
pub use error::{Error, ErrorKind};
pub use html::write_html;
pub use merge::{Saved, merge, read};
pub use plot::write_svg;
pub use report::{Bucket, Latency, Percentile, Report, Requests, SCHEMA, Transfer};
pub use run::{Control, resolve, run, run_on};
pub use scenario::{Order, Scenario};
pub use settings::Settings;
pub use stages::{Stage, Stages};
pub use stats::Live;
pub use summary::{show_bytes, show_us};
pub use target::{EchoMode, EchoTarget, HttpTarget, Target};
pub use threads::Runtimes;
pub use thresholds::{Checked, EXIT_THRESHOLDS, Threshold};
pub use timeline::{Named, Tick, Ticks};
pub use tls::TlsReport;
pub use tools::{MergeArgs, ReportArgs, Tool};
pub use ws::{WsReport, WsTarget};
