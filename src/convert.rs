//! The convert job: CAIR1 client + immunization files → VXU batch, response file and
//! reject files. Drives the stages: link records by id (streaming when the immunization
//! file follows the client file's order, the WIR-family convention; an index of offsets
//! otherwise), then decode → parse → validate → render in parallel batches that keep
//! input order, and publish every output atomically.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

use chrono::{DateTime, FixedOffset};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::app::ExitStatus;
use crate::cli::ConvertArgs;
use crate::decode::{decode_append, decode_into, FileEncoding, LineInfo, LineReader};
use crate::error::{Error, IoContext, Result};
use crate::finding::{Finding, InputFile, Rule, Severity};
use crate::hl7::vxu::{self, Header, MessageIds};
use crate::model::{Dose, Patient};
use crate::parse::{is_header, parse_line, record_key, Scratch};
use crate::response::{self, Counts};
use crate::sink::AtomicFile;
use crate::spec::{LayoutSet, SpecSet};
use crate::validate::{Checker, SiteRole};

/// Patients per batch handed to the worker pool.
const BATCH_UNITS: usize = 4096;
/// Patients per rayon task.
const CHUNK_UNITS: usize = 64;

/// Everything a conversion needs, resolved from the command line.
pub struct ConvertJob<'s> {
    /// Compiled specs.
    pub specs: &'s SpecSet,
    /// The layout set of both files.
    pub layout: &'s LayoutSet,
    /// Client file.
    pub client: PathBuf,
    /// Immunization file, if any.
    pub immunizations: Option<PathBuf>,
    /// VXU output path; the response and reject files are named by its stem, beside it.
    pub out: PathBuf,
    /// Site role and ids.
    pub role: SiteRole,
    /// Declared input encoding label.
    pub encoding: String,
    /// One message per file instead of a batch.
    pub one_per_file: bool,
    /// The run's clock.
    pub clock: DateTime<FixedOffset>,
}

/// What a conversion produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConvertReport {
    /// Client record outcomes.
    pub clients: Counts,
    /// Immunization record outcomes.
    pub immunizations: Counts,
    /// VXU messages written.
    pub messages: u64,
    /// Files written, in the order they were published.
    pub outputs: Vec<PathBuf>,
}

impl ConvertReport {
    /// 0 when nothing was rejected, 1 otherwise.
    pub fn exit_status(&self) -> ExitStatus {
        if self.clients.rejected + self.immunizations.rejected > 0 {
            ExitStatus::Rejected
        } else {
            ExitStatus::Ok
        }
    }
}

/// `cairdx convert`.
pub fn run(args: ConvertArgs, specs: &SpecSet) -> Result<ExitStatus> {
    let role = match (args.role, args.sending_facility) {
        (1, None) => SiteRole::Direct { site_id: args.site_id },
        (1, Some(_)) => {
            return Err(Error::Argument {
                flag: "--sending-facility",
                reason: "role 1 sites send directly; use --role 2 or 3 with a sending facility"
                    .into(),
            })
        }
        (2, Some(facility_id)) => SiteRole::ViaFacility { site_id: args.site_id, facility_id },
        (_, Some(facility_id)) => SiteRole::Facility { facility_id, default_site_id: args.site_id },
        (_, None) => {
            return Err(Error::Argument {
                flag: "--sending-facility",
                reason: format!("role {} needs the sending facility's CAIR id", args.role),
            })
        }
    };
    let clock = crate::cli::clock(args.timestamp.as_deref())?;
    let job = ConvertJob {
        specs,
        layout: specs.layout(&args.layout)?,
        client: args.client,
        immunizations: args.immunizations,
        out: args.out,
        role,
        encoding: args.encoding,
        one_per_file: args.one_per_file,
        clock,
    };
    let report = job.run()?;
    tracing::info!(
        clients_read = report.clients.read,
        clients_rejected = report.clients.rejected,
        immunizations_read = report.immunizations.read,
        immunizations_rejected = report.immunizations.rejected,
        messages = report.messages,
        "Conversion finished."
    );
    Ok(report.exit_status())
}

/// One input line in a batch: where it came from and where its bytes are.
#[derive(Clone, Debug)]
pub(crate) struct Rec {
    info: LineInfo,
    raw: Range<usize>,
    /// What the reader decoded: enough to hold the record id (workers decode the rest);
    /// empty for records read through the index, which is already linked.
    text: Range<usize>,
}

/// A patient (client record and its doses) or an orphan immunization record.
#[derive(Clone, Debug)]
struct Unit {
    client: Option<usize>,
    ordinal: u32,
    duplicate: bool,
    doses: Range<usize>,
}

/// Records read from the inputs, handed to the workers as a whole.
#[derive(Default)]
pub(crate) struct Batch {
    raw: Vec<u8>,
    text: String,
    clients: Vec<Rec>,
    doses: Vec<Rec>,
    units: Vec<Unit>,
    client_bytes: u64,
}

impl Batch {
    fn clear(&mut self) {
        self.raw.clear();
        self.text.clear();
        self.clients.clear();
        self.doses.clear();
        self.units.clear();
        self.client_bytes = 0;
    }

    fn text(&self, rec: &Rec) -> &str {
        &self.text[rec.text.clone()]
    }
}

