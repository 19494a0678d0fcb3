//! Flat-file layouts (`specs/layouts/*.toml`): a client and an immunization record
//! layout per set, fixed width or delimited, compiled to field positions resolved once.

use serde::Deserialize;

use super::SpecError;

/// Declares the fields the code knows for one record type.
macro_rules! fields {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $field:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $(#[doc = concat!("`", $field, "`")] $variant,)*
        }

        impl $name {
            /// Every field, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            /// Number of fields.
            pub const COUNT: usize = $name::ALL.len();

            /// The field's name in layout files.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $field,)*
                }
            }

            fn from_name(name: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|f| f.name() == name)
            }
        }
    };
}

fields! {
    /// Fields of a CAIR1 client record.
    ClientField {
        RecordId = "record_id",
        ClientStatus = "client_status",
        FirstName = "first_name",
        MiddleName = "middle_name",
        LastName = "last_name",
        NameSuffix = "name_suffix",
        BirthDate = "birth_date",
        DeathDate = "death_date",
        MotherFirstName = "mother_first_name",
        MotherMaidenLast = "mother_maiden_last",
        Sex = "sex",
        Race = "race",
        Ethnicity = "ethnicity",
        Ssn = "ssn",
        ContactAllowed = "contact_allowed",
        ConsentToShare = "consent_to_share",
        ChartNumber = "chart_number",
        RespFirstName = "resp_first_name",
        RespMiddleName = "resp_middle_name",
        RespLastName = "resp_last_name",
        RespRelationship = "resp_relationship",
        Street = "street",
        Street2 = "street2",
        City = "city",
        State = "state",
        Zip = "zip",
        CountyFips = "county_fips",
        Phone = "phone",
        Email = "email",
        Language = "language",
        MultipleBirth = "multiple_birth",
        BirthOrder = "birth_order",
        MediCalCin = "medi_cal_cin",
        SiteId = "site_id",
    }
}

fields! {
    /// Fields of a CAIR1 immunization record.
    ImmField {
        RecordId = "record_id",
        VaccinationDate = "vaccination_date",
        Cvx = "cvx",
        Cpt = "cpt",
        Ndc = "ndc",
        TradeName = "trade_name",
        Mvx = "mvx",
        LotNumber = "lot_number",
        LotExpiration = "lot_expiration",
        DoseAmount = "dose_amount",
        Route = "route",
        BodySite = "body_site",
        Historical = "historical",
        InfoSource = "info_source",
        VfcEligibility = "vfc_eligibility",
        FundingSource = "funding_source",
        ProviderNpi = "provider_npi",
        ProviderLast = "provider_last",
        ProviderFirst = "provider_first",
        SiteId = "site_id",
        RefusalReason = "refusal_reason",
        CompletionStatus = "completion_status",
        Action = "action",
        VisPublished = "vis_published",
        VisPresented = "vis_presented",
    }
}

/// What the generic checks do with a field's value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text.
    #[default]
    Text,
    /// A code checked against a code set by the validator.
    Code,
    /// A date, MMDDYYYY.
    Date,
    /// Digits only.
    Digits,
    /// A decimal number.
    Decimal,
    /// Unused positions.
    Filler,
}

/// How a file's records are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Fixed positions per line.
    FixedWidth,
    /// Fields separated by a delimiter, in layout order.
    Delimited,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLayoutSet {
    /// Name used by `--layout`; must equal the file stem.
    name: String,
    /// One line for `cairdx check` and the README.
    description: String,
    /// The client (patient) record.
    client: RawLayout,
    /// The immunization record.
    immunization: RawLayout,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayout {
    /// fixed_width or delimited.
    format: Format,
    /// Record length of a fixed-width line, in characters.
    line_length: Option<usize>,
    /// Field delimiter of a delimited file, one ASCII character.
    delimiter: Option<String>,
    /// Fields, in order.
    field: Vec<RawField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    /// A field name the code knows, or any name for a filler.
    name: String,
    /// First position, 1-based (fixed width only).
    start: Option<usize>,
    /// Last position, inclusive (fixed width only).
    end: Option<usize>,
    /// Whether a blank value rejects the record.
    #[serde(default)]
    required: bool,
    /// Generic check applied to the value.
    #[serde(default, rename = "type")]
    kind: FieldType,
}

/// A compiled field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDef {
    /// Layout name of the field.
    pub name: &'static str,
    /// 0-based character position (fixed width) or column index (delimited).
    pub start: usize,
    /// End character position, exclusive (fixed width); `start + 1` for delimited.
    pub end: usize,
    /// Whether blank rejects the record.
    pub required: bool,
    /// Generic check.
    pub kind: FieldType,
}

/// A compiled record layout: for each known field, where it is (if the layout has it).
#[derive(Clone, Debug)]
pub struct Layout {
    /// Fixed width or delimited.
    pub format: Format,
    /// Characters per fixed-width record.
    pub line_length: usize,
    /// Delimiter byte of a delimited file.
    pub delimiter: u8,
    /// Number of columns of a delimited record.
    pub columns: usize,
    /// Field definitions indexed by the record type's field enum (`None`: not in layout).
    pub fields: Vec<Option<FieldDef>>,
}

/// A compiled layout set.
#[derive(Clone, Debug)]
pub struct LayoutSet {
    /// Name used by `--layout`.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// The client record layout, indexed by [`ClientField`].
    pub client: Layout,
    /// The immunization record layout, indexed by [`ImmField`].
    pub immunization: Layout,
}

const CLIENT_REQUIRED_BY_CODE: &[ClientField] = &[ClientField::RecordId];
const IMM_REQUIRED_BY_CODE: &[ImmField] = &[ImmField::RecordId, ImmField::VaccinationDate];

