//! The load job: CAIR1 client + immunization files straight into the registry store.
//! Parsing, linking and validation are the convert job's (same findings, same rejects);
//! accepted patients are merged (chart number, then exact demographics) or added, doses
//! deduplicated by vaccine group and date, and a file pair loads exactly once, in one
//! store transaction with its ledger claims.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};

use crate::app::ExitStatus;
use crate::cli::LoadArgs;
use crate::convert::{Context, ConvertJob, ConvertReport, Pass, StagedOutputs, UnitSink};
use crate::decode::FileEncoding;
use crate::error::{Error, IoContext, Result};
use crate::finding::{Finding, InputFile, Rule};
use crate::model;
use crate::registry::{
    self, DoseId, DoseSource, Fingerprint, RegistryId, RegistryStore, RunFile, RunKind, RunStatus,
    SqliteStore,
};
use crate::response;
use crate::sink::AtomicFile;
use crate::spec::SpecSet;
use crate::validate::SiteRole;

/// What a load did to the store, for the response file and the run log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadCounts {
    /// New patients.
    pub patients_added: u64,
    /// Patients matched by chart number whose demographics changed.
    pub patients_updated: u64,
    /// Patients matched (by chart number, unchanged, or by exact demographics).
    pub patients_merged: u64,
    /// New doses.
    pub doses_added: u64,
    /// Doses already in the store (not added again).
    pub doses_duplicate: u64,
    /// Doses replaced by an update (`U`) record.
    pub doses_updated: u64,
    /// Doses removed by a delete (`D`) record.
    pub doses_deleted: u64,
    /// Findings the store stage added (merge ambiguities, deletes with nothing to delete).
    pub warnings: u64,
}

/// How a load ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadOutcome {
    /// The files were loaded.
    Loaded {
        /// Record outcomes of the parse and validation stage.
        records: ConvertReport,
        /// What the store stage did.
        counts: LoadCounts,
    },
    /// Every file of the pair was loaded before, by this run.
    AlreadyLoaded(registry::RunId),
}

/// `cairdx load`.
pub fn run(args: LoadArgs, specs: &SpecSet) -> Result<ExitStatus> {
    let clock = crate::cli::clock(args.timestamp.as_deref())?;
    let role = match args.site_id {
        Some(site_id) => SiteRole::Direct { site_id },
        // Without a job site, each record's own site id stands (no site mismatch check).
        None => SiteRole::Facility { facility_id: String::new(), default_site_id: String::new() },
    };
    let out_dir = match &args.out_dir {
        Some(dir) => dir.clone(),
        None => crate::convert::out_dir(&args.client).to_path_buf(),
    };
    let job = ConvertJob {
        specs,
        layout: specs.layout(&args.layout)?,
        out: out_dir.join(args.client.file_name().unwrap_or_default()),
        client: args.client,
        immunizations: args.immunizations,
        role,
        encoding: args.encoding,
        one_per_file: false,
        clock,
    };
    let mut store = SqliteStore::open(&args.db)?;
    match load(&mut store, &job)? {
        LoadOutcome::AlreadyLoaded(run) => {
            tracing::warn!(run = %run, "Files already loaded; nothing done.");
            Ok(ExitStatus::Ok)
        }
        LoadOutcome::Loaded { records, counts } => {
            tracing::info!(
                clients_read = records.clients.read,
                clients_rejected = records.clients.rejected,
                immunizations_read = records.immunizations.read,
                immunizations_rejected = records.immunizations.rejected,
                patients_added = counts.patients_added,
                patients_updated = counts.patients_updated,
                patients_merged = counts.patients_merged,
                doses_added = counts.doses_added,
                doses_duplicate = counts.doses_duplicate,
                "Load finished."
            );
            let rejected = records.clients.rejected + records.immunizations.rejected;
            Ok(if rejected > 0 { ExitStatus::Rejected } else { ExitStatus::Ok })
        }
    }
}

