//! `cairdx load`: CAIR1 flat files into a real SQLite registry in a temp dir, checked
//! through `cairdx registry export` (merge rule, duplicates, U/D actions, exactly once,
//! and a load killed at random points).

use std::process::{Command, Output, Stdio};

use cairdx::spec::{ClientField as C, ImmField as I, SpecSet};

use crate::util::{
    assert_killed_runs_converge, code, cp1252, dose_line, export, repo, rows, specs, LineBuilder,
    Workdir,
};

const TS: &str = "2026-01-15T08:00:00-08:00";

/// A client line with the fields the merge rule looks at.
fn patient(specs: &SpecSet, id: &str, first: &str, dob: &str, chart: &str, street: &str) -> String {
    LineBuilder::new(&specs.layouts["cair1"].client)
        .client(C::RecordId, id)
        .client(C::FirstName, first)
        .client(C::LastName, "RIVERA")
        .client(C::BirthDate, dob)
        .client(C::Sex, "F")
        .client(C::ChartNumber, chart)
        .client(C::Street, street)
        .client(C::City, "FRESNO")
        .client(C::State, "CA")
        .client(C::Zip, "93701")
        .client(C::SiteId, "DE-000123")
        .line()
}

/// A historical dose with an action code and a lot number.
fn dose(specs: &SpecSet, id: &str, date: &str, cvx: &str, action: &str, lot: &str) -> String {
    LineBuilder::new(&specs.layouts["cair1"].immunization)
        .imm(I::RecordId, id)
        .imm(I::VaccinationDate, date)
        .imm(I::Cvx, cvx)
        .imm(I::LotNumber, lot)
        .imm(I::Action, action)
        .line()
}

/// Writes `<stem>_CLIENT.txt` and `<stem>_IMMUN.txt` and loads them into `r.db`.
fn load_pair(w: &Workdir, stem: &str, clients: &[String], doses: &[String]) -> (Output, String) {
    let client = w.write(&format!("{stem}_CLIENT.txt"), &cp1252(clients));
    let immun = w.write(&format!("{stem}_IMMUN.txt"), &cp1252(doses));
    let out = w.run(&[
        "load",
        "--db",
        "r.db",
        "--client",
        client.to_str().unwrap(),
        "--immunizations",
        immun.to_str().unwrap(),
        "--timestamp",
        TS,
    ]);
    assert!(code(&out) < 2, "{}", String::from_utf8_lossy(&out.stderr));
    let response = String::from_utf8(w.read(&format!("{stem}_CLIENT_RESPONSE.txt"))).unwrap();
    (out, response)
}

/// The number on a response summary line such as `Patients added   3`.
fn count(response: &str, label: &str) -> u64 {
    let line = response
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} in\n{response}"));
    line[label.len()..].trim().parse().unwrap()
}

/// `registry export` of `db`: (patients.csv, doses.csv).
#[test]
fn sample_loads_minus_rejects_and_twice_changes_nothing() {
    let w = Workdir::new();
    for name in ["SAMPLE_CLIENT.txt", "SAMPLE_IMMUN.txt"] {
        w.write(name, &std::fs::read(repo().join("sample_data").join(name)).unwrap());
    }
    let args = [
        "load",
        "--db",
        "r.db",
        "--client",
        "SAMPLE_CLIENT.txt",
        "--immunizations",
        "SAMPLE_IMMUN.txt",
        "--timestamp",
        TS,
    ];
    let first = w.run(&args);
    assert_eq!(code(&first), 1, "{}", String::from_utf8_lossy(&first.stderr));
    let response = String::from_utf8(w.read("SAMPLE_CLIENT_RESPONSE.txt")).unwrap();
    assert!(!w.read("SAMPLE_CLIENT_REJECTS_CLIENT.txt").is_empty());
    assert!(!w.read("SAMPLE_CLIENT_REJECTS_IMMUN.txt").is_empty());
    let (patients, doses) = export(&w, "r.db", "one");
    let read = count(&response, "Client records read");
    let rejected = count(&response, "Patients rejected");
    assert_eq!(rows(&patients) as u64, read - rejected);
    assert_eq!(rows(&patients) as u64, count(&response, "Patients added"));
    // The sample's one delete (action D) finds nothing to delete: a warning, not a dose.
    assert!(response.contains("|W|R002|"), "{response}");
    let dose_read = count(&response, "Immunization records read");
    let dose_rejected = count(&response, "Doses rejected");
    let duplicate = count(&response, "Doses duplicate");
    assert_eq!(rows(&doses) as u64, dose_read - dose_rejected - duplicate - 1);
    assert_eq!(rows(&doses) as u64, count(&response, "Doses added"));

    let second = w.run(&args);
    assert_eq!(code(&second), 0, "{}", String::from_utf8_lossy(&second.stderr));
    let response = String::from_utf8(w.read("SAMPLE_CLIENT_RESPONSE.txt")).unwrap();
    assert!(response.contains("already loaded (run 1)"), "{response}");
    assert_eq!(export(&w, "r.db", "two"), (patients, doses));

    let status = w.run(&["status", "--db", "r.db"]);
    let listing = String::from_utf8(status.stdout).unwrap();
    assert!(listing.contains("rejected") && listing.contains("SAMPLE_IMMUN.txt"), "{listing}");
}

