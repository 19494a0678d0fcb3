//! VXU intake end to end: golden ACKs for the reference messages, one mutation per
//! ERROR rule, parser and validator robustness on arbitrary bytes, `cairdx validate`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use cairdx::hl7::ack::{AckProfile, AckWriter};
use cairdx::hl7::parse;
use cairdx::intake::{process, Summary, Validator};
use cairdx::spec::{SpecFiles, SpecSet};
use chrono::{DateTime, FixedOffset};
use proptest::prelude::*;

const CLOCK: &str = "2026-01-15T08:00:00-08:00";

fn clock() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(CLOCK).expect("CLOCK is RFC 3339")
}

fn specs() -> &'static SpecSet {
    static SPECS: std::sync::OnceLock<SpecSet> = std::sync::OnceLock::new();
    SPECS.get_or_init(|| SpecSet::load(&SpecFiles::Embedded).expect("embedded specs compile"))
}

fn run(input: &[u8], profile: AckProfile) -> (Summary, String) {
    let validator = Validator::new(specs(), clock());
    let acks = AckWriter::new(profile, clock());
    let mut out = Vec::new();
    let summary = process(input, &validator, &acks, 1, &mut out);
    (summary, String::from_utf8(out).expect("ACKs are UTF-8"))
}

fn segments(ack: &str) -> Vec<&str> {
    ack.split('\r').filter(|s| !s.is_empty()).collect()
}

fn msa_codes(ack: &str) -> Vec<&str> {
    segments(ack).iter().filter_map(|s| s.strip_prefix("MSA|")).map(|s| &s[..2]).collect()
}

/// (location, ERR-3 code, severity, ERR-5 code, rule id) of every ERR.
fn errs(ack: &str) -> Vec<(String, String, String, String, String)> {
    segments(ack)
        .iter()
        .filter(|s| s.starts_with("ERR|"))
        .map(|s| {
            let f: Vec<&str> = s.split('|').collect();
            let comp = |i: usize, c: usize| {
                f.get(i).and_then(|v| v.split('^').nth(c)).unwrap_or_default().to_owned()
            };
            (f[2].to_owned(), comp(3, 0), f[4].to_owned(), comp(5, 0), comp(5, 3))
        })
        .collect()
}

fn reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/messages")
}

/// The reference VXU files (ACK examples are outputs, not inputs).
fn reference_vxus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["nist-mu2-2014", "cdc-ig-1.5-examples", "cdc-iis-open-tools"] {
        let entries = std::fs::read_dir(reference().join(dir)).expect("../shared/reference");
        for entry in entries {
            let path = entry.expect("directory entry").path();
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name.ends_with(".hl7") && !name.contains("_ACK_") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn golden_acks_for_reference_messages() {
    let bless = std::env::var_os("CAIRDX_BLESS").is_some();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/acks");
    let out = tempfile::tempdir().unwrap();
    for name in ["cair2", "cdc"] {
        let dir = out.path().join(name);
        let status = Command::new(env!("CARGO_BIN_EXE_cairdx"))
            .args(["validate", "--profile", name, "--timestamp", CLOCK, "--acks"])
            .arg(&dir)
            .args(reference_vxus())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(1), "the CDC error corpus is answered AE");
        for input in reference_vxus() {
            let file = format!("{}.ack.hl7", input.file_stem().unwrap().to_string_lossy());
            let actual = std::fs::read_to_string(dir.join(&file)).unwrap();
            let expected_path = golden.join(name).join(&file);
            if bless {
                std::fs::create_dir_all(expected_path.parent().unwrap()).unwrap();
                std::fs::copy(dir.join(&file), &expected_path).unwrap();
                continue;
            }
            let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|e| {
                panic!("{}: {e} (run with CAIRDX_BLESS=1)", expected_path.display())
            });
            assert_eq!(
                actual.replace('\r', "\n"),
                expected.replace('\r', "\n"),
                "{name}/{file} differs from its golden file (CAIRDX_BLESS=1 regenerates)"
            );
        }
    }
}

