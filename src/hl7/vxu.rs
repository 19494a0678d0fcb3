//! The VXU^V04 writer (CDC IG 1.5 Z22 + CAIR2 local rules, formats.md §2): one message
//! per patient with all their doses, and the FHS/BHS/BTS/FTS batch envelope.

use chrono::NaiveDate;

use super::escape::escape_into;
use crate::model::{Coded, Dose, Patient, PersonName, Provider};

/// HL7 segment terminator.
pub const SEGMENT_END: u8 = b'\r';

/// Message-level values shared by every message of a run.
#[derive(Clone, Debug)]
pub struct Header<'j> {
    /// MSH-4 sending facility.
    pub sending_facility: &'j str,
    /// MSH-7 message time, `YYYYMMDDHHMMSS±ZZZZ`.
    pub timestamp: &'j str,
    /// Date used for PD1 effective dates, `YYYYMMDD`.
    pub run_date: &'j str,
    /// Prefix of MSH-10, unique per run.
    pub control_prefix: &'j str,
}

/// What one message needs besides the patient.
#[derive(Clone, Copy, Debug)]
pub struct MessageIds<'j> {
    /// MSH-10, unique per day per sender.
    pub control_id: &'j str,
    /// MSH-22 responsible organization, and the assigning authority of PID-3.
    pub responsible_site: &'j str,
}

/// Writes segments field by field, escaping values.
struct Segment<'o> {
    out: &'o mut Vec<u8>,
    field: usize,
}

impl<'o> Segment<'o> {
    fn start(out: &'o mut Vec<u8>, name: &str) -> Segment<'o> {
        out.extend_from_slice(name.as_bytes());
        Segment { out, field: 0 }
    }

    /// Starts a header segment (MSH, FHS, BHS), whose fields 1 and 2 are the delimiters.
    fn header(out: &'o mut Vec<u8>, name: &str) -> Segment<'o> {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"|^~\\&");
        Segment { out, field: 2 }
    }

    /// Moves to field `n` (1-based), leaving the fields between empty.
    fn at(&mut self, n: usize) -> &mut Self {
        while self.field < n {
            self.out.push(b'|');
            self.field += 1;
        }
        self
    }

    /// Writes an escaped value into the current field.
    fn text(&mut self, value: &str) -> &mut Self {
        escape_into(self.out, value);
        self
    }

    /// Writes components separated by `^`, escaped, without trailing empty components.
    fn components(&mut self, parts: &[&str]) -> &mut Self {
        let used = parts.iter().rposition(|p| !p.is_empty()).map_or(0, |i| i + 1);
        self.all(&parts[..used])
    }

    /// Writes every component, empty ones included (for types whose later components
    /// sit at fixed positions, like XPN-7 name type).
    fn all(&mut self, parts: &[&str]) -> &mut Self {
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                self.out.push(b'^');
            }
            escape_into(self.out, part);
        }
        self
    }

    fn coded(&mut self, code: Coded<'_>, system: &str) -> &mut Self {
        self.components(&[code.code, code.label, system])
    }

    /// Writes literal delimiters (already valid HL7).
    fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.out.extend_from_slice(bytes);
        self
    }

    /// Ends the segment. Trailing empty fields are dropped: a value's own `|` is
    /// always escaped, so a trailing `|` can only be a separator.
    fn end(&mut self) {
        while self.out.last() == Some(&b'|') {
            self.out.pop();
        }
        self.out.push(SEGMENT_END);
    }
}