impl LayoutSet {
    /// Compiles a layout file, collecting every mistake.
    pub(super) fn compile(
        file: &str,
        text: &str,
        errors: &mut Vec<SpecError>,
    ) -> Option<LayoutSet> {
        let raw: RawLayoutSet = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                errors.push(SpecError {
                    file: file.into(),
                    key: String::new(),
                    message: e.to_string(),
                });
                return None;
            }
        };
        let stem = file.rsplit('/').next().unwrap_or(file).trim_end_matches(".toml");
        if raw.name != stem {
            errors.push(SpecError {
                file: file.into(),
                key: "name".into(),
                message: format!("{:?} must equal the file name {stem:?}", raw.name),
            });
        }
        let before = errors.len();
        let client = compile_layout(file, "client", &raw.client, errors, ClientField::COUNT, |n| {
            ClientField::from_name(n).map(|f| (f as usize, f.name()))
        });
        let immunization =
            compile_layout(file, "immunization", &raw.immunization, errors, ImmField::COUNT, |n| {
                ImmField::from_name(n).map(|f| (f as usize, f.name()))
            });
        for f in CLIENT_REQUIRED_BY_CODE {
            if client.fields[*f as usize].is_none() {
                errors.push(missing_field(file, "client", f.name()));
            }
        }
        for f in IMM_REQUIRED_BY_CODE {
            if immunization.fields[*f as usize].is_none() {
                errors.push(missing_field(file, "immunization", f.name()));
            }
        }
        (errors.len() == before).then_some(LayoutSet {
            name: raw.name,
            description: raw.description,
            client,
            immunization,
        })
    }
}

fn missing_field(file: &str, record: &str, name: &str) -> SpecError {
    SpecError {
        file: file.into(),
        key: format!("{record}.field"),
        message: format!("field {name:?} is required by cairdx and missing"),
    }
}

fn compile_layout(
    file: &str,
    record: &str,
    raw: &RawLayout,
    errors: &mut Vec<SpecError>,
    count: usize,
    resolve: impl Fn(&str) -> Option<(usize, &'static str)>,
) -> Layout {
    let mut err = |key: String, message: String| {
        errors.push(SpecError { file: file.into(), key, message });
    };
    let fixed = raw.format == Format::FixedWidth;
    let line_length = raw.line_length.unwrap_or(0);
    let mut delimiter = b'|';
    if fixed {
        if line_length == 0 {
            err(format!("{record}.line_length"), "a fixed-width layout needs line_length".into());
        }
        if raw.delimiter.is_some() {
            err(format!("{record}.delimiter"), "only delimited layouts have a delimiter".into());
        }
    } else {
        match raw.delimiter.as_deref().map(str::as_bytes) {
            Some([b]) if b.is_ascii() && !b.is_ascii_alphanumeric() => delimiter = *b,
            _ => {
                err(format!("{record}.delimiter"), "must be one ASCII punctuation character".into())
            }
        }
        if raw.line_length.is_some() {
            err(
                format!("{record}.line_length"),
                "only fixed-width layouts have a line_length".into(),
            );
        }
    }
    let mut fields: Vec<Option<FieldDef>> = vec![None; count];
    let mut spans: Vec<(usize, usize, usize)> = Vec::new();
    for (i, f) in raw.field.iter().enumerate() {
        let key = |what: &str| format!("{record}.field[{i}] ({}){what}", f.name);
        let (start, end) = if fixed {
            match (f.start, f.end) {
                (Some(s), Some(e)) if s >= 1 && s <= e => {
                    if e > line_length {
                        err(key(".end"), format!("{e} is past line_length {line_length}"));
                    }
                    spans.push((s, e, i));
                    (s - 1, e)
                }
                (Some(_), Some(_)) => {
                    err(key(".start"), "start must be at least 1 and not after end".into());
                    continue;
                }
                _ => {
                    err(key(""), "a fixed-width field needs start and end".into());
                    continue;
                }
            }
        } else {
            if f.start.is_some() || f.end.is_some() {
                err(key(""), "delimited fields are positional by order; remove start/end".into());
            }
            (i, i + 1)
        };
        if f.kind == FieldType::Filler {
            continue;
        }
        let Some((slot, name)) = resolve(&f.name) else {
            err(key(".name"), "unknown field (mark unused positions type = \"filler\")".into());
            continue;
        };
        if fields[slot].is_some() {
            err(key(".name"), "field appears twice".into());
            continue;
        }
        fields[slot] = Some(FieldDef { name, start, end, required: f.required, kind: f.kind });
    }
    spans.sort_unstable();
    for pair in spans.windows(2) {
        let ((_, prev_end, a), (start, _, b)) = (pair[0], pair[1]);
        if start <= prev_end {
            err(format!("{record}.field[{b}]"), format!("overlaps field[{a}]"));
        }
    }
    Layout { format: raw.format, line_length, delimiter, columns: raw.field.len(), fields }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mistake_is_named() {
        let text = r#"
name = "other"
description = "broken"
[client]
format = "fixed_width"
line_length = 10
[[client.field]]
name = "record_id"
start = 1
end = 8
[[client.field]]
name = "first_nam"
start = 5
end = 12
[immunization]
format = "delimited"
delimiter = "ab"
[[immunization.field]]
name = "record_id"
"#;
        let mut errors = Vec::new();
        assert!(LayoutSet::compile("layouts/test.toml", text, &mut errors).is_none());
        let msgs: Vec<String> = errors.iter().map(|e| format!("{} {}", e.key, e.message)).collect();
        let all = msgs.join("\n");
        for needle in [
            "name",
            "past line_length",
            "unknown field",
            "overlaps",
            "delimiter",
            "vaccination_date",
        ] {
            assert!(all.contains(needle), "{needle} not in\n{all}");
        }
    }
}
