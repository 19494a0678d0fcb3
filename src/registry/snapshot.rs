//! Registry snapshots (formats.md §5): CSV import into and export out of the store.
//!
//! An import is all-or-nothing: one bulk transaction that also claims the files in the
//! ledger, so the same snapshot is never loaded twice and a bad row leaves nothing behind.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use csv::{ByteRecord, ReaderBuilder, WriterBuilder};

use super::{
    parse_iso_date, Counts, Dose, DoseSource, Fingerprint, IsoDate, LedgerEntry, Patient,
    RegistryId, RegistryStore, RunFile, RunKind, RunStatus,
};
use crate::error::{CsvContext, Error, IoContext, Result};
use crate::sink::AtomicFile;

/// Columns of `patients` in export order; only `registry_id` is required.
pub const PATIENT_COLUMNS: [&str; 21] = [
    "registry_id",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "dob",
    "sex",
    "street",
    "city",
    "state",
    "zip",
    "phone",
    "email",
    "mother_maiden_last",
    "guardian_first",
    "guardian_last",
    "medi_cal_cin",
    "chart_number",
    "site_id",
    "locked",
    "status",
];

/// Columns of `doses` in export order; `registry_id` and `vaccination_date` are required.
pub const DOSE_COLUMNS: [&str; 11] = [
    "registry_id",
    "vaccination_date",
    "cvx",
    "cpt",
    "ndc",
    "mvx",
    "lot_number",
    "administered",
    "site_id",
    "source",
    "dose_id",
];

/// Registry statuses of HL70441 that a snapshot may carry.
const STATUSES: [&str; 6] = ["A", "I", "L", "M", "P", "U"];

/// The files of one snapshot import.
#[derive(Clone, Debug)]
pub struct ImportSpec<'a> {
    /// The `patients` CSV.
    pub patients: &'a Path,
    /// The `doses` CSV, if the snapshot has one.
    pub doses: Option<&'a Path>,
    /// Format of both files.
    pub format: SnapshotFormat,
    /// Job name recorded in the run log.
    pub job: &'a str,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Patients stored.
    pub patients: u64,
    /// Doses stored.
    pub doses: u64,
    /// Columns that were ignored, as `file: column`.
    pub unknown_columns: Vec<String>,
    /// Time spent reading and storing patients (the deferred index rebuild comes after).
    pub patients_time: Duration,
    /// Time spent reading and storing doses.
    pub doses_time: Duration,
    /// Set when one of the files had been imported before; nothing was stored then.
    pub already_imported: Option<LedgerEntry>,
}

