//! Check Status: the run log as plain aligned text, one line per run and one indented
//! line per input file under it (CAIR2's Check Status screen); or one message with its ACK.

use std::io::{self, Write};

use chrono::{DateTime, Utc};

use super::{Counts, RunMessage, RunStatus, RunSummary};

const HEADER: [&str; 11] = [
    "RUN",
    "JOB",
    "TYPE",
    "STARTED (UTC)",
    "FINISHED (UTC)",
    "STATUS",
    "FILES",
    "READ",
    "ADDED",
    "UPDATED",
    "REJECTED",
];

/// Columns from this one on are numbers, aligned right.
const FIRST_NUMERIC: usize = 6;

/// Writes `runs` as a table; a run's files follow it, indented under the job name.
pub fn render(runs: &[RunSummary], out: &mut impl Write) -> io::Result<()> {
    if runs.is_empty() {
        return writeln!(out, "No runs match.");
    }
    let mut rows: Vec<[String; 11]> = vec![HEADER.map(str::to_owned)];
    for run in runs {
        let [read, added, updated, rejected] = counts(&run.counts);
        rows.push([
            run.id.to_string(),
            run.job.clone(),
            run.kind.clone(),
            time(run.started),
            run.finished.map_or_else(|| "-".to_owned(), time),
            run.status.map_or("running", |s| s.as_str()).to_owned(),
            run.files.len().to_string(),
            read,
            added,
            updated,
            rejected,
        ]);
        for file in &run.files {
            let [read, added, updated, rejected] = counts(&file.counts);
            let blank = String::new;
            rows.push([
                blank(),
                format!("  {}", file.file_name),
                "file".to_owned(),
                blank(),
                blank(),
                blank(),
                blank(),
                read,
                added,
                updated,
                rejected,
            ]);
        }
    }
    let mut widths = [0; 11];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = w - cell.chars().count();
            if i >= FIRST_NUMERIC {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn counts(c: &Counts) -> [String; 4] {
    [c.read, c.added, c.updated, c.rejected].map(|n| n.to_string())
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Writes one recorded message: its control id, the outcome (MSA-1 of the ACK, and whether
/// it was stored), then the message and the ACK, one segment per line.
pub fn render_message(m: &RunMessage, out: &mut impl Write) -> io::Result<()> {
    let segments = |text: &str| -> Vec<String> {
        text.split(['\r', '\n']).filter(|s| !s.is_empty()).map(str::to_owned).collect()
    };
    let ack = segments(&m.ack);
    let code = ack
        .iter()
        .find_map(|s| s.strip_prefix("MSA|"))
        .and_then(|msa| msa.split('|').next())
        .unwrap_or("-");
    // Only a message that was not stored is recorded as rejected.
    let stored = if m.outcome == RunStatus::Rejected { "not stored" } else { "stored" };
    writeln!(out, "MSH-10: {}", m.msh10)?;
    writeln!(out, "Outcome: {code}, {stored}")?;
    writeln!(out, "\nMessage:")?;
    for s in segments(&m.inbound) {
        writeln!(out, "{s}")?;
    }
    writeln!(out, "\nACK:")?;
    for s in ack {
        writeln!(out, "{s}")?;
    }
    Ok(())
}
