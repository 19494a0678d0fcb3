//! The SQLite backend of [`RegistryStore`]: one database file, WAL, foreign keys on,
//! schema versioned by `PRAGMA user_version` with forward-only migrations.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::types::{ToSql, ValueRef};
use rusqlite::{ffi, params, Connection, OptionalExtension, Row};

use super::{
    parse_iso_date, Counts, Dose, DoseId, DoseSource, Fingerprint, IsoDate, LedgerEntry, Patient,
    RegistryId, RegistryStore, RunFile, RunFilter, RunId, RunKind, RunMessage, RunStatus,
    RunSummary,
};
use crate::error::{Error, Result, SqlContext};

/// Migrations in order; `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`.
/// Never edit a released entry: add a new one.
const MIGRATIONS: &[&str] = &[SCHEMA_V1];

const SCHEMA_V1: &str = "
CREATE TABLE patients (
    registry_id        INTEGER PRIMARY KEY,
    first_name         TEXT,
    middle_name        TEXT,
    last_name          TEXT,
    suffix             TEXT,
    dob                TEXT,
    sex                TEXT,
    street             TEXT,
    city               TEXT,
    state              TEXT,
    zip                TEXT,
    phone              TEXT,
    email              TEXT,
    mother_maiden_last TEXT,
    guardian_first     TEXT,
    guardian_last      TEXT,
    medi_cal_cin       TEXT,
    chart_number       TEXT,
    site_id            TEXT,
    locked             INTEGER NOT NULL DEFAULT 0,
    status             TEXT NOT NULL DEFAULT 'A'
);
CREATE TABLE doses (
    id               INTEGER PRIMARY KEY,
    registry_id      INTEGER NOT NULL REFERENCES patients(registry_id) ON DELETE CASCADE,
    vaccination_date TEXT NOT NULL,
    cvx              TEXT,
    cpt              TEXT,
    ndc              TEXT,
    mvx              TEXT,
    lot_number       TEXT,
    administered     INTEGER,
    site_id          TEXT,
    source           TEXT NOT NULL,
    external_id      TEXT
);
-- Denormalized (patient, group, date) so the duplicate-dose check is one index probe.
CREATE TABLE dose_groups (
    registry_id      INTEGER NOT NULL,
    vaccine_group    TEXT NOT NULL,
    vaccination_date TEXT NOT NULL,
    dose_id          INTEGER NOT NULL REFERENCES doses(id) ON DELETE CASCADE,
    PRIMARY KEY (registry_id, vaccine_group, vaccination_date, dose_id)
) WITHOUT ROWID;
CREATE TABLE runs (
    id        INTEGER PRIMARY KEY,
    job       TEXT NOT NULL,
    kind      TEXT NOT NULL,
    started   TEXT NOT NULL,
    finished  TEXT,
    status    TEXT,
    read      INTEGER NOT NULL DEFAULT 0,
    added     INTEGER NOT NULL DEFAULT 0,
    updated   INTEGER NOT NULL DEFAULT 0,
    merged    INTEGER NOT NULL DEFAULT 0,
    duplicate INTEGER NOT NULL DEFAULT 0,
    rejected  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_started ON runs(started);
CREATE TABLE run_files (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    file_name   TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    read        INTEGER NOT NULL,
    added       INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    merged      INTEGER NOT NULL,
    duplicate   INTEGER NOT NULL,
    rejected    INTEGER NOT NULL
);
CREATE INDEX run_files_by_run ON run_files(run_id);
CREATE INDEX run_files_by_name ON run_files(file_name);
CREATE TABLE run_messages (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES runs(id),
    file_id   INTEGER REFERENCES run_files(id),
    msh10     TEXT NOT NULL,
    inbound   TEXT NOT NULL,
    ack       TEXT NOT NULL,
    outcome   TEXT NOT NULL
);
CREATE INDEX run_messages_by_run ON run_messages(run_id);
CREATE INDEX run_messages_by_msh10 ON run_messages(msh10);
CREATE TABLE ledger (
    fingerprint  BLOB PRIMARY KEY,
    file_name    TEXT NOT NULL,
    run_id       INTEGER NOT NULL REFERENCES runs(id),
    processed_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX patients_by_chart ON patients(site_id, chart_number);
CREATE INDEX patients_by_demographics ON patients(last_name, first_name, dob, sex);
CREATE INDEX doses_by_patient ON doses(registry_id, vaccination_date);
CREATE INDEX dose_groups_by_dose ON dose_groups(dose_id);
";

/// Secondary indexes of the bulk tables exactly as the newest schema defines them (a test
/// checks this). [`RegistryStore::bulk`] drops and rebuilds them around a load into an empty
/// store: one sort per index is far cheaper than a million random B-tree inserts.
const BULK_INDEXES: &[(&str, &str)] = &[
    ("patients_by_chart", "CREATE INDEX patients_by_chart ON patients(site_id, chart_number)"),
    (
        "patients_by_demographics",
        "CREATE INDEX patients_by_demographics ON patients(last_name, first_name, dob, sex)",
    ),
    // Also serves dose listing and export order: index entries end with the rowid (dose id).
    ("doses_by_patient", "CREATE INDEX doses_by_patient ON doses(registry_id, vaccination_date)"),
    ("dose_groups_by_dose", "CREATE INDEX dose_groups_by_dose ON dose_groups(dose_id)"),
];

// Column lists as macros so every statement is a `concat!` literal: the per-record paths
// (insert, lookups) must not format SQL text for each call.
macro_rules! patient_columns {
    () => {
        "registry_id, first_name, middle_name, last_name, suffix, dob, sex, street, city, \
         state, zip, phone, email, mother_maiden_last, guardian_first, guardian_last, \
         medi_cal_cin, chart_number, site_id, locked, status"
    };
}

macro_rules! dose_columns {
    () => {
        "id, registry_id, vaccination_date, cvx, cpt, ndc, mvx, lot_number, administered, \
         site_id, source, external_id"
    };
}

/// A registry store in one SQLite file.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// Open transactions: 0 outside, 1 in a transaction, more in savepoints.
    depth: u32,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let conn = Connection::open(path).at(path)?;
        // WAL lets `status` read while a load writes; NORMAL is durable at each WAL
        // checkpoint and never corrupts, which is what a rerunnable batch job needs. Sorter
        // threads cut the index rebuild after a bulk load by about a third (benches/registry.rs).
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA cache_size = -65536;
             PRAGMA temp_store = MEMORY;
             PRAGMA threads = 2;",
        )
        .at(path)?;
        // Another process (a second job, `status`) may hold the write lock briefly.
        conn.busy_timeout(std::time::Duration::from_secs(30)).at(path)?;
        conn.set_prepared_statement_cache_capacity(64);
        let mut store = SqliteStore { conn, path: path.to_path_buf(), depth: 0 };
        store.migrate()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn exec(&self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).at(&self.path)
    }

    fn in_transaction<T>(
        &mut self,
        bulk: bool,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let (begin, commit, rollback) = if self.depth == 0 {
            // IMMEDIATE takes the write lock now, so two jobs serialize instead of one
            // failing at its first write with SQLITE_BUSY.
            ("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")
        } else {
            ("SAVEPOINT nested", "RELEASE nested", "ROLLBACK TO nested; RELEASE nested")
        };
        self.exec(begin)?;
        self.depth += 1;
        let result = (|| {
            let deferred = bulk && self.is_empty()?;
            if deferred {
                for (name, _) in BULK_INDEXES {
                    self.exec(&format!("DROP INDEX {name}"))?;
                }
            }
            let value = f(self)?;
            if deferred {
                for (_, create) in BULK_INDEXES {
                    self.exec(create)?;
                }
            }
            Ok(value)
        })();
        self.depth -= 1;
        match result {
            Ok(value) => {
                self.exec(commit)?;
                Ok(value)
            }
            Err(err) => {
                // The first error is the one worth reporting; a failed rollback leaves the
                // transaction for SQLite to discard when the connection closes.
                let _ = self.exec(rollback);
                Err(err)
            }
        }
    }

    fn is_empty(&self) -> Result<bool> {
        let any: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM patients) OR EXISTS (SELECT 1 FROM doses)",
                [],
                |r| r.get(0),
            )
            .at(&self.path)?;
        Ok(!any)
    }

    fn query_patients(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Patient>> {
        let mut stmt = self.conn.prepare_cached(sql).at(&self.path)?;
        let mut rows = stmt.query(params).at(&self.path)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().at(&self.path)? {
            let mut p = Patient::default();
            read_patient(row, &mut p).at(&self.path)?;
            out.push(p);
        }
        Ok(out)
    }

    fn run_file_id(&self, run: RunId, file_name: &str) -> Result<Option<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id FROM run_files WHERE run_id = ?1 AND file_name = ?2 \
                 ORDER BY id DESC LIMIT 1",
            )
            .at(&self.path)?;
        stmt.query_row(params![run.0, file_name], |r| r.get(0)).optional().at(&self.path)
    }

    fn run_files(&self, run: RunId) -> Result<Vec<RunFile>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT file_name, fingerprint, read, added, updated, merged, duplicate, \
                 rejected FROM run_files WHERE run_id = ?1 ORDER BY id",
            )
            .at(&self.path)?;
        let rows = stmt
            .query_map([run.0], |r| {
                Ok(RunFile {
                    file_name: r.get(0)?,
                    fingerprint: Fingerprint(r.get(1)?),
                    counts: read_counts(r, 2)?,
                })
            })
            .at(&self.path)?;
        rows.collect::<rusqlite::Result<_>>().at(&self.path)
    }

    fn map_constraint(&self, err: rusqlite::Error, conflict: Error) -> Error {
        match &err {
            rusqlite::Error::SqliteFailure(e, _)
                if matches!(
                    e.extended_code,
                    ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_FOREIGNKEY
                ) =>
            {
                conflict
            }
            _ => Error::Sqlite { path: self.path.clone(), source: err },
        }
    }
}