/// Imports a snapshot in one transaction, logged as a run of kind `snapshot`.
pub fn import<S: RegistryStore>(store: &mut S, spec: &ImportSpec<'_>) -> Result<ImportReport> {
    let patients_fp = Fingerprint::of_file(spec.patients)?;
    let doses_fp = spec.doses.map(Fingerprint::of_file).transpose()?;
    let run = store.start_run(spec.job, RunKind::Snapshot, Utc::now())?;
    let result = store.bulk(|s| {
        let fps = std::iter::once(&patients_fp).chain(doses_fp.as_ref());
        for fp in fps {
            if let Some(entry) = s.ledger_entry(fp)? {
                return Ok(ImportReport {
                    already_imported: Some(entry),
                    ..ImportReport::default()
                });
            }
        }
        let mut report = ImportReport::default();
        let start = Instant::now();
        s.claim_input(&patients_fp, &file_name(spec.patients), run)?;
        report.patients =
            import_patients(s, spec.patients, spec.format, &mut report.unknown_columns)?;
        report.patients_time = start.elapsed();
        let added = Counts { read: report.patients, added: report.patients, ..Counts::default() };
        let file = RunFile {
            file_name: file_name(spec.patients),
            fingerprint: patients_fp,
            counts: added,
        };
        s.add_run_file(run, &file)?;
        if let (Some(path), Some(fp)) = (spec.doses, doses_fp) {
            let start = Instant::now();
            s.claim_input(&fp, &file_name(path), run)?;
            report.doses = import_doses(s, path, spec.format, &mut report.unknown_columns)?;
            report.doses_time = start.elapsed();
            let added = Counts { read: report.doses, added: report.doses, ..Counts::default() };
            s.add_run_file(
                run,
                &RunFile { file_name: file_name(path), fingerprint: fp, counts: added },
            )?;
        }
        Ok(report)
    });
    let (status, counts) = match &result {
        Ok(r) if r.already_imported.is_some() => (RunStatus::Warnings, Counts::default()),
        Ok(r) => {
            let n = r.patients + r.doses;
            let status =
                if r.unknown_columns.is_empty() { RunStatus::Ok } else { RunStatus::Warnings };
            (status, Counts { read: n, added: n, ..Counts::default() })
        }
        Err(_) => (RunStatus::Failed, Counts::default()),
    };
    let finished = store.finish_run(run, Utc::now(), status, counts);
    // The import's own error matters more than a failure to log it.
    let report = result?;
    finished?;
    Ok(report)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// Column positions of one snapshot file, resolved once from its header.
struct Header {
    /// `index[k]` is the position of known column `k`, if present.
    index: Vec<Option<usize>>,
}

impl Header {
    fn read(
        path: &Path,
        headers: &ByteRecord,
        known: &[&'static str],
        required: &[&'static str],
        unknown: &mut Vec<String>,
    ) -> Result<Header> {
        let mut index = vec![None; known.len()];
        let mut ignored = Vec::new();
        for (pos, raw) in headers.iter().enumerate() {
            let name = String::from_utf8_lossy(raw);
            let name = name.trim();
            match known.iter().position(|k| k.eq_ignore_ascii_case(name)) {
                Some(k) if index[k].is_some() => {
                    return Err(Error::SnapshotHeader {
                        path: path.to_path_buf(),
                        column: name.to_owned(),
                        reason: "appears twice",
                    });
                }
                Some(k) => index[k] = Some(pos),
                None => ignored.push(name.to_owned()),
            }
        }
        for req in required {
            let k = known.iter().position(|k| k == req).unwrap_or_default();
            if index[k].is_none() {
                return Err(Error::SnapshotHeader {
                    path: path.to_path_buf(),
                    column: (*req).to_owned(),
                    reason: "required column is missing",
                });
            }
        }
        if !ignored.is_empty() {
            tracing::warn!(file = %path.display(), columns = %ignored.join(", "), "Unknown snapshot columns ignored.");
            unknown.extend(ignored.into_iter().map(|c| format!("{}: {c}", file_name(path))));
        }
        Ok(Header { index })
    }
}

/// One data row, with the location needed to report a bad value.
struct Row<'a> {
    path: &'a Path,
    line: u64,
    record: &'a ByteRecord,
    header: &'a Header,
    known: &'a [&'static str],
}

impl<'a> Row<'a> {
    fn bytes(&self, k: usize) -> &'a [u8] {
        self.header.index[k].and_then(|i| self.record.get(i)).unwrap_or_default()
    }

    fn error(&self, k: usize, reason: &'static str) -> Error {
        Error::Snapshot {
            path: self.path.to_path_buf(),
            line: self.line,
            column: self.known[k],
            reason,
        }
    }

    fn text(&self, k: usize) -> Result<&'a str> {
        std::str::from_utf8(self.bytes(k)).map_err(|_| self.error(k, "not valid UTF-8"))
    }

    fn copy(&self, k: usize, out: &mut String) -> Result<()> {
        out.clear();
        out.push_str(self.text(k)?);
        Ok(())
    }

    fn registry_id(&self, k: usize) -> Result<RegistryId> {
        self.text(k)?
            .parse::<i64>()
            .ok()
            .filter(|&id| id > 0)
            .map(RegistryId)
            .ok_or_else(|| self.error(k, "not a positive whole number"))
    }

    fn yes_no(&self, k: usize) -> Result<Option<bool>> {
        match self.bytes(k) {
            b"" => Ok(None),
            b"Y" | b"y" => Ok(Some(true)),
            b"N" | b"n" => Ok(Some(false)),
            _ => Err(self.error(k, "not Y, N or blank")),
        }
    }
}