#[test]
fn same_chart_updates_and_exact_demographics_merge() {
    let specs = specs();
    let w = Workdir::new();
    let ana = patient(&specs, "A1", "ANA", "01152020", "MRN1", "1 MAIN ST");
    let (_, r) = load_pair(&w, "F1", std::slice::from_ref(&ana), &[]);
    assert_eq!(count(&r, "Patients added"), 1);
    // Same chart, new address: the registry patient is updated.
    let moved = patient(&specs, "A1", "ANA", "01152020", "MRN1", "9 OAK AVE");
    let (_, r) = load_pair(&w, "F2", &[moved], &[]);
    assert_eq!((count(&r, "Patients updated"), count(&r, "Patients added")), (1, 0), "{r}");
    // Same chart, nothing new (another file, so not "already loaded"): merged.
    let again = patient(&specs, "A9", "ANA", "01152020", "MRN1", "9 OAK AVE");
    let (_, r) = load_pair(&w, "F3", &[again], &[]);
    assert_eq!((count(&r, "Patients merged"), count(&r, "Patients updated")), (1, 0), "{r}");
    // Another chart, same name, birth date and sex: merged by demographics.
    let other_site = patient(&specs, "B7", "ANA", "01152020", "OTHER-CHART", "9 OAK AVE");
    let (_, r) = load_pair(&w, "F4", &[other_site], &[]);
    assert_eq!((count(&r, "Patients merged"), count(&r, "Patients added")), (1, 0), "{r}");
    let (patients, _) = export(&w, "r.db", "out");
    assert_eq!(rows(&patients), 1, "{patients}");
    assert!(patients.contains("9 OAK AVE") && patients.contains("MRN1"), "{patients}");
}

#[test]
fn twins_stay_two_patients() {
    let specs = specs();
    let w = Workdir::new();
    let ana = patient(&specs, "T1", "ANA", "03012021", "MRN-T1", "5 ELM ST");
    let eva = patient(&specs, "T2", "EVA", "03012021", "MRN-T2", "5 ELM ST");
    let (_, r) = load_pair(&w, "F1", &[ana], &[]);
    assert_eq!(count(&r, "Patients added"), 1);
    let (_, r) = load_pair(&w, "F2", &[eva], &[]);
    assert_eq!((count(&r, "Patients added"), count(&r, "Patients merged")), (1, 0), "{r}");
    assert_eq!(rows(&export(&w, "r.db", "out").0), 2);
}

#[test]
fn several_exact_matches_are_not_merged() {
    let specs = specs();
    let w = Workdir::new();
    // Two registry patients with the same demographics, from a snapshot.
    let header = "registry_id,first_name,middle_name,last_name,suffix,dob,sex,street,city,state,\
                  zip,phone,email,mother_maiden_last,guardian_first,guardian_last,medi_cal_cin,\
                  chart_number,site_id,locked,status\n";
    let row = |id: u32| format!("{id},ANA,,RIVERA,,2020-01-15,F,,,,,,,,,,,C{id},DE-000999,N,A\n");
    w.write("p.csv", format!("{header}{}{}", row(1), row(2)).as_bytes());
    let import = w.run(&["registry", "import", "--db", "r.db", "--patients", "p.csv"]);
    assert_eq!(code(&import), 0, "{}", String::from_utf8_lossy(&import.stderr));
    let ana = patient(&specs, "A1", "ANA", "01152020", "MRN1", "1 MAIN ST");
    let (out, r) = load_pair(&w, "F1", &[ana], &[]);
    assert_eq!(code(&out), 0);
    assert_eq!((count(&r, "Patients added"), count(&r, "Patients merged")), (1, 0), "{r}");
    assert!(r.contains("|W|R001|2 registry patients match"), "{r}");
    assert_eq!(rows(&export(&w, "r.db", "out").0), 3);
}

