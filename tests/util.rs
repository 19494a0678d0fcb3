//! Test harness: a temp work dir, the binary, golden files and CAIR1 record builders.

use std::path::PathBuf;
use std::process::{Command, Output};

use cairdx::spec::{ClientField, FieldDef, ImmField, Layout, SpecFiles, SpecSet};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temp directory for one test, removed when dropped.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write fixture");
        path
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// Runs `cairdx` with `args` in this directory.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_cairdx"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("CAIRDX_SPECS")
            .output()
            .expect("run cairdx")
    }
}

/// The exit code of a finished command.
pub fn code(output: &Output) -> i32 {
    output.status.code().expect("exited")
}

/// Compares `got` with the golden file `tests/golden/<name>`; `CAIRDX_BLESS=1` rewrites it.
pub fn golden(name: &str, got: &[u8]) {
    let path = repo().join("tests/golden").join(name);
    if std::env::var_os("CAIRDX_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("golden dir");
        std::fs::write(&path, got).expect("bless");
        return;
    }
    let want = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with CAIRDX_BLESS=1)", path.display()));
    if want != got {
        let show = |b: &[u8]| String::from_utf8_lossy(b).replace('\r', "\n");
        panic!(
            "{name} differs from the golden file\n{:=^60}\n{}\n{:=^60}\n{}\n",
            " expected ",
            show(&want),
            " got ",
            show(got)
        );
    }
}

/// The compiled built-in specs.
pub fn specs() -> SpecSet {
    SpecSet::load(&SpecFiles::Embedded).expect("built-in specs")
}

/// Builds fixed-width lines from field values, by the layout's positions.
pub struct LineBuilder<'l> {
    layout: &'l Layout,
    chars: Vec<char>,
}

impl<'l> LineBuilder<'l> {
    pub fn new(layout: &'l Layout) -> Self {
        LineBuilder { layout, chars: vec![' '; layout.line_length] }
    }

    fn put(mut self, def: &FieldDef, value: &str) -> Self {
        let width = def.end - def.start;
        for (i, c) in value.chars().chain(std::iter::repeat(' ')).take(width).enumerate() {
            self.chars[def.start + i] = c;
        }
        self
    }

    pub fn client(self, field: ClientField, value: &str) -> Self {
        let def = self.layout.fields[field as usize].clone().expect("field in layout");
        self.put(&def, value)
    }

    pub fn imm(self, field: ImmField, value: &str) -> Self {
        let def = self.layout.fields[field as usize].clone().expect("field in layout");
        self.put(&def, value)
    }

    pub fn line(&self) -> String {
        self.chars.iter().collect()
    }
}

/// A complete, valid client line for `id`.
pub fn client_line(specs: &SpecSet, id: &str, first: &str, last: &str, dob: &str) -> String {
    LineBuilder::new(&specs.layouts["cair1"].client)
        .client(ClientField::RecordId, id)
        .client(ClientField::FirstName, first)
        .client(ClientField::LastName, last)
        .client(ClientField::BirthDate, dob)
        .client(ClientField::Sex, "F")
        .client(ClientField::ChartNumber, &format!("MRN-{id}"))
        .client(ClientField::SiteId, "DE-000123")
        .line()
}

/// A historical dose line for `id`.
pub fn dose_line(specs: &SpecSet, id: &str, date: &str, cvx: &str) -> String {
    LineBuilder::new(&specs.layouts["cair1"].immunization)
        .imm(ImmField::RecordId, id)
        .imm(ImmField::VaccinationDate, date)
        .imm(ImmField::Cvx, cvx)
        .line()
}

/// Joins lines with CRLF and encodes them as Windows-1252.
pub fn cp1252(lines: &[String]) -> Vec<u8> {
    let text: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
    encoding_rs::WINDOWS_1252.encode(&text).0.into_owned()
}

/// Splits an HL7 file into segments (CR terminated).
pub fn segments(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .expect("HL7 output is ASCII")
        .split('\r')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Rows of a CSV text with a header.
pub fn rows(csv: &str) -> usize {
    csv.lines().count() - 1
}

/// `registry export` of `db` into `dir`: the patients and doses CSV texts.
pub fn export(w: &Workdir, db: &str, dir: &str) -> (String, String) {
    let out = w.run(&["registry", "export", "--db", db, "--out-dir", dir]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let read = |name: &str| String::from_utf8(w.read(&format!("{dir}/{name}"))).unwrap();
    (read("patients.csv"), read("doses.csv"))
}

/// Runs `job` (a command storing into the database it is given) to completion once,
/// then five times killed with SIGKILL at a random moment and run again: each rerun's
/// registry must equal the clean run's. Returns the clean export.
pub fn assert_killed_runs_converge(w: &Workdir, job: impl Fn(&str) -> Command) -> (String, String) {
    let clean = job("clean.db").status().unwrap();
    assert!(matches!(clean.code(), Some(0 | 1)), "{clean:?}");
    let want = export(w, "clean.db", "clean");
    let mut rng = fastrand::Rng::with_seed(7);
    for i in 0..5 {
        let db = format!("killed{i}.db");
        let mut child = job(&db).spawn().unwrap();
        // Up to about a debug build's whole run: kills land in reading, storing and commit.
        std::thread::sleep(std::time::Duration::from_millis(rng.u64(0..=1500)));
        // SIGKILL: no destructor, no rollback by the process itself.
        let _ = child.kill();
        child.wait().unwrap();
        let rerun = job(&db).status().unwrap();
        assert!(matches!(rerun.code(), Some(0 | 1)), "iteration {i}: {rerun:?}");
        assert!(export(w, &db, &format!("out{i}")) == want, "iteration {i} differs");
    }
    want
}
