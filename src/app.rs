//! Command dispatch and exit statuses: the only place that turns outcomes into exit codes.

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::error::Result;

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
    match cli.command {
        Command::Convert(_) | Command::Check | Command::Generate(_) => Ok(ExitStatus::Ok),
        Command::Registry(cmd) => crate::registry::commands::registry(&cmd),
        Command::Status(args) => crate::registry::commands::status(&args),
    }
}
