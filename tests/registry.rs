//! `cairdx registry import|export` and `cairdx status`, run as a user would, on a real
//! SQLite file in a temp dir.

use std::path::Path;
use std::process::{Command, Output};

use cairdx::registry::{
    Counts, Fingerprint, RegistryStore, RunFile, RunKind, RunStatus, SqliteStore,
};
use chrono::{DateTime, Utc};

const PATIENTS: &str = "\
registry_id,first_name,middle_name,last_name,suffix,dob,sex,street,city,state,zip,phone,email,mother_maiden_last,guardian_first,guardian_last,medi_cal_cin,chart_number,site_id,locked,status
3,ANA,,GARCIA,,2020-01-15,F,1 MAIN ST,FRESNO,CA,93701,5595550100,,LOPEZ,,,,MRN1,DE-000001,N,A
20,JOSÉ,\"M, JR\",NUÑEZ,JR,2019-12-31,M,,,,,,,,,,,MRN2,DE-000001,Y,I
";
const DOSES: &str = "\
registry_id,vaccination_date,cvx,cpt,ndc,mvx,lot_number,administered,site_id,source,dose_id
3,2020-03-15,20,,,SKB,LOT1,Y,DE-000001,flat-file,D1
3,2020-05-15,20,,,SKB,LOT2,N,,vxu,
20,2020-01-01,,90700,,,,,,snapshot,
";

fn cairdx(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairdx")).args(args).output().expect("cairdx runs")
}

fn write(path: &Path, text: &str) {
    std::fs::File::create(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .expect("fixture written");
}

fn s(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

#[test]
fn import_then_export_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let (db, p, d, out) = (
        dir.path().join("r.db"),
        dir.path().join("patients_in.csv"),
        dir.path().join("doses_in.csv"),
        dir.path().join("out"),
    );
    write(&p, PATIENTS);
    // Rows out of order on purpose: the export sorts.
    let mut shuffled: Vec<&str> = DOSES.lines().collect();
    shuffled[1..].reverse();
    write(&d, &(shuffled.join("\n") + "\n"));

    let import =
        cairdx(&["registry", "import", "--db", s(&db), "--patients", s(&p), "--doses", s(&d)]);
    assert_eq!(import.status.code(), Some(0), "{}", String::from_utf8_lossy(&import.stderr));
    let export = cairdx(&["registry", "export", "--db", s(&db), "--out-dir", s(&out)]);
    assert_eq!(export.status.code(), Some(0), "{}", String::from_utf8_lossy(&export.stderr));
    assert_eq!(std::fs::read_to_string(out.join("patients.csv")).unwrap(), PATIENTS);
    assert_eq!(std::fs::read_to_string(out.join("doses.csv")).unwrap(), DOSES);

    // The same files again: skipped, exit 0, nothing doubled.
    let again =
        cairdx(&["registry", "import", "--db", s(&db), "--patients", s(&p), "--doses", s(&d)]);
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already imported"));
    cairdx(&["registry", "export", "--db", s(&db), "--out-dir", s(&out)]);
    assert_eq!(std::fs::read_to_string(out.join("doses.csv")).unwrap(), DOSES);

    let parquet = cairdx(&[
        "registry",
        "export",
        "--db",
        s(&db),
        "--out-dir",
        s(&out),
        "--format",
        "parquet",
    ]);
    let expected = if cfg!(feature = "parquet") { 0 } else { 2 };
    assert_eq!(
        parquet.status.code(),
        Some(expected),
        "{}",
        String::from_utf8_lossy(&parquet.stderr)
    );
}

#[test]
fn a_bad_row_fails_the_import_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (db, p, out) = (dir.path().join("r.db"), dir.path().join("p.csv"), dir.path().join("out"));
    write(&p, &PATIENTS.replace("2019-12-31", "12/31/2019"));
    let import = cairdx(&["registry", "import", "--db", s(&db), "--patients", s(&p)]);
    assert_eq!(import.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&import.stderr);
    assert!(stderr.contains("p.csv:3: column dob: not a YYYY-MM-DD date"), "{stderr}");
    assert!(!stderr.contains("12/31/2019"), "values are not echoed: {stderr}");
    cairdx(&["registry", "export", "--db", s(&db), "--out-dir", s(&out)]);
    assert_eq!(
        std::fs::read_to_string(out.join("patients.csv")).unwrap().lines().count(),
        1,
        "header only"
    );
}

#[test]
fn status_lists_runs_and_files_with_filters() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let t = |d: &str| DateTime::parse_from_rfc3339(d).unwrap().with_timezone(&Utc);
    {
        let mut store = SqliteStore::open(&db).unwrap();
        let counts =
            Counts { read: 120, added: 100, updated: 15, rejected: 5, ..Counts::default() };
        let run = store
            .start_run("county-nightly", RunKind::FlatFile, t("2026-01-10T02:30:00Z"))
            .unwrap();
        for name in ["JAN10_CLIENT.txt", "JAN10_IMMUN.txt"] {
            let file = RunFile {
                file_name: name.into(),
                fingerprint: Fingerprint::of_bytes(name.as_bytes()),
                counts,
            };
            store.add_run_file(run, &file).unwrap();
        }
        store.finish_run(run, t("2026-01-10T02:31:05Z"), RunStatus::Rejected, counts).unwrap();
        let run = store.start_run("vxu-intake", RunKind::Vxu, t("2026-01-12T09:00:00Z")).unwrap();
        store.finish_run(run, t("2026-01-12T09:00:01Z"), RunStatus::Ok, Counts::default()).unwrap();
    }
    let status = |extra: &[&str]| {
        let mut args = vec!["status", "--db", s(&db)];
        args.extend_from_slice(extra);
        let out = cairdx(&args);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let all = status(&[]);
    let expected = "\
RUN  JOB                 TYPE       STARTED (UTC)        FINISHED (UTC)       STATUS    FILES  READ  ADDED  UPDATED  REJECTED
2    vxu-intake          vxu        2026-01-12 09:00:00  2026-01-12 09:00:01  ok            0     0      0        0         0
1    county-nightly      flat-file  2026-01-10 02:30:00  2026-01-10 02:31:05  rejected      2   120    100       15         5
       JAN10_CLIENT.txt  file                                                                   120    100       15         5
       JAN10_IMMUN.txt   file                                                                   120    100       15         5
";
    assert_eq!(all, expected);
    let first_ids = |text: String| -> Vec<String> {
        text.lines()
            .skip(1)
            .filter_map(|l| {
                l.split_whitespace().next().filter(|w| w.parse::<u32>().is_ok()).map(str::to_owned)
            })
            .collect()
    };
    assert_eq!(first_ids(status(&["--status", "rejected"])), ["1"]);
    assert_eq!(first_ids(status(&["--job", "vxu-intake"])), ["2"]);
    assert_eq!(first_ids(status(&["--file", "JAN10_IMMUN.txt"])), ["1"]);
    assert_eq!(first_ids(status(&["--from", "2026-01-11"])), ["2"]);
    assert_eq!(first_ids(status(&["--from", "2026-01-10", "--to", "2026-01-10"])), ["1"]);
    assert_eq!(status(&["--job", "nope"]), "No runs match.\n");
}