/// An input file being read line by line, decoding each line.
pub(crate) struct Input {
    lines: LineReader<BufReader<File>>,
    encoding: FileEncoding,
    layout_is_delimited: bool,
    first: bool,
    decoded: String,
}

impl Input {
    fn open(path: &Path, label: &str, delimited: bool) -> Result<Input> {
        let (mut reader, encoding) = open_with_encoding(path, label)?;
        reader.seek(SeekFrom::Start(encoding.bom_len as u64)).at(path)?;
        Ok(Input {
            lines: LineReader::new(reader, encoding),
            encoding,
            layout_is_delimited: delimited,
            first: true,
            decoded: String::new(),
        })
    }

    /// Reads the next record into `batch`, skipping a delimited header row. Only what
    /// holds the record id is decoded here (the linker needs nothing else); workers
    /// decode whole lines in parallel.
    fn next_into(
        &mut self,
        batch: &mut Batch,
        layout: &crate::spec::Layout,
    ) -> io::Result<Option<Rec>> {
        let limit = match (layout.format, layout.fields.first()) {
            // Four bytes per character covers every encoding's longest character.
            (crate::spec::Format::FixedWidth, Some(Some(def))) => def.end * 4,
            _ => usize::MAX,
        };
        loop {
            let start = batch.raw.len();
            let Some(info) = self.lines.read_line(&mut batch.raw)? else { return Ok(None) };
            let decoded = start..start + info.content_len.min(limit);
            decode_into(self.encoding.encoding, &batch.raw[decoded], &mut self.decoded);
            let first = std::mem::replace(&mut self.first, false);
            if first && self.layout_is_delimited && is_header(layout, &self.decoded) {
                batch.raw.truncate(start);
                continue;
            }
            let text_start = batch.text.len();
            batch.text.push_str(&self.decoded);
            return Ok(Some(Rec {
                info,
                raw: start..start + info.raw_len,
                text: text_start..batch.text.len(),
            }));
        }
    }
}

fn open_with_encoding(path: &Path, label: &str) -> Result<(BufReader<File>, FileEncoding)> {
    let file = File::open(path).at(path)?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let head = reader.fill_buf().at(path)?;
    let encoding = FileEncoding::detect(label, head)?;
    Ok((reader, encoding))
}

/// How immunization records are found for each client.
pub(crate) enum Linking {
    /// No immunization file.
    None,
    /// Immunization records follow client order: one streaming pass.
    Streaming { input: Box<Input>, pending: Option<Rec>, pending_batch: Box<Batch> },
    /// Records out of order: offsets sorted by client ordinal, read by seeking.
    Indexed {
        reader: BufReader<File>,
        encoding: FileEncoding,
        index: Vec<(u32, u64, u64)>,
        pos: usize,
    },
}

/// Output files written in full but not yet renamed into place. The caller publishes
/// them when everything else the job does has succeeded (for `load`, after the store
/// commits), so no response file ever announces work that did not happen.
#[must_use = "staged outputs are published only by `publish`"]
pub(crate) struct StagedOutputs(Vec<AtomicFile>);

impl StagedOutputs {
    /// Renames every file into place, in order, recording the paths in `report`.
    pub(crate) fn publish(self, report: &mut ConvertReport) -> Result<()> {
        for file in self.0 {
            report.outputs.push(file.commit()?);
        }
        Ok(())
    }
}

/// How a pass over the inputs ended.
pub(crate) enum Pass<R> {
    /// Outputs published.
    Done(R),
    /// The immunization file left client order; nothing was published.
    OutOfOrder,
}

/// Raised by the streaming linker at the first immunization record of an earlier client.
#[derive(Debug)]
struct OutOfOrder;

impl std::fmt::Display for OutOfOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("immunization records are not in client order")
    }
}

impl std::error::Error for OutOfOrder {}

/// Ordinal given to immunization records with no client, so they sort last.
const ORPHAN: u32 = u32::MAX;

impl<'s> ConvertJob<'s> {
    /// Runs the conversion and publishes its outputs.
    pub fn run(&self) -> Result<ConvertReport> {
        let (mut report, (), staged) =
            self.drive(|linking, ids| self.pass(linking, ids, |ctx| VxuSink::new(self, ctx)))?;
        staged.publish(&mut report)?;
        Ok(report)
    }

    /// Links the inputs and runs `pass` over them: streaming first, then (if the
    /// immunization file leaves client order) again with an index.
    pub(crate) fn drive<R>(
        &self,
        mut pass: impl FnMut(Linking, &FxHashMap<Box<str>, u32>) -> Result<Pass<R>>,
    ) -> Result<R> {
        let label = self.encoding.as_str();
        let delimited = self.delimited();
        let ids = self.index_clients(label, delimited)?;
        let streaming = match &self.immunizations {
            None => Linking::None,
            Some(path) => Linking::Streaming {
                input: Box::new(Input::open(path, label, delimited)?),
                pending: None,
                pending_batch: Box::default(),
            },
        };
        // Most files follow client order; the first record that does not makes the pass
        // start over with an index, its partial outputs discarded unpublished.
        if let Pass::Done(report) = pass(streaming, &ids)? {
            return Ok(report);
        }
        let path = self.immunizations.as_deref().unwrap_or(&self.client);
        tracing::info!("Immunization file is not in client order; linking by index.");
        let indexed = self.index_immunizations(path, label, delimited, &ids)?;
        match pass(indexed, &ids)? {
            Pass::Done(report) => Ok(report),
            Pass::OutOfOrder => Err(Error::io(path, io::Error::other(OutOfOrder))),
        }
    }

