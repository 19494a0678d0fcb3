//! `cairdx convert` and `cairdx check` end to end.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::util::*;
use cairdx::convert::ConvertJob;
use cairdx::spec::{ClientField, ImmField};
use cairdx::validate::SiteRole;

const CLOCK: &str = "2026-01-15T08:00:00-08:00";

fn convert(wd: &Workdir, client: &str, imm: Option<&str>, extra: &[&str]) -> std::process::Output {
    let mut args =
        vec!["convert", "--client", client, "--out", "out.hl7", "--site-id", "DE-000123"];
    args.extend(["--timestamp", CLOCK]);
    if let Some(imm) = imm {
        args.extend(["--immunizations", imm]);
    }
    args.extend(extra);
    wd.run(&args)
}

/// The showcase pair in sample_data/ converts byte for byte to the golden outputs.
#[test]
fn sample_data_converts_to_golden_files() {
    let wd = Workdir::new();
    let sample = repo().join("sample_data");
    let client = sample.join("SAMPLE_CLIENT.txt");
    let imm = sample.join("SAMPLE_IMMUN.txt");
    let out = convert(&wd, client.to_str().unwrap(), Some(imm.to_str().unwrap()), &[]);
    assert_eq!(code(&out), 1, "the sample has bad lines: {}", String::from_utf8_lossy(&out.stderr));
    golden("convert/sample.hl7", &wd.read("out.hl7"));
    golden("convert/sample_RESPONSE.txt", &wd.read("out_RESPONSE.txt"));
    golden("convert/sample_REJECTS_CLIENT.txt", &wd.read("out_REJECTS_CLIENT.txt"));
    golden("convert/sample_REJECTS_IMMUN.txt", &wd.read("out_REJECTS_IMMUN.txt"));
    check_vxu_batch(&wd.read("out.hl7"));
    let response = String::from_utf8(wd.read("out_RESPONSE.txt")).unwrap();
    assert_totals_add_up(&response);
    // The SSN in the sample never leaves the input.
    let ssn = ssn_of_sample();
    for name in ["out.hl7", "out_RESPONSE.txt"] {
        assert!(!String::from_utf8_lossy(&wd.read(name)).contains(&ssn), "SSN in {name}");
    }
}

fn ssn_of_sample() -> String {
    let specs = specs();
    let def = specs.layouts["cair1"].client.fields[ClientField::Ssn as usize].clone().unwrap();
    let bytes = std::fs::read(repo().join("sample_data/SAMPLE_CLIENT.txt")).unwrap();
    let text = encoding_rs::WINDOWS_1252.decode(&bytes).0.into_owned();
    text.lines()
        .filter_map(|l| l.get(def.start..def.end).map(str::trim))
        .find(|s| s.len() == 9)
        .expect("the sample has an SSN")
        .to_owned()
}

/// The summary rows satisfy read = converted + rejected.
fn assert_totals_add_up(response: &str) {
    for line in response.lines().filter(|l| l.ends_with(char::is_numeric) && l.contains("records"))
    {
        let n: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        assert_eq!(n.len(), 4, "{line}");
        assert_eq!(n[0], n[1] + n[3], "read = converted + rejected: {line}");
        assert!(n[2] <= n[1], "{line}");
    }
}

