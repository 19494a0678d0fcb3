//! Data-quality findings: values, not errors. Every check in the project reports a
//! [`Rule`] from the catalogue in `specs/rules.toml` with where it was found; the
//! catalogue decides its severity, so a registry can retune checks without a rebuild.

use std::fmt;

/// Declares the rule ids the code checks; each must exist in `specs/rules.toml`.
macro_rules! rules {
    ($($(#[$doc:meta])* $variant:ident = $id:literal,)*) => {
        /// A rule of the catalogue that code can report.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule {
            $($(#[$doc])* $variant,)*
        }

        impl Rule {
            /// Every rule the code can report, in declaration order.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The stable id used in the catalogue, response files and ACKs.
            pub fn id(self) -> &'static str {
                match self {
                    $(Rule::$variant => $id,)*
                }
            }
        }
    };
}

rules! {
    /// A fixed-width line longer than the layout, with non-blank overflow.
    LineTooLong = "F001",
    /// A fixed-width line shorter than the layout.
    LineTooShort = "F002",
    /// Bytes the declared encoding cannot map.
    BadEncoding = "F003",
    /// An empty line inside the file.
    BlankLine = "F004",
    /// A delimited record with the wrong number of fields.
    WrongFieldCount = "F005",
    /// A field the layout marks required is blank.
    RequiredMissing = "F010",
    /// A required date that is not a real MMDDYYYY date.
    RequiredDateInvalid = "F011",
    /// An optional date that is not a real MMDDYYYY date.
    OptionalDateInvalid = "F012",
    /// A numeric field with other characters.
    NotNumeric = "F013",
    /// A client record id seen before in the same file.
    DuplicateRecordId = "L001",
    /// An immunization record whose client is not in the client file.
    OrphanImmunization = "L002",
    /// An immunization record of a rejected client.
    ClientRejected = "L003",
    /// First name empty after transliteration.
    FirstNameMissing = "P001",
    /// Last name empty after transliteration.
    LastNameMissing = "P002",
    /// A name changed by transliteration to A-Z.
    NameTransliterated = "P003",
    /// Birth date after the run date.
    BirthDateFuture = "P004",
    /// Death date before birth date.
    DeathBeforeBirth = "P005",
    /// Sex code outside M F U X.
    SexInvalid = "P006",
    /// Race code not in the crosswalk.
    RaceInvalid = "P007",
    /// Ethnicity code not in the crosswalk.
    EthnicityInvalid = "P008",
    /// Publicity code not in HL7 0215.
    PublicityInvalid = "P009",
    /// Consent-to-share flag other than Y, N or blank.
    ConsentInvalid = "P010",
    /// No chart number; the record id stands in for PID-3.
    ChartNumberMissing = "P011",
    /// Responsible-party relationship not recognized.
    RelationshipInvalid = "P012",
    /// ZIP code not 5 or 9 digits.
    ZipInvalid = "P013",
    /// Phone not 10 digits.
    PhoneInvalid = "P014",
    /// E-mail address malformed.
    EmailInvalid = "P015",
    /// Language not in HL7 0296.
    LanguageInvalid = "P016",
    /// Multiple-birth indicator or birth order invalid.
    MultipleBirthInvalid = "P017",
    /// Medi-Cal CIN malformed.
    CinInvalid = "P018",
    /// Client status not in the crosswalk.
    ClientStatusInvalid = "P019",
    /// The record's site differs from the job's (roles 1 and 2).
    SiteMismatch = "P020",
    /// Birth date before 1900.
    BirthDateTooOld = "P021",
    /// Non-name text folded to ASCII.
    TextTransliterated = "P022",
    /// Responsible-party relationship without a name.
    ResponsibleNameMissing = "P023",
    /// No CVX, CPT or NDC.
    VaccineCodeMissing = "V001",
    /// CVX not in the CDC table.
    CvxUnknown = "V002",
    /// CPT not in the CDC CPT-CVX table.
    CptUnknown = "V003",
    /// NDC not in the CDC NDC tables.
    NdcUnknown = "V004",
    /// CPT/NDC maps to another CVX than the one given.
    VaccineCodesDisagree = "V005",
    /// Vaccination date after the run date.
    VaccinationDateFuture = "V006",
    /// Vaccination date before birth.
    VaccinationBeforeBirth = "V007",
    /// Vaccination date after death.
    VaccinationAfterDeath = "V008",
    /// Administered dose without lot number.
    LotMissing = "V009",
    /// Administered dose without manufacturer.
    MvxMissing = "V010",
    /// MVX not in the CDC table.
    MvxUnknown = "V011",
    /// MVX that does not make this CVX.
    MvxNotForCvx = "V012",
    /// Administered dose without VFC eligibility.
    EligibilityMissing = "V013",
    /// VFC eligibility not in HL7 0064.
    EligibilityInvalid = "V014",
    /// Funding source not recognized.
    FundingSourceInvalid = "V015",
    /// Route not recognized.
    RouteInvalid = "V016",
    /// Body site not in HL7 0163.
    BodySiteInvalid = "V017",
    /// Dose amount not a number.
    DoseAmountInvalid = "V018",
    /// Historical flag other than Y, N or blank.
    HistoricalFlagInvalid = "V019",
    /// Information source outside 01-08.
    InfoSourceInvalid = "V020",
    /// Information source on an administered dose.
    InfoSourceOnAdministered = "V021",
    /// Refusal reason not in NIP002.
    RefusalReasonInvalid = "V022",
    /// Completion status not in HL7 0322.
    CompletionStatusInvalid = "V023",
    /// Action code not A, U or D.
    ActionInvalid = "V024",
    /// Lot expired before the vaccination date.
    LotExpired = "V025",
    /// An inactive CVX on an administered dose.
    CvxInactive = "V026",
    /// Provider NPI not 10 digits.
    NpiInvalid = "V027",
}

/// How serious a finding is (HL7 table 0516).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The record is rejected.
    Error,
    /// The record is accepted; something was dropped or defaulted.
    Warning,
    /// For the sender's information.
    Info,
}

impl Severity {
    /// The HL7 0516 code: E, W or I.
    pub fn code(self) -> &'static str {
        match self {
            Severity::Error => "E",
            Severity::Warning => "W",
            Severity::Info => "I",
        }
    }

    /// Parses an HL7 0516 code.
    pub fn from_code(code: &str) -> Option<Severity> {
        match code {
            "E" => Some(Severity::Error),
            "W" => Some(Severity::Warning),
            "I" => Some(Severity::Info),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Which input file a finding is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InputFile {
    /// The client (patient) file.
    Client,
    /// The immunization file.
    Immunization,
}

/// One finding on one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule that fired.
    pub rule: Rule,
    /// The file it is in.
    pub file: InputFile,
    /// 1-based line number.
    pub line: u64,
    /// The field (layout field name), or empty for the whole record.
    pub field: &'static str,
    /// The offending value, when quoting it helps the sender and is not identifying.
    pub value: Option<Box<str>>,
}

impl Finding {
    /// A finding on `field` quoting `value`.
    pub fn new(rule: Rule, file: InputFile, line: u64, field: &'static str, value: &str) -> Self {
        let value = (!value.is_empty()).then(|| value.into());
        Finding { rule, file, line, field, value }
    }
}