#[test]
fn a_dose_in_a_later_file_is_a_duplicate_by_vaccine_group() {
    let specs = specs();
    let w = Workdir::new();
    let ana = patient(&specs, "A1", "ANA", "01152020", "MRN1", "1 MAIN ST");
    let (_, r) = load_pair(
        &w,
        "F1",
        std::slice::from_ref(&ana),
        &[dose_line(&specs, "A1", "03152020", "20")],
    );
    assert_eq!(count(&r, "Doses added"), 1);
    // The same DTaP again, and a DTaP-HepB-IPV (CVX 110, DTAP among its groups) that day.
    let later = [
        dose_line(&specs, "A1", "03152020", "20"),
        dose_line(&specs, "A1", "03152020", "110"),
        dose_line(&specs, "A1", "05152020", "20"),
    ];
    let (_, r) = load_pair(&w, "F2", &[ana], &later);
    assert_eq!((count(&r, "Doses duplicate"), count(&r, "Doses added")), (2, 1), "{r}");
    assert_eq!(rows(&export(&w, "r.db", "out").1), 2);
}

#[test]
fn update_and_delete_actions() {
    let specs = specs();
    let w = Workdir::new();
    let ana = patient(&specs, "A1", "ANA", "01152020", "MRN1", "1 MAIN ST");
    let first = [
        dose(&specs, "A1", "03152020", "20", "A", "OLDLOT"),
        dose(&specs, "A1", "01202021", "03", "A", ""),
    ];
    let (_, r) = load_pair(&w, "F1", std::slice::from_ref(&ana), &first);
    assert_eq!(count(&r, "Doses added"), 2, "{r}");
    let second = [
        dose(&specs, "A1", "03152020", "20", "U", "NEWLOT"),
        dose(&specs, "A1", "01202021", "03", "D", ""),
        dose(&specs, "A1", "02022022", "08", "D", ""),
        dose(&specs, "A1", "06062022", "08", "U", ""),
    ];
    let (_, r) = load_pair(&w, "F2", &[ana], &second);
    assert_eq!(
        [
            count(&r, "Doses updated"),
            count(&r, "Doses deleted"),
            count(&r, "Doses added"),
            count(&r, "Doses duplicate")
        ],
        [1, 1, 1, 0],
        "{r}"
    );
    assert!(r.contains("|W|R002|"), "{r}");
    let (_, doses) = export(&w, "r.db", "out");
    assert_eq!(rows(&doses), 2, "{doses}");
    assert!(doses.contains("NEWLOT") && !doses.contains("OLDLOT"), "{doses}");
    assert!(!doses.contains("2021-01-20"), "{doses}");
}

#[test]
fn a_killed_load_rerun_equals_a_clean_load() {
    let w = Workdir::new();
    let generate = w.run(&["generate", "--out-dir", ".", "--doses", "20000", "--seed", "7"]);
    assert_eq!(code(&generate), 0, "{}", String::from_utf8_lossy(&generate.stderr));
    let load = |db: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cairdx"));
        command
            .args(["load", "--db", db, "--client", "GENERATED_CLIENT.txt"])
            .args(["--immunizations", "GENERATED_IMMUN.txt", "--timestamp", TS])
            .current_dir(w.path(""))
            .env_remove("CAIRDX_SPECS")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    };
    let want = assert_killed_runs_converge(&w, load);
    assert!(rows(&want.1) > 10_000);
}

#[test]
fn an_immunization_file_out_of_client_order_loads_once() {
    let specs = specs();
    let w = Workdir::new();
    // More patients than one batch, so the streaming pass stores some before it meets the
    // out-of-order record; its savepoint must roll them back before the indexed pass.
    let ids: Vec<String> = (0..5000).map(|i| format!("P{i:05}")).collect();
    let clients: Vec<String> = ids
        .iter()
        .map(|id| {
            // Distinct first names (letters only): same names would merge by demographics.
            let first: String = id[1..].bytes().map(|d| char::from(b'A' + d - b'0')).collect();
            crate::util::client_line(&specs, id, &first, "RIVERA", "01152020")
        })
        .collect();
    let mut doses: Vec<String> =
        ids.iter().map(|id| dose_line(&specs, id, "03152020", "20")).collect();
    let first = doses.remove(0);
    doses.push(first);
    let (out, r) = load_pair(&w, "F1", &clients, &doses);
    assert_eq!(code(&out), 0, "{r}");
    assert_eq!((count(&r, "Patients added"), count(&r, "Patients merged")), (5000, 0), "{r}");
    assert_eq!((count(&r, "Doses added"), count(&r, "Doses duplicate")), (5000, 0), "{r}");
}
