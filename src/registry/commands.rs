//! The `registry import|export` and `status` commands: argument handling around the store.

use std::io::Write;

use crate::app::ExitStatus;
use crate::cli::{RegistryCommand, StatusArgs};
use crate::error::{Error, IoContext, Result};
use crate::registry::snapshot::{self, ImportSpec, SnapshotFormat};
use crate::registry::{status, RegistryStore, RunFilter, SqliteStore};

/// Runs `cairdx registry import|export`.
pub fn registry(cmd: &RegistryCommand) -> Result<ExitStatus> {
    match cmd {
        RegistryCommand::Import(args) => {
            let mut store = SqliteStore::open(&args.db)?;
            let spec = ImportSpec {
                patients: &args.patients,
                doses: args.doses.as_deref(),
                format: args.format,
                job: &args.job,
            };
            let report = snapshot::import(&mut store, &spec)?;
            if let Some(entry) = report.already_imported {
                tracing::warn!(
                    file = %entry.file_name,
                    run = %entry.run,
                    "Snapshot already imported; nothing done."
                );
            } else {
                tracing::info!(
                    patients = report.patients,
                    doses = report.doses,
                    ignored_columns = report.unknown_columns.len(),
                    patients_ms = report.patients_time.as_millis(),
                    doses_ms = report.doses_time.as_millis(),
                    "Snapshot imported."
                );
            }
            Ok(ExitStatus::Ok)
        }
        RegistryCommand::Export(args) => {
            // Exporting must not create an empty database by mistake.
            std::fs::metadata(&args.db).at(&args.db)?;
            let store = SqliteStore::open(&args.db)?;
            std::fs::create_dir_all(&args.out_dir).at(&args.out_dir)?;
            let report = match args.format {
                SnapshotFormat::Csv => snapshot::export(&store, &args.out_dir)?,
                #[cfg(feature = "parquet")]
                SnapshotFormat::Parquet => crate::registry::parquet::export(&store, &args.out_dir)?,
                #[cfg(not(feature = "parquet"))]
                SnapshotFormat::Parquet => return Err(snapshot::without_parquet()),
            };
            tracing::info!(patients = report.patients, doses = report.doses, "Snapshot exported.");
            Ok(ExitStatus::Ok)
        }
    }
}

/// Runs `cairdx status`: lists runs and their files on stdout.
pub fn status(args: &StatusArgs) -> Result<ExitStatus> {
    if let (Some(from), Some(to)) = (args.from, args.to) {
        if from > to {
            return Err(Error::Argument { flag: "--from", reason: "is after --to".to_owned() });
        }
    }
    std::fs::metadata(&args.db).at(&args.db)?;
    let store = SqliteStore::open(&args.db)?;
    let mut out = std::io::stdout().lock();
    if let Some(msh10) = &args.msh10 {
        let message = store.message_by_msh10(msh10)?.ok_or_else(|| Error::Argument {
            flag: "--msh10",
            reason: format!("no message with control id {msh10:?} was ingested"),
        })?;
        status::render_message(&message, &mut out).and_then(|()| out.flush()).at("<stdout>")?;
        return Ok(ExitStatus::Ok);
    }
    let filter = RunFilter {
        from: args.from,
        to: args.to,
        status: args.status,
        job: args.job.clone(),
        file: args.file.clone(),
    };
    let runs = store.list_runs(&filter)?;
    status::render(&runs, &mut out).and_then(|()| out.flush()).at("<stdout>")?;
    Ok(ExitStatus::Ok)
}
