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
    // Registry load (crate::load).
    /// Several registry patients match the name, birth date and sex exactly; not merged.
    SeveralRegistryMatches = "R001",
    /// A delete (`D`) record matched no dose in the registry.
    NothingToDelete = "R002",
    // VXU intake (crate::intake).
    /// The input or its MSH cannot be parsed.
    Unparseable = "M001",
    /// MSH-11 is not an accepted processing id.
    ProcessingIdUnsupported = "M002",
    /// MSH-9.1 is not VXU.
    MessageTypeUnsupported = "M003",
    /// MSH-9.2 is not V04.
    EventUnsupported = "M004",
    /// MSH-12 is not an accepted version.
    VersionUnsupported = "M005",
    /// MSH-7 is empty.
    MessageDateMissing = "M006",
    /// MSH-7 is not a timestamp.
    MessageDateInvalid = "M007",
    /// MSH-7 is after the processing time.
    MessageDateFuture = "M008",
    /// MSH-7 without a UTC offset.
    MessageDateNoOffset = "M009",
    /// MSH-10 is empty.
    ControlIdMissing = "M010",
    /// MSH-21 names another profile.
    ProfileIdUnexpected = "M011",
    /// MSH-1/MSH-2 are not the standard delimiters (IZ-12, IZ-13).
    NonStandardDelimiters = "M012",
    /// MSH-15/16 outside HL7 0155 (IZ-16).
    AckTypeInvalid = "M013",
    /// The ACK lists only the first findings; this one counts the rest.
    FindingsTruncated = "M014",
    /// A segment the profile requires is missing.
    SegmentMissing = "S001",
    /// A segment the profile does not place here.
    SegmentUnexpected = "S002",
    /// A segment or group beyond its maximum cardinality.
    SegmentRepeated = "S003",
    /// A field of usage R is empty (fields with their own rule excepted).
    FieldMissing = "S004",
    /// A field of usage X is valued.
    FieldNotSupported = "S005",
    /// A field beyond its maximum cardinality.
    FieldRepeated = "S006",
    /// A primitive field beyond its maximum length.
    FieldTooLong = "S007",
    /// A DT/TS field (without its own rule) that is not a date.
    DateTimeInvalid = "S008",
    /// PID-3 has no identifier.
    PatientIdMissing = "P101",
    /// A PID-3 identifier without its type code.
    PatientIdTypeMissing = "P102",
    /// PID-7 is empty.
    BirthDateMissing = "P103",
    /// PID-7 is not a date.
    BirthDateInvalid = "P104",
    /// Race or ethnicity coded in another system than CDCREC.
    CodingSystemNotCdcrec = "P105",
    /// PID-29 is not a date.
    DeathDateInvalid = "P106",
    /// PD1-11 outside HL7 0215.
    PublicityCodeUnknown = "P107",
    /// PD1-12 outside Y/N.
    ProtectionInvalid = "P108",
    /// PD1-16 outside HL7 0441.
    RegistryStatusUnknown = "P109",
    /// NK1-3 outside HL7 0063.
    RelationshipUnknown = "P110",
    /// NK1-3 is empty (IG 1.5 example: the NK1 segment is rejected).
    RelationshipMissing = "P111",
    /// A PID-3 identifier type outside HL7 0203.
    PatientIdTypeInvalid = "P112",
    /// RXA-5 coded in another system than CVX or NDC (or none).
    VaccineCodingSystemInvalid = "V101",
    /// RXA-3 is empty.
    AdminDateMissing = "V102",
    /// RXA-3 is not a date.
    AdminDateInvalid = "V103",
    /// RXA-3 after MSH-7.
    AdminDateAfterMessage = "V104",
    /// RXA-3 outside the CVX licensed window.
    AdminDateOutsideLicense = "V105",
    /// RXA-3 outside the CVX expected window.
    AdminDateOutsideExpected = "V106",
    /// Age at an administered dose outside the CVX age window.
    AgeOutsideValid = "V107",
    /// A never-active or non-US CVX on an administered dose.
    CvxNotUsable = "V108",
    /// RXA-21 is empty.
    ActionMissing = "V109",
    /// RXR-1 outside HL7 0162 / NCIT.
    RouteUnknown = "V110",
    /// RXR-2 outside HL7 0163.
    BodySiteUnknown = "V111",
    /// A 30963-3 funding source outside the CDC value set.
    FundingSourceUnknown = "V112",
    /// RXA-9 outside NIP001.
    InfoSourceUnknown = "V113",
    /// RXA-9 empty on a completed dose (IZ-31).
    InfoSourceMissing = "V114",
    /// OBX-3 is empty.
    ObservationIdMissing = "V115",
    /// OBX-2 outside the IZ-21 value types.
    ObservationTypeInvalid = "V116",
    /// OBX-11 is not F (IZ-22).
    ObservationStatusInvalid = "V117",
    /// OBX-5 is empty.
    ObservationValueMissing = "V118",
    /// RXA-6 is not numeric.
    DoseAmountNotNumeric = "V119",
    /// RXA-18 valued and RXA-20 is not RE (IZ-32).
    RefusalNotRe = "V120",
    /// CVX 998 and RXA-20 is not NA (IZ-34).
    NoVaccineNotNa = "V121",
    /// RXA-3 after RXA-22.
    AdminAfterSystemEntry = "V122",
    /// RXA-4 valued and not RXA-3 (IZ-30).
    AdminEndDiffers = "V123",
    /// A coded value the code set marks deprecated.
    CodeDeprecated = "V124",
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
