//! The registry store: patients, doses, the ledger of processed inputs and the run log,
//! behind [`RegistryStore`] so that a PostgreSQL backend can sit beside [`SqliteStore`].
//!
//! Why a trait rather than a struct over a backend enum: the callers (`load`, VXU intake,
//! HEDIS) run per-record lookups in hot loops and are generic over `S: RegistryStore`, so
//! there is no dispatch per call; [`RegistryStore::transaction`] hands the closure `&mut
//! Self`, so each backend keeps its own connection and transaction state; and a new backend
//! is one new file implementing the trait, instead of a match arm in every method, and a
//! build with only one backend does not compile the other's driver.
//!
//! Values are stored as given: callers normalize names (case, punctuation) before lookups,
//! and blank text means unknown.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use clap::ValueEnum;
use sha2::{Digest, Sha256};

use crate::error::{IoContext, Result};

pub mod commands;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod snapshot;
pub mod sqlite;
pub mod status;

pub use sqlite::SqliteStore;

/// The registry's own patient id (CAIR2's is numeric). Preserved from snapshots; it is the
/// `registry_patient_id` of every output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegistryId(pub i64);

impl fmt::Display for RegistryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The store's own id of one dose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DoseId(pub i64);

/// A patient's demographics as the registry holds them (formats.md §5 `patients`).
///
/// Blank strings mean unknown. Reused across rows by bulk readers, so fill it with
/// `clear()` + `push_str` rather than building a new one per record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Patient {
    /// `None` until stored; [`RegistryStore::insert_patient`] assigns one when it is `None`.
    pub registry_id: Option<RegistryId>,
    /// Legal first name.
    pub first_name: String,
    /// Middle name.
    pub middle_name: String,
    /// Legal last name.
    pub last_name: String,
    /// JR, SR, III …
    pub suffix: String,
    /// Date of birth.
    pub dob: Option<NaiveDate>,
    /// M, F, U or X.
    pub sex: String,
    /// Street address.
    pub street: String,
    /// City.
    pub city: String,
    /// Two-letter state.
    pub state: String,
    /// ZIP, 5 or 9 digits.
    pub zip: String,
    /// Phone, digits only.
    pub phone: String,
    /// E-mail address.
    pub email: String,
    /// Mother's maiden last name.
    pub mother_maiden_last: String,
    /// Guardian's first name.
    pub guardian_first: String,
    /// Guardian's last name.
    pub guardian_last: String,
    /// Medi-Cal client index number.
    pub medi_cal_cin: String,
    /// The submitting site's medical record number.
    pub chart_number: String,
    /// CAIR site id that owns `chart_number`.
    pub site_id: String,
    /// Decline to share: never disclosed to a health plan.
    pub locked: bool,
    /// Registry status (HL70441): A active, I inactive, P permanently inactive …
    pub status: String,
}

impl Patient {
    /// The name columns, in snapshot and schema order (after `registry_id`).
    pub fn name_columns(&self) -> [&str; 4] {
        [&self.first_name, &self.middle_name, &self.last_name, &self.suffix]
    }

    /// The text columns between `dob` and `locked`, in snapshot and schema order.
    pub fn contact_columns(&self) -> [&str; 13] {
        [
            &self.sex,
            &self.street,
            &self.city,
            &self.state,
            &self.zip,
            &self.phone,
            &self.email,
            &self.mother_maiden_last,
            &self.guardian_first,
            &self.guardian_last,
            &self.medi_cal_cin,
            &self.chart_number,
            &self.site_id,
        ]
    }

    /// `locked` as a snapshot writes it.
    pub fn locked_flag(&self) -> &'static str {
        if self.locked {
            "Y"
        } else {
            "N"
        }
    }
}

/// Where a dose came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoseSource {
    /// A CAIR1 flat-file load.
    FlatFile,
    /// A VXU message.
    Vxu,
    /// A registry snapshot import.
    Snapshot,
}

impl DoseSource {
    /// The snapshot and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DoseSource::FlatFile => "flat-file",
            DoseSource::Vxu => "vxu",
            DoseSource::Snapshot => "snapshot",
        }
    }

    /// Parses the snapshot and database spelling.
    pub fn parse(s: &str) -> Option<DoseSource> {
        match s {
            "flat-file" => Some(DoseSource::FlatFile),
            "vxu" => Some(DoseSource::Vxu),
            "snapshot" => Some(DoseSource::Snapshot),
            _ => None,
        }
    }
}