    fn delimited(&self) -> bool {
        self.layout.client.format == crate::spec::Format::Delimited
    }

    /// One pass over the inputs with a linking strategy, handing each checked patient to
    /// the sink that `sink` makes.
    pub(crate) fn pass<K: UnitSink>(
        &self,
        linking: Linking,
        ids: &FxHashMap<Box<str>, u32>,
        sink: impl FnOnce(&Context<'_>) -> Result<K>,
    ) -> Result<Pass<(ConvertReport, K::Summary, StagedOutputs)>> {
        let label = self.encoding.as_str();
        let delimited = self.delimited();
        let client_len = std::fs::metadata(&self.client).at(&self.client)?.len();
        let timestamp = self.clock.format("%Y%m%d%H%M%S%z").to_string();
        let run_date = self.clock.format("%Y%m%d").to_string();
        let control_prefix = self.clock.format("%Y%m%d%H%M%S").to_string();
        let header = Header {
            sending_facility: self.role.sending_facility(),
            timestamp: &timestamp,
            run_date: &run_date,
            control_prefix: &control_prefix,
        };
        let ctx = Context {
            specs: self.specs,
            encodings: self.encodings()?,
            layout: self.layout,
            checker: Checker {
                codes: &self.specs.codes,
                role: &self.role,
                today: self.clock.date_naive(),
            },
            header,
            file_names: [
                file_name(&self.client),
                self.immunizations.as_deref().map(file_name).unwrap_or_default(),
            ],
        };
        let sink = Outputs::new(self, &ctx, sink(&ctx)?)?;
        let bar = crate::progress::bytes(client_len, "convert");
        let client = Input::open(&self.client, label, delimited)?;
        // Three stages overlap: the reader fills batch k+1 while the pool converts batch k
        // and the writer publishes batch k-1. Batches go back to the reader for reuse.
        let (full_tx, full_rx) = mpsc::sync_channel::<io::Result<Batch>>(2);
        let (done_tx, done_rx) = mpsc::sync_channel::<(Batch, Vec<ChunkOut<K::Out>>)>(1);
        let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
        let outcome = thread::scope(|scope| -> Result<Option<Outputs<K>>> {
            let layout = self.layout;
            let reader = scope.spawn(move || {
                let mut feeder = Feeder { client, linking, ids, ordinal: 0, layout };
                loop {
                    let mut batch = empty_rx.try_recv().unwrap_or_default();
                    batch.clear();
                    match feeder.fill(&mut batch) {
                        Ok(true) => {
                            if full_tx.send(Ok(batch)).is_err() {
                                return;
                            }
                        }
                        Ok(false) => {
                            if !batch.units.is_empty() {
                                let _ = full_tx.send(Ok(batch));
                            }
                            return;
                        }
                        Err(e) => {
                            let _ = full_tx.send(Err(e));
                            return;
                        }
                    }
                }
            });
            let (bar, ctx_ref) = (&bar, &ctx);
            let writer = scope.spawn(move || -> Result<Outputs<K>> {
                let mut sink = sink;
                for (batch, results) in done_rx {
                    for chunk in &results {
                        sink.write_chunk(ctx_ref, &batch, chunk)?;
                    }
                    bar.inc(batch.client_bytes);
                    let _ = empty_tx.send(batch);
                }
                Ok(sink)
            });
            let mut out_of_order = false;
            for batch in full_rx {
                let batch = match batch {
                    Ok(batch) => batch,
                    Err(e) if e.get_ref().is_some_and(|inner| inner.is::<OutOfOrder>()) => {
                        out_of_order = true;
                        break;
                    }
                    Err(e) => return Err(Error::io(&self.client, e)),
                };
                let results: Vec<ChunkOut<K::Out>> = batch
                    .units
                    .par_chunks(CHUNK_UNITS)
                    .map_init(Worker::default, |worker, units| {
                        worker.convert::<K>(&ctx, &batch, units)
                    })
                    .collect();
                if done_tx.send((batch, results)).is_err() {
                    // The writer stopped on an error, which its join returns.
                    break;
                }
            }
            drop(done_tx);
            let panicked = |_| Error::io(&self.client, io::Error::other("worker thread panicked"));
            let sink = writer.join().map_err(panicked)??;
            reader.join().map_err(panicked)?;
            Ok((!out_of_order).then_some(sink))
        });
        bar.finish_and_clear();
        match outcome? {
            Some(sink) => Ok(Pass::Done(sink.finish(self)?)),
            None => Ok(Pass::OutOfOrder),
        }
    }

    /// The encodings of the client and immunization files (label or BOM).
    fn encodings(&self) -> Result<[FileEncoding; 2]> {
        let detect = |path: Option<&Path>| match path {
            Some(path) => Ok(open_with_encoding(path, &self.encoding)?.1),
            None => FileEncoding::detect(&self.encoding, b""),
        };
        Ok([detect(Some(&self.client))?, detect(self.immunizations.as_deref())?])
    }

    /// First pass: the ordinal of each client record id (first occurrence wins).
    fn index_clients(&self, label: &str, delimited: bool) -> Result<FxHashMap<Box<str>, u32>> {
        let mut input = Input::open(&self.client, label, delimited)?;
        let size = std::fs::metadata(&self.client).at(&self.client)?.len();
        let expected = usize::try_from(size / (self.layout.client.line_length.max(64) as u64 + 2))
            .unwrap_or(0);
        let mut ids = FxHashMap::with_capacity_and_hasher(expected, Default::default());
        let mut batch = Batch::default();
        let mut ordinal = 0u32;
        while let Some(rec) = input.next_into(&mut batch, &self.layout.client).at(&self.client)? {
            ordinal += 1;
            if let Some(key) = record_key(&self.layout.client, batch.text(&rec)) {
                if !ids.contains_key(key) {
                    ids.insert(key.into(), ordinal);
                }
            }
            batch.clear();
        }
        Ok(ids)
    }

    /// The offsets of the immunization records, sorted by client ordinal (orphans last).
    fn index_immunizations(
        &self,
        path: &Path,
        label: &str,
        delimited: bool,
        ids: &FxHashMap<Box<str>, u32>,
    ) -> Result<Linking> {
        let mut input = Input::open(path, label, delimited)?;
        let mut batch = Batch::default();
        let mut index = Vec::new();
        while let Some(rec) = input.next_into(&mut batch, &self.layout.immunization).at(path)? {
            let ordinal = record_key(&self.layout.immunization, batch.text(&rec))
                .and_then(|k| ids.get(k).copied())
                .unwrap_or(ORPHAN);
            index.push((ordinal, rec.info.number, rec.info.offset));
            batch.clear();
        }
        index.sort_unstable();
        let (reader, encoding) = open_with_encoding(path, label)?;
        Ok(Linking::Indexed { reader, encoding, index, pos: 0 })
    }
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Reads client records and links their immunization records into batches.
struct Feeder<'a> {
    client: Input,
    linking: Linking,
    ids: &'a FxHashMap<Box<str>, u32>,
    ordinal: u32,
    layout: &'a LayoutSet,
}

impl Feeder<'_> {
    /// Fills `batch`; `false` when the inputs are exhausted.
    fn fill(&mut self, batch: &mut Batch) -> io::Result<bool> {
        while batch.units.len() < BATCH_UNITS {
            let Some(rec) = self.client.next_into(batch, &self.layout.client)? else {
                self.drain_orphans(batch)?;
                return Ok(false);
            };
            self.ordinal += 1;
            let duplicate = record_key(&self.layout.client, batch.text(&rec))
                .and_then(|k| self.ids.get(k))
                .is_some_and(|first| *first != self.ordinal);
            batch.client_bytes += rec.info.raw_len as u64;
            batch.clients.push(rec);
            let unit_index = batch.units.len();
            batch.units.push(Unit {
                client: Some(batch.clients.len() - 1),
                ordinal: self.ordinal,
                duplicate,
                doses: 0..0,
            });
            let doses_start = batch.doses.len();
            let orphans = self.link_doses(batch)?;
            batch.units[unit_index].doses = doses_start..batch.doses.len();
            // Orphans met while linking are reported after the patient they were next to.
            for rec in orphans {
                push_orphan(batch, rec);
            }
        }
        Ok(true)
    }