impl RegistryStore for SqliteStore {
    fn migrate(&mut self) -> Result<u32> {
        let found: u32 =
            self.conn.pragma_query_value(None, "user_version", |r| r.get(0)).at(&self.path)?;
        let supported = MIGRATIONS.len() as u32;
        if found > supported {
            return Err(Error::SchemaTooNew { path: self.path.clone(), found, supported });
        }
        for (version, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            self.transaction(|s| {
                s.exec(sql)?;
                s.conn.pragma_update(None, "user_version", version as u32 + 1).at(&s.path)
            })?;
        }
        Ok(supported)
    }

    fn transaction<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.in_transaction(false, f)
    }

    fn bulk<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.in_transaction(true, f)
    }

    fn find_by_chart(&self, site_id: &str, chart_number: &str) -> Result<Option<Patient>> {
        let sql: &str = concat!(
            "SELECT ",
            patient_columns!(),
            " FROM patients WHERE site_id = ?1 AND chart_number = ?2 \
             ORDER BY registry_id LIMIT 1"
        );
        Ok(self.query_patients(sql, params![site_id, chart_number])?.pop())
    }

    fn find_by_demographics(
        &self,
        first_name: &str,
        last_name: &str,
        dob: NaiveDate,
        sex: &str,
    ) -> Result<Vec<Patient>> {
        let sql: &str = concat!(
            "SELECT ",
            patient_columns!(),
            " FROM patients WHERE last_name = ?1 AND first_name = ?2 \
             AND dob = ?3 AND sex IS ?4 ORDER BY registry_id"
        );
        let dob = IsoDate::new(dob);
        self.query_patients(sql, params![last_name, first_name, dob.as_str(), blank(sex)])
    }

    fn get_patient(&self, id: RegistryId) -> Result<Option<Patient>> {
        let sql: &str =
            concat!("SELECT ", patient_columns!(), " FROM patients WHERE registry_id = ?1");
        Ok(self.query_patients(sql, [id.0])?.pop())
    }

    fn insert_patient(&mut self, p: &Patient) -> Result<RegistryId> {
        let mut stmt = self
            .conn
            .prepare_cached(concat!(
                "INSERT INTO patients (",
                patient_columns!(),
                ") VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
                 ?18, ?19, ?20, ?21)"
            ))
            .at(&self.path)?;
        let dob = p.dob.map(IsoDate::new);
        let row = PatientRow::new(p.registry_id.map(|id| id.0), p, dob.as_ref());
        let result = stmt.insert(&row.params()[..]);
        match result {
            Ok(rowid) => Ok(RegistryId(rowid)),
            Err(err) => {
                let registry_id = p.registry_id.map_or(0, |id| id.0);
                Err(self.map_constraint(err, Error::DuplicateRegistryId { registry_id }))
            }
        }
    }

    fn update_patient(&mut self, id: RegistryId, p: &Patient) -> Result<bool> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "UPDATE patients SET first_name = ?2, middle_name = ?3, last_name = ?4, \
                 suffix = ?5, dob = ?6, sex = ?7, street = ?8, city = ?9, state = ?10, \
                 zip = ?11, phone = ?12, email = ?13, mother_maiden_last = ?14, \
                 guardian_first = ?15, guardian_last = ?16, medi_cal_cin = ?17, \
                 chart_number = ?18, site_id = ?19, locked = ?20, status = ?21 \
                 WHERE registry_id = ?1",
            )
            .at(&self.path)?;
        let dob = p.dob.map(IsoDate::new);
        let row = PatientRow::new(Some(id.0), p, dob.as_ref());
        let n = stmt.execute(&row.params()[..]).at(&self.path)?;
        Ok(n == 1)
    }

    fn dose_exists(
        &self,
        id: RegistryId,
        vaccine_group: &str,
        date: NaiveDate,
    ) -> Result<Option<DoseId>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT dose_id FROM dose_groups WHERE registry_id = ?1 AND vaccine_group = ?2 \
                 AND vaccination_date = ?3 ORDER BY dose_id LIMIT 1",
            )
            .at(&self.path)?;
        let date = IsoDate::new(date);
        stmt.query_row(params![id.0, vaccine_group, date.as_str()], |r| r.get(0).map(DoseId))
            .optional()
            .at(&self.path)
    }

    fn insert_dose(&mut self, d: &Dose) -> Result<DoseId> {
        let date = IsoDate::new(d.vaccination_date);
        let result = self
            .conn
            .prepare_cached(concat!(
                "INSERT INTO doses (",
                dose_columns!(),
                ") VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ))
            .and_then(|mut stmt| {
                stmt.insert(params![
                    d.id.map(|id| id.0),
                    d.registry_id.0,
                    date.as_str(),
                    blank(&d.cvx),
                    blank(&d.cpt),
                    blank(&d.ndc),
                    blank(&d.mvx),
                    blank(&d.lot_number),
                    d.administered,
                    blank(&d.site_id),
                    d.source.as_str(),
                    blank(&d.external_id),
                ])
            });
        let dose_id = match result {
            Ok(rowid) => DoseId(rowid),
            Err(err) => {
                let conflict = Error::UnknownPatient { registry_id: d.registry_id.0 };
                return Err(self.map_constraint(err, conflict));
            }
        };
        if !d.vaccine_groups.is_empty() {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO dose_groups \
                     (registry_id, vaccine_group, vaccination_date, dose_id) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .at(&self.path)?;
            for group in &d.vaccine_groups {
                stmt.execute(params![d.registry_id.0, group, date.as_str(), dose_id.0])
                    .at(&self.path)?;
            }
        }
        Ok(dose_id)
    }

    fn delete_dose(&mut self, id: DoseId) -> Result<bool> {
        let mut stmt = self.conn.prepare_cached("DELETE FROM doses WHERE id = ?1").at(&self.path)?;
        Ok(stmt.execute([id.0]).at(&self.path)? == 1)
    }

    fn list_doses(&self, id: RegistryId) -> Result<Vec<Dose>> {
        let sql: &str = concat!(
            "SELECT ",
            dose_columns!(),
            " FROM doses WHERE registry_id = ?1 \
             ORDER BY vaccination_date, id"
        );
        let mut stmt = self.conn.prepare_cached(sql).at(&self.path)?;
        let mut rows = stmt.query([id.0]).at(&self.path)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().at(&self.path)? {
            let mut d = Dose::new(id, NaiveDate::MIN, DoseSource::Snapshot);
            read_dose(row, &mut d).at(&self.path)?;
            out.push(d);
        }
        let mut groups = self
            .conn
            .prepare_cached(
                "SELECT vaccine_group FROM dose_groups WHERE dose_id = ?1 ORDER BY vaccine_group",
            )
            .at(&self.path)?;
        for d in &mut out {
            let id = d.id.map_or(0, |id| id.0);
            d.vaccine_groups = groups
                .query_map([id], |r| r.get(0))
                .at(&self.path)?
                .collect::<rusqlite::Result<_>>()
                .at(&self.path)?;
        }
        Ok(out)
    }

    fn for_each_patient(&self, f: &mut dyn FnMut(&Patient) -> Result<()>) -> Result<()> {
        let sql: &str =
            concat!("SELECT ", patient_columns!(), " FROM patients ORDER BY registry_id");
        let mut stmt = self.conn.prepare(sql).at(&self.path)?;
        let mut rows = stmt.query([]).at(&self.path)?;
        let mut p = Patient::default();
        while let Some(row) = rows.next().at(&self.path)? {
            read_patient(row, &mut p).at(&self.path)?;
            f(&p)?;
        }
        Ok(())
    }

    fn for_each_dose(&self, f: &mut dyn FnMut(&Dose) -> Result<()>) -> Result<()> {
        let sql: &str = concat!(
            "SELECT ",
            dose_columns!(),
            " FROM doses ORDER BY registry_id, vaccination_date, id"
        );
        let mut stmt = self.conn.prepare(sql).at(&self.path)?;
        let mut rows = stmt.query([]).at(&self.path)?;
        let mut d = Dose::new(RegistryId(0), NaiveDate::MIN, DoseSource::Snapshot);
        while let Some(row) = rows.next().at(&self.path)? {
            read_dose(row, &mut d).at(&self.path)?;
            f(&d)?;
        }
        Ok(())
    }

    fn ledger_entry(&self, fingerprint: &Fingerprint) -> Result<Option<LedgerEntry>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT file_name, run_id, processed_at FROM ledger WHERE fingerprint = ?1",
            )
            .at(&self.path)?;
        stmt.query_row([&fingerprint.0[..]], |r| {
            Ok(LedgerEntry {
                fingerprint: *fingerprint,
                file_name: r.get(0)?,
                run: RunId(r.get(1)?),
                processed_at: r.get::<_, String>(2).and_then(|s| time(2, &s))?,
            })
        })
        .optional()
        .at(&self.path)
    }

    fn claim_input(
        &mut self,
        fingerprint: &Fingerprint,
        file_name: &str,
        run: RunId,
    ) -> Result<bool> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO ledger (fingerprint, file_name, run_id, processed_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .at(&self.path)?;
        let n = stmt
            .execute(params![&fingerprint.0[..], file_name, run.0, stamp(Utc::now())])
            .at(&self.path)?;
        Ok(n == 1)
    }

    fn start_run(&mut self, job: &str, kind: RunKind, started: DateTime<Utc>) -> Result<RunId> {
        let mut stmt = self
            .conn
            .prepare_cached("INSERT INTO runs (job, kind, started) VALUES (?1, ?2, ?3)")
            .at(&self.path)?;
        stmt.insert(params![job, kind.as_str(), stamp(started)]).map(RunId).at(&self.path)
    }

    fn add_run_file(&mut self, run: RunId, file: &RunFile) -> Result<()> {
        let c = &file.counts;
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO run_files (run_id, file_name, fingerprint, read, added, updated, \
                 merged, duplicate, rejected) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .at(&self.path)?;
        stmt.execute(params![
            run.0,
            file.file_name,
            &file.fingerprint.0[..],
            c.read,
            c.added,
            c.updated,
            c.merged,
            c.duplicate,
            c.rejected
        ])
        .at(&self.path)?;
        Ok(())
    }

    fn add_run_message(
        &mut self,
        run: RunId,
        file_name: Option<&str>,
        m: &RunMessage,
    ) -> Result<()> {
        let file_id = match file_name {
            Some(name) => self.run_file_id(run, name)?,
            None => None,
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO run_messages (run_id, file_id, msh10, inbound, ack, outcome) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .at(&self.path)?;
        stmt.execute(params![run.0, file_id, m.msh10, m.inbound, m.ack, m.outcome.as_str()])
            .at(&self.path)?;
        Ok(())
    }

    fn finish_run(
        &mut self,
        run: RunId,
        finished: DateTime<Utc>,
        status: RunStatus,
        c: Counts,
    ) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "UPDATE runs SET finished = ?2, status = ?3, read = ?4, added = ?5, \
                 updated = ?6, merged = ?7, duplicate = ?8, rejected = ?9 WHERE id = ?1",
            )
            .at(&self.path)?;
        stmt.execute(params![
            run.0,
            stamp(finished),
            status.as_str(),
            c.read,
            c.added,
            c.updated,
            c.merged,
            c.duplicate,
            c.rejected
        ])
        .at(&self.path)?;
        Ok(())
    }

    fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunSummary>> {
        // Stamps are fixed-width UTC text, so day bounds compare as strings.
        let from = filter.from.map(|d| IsoDate::new(d).as_str().to_owned());
        let to = filter.to.and_then(|d| d.succ_opt()).map(|d| IsoDate::new(d).as_str().to_owned());
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, job, kind, started, finished, status, read, added, updated, merged, \
                 duplicate, rejected FROM runs \
                 WHERE (?1 IS NULL OR started >= ?1) AND (?2 IS NULL OR started < ?2) \
                 AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR job = ?4) \
                 AND (?5 IS NULL OR id IN (SELECT run_id FROM run_files WHERE file_name = ?5)) \
                 ORDER BY started DESC, id DESC",
            )
            .at(&self.path)?;
        let rows = stmt
            .query_map(
                params![from, to, filter.status.map(RunStatus::as_str), filter.job, filter.file],
                |r| {
                    Ok(RunSummary {
                        id: RunId(r.get(0)?),
                        job: r.get(1)?,
                        kind: r.get(2)?,
                        started: r.get::<_, String>(3).and_then(|s| time(3, &s))?,
                        finished: r
                            .get::<_, Option<String>>(4)?
                            .map(|s| time(4, &s))
                            .transpose()?,
                        status: r
                            .get::<_, Option<String>>(5)?
                            .as_deref()
                            .and_then(RunStatus::parse),
                        counts: read_counts(r, 6)?,
                        files: Vec::new(),
                    })
                },
            )
            .at(&self.path)?;
        let mut runs: Vec<RunSummary> = rows.collect::<rusqlite::Result<_>>().at(&self.path)?;
        for run in &mut runs {
            run.files = self.run_files(run.id)?;
        }
        Ok(runs)
    }

    fn run_messages(&self, run: RunId) -> Result<Vec<RunMessage>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT msh10, inbound, ack, outcome FROM run_messages WHERE run_id = ?1 \
                 ORDER BY id",
            )
            .at(&self.path)?;
        let rows = stmt.query_map([run.0], message_row).at(&self.path)?;
        rows.collect::<rusqlite::Result<_>>().at(&self.path)
    }

    fn message_by_msh10(&self, msh10: &str) -> Result<Option<RunMessage>> {
        // A sender may reuse a control id; the newest recording is the one asked about.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT msh10, inbound, ack, outcome FROM run_messages WHERE msh10 = ?1 \
                 ORDER BY id DESC LIMIT 1",
            )
            .at(&self.path)?;
        stmt.query_row([msh10], message_row).optional().at(&self.path)
    }
}