/// Checks a VXU batch against formats.md §2 with an independent reading of the output.
fn check_vxu_batch(bytes: &[u8]) {
    let segs = segments(bytes);
    assert!(segs[0].starts_with("FHS|^~\\&|"), "{}", segs[0]);
    assert!(segs[1].starts_with("BHS|^~\\&|"));
    let messages: Vec<&[String]> = {
        let starts: Vec<usize> = segs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.starts_with("MSH|"))
            .map(|(i, _)| i)
            .collect();
        let end = segs.iter().position(|s| s.starts_with("BTS|")).expect("BTS");
        starts
            .iter()
            .enumerate()
            .map(|(k, &i)| &segs[i..*starts.get(k + 1).unwrap_or(&end)])
            .collect()
    };
    assert_eq!(segs[segs.len() - 2], format!("BTS|{}", messages.len()));
    assert_eq!(segs[segs.len() - 1], "FTS|1");
    let mut control_ids = std::collections::HashSet::new();
    for msg in &messages {
        let fields = |seg: &str| seg.split('|').map(str::to_owned).collect::<Vec<_>>();
        let msh = fields(&msg[0]);
        assert_eq!(msh[8], "VXU^V04^VXU_V04");
        assert_eq!(msh[10], "P");
        assert_eq!(msh[11], "2.5.1");
        assert_eq!(msh[20], "Z22^CDCPHINVS");
        assert_eq!(msh[21], "DE-000123", "MSH-22 is the site id in role 1");
        assert_eq!(msh[3], "DE-000123", "MSH-4 is the site id in role 1");
        assert!(
            msh[6].len() == 19 && (msh[6].contains('-') || msh[6].contains('+')),
            "MSH-7 {}",
            msh[6]
        );
        assert!(control_ids.insert(msh[9].clone()), "MSH-10 unique");
        // Segment order: MSH PID [PD1] [NK1] {ORC RXA [RXR] [OBX...]}
        let names: Vec<&str> = msg.iter().map(|s| &s[..3]).collect();
        let order = names.iter().map(|n| match *n {
            "MSH" => 0,
            "PID" => 1,
            "PD1" => 2,
            "NK1" => 3,
            _ => 4,
        });
        assert!(order.clone().zip(order.skip(1)).all(|(a, b)| a <= b), "{names:?}");
        assert_eq!(names[1], "PID");
        let pid = fields(&msg[1]);
        let id = pid[3].split('~').next().unwrap_or_default();
        assert!(id.ends_with("^MR") || id.ends_with("^PI"), "PID-3 {}", pid[3]);
        let name: Vec<&str> = pid[5].split('^').collect();
        assert_eq!(name.get(6), Some(&"L"), "PID-5.7 legal name");
        for part in &name[..3] {
            assert!(part.bytes().all(|b| b.is_ascii_uppercase()), "PID-5 A-Z only: {}", pid[5]);
        }
        assert_eq!(pid[7].len(), 8, "PID-7 YYYYMMDD");
        let pd1 = fields(msg.iter().find(|s| s.starts_with("PD1")).expect("PD1"));
        assert!(pd1[12] == "Y" || pd1[12] == "N", "PD1-12");
        assert_eq!(pd1[13].len(), 8, "PD1-13 date with PD1-12");
        // Order groups.
        let mut i = 0;
        while i < msg.len() {
            if !msg[i].starts_with("ORC") {
                i += 1;
                continue;
            }
            assert!(msg[i + 1].starts_with("RXA|0|1|"), "RXA follows ORC: {}", msg[i + 1]);
            let rxa = fields(&msg[i + 1]);
            let group_end = msg[i + 2..]
                .iter()
                .position(|s| s.starts_with("ORC"))
                .map_or(msg.len(), |p| i + 2 + p);
            let group = &msg[i..group_end];
            let rxa9 = rxa.get(9).cloned().unwrap_or_default();
            let completion = rxa[20].as_str();
            match completion {
                "CP" | "PA" => assert!(rxa9.ends_with("^NIP001"), "RXA-9 NIP001 when CP/PA"),
                _ => assert!(rxa9.is_empty(), "RXA-9 empty when not CP/PA"),
            }
            if rxa9.starts_with("00^") {
                assert!(!rxa[15].is_empty(), "lot on administered dose");
                assert!(rxa[17].ends_with("^MVX"), "MVX on administered dose");
                assert!(
                    group.iter().any(|s| s.contains("|64994-7^") && s.contains("VXC40")),
                    "VFC eligibility OBX on administered dose: {group:?}"
                );
            } else {
                assert!(
                    !group.iter().any(|s| s.contains("|64994-7^")),
                    "no eligibility OBX on historical"
                );
                if rxa[6] == "999" {
                    assert!(rxa.get(7).is_none_or(|u| u.is_empty()), "no units with 999");
                }
            }
            if rxa[18].is_empty() {
                assert_ne!(completion, "RE");
            } else {
                assert_eq!(completion, "RE", "RXA-18 refusal means RXA-20 RE");
            }
            assert!(["A", "U", "D"].contains(&rxa[21].as_str()), "RXA-21 {}", rxa[21]);
            let obx_ids: Vec<String> = group
                .iter()
                .filter(|s| s.starts_with("OBX"))
                .map(|s| fields(s)[1].clone())
                .collect();
            let expected: Vec<String> = (1..=obx_ids.len()).map(|n| n.to_string()).collect();
            assert_eq!(obx_ids, expected, "OBX-1 sequential");
            i = group_end;
        }
    }
}

fn fixture(wd: &Workdir) -> (Vec<String>, Vec<String>) {
    let specs = specs();
    let clients = vec![
        client_line(&specs, "P1", "José", "Peña", "01022020"),
        client_line(&specs, "P2", "Ann", "Lee", "02302015"),
        client_line(&specs, "P3", "Bo", "Lee", "03032018"),
    ];
    let doses = vec![
        dose_line(&specs, "P1", "03022020", "20"),
        dose_line(&specs, "P1", "05022020", "08"),
        dose_line(&specs, "P2", "05022020", "20"),
        dose_line(&specs, "NOBODY", "05022020", "20"),
        dose_line(&specs, "P3", "05022020", "989"),
        dose_line(&specs, "P3", "05022019", "08"),
    ];
    wd.write("C.txt", &cp1252(&clients));
    wd.write("I.txt", &cp1252(&doses));
    (clients, doses)
}