/// One vaccination (formats.md §5 `doses`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dose {
    /// `None` until stored.
    pub id: Option<DoseId>,
    /// The patient it belongs to.
    pub registry_id: RegistryId,
    /// Date given.
    pub vaccination_date: NaiveDate,
    /// CVX code.
    pub cvx: String,
    /// CPT code.
    pub cpt: String,
    /// NDC, 11 digits.
    pub ndc: String,
    /// Manufacturer (MVX).
    pub mvx: String,
    /// Lot number.
    pub lot_number: String,
    /// `Some(true)` administered here (RXA-9 00), `Some(false)` historical, `None` unknown.
    pub administered: Option<bool>,
    /// Administering site id.
    pub site_id: String,
    /// Where the record came from.
    pub source: DoseSource,
    /// The dose's id in the registry it came from, if it had one.
    pub external_id: String,
    /// Vaccine groups the dose counts for (a combination vaccine has several); the
    /// duplicate check [`RegistryStore::dose_exists`] keys on them.
    pub vaccine_groups: Vec<String>,
}

impl Dose {
    /// An empty dose of `registry_id` on `vaccination_date`, to be filled in.
    pub fn new(registry_id: RegistryId, vaccination_date: NaiveDate, source: DoseSource) -> Dose {
        Dose {
            id: None,
            registry_id,
            vaccination_date,
            cvx: String::new(),
            cpt: String::new(),
            ndc: String::new(),
            mvx: String::new(),
            lot_number: String::new(),
            administered: None,
            site_id: String::new(),
            source,
            external_id: String::new(),
            vaccine_groups: Vec::new(),
        }
    }
}

/// SHA-256 of an input's bytes: the ledger key, so a renamed re-upload is still recognized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// Fingerprint of bytes in memory.
    pub fn of_bytes(bytes: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(bytes).into())
    }

    /// Fingerprint of a file, read in blocks.
    pub fn of_file(path: &Path) -> Result<Fingerprint> {
        let mut file = File::open(path).at(path)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0; 1 << 16];
        loop {
            let n = file.read(&mut buf).at(path)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(Fingerprint(hasher.finalize().into()))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// A ledger row: an input that was processed once and must not be processed again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The input's content fingerprint.
    pub fingerprint: Fingerprint,
    /// Its file name when it was processed (a later copy may have another name).
    pub file_name: String,
    /// The run that processed it.
    pub run: RunId,
    /// When it was recorded.
    pub processed_at: DateTime<Utc>,
}

/// Id of one run in the run log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What kind of work a run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunKind {
    /// A CAIR1 flat-file load.
    FlatFile,
    /// VXU intake.
    Vxu,
    /// A HEDIS data request.
    Hedis,
    /// A registry snapshot import.
    Snapshot,
}

impl RunKind {
    /// The stored and displayed spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::FlatFile => "flat-file",
            RunKind::Vxu => "vxu",
            RunKind::Hedis => "hedis",
            RunKind::Snapshot => "snapshot",
        }
    }
}

/// How a run, a file or a message ended (CAIR2's Check Status vocabulary). Ordered from
/// best to worst, so a run's status is the `max` of its parts'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum RunStatus {
    /// Everything accepted.
    Ok,
    /// Accepted with warnings.
    Warnings,
    /// Some records rejected.
    Rejected,
    /// Could not run.
    Failed,
}

impl RunStatus {
    /// The stored and displayed spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Warnings => "warnings",
            RunStatus::Rejected => "rejected",
            RunStatus::Failed => "failed",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<RunStatus> {
        match s {
            "ok" => Some(RunStatus::Ok),
            "warnings" => Some(RunStatus::Warnings),
            "rejected" => Some(RunStatus::Rejected),
            "failed" => Some(RunStatus::Failed),
            _ => None,
        }
    }
}