/// A `run_messages` row selected as (msh10, inbound, ack, outcome).
fn message_row(r: &Row<'_>) -> rusqlite::Result<RunMessage> {
    let outcome: String = r.get(3)?;
    Ok(RunMessage {
        msh10: r.get(0)?,
        inbound: r.get(1)?,
        ack: r.get(2)?,
        outcome: RunStatus::parse(&outcome).ok_or_else(|| bad_value(3))?,
    })
}

/// Blank text is stored as NULL: unknown, and smaller.
/// A patient row's values in `patient_columns!` order, registry id first (`?1`);
/// blanks become NULL. Borrowed, so binding a row allocates nothing.
struct PatientRow<'p> {
    id: Option<i64>,
    names: [Option<&'p str>; 4],
    dob: Option<&'p str>,
    rest: [Option<&'p str>; 13],
    locked: bool,
    status: &'p str,
}

impl<'p> PatientRow<'p> {
    fn new(id: Option<i64>, p: &'p Patient, dob: Option<&'p IsoDate>) -> Self {
        PatientRow {
            id,
            names: p.name_columns().map(blank),
            dob: dob.map(IsoDate::as_str),
            rest: p.contact_columns().map(blank),
            locked: p.locked,
            status: if p.status.is_empty() { "A" } else { p.status.as_str() },
        }
    }

    fn params(&self) -> [&dyn ToSql; 21] {
        let [n1, n2, n3, n4] = &self.names;
        let [r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13] = &self.rest;
        [
            &self.id,
            n1,
            n2,
            n3,
            n4,
            &self.dob,
            r1,
            r2,
            r3,
            r4,
            r5,
            r6,
            r7,
            r8,
            r9,
            r10,
            r11,
            r12,
            r13,
            &self.locked,
            &self.status,
        ]
    }
}

fn blank(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn time(column: usize, s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|_| bad_value(column))
}

fn bad_value(column: usize) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnType(
        column,
        "unexpected value".into(),
        rusqlite::types::Type::Text,
    )
}

