//! Synthetic CAIR1 flat-file pairs (`cairdx generate`): seeded random pairs of any size for
//! benchmarks and load tests, and the hand-picked showcase pair shipped in `sample_data/`.
//! Every person, address, phone number and provider here is invented.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use encoding_rs::{EncoderResult, WINDOWS_1252};
use fastrand::Rng;

use crate::app::ExitStatus;
use crate::cli::GenerateArgs;
use crate::error::{Error, IoContext, Result};
use crate::sink::AtomicFile;

/// What [`write_random_pair`] generates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomOptions {
    /// Number of immunization records to write; patients are added until it is reached.
    pub doses: u64,
    /// Seed of the random generator: the same seed gives byte-identical files.
    pub seed: u64,
    /// CAIR site id written into every client record and administered dose (≤ 10 characters).
    pub site_id: String,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Client records (lines of the client file, deliberately bad ones included).
    pub patients: u64,
    /// Immunization records (lines of the immunization file).
    pub doses: u64,
}

/// Writes a random, valid CAIR1 pair of exactly `opts.doses` immunization records.
///
/// Patients get 1–10 doses (about 4 on average), written right after their client record
/// is, so memory does not grow with the size. Pass buffered writers: every record is one
/// `write_all`. The output depends only on `opts`, never on the clock or the machine.
pub fn write_random_pair(
    opts: &RandomOptions,
    client: &mut impl Write,
    immun: &mut impl Write,
) -> io::Result<Summary> {
    let mut rng = Rng::with_seed(opts.seed);
    let mut scratch = PersonScratch::default();
    let mut lot = String::new();
    let mut client_line = Line::new(CLIENT_WIDTH);
    let mut immun_line = Line::new(IMMUN_WIDTH);
    let mut days = [0u32; MAX_DOSES_PER_PATIENT];
    let mut summary = Summary::default();
    while summary.doses < opts.doses {
        summary.patients += 1;
        let (person, dob) = random_person(&mut rng, &mut scratch, summary.patients, &opts.site_id);
        render_client(&person, &mut client_line)?;
        client_line.write(client)?;

        let wanted = usize::from(*pick(&mut rng, &DOSES_PER_PATIENT));
        let count = usize::try_from(opts.doses - summary.doses).map_or(wanted, |r| r.min(wanted));
        let patient_days = &mut days[..count];
        random_dose_days(&mut rng, dob, patient_days);
        for &day in patient_days.iter() {
            let dose = random_dose(&mut rng, &mut lot, person.record_id, &opts.site_id, dob, day);
            render_dose(&dose, &mut immun_line)?;
            immun_line.write(immun)?;
        }
        summary.doses += count as u64;
    }
    Ok(summary)
}

/// Writes the fixed showcase pair of `sample_data/` (12 client records, 35 immunization
/// records): accents, twins, a locked and a deceased patient, refusals, updates and
/// deletes, and deliberately bad lines. `sample_data/README.md` lists each record.
pub fn write_showcase_pair(client: &mut impl Write, immun: &mut impl Write) -> io::Result<Summary> {
    let mut client_line = Line::new(CLIENT_WIDTH);
    let mut immun_line = Line::new(IMMUN_WIDTH);
    let mut summary = Summary::default();
    for patient in showcase_patients() {
        render_client(&patient.client, &mut client_line)?;
        match patient.cut_at {
            Some(len) => client_line.write_cut(client, len)?,
            None => client_line.write(client)?,
        }
        summary.patients += 1;
        for dose in &patient.doses {
            render_dose(dose, &mut immun_line)?;
            immun_line.write(immun)?;
            summary.doses += 1;
        }
    }
    // The orphan comes last: it belongs to no client, so no client order places it.
    render_dose(&showcase_orphan(), &mut immun_line)?;
    immun_line.write(immun)?;
    summary.doses += 1;
    Ok(summary)
}

/// `cairdx generate`: writes `<out_dir>/<stem>_CLIENT.txt` and `<stem>_IMMUN.txt`.
///
/// Both files are published only once both are completely written.
pub fn run(args: &GenerateArgs) -> Result<ExitStatus> {
    check_stem(&args.stem)?;
    if !args.showcase {
        check_site_id(&args.site_id)?;
    }
    fs::create_dir_all(&args.out_dir).at(&args.out_dir)?;
    let client_path = args.out_dir.join(format!("{}_CLIENT.txt", args.stem));
    let immun_path = args.out_dir.join(format!("{}_IMMUN.txt", args.stem));
    let mut client = Tracked::new(AtomicFile::create(&client_path)?);
    let mut immun = Tracked::new(AtomicFile::create(&immun_path)?);
    let written = if args.showcase {
        write_showcase_pair(&mut client, &mut immun)
    } else {
        let opts =
            RandomOptions { doses: args.doses, seed: args.seed, site_id: args.site_id.clone() };
        write_random_pair(&opts, &mut client, &mut immun)
    };
    let summary = written.map_err(|source| {
        // An error that no writer saw is a record the generator could not build.
        let path = if client.failed {
            &client_path
        } else if immun.failed {
            &immun_path
        } else {
            &args.out_dir
        };
        Error::io(path, source)
    })?;
    // Immunizations first: if the second rename fails, a lone immunization file is rejected
    // whole by the loader, whereas a lone client file would pass as demographics only.
    immun.inner.commit()?;
    client.inner.commit()?;
    tracing::info!(
        patients = summary.patients,
        doses = summary.doses,
        showcase = args.showcase,
        out_dir = %args.out_dir.display(),
        "wrote CAIR1 pair"
    );
    Ok(ExitStatus::Ok)
}

fn check_stem(stem: &str) -> Result<()> {
    if Path::new(stem).file_name() == Some(OsStr::new(stem)) {
        Ok(())
    } else {
        Err(Error::Argument { flag: "--stem", reason: "must be a plain file name".into() })
    }
}

fn check_site_id(site_id: &str) -> Result<()> {
    let field = client_field::SITE_ID;
    if !site_id.is_empty() && site_id.is_ascii() && site_id.len() <= field.width() {
        Ok(())
    } else {
        Err(Error::Argument {
            flag: "--site-id",
            reason: format!("must be 1 to {} ASCII characters", field.width()),
        })
    }
}

/// A writer that remembers whether it failed, so the error can name the right file.
struct Tracked<W> {
    inner: W,
    failed: bool,
}

impl<W: Write> Tracked<W> {
    fn new(inner: W) -> Tracked<W> {
        Tracked { inner, failed: false }
    }

    fn track<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        self.failed |= result.is_err();
        result
    }
}

impl<W: Write> Write for Tracked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.inner.write(buf);
        self.track(result)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let result = self.inner.write_all(buf);
        self.track(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.inner.flush();
        self.track(result)
    }
}

// ---------------------------------------------------------------------------------------
// Fixed-width records

/// A field of the fixed-width layout, 1-based inclusive positions as in the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Field {
    name: &'static str,
    start: usize,
    end: usize,
}

impl Field {
    const fn width(self) -> usize {
        self.end - self.start + 1
    }
}

const CLIENT_WIDTH: usize = 560;
const IMMUN_WIDTH: usize = 216;

/// Positions of the client record. They copy `specs/layouts/cair1.toml` (a test keeps them
/// equal) because the generator always writes that canonical layout, whatever a job loads.
mod client_field {
    use super::Field;

    const fn f(name: &'static str, start: usize, end: usize) -> Field {
        Field { name, start, end }
    }

    pub const RECORD_ID: Field = f("record_id", 1, 24);
    pub const CLIENT_STATUS: Field = f("client_status", 25, 25);
    pub const FIRST_NAME: Field = f("first_name", 26, 50);
    pub const MIDDLE_NAME: Field = f("middle_name", 51, 75);
    pub const LAST_NAME: Field = f("last_name", 76, 110);
    pub const NAME_SUFFIX: Field = f("name_suffix", 111, 120);
    pub const BIRTH_DATE: Field = f("birth_date", 121, 128);
    pub const DEATH_DATE: Field = f("death_date", 129, 136);
    pub const MOTHER_FIRST_NAME: Field = f("mother_first_name", 137, 161);
    pub const MOTHER_MAIDEN_LAST: Field = f("mother_maiden_last", 162, 196);
    pub const SEX: Field = f("sex", 197, 197);
    pub const RACE: Field = f("race", 198, 198);
    pub const ETHNICITY: Field = f("ethnicity", 199, 200);
    pub const SSN: Field = f("ssn", 201, 209);
    pub const CONTACT_ALLOWED: Field = f("contact_allowed", 210, 211);
    pub const CONSENT_TO_SHARE: Field = f("consent_to_share", 212, 212);
    pub const CHART_NUMBER: Field = f("chart_number", 213, 232);
    pub const RESP_FIRST_NAME: Field = f("resp_first_name", 233, 257);
    pub const RESP_MIDDLE_NAME: Field = f("resp_middle_name", 258, 282);
    pub const RESP_LAST_NAME: Field = f("resp_last_name", 283, 317);
    pub const RESP_RELATIONSHIP: Field = f("resp_relationship", 318, 319);
    pub const STREET: Field = f("street", 320, 374);
    pub const STREET2: Field = f("street2", 375, 429);
    pub const CITY: Field = f("city", 430, 459);
    pub const STATE: Field = f("state", 460, 461);
    pub const ZIP: Field = f("zip", 462, 470);
    pub const COUNTY_FIPS: Field = f("county_fips", 471, 473);
    pub const PHONE: Field = f("phone", 474, 483);
    pub const EMAIL: Field = f("email", 484, 533);
    pub const LANGUAGE: Field = f("language", 534, 536);
    pub const MULTIPLE_BIRTH: Field = f("multiple_birth", 537, 537);
    pub const BIRTH_ORDER: Field = f("birth_order", 538, 538);
    pub const MEDI_CAL_CIN: Field = f("medi_cal_cin", 539, 547);
    pub const SITE_ID: Field = f("site_id", 548, 557);

    #[cfg(test)]
    pub const ALL: [Field; 34] = [
        RECORD_ID,
        CLIENT_STATUS,
        FIRST_NAME,
        MIDDLE_NAME,
        LAST_NAME,
        NAME_SUFFIX,
        BIRTH_DATE,
        DEATH_DATE,
        MOTHER_FIRST_NAME,
        MOTHER_MAIDEN_LAST,
        SEX,
        RACE,
        ETHNICITY,
        SSN,
        CONTACT_ALLOWED,
        CONSENT_TO_SHARE,
        CHART_NUMBER,
        RESP_FIRST_NAME,
        RESP_MIDDLE_NAME,
        RESP_LAST_NAME,
        RESP_RELATIONSHIP,
        STREET,
        STREET2,
        CITY,
        STATE,
        ZIP,
        COUNTY_FIPS,
        PHONE,
        EMAIL,
        LANGUAGE,
        MULTIPLE_BIRTH,
        BIRTH_ORDER,
        MEDI_CAL_CIN,
        SITE_ID,
    ];
}

/// Positions of the immunization record, copied from `specs/layouts/cair1.toml` like
/// [`client_field`].
mod immun_field {
    use super::Field;

    const fn f(name: &'static str, start: usize, end: usize) -> Field {
        Field { name, start, end }
    }

    pub const RECORD_ID: Field = f("record_id", 1, 24);
    pub const VACCINATION_DATE: Field = f("vaccination_date", 25, 32);
    pub const CVX: Field = f("cvx", 33, 35);
    pub const CPT: Field = f("cpt", 36, 40);
    pub const NDC: Field = f("ndc", 41, 51);
    pub const TRADE_NAME: Field = f("trade_name", 52, 81);
    pub const MVX: Field = f("mvx", 82, 84);
    pub const LOT_NUMBER: Field = f("lot_number", 85, 104);
    pub const LOT_EXPIRATION: Field = f("lot_expiration", 105, 112);
    pub const DOSE_AMOUNT: Field = f("dose_amount", 113, 118);
    pub const ROUTE: Field = f("route", 119, 120);
    pub const BODY_SITE: Field = f("body_site", 121, 124);
    pub const HISTORICAL: Field = f("historical", 125, 125);
    pub const INFO_SOURCE: Field = f("info_source", 126, 127);
    pub const VFC_ELIGIBILITY: Field = f("vfc_eligibility", 128, 130);
    pub const FUNDING_SOURCE: Field = f("funding_source", 131, 135);
    pub const PROVIDER_NPI: Field = f("provider_npi", 136, 145);
    pub const PROVIDER_LAST: Field = f("provider_last", 146, 170);
    pub const PROVIDER_FIRST: Field = f("provider_first", 171, 185);
    pub const SITE_ID: Field = f("site_id", 186, 195);
    pub const REFUSAL_REASON: Field = f("refusal_reason", 196, 197);
    pub const COMPLETION_STATUS: Field = f("completion_status", 198, 199);
    pub const ACTION: Field = f("action", 200, 200);
    pub const VIS_PUBLISHED: Field = f("vis_published", 201, 208);
    pub const VIS_PRESENTED: Field = f("vis_presented", 209, 216);