/// Record counts of a run or of one file (formats.md §1.3 job summary).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Records read.
    pub read: u64,
    /// New records stored.
    pub added: u64,
    /// Existing records changed.
    pub updated: u64,
    /// Records merged into an existing patient.
    pub merged: u64,
    /// Records already present (not stored again).
    pub duplicate: u64,
    /// Records refused.
    pub rejected: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.read += o.read;
        self.added += o.added;
        self.updated += o.updated;
        self.merged += o.merged;
        self.duplicate += o.duplicate;
        self.rejected += o.rejected;
    }
}

/// One input file of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunFile {
    /// File name as received (no directory).
    pub file_name: String,
    /// Content fingerprint.
    pub fingerprint: Fingerprint,
    /// What happened to its records.
    pub counts: Counts,
}

/// One message of a run (VXU intake), kept so Check Status can show the ACK later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunMessage {
    /// The message's MSH-10 control id.
    pub msh10: String,
    /// The message as received.
    pub inbound: String,
    /// The acknowledgement sent back.
    pub ack: String,
    /// How it ended.
    pub outcome: RunStatus,
}

/// One run as Check Status lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSummary {
    /// Run id.
    pub id: RunId,
    /// Job name.
    pub job: String,
    /// Kind of work.
    pub kind: String,
    /// Start time.
    pub started: DateTime<Utc>,
    /// End time; `None` while running (or if the process died).
    pub finished: Option<DateTime<Utc>>,
    /// End status; `None` while running.
    pub status: Option<RunStatus>,
    /// Totals over the run.
    pub counts: Counts,
    /// Its input files, in the order they were recorded.
    pub files: Vec<RunFile>,
}

/// Which runs to list; every field set must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Started on or after this day (UTC).
    pub from: Option<NaiveDate>,
    /// Started on or before this day (UTC).
    pub to: Option<NaiveDate>,
    /// End status.
    pub status: Option<RunStatus>,
    /// Exact job name.
    pub job: Option<String>,
    /// Runs with an input file of exactly this name.
    pub file: Option<String>,
}

/// The registry store. See the module doc for why this is a trait.
///
/// Every write of one input file goes inside one [`RegistryStore::transaction`], so a
/// run killed at any point and run again leaves the store as one clean run would; the
/// ledger claim ([`RegistryStore::claim_input`]) belongs in that same transaction.
pub trait RegistryStore {
    /// Brings the schema up to the newest version; safe to call on every open.
    /// Returns the schema version now in force.
    fn migrate(&mut self) -> Result<u32>;

    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled back if it
    /// returns `Err`. Nested calls become savepoints.
    fn transaction<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T>
    where
        Self: Sized;

    /// Like [`RegistryStore::transaction`], for loading many rows at once: the backend may
    /// suspend secondary indexes and rebuild them before committing.
    fn bulk<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T>
    where
        Self: Sized;

    /// The patient with this chart number at this site (lowest registry id if several).
    fn find_by_chart(&self, site_id: &str, chart_number: &str) -> Result<Option<Patient>>;

    /// Patients with exactly these first and last names, date of birth and sex.
    fn find_by_demographics(
        &self,
        first_name: &str,
        last_name: &str,
        dob: NaiveDate,
        sex: &str,
    ) -> Result<Vec<Patient>>;

    /// One patient.
    fn get_patient(&self, id: RegistryId) -> Result<Option<Patient>>;

    /// Stores a new patient under `patient.registry_id`, or under a new id when it is
    /// `None`. A taken id is [`crate::error::Error::DuplicateRegistryId`].
    fn insert_patient(&mut self, patient: &Patient) -> Result<RegistryId>;

    /// Replaces the demographics of patient `id`; `false` if there is no such patient.
    fn update_patient(&mut self, id: RegistryId, patient: &Patient) -> Result<bool>;

    /// The dose of this patient in this vaccine group on this date, if there is one.
    fn dose_exists(
        &self,
        id: RegistryId,
        vaccine_group: &str,
        date: NaiveDate,
    ) -> Result<Option<DoseId>>;

    /// Stores a dose. An unknown patient is [`crate::error::Error::UnknownPatient`].
    fn insert_dose(&mut self, dose: &Dose) -> Result<DoseId>;

    /// Deletes a dose; `false` if there was none.
    fn delete_dose(&mut self, id: DoseId) -> Result<bool>;

