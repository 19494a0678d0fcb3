//! `cairdx ingest`: VXU intake into the registry store. Messages are validated and
//! acknowledged exactly as `cairdx validate` does; each message that is not rejected and
//! has no error is mapped to a registry patient and doses and merged as `cairdx load`
//! merges (same code: [`LoadSink`]). Each input file is stored once, in one transaction
//! with its ledger claim, and every message is kept with its ACK for Check Status.

use std::io::Write;
use std::path::Path;

use chrono::Utc;

use crate::app::ExitStatus;
use crate::cli::IngestArgs;
use crate::error::{IoContext, Result};
use crate::finding::Severity;
use crate::hl7::ack::{AckCode, AckWriter};
use crate::hl7::datetime;
use crate::hl7::parse::{Message, Segment, Value};
use crate::intake::{self, Answered, Findings, Summary, Validator};
use crate::load::{vaccine_groups, Action, LoadCounts, LoadSink, Staged, StagedDose};
use crate::registry::{
    self, DoseSource, Fingerprint, RegistryId, RegistryStore, RunFile, RunId, RunKind, RunMessage,
    RunStatus, SqliteStore,
};
use crate::sink::AtomicFile;
use crate::spec::SpecSet;
use crate::validate::letters_only;

/// What ingesting one file did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileOutcome {
    /// The file's accepted messages were stored.
    Ingested {
        /// Messages stored.
        stored: u64,
        /// Messages not stored (AR, or an error finding).
        not_stored: u64,
        /// What the store stage did.
        counts: LoadCounts,
    },
    /// The same bytes were ingested before, by this run; nothing was stored.
    AlreadyIngested(RunId),
}

/// A validated message: its MSH-10 and, when it may be stored, the patient and doses.
type Inspected = (String, Option<Staged>);

/// `cairdx ingest`.
pub fn run(args: &IngestArgs, specs: &SpecSet) -> Result<ExitStatus> {
    let clock = crate::cli::clock(args.validate.timestamp.as_deref())?;
    let targets = intake::command::targets(&args.validate.files, &args.validate.acks)?;
    std::fs::create_dir_all(&args.validate.acks).at(&args.validate.acks)?;
    let validator = Validator::new(specs, clock);
    let acks = AckWriter::new(args.validate.profile, clock);
    let mut store = SqliteStore::open(&args.db)?;
    let run = store.start_run("ingest", RunKind::Vxu, Utc::now())?;

    let mut total = Summary::default();
    let mut totals = registry::Counts::default();
    let mut status = RunStatus::Ok;
    let mut seq = 1;
    let result = (|| -> Result<()> {
        for (input, target) in args.validate.files.iter().zip(targets) {
            let bytes = std::fs::read(input).at(input)?;
            let mut out = Vec::with_capacity(bytes.len() / 2);
            let (summary, answers) =
                intake::process_with(&bytes, &validator, &acks, seq, &mut out, |msg, f| {
                    inspect(specs, msg, f)
                });
            seq += summary.total();
            total = total.merge(summary);
            let outcome = ingest_file(&mut store, run, input, &bytes, &out, answers)?;
            // The ACK file goes out only once the store has committed.
            let mut file = AtomicFile::create(&target)?;
            file.write_all(&out).at(&target)?;
            file.commit()?;
            match outcome {
                FileOutcome::AlreadyIngested(previous) => {
                    tracing::warn!(
                        file = %input.display(),
                        run = %previous,
                        "File already ingested; nothing stored."
                    );
                }
                FileOutcome::Ingested { stored, not_stored, counts } => {
                    tracing::info!(
                        file = %input.display(),
                        messages = summary.total(),
                        accepted = summary.accepted,
                        errors = summary.errors,
                        rejected = summary.rejected,
                        stored,
                        not_stored,
                        patients_added = counts.patients_added,
                        patients_merged = counts.patients_merged,
                        doses_added = counts.doses_added,
                        doses_duplicate = counts.doses_duplicate,
                        "ingested"
                    );
                    totals += file_counts(summary.total(), not_stored, &counts);
                    status = status.max(if not_stored > 0 {
                        RunStatus::Rejected
                    } else if summary.errors > 0 || counts.warnings > 0 {
                        RunStatus::Warnings
                    } else {
                        RunStatus::Ok
                    });
                }
            }
        }
        Ok(())
    })();
    let status = if result.is_err() { RunStatus::Failed } else { status };
    // Closing the run is bookkeeping: a failure here must not hide the ingest's own error.
    let closed = store.finish_run(run, Utc::now(), status, totals);
    result?;
    closed?;
    Ok(if total.errors + total.rejected == 0 { ExitStatus::Ok } else { ExitStatus::Rejected })
}