fn read_counts(r: &Row<'_>, first: usize) -> rusqlite::Result<Counts> {
    Ok(Counts {
        read: r.get(first)?,
        added: r.get(first + 1)?,
        updated: r.get(first + 2)?,
        merged: r.get(first + 3)?,
        duplicate: r.get(first + 4)?,
        rejected: r.get(first + 5)?,
    })
}

/// Copies a text column into `out` without allocating once `out` has grown.
fn text_into(row: &Row<'_>, i: usize, out: &mut String) -> rusqlite::Result<()> {
    out.clear();
    match row.get_ref(i)? {
        ValueRef::Null => {}
        ValueRef::Text(t) => out.push_str(std::str::from_utf8(t).map_err(|_| bad_value(i))?),
        _ => return Err(bad_value(i)),
    }
    Ok(())
}

fn date_at(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<NaiveDate>> {
    match row.get_ref(i)? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => parse_iso_date(t).map(Some).ok_or_else(|| bad_value(i)),
        _ => Err(bad_value(i)),
    }
}

fn read_patient(r: &Row<'_>, p: &mut Patient) -> rusqlite::Result<()> {
    p.registry_id = Some(RegistryId(r.get(0)?));
    text_into(r, 1, &mut p.first_name)?;
    text_into(r, 2, &mut p.middle_name)?;
    text_into(r, 3, &mut p.last_name)?;
    text_into(r, 4, &mut p.suffix)?;
    p.dob = date_at(r, 5)?;
    text_into(r, 6, &mut p.sex)?;
    text_into(r, 7, &mut p.street)?;
    text_into(r, 8, &mut p.city)?;
    text_into(r, 9, &mut p.state)?;
    text_into(r, 10, &mut p.zip)?;
    text_into(r, 11, &mut p.phone)?;
    text_into(r, 12, &mut p.email)?;
    text_into(r, 13, &mut p.mother_maiden_last)?;
    text_into(r, 14, &mut p.guardian_first)?;
    text_into(r, 15, &mut p.guardian_last)?;
    text_into(r, 16, &mut p.medi_cal_cin)?;
    text_into(r, 17, &mut p.chart_number)?;
    text_into(r, 18, &mut p.site_id)?;
    p.locked = r.get(19)?;
    text_into(r, 20, &mut p.status)
}