    /// A patient's doses, by date.
    fn list_doses(&self, id: RegistryId) -> Result<Vec<Dose>>;

    /// Calls `f` with every patient in registry id order (one reused value).
    fn for_each_patient(&self, f: &mut dyn FnMut(&Patient) -> Result<()>) -> Result<()>;

    /// Calls `f` with every dose in (registry id, date, dose id) order (one reused value;
    /// `vaccine_groups` is left empty).
    fn for_each_dose(&self, f: &mut dyn FnMut(&Dose) -> Result<()>) -> Result<()>;

    /// The ledger entry of an input already processed.
    fn ledger_entry(&self, fingerprint: &Fingerprint) -> Result<Option<LedgerEntry>>;

    /// Claims an input for `run`: `true` the first time, `false` if it was processed
    /// before. Call it inside the transaction that stores the input's records, so the claim
    /// and the records commit (or vanish) together.
    fn claim_input(
        &mut self,
        fingerprint: &Fingerprint,
        file_name: &str,
        run: RunId,
    ) -> Result<bool>;

    /// Opens a run in the run log. Call it outside the data transaction, so a failed run
    /// is still listed.
    fn start_run(&mut self, job: &str, kind: RunKind, started: DateTime<Utc>) -> Result<RunId>;

    /// Records one input file of a run.
    fn add_run_file(&mut self, run: RunId, file: &RunFile) -> Result<()>;

    /// Records one message of a run, under the file it came in (if any).
    fn add_run_message(
        &mut self,
        run: RunId,
        file_name: Option<&str>,
        message: &RunMessage,
    ) -> Result<()>;

    /// Closes a run with its status and totals.
    fn finish_run(
        &mut self,
        run: RunId,
        finished: DateTime<Utc>,
        status: RunStatus,
        counts: Counts,
    ) -> Result<()>;

    /// Runs matching `filter`, newest first, each with its files.
    fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunSummary>>;

    /// The messages recorded under a run, in arrival order.
    fn run_messages(&self, run: RunId) -> Result<Vec<RunMessage>>;

    /// The latest recorded message with this MSH-10 control id (Check Status by message).
    fn message_by_msh10(&self, msh10: &str) -> Result<Option<RunMessage>>;
}

/// A date as `YYYY-MM-DD` without allocating (snapshot and database spelling).
#[derive(Clone, Copy)]
pub struct IsoDate([u8; 10]);

impl IsoDate {
    /// Formats `date`; years outside 0..=9999 are clamped, as no registry date reaches them.
    pub fn new(date: NaiveDate) -> IsoDate {
        let y = date.year().clamp(0, 9999) as u32;
        let (m, d) = (date.month(), date.day());
        let digit = |n: u32| b'0' + (n % 10) as u8;
        IsoDate([
            digit(y / 1000),
            digit(y / 100),
            digit(y / 10),
            digit(y),
            b'-',
            digit(m / 10),
            digit(m),
            b'-',
            digit(d / 10),
            digit(d),
        ])
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and dashes are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Parses a strict `YYYY-MM-DD` date (what the store and snapshots hold).
pub fn parse_iso_date(s: &[u8]) -> Option<NaiveDate> {
    let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = *s else { return None };
    let num = |ds: &[u8]| {
        ds.iter()
            .try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
    };
    let year = num(&[y1, y2, y3, y4])?;
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, num(&[m1, m2])?, num(&[d1, d2])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_round_trip_and_reject_loose_forms() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(IsoDate::new(d).as_str(), "2024-02-29");
        assert_eq!(parse_iso_date(b"2024-02-29"), Some(d));
        for bad in [&b"2023-02-29"[..], b"2024-2-29", b"20240229", b"2024-02-29 ", b"abcd-01-01"] {
            assert_eq!(parse_iso_date(bad), None);
        }
    }

    #[test]
    fn fingerprint_of_file_equals_of_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        let bytes = vec![7u8; 200_000];
        std::io::Write::write_all(&mut File::create(&path).unwrap(), &bytes).unwrap();
        assert_eq!(Fingerprint::of_file(&path).unwrap(), Fingerprint::of_bytes(&bytes));
        assert_eq!(
            Fingerprint::of_bytes(b"").to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