#[test]
fn rejects_keep_original_bytes_and_totals_add_up() {
    let wd = Workdir::new();
    let (clients, doses) = fixture(&wd);
    let out = convert(&wd, "C.txt", Some("I.txt"), &[]);
    assert_eq!(code(&out), 1);
    assert_eq!(wd.read("out_REJECTS_CLIENT.txt"), cp1252(&clients[1..2]));
    assert_eq!(
        wd.read("out_REJECTS_IMMUN.txt"),
        cp1252(&[doses[2].clone(), doses[3].clone(), doses[4].clone()])
    );
    let response = String::from_utf8(wd.read("out_RESPONSE.txt")).unwrap();
    assert_totals_add_up(&response);
    assert!(response.contains("C.txt|2|P2|birth_date|E|F011|"), "{response}");
    assert!(response.contains("I.txt|4|NOBODY|record_id|E|L002|"), "{response}");
    assert!(
        response.contains("I.txt|5|P3|cvx|E|V002|CVX code 989 is not recognized"),
        "{response}"
    );
    check_vxu_batch(&wd.read("out.hl7"));
    assert!(!wd.path("out.hl7.part").exists());
}

#[test]
fn immunizations_out_of_client_order_link_the_same() {
    let wd = Workdir::new();
    let (_, doses) = fixture(&wd);
    assert_eq!(code(&convert(&wd, "C.txt", Some("I.txt"), &[])), 1);
    let ordered = wd.read("out.hl7");
    let shuffled = [4, 0, 3, 2, 5, 1].map(|i| doses[i].clone());
    wd.write("I.txt", &cp1252(&shuffled));
    assert_eq!(code(&convert(&wd, "C.txt", Some("I.txt"), &[])), 1);
    assert_eq!(String::from_utf8(wd.read("out.hl7")).unwrap(), String::from_utf8(ordered).unwrap());
}

#[test]
fn bom_marked_utf8_and_utf16_read_like_windows_1252() {
    let wd = Workdir::new();
    let (clients, doses) = fixture(&wd);
    assert_eq!(code(&convert(&wd, "C.txt", Some("I.txt"), &[])), 1);
    let expected = wd.read("out.hl7");
    let text = |lines: &[String]| lines.iter().map(|l| format!("{l}\r\n")).collect::<String>();
    let mut utf8 = b"\xEF\xBB\xBF".to_vec();
    utf8.extend_from_slice(text(&clients).as_bytes());
    wd.write("C.txt", &utf8);
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in text(&doses).encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    wd.write("I.txt", &utf16);
    assert_eq!(code(&convert(&wd, "C.txt", Some("I.txt"), &[])), 1);
    assert_eq!(wd.read("out.hl7"), expected);
    // Rejects are written back in the file's own encoding, BOM first.
    assert!(wd.read("out_REJECTS_IMMUN.txt").starts_with(&[0xFF, 0xFE]));
}

#[test]
fn delimited_layout_converts_like_fixed_width() {
    let wd = Workdir::new();
    let specs = specs();
    let lay = &specs.layouts["cair1-pipe"];
    let mut client = vec![""; lay.client.columns];
    client[ClientField::RecordId as usize] = "P1";
    client[ClientField::FirstName as usize] = "Ann";
    client[ClientField::LastName as usize] = "Lee";
    client[ClientField::BirthDate as usize] = "01022020";
    client[ClientField::Sex as usize] = "F";
    client[ClientField::ChartNumber as usize] = "MRN-P1";
    client[ClientField::SiteId as usize] = "DE-000123";
    let mut dose = vec![""; lay.immunization.columns];
    dose[ImmField::RecordId as usize] = "P1";
    dose[ImmField::VaccinationDate as usize] = "03022020";
    dose[ImmField::Cvx as usize] = "20";
    let header: Vec<&str> = ClientField::ALL.iter().map(|f| f.name()).collect();
    wd.write("C.txt", &cp1252(&[header.join("|"), client.join("|")]));
    wd.write("I.txt", &cp1252(&[dose.join("|")]));
    assert_eq!(code(&convert(&wd, "C.txt", Some("I.txt"), &["--layout", "cair1-pipe"])), 0);
    let delimited = wd.read("out.hl7");
    wd.write("C.txt", &cp1252(&[client_line(&specs, "P1", "Ann", "Lee", "01022020")]));
    wd.write("I.txt", &cp1252(&[dose_line(&specs, "P1", "03022020", "20")]));
    assert_eq!(code(&convert(&wd, "C.txt", Some("I.txt"), &[])), 0);
    assert_eq!(
        String::from_utf8(delimited).unwrap(),
        String::from_utf8(wd.read("out.hl7")).unwrap()
    );
}

