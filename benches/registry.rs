//! Registry snapshot throughput: generates N synthetic patients and their doses as CSV
//! (deterministic for the seed), imports them into a fresh SQLite store, exports them
//! again, and prints rows per second and peak RSS.
//!
//! `CAIRDX_BENCH_PATIENTS` (default 1,000,000) and `CAIRDX_BENCH_DOSES` (default twice the
//! patients) set the sizes. Run with `cargo bench --bench registry`.

use std::path::Path;
use std::time::Instant;

use cairdx::registry::snapshot::{self, ImportSpec, SnapshotFormat, DOSE_COLUMNS, PATIENT_COLUMNS};
use cairdx::registry::SqliteStore;

const FIRST: [&str; 8] = ["ANA", "JOSE", "MARIA", "LUIS", "SOFIA", "MATEO", "EMMA", "NOAH"];
const LAST: [&str; 8] = ["GARCIA", "NGUYEN", "SMITH", "LOPEZ", "KIM", "PATEL", "JOHNSON", "CHEN"];
const CITIES: [&str; 4] = ["FRESNO", "OAKLAND", "SAN DIEGO", "SACRAMENTO"];
const CVX: [&str; 6] = ["20", "10", "03", "08", "21", "110"];

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn generate(dir: &Path, patients: u64, doses: u64) -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = fastrand::Rng::with_seed(20_260_115);
    let mut wtr = csv::Writer::from_path(dir.join("patients.csv"))?;
    wtr.write_record(PATIENT_COLUMNS)?;
    for id in 1..=patients {
        let (id, y, m, d) = (id.to_string(), rng.u32(2000..2025), rng.u32(1..13), rng.u32(1..29));
        let dob = format!("{y}-{m:02}-{d:02}");
        let chart = format!("MRN{:08}", rng.u32(..100_000_000));
        let zip = format!("9{:04}", rng.u32(..10_000));
        let sex = if rng.bool() { "F" } else { "M" };
        let city = CITIES[rng.usize(..CITIES.len())];
        let locked = if rng.u8(..100) == 0 { "Y" } else { "N" };
        wtr.write_record([
            id.as_str(),
            FIRST[rng.usize(..FIRST.len())],
            "",
            LAST[rng.usize(..LAST.len())],
            "",
            &dob,
            sex,
            "1 MAIN ST",
            city,
            "CA",
            &zip,
            "5595550100",
            "",
            LAST[rng.usize(..LAST.len())],
            "",
            "",
            "",
            &chart,
            "DE-000001",
            locked,
            "A",
        ])?;
    }
    wtr.flush()?;
    let mut wtr = csv::Writer::from_path(dir.join("doses.csv"))?;
    wtr.write_record(DOSE_COLUMNS)?;
    for n in 0..doses {
        // Spread doses over patients in id order, as a registry extract is.
        let id = (n * patients / doses.max(1) + 1).to_string();
        let date = format!("{}-{:02}-{:02}", rng.u32(2000..2026), rng.u32(1..13), rng.u32(1..29));
        let lot = format!("LOT{:06}", rng.u32(..1_000_000));
        let administered = if rng.bool() { "Y" } else { "N" };
        wtr.write_record([
            id.as_str(),
            &date,
            CVX[rng.usize(..CVX.len())],
            "",
            "",
            "SKB",
            &lot,
            administered,
            "DE-000001",
            "snapshot",
            "",
        ])?;
    }
    wtr.flush()?;
    Ok(())
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn rate(n: u64, secs: f64) -> String {
    format!("{:>12.0}/s", n as f64 / secs.max(1e-9))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; this harness has no options of its own.
    let patients = env_count("CAIRDX_BENCH_PATIENTS", 1_000_000);
    let doses = env_count("CAIRDX_BENCH_DOSES", patients * 2);
    let dir = tempfile::tempdir()?;

    let t = Instant::now();
    generate(dir.path(), patients, doses)?;
    let generated = t.elapsed().as_secs_f64();
    let size = |name: &str| std::fs::metadata(dir.path().join(name)).map_or(0, |m| m.len());
    println!(
        "generated {patients} patients ({} MiB) and {doses} doses ({} MiB) in {generated:.2} s",
        size("patients.csv") >> 20,
        size("doses.csv") >> 20
    );

    let db = dir.path().join("registry.db");
    let mut store = SqliteStore::open(&db)?;
    let (p, d) = (dir.path().join("patients.csv"), dir.path().join("doses.csv"));
    let t = Instant::now();
    let report = snapshot::import(
        &mut store,
        &ImportSpec { patients: &p, doses: Some(&d), format: SnapshotFormat::Csv, job: "bench" },
    )?;
    let import = t.elapsed().as_secs_f64();
    assert_eq!((report.patients, report.doses), (patients, doses));
    let (pt, dt) = (report.patients_time.as_secs_f64(), report.doses_time.as_secs_f64());
    println!(
        "import  {import:>7.2} s total (fingerprints, index rebuild and commit included)\n  \
         patients {pt:>7.2} s {}\n  doses    {dt:>7.2} s {}",
        rate(patients, pt),
        rate(doses, dt)
    );

    let out = dir.path().join("out");
    std::fs::create_dir(&out)?;
    let t = Instant::now();
    let report = snapshot::export(&store, &out)?;
    let export = t.elapsed().as_secs_f64();
    assert_eq!((report.patients, report.doses), (patients, doses));
    let (pt, dt) = (report.patients_time.as_secs_f64(), report.doses_time.as_secs_f64());
    println!(
        "export  {export:>7.2} s total\n  patients {pt:>7.2} s {}\n  doses    {dt:>7.2} s {}",
        rate(patients, pt),
        rate(doses, dt)
    );
    println!("database {} MiB", std::fs::metadata(&db).map_or(0, |m| m.len()) >> 20);
    match peak_rss_mib() {
        Some(mib) => println!("peak RSS {mib:.0} MiB"),
        None => println!("peak RSS unavailable (no /proc/self/status)"),
    }
    Ok(())
}
