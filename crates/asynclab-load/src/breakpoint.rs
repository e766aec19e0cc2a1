//! `--breakpoint`: find the knee in one command. The rate goes up step by step
//! (`-r` to start, `--step-rate` more each step, `-d` per step) until an `--until`
//! condition holds (`p99>200ms`, `errors>1%`, the `--fail-if` grammar); the answer
//! is the highest rate that held and the one where it broke.
//!
//! Each step is a whole open-model run of its own (fresh connections, its own
//! histogram), so a step's percentiles are that rate's, not a blend with the slower
//! steps before it. Coordinated omission is corrected in each step as in any `-r`
//! run: once the server cannot keep up, latency counted from the due times climbs
//! at once, which is what makes the break visible.

use std::fmt::Write;

use serde::Serialize;
use tokio::runtime::Handle;

use crate::{Control, Error, Report, Settings, Threshold, run_on};

/// How the search goes.
#[derive(Debug, Clone)]
pub struct Search {
    /// The first step's rate.
    pub start: f64,
    /// How much faster each step is than the one before.
    pub step: f64,
    /// The most steps tried (a bound on the search).
    pub steps: usize,
    /// The conditions that mean "broken".
    pub until: Vec<Threshold>,
}

/// One step's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// The scheduled rate.
    pub rate: f64,
    pub achieved: f64,
    pub requests: u64,
    pub errors: u64,
    pub missed: u64,
    pub p99_us: Option<u64>,
    /// The `--until` conditions that held (empty: the step held).
    pub broken: Vec<String>,
}

impl Step {
    /// One line, printed as the search goes.
    pub fn line(&self) -> String {
        let p99 = self
            .p99_us
            .map_or("-".into(), |us| crate::show_us(us as f64));
        let verdict = if self.broken.is_empty() {
            "held".to_string()
        } else {
            format!("broke ({})", self.broken.join(", "))
        };
        format!(
            "{:>10.1} req/s scheduled, {:.1} achieved, p99 {p99}, {} errors, {} missed: {verdict}",
            self.rate, self.achieved, self.errors, self.missed
        )
    }
}

/// The search's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Breakpoint {
    pub target: String,
    pub until: Vec<String>,
    /// The highest rate whose step held; `null` if the first step broke.
    pub held: Option<f64>,
    /// The rate of the step that broke; `null` if none did within the steps.
    pub broke_at: Option<f64>,
    /// True when ctrl-c ended the search early.
    pub interrupted: bool,
    pub steps: Vec<Step>,
}

impl std::fmt::Display for Breakpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = format!(
            "breakpoint search on {} until {}\n",
            self.target,
            self.until.join(" or ")
        );
        for step in &self.steps {
            writeln!(out, "  {}", step.line())?;
        }
        let held = self.held.map_or("no step held".into(), |r| {
            format!("held up to {r:.1} req/s")
        });
        match self.broke_at {
            Some(rate) => writeln!(out, "{held}; broke at {rate:.1} req/s")?,
            None => writeln!(
                out,
                "{held}; nothing broke within {} steps",
                self.steps.len()
            )?,
        }
        f.write_str(&out)
    }
}

/// Runs the search; `on_step` sees each step as it ends.
pub async fn search(
    settings: &Settings,
    search: &Search,
    control: &Control,
    runtimes: &[Handle],
    mut on_step: impl FnMut(&Step),
) -> Result<Breakpoint, Error> {
    let mut found = Breakpoint {
        target: settings.target.url(),
        until: search.until.iter().map(|t| t.to_string()).collect(),
        held: None,
        broke_at: None,
        interrupted: false,
        steps: Vec::new(),
    };
    for i in 0..search.steps {
        let rate = search.start + search.step * i as f64;
        let mut at = settings.clone();
        at.rate = Some(rate);
        let report: Report = run_on(&at, control, runtimes).await?;
        let step = Step {
            rate,
            achieved: report.rate,
            requests: report.requests.started,
            errors: report.requests.errors,
            missed: report.requests.missed,
            p99_us: report.latency_us.as_ref().map(|l| l.p99),
            broken: search
                .until
                .iter()
                .map(|t| t.check(&report))
                .filter(|c| c.failed)
                .map(|c| c.condition)
                .collect(),
        };
        on_step(&step);
        let broke = !step.broken.is_empty();
        found.steps.push(step);
        if report.interrupted {
            // A step cut short proves nothing either way.
            found.interrupted = true;
            break;
        }
        if broke {
            found.broke_at = Some(rate);
            break;
        }
        found.held = Some(rate);
    }
    Ok(found)
}