#[test]
fn one_message_per_file() {
    let wd = Workdir::new();
    fixture(&wd);
    assert_eq!(code(&convert(&wd, "C.txt", Some("I.txt"), &["--one-per-file"])), 1);
    let first = segments(&wd.read("out_000001.hl7"));
    assert!(first[0].starts_with("MSH|"));
    assert!(wd.path("out_000003.hl7").exists());
    assert!(!wd.path("out_000002.hl7").exists(), "client 2 was rejected");
    assert!(!wd.path("out.hl7").exists());
}

#[test]
fn site_roles_fill_msh4_msh22_and_rxa11() {
    let wd = Workdir::new();
    let specs = specs();
    let client = LineBuilder::new(&specs.layouts["cair1"].client)
        .client(ClientField::RecordId, "P1")
        .client(ClientField::FirstName, "Ann")
        .client(ClientField::LastName, "Lee")
        .client(ClientField::BirthDate, "01022020")
        .client(ClientField::SiteId, "DE-000777")
        .line();
    let dose = LineBuilder::new(&specs.layouts["cair1"].immunization)
        .imm(ImmField::RecordId, "P1")
        .imm(ImmField::VaccinationDate, "03022020")
        .imm(ImmField::Cvx, "20")
        .imm(ImmField::Mvx, "PMC")
        .imm(ImmField::LotNumber, "LOT1")
        .imm(ImmField::Historical, "N")
        .imm(ImmField::VfcEligibility, "V01")
        .line();
    wd.write("C.txt", &cp1252(&[client]));
    wd.write("I.txt", &cp1252(&[dose]));
    let msh = |wd: &Workdir| {
        let segs = segments(&wd.read("out.hl7"));
        let msh: Vec<String> = segs[2].split('|').map(str::to_owned).collect();
        let rxa = segs
            .iter()
            .find(|s| s.starts_with("RXA"))
            .unwrap()
            .split('|')
            .nth(11)
            .unwrap()
            .to_owned();
        (msh[3].clone(), msh[21].clone(), rxa)
    };
    assert_eq!(
        code(&convert(&wd, "C.txt", Some("I.txt"), &["--role", "2", "--sending-facility", "SF-1"])),
        0
    );
    assert_eq!(msh(&wd), ("SF-1".into(), "DE-000123".into(), "^^^DE-000123".into()));
    assert_eq!(
        code(&convert(&wd, "C.txt", Some("I.txt"), &["--role", "3", "--sending-facility", "SF-1"])),
        0
    );
    assert_eq!(msh(&wd), ("SF-1".into(), "DE-000777".into(), "^^^DE-000777".into()));
    let out = convert(&wd, "C.txt", Some("I.txt"), &["--role", "2"]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sending-facility"));
}

#[test]
fn jobs_that_cannot_run_exit_2_with_one_line() {
    let wd = Workdir::new();
    fixture(&wd);
    for (args, needle) in [
        (vec!["--layout", "nope"], "unknown layout"),
        (vec!["--encoding", "klingon"], "unknown encoding"),
    ] {
        let out = convert(&wd, "C.txt", Some("I.txt"), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(&out), 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let out = wd.run(&[
        "convert",
        "--client",
        "C.txt",
        "--out",
        "o.hl7",
        "--site-id",
        "S",
        "--timestamp",
        "noon",
    ]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--timestamp"));
    let out = convert(&wd, "missing.txt", None, &[]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.txt"));
    assert!(!wd.path("out.hl7").exists() && !wd.path("out.hl7.part").exists());
}

#[test]
fn clean_input_exits_0_and_demographics_only_works() {
    let wd = Workdir::new();
    let specs = specs();
    wd.write("C.txt", &cp1252(&[client_line(&specs, "P1", "Ann", "Lee", "01022020")]));
    assert_eq!(code(&convert(&wd, "C.txt", None, &[])), 0);
    let segs = segments(&wd.read("out.hl7"));
    assert!(segs.iter().any(|s| s.starts_with("PID")));
    assert!(!segs.iter().any(|s| s.starts_with("RXA")));
    assert!(!wd.path("out_REJECTS_CLIENT.txt").exists(), "no reject file without rejects");
}

#[test]
fn check_reports_every_spec_mistake_at_once() {
    let wd = Workdir::new();
    let specs_dir = wd.path("specs");
    copy_dir(&repo().join("specs"), &specs_dir);
    let rules = std::fs::read_to_string(specs_dir.join("rules.toml")).unwrap();
    std::fs::write(
        specs_dir.join("rules.toml"),
        rules.replacen("severity = \"E\"", "severity = \"X\"", 1),
    )
    .unwrap();
    let layout = std::fs::read_to_string(specs_dir.join("layouts/cair1.toml")).unwrap();
    std::fs::write(
        specs_dir.join("layouts/cair1.toml"),
        layout.replacen("end = 24", "end = 26", 1),
    )
    .unwrap();
    let out = wd.run(&["--specs", specs_dir.to_str().unwrap(), "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 2, "{stderr}");
    assert!(stderr.contains("rules.toml: rule[0] (F001).severity"), "{stderr}");
    assert!(stderr.contains("layouts/cair1.toml: client.field[1]"), "{stderr}");
    let out = wd.run(&["check"]);
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Arbitrary bytes as either file never panic, and every record is accounted for.
    #[test]
    fn arbitrary_bytes_never_panic_and_totals_add_up(
        client in proptest::collection::vec(any::<u8>(), 0..3000),
        imm in proptest::collection::vec(any::<u8>(), 0..3000),
        seed_lines in proptest::collection::vec(0usize..3, 0..4),
    ) {
        let wd = Workdir::new();
        let specs = specs();
        // Mix valid lines in so that linking and rendering run too.
        let mut client = client;
        let mut imm = imm;
        for (i, _) in seed_lines.iter().enumerate() {
            client.extend(cp1252(&[client_line(&specs, &format!("S{i}"), "Ana", "Ruiz", "01022020")]));
            imm.extend(cp1252(&[dose_line(&specs, &format!("S{i}"), "03022020", "20")]));
        }
        let client_path = wd.write("C.txt", &client);
        let imm_path = wd.write("I.txt", &imm);
        let job = ConvertJob {
            specs: &specs,
            layout: &specs.layouts["cair1"],
            client: client_path,
            immunizations: Some(imm_path),
            out: wd.path("out.hl7"),
            role: SiteRole::Direct { site_id: "DE-000123".into() },
            encoding: "windows-1252".into(),
            one_per_file: false,
            clock: chrono::DateTime::parse_from_rfc3339(CLOCK).unwrap(),
        };
        let report = job.run().unwrap();
        // A record is every LF-terminated line, plus an unterminated last one.
        let lines = |b: &[u8]| {
            let terminated = b.iter().filter(|&&c| c == b'\n').count() as u64;
            terminated + u64::from(b.last().is_some_and(|&c| c != b'\n'))
        };
        prop_assert_eq!(report.clients.read, lines(&client));
        prop_assert_eq!(report.immunizations.read, lines(&imm));
        prop_assert_eq!(report.clients.read, report.clients.converted + report.clients.rejected);
        prop_assert_eq!(report.immunizations.read, report.immunizations.converted + report.immunizations.rejected);
        let mut rejected = BTreeMap::new();
        for (name, count) in [("out_REJECTS_CLIENT.txt", report.clients.rejected), ("out_REJECTS_IMMUN.txt", report.immunizations.rejected)] {
            let bytes = std::fs::read(wd.path(name)).unwrap_or_default();
            rejected.insert(name, (lines(&bytes), count));
        }
        for (name, (found, count)) in rejected {
            prop_assert!(found >= count.min(1), "{} has {} lines for {} rejects", name, found, count);
        }
    }
}

/// What `convert` writes, `validate` (the IIS-side checks) accepts with no error.
#[test]
fn converted_sample_passes_intake_validation() {
    let wd = Workdir::new();
    let sample = repo().join("sample_data");
    let client = sample.join("SAMPLE_CLIENT.txt");
    let imm = sample.join("SAMPLE_IMMUN.txt");
    convert(&wd, client.to_str().unwrap(), Some(imm.to_str().unwrap()), &[]);
    let out = wd.run(&[
        "validate",
        "--profile",
        "cdc",
        "out.hl7",
        "--acks",
        "acks",
        "--timestamp",
        CLOCK,
    ]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let acks = String::from_utf8(wd.read("acks/out.ack.hl7")).unwrap();
    assert_eq!(acks.matches("MSA|AA|").count(), 10, "{acks}");
    assert!(!acks.split('\r').any(|seg| seg.starts_with("ERR") && seg.contains("|E|")), "{acks}");
}
