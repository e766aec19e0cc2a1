//! `asynclab load ...` as a command: build the runtime, wire ctrl-c and the progress
//! bar, run, print the results and choose the exit code.
//!
//! Run it with
//!
//! ```text
//! cargo run --release -- load http://127.0.0.1:8080/ -c 50 -d 10s
//! ```
//!
//! Pattern: **the runtime as a setting**. Unlike the servers, the load generator
//! builds its own runtimes, because `--threads` is one of its knobs: a fair
//! comparison with `wrk -t N` gives both the same number of threads.
//!
//! Ctrl-C is handled in two steps: the first stops starting requests and lets the ones
//! in flight finish (so every count stays exact, and the summary is printed); a second
//! one cuts them. Exit codes: 0 when the run completed and something succeeded, 1 when
//! nothing succeeded or the target could not be reached (with a one-line reason on
//! stderr), 2 for bad arguments, 130 when stopped by ctrl-c (once or twice, whatever
//! had finished by then).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use asynclab_core::open_files;
use asynclab_core::stop::StopFlag;
use tokio_util::sync::CancellationToken;

use crate::progress::Display;
use crate::threads::{self, Runtimes};
use crate::tools::{self, Tool};
use crate::{Control, Error, LoadArgs, Report, run_on};

/// Exit status for arguments that cannot be used (as clap uses).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit status after ctrl-c, as shells report a process ended by SIGINT.
const EXIT_INTERRUPTED: u8 = 130;
/// Open files needed besides the connections' sockets.
const SPARE_FILES: u64 = 64;