/// INDEX.csv: the NIST, IG and CDC COVID examples are AA per the CDC IG convention.
#[test]
fn index_expected_outcomes() {
    for input in reference_vxus() {
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&input).unwrap();
        let (_, cdc) = run(&bytes, AckProfile::Cdc);
        let (_, cair2) = run(&bytes, AckProfile::Cair2);
        if name.starts_with("IZ_") || name.starts_with("01_VXU") || name.starts_with("Adult_z22") {
            assert_eq!(msa_codes(&cdc), ["AA"], "{name}: {cdc}");
            assert!(errs(&cdc).iter().all(|e| e.2 != "E"), "{name}");
        }
        if name == "testerror.hl7" {
            // One message per broken rule: every one is answered AE.
            let codes = msa_codes(&cdc);
            assert_eq!(codes.len(), parse::split(&bytes).messages.len());
            assert!(codes.iter().all(|c| *c == "AE"), "{codes:?}");
        }
        if name.starts_with("IZ_6_1") {
            // CAIR answered this one AE in 2013; the cair2 profile does too (warnings).
            assert_eq!(msa_codes(&cair2), ["AE"]);
        }
    }
}

fn ig_example() -> String {
    let path = reference().join("cdc-ig-1.5-examples/01_VXU_IG_1.5_2018_update_example.hl7");
    std::fs::read_to_string(path).expect("IG example VXU")
}

fn has_err(ack: &str, loc: &str, err3: &str, sev: &str, err5: &str) -> bool {
    errs(ack).iter().any(|e| e.0 == loc && e.1 == err3 && e.2 == sev && e.3 == err5)
}

/// The CDC IG 1.5 example ACKs (03-08), reproduced by changing the IG example VXU.
#[test]
fn ig_example_acks() {
    let vxu = ig_example();
    // 03: unsupported version → AR, 203 at MSH^1^12.
    let (_, ack) = run(vxu.replacen("|2.5.1|", "|2.3|", 1).as_bytes(), AckProfile::Cdc);
    assert_eq!(msa_codes(&ack), ["AR"]);
    assert!(has_err(&ack, "MSH^1^12", "203", "E", "4"), "{ack}");
    // 04: patient name missing → AE, 101/7 at PID-5.
    let (_, ack) = run(vxu.replace("Patient^Johnny^New^^^^L", "").as_bytes(), AckProfile::Cdc);
    assert_eq!(msa_codes(&ack), ["AE"]);
    assert!(has_err(&ack, "PID^1^5^1^1", "101", "E", "7"), "{ack}");
    // 04 (second ERR): PID segment missing → 100 at PID.
    let no_pid: String =
        vxu.lines().filter(|l| !l.starts_with("PID")).map(|l| format!("{l}\r")).collect();
    let (_, ack) = run(no_pid.as_bytes(), AckProfile::Cdc);
    assert!(has_err(&ack, "PID", "100", "E", "7"), "{ack}");
    // 05: vaccine code not recognized → AE, 103/5 at RXA-5.
    let (_, ack) =
        run(vxu.replace("110^DTaP HIB IPV^CVX", "999999^X^CVX").as_bytes(), AckProfile::Cdc);
    assert_eq!(msa_codes(&ack), ["AE"]);
    assert!(has_err(&ack, "RXA^2^5^1^1", "103", "E", "5"), "{ack}");
    // 06: NK1-3 missing → AE, 101/7 at NK1-3.
    let (_, ack) = run(vxu.replace("MTH^Mom^HL70063", "").as_bytes(), AckProfile::Cdc);
    assert_eq!(msa_codes(&ack), ["AE"]);
    assert!(has_err(&ack, "NK1^1^3", "101", "E", "7"), "{ack}");
    // 07: PID-2 is not supported → warning only, still AA under the CDC convention.
    let (_, ack) = run(vxu.replace("PID|1||", "PID|1|XX1|").as_bytes(), AckProfile::Cdc);
    assert_eq!(msa_codes(&ack), ["AA"]);
    assert!(errs(&ack).iter().any(|e| e.0 == "PID^1^2" && e.2 == "W"), "{ack}");
    // 08: birth date after today → AE, illogical date (0533 1) at PID-7. The IG example
    // puts 101 in ERR-3; the catalogue says 102 (the value is there, it is wrong).
    let (_, ack) = run(vxu.replace("|20110411|", "|20990411|").as_bytes(), AckProfile::Cdc);
    assert_eq!(msa_codes(&ack), ["AE"]);
    assert!(has_err(&ack, "PID^1^7", "102", "E", "1"), "{ack}");
}