    /// Moves the immunization records of the current client into `batch`, returning the
    /// orphans met on the way.
    fn link_doses(&mut self, batch: &mut Batch) -> io::Result<Vec<Rec>> {
        let ordinal = self.ordinal;
        let layout = &self.layout.immunization;
        let mut orphans = Vec::new();
        match &mut self.linking {
            Linking::None => {}
            Linking::Streaming { input, pending, pending_batch } => loop {
                let rec = match pending.take() {
                    Some(rec) => copy_rec(pending_batch, &rec, batch),
                    None => match input.next_into(batch, layout)? {
                        Some(rec) => rec,
                        None => break,
                    },
                };
                let target =
                    record_key(layout, batch.text(&rec)).and_then(|k| self.ids.get(k).copied());
                match target {
                    Some(o) if o == ordinal => batch.doses.push(rec),
                    Some(o) if o < ordinal => return Err(io::Error::other(OutOfOrder)),
                    Some(_) => {
                        // Belongs to a later client: park it until that client is read.
                        pending_batch.clear();
                        *pending = Some(copy_rec(batch, &rec, pending_batch));
                        truncate_to(batch, &rec);
                        break;
                    }
                    None => orphans.push(rec),
                }
            },
            Linking::Indexed { reader, encoding, index, pos } => {
                while let Some(&(o, number, offset)) = index.get(*pos) {
                    if o != ordinal {
                        break;
                    }
                    *pos += 1;
                    let rec = read_at(reader, *encoding, number, offset, batch)?;
                    batch.doses.push(rec);
                }
            }
        }
        Ok(orphans)
    }