/// Snapshot file format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SnapshotFormat {
    /// RFC 4180 CSV with a header row.
    #[default]
    Csv,
    /// Apache Parquet (needs a build with the `parquet` feature).
    Parquet,
}

/// The rows of one snapshot table, whatever the file format: column names, then records.
/// Both formats go through the same checks because both end up as text records.
pub(crate) trait RowSource {
    /// Column names.
    fn headers(&self) -> &ByteRecord;
    /// Reads the next record into `record`; returns its line number (for Parquet, the row
    /// number + 1, as if a header came first), or `None` at the end.
    fn next_record(&mut self, record: &mut ByteRecord) -> Result<Option<u64>>;
}

struct CsvRows {
    rdr: csv::Reader<std::fs::File>,
    headers: ByteRecord,
    path: PathBuf,
}

impl RowSource for CsvRows {
    fn headers(&self) -> &ByteRecord {
        &self.headers
    }

    fn next_record(&mut self, record: &mut ByteRecord) -> Result<Option<u64>> {
        if self.rdr.read_byte_record(record).at(&self.path)? {
            Ok(Some(record.position().map_or(0, csv::Position::line)))
        } else {
            Ok(None)
        }
    }
}

fn open_rows(path: &Path, format: SnapshotFormat) -> Result<Box<dyn RowSource>> {
    match format {
        SnapshotFormat::Csv => {
            let mut rdr = ReaderBuilder::new().from_path(path).at(path)?;
            let headers = rdr.byte_headers().at(path)?.clone();
            Ok(Box::new(CsvRows { rdr, headers, path: path.to_path_buf() }))
        }
        #[cfg(feature = "parquet")]
        SnapshotFormat::Parquet => Ok(Box::new(super::parquet::ParquetRows::open(path)?)),
        #[cfg(not(feature = "parquet"))]
        SnapshotFormat::Parquet => Err(without_parquet()),
    }
}

/// The error for `--format parquet` in a build without the `parquet` feature.
#[cfg(not(feature = "parquet"))]
pub fn without_parquet() -> Error {
    Error::Argument {
        flag: "--format",
        reason: "this cairdx was built without the `parquet` feature".to_owned(),
    }
}