    #[cfg(test)]
    pub const ALL: [Field; 25] = [
        RECORD_ID,
        VACCINATION_DATE,
        CVX,
        CPT,
        NDC,
        TRADE_NAME,
        MVX,
        LOT_NUMBER,
        LOT_EXPIRATION,
        DOSE_AMOUNT,
        ROUTE,
        BODY_SITE,
        HISTORICAL,
        INFO_SOURCE,
        VFC_ELIGIBILITY,
        FUNDING_SOURCE,
        PROVIDER_NPI,
        PROVIDER_LAST,
        PROVIDER_FIRST,
        SITE_ID,
        REFUSAL_REASON,
        COMPLETION_STATUS,
        ACTION,
        VIS_PUBLISHED,
        VIS_PRESENTED,
    ];
}

/// One record being assembled in Windows-1252, blank-filled, with its CRLF. Reused for
/// every record so that writing a million records allocates nothing.
struct Line {
    buf: Vec<u8>,
    width: usize,
}

impl Line {
    fn new(width: usize) -> Line {
        let mut buf = vec![b' '; width + 2];
        buf[width..].copy_from_slice(b"\r\n");
        Line { buf, width }
    }

    fn clear(&mut self) {
        self.buf[..self.width].fill(b' ');
    }

    fn slot(&mut self, field: Field) -> &mut [u8] {
        &mut self.buf[field.start - 1..field.end]
    }

    /// Left-justifies `value`; a value too long or not in Windows-1252 is a bug of the
    /// generator, reported rather than cut so that no test can pass on a mangled record.
    fn put(&mut self, field: Field, value: &str) -> io::Result<()> {
        if value.is_ascii() {
            return self.put_ascii(field, value.as_bytes());
        }
        let mut encoder = WINDOWS_1252.new_encoder();
        let (result, _, _) =
            encoder.encode_from_utf8_without_replacement(value, self.slot(field), true);
        match result {
            EncoderResult::InputEmpty => Ok(()),
            EncoderResult::OutputFull => Err(too_long(field)),
            EncoderResult::Unmappable(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("generated {} has a character outside Windows-1252", field.name),
            )),
        }
    }

    /// Right-justifies a number, as formats.md 1 has numeric fields.
    fn put_right(&mut self, field: Field, value: &str) -> io::Result<()> {
        let slot = self.slot(field);
        let start = slot.len().checked_sub(value.len()).ok_or_else(|| too_long(field))?;
        slot[start..].copy_from_slice(value.as_bytes());
        Ok(())
    }

    fn put_ascii(&mut self, field: Field, value: &[u8]) -> io::Result<()> {
        let slot = self.slot(field);
        let target = slot.get_mut(..value.len()).ok_or_else(|| too_long(field))?;
        target.copy_from_slice(value);
        Ok(())
    }

    fn put_date(&mut self, field: Field, when: When<'_>) -> io::Result<()> {
        match when {
            When::Blank => Ok(()),
            When::On(date) => self.put_ascii(field, &date.mmddyyyy()),
            When::Raw(text) => self.put(field, text),
        }
    }

    fn write(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&self.buf)
    }

    /// Writes only the first `len` positions, as a sender's truncated line would be.
    fn write_cut(&self, out: &mut impl Write, len: usize) -> io::Result<()> {
        out.write_all(&self.buf[..len.min(self.width)])?;
        out.write_all(b"\r\n")
    }
}

fn too_long(field: Field) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("generated {} is longer than {} positions", field.name, field.width()),
    )
}

/// A calendar date. Plain day arithmetic instead of chrono: every generated day is in
/// range, so no conversion can fail and nothing needs an `Option`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    const fn new(year: u16, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    /// Days since 0000-03-01 (proleptic Gregorian), after H. Hinnant's `days_from_civil`;
    /// counting from March puts the leap day last, which keeps the formula branch-free.
    const fn to_days(self) -> u32 {
        let month = self.month as u32;
        let year = self.year as u32 - if month <= 2 { 1 } else { 0 };
        let era = year / 400;
        let year_of_era = year - era * 400;
        let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + self.day as u32 - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era
    }

    /// The inverse of [`Date::to_days`] (`civil_from_days`).
    const fn from_days(days: u32) -> Date {
        let era = days / 146_097;
        let day_of_era = days - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
        let year = year_of_era + era * 400 + if month <= 2 { 1 } else { 0 };
        Date { year: year as u16, month: month as u8, day: day as u8 }
    }

    fn mmddyyyy(self) -> [u8; 8] {
        let digit = |n: u16| b'0' + (n % 10) as u8;
        let (m, d, y) = (u16::from(self.month), u16::from(self.day), self.year);
        [
            digit(m / 10),
            digit(m),
            digit(d / 10),
            digit(d),
            digit(y / 1000),
            digit(y / 100),
            digit(y / 10),
            digit(y),
        ]
    }
}

/// A date field: blank, a date, or (showcase only) text that is deliberately not a date.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum When<'a> {
    #[default]
    Blank,
    On(Date),
    Raw(&'a str),
}

/// One client record, field by field (blank = empty string).
#[derive(Debug, Clone, Default)]
struct Client<'a> {
    record_id: &'a str,
    status: &'a str,
    first: &'a str,
    middle: &'a str,
    last: &'a str,
    suffix: &'a str,
    birth: When<'a>,
    death: When<'a>,
    mother_first: &'a str,
    mother_maiden: &'a str,
    sex: &'a str,
    race: &'a str,
    ethnicity: &'a str,
    ssn: &'a str,
    contact_allowed: &'a str,
    consent: &'a str,
    chart: &'a str,
    resp_first: &'a str,
    resp_middle: &'a str,
    resp_last: &'a str,
    resp_relationship: &'a str,
    street: &'a str,
    street2: &'a str,
    city: &'a str,
    state: &'a str,
    zip: &'a str,
    county: &'a str,
    phone: &'a str,
    email: &'a str,
    language: &'a str,
    multiple_birth: &'a str,
    birth_order: &'a str,
    medi_cal_cin: &'a str,
    site_id: &'a str,
}

fn render_client(c: &Client<'_>, line: &mut Line) -> io::Result<()> {
    use client_field as f;
    line.clear();
    line.put(f::RECORD_ID, c.record_id)?;
    line.put(f::CLIENT_STATUS, c.status)?;
    line.put(f::FIRST_NAME, c.first)?;
    line.put(f::MIDDLE_NAME, c.middle)?;
    line.put(f::LAST_NAME, c.last)?;
    line.put(f::NAME_SUFFIX, c.suffix)?;
    line.put_date(f::BIRTH_DATE, c.birth)?;
    line.put_date(f::DEATH_DATE, c.death)?;
    line.put(f::MOTHER_FIRST_NAME, c.mother_first)?;
    line.put(f::MOTHER_MAIDEN_LAST, c.mother_maiden)?;
    line.put(f::SEX, c.sex)?;
    line.put(f::RACE, c.race)?;
    line.put(f::ETHNICITY, c.ethnicity)?;
    line.put(f::SSN, c.ssn)?;
    line.put(f::CONTACT_ALLOWED, c.contact_allowed)?;
    line.put(f::CONSENT_TO_SHARE, c.consent)?;
    line.put(f::CHART_NUMBER, c.chart)?;
    line.put(f::RESP_FIRST_NAME, c.resp_first)?;
    line.put(f::RESP_MIDDLE_NAME, c.resp_middle)?;
    line.put(f::RESP_LAST_NAME, c.resp_last)?;
    line.put(f::RESP_RELATIONSHIP, c.resp_relationship)?;
    line.put(f::STREET, c.street)?;
    line.put(f::STREET2, c.street2)?;
    line.put(f::CITY, c.city)?;
    line.put(f::STATE, c.state)?;
    line.put(f::ZIP, c.zip)?;
    line.put(f::COUNTY_FIPS, c.county)?;
    line.put(f::PHONE, c.phone)?;
    line.put(f::EMAIL, c.email)?;
    line.put(f::LANGUAGE, c.language)?;
    line.put(f::MULTIPLE_BIRTH, c.multiple_birth)?;
    line.put(f::BIRTH_ORDER, c.birth_order)?;
    line.put(f::MEDI_CAL_CIN, c.medi_cal_cin)?;
    line.put(f::SITE_ID, c.site_id)
}

/// One immunization record, field by field (blank = empty string).
#[derive(Debug, Clone, Default)]
struct Dose<'a> {
    record_id: &'a str,
    date: When<'a>,
    cvx: &'a str,
    cpt: &'a str,
    ndc: &'a str,
    trade_name: &'a str,
    mvx: &'a str,
    lot: &'a str,
    lot_expiration: When<'a>,
    amount: &'a str,
    route: &'a str,
    body_site: &'a str,
    historical: &'a str,
    info_source: &'a str,
    vfc: &'a str,
    funding: &'a str,
    provider: Option<&'a Provider>,
    site_id: &'a str,
    refusal: &'a str,
    completion: &'a str,
    action: &'a str,
    vis_published: When<'a>,
    vis_presented: When<'a>,
}

fn render_dose(d: &Dose<'_>, line: &mut Line) -> io::Result<()> {
    use immun_field as f;
    line.clear();
    line.put(f::RECORD_ID, d.record_id)?;
    line.put_date(f::VACCINATION_DATE, d.date)?;
    line.put(f::CVX, d.cvx)?;
    line.put(f::CPT, d.cpt)?;
    line.put(f::NDC, d.ndc)?;
    line.put(f::TRADE_NAME, d.trade_name)?;
    line.put(f::MVX, d.mvx)?;
    line.put(f::LOT_NUMBER, d.lot)?;
    line.put_date(f::LOT_EXPIRATION, d.lot_expiration)?;
    line.put_right(f::DOSE_AMOUNT, d.amount)?;
    line.put(f::ROUTE, d.route)?;
    line.put(f::BODY_SITE, d.body_site)?;
    line.put(f::HISTORICAL, d.historical)?;
    line.put(f::INFO_SOURCE, d.info_source)?;
    line.put(f::VFC_ELIGIBILITY, d.vfc)?;
    line.put(f::FUNDING_SOURCE, d.funding)?;
    if let Some(p) = d.provider {
        line.put(f::PROVIDER_NPI, p.npi)?;
        line.put(f::PROVIDER_LAST, p.last)?;
        line.put(f::PROVIDER_FIRST, p.first)?;
    }
    line.put(f::SITE_ID, d.site_id)?;
    line.put(f::REFUSAL_REASON, d.refusal)?;
    line.put(f::COMPLETION_STATUS, d.completion)?;
    line.put(f::ACTION, d.action)?;
    line.put_date(f::VIS_PUBLISHED, d.vis_published)?;
    line.put_date(f::VIS_PRESENTED, d.vis_presented)
}

// ---------------------------------------------------------------------------------------
// Code lists. Every code is taken from the spec tables named beside it; the test
// `emitted_codes_exist_in_spec_tables` checks them against the CSV files.

/// A vaccine product the generator can record, with codes that agree with each other.
#[derive(Debug, Clone, Copy)]
struct Vaccine {
    /// `cdc/cvx.csv`; all Active, since administered doses of inactive CVX draw warnings.
    cvx: &'static str,
    /// `cdc/cpt_cvx.csv`; blank when the CPT code maps to more than one CVX.
    cpt: &'static str,
    /// `cdc/ndc_cvx.csv`, 11 digits, from the same manufacturer as `mvx`.
    ndc: &'static str,
    /// `cdc/product_tradename_cvx_mvx.csv`: a manufacturer listed for this CVX.
    mvx: &'static str,
    /// Product name from the same row, or blank when it exceeds the 30-position field.
    trade_name: &'static str,
    /// `cair1/route.csv`.
    route: &'static str,
    /// Dose volume in mL, as on the package insert.
    ml: &'static str,
    /// Ages (in months, end exclusive) at which the product is given.
    months: (u32, u32),
    /// Years (inclusive) in which the product was in use in the United States.
    years: (u16, u16),
}