/// Loads `job`'s files into `store`: one transaction for the data and the ledger claims,
/// recorded in the run log. Writes the response (and reject) files beside `job.out`.
pub fn load<S: RegistryStore + Send>(store: &mut S, job: &ConvertJob<'_>) -> Result<LoadOutcome> {
    let files = InputFiles::of(job)?;
    let run = store.start_run("load", RunKind::FlatFile, Utc::now())?;
    let result = store.transaction(|st| load_in_transaction(st, job, &files, run));
    // The response and reject files go out only once the store has committed.
    let result = result.and_then(|(mut outcome, staged)| {
        if let (LoadOutcome::Loaded { records, .. }, Some(staged)) = (&mut outcome, staged) {
            staged.publish(records)?;
        }
        Ok(outcome)
    });
    let status = match &result {
        Err(_) => RunStatus::Failed,
        Ok(LoadOutcome::AlreadyLoaded(_)) => RunStatus::Ok,
        Ok(LoadOutcome::Loaded { records, counts }) => {
            if records.clients.rejected + records.immunizations.rejected > 0 {
                RunStatus::Rejected
            } else if records.clients.warned + records.immunizations.warned + counts.warnings > 0 {
                RunStatus::Warnings
            } else {
                RunStatus::Ok
            }
        }
    };
    let totals = match &result {
        Ok(LoadOutcome::Loaded { records, counts }) => {
            let [mut client, dose] = run_counts(records, counts);
            client += dose;
            client
        }
        _ => registry::Counts::default(),
    };
    // Closing the run is bookkeeping: a failure here must not hide the load's own error.
    let closed = store.finish_run(run, Utc::now(), status, totals);
    let outcome = result?;
    closed?;
    if let LoadOutcome::AlreadyLoaded(previous) = &outcome {
        write_already_loaded(job, &files, *previous)?;
    }
    Ok(outcome)
}

/// The input files' names and fingerprints.
struct InputFiles {
    client: (String, Fingerprint),
    immunizations: Option<(String, Fingerprint)>,
}

impl InputFiles {
    fn of(job: &ConvertJob<'_>) -> Result<InputFiles> {
        let one = |path: &Path| -> Result<(String, Fingerprint)> {
            Ok((crate::convert::file_name(path), Fingerprint::of_file(path)?))
        };
        // Hashing is a sequential read of each file: the two run side by side.
        let (client, immunizations) = std::thread::scope(|scope| {
            let immunizations = scope.spawn(|| job.immunizations.as_deref().map(one).transpose());
            let client = one(&job.client);
            let panicked = |_| Error::io(&job.client, io::Error::other("hashing thread panicked"));
            (client, immunizations.join().map_err(panicked))
        });
        Ok(InputFiles { client: client?, immunizations: immunizations?? })
    }
}

fn load_in_transaction<S: RegistryStore + Send>(
    st: &mut S,
    job: &ConvertJob<'_>,
    files: &InputFiles,
    run: registry::RunId,
) -> Result<(LoadOutcome, Option<StagedOutputs>)> {
    let mut fresh = st.claim_input(&files.client.1, &files.client.0, run)?;
    if let Some((name, fingerprint)) = &files.immunizations {
        fresh |= st.claim_input(fingerprint, name, run)?;
    }
    if !fresh {
        let previous = st.ledger_entry(&files.client.1)?.map_or(run, |entry| entry.run);
        return Ok((LoadOutcome::AlreadyLoaded(previous), None));
    }
    let (records, counts, staged) = job.drive(|linking, ids| {
        // Each pass runs in a savepoint: a pass that finds the immunization file out of
        // client order is rolled back before the indexed pass starts over.
        let mut restart = false;
        let pass =
            st.transaction(|sp| match job.pass(linking, ids, |_| Ok(LoadSink::new(sp)))? {
                Pass::Done(done) => Ok(done),
                Pass::OutOfOrder => {
                    restart = true;
                    Err(Error::io(
                        &job.client,
                        io::Error::other("restarting the pass with an index"),
                    ))
                }
            });
        match pass {
            Ok(done) => Ok(Pass::Done(done)),
            Err(_) if restart => Ok(Pass::OutOfOrder),
            Err(e) => Err(e),
        }
    })?;
    let [client, dose] = run_counts(&records, &counts);
    st.add_run_file(
        run,
        &RunFile { file_name: files.client.0.clone(), fingerprint: files.client.1, counts: client },
    )?;
    if let Some((name, fingerprint)) = &files.immunizations {
        let file = RunFile { file_name: name.clone(), fingerprint: *fingerprint, counts: dose };
        st.add_run_file(run, &file)?;
    }
    Ok((LoadOutcome::Loaded { records, counts }, Some(staged)))
}

