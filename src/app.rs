//! Command dispatch and exit statuses: the only place that turns outcomes into exit codes.

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::error::{Error, Result};
use crate::generate;
use crate::spec::{SpecFiles, SpecSet};

/// How a command ended, as cron wrappers see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Every record was accepted (warnings allowed).
    Ok = 0,
    /// The job ran, and some records were rejected.
    Rejected = 1,
    /// The job could not run (bad arguments, unreadable file, invalid spec).
    Failed = 2,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status as u8)
    }
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<ExitStatus> {
    let files = cli.specs.map_or(SpecFiles::Embedded, SpecFiles::Dir);
    let load = || SpecSet::load(&files).map_err(Error::Spec);
    match cli.command {
        Command::Convert(args) => crate::convert::run(args, &load()?),
        Command::Check => check(&files),
        Command::Generate(args) => generate::run(&args),
        Command::Validate(args) => crate::intake::command::validate(&args, &load()?),
        Command::Registry(cmd) => crate::registry::commands::registry(&cmd),
        Command::Status(args) => crate::registry::commands::status(&args),
        Command::Load(args) => crate::load::run(args, &load()?),
        Command::Ingest(args) => crate::ingest::run(&args, &load()?),
    }
}

/// `cairdx check`: compiles every spec file and lists every mistake.
fn check(files: &SpecFiles) -> Result<ExitStatus> {
    let specs = SpecSet::load(files).map_err(Error::Spec)?;
    println!(
        "{}: OK ({} layout sets, {} rules, {} CVX codes)",
        files.describe(),
        specs.layouts.len(),
        specs.rules.len(),
        specs.codes.cvx.len()
    );
    Ok(ExitStatus::Ok)
}