/// A message with no finding at all, under either profile.
const GOOD: &str = "MSH|^~\\&|EHR|FAC|IIS|CAIR2|20260110080000-0800||VXU^V04^VXU_V04|C1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r\
PID|1||123^^^FAC^MR||Doe^Jane^^^^^L||20200101|F\r\
NK1|1|Doe^Mary^^^^^L|MTH^Mother^HL70063\r\
ORC|RE||9^FAC\r\
RXA|0|1|20260105||08^HepB^CVX|0.5|mL^mL^UCUM||00^New^NIP001||||||L1|20270101|MSD^Merck^MVX|||CP|A\r\
RXR|C28161^IM^NCIT|LA^Left Arm^HL70163\r\
OBX|1|CE|64994-7^Elig^LN|1|V02^Medicaid^HL70064||||||F|||20260105\r\
OBX|2|CE|30963-3^Funding^LN|1|VXC1^Federal^CDCPHINVS||||||F|||20260105\r";

#[test]
fn good_message_has_no_findings() {
    for profile in [AckProfile::Cair2, AckProfile::Cdc] {
        let (summary, ack) = run(GOOD.as_bytes(), profile);
        assert_eq!(summary.accepted, 1, "{ack}");
        assert!(errs(&ack).is_empty(), "{ack}");
    }
}

