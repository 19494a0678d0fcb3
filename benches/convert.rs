//! Conversion benchmark: generates CAIR1 pairs of N and 2N doses, converts each in a
//! child process, and prints doses/s, MB/s and peak memory, with a same-run baseline
//! (reading and decoding both files, no conversion) to compare against. `convert`
//! writes its output next to the inputs on disk (fsync included); `convert-ram` writes
//! it to /dev/shm, which separates conversion cost from the disk's write bandwidth (the
//! VXU output is about 1.3 times the size of the input).
//!
//! `cargo bench --bench convert`; `CAIRDX_BENCH_DOSES` sets N (default 1,000,000).

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use cairdx::convert::ConvertJob;
use cairdx::decode::{decode_into, FileEncoding, LineReader};
use cairdx::generate::{write_random_pair, RandomOptions};
use cairdx::spec::{SpecFiles, SpecSet};
use cairdx::validate::SiteRole;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1], &args[i + 2], &args[i + 3]);
        return;
    }
    let n: u64 =
        std::env::var("CAIRDX_BENCH_DOSES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    println!(
        "{:<12}{:>12}{:>10}{:>14}{:>10}{:>12}",
        "mode", "doses", "seconds", "doses/s", "MB/s", "peak MiB"
    );
    let mut rows = Vec::new();
    for doses in [n, 2 * n] {
        let stem = dir.path().join(format!("B{doses}"));
        let client = format!("{}_CLIENT.txt", stem.display());
        let immun = format!("{}_IMMUN.txt", stem.display());
        let opts = RandomOptions { doses, seed: 42, site_id: "DE-000123".into() };
        let mut c = BufWriter::new(File::create(&client).expect("client"));
        let mut i = BufWriter::new(File::create(&immun).expect("immun"));
        write_random_pair(&opts, &mut c, &mut i).expect("generate");
        c.flush().expect("flush");
        i.flush().expect("flush");
        let bytes = std::fs::metadata(&client).expect("size").len()
            + std::fs::metadata(&immun).expect("size").len();
        let ram = Path::new("/dev/shm").is_dir();
        let modes: &[&str] =
            if ram { &["baseline", "convert", "convert-ram"] } else { &["baseline", "convert"] };
        for &mode in modes {
            let out = Command::new(std::env::current_exe().expect("exe"))
                .args(["--child", mode, &client, &immun])
                .output()
                .expect("child");
            let text = String::from_utf8_lossy(&out.stdout);
            let mut parts = text.split_whitespace();
            let secs: f64 = parts.next().and_then(|s| s.parse().ok()).expect("child seconds");
            let peak_kib: f64 = parts.next().and_then(|s| s.parse().ok()).expect("child peak");
            let mbps = bytes as f64 / 1e6 / secs;
            println!(
                "{mode:<12}{doses:>12}{secs:>10.2}{:>14.0}{mbps:>10.1}{:>12.1}",
                doses as f64 / secs,
                peak_kib / 1024.0
            );
            rows.push((mode, doses, secs, peak_kib));
        }
        std::fs::remove_file(&client).ok();
        std::fs::remove_file(&immun).ok();
    }
    let find =
        |mode: &str, doses: u64| rows.iter().find(|r| r.0 == mode && r.1 == doses).expect("row");
    let (base, conv) = (find("baseline", n), find("convert", n));
    println!("convert time / read+decode baseline time at N: {:.2}x", conv.2 / base.2);
    println!("peak memory at 2N / peak memory at N: {:.2}", find("convert", 2 * n).3 / conv.3);
}

/// Runs one measurement and prints `seconds peak_kib`.
fn child(mode: &str, client: &str, immun: &str) {
    let start = Instant::now();
    match mode {
        "baseline" => {
            for path in [client, immun] {
                let enc = FileEncoding::detect("windows-1252", b"").expect("encoding");
                let mut lines = LineReader::new(
                    BufReader::with_capacity(1 << 20, File::open(path).expect("open")),
                    enc,
                );
                let (mut raw, mut text) = (Vec::new(), String::new());
                while let Some(info) = lines.read_line(&mut raw).expect("read") {
                    decode_into(enc.encoding, &raw[..info.content_len], &mut text);
                    raw.clear();
                }
            }
        }
        _ => {
            let specs = SpecSet::load(&SpecFiles::Embedded).expect("specs");
            let out = if mode == "convert-ram" {
                Path::new("/dev/shm").join(format!("cairdx-bench-{}.hl7", std::process::id()))
            } else {
                Path::new(client).with_file_name("BENCH_OUT.hl7")
            };
            let job = ConvertJob {
                specs: &specs,
                layout: &specs.layouts["cair1"],
                client: client.into(),
                immunizations: Some(immun.into()),
                out: out.clone(),
                role: SiteRole::Direct { site_id: "DE-000123".into() },
                encoding: "windows-1252".into(),
                one_per_file: false,
                clock: chrono::DateTime::parse_from_rfc3339("2026-11-01T08:00:00-08:00")
                    .expect("clock"),
            };
            let report = job.run().expect("convert");
            assert_eq!(
                report.immunizations.read,
                report.immunizations.converted + report.immunizations.rejected
            );
            for name in ["", "_RESPONSE.txt"] {
                let mut path = out.with_extension("").into_os_string();
                path.push(if name.is_empty() { ".hl7" } else { name });
                std::fs::remove_file(path).ok();
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("0");
    println!("{secs} {peak}");
}