    /// After the last client: every remaining immunization record is an orphan.
    fn drain_orphans(&mut self, batch: &mut Batch) -> io::Result<()> {
        let layout = &self.layout.immunization;
        loop {
            let rec = match &mut self.linking {
                Linking::None => None,
                Linking::Streaming { input, pending, pending_batch } => match pending.take() {
                    Some(rec) => Some(copy_rec(pending_batch, &rec, batch)),
                    None => input.next_into(batch, layout)?,
                },
                Linking::Indexed { reader, encoding, index, pos } => match index.get(*pos) {
                    Some(&(_, number, offset)) => {
                        *pos += 1;
                        Some(read_at(reader, *encoding, number, offset, batch)?)
                    }
                    None => None,
                },
            };
            let Some(rec) = rec else { return Ok(()) };
            push_orphan(batch, rec);
        }
    }
}

/// Adds an immunization record with no client as a unit of its own.
fn push_orphan(batch: &mut Batch, rec: Rec) {
    batch.doses.push(rec);
    let i = batch.doses.len() - 1;
    batch.units.push(Unit { client: None, ordinal: ORPHAN, duplicate: false, doses: i..i + 1 });
}

/// Copies a record's bytes and text from one batch into another.
fn copy_rec(from: &Batch, rec: &Rec, to: &mut Batch) -> Rec {
    let raw_start = to.raw.len();
    to.raw.extend_from_slice(&from.raw[rec.raw.clone()]);
    let text_start = to.text.len();
    to.text.push_str(&from.text[rec.text.clone()]);
    Rec { info: rec.info, raw: raw_start..to.raw.len(), text: text_start..to.text.len() }
}

/// Removes the last record appended to `batch` (it was parked elsewhere).
fn truncate_to(batch: &mut Batch, rec: &Rec) {
    batch.raw.truncate(rec.raw.start);
    batch.text.truncate(rec.text.start);
}

/// Reads the line at `offset` of an indexed file into `batch`.
fn read_at(
    reader: &mut BufReader<File>,
    encoding: FileEncoding,
    number: u64,
    offset: u64,
    batch: &mut Batch,
) -> io::Result<Rec> {
    reader.seek(SeekFrom::Start(offset))?;
    let mut lines = LineReader::resume_at(reader.by_ref(), encoding, number, offset);
    let start = batch.raw.len();
    let info = lines
        .read_line(&mut batch.raw)?
        .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
    // The index already linked this record: the reader needs none of its text, and the
    // workers decode the whole line.
    let text = batch.text.len()..batch.text.len();
    Ok(Rec { info, raw: start..start + info.raw_len, text })
}

/// Read-only state shared by the workers.
pub(crate) struct Context<'s> {
    /// Compiled specs.
    pub(crate) specs: &'s SpecSet,
    /// Encodings of the client and immunization files.
    pub(crate) encodings: [FileEncoding; 2],
    /// The layout set of both files.
    pub(crate) layout: &'s LayoutSet,
    /// The record checks.
    pub(crate) checker: Checker<'s>,
    /// VXU header values.
    pub(crate) header: Header<'s>,
    /// Client and immunization file names, as the findings table shows them.
    pub(crate) file_names: [String; 2],
}

/// What a pass does with each checked patient: the per-patient stage (parse, link,
/// validate, reject) is the same for every job; only what happens to an accepted patient
/// differs (VXU rendering for convert, the registry store for load).
pub(crate) trait UnitSink: Send {
    /// What the workers produce for a run of patients, in input order.
    type Out: Default + Send;
    /// What the sink reports when the pass is over.
    type Summary;

    /// Called on a worker thread for each accepted patient (`line`: its client line).
    fn render(
        ctx: &Context<'_>,
        ordinal: u32,
        line: u64,
        patient: &Patient<'_, '_>,
        doses: &[Dose<'_, '_>],
        out: &mut Self::Out,
    );

    /// Called on the writer thread for each run of patients, in input order; findings of
    /// its own go to `findings` as findings-table lines.
    fn write(&mut self, ctx: &Context<'_>, out: &Self::Out, findings: &mut Vec<u8>) -> Result<()>;

    /// Completes the sink's own outputs (into `staged`, to be published by the caller)
    /// and returns the summary text that heads the response file.
    fn finish(
        self,
        job: &ConvertJob<'_>,
        report: &mut ConvertReport,
        encodings: &[FileEncoding; 2],
        staged: &mut StagedOutputs,
    ) -> Result<(String, Self::Summary)>;
}

/// What a worker produced for a run of units, in input order.
#[derive(Default)]
struct ChunkOut<O> {
    sink: O,
    findings: Vec<u8>,
    rejected_clients: Vec<usize>,
    rejected_doses: Vec<usize>,
    clients: Counts,
    doses: Counts,
}

/// Per-thread buffers.
#[derive(Default)]
struct Worker {
    scratch: Scratch,
    /// One per dose of a patient: a dose's fields may borrow from its scratch until
    /// the message is rendered.
    dose_scratch: Vec<Scratch>,
    findings: Vec<Finding>,
    dose_findings: Vec<Finding>,
    /// The unit's decoded lines.
    text: String,
    /// Each line's range in `text`, and the offset of its first unmappable byte.
    spans: Vec<(Range<usize>, Option<usize>)>,
}

impl Worker {
    fn convert<K: UnitSink>(
        &mut self,
        ctx: &Context<'_>,
        batch: &Batch,
        units: &[Unit],
    ) -> ChunkOut<K::Out> {
        let mut out = ChunkOut::default();
        for unit in units {
            self.convert_unit::<K>(ctx, batch, unit, &mut out);
        }
        out
    }