impl Vaccine {
    fn fits(&self, age_months: u32, year: u16) -> bool {
        (self.months.0..self.months.1).contains(&age_months)
            && (self.years.0..=self.years.1).contains(&year)
    }
}

const NOW: u16 = 9999;
const FOREVER: u32 = u32::MAX;
const ADULT_MONTHS: u32 = 19 * 12;

/// Fallbacks when no product fits a dose's age and year; both fit every age and year the
/// generator uses (a test checks).
const HEPB_PEDS: Vaccine = Vaccine {
    cvx: "08",
    cpt: "90744",
    ndc: "58160082001",
    mvx: "SKB",
    trade_name: "ENGERIX B-PEDS",
    route: "IM",
    ml: "0.5",
    months: (0, ADULT_MONTHS),
    years: (1990, NOW),
};
const HEPB_ADULT: Vaccine = Vaccine {
    cvx: "43",
    cpt: "90746",
    ndc: "58160082143",
    mvx: "SKB",
    trade_name: "ENGERIX-B-ADULT",
    route: "IM",
    ml: "1.0",
    months: (ADULT_MONTHS, FOREVER),
    years: (1990, NOW),
};

/// The products random doses are drawn from (doses outside a product's ages and years are
/// redrawn). One product per line, unformatted, so that the table can be read as one.
#[rustfmt::skip]
const VACCINES: &[Vaccine] = &[
    HEPB_PEDS,
    HEPB_ADULT,
    Vaccine { cvx: "08", cpt: "90744", ndc: "00006409301", mvx: "MSD", trade_name: "RECOMBIVAX-PEDS", route: "IM", ml: "0.5", months: (0, ADULT_MONTHS), years: (1990, NOW) },
    Vaccine { cvx: "20", cpt: "", ndc: "58160081001", mvx: "SKB", trade_name: "INFANRIX", route: "IM", ml: "0.5", months: (2, 84), years: (1997, NOW) },
    Vaccine { cvx: "106", cpt: "", ndc: "49281028658", mvx: "PMC", trade_name: "DAPTACEL", route: "IM", ml: "0.5", months: (2, 84), years: (2002, NOW) },
    Vaccine { cvx: "110", cpt: "90723", ndc: "58160081141", mvx: "SKB", trade_name: "PEDIARIX", route: "IM", ml: "0.5", months: (2, 84), years: (2003, NOW) },
    Vaccine { cvx: "120", cpt: "90698", ndc: "49281054458", mvx: "PMC", trade_name: "PENTACEL", route: "IM", ml: "0.5", months: (2, 60), years: (2008, NOW) },
    Vaccine { cvx: "10", cpt: "90713", ndc: "49281086078", mvx: "PMC", trade_name: "IPOL", route: "SC", ml: "0.5", months: (2, FOREVER), years: (1990, NOW) },
    Vaccine { cvx: "49", cpt: "90647", ndc: "00006489701", mvx: "MSD", trade_name: "PEDVAXHIB", route: "IM", ml: "0.5", months: (2, 60), years: (1990, NOW) },
    Vaccine { cvx: "133", cpt: "90670", ndc: "00005197101", mvx: "PFR", trade_name: "PREVNAR 13", route: "IM", ml: "0.5", months: (2, 72), years: (2010, NOW) },
    Vaccine { cvx: "215", cpt: "90671", ndc: "00006432901", mvx: "MSD", trade_name: "VAXNEUVANCE", route: "IM", ml: "0.5", months: (2, 72), years: (2022, NOW) },
    Vaccine { cvx: "116", cpt: "90680", ndc: "00006404701", mvx: "MSD", trade_name: "ROTATEQ", route: "PO", ml: "2.0", months: (2, 8), years: (2006, NOW) },
    Vaccine { cvx: "119", cpt: "90681", ndc: "58160085101", mvx: "SKB", trade_name: "ROTARIX", route: "PO", ml: "1.0", months: (2, 8), years: (2008, NOW) },
    Vaccine { cvx: "03", cpt: "90707", ndc: "00006468101", mvx: "MSD", trade_name: "M-M-R II", route: "SC", ml: "0.5", months: (12, FOREVER), years: (1990, NOW) },
    Vaccine { cvx: "03", cpt: "90707", ndc: "58160083103", mvx: "SKB", trade_name: "Priorix", route: "SC", ml: "0.5", months: (12, FOREVER), years: (2022, NOW) },
    Vaccine { cvx: "21", cpt: "90716", ndc: "00006482601", mvx: "MSD", trade_name: "VARIVAX", route: "SC", ml: "0.5", months: (12, FOREVER), years: (1995, NOW) },
    Vaccine { cvx: "94", cpt: "90710", ndc: "00006417101", mvx: "MSD", trade_name: "PROQUAD", route: "SC", ml: "0.5", months: (12, 156), years: (2005, NOW) },
    Vaccine { cvx: "83", cpt: "90633", ndc: "58160082501", mvx: "SKB", trade_name: "HAVRIX-PEDS", route: "IM", ml: "0.5", months: (12, ADULT_MONTHS), years: (1995, NOW) },
    Vaccine { cvx: "115", cpt: "90715", ndc: "49281040058", mvx: "PMC", trade_name: "ADACEL", route: "IM", ml: "0.5", months: (120, FOREVER), years: (2005, NOW) },
    Vaccine { cvx: "115", cpt: "90715", ndc: "58160084201", mvx: "SKB", trade_name: "BOOSTRIX", route: "IM", ml: "0.5", months: (120, FOREVER), years: (2005, NOW) },
    Vaccine { cvx: "165", cpt: "90651", ndc: "00006411901", mvx: "MSD", trade_name: "Gardasil 9", route: "IM", ml: "0.5", months: (108, 552), years: (2015, NOW) },
    Vaccine { cvx: "62", cpt: "90649", ndc: "00006404501", mvx: "MSD", trade_name: "GARDASIL", route: "IM", ml: "0.5", months: (108, 324), years: (2006, 2016) },
    Vaccine { cvx: "136", cpt: "", ndc: "58160095801", mvx: "SKB", trade_name: "Menveo", route: "IM", ml: "0.5", months: (132, 672), years: (2010, NOW) },
    Vaccine { cvx: "163", cpt: "90620", ndc: "58160097602", mvx: "SKB", trade_name: "Bexsero", route: "IM", ml: "0.5", months: (120, 312), years: (2015, NOW) },
    Vaccine { cvx: "150", cpt: "90686", ndc: "19515080841", mvx: "IDB", trade_name: "", route: "IM", ml: "0.5", months: (6, FOREVER), years: (2013, 2024) },
    Vaccine { cvx: "161", cpt: "90685", ndc: "49281051300", mvx: "PMC", trade_name: "", route: "IM", ml: "0.25", months: (6, 36), years: (2013, 2019) },
    Vaccine { cvx: "171", cpt: "90674", ndc: "70461020011", mvx: "SEQ", trade_name: "", route: "IM", ml: "0.5", months: (48, FOREVER), years: (2016, 2024) },
    Vaccine { cvx: "140", cpt: "90656", ndc: "58160087941", mvx: "SKB", trade_name: "FLUARIX", route: "IM", ml: "0.5", months: (6, FOREVER), years: (2005, NOW) },
    Vaccine { cvx: "141", cpt: "90658", ndc: "49281064378", mvx: "PMC", trade_name: "FLUZONE", route: "IM", ml: "0.5", months: (36, FOREVER), years: (1995, NOW) },
    Vaccine { cvx: "149", cpt: "90672", ndc: "66019030001", mvx: "MED", trade_name: "Flumist quadrivalent", route: "NS", ml: "0.2", months: (24, 600), years: (2013, 2024) },
    Vaccine { cvx: "111", cpt: "90660", ndc: "66019011001", mvx: "MED", trade_name: "FluMist trivalent", route: "NS", ml: "0.2", months: (24, 600), years: (2024, NOW) },
    Vaccine { cvx: "197", cpt: "", ndc: "49281012088", mvx: "PMC", trade_name: "", route: "IM", ml: "0.7", months: (780, FOREVER), years: (2020, 2024) },
    Vaccine { cvx: "185", cpt: "90682", ndc: "49281071888", mvx: "PMC", trade_name: "", route: "IM", ml: "0.5", months: (216, FOREVER), years: (2017, 2024) },
    Vaccine { cvx: "309", cpt: "91320", ndc: "00069236201", mvx: "PFR", trade_name: "COMIRNATY", route: "IM", ml: "0.3", months: (144, FOREVER), years: (2024, NOW) },
    Vaccine { cvx: "312", cpt: "91322", ndc: "80777010201", mvx: "MOD", trade_name: "SPIKEVAX", route: "IM", ml: "0.5", months: (144, FOREVER), years: (2024, NOW) },
    Vaccine { cvx: "52", cpt: "90632", ndc: "58160082601", mvx: "SKB", trade_name: "HAVRIX-ADULT", route: "IM", ml: "1.0", months: (ADULT_MONTHS, FOREVER), years: (1995, NOW) },
    Vaccine { cvx: "104", cpt: "90636", ndc: "58160081501", mvx: "SKB", trade_name: "TWINRIX", route: "IM", ml: "1.0", months: (216, FOREVER), years: (2001, NOW) },
    Vaccine { cvx: "113", cpt: "", ndc: "49281021558", mvx: "PMC", trade_name: "Tenivac", route: "IM", ml: "0.5", months: (84, FOREVER), years: (2005, NOW) },
    Vaccine { cvx: "187", cpt: "90750", ndc: "58160082801", mvx: "SKB", trade_name: "SHINGRIX", route: "IM", ml: "0.5", months: (600, FOREVER), years: (2018, NOW) },
    Vaccine { cvx: "33", cpt: "90732", ndc: "00006494301", mvx: "MSD", trade_name: "PNEUMOVAX 23", route: "IM", ml: "0.5", months: (780, FOREVER), years: (1990, NOW) },
    Vaccine { cvx: "216", cpt: "90677", ndc: "00005200001", mvx: "PFR", trade_name: "PREVNAR 20", route: "IM", ml: "0.5", months: (ADULT_MONTHS, FOREVER), years: (2021, NOW) },
    Vaccine { cvx: "305", cpt: "90678", ndc: "00069020701", mvx: "PFR", trade_name: "ABRYSVO", route: "IM", ml: "0.5", months: (720, FOREVER), years: (2023, NOW) },
    Vaccine { cvx: "303", cpt: "90679", ndc: "58160072303", mvx: "SKB", trade_name: "Arexvy", route: "IM", ml: "0.5", months: (720, FOREVER), years: (2023, NOW) },
    Vaccine { cvx: "206", cpt: "90611", ndc: "50632000101", mvx: "BN", trade_name: "JYNNEOS", route: "ID", ml: "0.1", months: (216, FOREVER), years: (2022, NOW) },
];

/// A vaccinating provider. The NPIs deliberately fail the NPI check digit (Luhn over
/// `80840` + NPI), so none can be a real provider's number.
#[derive(Debug)]
struct Provider {
    npi: &'static str,
    last: &'static str,
    first: &'static str,
}

const PROVIDERS: [Provider; 8] = [
    Provider { npi: "1047293013", last: "Alvarado", first: "Teresa" },
    Provider { npi: "1133557909", last: "Bennett", first: "Claire" },
    Provider { npi: "1208466127", last: "Cárdenas", first: "Joaquín" },
    Provider { npi: "1357924686", last: "Duarte", first: "Elena" },
    Provider { npi: "1428675309", last: "Fischer", first: "Mark" },
    Provider { npi: "1582039748", last: "Okafor", first: "Grace" },
    Provider { npi: "1674520837", last: "Nakamura", first: "Ken" },
    Provider { npi: "1739205648", last: "Sandoval", first: "Inés" },
];