/// Runs `asynclab load` to the end. Call it outside any Tokio runtime.
pub fn main(args: LoadArgs) -> ExitCode {
    match &args.tool {
        Some(Tool::Merge(merge)) => return tools::merge(merge),
        Some(Tool::Report(report)) => return tools::report(report),
        None => {}
    }
    let checks = crate::args::thresholds(&args.fail_if);
    let parsed = checks.and_then(|checks| Ok((args.settings()?, checks, args.search()?)));
    let (settings, checks, search) = match parsed {
        Ok(all) => all,
        Err(e) => {
            eprintln!("asynclab load: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // One socket per connection, and some descriptors to spare (the runtimes'
    // epoll and wake-up descriptors, stdio, the plot file).
    let needed = settings.connections as u64 + SPARE_FILES;
    if let Err(e) = open_files::ensure(needed) {
        eprintln!("asynclab load: -c {}: {e}", settings.connections);
        return ExitCode::from(EXIT_USAGE);
    }
    let threads = args.threads.unwrap_or_else(threads::usable_cores);
    // The connections run on `threads` runtimes of their own (see `threads.rs`); this
    // thread's runtime only waits for them, watches ctrl-c and draws the progress bar.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("asynclab load: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let workers = match Runtimes::start(threads, "load") {
        Ok(workers) => workers,
        Err(e) => {
            eprintln!("asynclab load: cannot start {threads} runtime threads: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(search) = search {
        let found = runtime.block_on(async {
            let control = Control::default();
            tokio::spawn(on_ctrl_c(control.stop.clone(), control.cut.clone()));
            let on_step = |step: &crate::Step| eprintln!("{}", step.line());
            crate::search(&settings, &search, &control, workers.handles(), on_step).await
        });
        workers.stop();
        runtime.shutdown_background();
        return finish_search(&args, found);
    }
    let display = match (args.no_progress, std::io::stderr().is_terminal()) {
        (true, _) => None,
        (false, true) => Some(Display::Bar),
        (false, false) => Some(Display::Lines),
    };
    let result = runtime.block_on(async {
        let mut control = Control::default();
        tokio::spawn(on_ctrl_c(control.stop.clone(), control.cut.clone()));
        let progress = display.map(|display| {
            let live = Arc::new(crate::Live::default());
            control.live = Some(live.clone());
            let done = CancellationToken::new();
            let ticks = control.ticks.clone();
            let task = crate::progress::spawn(display, &settings, live, ticks, done.clone());
            (task, done)
        });
        let report = run_on(&settings, &control, workers.handles()).await;
        if let Some((task, done)) = progress {
            done.cancel();
            let _ = task.await;
        }
        report
    });
    workers.stop();
    runtime.shutdown_background();
    match result {
        Ok(mut report) => {
            crate::thresholds::apply(&checks, &mut report);
            finish(&args, &report)
        }
        Err(e) => {
            eprintln!("asynclab load: {e}");
            match e {
                Error::Usage(_) | Error::Target { .. } | Error::BodyFile { .. } => {
                    ExitCode::from(EXIT_USAGE)
                }
                _ => ExitCode::FAILURE,
            }
        }
    }
}

/// Prints a report (or a breakpoint) as JSON or text on stdout.
pub(crate) fn print<T: serde::Serialize + std::fmt::Display>(report: &T, json: bool) {
    // `write!` rather than `print!`: a closed stdout (`| head`) is not worth a panic.
    let mut stdout = std::io::stdout().lock();
    let _ = if json {
        serde_json::to_writer_pretty(&mut stdout, report)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(stdout))
    } else {
        write!(stdout, "{report}")
    };
}

/// Prints the breakpoint found: 0, or 130 when ctrl-c ended the search.
fn finish_search(args: &LoadArgs, found: Result<crate::Breakpoint, Error>) -> ExitCode {
    let found = match found {
        Ok(found) => found,
        Err(e) => {
            eprintln!("asynclab load: {e}");
            return ExitCode::FAILURE;
        }
    };
    print(&found, args.json);
    if found.interrupted {
        return ExitCode::from(EXIT_INTERRUPTED);
    }
    ExitCode::SUCCESS
}

/// Prints the report (and the chart), then picks the exit code.
fn finish(args: &LoadArgs, report: &Report) -> ExitCode {
    print(report, args.json);
    let mut code = ExitCode::SUCCESS;
    if let Some(path) = &args.report {
        match crate::write_html(&[(report.target.clone(), report)], path) {
            Ok(()) => eprintln!("report written to {}", path.display()),
            Err(e) => {
                eprintln!("asynclab load: {e}");
                code = ExitCode::FAILURE;
            }
        }
    }
    if let Some(path) = &args.latency_plot {
        match crate::write_svg(report, path) {
            Ok(()) => eprintln!("latency plot written to {}", path.display()),
            Err(e) => {
                eprintln!("asynclab load: {e}");
                code = ExitCode::FAILURE;
            }
        }
    }
    // Stopped by ctrl-c: the summary says what was done, whatever it was, and the
    // exit status says the run was interrupted, not that the target failed (after a
    // second ctrl-c, nothing may have finished at all).
    if report.interrupted {
        return ExitCode::from(EXIT_INTERRUPTED);
    }
    if let Err(reason) = report.verdict() {
        eprintln!("asynclab load: {reason}");
        return ExitCode::FAILURE;
    }
    thresholds_verdict(report).unwrap_or(code)
}

/// `Some(99)`, with one line on stderr, when a `--fail-if` condition held.
pub(crate) fn thresholds_verdict(report: &Report) -> Option<ExitCode> {
    let failed: Vec<&str> = report
        .thresholds
        .iter()
        .filter(|t| t.failed)
        .map(|t| t.condition.as_str())
        .collect();
    if failed.is_empty() {
        return None;
    }
    eprintln!("asynclab load: failed: {}", failed.join(", "));
    Some(ExitCode::from(crate::EXIT_THRESHOLDS))
}

/// First ctrl-c: stop; second: cut.
async fn on_ctrl_c(stop: StopFlag, cut: StopFlag) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    eprintln!("\nstopping: waiting for the requests in flight (ctrl-c again to cut them)");
    stop.stop();
    if tokio::signal::ctrl_c().await.is_ok() {
        cut.stop();
    }
}
