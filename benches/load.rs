//! `cairdx load` throughput: generates a synthetic CAIR1 pair (deterministic for the seed),
//! loads it into a fresh SQLite store in one transaction and prints doses per second
//! (target: 100,000/s) and peak RSS.
//!
//! `CAIRDX_BENCH_DOSES` (default 1,000,000) sets the size. Run with
//! `cargo bench --bench load`.

use std::fs::File;
use std::io::BufWriter;
use std::time::Instant;

use cairdx::convert::ConvertJob;
use cairdx::generate::{write_random_pair, RandomOptions};
use cairdx::load::{load, LoadOutcome};
use cairdx::registry::SqliteStore;
use cairdx::spec::{SpecFiles, SpecSet};
use cairdx::validate::SiteRole;

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; this harness has no options of its own.
    let doses = env_count("CAIRDX_BENCH_DOSES", 1_000_000);
    let dir = tempfile::tempdir()?;
    let (client, immun) = (dir.path().join("BENCH_CLIENT.txt"), dir.path().join("BENCH_IMMUN.txt"));
    let t = Instant::now();
    let opts = RandomOptions { doses, seed: 20_260_115, site_id: "DE-000123".into() };
    let written = write_random_pair(
        &opts,
        &mut BufWriter::new(File::create(&client)?),
        &mut BufWriter::new(File::create(&immun)?),
    )?;
    println!(
        "generated {} patients and {} doses in {:.2} s",
        written.patients,
        written.doses,
        t.elapsed().as_secs_f64()
    );

    let specs = SpecSet::load(&SpecFiles::Embedded).map_err(cairdx::error::Error::Spec)?;
    let job = ConvertJob {
        specs: &specs,
        layout: specs.layout("cair1")?,
        client: client.clone(),
        immunizations: Some(immun),
        out: client,
        role: SiteRole::Direct { site_id: "DE-000123".into() },
        encoding: "windows-1252".into(),
        one_per_file: false,
        clock: chrono::Local::now().fixed_offset(),
    };
    let mut store = SqliteStore::open(&dir.path().join("registry.db"))?;
    let t = Instant::now();
    let outcome = load(&mut store, &job)?;
    let secs = t.elapsed().as_secs_f64();
    let LoadOutcome::Loaded { records, counts } = outcome else {
        return Err("a fresh store cannot have loaded these files before".into());
    };
    println!(
        "load    {secs:>7.2} s total (fingerprints, parse, validation, store and commit)\n  \
         {:>12.0} doses/s ({} read, {} added, {} duplicate, {} rejected; {} patients added)",
        records.immunizations.read as f64 / secs.max(1e-9),
        records.immunizations.read,
        counts.doses_added,
        counts.doses_duplicate,
        records.immunizations.rejected,
        counts.patients_added,
    );
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS {rss:.0} MiB");
    }
    Ok(())
}