/// `hl7/nip001_immunization_information_source.csv`, the historical sources.
const INFO_SOURCES: [&str; 8] = ["01", "02", "03", "04", "05", "06", "07", "08"];
/// `hl7/hl70163_body_site.csv`.
const THIGHS: [&str; 2] = ["LT", "RT"];
const DELTOIDS: [&str; 2] = ["LD", "RD"];
const UPPER_ARMS: [&str; 2] = ["LA", "RA"];
/// `cair1/race.csv` plus blank (unknown).
const RACES: [&str; 7] = ["1", "2", "3", "4", "5", "6", ""];
/// Name suffixes as formats.md 1.1 lists them.
const SUFFIXES: [&str; 4] = ["JR", "SR", "II", "III"];
/// `cair1/relationship.csv`, the relationships of a minor's responsible party.
const MOTHER: &str = "MO";
const FATHER: &str = "FA";
const GUARDIAN: &str = "GU";
/// `hl7/hl70296_language.csv` (ISO 639-2, upper case as formats.md 1.1 writes them).
const ENGLISH: &str = "ENG";
const SPANISH: &str = "SPA";

/// VIS edition dates to quote as "published"; the latest one before a dose is used.
const VIS_EDITIONS: [Date; 5] = [
    Date::new(2012, 2, 8),
    Date::new(2015, 4, 15),
    Date::new(2019, 10, 30),
    Date::new(2021, 8, 6),
    Date::new(2024, 1, 31),
];

/// Doses per patient, drawn uniformly from this list: 1 to 10, about 4 on average.
const DOSES_PER_PATIENT: [u8; 20] = [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 8, 10];
const MAX_DOSES_PER_PATIENT: usize = 10;

const FIRST_BIRTH: u32 = Date::new(1950, 1, 1).to_days();
const CHILD_BIRTHS: u32 = Date::new(2005, 1, 1).to_days();
const LAST_BIRTH: u32 = Date::new(2025, 12, 31).to_days();
/// Registries hold few records from before the mid-1990s, so no dose predates this.
const FIRST_DOSE: u32 = Date::new(1995, 1, 1).to_days();
/// The last vaccination date (and no date is in the future of any run after it).
const LAST_DOSE: u32 = Date::new(2026, 10, 31).to_days();
const ADULT_AT_LAST_DOSE: u32 = LAST_DOSE - 18 * 365 - 4;

// ---------------------------------------------------------------------------------------
// Synthetic people: name and place lists

const SPANISH_FEMALE: &[&str] = &[
    "María",
    "Sofía",
    "Valentina",
    "Camila",
    "Lucía",
    "Ximena",
    "Guadalupe",
    "Itzel",
    "Fernanda",
    "Andrea",
    "Mónica",
    "Verónica",
    "Inés",
    "Ángela",
    "Natalia",
    "Daniela",
    "Paola",
    "Araceli",
    "Leticia",
    "Rocío",
    "Belén",
    "Marisol",
    "Yesenia",
    "Renée",
];
const SPANISH_MALE: &[&str] = &[
    "José",
    "Juan",
    "Luis",
    "Carlos",
    "Jesús",
    "Miguel",
    "Andrés",
    "Martín",
    "Iván",
    "Joaquín",
    "Rubén",
    "Sebastián",
    "Matías",
    "Santiago",
    "Mateo",
    "Héctor",
    "Óscar",
    "Nicolás",
    "Tomás",
    "Julián",
    "Ramón",
    "Raúl",
    "Adrián",
    "Emilio",
];
const ENGLISH_FEMALE: &[&str] = &[
    "Emma",
    "Olivia",
    "Ava",
    "Mia",
    "Emily",
    "Abigail",
    "Madison",
    "Chloe",
    "Grace",
    "Hannah",
    "Zoë",
    "Charlotte",
    "Harper",
    "Evelyn",
    "Amelia",
    "Ella",
    "Scarlett",
    "Nora",
    "Claire",
    "Priya",
    "Mai",
    "Aaliyah",
];
const ENGLISH_MALE: &[&str] = &[
    "Liam", "Noah", "Ethan", "James", "Benjamin", "Lucas", "Henry", "Owen", "Jackson", "Daniel",
    "Ryan", "Nathan", "William", "Elijah", "Logan", "Aiden", "Caleb", "Isaac", "Wyatt", "Gavin",
    "Minh", "Arjun",
];
const SPANISH_SURNAMES: &[&str] = &[
    "García",
    "Rodríguez",
    "Martínez",
    "Hernández",
    "López",
    "González",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Torres",
    "Flores",
    "Rivera",
    "Gómez",
    "Díaz",
    "Cruz",
    "Morales",
    "Reyes",
    "Gutiérrez",
    "Ortiz",
    "Chávez",
    "Ramos",
    "Ruiz",
    "Jiménez",
    "Vázquez",
    "Castillo",
    "Muñoz",
    "Peña",
    "Ibáñez",
    "Núñez",
    "Mendoza",
    "Aguilar",
    "Castañeda",
    "Villaseñor",
    "Saldaña",
    "Márquez",
    "Argüello",
    "Agüero",
    "De la Cruz",
    "De León",
    "Ávila",
];
const OTHER_SURNAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Walker", "O'Brien", "Nguyen", "Tran", "Kim", "Chen", "Wong", "Patel", "Singh", "Lee",
    "Young",
];
const STREETS: &[&str] = &[
    "Main St",
    "Oak Ave",
    "Mission St",
    "El Camino Real",
    "Calle Real",
    "Avenida del Sol",
    "Alameda Blvd",
    "Sunset Blvd",
    "Valley View Dr",
    "Mariposa Ave",
    "Vista del Mar",
    "Cesar Chavez Ave",
    "Olive St",
    "Eucalyptus Ln",
    "Sierra Vista Dr",
    "Calle Peñasco",
    "Camino de la Reina",
    "Jacaranda Way",
    "Redwood Ct",
    "Manzanita Rd",
];
const UNITS: &[&str] = &["Apt 2B", "Apt 114", "Unit 7", "Spc 12", "#305", "Apt C"];

/// A California city with its county (FIPS 06xxx, county part), a ZIP code and an area
/// code of the city.
struct Place {
    city: &'static str,
    county: &'static str,
    zip: &'static str,
    area: &'static str,
}

const fn place(
    city: &'static str,
    county: &'static str,
    zip: &'static str,
    area: &'static str,
) -> Place {
    Place { city, county, zip, area }
}

const PLACES: &[Place] = &[
    place("Los Angeles", "037", "90012", "213"),
    place("East Los Angeles", "037", "90022", "323"),
    place("San Diego", "073", "92101", "619"),
    place("Chula Vista", "073", "91910", "619"),
    place("San Jose", "085", "95112", "408"),
    place("Fresno", "019", "93721", "559"),
    place("Sacramento", "067", "95814", "916"),
    place("Oakland", "001", "94612", "510"),
    place("Fremont", "001", "94536", "510"),
    place("Bakersfield", "029", "93301", "661"),
    place("Santa Ana", "059", "92701", "714"),
    place("Anaheim", "059", "92805", "714"),
    place("Riverside", "065", "92501", "951"),
    place("San Bernardino", "071", "92401", "909"),
    place("Stockton", "077", "95202", "209"),
    place("Modesto", "099", "95354", "209"),
    place("Oxnard", "111", "93030", "805"),
    place("Salinas", "053", "93901", "831"),
    place("Santa Rosa", "097", "95404", "707"),
    place("San Francisco", "075", "94102", "415"),
    place("Visalia", "107", "93291", "559"),
    place("El Centro", "025", "92243", "760"),
    place("Calexico", "025", "92231", "760"),
    place("Merced", "047", "95340", "209"),
    place("Eureka", "023", "95501", "707"),
    place("Redding", "089", "96001", "530"),
    place("Chico", "007", "95926", "530"),
    place("San Luis Obispo", "079", "93401", "805"),
    place("Santa Barbara", "083", "93101", "805"),
    place("Watsonville", "087", "95076", "831"),
    place("Madera", "039", "93637", "559"),
    place("Hanford", "031", "93230", "559"),
    place("Napa", "055", "94559", "707"),
];
const EMAIL_DOMAINS: [&str; 3] = ["example.com", "example.org", "example.net"];

// ---------------------------------------------------------------------------------------
// Random records

/// Buffers for a random client's composed fields, reused from one patient to the next.
#[derive(Default)]
struct PersonScratch {
    record_id: String,
    last: String,
    chart: String,
    street: String,
    zip: String,
    phone: String,
    email: String,
    medi_cal_cin: String,
}

fn random_person<'a>(
    rng: &mut Rng,
    s: &'a mut PersonScratch,
    number: u64,
    site_id: &'a str,
) -> (Client<'a>, u32) {
    s.record_id.clear();
    s.record_id.push_str("GEN");
    push_number(&mut s.record_id, number, 21);

    let hispanic = chance(rng, 50);
    let sex = match rng.u32(..100) {
        0..=47 => "M",
        48..=95 => "F",
        96..=97 => "U",
        _ => "X",
    };
    let female = match sex {
        "F" => true,
        "M" => false,
        _ => rng.bool(),
    };
    let (firsts, mothers, fathers, surnames) = if hispanic {
        (
            if female { SPANISH_FEMALE } else { SPANISH_MALE },
            SPANISH_FEMALE,
            SPANISH_MALE,
            SPANISH_SURNAMES,
        )
    } else {
        (
            if female { ENGLISH_FEMALE } else { ENGLISH_MALE },
            ENGLISH_FEMALE,
            ENGLISH_MALE,
            OTHER_SURNAMES,
        )
    };
    let first = pick_str(rng, firsts);
    let middle = if chance(rng, 40) { pick_str(rng, firsts) } else { "" };
    let paternal = pick_str(rng, surnames);
    let maternal = pick_str(rng, surnames);
    s.last.clear();
    s.last.push_str(paternal);
    if hispanic && chance(rng, 35) {
        s.last.push(' ');
        s.last.push_str(maternal);
    } else if !hispanic && chance(rng, 4) {
        s.last.push('-');
        s.last.push_str(pick_str(rng, SPANISH_SURNAMES));
    }
    let suffix = if !female && !hispanic && chance(rng, 3) { pick_str(rng, &SUFFIXES) } else { "" };

    let dob = if chance(rng, 55) {
        rng.u32(CHILD_BIRTHS..=LAST_BIRTH)
    } else {
        rng.u32(FIRST_BIRTH..CHILD_BIRTHS)
    };
    let mother = pick_str(rng, mothers);
    let name_mother = chance(rng, 60);

    let (race, ethnicity) = if hispanic {
        let race = match rng.u32(..10) {
            0..=4 => "5",
            5..=7 => "6",
            _ => "",
        };
        (race, if chance(rng, 90) { "H" } else { "" })
    } else {
        (pick_str(rng, &RACES), if chance(rng, 85) { "NH" } else { "" })
    };
    let contact_allowed = match rng.u32(..100) {
        0..=84 => "02",
        85..=89 => "01",
        _ => "",
    };
    let consent = match rng.u32(..100) {
        0..=2 => "N",
        3..=82 => "Y",
        _ => "",
    };
    s.chart.clear();
    if chance(rng, 90) {
        s.chart.push_str("MRN");
        push_random_digits(rng, &mut s.chart, 8);
    }

    let (resp_first, resp_last, resp_relationship) = if dob > ADULT_AT_LAST_DOSE {
        match rng.u32(..10) {
            0..=5 => (mother, if hispanic { maternal } else { paternal }, MOTHER),
            6..=8 => (pick_str(rng, fathers), paternal, FATHER),
            _ => (pick_str(rng, mothers), pick_str(rng, surnames), GUARDIAN),
        }
    } else {
        ("", "", "")
    };

    let home = pick(rng, PLACES);
    s.street.clear();
    push_number(&mut s.street, u64::from(rng.u32(100..20_000)), 1);
    s.street.push(' ');
    s.street.push_str(pick_str(rng, STREETS));
    let street2 = if chance(rng, 10) { pick_str(rng, UNITS) } else { "" };
    s.zip.clear();
    s.zip.push_str(home.zip);
    if chance(rng, 30) {
        push_number(&mut s.zip, u64::from(rng.u32(1..10_000)), 4);
    }
    s.phone.clear();
    if chance(rng, 85) {
        // 555-0100 to 555-0199 are reserved for fiction: no generated number rings anyone.
        s.phone.push_str(home.area);
        s.phone.push_str("55501");
        push_random_digits(rng, &mut s.phone, 2);
    }
    s.email.clear();
    if chance(rng, 30) {
        push_folded(&mut s.email, first);
        s.email.push('.');
        push_folded(&mut s.email, paternal);
        push_random_digits(rng, &mut s.email, 2);
        s.email.push('@');
        s.email.push_str(pick_str(rng, &EMAIL_DOMAINS));
    }
    let language = if hispanic && chance(rng, 55) { SPANISH } else { ENGLISH };
    let multiple_birth = if chance(rng, 30) { "N" } else { "" };
    s.medi_cal_cin.clear();
    if chance(rng, 30) {
        s.medi_cal_cin.push('9');
        push_random_digits(rng, &mut s.medi_cal_cin, 7);
        s.medi_cal_cin.push(rng.uppercase());
    }
    let status = match rng.u32(..100) {
        0..=94 => "A",
        95..=98 => "",
        _ => "I",
    };

    let s: &'a PersonScratch = s;
    let client = Client {
        record_id: &s.record_id,
        status,
        first,
        middle,
        last: &s.last,
        suffix,
        birth: When::On(Date::from_days(dob)),
        death: When::Blank,
        mother_first: if name_mother { mother } else { "" },
        mother_maiden: if name_mother { maternal } else { "" },
        sex,
        race,
        ethnicity,
        ssn: "",
        contact_allowed,
        consent,
        chart: &s.chart,
        resp_first,
        resp_middle: "",
        resp_last,
        resp_relationship,
        street: &s.street,
        street2,
        city: home.city,
        state: "CA",
        zip: &s.zip,
        county: home.county,
        phone: &s.phone,
        email: &s.email,
        language,
        multiple_birth,
        birth_order: "",
        medi_cal_cin: &s.medi_cal_cin,
        site_id,
    };
    (client, dob)
}

