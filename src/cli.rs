//! Command-line arguments: runtime behaviour only. What a job does to the data lives in
//! `specs/` and `jobs/`, not in flags.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset, Local, NaiveDate};
use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Result};

use crate::logging::LogFormat;
use crate::registry::snapshot::SnapshotFormat;
use crate::registry::RunStatus;

/// cairdx: batch data exchange for an immunization registry (CAIR2 and registries like it).
#[derive(Debug, Parser)]
#[command(name = "cairdx", version, about, max_term_width = 100)]
pub struct Cli {
    /// Log line format on stderr.
    #[arg(long, value_enum, default_value_t, global = true)]
    pub log_format: LogFormat,
    /// Directory of spec files to use instead of the set built into the binary.
    #[arg(long, env = "CAIRDX_SPECS", global = true, value_name = "DIR")]
    pub specs: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert a CAIR1 client (+ immunization) flat-file pair into HL7 v2.5.1 VXU messages.
    Convert(ConvertArgs),
    /// Validate every spec file and report all mistakes at once.
    Check,
    /// Write a synthetic CAIR1 flat-file pair (deterministic for a seed).
    Generate(GenerateArgs),
    /// Validate HL7 VXU messages like an IIS and write one ACK per message.
    Validate(ValidateArgs),
    /// Import or export a registry snapshot (patients and doses).
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// List runs and their files, like CAIR2's Check Status screen.
    Status(StatusArgs),
    /// Load a CAIR1 client (+ immunization) flat-file pair into the registry store, once.
    Load(LoadArgs),
    /// Validate HL7 VXU messages, write their ACKs and store the accepted ones, once per file.
    Ingest(IngestArgs),
}

/// Arguments of `cairdx ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The registry database (created if missing).
    #[arg(long, value_name = "DB")]
    pub db: PathBuf,
    /// Validation and ACK options, as for `cairdx validate`.
    #[command(flatten)]
    pub validate: ValidateArgs,
}

/// Arguments of `cairdx load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The registry database (created if missing).
    #[arg(long, value_name = "DB")]
    pub db: PathBuf,
    /// The CAIR1 client (patient) file.
    #[arg(long, value_name = "FILE")]
    pub client: PathBuf,
    /// The CAIR1 immunization file; without it only demographics are loaded.
    #[arg(long, value_name = "FILE")]
    pub immunizations: Option<PathBuf>,
    /// CAIR site id of the submitting site; records of another site get a warning. Without
    /// it, each record's own site id stands.
    #[arg(long, value_name = "ID")]
    pub site_id: Option<String>,
    /// Encoding of the input files (WHATWG label); a UTF-8 or UTF-16 BOM overrides it.
    #[arg(long, default_value = "windows-1252", value_name = "LABEL")]
    pub encoding: String,
    /// Layout set in specs/layouts/ (fixed width `cair1`, or `cair1-pipe`, `cair1-csv`).
    #[arg(long, default_value = "cair1", value_name = "NAME")]
    pub layout: String,
    /// Directory for the response and reject files (default: beside the client file).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Pin the run time (RFC 3339) for reproducible date checks and response files.
    #[arg(long, value_name = "TIME")]
    pub timestamp: Option<String>,
}

/// Arguments of `cairdx validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// ACK convention: `cair2` (AE on any ERR) or `cdc` (AA with warnings, as the IG examples).
    #[arg(long, value_enum, default_value_t)]
    pub profile: crate::hl7::ack::AckProfile,
    /// HL7 files: single messages, concatenated messages or FHS/BHS batches, MLLP framed or not.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Directory to write the ACKs into, one `<stem>.ack.hl7` per input file.
    #[arg(long, value_name = "OUT")]
    pub acks: PathBuf,
    /// Pin the processing time (RFC 3339) for reproducible ACKs and date checks.
    #[arg(long, value_name = "TIME")]
    pub timestamp: Option<String>,
}

/// The `cairdx registry` commands.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Load a snapshot into the store in one transaction (a file already loaded is skipped).
    Import(RegistryImportArgs),
    /// Write the store out as `patients.csv` and `doses.csv`, sorted by registry id.
    Export(RegistryExportArgs),
}