    fn convert_unit<K: UnitSink>(
        &mut self,
        ctx: &Context<'_>,
        batch: &Batch,
        unit: &Unit,
        out: &mut ChunkOut<K::Out>,
    ) {
        let rules = &ctx.specs.rules;
        let has_error = |findings: &[Finding]| {
            findings.iter().any(|f| rules.severity(f.rule) == Severity::Error)
        };
        self.findings.clear();
        // Decode the unit's lines here, on the pool, rather than in the reader thread:
        // all into one buffer first, then borrowed for the rest of the unit.
        self.text.clear();
        self.spans.clear();
        let lines = unit
            .client
            .map(|ci| (&batch.clients[ci], 0))
            .into_iter()
            .chain(unit.doses.clone().map(|di| (&batch.doses[di], 1)));
        for (rec, file) in lines {
            let raw = &batch.raw[rec.raw.start..rec.raw.start + rec.info.content_len];
            let start = self.text.len();
            let unmapped = decode_append(ctx.encodings[file].encoding, raw, &mut self.text);
            self.spans.push((start..self.text.len(), unmapped));
        }
        let text: &str = &self.text;
        let mut spans = self.spans.iter().cloned();
        let mut fields = Vec::new();
        let mut patient: Option<Patient<'_, '_>> = None;
        let mut record_id = "";
        if let Some(ci) = unit.client {
            let rec = &batch.clients[ci];
            let line = rec.info.number;
            let (span, unmapped) = spans.next().unwrap_or_default();
            self.findings.extend(encoding_finding(unmapped, line, InputFile::Client));
            let text = &text[span];
            if parse_line(
                &ctx.layout.client,
                InputFile::Client,
                line,
                text,
                &mut self.scratch,
                &mut fields,
                &mut self.findings,
            ) {
                record_id = fields[0];
                if unit.duplicate {
                    self.findings.push(Finding::new(
                        Rule::DuplicateRecordId,
                        InputFile::Client,
                        line,
                        "record_id",
                        record_id,
                    ));
                }
                patient = ctx.checker.patient(line, &fields, &mut self.findings);
            }
            out.clients.read += 1;
            if patient.is_none() || has_error(&self.findings) {
                patient = None;
                out.clients.rejected += 1;
                out.rejected_clients.push(ci);
            } else {
                out.clients.converted += 1;
                out.clients.warned += u64::from(!self.findings.is_empty());
            }
        }
        let mut doses: Vec<Dose<'_, '_>> = Vec::with_capacity(unit.doses.len());
        let mut dose_fields = Vec::new();
        if self.dose_scratch.len() < unit.doses.len() {
            self.dose_scratch.resize_with(unit.doses.len(), Scratch::default);
        }
        for (di, dose_scratch) in unit.doses.clone().zip(self.dose_scratch.iter_mut()) {
            let rec = &batch.doses[di];
            let line = rec.info.number;
            self.dose_findings.clear();
            let (span, unmapped) = spans.next().unwrap_or_default();
            self.dose_findings.extend(encoding_finding(unmapped, line, InputFile::Immunization));
            let text = &text[span];
            let parsed = parse_line(
                &ctx.layout.immunization,
                InputFile::Immunization,
                line,
                text,
                dose_scratch,
                &mut dose_fields,
                &mut self.dose_findings,
            );
            let dose = match (&patient, unit.client) {
                (_, None) => {
                    if parsed && !dose_fields[0].is_empty() {
                        record_id = dose_fields[0];
                        self.dose_findings.push(Finding::new(
                            Rule::OrphanImmunization,
                            InputFile::Immunization,
                            line,
                            "record_id",
                            record_id,
                        ));
                    }
                    None
                }
                (None, Some(_)) => {
                    self.dose_findings.push(Finding::new(
                        Rule::ClientRejected,
                        InputFile::Immunization,
                        line,
                        "record_id",
                        "",
                    ));
                    None
                }
                (Some(p), Some(_)) if parsed => {
                    ctx.checker.dose(line, &dose_fields, p, &mut self.dose_findings)
                }
                (Some(_), Some(_)) => None,
            };
            out.doses.read += 1;
            match dose {
                Some(dose) if !has_error(&self.dose_findings) => {
                    out.doses.converted += 1;
                    out.doses.warned += u64::from(!self.dose_findings.is_empty());
                    doses.push(dose);
                }
                _ => {
                    out.doses.rejected += 1;
                    out.rejected_doses.push(di);
                }
            }
            self.findings.append(&mut self.dose_findings);
        }
        dedupe_order_ids(&mut doses);
        for finding in &self.findings {
            let names = [ctx.file_names[0].as_str(), ctx.file_names[1].as_str()];
            // Writing into a Vec cannot fail.
            let _ = response::write_finding(&mut out.findings, rules, names, record_id, finding);
        }
        if let (Some(p), Some(ci)) = (&patient, unit.client) {
            K::render(ctx, unit.ordinal, batch.clients[ci].info.number, p, &doses, &mut out.sink);
        }
    }
}

/// F003 for a line with bytes its encoding cannot map, naming the first one's offset.
fn encoding_finding(unmapped: Option<usize>, line: u64, file: InputFile) -> Option<Finding> {
    let byte = unmapped?;
    Some(Finding::new(Rule::BadEncoding, file, line, "", &byte.to_string()))
}

/// Makes ORC-3 unique within a message when one vaccine is given twice on a day.
fn dedupe_order_ids(doses: &mut [Dose<'_, '_>]) {
    for i in 1..doses.len() {
        let repeats =
            doses[..i].iter().filter(|d| d.order_id.starts_with(&doses[i].order_id)).count();
        if repeats > 0 {
            let id = format!("{}-{}", doses[i].order_id, repeats + 1);
            doses[i].order_id = id;
        }
    }
}

/// The convert job's sink: VXU messages in one batch file or one file each.
struct VxuSink {
    batch: Option<AtomicFile>,
    message_files: Vec<AtomicFile>,
    /// One message per file: where they go, by `<stem>_NNNNNN.hl7`.
    stem: PathBuf,
    messages: u64,
}

/// VXU messages rendered by a worker.
#[derive(Default)]
struct VxuOut {
    hl7: Vec<u8>,
    /// Message boundaries in `hl7`, with the client ordinal (for one-message files).
    messages: Vec<(u32, Range<usize>)>,
}

impl VxuSink {
    fn new(job: &ConvertJob<'_>, ctx: &Context<'_>) -> Result<VxuSink> {
        let out_dir = out_dir(&job.out);
        std::fs::create_dir_all(out_dir).at(out_dir)?;
        let batch = if job.one_per_file {
            None
        } else {
            let mut file = AtomicFile::create(&job.out)?;
            let mut head = Vec::new();
            vxu::write_batch_header(&mut head, &ctx.header, &file_name(&job.out));
            file.write_all(&head).at(&job.out)?;
            Some(file)
        };
        Ok(VxuSink { batch, message_files: Vec::new(), stem: stem(&job.out), messages: 0 })
    }
}

impl UnitSink for VxuSink {
    type Out = VxuOut;
    type Summary = ();