/// Run-log counts of the client and the immunization file. The run log has no column for
/// deleted doses; a delete changes the record, so it counts as updated there.
fn run_counts(records: &ConvertReport, c: &LoadCounts) -> [registry::Counts; 2] {
    [
        registry::Counts {
            read: records.clients.read,
            added: c.patients_added,
            updated: c.patients_updated,
            merged: c.patients_merged,
            duplicate: 0,
            rejected: records.clients.rejected,
        },
        registry::Counts {
            read: records.immunizations.read,
            added: c.doses_added,
            updated: c.doses_updated + c.doses_deleted,
            merged: 0,
            duplicate: c.doses_duplicate,
            rejected: records.immunizations.rejected,
        },
    ]
}

/// What a dose record asks the store to do (HL7 0323).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Add the dose (a duplicate is skipped).
    Add,
    /// Replace the stored dose of the same group and date.
    Update,
    /// Remove the stored dose of the same group and date.
    Delete,
}

impl Action {
    /// The action of a CAIR1 action code or RXA-21: `U`, `D`, anything else adds.
    pub(crate) fn of_code(code: &str) -> Action {
        match code {
            "U" => Action::Update,
            "D" => Action::Delete,
            _ => Action::Add,
        }
    }
}

/// A dose ready for the store, built on a worker thread.
pub(crate) struct StagedDose {
    /// Line (or message) it came from, for findings.
    pub(crate) line: u64,
    /// What it asks the store to do.
    pub(crate) action: Action,
    /// The dose; its `registry_id` is set when the patient is placed.
    pub(crate) dose: registry::Dose,
}

/// A patient ready for the store, built on a worker thread.
pub(crate) struct Staged {
    /// The input's id of the record, for findings.
    pub(crate) record_id: String,
    /// Line (or message) it came from, for findings.
    pub(crate) line: u64,
    /// The patient's demographics.
    pub(crate) patient: registry::Patient,
    /// Their doses, in input order.
    pub(crate) doses: Vec<StagedDose>,
}

/// The vaccine groups a CVX counts for: the key of the duplicate check.
pub(crate) fn vaccine_groups(specs: &SpecSet, cvx: &str) -> Vec<String> {
    let groups = specs.codes.vaccine_group.all(cvx);
    let mut keys: Vec<String> = groups.iter().map(|g| g.target.to_string()).collect();
    // A CVX with no group still needs a key for the duplicate check.
    if keys.is_empty() {
        keys.push(format!("CVX {cvx}"));
    }
    keys
}

/// Stores patients and their doses with the merge rule, the duplicate check and the
/// U/D actions; the load job's sink, and VXU intake's store stage.
pub(crate) struct LoadSink<'st, S> {
    store: &'st mut S,
    /// What was done so far.
    pub(crate) counts: LoadCounts,
    /// Doses of a patient added in this run: (group, date, dose), so their duplicate check
    /// needs no store lookup.
    local: Vec<(String, NaiveDate, DoseId)>,
}