/// Fills `days` with sorted vaccination days after `dob`; children born in the registry
/// era get most of theirs in infancy, as the schedule has it.
fn random_dose_days(rng: &mut Rng, dob: u32, days: &mut [u32]) {
    let earliest = (dob + 1).max(FIRST_DOSE);
    let span = LAST_DOSE - earliest;
    let registry_child = dob >= FIRST_DOSE;
    for day in days.iter_mut() {
        let window = match rng.u32(..100) {
            0..=59 if registry_child => 2 * 365,
            60..=84 if registry_child => 18 * 365,
            _ => span,
        };
        *day = earliest + rng.u32(..=window.min(span));
    }
    days.sort_unstable();
}

fn random_dose<'a>(
    rng: &mut Rng,
    lot: &'a mut String,
    record_id: &'a str,
    site_id: &'a str,
    dob: u32,
    day: u32,
) -> Dose<'a> {
    let date = Date::from_days(day);
    let age_months = (day - dob) * 12 / 365;
    let vaccine = pick_vaccine(rng, age_months, date.year);
    let administered = chance(rng, 40);
    let (cvx, cpt, ndc) = match rng.u32(..100) {
        0..=5 if !vaccine.cpt.is_empty() => ("", vaccine.cpt, ""),
        0..=11 => ("", "", vaccine.ndc),
        _ if administered && chance(rng, 30) => (vaccine.cvx, "", vaccine.ndc),
        _ => (vaccine.cvx, "", ""),
    };
    let completion = if chance(rng, 98) { "CP" } else { "" };
    let action = if chance(rng, 98) { "A" } else { "" };
    if !administered {
        let info_source = if chance(rng, 25) { "" } else { pick_str(rng, &INFO_SOURCES) };
        return Dose {
            record_id,
            date: When::On(date),
            cvx,
            cpt,
            ndc,
            historical: "Y",
            info_source,
            completion,
            action,
            ..Dose::default()
        };
    }

    lot.clear();
    lot.push(rng.uppercase());
    lot.push(rng.uppercase());
    push_random_digits(rng, lot, 4);
    if chance(rng, 30) {
        lot.push(rng.uppercase());
    }
    let lot: &'a String = lot;
    let vfc = if age_months >= ADULT_MONTHS {
        "V01"
    } else {
        match rng.u32(..100) {
            0..=34 => "V01",
            35..=74 => "V02",
            75..=86 => "V03",
            87..=89 => "V04",
            _ => "V05",
        }
    };
    let funding = match vfc {
        "V01" if chance(rng, 15) => "VXC2",
        "V01" => "PHC70",
        _ => "VXC1",
    };
    let (vis_published, vis_presented) = match VIS_EDITIONS.iter().rev().find(|v| **v <= date) {
        Some(&edition) if chance(rng, 50) => (When::On(edition), When::On(date)),
        _ => (When::Blank, When::Blank),
    };
    Dose {
        record_id,
        date: When::On(date),
        cvx,
        cpt,
        ndc,
        trade_name: if chance(rng, 50) { vaccine.trade_name } else { "" },
        mvx: vaccine.mvx,
        lot: lot.as_str(),
        lot_expiration: When::On(Date::from_days(day + rng.u32(90..=730))),
        amount: vaccine.ml,
        route: vaccine.route,
        body_site: body_site(rng, vaccine.route, age_months),
        historical: "N",
        info_source: "",
        vfc,
        funding,
        provider: Some(pick(rng, &PROVIDERS)),
        site_id,
        refusal: "",
        completion,
        action,
        vis_published,
        vis_presented,
    }
}

fn pick_vaccine(rng: &mut Rng, age_months: u32, year: u16) -> &'static Vaccine {
    for _ in 0..32 {
        let vaccine = pick(rng, VACCINES);
        if vaccine.fits(age_months, year) {
            return vaccine;
        }
    }
    if age_months < ADULT_MONTHS {
        &HEPB_PEDS
    } else {
        &HEPB_ADULT
    }
}

/// Infants are injected in the thigh, older patients in the arm (CDC administration
/// guidance); oral and nasal doses have no body site.
fn body_site(rng: &mut Rng, route: &str, age_months: u32) -> &'static str {
    match route {
        "IM" if age_months < 36 => pick_str(rng, &THIGHS),
        "IM" => pick_str(rng, &DELTOIDS),
        "SC" if age_months < 12 => pick_str(rng, &THIGHS),
        "SC" | "ID" => pick_str(rng, &UPPER_ARMS),
        _ => "",
    }
}

fn chance(rng: &mut Rng, percent: u32) -> bool {
    rng.u32(..100) < percent
}

/// Picks from a list that is never empty (all callers pass non-empty constants).
fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

/// [`pick`] for code and name lists, which are `&'static str` all through.
fn pick_str(rng: &mut Rng, items: &[&'static str]) -> &'static str {
    items[rng.usize(..items.len())]
}

/// Appends `n` in decimal, zero-padded to `width` digits.
fn push_number(s: &mut String, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for _ in digits.len() - start..width {
        s.push('0');
    }
    s.extend(digits[start..].iter().map(|&d| char::from(d)));
}

fn push_random_digits(rng: &mut Rng, s: &mut String, count: usize) {
    for _ in 0..count {
        s.push(rng.digit(10));
    }
}

/// Appends a name as lower-case ASCII letters, for e-mail addresses.
fn push_folded(s: &mut String, name: &str) {
    for c in name.chars() {
        let folded = match c {
            'á' | 'Á' => 'a',
            'é' | 'É' | 'ë' => 'e',
            'í' | 'Í' => 'i',
            'ó' | 'Ó' => 'o',
            'ú' | 'Ú' | 'ü' | 'Ü' => 'u',
            'ñ' | 'Ñ' => 'n',
            c if c.is_ascii_alphabetic() => c.to_ascii_lowercase(),
            _ => continue,
        };
        s.push(folded);
    }
}

// ---------------------------------------------------------------------------------------
// The showcase pair (documented record by record in sample_data/README.md)

const SHOWCASE_SITE: &str = "DE-000123";
const SHOWCASE_PROVIDER: &Provider = &PROVIDERS[0];

const SC_JOSE: &str = "SHOWCASE0000000000000001";
const SC_MARIA_JOSE: &str = "SHOWCASE0000000000000002";
const SC_SOFIA: &str = "SHOWCASE0000000000000003";
const SC_TWIN_1: &str = "SHOWCASE0000000000000004";
const SC_TWIN_2: &str = "SHOWCASE0000000000000005";
const SC_DECEASED: &str = "SHOWCASE0000000000000006";
const SC_NO_CHART: &str = "SHOWCASE0000000000000007";
const SC_NO_DOSES: &str = "SHOWCASE0000000000000008";
const SC_SSN: &str = "SHOWCASE0000000000000009";
const SC_SHORT_LINE: &str = "SHOWCASE0000000000000010";
const SC_BAD_BIRTH: &str = "SHOWCASE0000000000000011";
const SC_BAD_DOSES: &str = "SHOWCASE0000000000000012";
const SC_ORPHAN: &str = "SHOWCASE0000000000000099";

/// The showcase's short client line stops here, before the birth date (positions 121–128).
const SHORT_LINE_LENGTH: usize = client_field::BIRTH_DATE.start - 1;
/// Deliberately bad values of the showcase.
const BAD_BIRTH_DATE: &str = "02302015";
const BAD_VACCINATION_DATE: &str = "13012024";
/// Absent from `cdc/cvx.csv` (998 and 999 are real codes there: "no vaccine administered"
/// and "unknown").
const UNKNOWN_CVX: &str = "989";
/// Area 666 is never issued, so this cannot be anyone's SSN.
const SHOWCASE_SSN: &str = "666001234";

struct ShowcasePatient {
    client: Client<'static>,
    /// Writes only this many positions of the client line.
    cut_at: Option<usize>,
    doses: Vec<Dose<'static>>,
}

fn showcase_client(record_id: &'static str) -> Client<'static> {
    Client {
        record_id,
        status: "A",
        contact_allowed: "02",
        consent: "Y",
        state: "CA",
        language: ENGLISH,
        site_id: SHOWCASE_SITE,
        ..Client::default()
    }
}

fn historical(
    record_id: &'static str,
    date: Date,
    cvx: &'static str,
    info_source: &'static str,
) -> Dose<'static> {
    Dose {
        record_id,
        date: When::On(date),
        cvx,
        historical: "Y",
        info_source,
        completion: "CP",
        action: "A",
        ..Dose::default()
    }
}

fn administered(
    record_id: &'static str,
    date: Date,
    vaccine: &'static Vaccine,
    lot: &'static str,
    body_site: &'static str,
    vfc: &'static str,
) -> Dose<'static> {
    Dose {
        record_id,
        date: When::On(date),
        cvx: vaccine.cvx,
        trade_name: vaccine.trade_name,
        mvx: vaccine.mvx,
        lot,
        lot_expiration: When::On(Date::from_days(date.to_days() + 400)),
        amount: vaccine.ml,
        route: vaccine.route,
        body_site,
        historical: "N",
        vfc,
        funding: if vfc == "V01" { "PHC70" } else { "VXC1" },
        provider: Some(SHOWCASE_PROVIDER),
        site_id: SHOWCASE_SITE,
        completion: "CP",
        action: "A",
        ..Dose::default()
    }
}

/// The showcase's products, looked up by CVX and manufacturer so that their codes are
/// exactly those of the random generator's table.
fn product(cvx: &str, mvx: &str) -> &'static Vaccine {
    VACCINES
        .iter()
        .find(|v| v.cvx == cvx && v.mvx == mvx)
        .expect("every showcase product is in VACCINES (checked by the showcase test)")
}