    fn render(
        ctx: &Context<'_>,
        ordinal: u32,
        _line: u64,
        p: &Patient<'_, '_>,
        doses: &[Dose<'_, '_>],
        out: &mut VxuOut,
    ) {
        let control_id = format!("{}{:06}", ctx.header.control_prefix, ordinal);
        let ids = MessageIds {
            control_id: &control_id,
            responsible_site: ctx.checker.role.responsible_site(p.site_id),
        };
        let start = out.hl7.len();
        vxu::write_message(&mut out.hl7, &ctx.header, ids, p, doses);
        out.messages.push((ordinal, start..out.hl7.len()));
    }

    fn write(&mut self, _ctx: &Context<'_>, chunk: &VxuOut, _findings: &mut Vec<u8>) -> Result<()> {
        match &mut self.batch {
            Some(file) => file.write_all(&chunk.hl7).at(file.target().to_owned())?,
            None => {
                for (ordinal, range) in &chunk.messages {
                    let mut name = self.stem.as_os_str().to_owned();
                    name.push(format!("_{ordinal:06}.hl7"));
                    let mut file = AtomicFile::create(PathBuf::from(name))?;
                    file.write_all(&chunk.hl7[range.clone()]).at(file.target().to_owned())?;
                    self.message_files.push(file);
                }
            }
        }
        self.messages += chunk.messages.len() as u64;
        Ok(())
    }

