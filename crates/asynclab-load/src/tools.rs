//! `asynclab load merge` and `asynclab load report`: the commands that work on
//! saved runs (`--json` files) instead of running one.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::command::{EXIT_USAGE, print, thresholds_verdict};
use crate::{Report, args::thresholds};

/// What `asynclab load` does with saved runs (`--json` files).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Tool {
    /// Add up saved runs into one report: exact percentiles (the histograms are
    /// added), summed counts, the rate over the window the runs span together.
    Merge(MergeArgs),
    /// Write one self-contained HTML page comparing saved runs: the summaries side
    /// by side, their latency and timeline charts overlaid.
    Report(ReportArgs),
}

/// `asynclab load report`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Reports written by `asynclab load --json` (schema 2), each named by its file.
    #[arg(required = true, value_name = "FILE.json")]
    pub files: Vec<PathBuf>,

    /// The HTML file to write.
    #[arg(short, long, value_name = "FILE.html")]
    pub output: PathBuf,
}

/// `asynclab load merge`.
#[derive(Debug, Clone, clap::Args)]
pub struct MergeArgs {
    /// Reports written by `asynclab load --json` (schema 2).
    #[arg(required = true, value_name = "FILE.json")]
    pub files: Vec<PathBuf>,

    /// Write the merged report (JSON, the same schema) to this file.
    #[arg(short, long, value_name = "FILE.json")]
    pub output: Option<PathBuf>,

    /// Merge runs against different targets or protocols too.
    #[arg(long)]
    pub force: bool,

    /// Print the merged report as JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Fail (exit 99) when this holds for the merged runs (as `load --fail-if`).
    #[arg(long = "fail-if", value_name = "CONDITION")]
    pub fail_if: Vec<String>,
}

/// `asynclab load merge`: exit 2 for files that cannot be merged, 1 when the
/// result cannot be written.
pub(crate) fn merge(args: &MergeArgs) -> ExitCode {
    let merged = thresholds(&args.fail_if).and_then(|checks| {
        let runs = args
            .files
            .iter()
            .map(|path| crate::read(path))
            .collect::<Result<Vec<_>, _>>()?;
        let mut report = crate::merge(&runs, args.force)?;
        crate::thresholds::apply(&checks, &mut report);
        Ok(report)
    });
    let report = match merged {
        Ok(report) => report,
        Err(e) => {
            eprintln!("asynclab load merge: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    print(&report, args.json);
    if let Some(path) = &args.output {
        let written = serde_json::to_vec_pretty(&report)
            .map_err(std::io::Error::from)
            .and_then(|json| std::fs::write(path, json));
        if let Err(e) = written {
            eprintln!(
                "asynclab load merge: cannot write `{}`: {e}",
                path.display()
            );
            return ExitCode::FAILURE;
        }
        eprintln!("merged report written to {}", path.display());
    }
    thresholds_verdict(&report).unwrap_or(ExitCode::SUCCESS)
}

/// `asynclab load report`: one HTML page for saved runs, each named by its file.
pub(crate) fn report(args: &ReportArgs) -> ExitCode {
    let runs = match args
        .files
        .iter()
        .map(|path| crate::read(path))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(runs) => runs,
        Err(e) => {
            eprintln!("asynclab load report: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let named: Vec<(String, &Report)> = runs
        .iter()
        .map(|run| {
            let name = run.path.file_stem().map_or_else(
                || run.path.display().to_string(),
                |stem| stem.to_string_lossy().into_owned(),
            );
            (name, &run.report)
        })
        .collect();
    match crate::write_html(&named, &args.output) {
        Ok(()) => {
            eprintln!("report written to {}", args.output.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("asynclab load report: {e}");
            ExitCode::FAILURE
        }
    }
}