/// Arguments of `cairdx registry import`.
#[derive(Debug, Args)]
pub struct RegistryImportArgs {
    /// The registry database (created if missing).
    #[arg(long, value_name = "DB")]
    pub db: PathBuf,
    /// The `patients` snapshot CSV.
    #[arg(long, value_name = "FILE")]
    pub patients: PathBuf,
    /// The `doses` snapshot CSV.
    #[arg(long, value_name = "FILE")]
    pub doses: Option<PathBuf>,
    /// Job name recorded in the run log.
    #[arg(long, default_value = "snapshot-import", value_name = "NAME")]
    pub job: String,
    /// Format of the snapshot files.
    #[arg(long, value_enum, default_value_t)]
    pub format: SnapshotFormat,
}

/// Arguments of `cairdx registry export`.
#[derive(Debug, Args)]
pub struct RegistryExportArgs {
    /// The registry database.
    #[arg(long, value_name = "DB")]
    pub db: PathBuf,
    /// Directory to write the snapshot files into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// File format.
    #[arg(long, value_enum, default_value_t)]
    pub format: SnapshotFormat,
}

/// Arguments of `cairdx status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The registry database.
    #[arg(long, value_name = "DB")]
    pub db: PathBuf,
    /// Runs started on or after this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    pub from: Option<NaiveDate>,
    /// Runs started on or before this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    pub to: Option<NaiveDate>,
    /// Runs that ended with this status.
    #[arg(long, value_enum)]
    pub status: Option<RunStatus>,
    /// Runs of this job.
    #[arg(long, value_name = "NAME")]
    pub job: Option<String>,
    /// Runs that had an input file of this name.
    #[arg(long, value_name = "NAME")]
    pub file: Option<String>,
    /// Show one ingested message by its MSH-10 control id: the message, its ACK and the
    /// outcome, instead of the run list.
    #[arg(long, value_name = "ID", conflicts_with_all = ["from", "to", "status", "job", "file"])]
    pub msh10: Option<String>,
}

/// Arguments of `cairdx convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The CAIR1 client (patient) file.
    #[arg(long, value_name = "FILE")]
    pub client: PathBuf,
    /// The CAIR1 immunization file; without it the VXUs carry demographics only.
    #[arg(long, value_name = "FILE")]
    pub immunizations: Option<PathBuf>,
    /// Where to write the VXU batch; the response and reject files go beside it.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// CAIR site id (org code) of the submitting site, e.g. DE-000123.
    #[arg(long, value_name = "ID")]
    pub site_id: String,
    /// CAIR2 site role: 1 direct, 2 through a sending facility, 3 sending facility for many sites.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub role: u8,
    /// CAIR id of the sending facility (required for roles 2 and 3).
    #[arg(long, value_name = "ID")]
    pub sending_facility: Option<String>,
    /// Encoding of the input files (WHATWG label); a UTF-8 or UTF-16 BOM overrides it.
    #[arg(long, default_value = "windows-1252", value_name = "LABEL")]
    pub encoding: String,
    /// Layout set in specs/layouts/ (fixed width `cair1`, or `cair1-pipe`, `cair1-csv`).
    #[arg(long, default_value = "cair1", value_name = "NAME")]
    pub layout: String,
    /// Write one message per file (`<stem>_000001.hl7` …) instead of one FHS/BHS batch.
    #[arg(long)]
    pub one_per_file: bool,
    /// Pin the message time (RFC 3339, e.g. 2026-01-15T08:00:00-08:00) for reproducible output.
    #[arg(long, value_name = "TIME")]
    pub timestamp: Option<String>,
}

/// Arguments of `cairdx generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory to write `<stem>_CLIENT.txt` and `<stem>_IMMUN.txt` into.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// File name stem.
    #[arg(long, default_value = "GENERATED")]
    pub stem: String,
    /// Number of immunization records to write (patients follow, about 4 doses each).
    #[arg(long, default_value_t = 1000)]
    pub doses: u64,
    /// Random seed; the same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// CAIR site id written into the records.
    #[arg(long, default_value = "DE-000123")]
    pub site_id: String,
    /// Write the hand-picked showcase pair shipped in sample_data/ instead of random records.
    #[arg(long, conflicts_with_all = ["doses", "seed"])]
    pub showcase: bool,
}

/// The run's clock: `--timestamp` (RFC 3339) when given, for reproducible output, else now.
pub fn clock(timestamp: Option<&str>) -> Result<DateTime<FixedOffset>> {
    match timestamp {
        Some(text) => DateTime::parse_from_rfc3339(text).map_err(|e| Error::Argument {
            flag: "--timestamp",
            reason: format!("{text:?} is not RFC 3339 ({e})"),
        }),
        None => Ok(Local::now().fixed_offset()),
    }
}