impl<'st, S: RegistryStore> LoadSink<'st, S> {
    /// A sink writing into `store` (inside the caller's transaction).
    pub(crate) fn new(store: &'st mut S) -> LoadSink<'st, S> {
        LoadSink { store, counts: LoadCounts::default(), local: Vec::new() }
    }

    /// Finds or creates the registry patient; `true` when it was created.
    fn place(
        &mut self,
        p: &registry::Patient,
        warn: &mut Vec<Finding>,
        line: u64,
    ) -> Result<(RegistryId, bool)> {
        if !p.chart_number.is_empty() {
            if let Some(existing) = self.store.find_by_chart(&p.site_id, &p.chart_number)? {
                let id = existing.registry_id.unwrap_or(RegistryId(0));
                let mut incoming = p.clone();
                incoming.registry_id = Some(id);
                if incoming == existing {
                    self.counts.patients_merged += 1;
                } else {
                    self.store.update_patient(id, &incoming)?;
                    self.counts.patients_updated += 1;
                }
                return Ok((id, false));
            }
        }
        // Never merge on less than all four: a blank sex would match any other blank.
        if !p.sex.is_empty() {
            if let Some(dob) = p.dob {
                let found =
                    self.store.find_by_demographics(&p.first_name, &p.last_name, dob, &p.sex)?;
                match found.as_slice() {
                    [only] => {
                        if let Some(id) = only.registry_id {
                            self.counts.patients_merged += 1;
                            return Ok((id, false));
                        }
                    }
                    [] => {}
                    several => warn.push(Finding::new(
                        Rule::SeveralRegistryMatches,
                        InputFile::Client,
                        line,
                        "",
                        &several.len().to_string(),
                    )),
                }
            }
        }
        let id = self.store.insert_patient(p)?;
        self.counts.patients_added += 1;
        Ok((id, true))
    }

    /// The stored dose of patient `id` sharing a vaccine group and the date with `dose`.
    fn existing(&self, id: RegistryId, new: bool, dose: &registry::Dose) -> Result<Option<DoseId>> {
        if new {
            let date = dose.vaccination_date;
            return Ok(self
                .local
                .iter()
                .find(|(g, d, _)| *d == date && dose.vaccine_groups.contains(g))
                .map(|(_, _, dose_id)| *dose_id));
        }
        for group in &dose.vaccine_groups {
            if let Some(found) = self.store.dose_exists(id, group, dose.vaccination_date)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn insert(&mut self, new: bool, dose: &registry::Dose) -> Result<()> {
        let dose_id = self.store.insert_dose(dose)?;
        if new {
            for group in &dose.vaccine_groups {
                self.local.push((group.clone(), dose.vaccination_date, dose_id));
            }
        }
        Ok(())
    }

    fn delete(&mut self, dose_id: DoseId) -> Result<()> {
        self.store.delete_dose(dose_id)?;
        self.local.retain(|(_, _, d)| *d != dose_id);
        Ok(())
    }

    /// Places the patient (merge or add) and applies their doses; merge ambiguities and
    /// deletes with nothing to delete go to `warn`.
    pub(crate) fn store_unit(&mut self, unit: &Staged, warn: &mut Vec<Finding>) -> Result<()> {
        let (id, new) = self.place(&unit.patient, warn, unit.line)?;
        self.local.clear();
        for staged in &unit.doses {
            let mut dose = staged.dose.clone();
            dose.registry_id = id;
            let existing = self.existing(id, new, &dose)?;
            match (staged.action, existing) {
                (Action::Add, Some(_)) => self.counts.doses_duplicate += 1,
                (Action::Add | Action::Update, None) => {
                    self.insert(new, &dose)?;
                    self.counts.doses_added += 1;
                }
                (Action::Update, Some(old)) => {
                    self.delete(old)?;
                    self.insert(new, &dose)?;
                    self.counts.doses_updated += 1;
                }
                (Action::Delete, Some(old)) => {
                    self.delete(old)?;
                    self.counts.doses_deleted += 1;
                }
                (Action::Delete, None) => warn.push(Finding::new(
                    Rule::NothingToDelete,
                    InputFile::Immunization,
                    staged.line,
                    "action",
                    "",
                )),
            }
        }
        Ok(())
    }
}

impl<S: RegistryStore + Send> UnitSink for LoadSink<'_, S> {
    type Out = Vec<Staged>;
    type Summary = LoadCounts;

    fn render(
        ctx: &Context<'_>,
        _ordinal: u32,
        line: u64,
        p: &model::Patient<'_, '_>,
        doses: &[model::Dose<'_, '_>],
        out: &mut Vec<Staged>,
    ) {
        let site_id = ctx.checker.role.responsible_site(p.site_id);
        let staged_doses = doses
            .iter()
            .map(|d| {
                let mut dose = registry::Dose::new(RegistryId(0), d.date, DoseSource::FlatFile);
                dose.cvx.push_str(d.vaccine.code);
                if let Some(mvx) = &d.mvx {
                    dose.mvx.push_str(mvx.code);
                }
                dose.lot_number.push_str(d.lot);
                dose.administered = Some(d.administered);
                dose.site_id.push_str(if d.admin_site.is_empty() { site_id } else { d.admin_site });
                dose.vaccine_groups = vaccine_groups(ctx.specs, d.vaccine.code);
                StagedDose { line: d.line, action: Action::of_code(d.action), dose }
            })
            .collect();
        out.push(Staged {
            record_id: p.record_id.to_owned(),
            line,
            patient: registry_patient(p, site_id),
            doses: staged_doses,
        });
    }

    fn write(
        &mut self,
        ctx: &Context<'_>,
        out: &Vec<Staged>,
        findings: &mut Vec<u8>,
    ) -> Result<()> {
        let mut warn = Vec::new();
        let names = [ctx.file_names[0].as_str(), ctx.file_names[1].as_str()];
        for unit in out {
            self.store_unit(unit, &mut warn)?;
            for finding in warn.drain(..) {
                self.counts.warnings += 1;
                // Writing into a Vec cannot fail.
                let _ = response::write_finding(
                    findings,
                    &ctx.specs.rules,
                    names,
                    &unit.record_id,
                    &finding,
                );
            }
        }
        Ok(())
    }

    fn finish(
        self,
        job: &ConvertJob<'_>,
        report: &mut ConvertReport,
        encodings: &[FileEncoding; 2],
        _staged: &mut StagedOutputs,
    ) -> Result<(String, LoadCounts)> {
        let mut text = header(job, encodings, "loaded");
        let c = &self.counts;
        let (clients, doses) = (&report.clients, &report.immunizations);
        text.push_str(&format!(
            "\n\
             {:<28}{:>10}\n{:<28}{:>10}\n{:<28}{:>10}\n{:<28}{:>10}\n{:<28}{:>10}\n\
             {:<28}{:>10}\n{:<28}{:>10}\n{:<28}{:>10}\n{:<28}{:>10}\n{:<28}{:>10}\n\
             {:<28}{:>10}\n\
             \n\
             Findings\n{}\n",
            "Client records read",
            clients.read,
            "Patients added",
            c.patients_added,
            "Patients updated",
            c.patients_updated,
            "Patients merged",
            c.patients_merged,
            "Patients rejected",
            clients.rejected,
            "Immunization records read",
            doses.read,
            "Doses added",
            c.doses_added,
            "Doses duplicate",
            c.doses_duplicate,
            "Doses updated",
            c.doses_updated,
            "Doses deleted",
            c.doses_deleted,
            "Doses rejected",
            doses.rejected,
            response::FINDINGS_HEADER,
        ));
        Ok((text, self.counts))
    }
}

/// The registry's form of a checked patient (formats.md §5 `patients`).
fn registry_patient(p: &model::Patient<'_, '_>, site_id: &str) -> registry::Patient {
    let (guardian_first, guardian_last) = match &p.responsible {
        Some(r) => (r.name.first.clone(), r.name.last.clone()),
        None => (String::new(), String::new()),
    };
    let street = if p.street2.is_empty() {
        p.street.to_string()
    } else {
        format!("{} {}", p.street, p.street2)
    };
    registry::Patient {
        registry_id: None,
        first_name: p.name.first.clone(),
        middle_name: p.name.middle.clone(),
        last_name: p.name.last.clone(),
        suffix: p.suffix.clone(),
        dob: Some(p.birth_date),
        sex: p.sex.to_owned(),
        street,
        city: p.city.to_string(),
        state: p.state.to_owned(),
        // The registry keeps ZIP digits only.
        zip: p.zip.replace('-', ""),
        phone: p.phone.map(|(area, number)| format!("{area}{number}")).unwrap_or_default(),
        email: p.email.to_owned(),
        mother_maiden_last: p.mother.last.clone(),
        guardian_first,
        guardian_last,
        medi_cal_cin: p.medi_cal_cin.to_owned(),
        chart_number: p.chart_number.to_owned(),
        site_id: site_id.to_owned(),
        locked: p.locked,
        status: p.registry_status.code.to_owned(),
    }
}

/// The response file's first lines.
fn header(job: &ConvertJob<'_>, encodings: &[FileEncoding; 2], status: &str) -> String {
    let mut text = job.response_header("load (CAIR1 flat file into the registry store)", encodings);
    text.push_str(&format!("Status: {status}\n"));
    text
}

/// The response of a pair loaded before: nothing was read into the store.
fn write_already_loaded(
    job: &ConvertJob<'_>,
    files: &InputFiles,
    run: registry::RunId,
) -> Result<()> {
    let encoding = |path: Option<&PathBuf>| -> Result<FileEncoding> {
        let head = match path {
            Some(path) => {
                let mut buf = [0u8; 4];
                let n =
                    io::Read::read(&mut std::fs::File::open(path).at(path)?, &mut buf).at(path)?;
                buf[..n].to_vec()
            }
            None => Vec::new(),
        };
        FileEncoding::detect(&job.encoding, &head)
    };
    let encodings = [encoding(Some(&job.client))?, encoding(job.immunizations.as_ref())?];
    let status = format!("already loaded (run {run}); nothing done");
    let mut text = header(job, &encodings, &status);
    text.push_str(&format!("Fingerprint of {}: {}\n", files.client.0, files.client.1));
    let path = PathBuf::from({
        let mut name = crate::convert::stem(&job.out).into_os_string();
        name.push("_RESPONSE.txt");
        name
    });
    let mut file = AtomicFile::create(&path)?;
    file.write_all(text.as_bytes()).at(&path)?;
    file.commit()?;
    Ok(())
}
