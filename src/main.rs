//! The `cairdx` command: parses arguments, runs one command, maps the outcome to an
//! exit status (0 all accepted, 1 some records rejected, 2 the job could not run).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cairdx::cli::Cli::parse();
    cairdx::logging::init(cli.log_format);
    match cairdx::app::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            eprintln!("cairdx: {err}");
            cairdx::app::ExitStatus::Failed.into()
        }
    }
}