/// Stores one file's storable messages and records them under `run`, in one transaction
/// with the ledger claim on the file's fingerprint.
fn ingest_file<S: RegistryStore>(
    store: &mut S,
    run: RunId,
    path: &Path,
    bytes: &[u8],
    acks: &[u8],
    answers: Vec<Answered<Inspected>>,
) -> Result<FileOutcome> {
    let name = crate::convert::file_name(path);
    let fingerprint = Fingerprint::of_bytes(bytes);
    store.transaction(|st| {
        if !st.claim_input(&fingerprint, &name, run)? {
            let previous = st.ledger_entry(&fingerprint)?.map_or(run, |entry| entry.run);
            return Ok(FileOutcome::AlreadyIngested(previous));
        }
        let mut sink = LoadSink::new(st);
        let mut warn = Vec::new();
        let mut messages = Vec::with_capacity(answers.len());
        let (mut stored, mut not_stored) = (0, 0);
        for (ordinal, answered) in answers.into_iter().enumerate() {
            let (msh10, unit) = answered.detail.unwrap_or_default();
            let outcome = match unit.filter(|_| answered.code != AckCode::Ar) {
                Some(mut unit) => {
                    unit.line = ordinal as u64 + 1;
                    sink.store_unit(&unit, &mut warn)?;
                    stored += 1;
                    if answered.code == AckCode::Aa {
                        RunStatus::Ok
                    } else {
                        RunStatus::Warnings
                    }
                }
                None => {
                    not_stored += 1;
                    RunStatus::Rejected
                }
            };
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            let span = answered.message;
            messages.push(RunMessage {
                msh10,
                inbound: text(bytes.get(span.start..span.end).unwrap_or_default()),
                ack: text(acks.get(answered.ack).unwrap_or_default()),
                outcome,
            });
        }
        let mut counts = sink.counts;
        counts.warnings += warn.len() as u64;
        let file = RunFile {
            file_name: name.clone(),
            fingerprint,
            counts: file_counts(messages.len() as u64, not_stored, &counts),
        };
        st.add_run_file(run, &file)?;
        for message in &messages {
            st.add_run_message(run, Some(&name), message)?;
        }
        Ok(FileOutcome::Ingested { stored, not_stored, counts })
    })
}

/// Run-log counts of one file: messages read and not stored, patients added, updated
/// and merged, and duplicate doses (the run log has one row per file, not per record type).
fn file_counts(read: u64, not_stored: u64, c: &LoadCounts) -> registry::Counts {
    registry::Counts {
        read,
        added: c.patients_added,
        updated: c.patients_updated,
        merged: c.patients_merged,
        duplicate: c.doses_duplicate,
        rejected: not_stored,
    }
}

/// MSH-10, and the patient and doses when no finding is an error (run on the validating
/// threads, so mapping costs no extra pass).
fn inspect(specs: &SpecSet, msg: &Message<'_>, findings: &Findings) -> Inspected {
    let msh10 = msg.msh().map(|s| s.field(10).text().into_owned()).unwrap_or_default();
    let error = findings.0.iter().any(|f| specs.rules.get(f.rule).severity == Severity::Error);
    let staged = if error { None } else { stage(specs, msg, &msh10) };
    (msh10, staged)
}

fn text(v: Value<'_>) -> String {
    v.text().trim().to_owned()
}

fn name(v: Value<'_>) -> String {
    letters_only(v.text().trim()).0
}

