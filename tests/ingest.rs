//! `cairdx ingest`: VXU messages into a real SQLite registry in a temp dir, checked through
//! `cairdx registry export` and `cairdx status` (reference messages stored or not by their
//! ACK, exactly once, Check Status by MSH-10, and load ≡ convert + ingest).

use std::path::PathBuf;

use crate::util::{assert_killed_runs_converge, code, export, repo, rows, Workdir};

const TS: &str = "2026-01-15T08:00:00-08:00";

/// The reference VXUs (ACK examples are outputs, not inputs), copied into `w`.
fn reference_vxus(w: &Workdir) -> Vec<String> {
    let root = repo().join("../shared/reference/messages");
    let mut names = Vec::new();
    for dir in ["nist-mu2-2014", "cdc-ig-1.5-examples", "cdc-iis-open-tools"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("../shared/reference") {
            let path: PathBuf = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".hl7") && !name.contains("_ACK_") {
                w.write(&name, &std::fs::read(&path).unwrap());
                names.push(name);
            }
        }
    }
    names.sort();
    names
}

fn ingest(w: &Workdir, db: &str, files: &[String]) -> std::process::Output {
    let mut args = vec!["ingest", "--db", db, "--acks", "acks", "--timestamp", TS];
    args.extend(files.iter().map(String::as_str));
    let out = w.run(&args);
    assert!(code(&out) < 2, "{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// (MSH-10, MSA-1) of every ACK in an ACK file.
fn acks(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    text.split('\r')
        .filter_map(|s| s.strip_prefix("MSA|"))
        .map(|msa| {
            let f: Vec<&str> = msa.split('|').collect();
            (f.get(1).copied().unwrap_or_default().to_owned(), f[0].to_owned())
        })
        .collect()
}

#[test]
fn reference_messages_are_stored_unless_rejected_and_twice_changes_nothing() {
    let w = Workdir::new();
    let files = reference_vxus(&w);
    let first = ingest(&w, "r.db", &files);
    let stderr = String::from_utf8_lossy(&first.stderr).into_owned();
    // The ACKs are those of `cairdx validate`, byte for byte.
    let mut validate = vec!["validate", "--acks", "v", "--timestamp", TS];
    validate.extend(files.iter().map(String::as_str));
    assert!(code(&w.run(&validate)) < 2);
    let mut answered = Vec::new();
    for name in &files {
        let stem = name.trim_end_matches(".hl7");
        let ack = w.read(&format!("acks/{stem}.ack.hl7"));
        assert_eq!(ack, w.read(&format!("v/{stem}.ack.hl7")), "{name}");
        answered.extend(acks(&ack));
    }

    // Each message is recorded with its ACK code; an AR is never stored. Messages with an
    // error finding (testerror.hl7) are answered AE and not stored either.
    let (mut stored, mut not_stored) = (0, 0);
    for (msh10, ack_code) in answered.iter().filter(|(id, _)| !id.is_empty()) {
        let out = w.run(&["status", "--db", "r.db", "--msh10", msh10]);
        assert_eq!(code(&out), 0, "{msh10}: {}", String::from_utf8_lossy(&out.stderr));
        let shown = String::from_utf8(out.stdout).unwrap();
        let outcome = shown.lines().nth(1).unwrap();
        assert!(outcome.starts_with(&format!("Outcome: {ack_code}, ")), "{shown}");
        if ack_code == "AR" {
            assert!(outcome.ends_with(", not stored"), "{shown}");
        }
        if outcome.ends_with(", stored") {
            stored += 1;
        } else {
            not_stored += 1;
        }
    }
    assert!(stored > 0 && not_stored > 0, "{stored} stored, {not_stored} not: {stderr}");
    // Stored messages about the same person (the adult COVID examples) merge into one.
    let (patients, doses) = export(&w, "r.db", "one");
    assert!((1..=stored).contains(&rows(&patients)), "{stored}: {patients}");
    assert!(rows(&doses) > 0);
    assert!(doses.lines().skip(1).all(|l| l.contains(",vxu,")), "{doses}");

    // The same files again: same ACKs, nothing stored, the ledger names the first run.
    let before: Vec<Vec<u8>> = files
        .iter()
        .map(|n| w.read(&format!("acks/{}.ack.hl7", n.trim_end_matches(".hl7"))))
        .collect();
    let second = ingest(&w, "r.db", &files);
    assert_eq!(code(&second), code(&first));
    assert!(String::from_utf8_lossy(&second.stderr).contains("already ingested"));
    for (name, ack) in files.iter().zip(before) {
        assert_eq!(w.read(&format!("acks/{}.ack.hl7", name.trim_end_matches(".hl7"))), ack);
    }
    assert_eq!(export(&w, "r.db", "two"), (patients, doses));
}

#[test]
fn status_by_msh10_shows_message_and_ack() {
    let w = Workdir::new();
    let files = reference_vxus(&w);
    let name = files.iter().find(|n| n.starts_with("IZ_1_1")).unwrap().clone();
    ingest(&w, "r.db", std::slice::from_ref(&name));
    let stem = name.trim_end_matches(".hl7");
    let ack = String::from_utf8(w.read(&format!("acks/{stem}.ack.hl7"))).unwrap();
    let (msh10, ack_code) = acks(ack.as_bytes()).remove(0);
    let out = w.run(&["status", "--db", "r.db", "--msh10", &msh10]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(shown.starts_with(&format!("MSH-10: {msh10}\nOutcome: {ack_code}, stored\n")));
    // Both the message and the ACK, one segment per line.
    let inbound = String::from_utf8(w.read(&name)).unwrap();
    for segment in inbound.split(['\r', '\n']).filter(|s| !s.is_empty()) {
        assert!(shown.lines().any(|l| l == segment), "{segment:?} not in\n{shown}");
    }
    for segment in ack.split('\r').filter(|s| !s.is_empty()) {
        assert!(shown.lines().any(|l| l == segment), "{segment:?} not in\n{shown}");
    }
    let missing = w.run(&["status", "--db", "r.db", "--msh10", "NO-SUCH-ID"]);
    assert_eq!(code(&missing), 2);
}

/// Drops the `source` column of doses.csv (`flat-file` against `vxu`: where each came
/// from, which is the point), and blanks `administered` where the VXU side left it blank:
/// a VXU refusal (RXA-20 RE) carries no RXA-9, so the message cannot say what the flat
/// file's administered flag said. Everything else is compared as exported, registry ids
/// and dose ids included: both runs add the same patients and doses in the same order.
fn normalize_doses(load: &str, vxu: &str) -> (Vec<String>, Vec<String>) {
    let header: Vec<&str> = load.lines().next().unwrap().split(',').collect();
    let source = header.iter().position(|c| *c == "source").unwrap();
    let administered = header.iter().position(|c| *c == "administered").unwrap();
    let split = |l: &str| l.split(',').map(str::to_owned).collect::<Vec<_>>();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    assert_eq!(load.lines().count(), vxu.lines().count(), "{load}\n{vxu}");
    for (la, lb) in load.lines().zip(vxu.lines()) {
        let (mut fa, mut fb) = (split(la), split(lb));
        if fb[administered].is_empty() {
            fa[administered].clear();
        }
        fa.remove(source);
        fb.remove(source);
        a.push(fa.join(","));
        b.push(fb.join(","));
    }
    (a, b)
}

#[test]
fn load_equals_convert_then_ingest() {
    let w = Workdir::new();
    for name in ["SAMPLE_CLIENT.txt", "SAMPLE_IMMUN.txt"] {
        w.write(name, &std::fs::read(repo().join("sample_data").join(name)).unwrap());
    }
    let pair = ["--client", "SAMPLE_CLIENT.txt", "--immunizations", "SAMPLE_IMMUN.txt"];
    let mut load = vec!["load", "--db", "load.db", "--timestamp", TS];
    load.extend(pair);
    assert_eq!(code(&w.run(&load)), 1, "the sample has rejects");
    let mut convert =
        vec!["convert", "--out", "sample.hl7", "--site-id", "DE-000123", "--timestamp", TS];
    convert.extend(pair);
    assert_eq!(code(&w.run(&convert)), 1, "the same rejects");
    ingest(&w, "vxu.db", &["sample.hl7".to_owned()]);

    let (load_patients, load_doses) = export(&w, "load.db", "load");
    let (vxu_patients, vxu_doses) = export(&w, "vxu.db", "vxu");
    assert!(rows(&load_patients) > 0 && rows(&load_doses) > 0);
    // Patients: every column, as exported.
    assert_eq!(load_patients, vxu_patients);
    let (a, b) = normalize_doses(&load_doses, &vxu_doses);
    assert_eq!(a, b);
}

#[test]
fn vxu_doses_merge_map_ndc_and_delete_like_load() {
    let w = Workdir::new();
    let reference = repo().join("../shared/reference/messages/nist-mu2-2014");
    let base = String::from_utf8(
        std::fs::read(reference.join("IZ_1_1_Administered_for_Child.hl7")).unwrap(),
    )
    .unwrap();
    let ndc_table = std::fs::read_to_string(repo().join("specs/codesets/cdc/ndc_cvx.csv")).unwrap();
    let ndc = ndc_table.lines().find(|l| l.contains(",140,")).unwrap().split(',').next().unwrap();
    let flu = "140^Influenza, seasonal, injectable, preservative free^CVX";
    // The same child a month later, the vaccine sent as an NDC only.
    let by_ndc = base
        .replace("NIST-IZ-001.00", "NIST-IZ-001.01")
        .replace(flu, &format!("{ndc}^Flu^NDC"))
        .replace("20120814", "20120914");
    // The first dose again, as a delete (RXA-21 D).
    let delete = base.replace("NIST-IZ-001.00", "NIST-IZ-001.02").replace("|CP|A", "|CP|D");
    w.write("a.hl7", base.as_bytes());
    w.write("b.hl7", by_ndc.as_bytes());
    w.write("c.hl7", delete.as_bytes());

    ingest(&w, "r.db", &["a.hl7".to_owned(), "b.hl7".to_owned()]);
    let (patients, doses) = export(&w, "r.db", "ab");
    assert_eq!(rows(&patients), 1, "merged by chart number: {patients}");
    let got: Vec<&str> = doses.lines().skip(1).collect();
    assert_eq!(got.len(), 2, "{doses}");
    assert!(got[0].starts_with("1,2012-08-14,140,,,CSL,Z0860BB,Y,X68,vxu"), "{doses}");
    assert!(got[1].starts_with(&format!("1,2012-09-14,140,,{ndc},")), "{doses}");

    ingest(&w, "r.db", &["c.hl7".to_owned()]);
    let (_, doses) = export(&w, "r.db", "c");
    let got: Vec<&str> = doses.lines().skip(1).collect();
    assert_eq!(got.len(), 1, "{doses}");
    assert!(got[0].starts_with("1,2012-09-14,140,"), "{doses}");
}

/// An ingest killed at any point and run again stores exactly what one clean run does.
#[test]
fn a_killed_ingest_rerun_equals_a_clean_ingest() {
    let w = Workdir::new();
    let generate = w.run(&["generate", "--out-dir", ".", "--doses", "20000", "--seed", "7"]);
    assert_eq!(code(&generate), 0, "{}", String::from_utf8_lossy(&generate.stderr));
    let convert = w.run(&[
        "convert",
        "--client",
        "GENERATED_CLIENT.txt",
        "--immunizations",
        "GENERATED_IMMUN.txt",
        "--out",
        "GENERATED.hl7",
        "--site-id",
        "DE-000123",
        "--timestamp",
        TS,
    ]);
    assert!(code(&convert) < 2, "{}", String::from_utf8_lossy(&convert.stderr));
    let ingest = |db: &str| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cairdx"));
        command
            .args(["ingest", "--db", db, "--acks", "acks", "--profile", "cdc", "--timestamp", TS])
            .arg("GENERATED.hl7")
            .current_dir(w.path(""))
            .env_remove("CAIRDX_SPECS")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command
    };
    let want = assert_killed_runs_converge(&w, ingest);
    assert!(rows(&want.1) > 10_000, "the clean run stored the doses");
}
