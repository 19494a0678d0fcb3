//! `cairdx validate`: reads HL7 files, writes one ACK file per input, picks the exit status.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::app::ExitStatus;
use crate::cli::ValidateArgs;
use crate::error::{Error, IoContext, Result};
use crate::hl7::ack::AckWriter;
use crate::sink::AtomicFile;
use crate::spec::SpecSet;

use super::{process, Summary, Validator};

/// Validates every file and writes `<acks>/<stem>.ack.hl7` for each: exit 0 when every
/// message was answered AA, 1 when any got AE or AR.
pub fn validate(args: &ValidateArgs, specs: &SpecSet) -> Result<ExitStatus> {
    let clock = crate::cli::clock(args.timestamp.as_deref())?;
    let targets = targets(&args.files, &args.acks)?;
    std::fs::create_dir_all(&args.acks).at(&args.acks)?;

    let validator = Validator::new(specs, clock);
    let acks = AckWriter::new(args.profile, clock);
    let mut total = Summary::default();
    let mut seq = 1;
    for (input, target) in args.files.iter().zip(targets) {
        let bytes = std::fs::read(input).at(input)?;
        let mut out = Vec::with_capacity(bytes.len() / 2);
        let summary = process(&bytes, &validator, &acks, seq, &mut out);
        seq += summary.total();
        let mut file = AtomicFile::create(&target)?;
        file.write_all(&out).at(&target)?;
        file.commit()?;
        tracing::info!(
            file = %input.display(),
            messages = summary.total(),
            accepted = summary.accepted,
            errors = summary.errors,
            rejected = summary.rejected,
            "validated"
        );
        total = total.merge(summary);
    }
    Ok(if total.errors + total.rejected == 0 { ExitStatus::Ok } else { ExitStatus::Rejected })
}

/// The ACK file `<acks>/<stem>.ack.hl7` of each input; two inputs with the same stem
/// would overwrite each other, so that is an argument error.
pub fn targets(files: &[PathBuf], acks: &Path) -> Result<Vec<PathBuf>> {
    let mut seen = HashSet::new();
    files
        .iter()
        .map(|f| {
            let stem = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            if !seen.insert(stem.clone()) {
                return Err(Error::Argument {
                    flag: "FILE",
                    reason: format!("two inputs are named {stem:?}; their ACK files would collide"),
                });
            }
            Ok(acks.join(format!("{stem}.ack.hl7")))
        })
        .collect()
}