/// One mutation of [`GOOD`] per ERROR rule: the ACK has exactly that rule as its only
/// error, at the expected location, and the expected MSA-1.
#[test]
fn each_error_rule_fires_alone() {
    let death = GOOD.replace("20200101|F", "20200101|F|||||||||||||||||||||20210101");
    #[rustfmt::skip]
    let cases: &[(&str, String, &str, &str)] = &[
        ("M001", GOOD.replace("MSH|^~\\&|", "MSH|^^\\&|"), "MSH^1", "AR"),
        ("M002", GOOD.replace("|C1|P|", "|C1|T|"), "MSH^1^11", "AR"),
        ("M003", GOOD.replace("VXU^V04^VXU_V04", "ADT^V04^VXU_V04"), "MSH^1^9^1^1", "AR"),
        ("M004", GOOD.replace("VXU^V04^VXU_V04", "VXU^A01^VXU_V04"), "MSH^1^9^1^2", "AR"),
        ("M005", GOOD.replace("|2.5.1|", "|2.3|"), "MSH^1^12", "AR"),
        ("M006", GOOD.replace("|20260110080000-0800|", "||"), "MSH^1^7", "AE"),
        ("M007", GOOD.replace("|20260110080000-0800|", "|20261310|"), "MSH^1^7", "AE"),
        ("M008", GOOD.replace("|20260110080000-0800|", "|20270110080000-0800|"), "MSH^1^7", "AE"),
        ("M010", GOOD.replace("|C1|", "||"), "MSH^1^10", "AE"),
        ("S001", GOOD.replace("ORC|RE||9^FAC\r", ""), "ORC", "AE"),
        ("P001", GOOD.replace("Doe^Jane^", "Doe^^"), "PID^1^5^1^2", "AE"),
        ("P002", GOOD.replace("Doe^Jane^", "^Jane^"), "PID^1^5^1^1", "AE"),
        ("P004", GOOD.replace("|20200101|F", "|20990101|F"), "PID^1^7", "AE"),
        ("P021", GOOD.replace("|20200101|F", "|18900101|F"), "PID^1^7", "AE"),
        ("P101", GOOD.replace("|123^^^FAC^MR|", "||"), "PID^1^3", "AE"),
        ("P102", GOOD.replace("123^^^FAC^MR", "123^^^FAC"), "PID^1^3^1^5", "AE"),
        ("P112", GOOD.replace("123^^^FAC^MR", "123^^^FAC^QQ"), "PID^1^3^1^5", "AE"),
        ("P103", GOOD.replace("|20200101|F", "||F"), "PID^1^7", "AE"),
        ("P104", GOOD.replace("|20200101|F", "|20201301|F"), "PID^1^7", "AE"),
        ("P111", GOOD.replace("|MTH^Mother^HL70063", "|"), "NK1^1^3", "AE"),
        ("V001", GOOD.replace("08^HepB^CVX", ""), "RXA^1^5", "AE"),
        ("V002", GOOD.replace("08^HepB^CVX", "0000^X^CVX"), "RXA^1^5^1^1", "AE"),
        ("V004", GOOD.replace("08^HepB^CVX", "00000-0000-00^X^NDC"), "RXA^1^5^1^1", "AE"),
        ("V006", GOOD.replace("|20260105||08", "|20260201||08"), "RXA^1^3", "AE"),
        ("V007", GOOD.replace("|20260105||08", "|20190105||08"), "RXA^1^3", "AE"),
        ("V008", death.replace("|20260105||08", "|20220105||08"), "RXA^1^3", "AE"),
        ("V009", GOOD.replace("|L1|", "||"), "RXA^1^15", "AE"),
        ("V010", GOOD.replace("MSD^Merck^MVX", ""), "RXA^1^17", "AE"),
        ("V013", GOOD.replace("64994-7^Elig^LN", "30956-7^Vaccine type^LN"), "RXA^1", "AE"),
        ("V022", GOOD.replace("|||CP|A", "|99^X^NIP002||RE|A"), "RXA^1^18", "AE"),
        ("V023", GOOD.replace("|CP|A", "|XX|A"), "RXA^1^20", "AE"),
        ("V024", GOOD.replace("|CP|A", "|CP|Q"), "RXA^1^21", "AE"),
        ("V101", GOOD.replace("08^HepB^CVX", "08^HepB^XYZ"), "RXA^1^5^1^3", "AE"),
        ("V102", GOOD.replace("|20260105||08", "|||08"), "RXA^1^3", "AE"),
        ("V103", GOOD.replace("|20260105||08", "|20261305||08"), "RXA^1^3", "AE"),
        ("V107", GOOD.replace("08^HepB^CVX", "115^Tdap^CVX").replace("MSD^Merck", "SKB^GSK"), "RXA^1^3", "AE"),
        ("V108", GOOD.replace("08^HepB^CVX", "501^Non-US^CVX"), "RXA^1^5^1^1", "AE"),
        ("V115", GOOD.replace("30963-3^Funding^LN", ""), "OBX^2^3", "AE"),
        ("V122", GOOD.replace("|CP|A", "|CP|A|20260101"), "RXA^1^3", "AE"),
    ];
    let mut covered = BTreeSet::new();
    for (rule, input, location, msa) in cases {
        for profile in [AckProfile::Cair2, AckProfile::Cdc] {
            let (_, ack) = run(input.as_bytes(), profile);
            let errors: BTreeSet<(String, String)> =
                errs(&ack).into_iter().filter(|e| e.2 == "E").map(|e| (e.4, e.0)).collect();
            let expected = BTreeSet::from([((*rule).to_owned(), (*location).to_owned())]);
            assert_eq!(errors, expected, "{rule} ({profile:?}): {ack}");
            assert_eq!(msa_codes(&ack), [*msa], "{rule}: {ack}");
        }
        covered.insert(*rule);
    }
    // Every rule the catalogue makes an error, among the intake ids, has a case here.
    let intake_errors: BTreeSet<&str> = cairdx::finding::Rule::ALL
        .iter()
        .filter(|r| specs().rules.severity(**r) == cairdx::finding::Severity::Error)
        .map(|r| r.id())
        .filter(|id| {
            id.starts_with('M') || id.starts_with('S') || id.starts_with('P') || id.starts_with('V')
        })
        .filter(|id| !matches!(*id, "P005" | "V003" | "V005" | "L001" | "L002" | "L003"))
        .collect();
    let missing: Vec<_> = intake_errors.difference(&covered).collect();
    assert!(missing.is_empty(), "error rules without a mutation test: {missing:?}");
}

