//! Intake throughput: generates ≥100,000 VXUs (deterministic variations of one good
//! message, one in ten with an error), then times parse + validate + ACK over the file.
//! `CAIRDX_BENCH_FILE=<path>` keeps the generated file (benches/hl7apy_baseline.sh uses it).

use std::io::Write;
use std::time::Instant;

use cairdx::hl7::ack::{AckProfile, AckWriter};
use cairdx::hl7::{parse, Message};
use cairdx::intake::{process, Validator};
use cairdx::spec::{SpecFiles, SpecSet};
use chrono::DateTime;

const MESSAGES: usize = 100_000;

/// (CVX, MVX) pairs the CDC product table links, so most messages are clean.
const VACCINES: &[(&str, &str)] = &[("115", "SKB"), ("115", "PMC"), ("10", "PMC"), ("133", "PFR")];
const NAMES: &[&str] = &["Garcia", "Nguyen", "Smith", "Lopez", "Kim", "O'Brien", "Patel", "Chen"];

fn generate(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 800);
    for i in 0..n {
        let (cvx, mvx) = VACCINES[i % VACCINES.len()];
        let cvx = if i % 10 == 9 { "9999" } else { cvx };
        let name = NAMES[i % NAMES.len()];
        let birth = format!("{}{:02}{:02}", 1960 + i % 40, 1 + i % 12, 1 + i % 28);
        let admin = format!("2025{:02}{:02}", 1 + i % 12, 1 + (i / 12) % 28);
        write!(
            out,
            "MSH|^~\\&|EHR|FAC{site}|CAIR2|CAIR2|20260110080000-0800||VXU^V04^VXU_V04|MSG{i:08}|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS|FAC{site}\r\
PID|1||MRN{i:08}^^^FAC{site}^MR||{name}^Alex^J^^^^L|{name}^Maria^^^^^M|{birth}|{sex}||2106-3^White^CDCREC|{n} Main St^^Sacramento^CA^95814^^H||^PRN^PH^^^916^555{p:04}|||||||||2186-5^Not Hispanic^CDCREC\r\
PD1|||||||||||02^Reminder/Recall - any method^HL70215|N|20250101|||A|20250101|20250101\r\
NK1|1|{name}^Maria^^^^^L|MTH^Mother^HL70063|{n} Main St^^Sacramento^CA^95814^^H|^PRN^PH^^^916^555{p:04}\r\
ORC|RE||ORD{i:08}^FAC{site}|||||||||1234567890^Smith^Janet^^^^^^NPPES^L^^^NPI\r\
RXA|0|1|{admin}||{cvx}^Vaccine^CVX|0.5|mL^mL^UCUM||00^New immunization record^NIP001|1234567890^Smith^Janet^^^^^^NPPES^^^^NPI|^^^FAC{site}||||LOT{lot:06}|20271231|{mvx}^Maker^MVX|||CP|A\r\
RXR|C28161^Intramuscular^NCIT|LA^Left Arm^HL70163\r\
OBX|1|CE|64994-7^Vaccine funding program eligibility category^LN|1|V01^Not VFC eligible^HL70064||||||F|||{admin}|||VXC40^Eligibility captured at the immunization level^CDCPHINVS\r\
OBX|2|CE|30963-3^Vaccine funding source^LN|1|PHC70^Private funds^CDCPHINVS||||||F|||{admin}\r",
            site = i % 50,
            sex = if i % 2 == 0 { "F" } else { "M" },
            n = 100 + i % 900,
            p = i % 10_000,
            lot = i % 1_000_000,
        )
        .expect("writing to a Vec cannot fail");
    }
    out
}

fn main() {
    let started = Instant::now();
    let input = generate(MESSAGES);
    let path = match std::env::var_os("CAIRDX_BENCH_FILE") {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            std::env::temp_dir().join(format!("cairdx-intake-bench-{}.hl7", std::process::id()))
        }
    };
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(&input))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let input = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if std::env::var_os("CAIRDX_BENCH_FILE").is_none() {
        std::fs::remove_file(&path).ok();
    }
    let mb = input.len() as f64 / 1e6;
    println!(
        "generated {MESSAGES} VXUs, {mb:.1} MB in {:.2} s ({})",
        started.elapsed().as_secs_f64(),
        path.display()
    );

    let specs = SpecSet::load(&SpecFiles::Embedded).expect("embedded specs compile");
    let clock = DateTime::parse_from_rfc3339("2026-01-15T08:00:00-08:00").expect("RFC 3339");
    let validator = Validator::new(&specs, clock);
    let acks = AckWriter::new(AckProfile::Cair2, clock);

    let report = |what: &str, secs: f64| {
        println!(
            "{what:<38} {:>9.0} messages/s {:>8.1} MB/s ({secs:.3} s)",
            MESSAGES as f64 / secs,
            mb / secs
        );
    };

    // Parse only, one thread: split plus a full field index of every message.
    let t = Instant::now();
    let split = parse::split(&input);
    let mut segments = 0usize;
    for &span in &split.messages {
        segments += Message::parse(&input, span).map_or(0, |m| m.len());
    }
    assert_eq!(split.messages.len(), MESSAGES);
    report("parse (1 thread)", t.elapsed().as_secs_f64());

    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("thread pool");
    for (label, threads) in
        [("parse+validate+ACK (1 thread)", Some(&pool)), ("parse+validate+ACK (rayon)", None)]
    {
        let mut best = f64::MAX;
        let mut out = Vec::new();
        let mut summary = Default::default();
        for _ in 0..3 {
            out.clear();
            let t = Instant::now();
            summary = match threads {
                Some(pool) => pool.install(|| process(&input, &validator, &acks, 1, &mut out)),
                None => process(&input, &validator, &acks, 1, &mut out),
            };
            best = best.min(t.elapsed().as_secs_f64());
        }
        report(label, best);
        println!(
            "  {summary:?}, {} segments, ACK output {:.1} MB",
            segments,
            out.len() as f64 / 1e6
        );
    }
}