/// `YYYYMMDD` as ASCII digits, without allocating (chrono's formatter parses its pattern
/// on every call, and dates are in every segment of a dose).
pub fn ymd(date: NaiveDate) -> [u8; 8] {
    use chrono::Datelike;
    let mut out = [b'0'; 8];
    let mut put = |at: usize, n: u32, width: usize| {
        let mut n = n;
        for i in (at..at + width).rev() {
            out[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, date.year().unsigned_abs(), 4);
    put(4, date.month(), 2);
    put(6, date.day(), 2);
    out
}

/// Appends the VXU of `patient` and `doses` to `out`.
pub fn write_message(
    out: &mut Vec<u8>,
    header: &Header<'_>,
    ids: MessageIds<'_>,
    patient: &Patient<'_, '_>,
    doses: &[Dose<'_, '_>],
) {
    Segment::header(out, "MSH")
        .at(3)
        .text("CAIRDX")
        .at(4)
        .text(header.sending_facility)
        .at(6)
        .text("CAIR2")
        .at(7)
        .text(header.timestamp)
        .at(9)
        .raw(b"VXU^V04^VXU_V04")
        .at(10)
        .text(ids.control_id)
        .at(11)
        .raw(b"P")
        .at(12)
        .raw(b"2.5.1")
        .at(15)
        .raw(b"ER")
        .at(16)
        .raw(b"AL")
        .at(21)
        .raw(b"Z22^CDCPHINVS")
        .at(22)
        .text(ids.responsible_site)
        .end();
    write_pid(out, ids, patient);
    write_pd1(out, header, patient);
    if let Some(resp) = &patient.responsible {
        let mut nk1 = Segment::start(out, "NK1");
        nk1.at(1).raw(b"1").at(2);
        name(&mut nk1, &resp.name, "");
        nk1.at(3).coded(resp.relationship, "HL70063").end();
    }
    for dose in doses {
        write_order(out, dose);
    }
}

fn name(seg: &mut Segment<'_>, n: &PersonName, suffix: &str) {
    seg.all(&[&n.last, &n.first, &n.middle, suffix, "", "", "L"]);
}

fn write_pid(out: &mut Vec<u8>, ids: MessageIds<'_>, p: &Patient<'_, '_>) {
    let mut pid = Segment::start(out, "PID");
    pid.at(1).raw(b"1").at(3);
    if p.chart_number.is_empty() {
        pid.components(&[p.record_id, "", "", ids.responsible_site, "PI"]);
    } else {
        pid.components(&[p.chart_number, "", "", ids.responsible_site, "MR"]);
    }
    if !p.medi_cal_cin.is_empty() {
        pid.raw(b"~").components(&[p.medi_cal_cin, "", "", "CAMEDICAL", "MA"]);
    }
    pid.at(5);
    name(&mut pid, &p.name, &p.suffix);
    if !p.mother.last.is_empty() {
        pid.at(6).all(&[&p.mother.last, &p.mother.first, "", "", "", "", "M"]);
    }
    pid.at(7).raw(&ymd(p.birth_date)).at(8).text(p.sex);
    if let Some(race) = p.race {
        pid.at(10).coded(race, "CDCREC");
    }
    if !(p.street.is_empty() && p.city.is_empty() && p.zip.is_empty()) {
        pid.at(11).components(&[
            &p.street, &p.street2, &p.city, p.state, &p.zip, "USA", "H", "", &p.county,
        ]);
    }
    pid.at(13);
    let mut reps = 0;
    if let Some((area, number)) = p.phone {
        pid.components(&["", "PRN", "PH", "", "", area, number]);
        reps += 1;
    }
    if !p.email.is_empty() {
        if reps > 0 {
            pid.raw(b"~");
        }
        pid.components(&["", "NET", "Internet", p.email]);
    }
    if let Some(language) = p.language {
        pid.at(15).coded(language, "HL70296");
    }
    if let Some(ethnicity) = p.ethnicity {
        pid.at(22).coded(ethnicity, "CDCREC");
    }
    if let Some(multiple) = p.multiple_birth {
        pid.at(24).text(if multiple { "Y" } else { "N" }).at(25).text(p.birth_order);
    }
    if let Some(death) = p.death_date {
        pid.at(29).raw(&ymd(death)).at(30).raw(b"Y");
    }
    pid.end();
}

fn write_pd1(out: &mut Vec<u8>, header: &Header<'_>, p: &Patient<'_, '_>) {
    Segment::start(out, "PD1")
        .at(11)
        .coded(p.publicity, "HL70215")
        .at(12)
        .text(if p.locked { "Y" } else { "N" })
        .at(13)
        .text(header.run_date)
        .at(16)
        .text(p.registry_status.code)
        .at(17)
        .text(header.run_date)
        .at(18)
        .text(header.run_date)
        .end();
}

fn provider(seg: &mut Segment<'_>, p: &Provider<'_>) {
    seg.components(&[p.npi, &p.last, &p.first, "", "", "", "", "", "CMS", "L", "", "", "NPI"]);
}

fn write_order(out: &mut Vec<u8>, d: &Dose<'_, '_>) {
    let refused = d.completion == "RE";
    let mut orc = Segment::start(out, "ORC");
    orc.at(1).raw(b"RE").at(3);
    if refused {
        // CDC IG 1.5: a refusal has no order; ORC-3 is the placeholder 9999^CDC.
        orc.raw(b"9999^CDC");
    } else {
        orc.components(&[&d.order_id, "CAIRDX"]);
    }
    if let (true, Some(p)) = (d.administered, &d.provider) {
        orc.at(12);
        provider(&mut orc, p);
    }
    orc.end();

    let date = ymd(d.date);
    let mut rxa = Segment::start(out, "RXA");
    rxa.at(1).raw(b"0").at(2).raw(b"1").at(3).raw(&date).at(4).raw(&date);
    rxa.at(5).coded(d.vaccine, "CVX").at(6);
    match d.amount {
        Some(amount) => rxa.text(amount).at(7).raw(b"mL^mL^UCUM"),
        None => rxa.raw(b"999"),
    };
    if let Some(source) = d.source {
        rxa.at(9).coded(source, "NIP001");
    }
    if d.administered && !refused {
        if let Some(p) = &d.provider {
            rxa.at(10);
            provider(&mut rxa, p);
        }
        rxa.at(11).components(&["", "", "", d.admin_site]);
        rxa.at(15).text(d.lot);
        if let Some(exp) = d.lot_expiration {
            rxa.at(16).raw(&ymd(exp));
        }
        if let Some(mvx) = d.mvx {
            rxa.at(17).coded(mvx, "MVX");
        }
    }
    if let Some(reason) = d.refusal {
        rxa.at(18).coded(reason, "NIP002");
    }
    rxa.at(20).text(d.completion).at(21).text(d.action).end();

    if let Some(route) = d.route {
        let mut rxr = Segment::start(out, "RXR");
        rxr.at(1).coded(route, "NCIT");
        if let Some(site) = d.body_site {
            rxr.at(2).coded(site, "HL70163");
        }
        rxr.end();
    }
    let mut obx = ObxWriter { out, set_id: 0, date: &date };
    if let Some(eligibility) = d.eligibility {
        obx.coded(
            "64994-7^Vaccine funding program eligibility category^LN",
            1,
            eligibility,
            "HL70064",
            true,
        );
    }
    if let Some(funding) = d.funding {
        obx.coded("30963-3^Vaccine funding source^LN", 2, funding, "CDCPHINVS", false);
    }
    if d.vis_published.is_some() || d.vis_presented.is_some() {
        obx.coded("30956-7^Vaccine type^LN", 3, d.vaccine, "CVX", false);
        if let Some(published) = d.vis_published {
            obx.date("29768-9^Date vaccine information statement published^LN", 3, published);
        }
        if let Some(presented) = d.vis_presented {
            obx.date("29769-7^Date vaccine information statement presented^LN", 3, presented);
        }
    }
}

/// Numbers the OBX segments of one order group.
struct ObxWriter<'o, 'd> {
    out: &'o mut Vec<u8>,
    set_id: usize,
    date: &'d [u8; 8],
}

impl ObxWriter<'_, '_> {
    fn start(&mut self, value_type: &str, observation: &str, sub_id: usize) -> Segment<'_> {
        self.set_id += 1;
        let mut seg = Segment::start(self.out, "OBX");
        seg.at(1).text(&self.set_id.to_string()).at(2).raw(value_type.as_bytes());
        seg.at(3).raw(observation.as_bytes()).at(4).text(&sub_id.to_string()).at(5);
        seg
    }

    fn coded(
        &mut self,
        observation: &str,
        sub_id: usize,
        value: Coded<'_>,
        system: &str,
        per_dose: bool,
    ) {
        let date = self.date;
        let mut seg = self.start("CE", observation, sub_id);
        seg.coded(value, system).at(11).raw(b"F").at(14).raw(date);
        if per_dose {
            seg.at(17).raw(b"VXC40^Eligibility captured at the immunization level^CDCPHINVS");
        }
        seg.end();
    }

    fn date(&mut self, observation: &str, sub_id: usize, value: NaiveDate) {
        let date = self.date;
        self.start("DT", observation, sub_id)
            .raw(&ymd(value))
            .at(11)
            .raw(b"F")
            .at(14)
            .raw(date)
            .end();
    }
}

/// Appends the FHS and BHS segments that open a batch file.
pub fn write_batch_header(out: &mut Vec<u8>, header: &Header<'_>, file_name: &str) {
    for (name, id_field, id) in [("FHS", 11, "F"), ("BHS", 11, "B")] {
        let mut seg = Segment::header(out, name);
        seg.at(3).text("CAIRDX").at(4).text(header.sending_facility);
        seg.at(6).text("CAIR2").at(7).text(header.timestamp);
        if name == "FHS" {
            seg.at(9).text(file_name);
        }
        seg.at(id_field).text(id).text(header.control_prefix).end();
    }
}

/// Appends the BTS and FTS segments that close a batch of `messages` messages.
pub fn write_batch_trailer(out: &mut Vec<u8>, messages: u64) {
    Segment::start(out, "BTS").at(1).text(&messages.to_string()).end();
    Segment::start(out, "FTS").at(1).raw(b"1").end();
}
