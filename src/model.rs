//! The checked domain model between validation and rendering: a patient and their
//! doses with HL7 codes already resolved. Borrowed from the input line (`'a`) and the
//! code sets (`'s`); nothing here allocates per field except transliterated text.

use std::borrow::Cow;

use chrono::NaiveDate;

/// A code with its display text, as HL7 CE/CWE components 1 and 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coded<'s> {
    /// The code.
    pub code: &'s str,
    /// Its display text.
    pub label: &'s str,
}

/// A person's name, transliterated to what CAIR2 accepts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersonName {
    /// Family name.
    pub last: String,
    /// Given name.
    pub first: String,
    /// Middle name.
    pub middle: String,
}

/// The patient's responsible person (NK1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Responsible<'s> {
    /// Their name.
    pub name: PersonName,
    /// HL7 0063 relationship.
    pub relationship: Coded<'s>,
}

/// A checked patient.
#[derive(Clone, Debug)]
pub struct Patient<'a, 's> {
    /// The sender's record identifier.
    pub record_id: &'a str,
    /// Provider chart number (MRN), or "" when missing.
    pub chart_number: &'a str,
    /// Medi-Cal CIN, or "".
    pub medi_cal_cin: &'a str,
    /// Legal name.
    pub name: PersonName,
    /// Name suffix (JR, III).
    pub suffix: String,
    /// Mother's maiden name (last and first only).
    pub mother: PersonName,
    /// Date of birth.
    pub birth_date: NaiveDate,
    /// Date of death.
    pub death_date: Option<NaiveDate>,
    /// PID-8 sex code, or "".
    pub sex: &'s str,
    /// CDCREC race.
    pub race: Option<Coded<'s>>,
    /// CDCREC ethnicity.
    pub ethnicity: Option<Coded<'s>>,
    /// HL7 0215 publicity code.
    pub publicity: Coded<'s>,
    /// Whether the patient declined to share (PD1-12 = Y).
    pub locked: bool,
    /// HL7 0441 registry status.
    pub registry_status: Coded<'s>,
    /// Responsible person, when complete.
    pub responsible: Option<Responsible<'s>>,
    /// Street address (ASCII).
    pub street: Cow<'a, str>,
    /// Second address line (ASCII).
    pub street2: Cow<'a, str>,
    /// City (ASCII).
    pub city: Cow<'a, str>,
    /// Two-letter state.
    pub state: &'a str,
    /// ZIP code, `12345` or `12345-6789`.
    pub zip: String,
    /// County FIPS code (state + county, 5 digits), or "".
    pub county: String,
    /// Phone area code and number, when valid.
    pub phone: Option<(&'a str, &'a str)>,
    /// E-mail address, when valid.
    pub email: &'a str,
    /// HL7 0296 language.
    pub language: Option<Coded<'s>>,
    /// PID-24 multiple-birth indicator.
    pub multiple_birth: Option<bool>,
    /// PID-25 birth order, "" when unknown.
    pub birth_order: &'a str,
    /// CAIR site id of the client record.
    pub site_id: &'a str,
}

/// The administering provider (RXA-10, ORC-12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider<'a> {
    /// National provider identifier.
    pub npi: &'a str,
    /// Family name (ASCII).
    pub last: Cow<'a, str>,
    /// Given name (ASCII).
    pub first: Cow<'a, str>,
}

/// A checked dose.
#[derive(Clone, Debug)]
pub struct Dose<'a, 's> {
    /// Line number in the immunization file.
    pub line: u64,
    /// Administration date.
    pub date: NaiveDate,
    /// The vaccine, as CVX.
    pub vaccine: Coded<'s>,
    /// Trade name as sent.
    pub trade_name: &'a str,
    /// Manufacturer (MVX), when sent.
    pub mvx: Option<Coded<'a>>,
    /// Lot number.
    pub lot: &'a str,
    /// Lot expiration date.
    pub lot_expiration: Option<NaiveDate>,
    /// Dose amount in mL; `None` sends 999 (unknown).
    pub amount: Option<&'a str>,
    /// NCIT route.
    pub route: Option<Coded<'s>>,
    /// HL7 0163 body site.
    pub body_site: Option<Coded<'s>>,
    /// NIP001 information source; `None` for refusals and doses not administered.
    pub source: Option<Coded<'s>>,
    /// Administered here (RXA-9 00) rather than historical.
    pub administered: bool,
    /// HL7 0064 VFC eligibility.
    pub eligibility: Option<Coded<'a>>,
    /// Funding source.
    pub funding: Option<Coded<'s>>,
    /// Administering provider.
    pub provider: Option<Provider<'a>>,
    /// RXA-11.4 administering site id.
    pub admin_site: &'a str,
    /// NIP002 refusal reason.
    pub refusal: Option<Coded<'s>>,
    /// HL7 0322 completion status.
    pub completion: &'s str,
    /// HL7 0323 action code.
    pub action: &'s str,
    /// VIS publication date.
    pub vis_published: Option<NaiveDate>,
    /// VIS presentation date.
    pub vis_presented: Option<NaiveDate>,
    /// ORC-3 filler order number: stable for the same dose in a re-sent file.
    pub order_id: String,
}