fn read_dose(r: &Row<'_>, d: &mut Dose) -> rusqlite::Result<()> {
    d.id = Some(DoseId(r.get(0)?));
    d.registry_id = RegistryId(r.get(1)?);
    d.vaccination_date = date_at(r, 2)?.ok_or_else(|| bad_value(2))?;
    text_into(r, 3, &mut d.cvx)?;
    text_into(r, 4, &mut d.cpt)?;
    text_into(r, 5, &mut d.ndc)?;
    text_into(r, 6, &mut d.mvx)?;
    text_into(r, 7, &mut d.lot_number)?;
    d.administered = r.get(8)?;
    text_into(r, 9, &mut d.site_id)?;
    d.source = match r.get_ref(10)? {
        ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(DoseSource::parse),
        _ => None,
    }
    .ok_or_else(|| bad_value(10))?;
    text_into(r, 11, &mut d.external_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("r.db")).unwrap();
        (dir, store)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn patient(first: &str, chart: &str) -> Patient {
        Patient {
            first_name: first.into(),
            last_name: "GARCIA".into(),
            dob: Some(date(2020, 1, 15)),
            sex: "F".into(),
            chart_number: chart.into(),
            site_id: "DE-000001".into(),
            ..Patient::default()
        }
    }

    #[test]
    fn opening_twice_migrates_once() {
        let (dir, mut store) = store();
        store.insert_patient(&patient("ANA", "1")).unwrap();
        drop(store);
        let mut store = SqliteStore::open(&dir.path().join("r.db")).unwrap();
        assert_eq!(store.migrate().unwrap(), MIGRATIONS.len() as u32);
        assert!(store.get_patient(RegistryId(1)).unwrap().is_some());
        store.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(store);
        let err = SqliteStore::open(&dir.path().join("r.db")).err().unwrap();
        assert!(matches!(err, Error::SchemaTooNew { found: 99, .. }), "{err}");
    }

    #[test]
    fn bulk_indexes_match_the_schema_and_survive_a_bulk_load() {
        let (_dir, mut store) = store();
        let check = |store: &SqliteStore| {
            for (name, create) in BULK_INDEXES {
                let sql: String = store
                    .conn
                    .query_row("SELECT sql FROM sqlite_master WHERE name = ?1", [name], |r| {
                        r.get(0)
                    })
                    .unwrap();
                assert_eq!(&sql, create);
            }
        };
        check(&store);
        let failed = store.bulk(|s| {
            s.insert_patient(&patient("ANA", "MRN1"))?;
            Err::<(), _>(Error::UnknownPatient { registry_id: 1 })
        });
        assert!(failed.is_err());
        check(&store);
        store.bulk(|s| s.insert_patient(&patient("ANA", "MRN1"))).unwrap();
        check(&store);
        let plan: String = store
            .conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT registry_id FROM patients \
                 WHERE site_id = 'a' AND chart_number = 'b'",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("patients_by_chart"), "{plan}");
    }

    #[test]
    fn lookups_find_what_was_stored() {
        let (_dir, mut store) = store();
        let ana = store.insert_patient(&patient("ANA", "MRN1")).unwrap();
        let bea = store.insert_patient(&patient("BEA", "MRN2")).unwrap();
        assert_eq!(bea, RegistryId(ana.0 + 1), "new ids follow the highest");
        let found = store.find_by_chart("DE-000001", "MRN2").unwrap().unwrap();
        assert_eq!(found.registry_id, Some(bea));
        assert_eq!(store.find_by_chart("DE-000002", "MRN2").unwrap(), None);
        let same = store.find_by_demographics("ANA", "GARCIA", date(2020, 1, 15), "F").unwrap();
        assert_eq!(same.len(), 1);
        assert_eq!(
            same[0],
            Patient { registry_id: Some(ana), status: "A".into(), ..patient("ANA", "MRN1") }
        );
        assert!(store
            .find_by_demographics("ANA", "GARCIA", date(2020, 1, 15), "M")
            .unwrap()
            .is_empty());

        let mut changed = patient("ANA", "MRN1");
        changed.locked = true;
        assert!(store.update_patient(ana, &changed).unwrap());
        assert!(store.get_patient(ana).unwrap().unwrap().locked);
        assert!(!store.update_patient(RegistryId(999), &changed).unwrap());
        let dup = Patient { registry_id: Some(ana), ..patient("X", "") };
        assert!(matches!(store.insert_patient(&dup), Err(Error::DuplicateRegistryId { .. })));
    }

    #[test]
    fn doses_by_group_and_date() {
        let (_dir, mut store) = store();
        let id = store.insert_patient(&patient("ANA", "MRN1")).unwrap();
        let mut dose = Dose::new(id, date(2020, 3, 15), DoseSource::Vxu);
        dose.cvx = "110".into();
        dose.vaccine_groups = vec!["DTAP".into(), "HepB".into(), "POLIO".into()];
        let dose_id = store.insert_dose(&dose).unwrap();
        assert_eq!(store.dose_exists(id, "HepB", date(2020, 3, 15)).unwrap(), Some(dose_id));
        assert_eq!(store.dose_exists(id, "MMR", date(2020, 3, 15)).unwrap(), None);
        assert_eq!(store.dose_exists(id, "HepB", date(2020, 3, 16)).unwrap(), None);
        let listed = store.list_doses(id).unwrap();
        assert_eq!(listed, [Dose { id: Some(dose_id), ..dose.clone() }]);
        assert!(store.delete_dose(dose_id).unwrap());
        assert!(!store.delete_dose(dose_id).unwrap());
        assert_eq!(
            store.dose_exists(id, "HepB", date(2020, 3, 15)).unwrap(),
            None,
            "groups cascade"
        );
        dose.registry_id = RegistryId(404);
        assert!(matches!(
            store.insert_dose(&dose),
            Err(Error::UnknownPatient { registry_id: 404 })
        ));
    }

    #[test]
    fn a_failed_transaction_leaves_nothing_and_nesting_is_a_savepoint() {
        let (_dir, mut store) = store();
        let run = store.start_run("job", RunKind::FlatFile, Utc::now()).unwrap();
        let fp = Fingerprint::of_bytes(b"file one");
        let err = store.transaction(|s| {
            assert!(s.claim_input(&fp, "one.txt", run)?);
            s.insert_patient(&patient("ANA", "MRN1"))?;
            Err::<(), _>(Error::UnknownPatient { registry_id: 1 })
        });
        assert!(err.is_err());
        assert_eq!(store.ledger_entry(&fp).unwrap(), None);
        assert_eq!(store.get_patient(RegistryId(1)).unwrap(), None);

        store
            .transaction(|s| {
                s.insert_patient(&patient("ANA", "MRN1"))?;
                let inner = s.transaction(|s| {
                    s.insert_patient(&patient("BEA", "MRN2"))?;
                    Err::<(), _>(Error::UnknownPatient { registry_id: 2 })
                });
                assert!(inner.is_err());
                Ok(())
            })
            .unwrap();
        assert!(store.get_patient(RegistryId(1)).unwrap().is_some());
        assert_eq!(store.get_patient(RegistryId(2)).unwrap(), None, "inner savepoint undone");
    }

    #[test]
    fn the_ledger_claims_an_input_once() {
        let (_dir, mut store) = store();
        let run = store.start_run("job", RunKind::FlatFile, Utc::now()).unwrap();
        let fp = Fingerprint::of_bytes(b"file one");
        assert!(store.transaction(|s| s.claim_input(&fp, "one.txt", run)).unwrap());
        assert!(!store.transaction(|s| s.claim_input(&fp, "renamed.txt", run)).unwrap());
        let entry = store.ledger_entry(&fp).unwrap().unwrap();
        assert_eq!((entry.file_name.as_str(), entry.run), ("one.txt", run));
    }

    #[test]
    fn runs_files_and_messages_are_listed_with_filters() {
        let (_dir, mut store) = store();
        let t = |d| DateTime::parse_from_rfc3339(d).unwrap().with_timezone(&Utc);
        let a = store.start_run("nightly", RunKind::FlatFile, t("2026-01-10T02:30:00Z")).unwrap();
        let file = RunFile {
            file_name: "A_CLIENT.txt".into(),
            fingerprint: Fingerprint::of_bytes(b"a"),
            counts: Counts { read: 5, added: 4, rejected: 1, ..Counts::default() },
        };
        store.add_run_file(a, &file).unwrap();
        let msg = RunMessage {
            msh10: "M1".into(),
            inbound: "MSH|...".into(),
            ack: "MSA|AA|M1".into(),
            outcome: RunStatus::Ok,
        };
        store.add_run_message(a, Some("A_CLIENT.txt"), &msg).unwrap();
        store.finish_run(a, t("2026-01-10T02:31:00Z"), RunStatus::Rejected, file.counts).unwrap();
        let b = store.start_run("vxu-intake", RunKind::Vxu, t("2026-01-12T09:00:00Z")).unwrap();

        let all = store.list_runs(&RunFilter::default()).unwrap();
        assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), [b, a], "newest first");
        assert_eq!(all[1].files, [file]);
        assert_eq!(all[1].status, Some(RunStatus::Rejected));
        assert_eq!(all[0].status, None);
        assert_eq!(store.run_messages(a).unwrap(), [msg]);

        let ids =
            |f: RunFilter| store.list_runs(&f).unwrap().iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(RunFilter { to: Some(date(2026, 1, 10)), ..RunFilter::default() }), [a]);
        assert_eq!(ids(RunFilter { from: Some(date(2026, 1, 11)), ..RunFilter::default() }), [b]);
        assert_eq!(
            ids(RunFilter { status: Some(RunStatus::Rejected), ..RunFilter::default() }),
            [a]
        );
        assert_eq!(ids(RunFilter { job: Some("vxu-intake".into()), ..RunFilter::default() }), [b]);
        assert_eq!(
            ids(RunFilter { file: Some("A_CLIENT.txt".into()), ..RunFilter::default() }),
            [a]
        );
    }
}