/// Reads one snapshot table, calling `each` per data row; returns the number of rows.
fn for_each_row(
    path: &Path,
    format: SnapshotFormat,
    known: &[&'static str],
    required: &[&'static str],
    unknown: &mut Vec<String>,
    mut each: impl FnMut(&Row<'_>) -> Result<()>,
) -> Result<u64> {
    let mut rows = open_rows(path, format)?;
    let header = Header::read(path, rows.headers(), known, required, unknown)?;
    let mut record = ByteRecord::new();
    let mut n = 0;
    while let Some(line) = rows.next_record(&mut record)? {
        each(&Row { path, line, record: &record, header: &header, known })?;
        n += 1;
    }
    Ok(n)
}

fn import_patients<S: RegistryStore>(
    store: &mut S,
    path: &Path,
    format: SnapshotFormat,
    unknown: &mut Vec<String>,
) -> Result<u64> {
    let mut p = Patient::default();
    for_each_row(path, format, &PATIENT_COLUMNS, &["registry_id"], unknown, |row| {
        let id = row.registry_id(0)?;
        p.registry_id = Some(id);
        row.copy(1, &mut p.first_name)?;
        row.copy(2, &mut p.middle_name)?;
        row.copy(3, &mut p.last_name)?;
        row.copy(4, &mut p.suffix)?;
        p.dob = match row.bytes(5) {
            b"" => None,
            b => Some(parse_iso_date(b).ok_or_else(|| row.error(5, "not a YYYY-MM-DD date"))?),
        };
        p.sex.clear();
        match row.text(6)? {
            s @ ("" | "M" | "F" | "U" | "X") => p.sex.push_str(s),
            _ => return Err(row.error(6, "not M, F, U, X or blank")),
        }
        for (k, out) in [
            (7, &mut p.street),
            (8, &mut p.city),
            (9, &mut p.state),
            (10, &mut p.zip),
            (11, &mut p.phone),
            (12, &mut p.email),
            (13, &mut p.mother_maiden_last),
            (14, &mut p.guardian_first),
            (15, &mut p.guardian_last),
            (16, &mut p.medi_cal_cin),
            (17, &mut p.chart_number),
            (18, &mut p.site_id),
        ] {
            row.copy(k, out)?;
        }
        p.locked = row.yes_no(19)?.unwrap_or(false);
        p.status.clear();
        match row.text(20)? {
            "" => p.status.push('A'),
            s if STATUSES.contains(&s) => p.status.push_str(s),
            _ => return Err(row.error(20, "not an HL70441 status (A I L M P U) or blank")),
        }
        store.insert_patient(&p).map_err(|e| match e {
            Error::DuplicateRegistryId { .. } => row.error(0, "registry_id already exists"),
            e => e,
        })?;
        Ok(())
    })
}

fn import_doses<S: RegistryStore>(
    store: &mut S,
    path: &Path,
    format: SnapshotFormat,
    unknown: &mut Vec<String>,
) -> Result<u64> {
    let mut d = Dose::new(RegistryId(0), chrono::NaiveDate::MIN, DoseSource::Snapshot);
    for_each_row(
        path,
        format,
        &DOSE_COLUMNS,
        &["registry_id", "vaccination_date"],
        unknown,
        |row| {
            d.registry_id = row.registry_id(0)?;
            d.vaccination_date = parse_iso_date(row.bytes(1))
                .ok_or_else(|| row.error(1, "not a YYYY-MM-DD date"))?;
            row.copy(2, &mut d.cvx)?;
            row.copy(3, &mut d.cpt)?;
            row.copy(4, &mut d.ndc)?;
            if d.cvx.is_empty() && d.cpt.is_empty() && d.ndc.is_empty() {
                return Err(row.error(2, "a dose needs a cvx, cpt or ndc code"));
            }
            row.copy(5, &mut d.mvx)?;
            row.copy(6, &mut d.lot_number)?;
            d.administered = row.yes_no(7)?;
            row.copy(8, &mut d.site_id)?;
            d.source = match row.text(9)? {
                "" => DoseSource::Snapshot,
                s => DoseSource::parse(s)
                    .ok_or_else(|| row.error(9, "not flat-file, vxu, snapshot or blank"))?,
            };
            row.copy(10, &mut d.external_id)?;
            store.insert_dose(&d).map_err(|e| match e {
                Error::UnknownPatient { .. } => row.error(0, "no patient has this registry_id"),
                e => e,
            })?;
            Ok(())
        },
    )
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportReport {
    /// Patients written.
    pub patients: u64,
    /// Doses written.
    pub doses: u64,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// Time spent writing patients.
    pub patients_time: Duration,
    /// Time spent writing doses.
    pub doses_time: Duration,
}

/// Writes `patients.csv` and `doses.csv` into `out_dir`, sorted by registry id (doses then
/// by date and dose id). Both appear only once both are complete.
pub fn export<S: RegistryStore>(store: &S, out_dir: &Path) -> Result<ExportReport> {
    let patients_path = out_dir.join("patients.csv");
    let doses_path = out_dir.join("doses.csv");
    let mut num = String::new();

    let start = Instant::now();
    let mut wtr = WriterBuilder::new().from_writer(AtomicFile::create(&patients_path)?);
    wtr.write_record(PATIENT_COLUMNS).at(&patients_path)?;
    let mut patients = 0;
    store.for_each_patient(&mut |p| {
        num.clear();
        let _ = write!(num, "{}", p.registry_id.map_or(0, |id| id.0));
        let dob = p.dob.map(IsoDate::new);
        let dob = dob.as_ref().map_or("", IsoDate::as_str);
        let fields = std::iter::once(num.as_str())
            .chain(p.name_columns())
            .chain([dob])
            .chain(p.contact_columns())
            .chain([p.locked_flag(), p.status.as_str()]);
        wtr.write_record(fields).at(&patients_path)?;
        patients += 1;
        Ok(())
    })?;
    let patients_file = finish(wtr, &patients_path)?;
    let patients_time = start.elapsed();

    let start = Instant::now();
    let mut wtr = WriterBuilder::new().from_writer(AtomicFile::create(&doses_path)?);
    wtr.write_record(DOSE_COLUMNS).at(&doses_path)?;
    let mut doses = 0;
    store.for_each_dose(&mut |d| {
        num.clear();
        let _ = write!(num, "{}", d.registry_id.0);
        let date = IsoDate::new(d.vaccination_date);
        let fields: [&str; 11] = [
            &num,
            date.as_str(),
            &d.cvx,
            &d.cpt,
            &d.ndc,
            &d.mvx,
            &d.lot_number,
            match d.administered {
                Some(true) => "Y",
                Some(false) => "N",
                None => "",
            },
            &d.site_id,
            d.source.as_str(),
            &d.external_id,
        ];
        wtr.write_record(fields).at(&doses_path)?;
        doses += 1;
        Ok(())
    })?;
    let doses_file = finish(wtr, &doses_path)?;
    let doses_time = start.elapsed();

    let files = vec![patients_file.commit()?, doses_file.commit()?];
    Ok(ExportReport { patients, doses, files, patients_time, doses_time })
}

fn finish(wtr: csv::Writer<AtomicFile>, path: &Path) -> Result<AtomicFile> {
    wtr.into_inner().map_err(|e| e.into_error()).at(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::SqliteStore;

    const PATIENTS: &str = "\
registry_id,first_name,middle_name,last_name,suffix,dob,sex,street,city,state,zip,phone,email,mother_maiden_last,guardian_first,guardian_last,medi_cal_cin,chart_number,site_id,locked,status
1,ANA,,GARCIA,,2020-01-15,F,1 MAIN ST,FRESNO,CA,93701,5595550100,,LOPEZ,,,,MRN1,DE-000001,N,A
2,JOSÉ,\"M, JR\",NUÑEZ,JR,2019-12-31,M,,,,,,,,,,,MRN2,DE-000001,Y,I
10,BO,,LI,,,U,,,,,,,,,,,,,N,A
";
    const DOSES: &str = "\
registry_id,vaccination_date,cvx,cpt,ndc,mvx,lot_number,administered,site_id,source,dose_id
1,2020-03-15,20,,,SKB,LOT1,Y,DE-000001,flat-file,D1
1,2020-05-15,20,,,SKB,LOT2,N,,vxu,
2,2020-01-01,,90700,,,,,,snapshot,
";

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::File::create(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
            .unwrap();
        path
    }

    fn spec<'a>(patients: &'a Path, doses: Option<&'a Path>) -> ImportSpec<'a> {
        ImportSpec { patients, doses, format: SnapshotFormat::Csv, job: "test" }
    }

    #[test]
    fn import_then_export_gives_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "p.csv", PATIENTS);
        let d = write(dir.path(), "d.csv", DOSES);
        let mut store = SqliteStore::open(&dir.path().join("r.db")).unwrap();
        let report = import(&mut store, &spec(&p, Some(&d))).unwrap();
        assert_eq!((report.patients, report.doses), (3, 3));
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        export(&store, &out).unwrap();
        assert_eq!(std::fs::read_to_string(out.join("patients.csv")).unwrap(), PATIENTS);
        assert_eq!(std::fs::read_to_string(out.join("doses.csv")).unwrap(), DOSES);
    }

    #[test]
    fn a_bad_row_aborts_the_whole_import() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "p.csv", PATIENTS);
        let bad = DOSES.replace("2020-05-15", "2020-13-01");
        let d = write(dir.path(), "d.csv", &bad);
        let db = dir.path().join("r.db");
        let mut store = SqliteStore::open(&db).unwrap();
        let err = import(&mut store, &spec(&p, Some(&d))).unwrap_err();
        match err {
            Error::Snapshot { line, column, .. } => {
                assert_eq!((line, column), (3, "vaccination_date"))
            }
            e => panic!("unexpected {e}"),
        }
        assert_eq!(store.get_patient(RegistryId(1)).unwrap(), None, "patients rolled back too");
        assert_eq!(store.ledger_entry(&Fingerprint::of_file(&p).unwrap()).unwrap(), None);
        let runs = store.list_runs(&Default::default()).unwrap();
        assert_eq!(runs[0].status, Some(RunStatus::Failed), "the failed run is still logged");
        // Fixed, the same patients file now goes in.
        let d = write(dir.path(), "d.csv", DOSES);
        assert_eq!(import(&mut store, &spec(&p, Some(&d))).unwrap().doses, 3);
    }

    #[test]
    fn unknown_doses_patient_and_duplicate_ids_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "p.csv", &format!("{PATIENTS}2,X,,Y,,,,,,,,,,,,,,,,,\n"));
        let mut store = SqliteStore::open(&dir.path().join("r.db")).unwrap();
        let err = import(&mut store, &spec(&p, None)).unwrap_err().to_string();
        assert!(err.ends_with("p.csv:5: column registry_id: registry_id already exists"), "{err}");

        let p = write(dir.path(), "p.csv", PATIENTS);
        let d = write(dir.path(), "d.csv", &format!("{DOSES}99,2020-01-01,20,,,,,,,,\n"));
        let err = import(&mut store, &spec(&p, Some(&d))).unwrap_err().to_string();
        assert!(
            err.ends_with("d.csv:5: column registry_id: no patient has this registry_id"),
            "{err}"
        );
    }

    #[test]
    fn header_rules() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("r.db")).unwrap();
        let p = write(dir.path(), "p.csv", "first_name,last_name\nA,B\n");
        match import(&mut store, &spec(&p, None)).unwrap_err() {
            Error::SnapshotHeader { column, .. } => assert_eq!(column, "registry_id"),
            e => panic!("unexpected {e}"),
        }
        let p = write(dir.path(), "p.csv", "Registry_ID,shoe_size,last_name\n7,44,B\n");
        let report = import(&mut store, &spec(&p, None)).unwrap();
        assert_eq!(report.unknown_columns, ["p.csv: shoe_size"]);
        let stored = store.get_patient(RegistryId(7)).unwrap().unwrap();
        assert_eq!((stored.last_name.as_str(), stored.status.as_str()), ("B", "A"));
    }

    #[test]
    fn a_snapshot_is_imported_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "p.csv", PATIENTS);
        let mut store = SqliteStore::open(&dir.path().join("r.db")).unwrap();
        let first = import(&mut store, &spec(&p, None)).unwrap();
        assert_eq!(first.already_imported, None);
        let renamed = write(dir.path(), "renamed.csv", PATIENTS);
        let again = import(&mut store, &spec(&renamed, None)).unwrap();
        assert_eq!(again.patients, 0);
        assert_eq!(again.already_imported.map(|e| e.file_name), Some("p.csv".to_owned()));
    }
}