fn showcase_patients() -> Vec<ShowcasePatient> {
    let d = Date::new;
    let with_vis = |dose: Dose<'static>, published: Date| {
        let presented = dose.date;
        Dose { vis_published: When::On(published), vis_presented: presented, ..dose }
    };
    vec![
        ShowcasePatient {
            client: Client {
                first: "José",
                middle: "Antonio",
                last: "Muñoz Peña",
                birth: When::On(d(2019, 3, 14)),
                mother_first: "María",
                mother_maiden: "Peña",
                sex: "M",
                race: "6",
                ethnicity: "H",
                chart: "MRN00012345",
                resp_first: "María",
                resp_middle: "Elena",
                resp_last: "Peña",
                resp_relationship: MOTHER,
                street: "2150 Cesar Chavez Ave",
                city: "East Los Angeles",
                zip: "900221234",
                county: "037",
                phone: "3235550142",
                email: "maria.pena@example.com",
                language: SPANISH,
                medi_cal_cin: "91234567A",
                ..showcase_client(SC_JOSE)
            },
            cut_at: None,
            doses: vec![
                historical(SC_JOSE, d(2019, 3, 15), "08", "02"),
                historical(SC_JOSE, d(2019, 5, 20), "110", "03"),
                historical(SC_JOSE, d(2019, 5, 20), "133", "02"),
                historical(SC_JOSE, d(2020, 3, 20), "03", ""),
                with_vis(
                    administered(
                        SC_JOSE,
                        d(2025, 9, 10),
                        product("20", "SKB"),
                        "A7K93B",
                        "LD",
                        "V02",
                    ),
                    d(2021, 8, 6),
                ),
                administered(
                    SC_JOSE,
                    d(2025, 10, 14),
                    product("140", "SKB"),
                    "FL2025X",
                    "RD",
                    "V02",
                ),
            ],
        },
        ShowcasePatient {
            client: Client {
                first: "María",
                middle: "José",
                last: "De la Cruz",
                birth: When::On(d(2016, 11, 2)),
                mother_first: "Guadalupe",
                mother_maiden: "Saldaña",
                sex: "F",
                race: "5",
                ethnicity: "H",
                chart: "MRN00012346",
                resp_first: "Guadalupe",
                resp_last: "Saldaña",
                resp_relationship: MOTHER,
                street: "845 Calle Peñasco",
                city: "Fresno",
                zip: "93721",
                county: "019",
                phone: "5595550117",
                language: SPANISH,
                ..showcase_client(SC_MARIA_JOSE)
            },
            cut_at: None,
            doses: vec![
                historical(SC_MARIA_JOSE, d(2016, 11, 3), "08", "06"),
                historical(SC_MARIA_JOSE, d(2017, 1, 10), "116", "05"),
                historical(SC_MARIA_JOSE, d(2017, 11, 15), "21", "07"),
                historical(SC_MARIA_JOSE, d(2020, 11, 20), "106", "08"),
            ],
        },
        ShowcasePatient {
            client: Client {
                first: "Sofía",
                last: "Hernández-Smith",
                birth: When::On(d(2011, 6, 30)),
                sex: "F",
                race: "6",
                ethnicity: "H",
                consent: "N",
                chart: "MRN00012347",
                resp_first: "Laura",
                resp_last: "Smith",
                resp_relationship: MOTHER,
                street: "77 Mariposa Ave",
                street2: "Apt 2B",
                city: "San Jose",
                zip: "95112",
                county: "085",
                phone: "4085550163",
                ..showcase_client(SC_SOFIA)
            },
            cut_at: None,
            doses: vec![
                historical(SC_SOFIA, d(2022, 7, 15), "115", "04"),
                historical(SC_SOFIA, d(2022, 7, 15), "165", "01"),
                administered(
                    SC_SOFIA,
                    d(2025, 10, 3),
                    product("141", "PMC"),
                    "UT8841AA",
                    "RD",
                    "V01",
                ),
            ],
        },
        ShowcasePatient {
            client: twin(SC_TWIN_1, "Mateo", "M", "1"),
            cut_at: None,
            doses: vec![
                Dose { cpt: "90744", ..historical(SC_TWIN_1, d(2023, 7, 23), "", "02") },
                administered(SC_TWIN_1, d(2023, 9, 25), product("116", "MSD"), "RQ5521", "", "V03"),
                administered(
                    SC_TWIN_1,
                    d(2023, 9, 25),
                    product("120", "PMC"),
                    "PC3306B",
                    "LT",
                    "V03",
                ),
            ],
        },
        ShowcasePatient {
            client: twin(SC_TWIN_2, "Valentina", "F", "2"),
            cut_at: None,
            doses: vec![
                historical(SC_TWIN_2, d(2023, 7, 23), "08", "02"),
                Dose {
                    cvx: "",
                    ndc: "00006404701",
                    ..administered(
                        SC_TWIN_2,
                        d(2023, 9, 25),
                        product("116", "MSD"),
                        "RQ5521",
                        "",
                        "V03",
                    )
                },
                administered(
                    SC_TWIN_2,
                    d(2023, 9, 25),
                    product("215", "MSD"),
                    "VX7730",
                    "RT",
                    "V03",
                ),
            ],
        },
        ShowcasePatient {
            client: Client {
                status: "P",
                first: "Ramón",
                last: "Gutiérrez Ávila",
                birth: When::On(d(1951, 4, 18)),
                death: When::On(d(2025, 2, 10)),
                sex: "M",
                race: "5",
                ethnicity: "H",
                chart: "MRN00012350",
                street: "3301 El Camino Real",
                city: "Sacramento",
                zip: "95814",
                county: "067",
                phone: "9165550188",
                language: SPANISH,
                ..showcase_client(SC_DECEASED)
            },
            cut_at: None,
            doses: vec![
                administered(
                    SC_DECEASED,
                    d(2019, 10, 15),
                    product("187", "SKB"),
                    "SX4410",
                    "LD",
                    "V01",
                ),
                historical(SC_DECEASED, d(2020, 1, 20), "187", "02"),
                historical(SC_DECEASED, d(2023, 10, 1), "197", "05"),
            ],
        },
        ShowcasePatient {
            client: Client {
                first: "Emily",
                middle: "Rose",
                last: "Johnson",
                birth: When::On(d(2013, 1, 15)),
                mother_first: "Sarah",
                mother_maiden: "Miller",
                sex: "F",
                race: "3",
                ethnicity: "NH",
                resp_first: "Michael",
                resp_last: "Johnson",
                resp_relationship: FATHER,
                street: "19 Redwood Ct",
                city: "Santa Rosa",
                zip: "95404",
                county: "097",
                phone: "7075550104",
                email: "m.johnson@example.org",
                ..showcase_client(SC_NO_CHART)
            },
            cut_at: None,
            doses: vec![
                Dose { action: "D", ..historical(SC_NO_CHART, d(2023, 10, 12), "150", "01") },
                Dose {
                    refusal: "00",
                    completion: "RE",
                    historical: "N",
                    ..historical(SC_NO_CHART, d(2024, 8, 20), "165", "")
                },
                Dose {
                    action: "U",
                    ..administered(
                        SC_NO_CHART,
                        d(2024, 8, 20),
                        product("115", "SKB"),
                        "TD4821K",
                        "LD",
                        "V01",
                    )
                },
                administered(
                    SC_NO_CHART,
                    d(2024, 8, 20),
                    product("136", "SKB"),
                    "MV2290",
                    "RD",
                    "V01",
                ),
            ],
        },
        ShowcasePatient {
            client: Client {
                first: "Lucía",
                last: "Castañeda Argüello",
                birth: When::On(d(2024, 2, 28)),
                mother_first: "Itzel",
                mother_maiden: "Argüello",
                sex: "F",
                ethnicity: "H",
                chart: "MRN00012352",
                resp_first: "Itzel",
                resp_last: "Argüello",
                resp_relationship: MOTHER,
                street: "610 Calle Real",
                city: "Calexico",
                zip: "92231",
                county: "025",
                language: SPANISH,
                medi_cal_cin: "97654321B",
                ..showcase_client(SC_NO_DOSES)
            },
            cut_at: None,
            doses: vec![],
        },
        ShowcasePatient {
            client: Client {
                first: "Ethan",
                last: "Nguyen",
                birth: When::On(d(2009, 9, 9)),
                sex: "M",
                race: "2",
                ethnicity: "NH",
                ssn: SHOWCASE_SSN,
                chart: "MRN00012353",
                resp_first: "Mai",
                resp_last: "Tran",
                resp_relationship: GUARDIAN,
                street: "4020 Olive St",
                city: "Santa Ana",
                zip: "92701",
                county: "059",
                phone: "7145550176",
                ..showcase_client(SC_SSN)
            },
            cut_at: None,
            doses: vec![
                historical(SC_SSN, d(2022, 9, 15), "115", "03"),
                administered(SC_SSN, d(2025, 10, 20), product("309", "PFR"), "CM9087", "LD", "V01"),
            ],
        },
        ShowcasePatient {
            client: Client {
                first: "Óscar",
                last: "Peña Ramírez",
                birth: When::On(d(2018, 12, 5)),
                sex: "M",
                ethnicity: "H",
                chart: "MRN00012354",
                street: "12 Avenida del Sol",
                city: "Oxnard",
                zip: "93030",
                county: "111",
                language: SPANISH,
                ..showcase_client(SC_SHORT_LINE)
            },
            cut_at: Some(SHORT_LINE_LENGTH),
            doses: vec![historical(SC_SHORT_LINE, d(2020, 1, 8), "03", "02")],
        },
        ShowcasePatient {
            client: Client {
                first: "Ximena",
                last: "Ortiz Flores",
                birth: When::Raw(BAD_BIRTH_DATE),
                sex: "F",
                ethnicity: "H",
                chart: "MRN00012355",
                street: "908 Jacaranda Way",
                city: "Riverside",
                zip: "92501",
                county: "065",
                ..showcase_client(SC_BAD_BIRTH)
            },
            cut_at: None,
            doses: vec![historical(SC_BAD_BIRTH, d(2016, 6, 1), "21", "02")],
        },
        ShowcasePatient {
            client: Client {
                first: "Daniel",
                last: "Ramírez",
                birth: When::On(d(2020, 5, 5)),
                sex: "M",
                race: "6",
                ethnicity: "H",
                chart: "MRN00012356",
                resp_first: "Rocío",
                resp_last: "Ramírez",
                resp_relationship: MOTHER,
                street: "230 Sierra Vista Dr",
                city: "Bakersfield",
                zip: "93301",
                county: "029",
                phone: "6615550121",
                ..showcase_client(SC_BAD_DOSES)
            },
            cut_at: None,
            doses: vec![
                historical(SC_BAD_DOSES, d(2021, 5, 10), "03", "02"),
                historical(SC_BAD_DOSES, d(2021, 5, 10), UNKNOWN_CVX, "01"),
                Dose {
                    date: When::Raw(BAD_VACCINATION_DATE),
                    ..historical(SC_BAD_DOSES, d(2024, 1, 1), "21", "02")
                },
                Dose {
                    lot_expiration: When::Blank,
                    ..administered(
                        SC_BAD_DOSES,
                        d(2025, 11, 5),
                        product("140", "SKB"),
                        "",
                        "LD",
                        "V02",
                    )
                },
            ],
        },
    ]
}

/// The twins share birth date, surname, mother and address.
fn twin(
    record_id: &'static str,
    first: &'static str,
    sex: &'static str,
    birth_order: &'static str,
) -> Client<'static> {
    let (chart, medi_cal_cin) = if birth_order == "1" {
        ("MRN00012348", "90011223C")
    } else {
        ("MRN00012349", "90011224D")
    };
    Client {
        first,
        last: "Ibáñez Núñez",
        birth: When::On(Date::new(2023, 7, 22)),
        mother_first: "Ana",
        mother_maiden: "Núñez",
        sex,
        race: "6",
        ethnicity: "H",
        chart,
        resp_first: "Ana",
        resp_last: "Núñez",
        resp_relationship: MOTHER,
        street: "845 Avenida del Sol",
        street2: "Unit 7",
        city: "Chula Vista",
        zip: "91910",
        county: "073",
        phone: "6195550139",
        language: SPANISH,
        multiple_birth: "Y",
        birth_order,
        medi_cal_cin,
        ..showcase_client(record_id)
    }
}