#[test]
fn cair2_wording_in_err8() {
    let (_, ack) = run(GOOD.replace("123^^^FAC^MR", "123^^^FAC").as_bytes(), AckProfile::Cair2);
    assert!(ack.contains("|||MESSAGE REJECTED - Required field PID-3.5 (identifier type) is missing for identifier 123\r"), "{ack}");
    let (_, ack) = run(GOOD.replace("LA^Left Arm", "ZZ^Nowhere").as_bytes(), AckProfile::Cair2);
    assert_eq!(msa_codes(&ack), ["AE"]);
    assert!(ack.contains("|||Warning: Body site ZZ is not in HL7 table 0163; it was ignored. Correct and resubmit.\r"), "{ack}");
    let (_, ack) = run(GOOD.replace("|CP|A", "|CP|").as_bytes(), AckProfile::Cair2);
    assert!(
        ack.contains(
            "|||Informational error - Action code (RXA-21) is missing; A (add) was assumed\r"
        ),
        "{ack}"
    );
    // Offending values are escaped.
    let (_, ack) = run(GOOD.replace("LA^Left Arm", "A\\F\\B").as_bytes(), AckProfile::Cdc);
    assert!(ack.contains("Body site A\\F\\B is not"), "{ack}");
}

#[test]
fn cli_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.hl7");
    let bad = dir.path().join("bad.hl7");
    for (path, text) in [(&good, GOOD.to_owned()), (&bad, GOOD.replace("|C1|P|", "|C1|T|"))] {
        let mut file = cairdx::sink::AtomicFile::create(path).unwrap();
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        file.commit().unwrap();
    }
    let validate = |files: &[&Path], extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cairdx"))
            .args(["validate", "--timestamp", CLOCK, "--acks"])
            .arg(dir.path().join("acks"))
            .args(extra)
            .args(files)
            .output()
            .unwrap()
    };
    assert_eq!(validate(&[&good], &[]).status.code(), Some(0));
    let ack = std::fs::read_to_string(dir.path().join("acks/good.ack.hl7")).unwrap();
    assert!(
        ack.starts_with("MSH|^~\\&|IIS|CAIR2|EHR|FAC|20260115080000-0800||ACK^V04^ACK|"),
        "{ack}"
    );
    assert_eq!(validate(&[&good, &bad], &[]).status.code(), Some(1));
    assert!(std::fs::read_to_string(dir.path().join("acks/bad.ack.hl7"))
        .unwrap()
        .contains("MSA|AR|C1"));
    assert_eq!(validate(&[&good], &["--timestamp", "yesterday"]).status.code(), Some(2));
    assert_eq!(validate(&[&dir.path().join("missing.hl7")], &[]).status.code(), Some(2));
}

fn msh_count(input: &[u8]) -> usize {
    parse::split(input).messages.len()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (summary, ack) = run(&input, AckProfile::Cair2);
        let expected = msh_count(&input).max(1);
        prop_assert_eq!(summary.total() as usize, expected);
        prop_assert_eq!(msa_codes(&ack).len(), expected);
    }

    #[test]
    fn damaged_messages_never_panic(
        cuts in proptest::collection::vec((0usize..GOOD.len(), any::<u8>()), 1..12),
        copies in 1usize..4,
    ) {
        let mut input = GOOD.repeat(copies).into_bytes();
        for (at, byte) in cuts {
            if input.is_empty() {
                break;
            }
            let at = at % input.len();
            match byte % 3 {
                0 => { input.remove(at); }
                1 => input.insert(at, b"|^~\\&\r\nMSH"[usize::from(byte) % 10]),
                _ => input[at] = byte,
            }
        }
        let (summary, ack) = run(&input, AckProfile::Cdc);
        let expected = msh_count(&input).max(1);
        prop_assert_eq!(summary.total() as usize, expected);
        prop_assert_eq!(msa_codes(&ack).len(), expected);
    }
}