    fn finish(
        mut self,
        job: &ConvertJob<'_>,
        report: &mut ConvertReport,
        encodings: &[FileEncoding; 2],
        staged: &mut StagedOutputs,
    ) -> Result<(String, ())> {
        report.messages = self.messages;
        if let Some(mut file) = self.batch.take() {
            let mut tail = Vec::new();
            vxu::write_batch_trailer(&mut tail, self.messages);
            file.write_all(&tail).at(file.target().to_owned())?;
            staged.0.push(file);
        }
        staged.0.append(&mut self.message_files);
        Ok((summary(job, report, encodings), ()))
    }
}

/// The directory of an output path (`.` for a bare name).
pub(crate) fn out_dir(out: &Path) -> &Path {
    out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// `out` without its extension: what the response and reject file names start with.
pub(crate) fn stem(out: &Path) -> PathBuf {
    out_dir(out).join(out.file_stem().unwrap_or_default())
}

/// The output files of a run: findings, rejects and the response, plus the sink's own.
struct Outputs<K> {
    sink: K,
    findings: File,
    rejects: [Option<RejectFile>; 2],
    encodings: [FileEncoding; 2],
    report: ConvertReport,
    stem: PathBuf,
}

/// A reject file: rejected lines, original bytes unchanged.
struct RejectFile {
    file: AtomicFile,
    /// The previous record had no line terminator (last line of its file).
    needs_newline: bool,
}

impl<K: UnitSink> Outputs<K> {
    fn new(job: &ConvertJob<'_>, ctx: &Context<'_>, sink: K) -> Result<Outputs<K>> {
        let out_dir = out_dir(&job.out);
        std::fs::create_dir_all(out_dir).at(out_dir)?;
        let findings = tempfile::tempfile_in(out_dir).at(out_dir)?;
        Ok(Outputs {
            sink,
            findings,
            rejects: [None, None],
            encodings: ctx.encodings,
            report: ConvertReport::default(),
            stem: stem(&job.out),
        })
    }

    fn reject_path(&self, which: usize) -> PathBuf {
        let suffix = if which == 0 { "_REJECTS_CLIENT.txt" } else { "_REJECTS_IMMUN.txt" };
        let mut name = self.stem.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }

    fn write_chunk(
        &mut self,
        ctx: &Context<'_>,
        batch: &Batch,
        chunk: &ChunkOut<K::Out>,
    ) -> Result<()> {
        self.findings.write_all(&chunk.findings).at("findings spill file")?;
        let mut more = Vec::new();
        self.sink.write(ctx, &chunk.sink, &mut more)?;
        self.findings.write_all(&more).at("findings spill file")?;
        for (which, (recs, indexes)) in
            [(&batch.clients, &chunk.rejected_clients), (&batch.doses, &chunk.rejected_doses)]
                .into_iter()
                .enumerate()
        {
            for &i in indexes {
                let rec = &recs[i];
                self.write_reject(
                    which,
                    &batch.raw[rec.raw.clone()],
                    rec.info.raw_len == rec.info.content_len,
                )?;
            }
        }
        self.report.clients.add(chunk.clients);
        self.report.immunizations.add(chunk.doses);
        Ok(())
    }

    fn write_reject(&mut self, which: usize, raw: &[u8], unterminated: bool) -> Result<()> {
        let path = self.reject_path(which);
        let encoding = self.encodings[which];
        if self.rejects[which].is_none() {
            let mut file = AtomicFile::create(&path)?;
            file.write_all(encoding.bom()).at(&path)?;
            self.rejects[which] = Some(RejectFile { file, needs_newline: false });
        }
        let Some(reject) = self.rejects[which].as_mut() else { return Ok(()) };
        if reject.needs_newline {
            reject.file.write_all(encoding.crlf()).at(&path)?;
        }
        reject.file.write_all(raw).at(&path)?;
        reject.needs_newline = unterminated;
        Ok(())
    }

    /// Finishes the sink and writes the response file; everything is staged, for the
    /// caller to publish.
    fn finish(
        mut self,
        job: &ConvertJob<'_>,
    ) -> Result<(ConvertReport, K::Summary, StagedOutputs)> {
        let mut staged = StagedOutputs(Vec::new());
        let (summary, sink_summary) =
            self.sink.finish(job, &mut self.report, &self.encodings, &mut staged)?;
        for reject in self.rejects.iter_mut() {
            if let Some(reject) = reject.take() {
                staged.0.push(reject.file);
            }
        }
        let mut name = self.stem.as_os_str().to_owned();
        name.push("_RESPONSE.txt");
        let path = PathBuf::from(name);
        let mut response = AtomicFile::create(&path)?;
        response.write_all(summary.as_bytes()).at(&path)?;
        self.findings.seek(SeekFrom::Start(0)).at("findings spill file")?;
        io::copy(&mut self.findings, &mut response).at(&path)?;
        staged.0.push(response);
        Ok((self.report, sink_summary, staged))
    }
}

fn summary(job: &ConvertJob<'_>, report: &ConvertReport, encodings: &[FileEncoding; 2]) -> String {
    let row = |name: &str, c: &Counts| {
        format!("{name:<22}{:>10}{:>11}{:>15}{:>10}\n", c.read, c.converted, c.warned, c.rejected)
    };
    let output = if job.one_per_file {
        format!("{}_NNNNNN.hl7 (one message per file)", file_name(&job.out.with_extension("")))
    } else {
        format!("{} (FHS/BHS batch)", file_name(&job.out))
    };
    format!(
        "{}\
         Output: {output}\n\
         \n\
         {:<22}{:>10}{:>11}{:>15}{:>10}\n{}{}\
         Messages written: {}\n\
         \n\
         Findings\n{}\n",
        job.response_header("convert (CAIR1 flat file to HL7 v2.5.1 VXU^V04)", encodings),
        "Records",
        "read",
        "converted",
        "with warnings",
        "rejected",
        row("Client records", &report.clients),
        row("Immunization records", &report.immunizations),
        report.messages,
        response::FINDINGS_HEADER,
    )
}

impl ConvertJob<'_> {
    /// The opening lines every response file of a flat-file job shares: the job, run
    /// time, layout and input files with their encodings.
    pub(crate) fn response_header(&self, job: &str, encodings: &[FileEncoding; 2]) -> String {
        let immunization_file = match &self.immunizations {
            Some(path) => format!("{} ({})", file_name(path), encodings[1].encoding.name()),
            None => "(none: demographics only)".into(),
        };
        format!(
            "CAIRDX RESPONSE FILE\n\
             Job: {job}\n\
             Run: {}\n\
             Layout: {}\n\
             Client file: {} ({})\n\
             Immunization file: {immunization_file}\n",
            self.clock.to_rfc3339(),
            self.layout.name,
            file_name(&self.client),
            encodings[0].encoding.name(),
        )
    }
}