fn showcase_orphan() -> Dose<'static> {
    historical(SC_ORPHAN, Date::new(2025, 6, 1), "115", "01")
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::path::PathBuf;

    use chrono::NaiveDate;

    use super::*;

    fn repo_path(relative: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
    }

    /// Rows of a code-set CSV under `specs/codesets/`, as column → value maps.
    fn csv_rows(relative: &str) -> Vec<HashMap<String, String>> {
        let path = repo_path("specs/codesets").join(relative);
        let mut reader = csv::Reader::from_path(&path).unwrap();
        let headers = reader.headers().unwrap().clone();
        reader
            .records()
            .map(|record| {
                let record = record.unwrap();
                headers.iter().zip(record.iter()).map(|(h, v)| (h.into(), v.into())).collect()
            })
            .collect()
    }

    fn column(relative: &str, name: &str) -> HashSet<String> {
        csv_rows(relative).into_iter().map(|row| row[name].clone()).collect()
    }

    fn random(doses: u64, seed: u64) -> (Vec<u8>, Vec<u8>, Summary) {
        let opts = RandomOptions { doses, seed, site_id: "DE-000777".into() };
        let (mut client, mut immun) = (Vec::new(), Vec::new());
        let summary = write_random_pair(&opts, &mut client, &mut immun).unwrap();
        (client, immun, summary)
    }

    fn showcase() -> (Vec<u8>, Vec<u8>, Summary) {
        let (mut client, mut immun) = (Vec::new(), Vec::new());
        let summary = write_showcase_pair(&mut client, &mut immun).unwrap();
        (client, immun, summary)
    }

    /// The records of a file, without their CRLF; every record must have one.
    fn records(bytes: &[u8]) -> Vec<&[u8]> {
        bytes
            .split_inclusive(|&b| b == b'\n')
            .map(|line| line.strip_suffix(b"\r\n").expect("CRLF terminated"))
            .collect()
    }

    /// A field decoded from Windows-1252, trailing blanks removed; blank past a short line.
    fn get(record: &[u8], field: Field) -> String {
        let bytes = record.get(field.start - 1..field.end).unwrap_or_default();
        let (text, had_errors) = WINDOWS_1252.decode_without_bom_handling(bytes);
        assert!(!had_errors);
        text.trim_end().to_owned()
    }

    fn date(text: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(text, "%m%d%Y").ok()
    }

    fn last_dose() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let first = random(3000, 42);
        assert_eq!(first, random(3000, 42));
        let other = random(3000, 43);
        assert_ne!(first.0, other.0);
        assert_ne!(first.1, other.1);
    }

    #[test]
    fn writes_exactly_the_doses_asked_for() {
        for doses in [0, 1, 2, 9, 10, 11, 1234] {
            let (client, immun, summary) = random(doses, 7);
            assert_eq!(summary.doses, doses);
            assert_eq!(records(&immun).len() as u64, doses);
            assert_eq!(records(&client).len() as u64, summary.patients);
            assert_eq!(summary.patients == 0, doses == 0);
        }
    }

    #[test]
    fn every_record_is_fixed_width_and_crlf_terminated() {
        let (client, immun, _) = random(5000, 1);
        for (bytes, width) in [(&client, CLIENT_WIDTH), (&immun, IMMUN_WIDTH)] {
            for record in records(bytes) {
                assert_eq!(record.len(), width);
                assert!(!record.contains(&b'\r') && !record.contains(&b'\n'));
            }
        }
    }

    #[test]
    fn names_are_single_byte_windows_1252_with_accents() {
        let (client, _, _) = random(5000, 1);
        assert!(std::str::from_utf8(&client).is_err(), "not UTF-8");
        for byte in [0xE9, 0xF1, 0xE1, 0xFC] {
            assert!(client.contains(&byte), "byte {byte:#x} (é ñ á ü) present");
        }
        let lasts: Vec<String> =
            records(&client).iter().map(|r| get(r, client_field::LAST_NAME)).collect();
        assert!(lasts.iter().any(|l| l.contains(' ') && !l.is_ascii()), "double surnames");
        assert!(lasts.iter().any(|l| l.contains('-')), "hyphenated surnames");
        let firsts: HashSet<String> =
            records(&client).iter().map(|r| get(r, client_field::FIRST_NAME)).collect();
        assert!(firsts.contains("José") && firsts.contains("María"));
    }

    #[test]
    fn random_records_are_valid_and_ordered() {
        let (client, immun, summary) = random(20_000, 5);
        let clients = records(&client);
        let mut births = HashMap::new();
        let mut order = Vec::new();
        let mut locked = 0;
        for (i, c) in clients.iter().enumerate() {
            let id = get(c, client_field::RECORD_ID);
            assert_eq!(id, format!("GEN{:021}", i + 1));
            births.insert(id.clone(), date(&get(c, client_field::BIRTH_DATE)).unwrap());
            order.push(id);
            assert_eq!(get(c, client_field::SITE_ID), "DE-000777");
            assert_eq!(get(c, client_field::STATE), "CA");
            assert_eq!(get(c, client_field::SSN), "");
            let zip = get(c, client_field::ZIP);
            assert!(matches!(zip.len(), 5 | 9) && zip.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(get(c, client_field::COUNTY_FIPS).len(), 3);
            assert!(matches!(get(c, client_field::PHONE).len(), 0 | 10));
            let email = get(c, client_field::EMAIL);
            assert!(email.is_empty() || (email.is_ascii() && email.contains('@')));
            let cin = get(c, client_field::MEDI_CAL_CIN);
            assert!(
                cin.is_empty() || (cin.len() == 9 && cin[..8].bytes().all(|b| b.is_ascii_digit()))
            );
            locked += usize::from(get(c, client_field::CONSENT_TO_SHARE) == "N");
        }
        assert!(locked > 0 && locked * 20 < clients.len(), "a few % locked");

        let mut seen = Vec::<String>::new();
        let mut historical = 0;
        for d in records(&immun) {
            let id = get(d, immun_field::RECORD_ID);
            if seen.last() != Some(&id) {
                assert!(!seen.contains(&id), "doses of a patient are adjacent");
                seen.push(id.clone());
            }
            let day = date(&get(d, immun_field::VACCINATION_DATE)).unwrap();
            assert!(day > births[&id] && day <= last_dose());
            let coded = [immun_field::CVX, immun_field::CPT, immun_field::NDC]
                .map(|f| !get(d, f).is_empty());
            assert!(coded.contains(&true));
            match get(d, immun_field::HISTORICAL).as_str() {
                "Y" => {
                    historical += 1;
                    assert_eq!(get(d, immun_field::LOT_NUMBER), "");
                    assert_eq!(get(d, immun_field::DOSE_AMOUNT), "");
                }
                "N" => {
                    assert!(!get(d, immun_field::LOT_NUMBER).is_empty());
                    assert!(!get(d, immun_field::MVX).is_empty());
                    assert!(!get(d, immun_field::VFC_ELIGIBILITY).is_empty());
                    let amount =
                        &d[immun_field::DOSE_AMOUNT.start - 1..immun_field::DOSE_AMOUNT.end];
                    assert!(amount[0] == b' ' && amount[5] != b' ', "amount right-justified");
                    assert_eq!(get(d, immun_field::INFO_SOURCE), "");
                    assert_eq!(get(d, immun_field::SITE_ID), "DE-000777");
                    assert_eq!(get(d, immun_field::PROVIDER_NPI).len(), 10);
                    let expires = date(&get(d, immun_field::LOT_EXPIRATION)).unwrap();
                    assert!(expires > day);
                }
                other => panic!("historical flag {other:?}"),
            }
        }
        assert_eq!(seen, order, "patients in client order, each with doses");
        let per_patient = summary.doses as f64 / summary.patients as f64;
        assert!((3.5..4.5).contains(&per_patient), "{per_patient} doses per patient");
        let share = f64::from(historical) / summary.doses as f64;
        assert!((0.55..0.65).contains(&share), "{share} historical");
    }

    /// Checks every coded field of a pair against its spec table; `unknown_cvx` lists the
    /// deliberately bad codes.
    fn assert_codes_in_spec_tables(client: &[u8], immun: &[u8], unknown_cvx: &[&str]) {
        use client_field as c;
        use immun_field as i;
        let upper = |set: HashSet<String>| {
            set.into_iter().map(|s| s.to_uppercase()).collect::<HashSet<_>>()
        };
        let client_tables = [
            (c::CLIENT_STATUS, column("cair1/client_status.csv", "code")),
            (c::SEX, column("cair1/sex.csv", "code")),
            (c::RACE, column("cair1/race.csv", "code")),
            (c::ETHNICITY, column("cair1/ethnicity.csv", "code")),
            (c::RESP_RELATIONSHIP, column("cair1/relationship.csv", "code")),
            (c::CONTACT_ALLOWED, column("hl7/hl70215_publicity_code.csv", "code")),
            (c::LANGUAGE, upper(column("hl7/hl70296_language.csv", "code"))),
        ];
        let immun_tables = [
            (i::CVX, column("cdc/cvx.csv", "cvx_code")),
            (i::CPT, column("cdc/cpt_cvx.csv", "cpt_code")),
            (i::NDC, column("cdc/ndc_cvx.csv", "ndc11")),
            (i::MVX, column("cdc/mvx.csv", "mvx_code")),
            (i::ROUTE, column("cair1/route.csv", "code")),
            (i::BODY_SITE, column("hl7/hl70163_body_site.csv", "code")),
            (i::INFO_SOURCE, column("hl7/nip001_immunization_information_source.csv", "code")),
            (i::VFC_ELIGIBILITY, column("hl7/hl70064_financial_class_vfc_eligibility.csv", "code")),
            (i::FUNDING_SOURCE, column("hl7/cdcphinvs_funding_source.csv", "code")),
            (i::REFUSAL_REASON, column("hl7/nip002_refusal_reason.csv", "code")),
            (i::COMPLETION_STATUS, column("hl7/hl70322_completion_status.csv", "code")),
            (i::ACTION, column("hl7/hl70323_action_code.csv", "code")),
        ];
        for (bytes, tables) in [(client, &client_tables[..]), (immun, &immun_tables[..])] {
            for record in records(bytes) {
                for (field, codes) in tables {
                    let value = get(record, *field);
                    let deliberate = *field == i::CVX && unknown_cvx.contains(&value.as_str());
                    assert!(
                        value.is_empty() || codes.contains(&value) || deliberate,
                        "{} {value:?} is not in its spec table",
                        field.name
                    );
                }
            }
        }
    }

    #[test]
    fn emitted_codes_exist_in_spec_tables() {
        let cvx_status: HashMap<String, String> = csv_rows("cdc/cvx.csv")
            .into_iter()
            .map(|row| (row["cvx_code"].clone(), row["status"].clone()))
            .collect();
        let mvx = column("cdc/mvx.csv", "mvx_code");
        let products = csv_rows("cdc/product_tradename_cvx_mvx.csv");
        let cpt_rows = csv_rows("cdc/cpt_cvx.csv");
        let ndc_rows = csv_rows("cdc/ndc_cvx.csv");
        let routes = column("cair1/route.csv", "code");
        let hl7_routes = column("hl7/hl70162_ncit_route.csv", "code");
        for v in VACCINES {
            let what = format!("CVX {} ({})", v.cvx, v.mvx);
            assert_eq!(cvx_status.get(v.cvx).map(String::as_str), Some("Active"), "{what}");
            assert!(mvx.contains(v.mvx), "{what}: MVX");
            let made_by =
                |p: &&HashMap<String, String>| p["cvx_code"] == v.cvx && p["mvx_code"] == v.mvx;
            assert!(products.iter().any(|p| made_by(&p)), "{what}: not in the product table");
            if !v.trade_name.is_empty() {
                assert!(v.trade_name.len() <= immun_field::TRADE_NAME.width(), "{what}");
                assert!(
                    products.iter().filter(made_by).any(|p| p["product_name"] == v.trade_name),
                    "{what}: trade name {}",
                    v.trade_name
                );
            }
            if !v.cpt.is_empty() {
                let targets: HashSet<&str> = cpt_rows
                    .iter()
                    .filter(|r| r["cpt_code"] == v.cpt)
                    .map(|r| r["cvx_code"].as_str())
                    .collect();
                assert_eq!(targets, HashSet::from([v.cvx]), "{what}: CPT {}", v.cpt);
            }
            assert!(v.ndc.len() == 11 && v.ndc.bytes().all(|b| b.is_ascii_digit()), "{what}");
            let targets: HashSet<&str> = ndc_rows
                .iter()
                .filter(|r| r["ndc11"] == v.ndc)
                .map(|r| r["cvx_code"].as_str())
                .collect();
            assert_eq!(targets, HashSet::from([v.cvx]), "{what}: NDC {}", v.ndc);
            assert!(routes.contains(v.route) && hl7_routes.contains(v.route), "{what}: route");
            assert!(v.ml.parse::<f64>().is_ok(), "{what}: amount");
        }
        // The consts and inline codes of the generator, as they come out of it.
        let (client, immun, _) = random(20_000, 11);
        assert_codes_in_spec_tables(&client, &immun, &[]);
    }

    #[test]
    fn layout_matches_the_cair1_spec() {
        let text = fs::read_to_string(repo_path("specs/layouts/cair1.toml")).unwrap();
        let spec: toml::Table = toml::from_str(&text).unwrap();
        for (record, width, fields) in [
            ("client", CLIENT_WIDTH, &client_field::ALL[..]),
            ("immunization", IMMUN_WIDTH, &immun_field::ALL[..]),
        ] {
            let section = spec[record].as_table().unwrap();
            assert_eq!(section["line_length"].as_integer(), Some(width as i64));
            let from_spec: Vec<Field> = section["field"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f.get("type").and_then(|t| t.as_str()) != Some("filler"))
                .map(|f| Field {
                    name: fields
                        .iter()
                        .find(|mine| f["name"].as_str() == Some(mine.name))
                        .map_or("(missing here)", |mine| mine.name),
                    start: f["start"].as_integer().unwrap() as usize,
                    end: f["end"].as_integer().unwrap() as usize,
                })
                .collect();
            assert_eq!(from_spec, fields, "{record} layout");
        }
    }

    #[test]
    fn date_arithmetic_matches_chrono() {
        let epoch = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap();
        for offset in 0..30_000 {
            let expected = epoch + chrono::Days::new(offset);
            let date = Date::from_days(FIRST_BIRTH + offset as u32);
            assert_eq!(date.to_days(), FIRST_BIRTH + offset as u32);
            let text = String::from_utf8(date.mmddyyyy().to_vec()).unwrap();
            assert_eq!(text, expected.format("%m%d%Y").to_string());
        }
    }

    #[test]
    fn fallback_vaccines_fit_every_age_and_year() {
        for year in 1995..=2026 {
            for age_months in 0..(80 * 12) {
                let fallback = if age_months < ADULT_MONTHS { HEPB_PEDS } else { HEPB_ADULT };
                assert!(fallback.fits(age_months, year), "{age_months} months in {year}");
            }
        }
    }

    #[test]
    fn provider_npis_fail_the_npi_check_digit() {
        for p in &PROVIDERS {
            assert!(p.npi.len() == 10 && p.npi.bytes().all(|b| b.is_ascii_digit()));
            let digits: Vec<u32> =
                format!("80840{}", p.npi).bytes().map(|b| u32::from(b - b'0')).collect();
            let sum: u32 = digits
                .iter()
                .rev()
                .enumerate()
                .map(|(i, &d)| {
                    if i % 2 == 1 {
                        if d * 2 > 9 {
                            d * 2 - 9
                        } else {
                            d * 2
                        }
                    } else {
                        d
                    }
                })
                .sum();
            assert_ne!(sum % 10, 0, "NPI {} passes the Luhn check", p.npi);
        }
    }

    #[test]
    fn values_that_do_not_fit_are_errors_not_cuts() {
        let opts = RandomOptions { doses: 5, seed: 1, site_id: "DE-0001234567".into() };
        let err = write_random_pair(&opts, &mut Vec::new(), &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let mut line = Line::new(CLIENT_WIDTH);
        assert!(line.put(client_field::FIRST_NAME, "Łukasz").is_err(), "not in Windows-1252");
    }

    #[test]
    fn showcase_has_every_case() {
        use client_field as c;
        use immun_field as i;
        let (client, immun, summary) = showcase();
        let clients = records(&client);
        let doses = records(&immun);
        assert_eq!((summary.patients, summary.doses), (12, 35));
        assert_eq!((clients.len(), doses.len()), (12, 35));
        let field = |record: &[u8], f: Field| get(record, f);
        let client_with = |f: Field, value: &str| {
            clients
                .iter()
                .filter(|r| field(r, f) == value)
                .map(|r| field(r, c::RECORD_ID))
                .collect::<Vec<_>>()
        };
        let doses_with = |f: Field, value: &str| {
            doses.iter().filter(|r| field(r, f) == value).copied().collect::<Vec<_>>()
        };

        // Accents as single Windows-1252 bytes.
        assert!(client.windows(4).any(|w| w == b"Jos\xe9"));
        let names: Vec<String> = clients
            .iter()
            .flat_map(|r| [field(r, c::FIRST_NAME), field(r, c::LAST_NAME)])
            .collect();
        for name in ["José", "María", "Muñoz Peña", "De la Cruz", "Hernández-Smith"] {
            assert!(names.iter().any(|n| n == name), "{name}");
        }
        assert_eq!(client_with(c::CONSENT_TO_SHARE, "N"), [SC_SOFIA]);

        let twins = client_with(c::MULTIPLE_BIRTH, "Y");
        assert_eq!(twins, [SC_TWIN_1, SC_TWIN_2]);
        let (a, b) = (clients[3], clients[4]);
        for f in [c::BIRTH_DATE, c::LAST_NAME, c::STREET, c::CITY, c::ZIP] {
            assert_eq!(field(a, f), field(b, f), "twins share {}", f.name);
        }
        for f in [c::FIRST_NAME, c::CHART_NUMBER, c::MEDI_CAL_CIN] {
            assert_ne!(field(a, f), field(b, f), "twins differ in {}", f.name);
        }
        assert_eq!([field(a, c::BIRTH_ORDER), field(b, c::BIRTH_ORDER)], ["1", "2"]);

        assert_eq!(client_with(c::CLIENT_STATUS, "P"), [SC_DECEASED]);
        let deceased = clients[5];
        let death = date(&field(deceased, c::DEATH_DATE)).unwrap();
        for d in doses_with(i::RECORD_ID, SC_DECEASED) {
            assert!(date(&field(d, i::VACCINATION_DATE)).unwrap() < death);
        }
        assert!(client_with(c::CHART_NUMBER, "").contains(&SC_NO_CHART.to_string()));
        assert_eq!(client_with(c::SSN, SHOWCASE_SSN), [SC_SSN]);
        assert_eq!(clients.iter().filter(|r| !field(r, c::SSN).is_empty()).count(), 1);

        let short: Vec<_> = clients.iter().filter(|r| r.len() != CLIENT_WIDTH).collect();
        assert_eq!(short.len(), 1);
        assert_eq!(short[0].len(), c::BIRTH_DATE.start - 1, "cut before the birth date");
        assert_eq!(field(short[0], c::RECORD_ID), SC_SHORT_LINE);
        let bad_birth = client_with(c::BIRTH_DATE, BAD_BIRTH_DATE);
        assert_eq!(bad_birth, [SC_BAD_BIRTH]);
        assert!(date(BAD_BIRTH_DATE).is_none());

        let cpt_only =
            doses.iter().filter(|r| field(r, i::CVX).is_empty() && !field(r, i::CPT).is_empty());
        assert_eq!(cpt_only.count(), 1);
        let ndc_only =
            doses.iter().filter(|r| field(r, i::CVX).is_empty() && !field(r, i::NDC).is_empty());
        assert_eq!(ndc_only.count(), 1);
        let refusals = doses_with(i::REFUSAL_REASON, "00");
        assert_eq!(refusals.len(), 1);
        assert_eq!(field(refusals[0], i::COMPLETION_STATUS), "RE");
        assert_eq!(doses_with(i::ACTION, "U").len(), 1);
        assert_eq!(doses_with(i::ACTION, "D").len(), 1);
        let sources: HashSet<String> =
            doses_with(i::HISTORICAL, "Y").iter().map(|r| field(r, i::INFO_SOURCE)).collect();
        for source in ["02", "03", "04", "05", "06", "07", "08"] {
            assert!(sources.contains(source), "info source {source}");
        }
        let administered: Vec<_> = doses_with(i::HISTORICAL, "N")
            .into_iter()
            .filter(|r| field(r, i::REFUSAL_REASON).is_empty())
            .collect();
        let without_lot: Vec<_> =
            administered.iter().filter(|r| field(r, i::LOT_NUMBER).is_empty()).collect();
        assert_eq!(without_lot.len(), 1);
        assert_eq!(field(without_lot[0], i::RECORD_ID), SC_BAD_DOSES);
        assert!(administered.len() > 5);

        let known_cvx = column("cdc/cvx.csv", "cvx_code");
        assert!(!known_cvx.contains(UNKNOWN_CVX));
        assert_eq!(doses_with(i::CVX, UNKNOWN_CVX).len(), 1);
        let bad_dates: Vec<_> =
            doses.iter().filter(|r| date(&field(r, i::VACCINATION_DATE)).is_none()).collect();
        assert_eq!(bad_dates.len(), 1);
        assert_eq!(field(bad_dates[0], i::VACCINATION_DATE), BAD_VACCINATION_DATE);

        // Order: every dose's patient in client order, the orphan last; one client has none.
        let ids: Vec<String> = clients.iter().map(|r| field(r, c::RECORD_ID)).collect();
        let positions: Vec<Option<usize>> =
            doses.iter().map(|r| ids.iter().position(|id| *id == field(r, i::RECORD_ID))).collect();
        assert_eq!(positions.last(), Some(&None), "the orphan is last");
        assert_eq!(positions.iter().filter(|p| p.is_none()).count(), 1);
        assert_eq!(field(doses[34], i::RECORD_ID), SC_ORPHAN);
        let linked: Vec<usize> = positions.iter().flatten().copied().collect();
        assert!(linked.windows(2).all(|w| w[0] <= w[1]), "doses in client order");
        let without_doses: Vec<&String> =
            ids.iter().enumerate().filter(|(n, _)| !linked.contains(n)).map(|(_, id)| id).collect();
        assert_eq!(without_doses, [SC_NO_DOSES]);

        // Everything not deliberately bad is valid, and dates are consistent.
        assert_codes_in_spec_tables(&client, &immun, &[UNKNOWN_CVX]);
        for d in &doses {
            let Some(day) = date(&field(d, i::VACCINATION_DATE)) else { continue };
            assert!(day <= last_dose());
            let id = field(d, i::RECORD_ID);
            let birth = clients
                .iter()
                .find(|r| field(r, c::RECORD_ID) == id)
                .and_then(|r| date(&field(r, c::BIRTH_DATE)));
            assert!(birth.is_none_or(|b| b < day), "{id}: dose after birth");
        }
    }

    #[test]
    fn sample_data_is_the_showcase_pair() {
        let (client, immun, _) = showcase();
        let sample = |name: &str| fs::read(repo_path("sample_data").join(name)).unwrap();
        assert!(sample("SAMPLE_CLIENT.txt") == client, "regenerate sample_data (see README)");
        assert!(sample("SAMPLE_IMMUN.txt") == immun, "regenerate sample_data (see README)");
    }

    #[test]
    fn run_publishes_both_files_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("new").join("dir");
        let args = GenerateArgs {
            out_dir: out_dir.clone(),
            stem: "T".into(),
            doses: 100,
            seed: 9,
            site_id: "DE-000777".into(),
            showcase: false,
        };
        assert_eq!(run(&args).unwrap(), ExitStatus::Ok);
        let (client, immun, _) = random(100, 9);
        assert_eq!(fs::read(out_dir.join("T_CLIENT.txt")).unwrap(), client);
        assert_eq!(fs::read(out_dir.join("T_IMMUN.txt")).unwrap(), immun);
        assert_eq!(fs::read_dir(&out_dir).unwrap().count(), 2, "no .part left");

        let showcase_args = GenerateArgs { showcase: true, stem: "S".into(), ..args };
        run(&showcase_args).unwrap();
        assert_eq!(fs::read(out_dir.join("S_IMMUN.txt")).unwrap(), showcase().1);

        for stem in ["", "..", "a/b"] {
            let bad = GenerateArgs { stem: stem.into(), out_dir: out_dir.clone(), ..plain_args() };
            assert!(matches!(run(&bad), Err(Error::Argument { flag: "--stem", .. })), "{stem:?}");
        }
        let bad = GenerateArgs { site_id: "DE-0001234567".into(), out_dir, ..plain_args() };
        assert!(matches!(run(&bad), Err(Error::Argument { flag: "--site-id", .. })));
    }

    fn plain_args() -> GenerateArgs {
        GenerateArgs {
            out_dir: PathBuf::new(),
            stem: "X".into(),
            doses: 10,
            seed: 1,
            site_id: "DE-000777".into(),
            showcase: false,
        }
    }
}