/// The registry patient and doses of a VXU (`None` without PID or a valid PID-7).
fn stage(specs: &SpecSet, msg: &Message<'_>, msh10: &str) -> Option<Staged> {
    let msh = msg.msh()?;
    let pid = msg.first("PID")?;
    let responsible = [msh.field(22), msh.field(4)]
        .into_iter()
        .map(|f| text(f.comp(1)))
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    let ids = pid.field(3);
    let id_of = |kind: &str| ids.reps().find(|r| r.comp(5).text() == kind);
    let (chart_number, site_id) = match id_of("MR") {
        Some(mr) => {
            let site = text(mr.comp(4));
            (text(mr.comp(1)), if site.is_empty() { responsible.clone() } else { site })
        }
        None => (String::new(), responsible),
    };
    let pn = pid.field(5);
    let address = pid.field(11);
    let (street, street2) = (text(address.comp(1)), text(address.comp(2)));
    let phones = pid.field(13);
    let phone = phones
        .reps()
        .find(|r| r.comp(2).text() != "NET" && r.comp(7).has_data())
        .map(|r| format!("{}{}", text(r.comp(6)), text(r.comp(7))))
        .unwrap_or_default();
    let email = phones
        .reps()
        .find(|r| r.comp(2).text() == "NET")
        .map(|r| text(r.comp(4)))
        .unwrap_or_default();
    let guardian = msg.first("NK1").map(|nk1| nk1.field(2));
    let pd1 = msg.first("PD1");
    let patient = registry::Patient {
        registry_id: None,
        first_name: name(pn.comp(2)),
        middle_name: name(pn.comp(3)),
        last_name: name(pn.comp(1)),
        suffix: text(pn.comp(4)),
        dob: Some(datetime::parse(&pid.field(7).text())?.date()),
        sex: text(pid.field(8)),
        street: if street2.is_empty() { street } else { format!("{street} {street2}") },
        city: text(address.comp(3)),
        state: text(address.comp(4)),
        // The registry keeps ZIP digits only.
        zip: text(address.comp(5)).replace('-', ""),
        phone,
        email,
        mother_maiden_last: name(pid.field(6).comp(1)),
        guardian_first: guardian.map(|g| name(g.comp(2))).unwrap_or_default(),
        guardian_last: guardian.map(|g| name(g.comp(1))).unwrap_or_default(),
        medi_cal_cin: id_of("MA").map(|r| text(r.comp(1))).unwrap_or_default(),
        chart_number,
        site_id,
        locked: pd1.is_some_and(|pd1| pd1.field(12).text() == "Y"),
        status: pd1.map(|pd1| text(pd1.field(16))).unwrap_or_default(),
    };
    let doses = msg
        .segments()
        .filter(|s| s.id() == "RXA")
        .filter_map(|rxa| stage_dose(specs, &rxa, &patient.site_id))
        .collect();
    Some(Staged { record_id: msh10.to_owned(), line: 0, patient, doses })
}

/// One RXA as a registry dose (`None` without a valid RXA-3 or a vaccine code).
fn stage_dose(specs: &SpecSet, rxa: &Segment<'_, '_>, site_id: &str) -> Option<StagedDose> {
    let date = datetime::parse(&rxa.field(3).text())?.date();
    let mut dose = registry::Dose::new(RegistryId(0), date, DoseSource::Vxu);
    let vaccine = rxa.field(5);
    // CE: the code is in .1 (system .3) or the alternate .4 (system .6).
    for (code, system) in [(1, 3), (4, 6)] {
        let (code, system) = (text(vaccine.comp(code)), vaccine.comp(system).text());
        match &*system {
            "CVX" if dose.cvx.is_empty() => dose.cvx = code,
            "NDC" if dose.ndc.is_empty() => dose.ndc = code,
            _ => {}
        }
    }
    if dose.cvx.is_empty() {
        dose.cvx = specs.codes.ndc_cvx.get(&dose.ndc).map(|e| e.target.to_string())?;
    }
    let source = rxa.field(9).comp(1);
    dose.administered = source.has_data().then(|| source.text() == "00");
    dose.lot_number = text(rxa.field(15).rep(1));
    dose.mvx = text(rxa.field(17).comp(1));
    let site = text(rxa.field(11).comp(4));
    dose.site_id = if site.is_empty() { site_id.to_owned() } else { site };
    dose.vaccine_groups = vaccine_groups(specs, &dose.cvx);
    let action = Action::of_code(&rxa.field(21).text());
    Some(StagedDose { line: u64::from(rxa.seq()), action, dose })
}
