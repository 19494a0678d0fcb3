//! CAIR1 records to the checked model: code crosswalks, CAIR2's name rules, date logic
//! and the administered-dose requirements, each problem reported as a finding. Pure:
//! the run date comes in, nothing is read or written.

use std::borrow::Cow;

use chrono::NaiveDate;

use crate::finding::{Finding, InputFile, Rule};
use crate::model::{Coded, Dose, Patient, PersonName, Provider, Responsible};
use crate::parse::{parse_date, Fields};
use crate::spec::{ClientField as C, CodeSet, CodeSets, ImmField as I};

/// CAIR2 site roles (CDPH onboarding): who MSH-4, MSH-22 and RXA-11.4 name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SiteRole {
    /// The site sends directly: MSH-4 = MSH-22 = RXA-11.4 = site id.
    Direct {
        /// The site's CAIR id.
        site_id: String,
    },
    /// The site sends through a sending facility: MSH-4 = facility, the rest = site id.
    ViaFacility {
        /// The site's CAIR id.
        site_id: String,
        /// The sending facility's CAIR id.
        facility_id: String,
    },
    /// A sending facility for many sites: MSH-22 and RXA-11.4 come from each record.
    Facility {
        /// The sending facility's CAIR id.
        facility_id: String,
        /// Site id for records that carry none.
        default_site_id: String,
    },
}

impl SiteRole {
    /// MSH-4, the sending facility.
    pub fn sending_facility(&self) -> &str {
        match self {
            SiteRole::Direct { site_id } => site_id,
            SiteRole::ViaFacility { facility_id, .. } | SiteRole::Facility { facility_id, .. } => {
                facility_id
            }
        }
    }

    /// The site a record is reported for (MSH-22), given the record's own site id.
    pub fn responsible_site<'a>(&'a self, record_site: &'a str) -> &'a str {
        match self {
            SiteRole::Direct { site_id } | SiteRole::ViaFacility { site_id, .. } => site_id,
            SiteRole::Facility { default_site_id, .. } => {
                if record_site.is_empty() {
                    default_site_id
                } else {
                    record_site
                }
            }
        }
    }

    /// The job's own site id, which a record in roles 1 and 2 should carry.
    fn fixed_site(&self) -> Option<&str> {
        match self {
            SiteRole::Direct { site_id } | SiteRole::ViaFacility { site_id, .. } => Some(site_id),
            SiteRole::Facility { .. } => None,
        }
    }
}

/// What checks need besides the record.
pub struct Checker<'s> {
    /// Code sets.
    pub codes: &'s CodeSets,
    /// Site role and ids of the job.
    pub role: &'s SiteRole,
    /// The run date: later dates are in the future.
    pub today: NaiveDate,
}

/// Earliest plausible birth date (MQE0120 flags older ones).
fn earliest_birth() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default()
}

impl<'s> Checker<'s> {
    /// Checks a parsed client record. `None` when a finding rejects it (the caller sees
    /// the E findings); the patient otherwise.
    pub fn patient<'a>(
        &self,
        line: u64,
        f: &Fields<'a>,
        findings: &mut Vec<Finding>,
    ) -> Option<Patient<'a, 's>>
    where
        's: 'a,
    {
        let get = |field: C| f[field as usize];
        let mut report = |rule: Rule, field: C, value: &str| {
            findings.push(Finding::new(rule, InputFile::Client, line, field.name(), value));
        };
        let codes = self.codes;

        let mut name_changed: Option<C> = None;
        let mut name = |field: C| {
            let (text, changed) = letters_only(get(field));
            if changed && name_changed.is_none() {
                name_changed = Some(field);
            }
            text
        };
        let person = PersonName {
            last: name(C::LastName),
            first: name(C::FirstName),
            middle: name(C::MiddleName),
        };
        let suffix = name(C::NameSuffix);
        let mother = PersonName {
            last: name(C::MotherMaidenLast),
            first: name(C::MotherFirstName),
            middle: String::new(),
        };
        let resp_name = PersonName {
            last: name(C::RespLastName),
            first: name(C::RespFirstName),
            middle: name(C::RespMiddleName),
        };
        if let Some(field) = name_changed {
            report(Rule::NameTransliterated, field, "");
        }
        if person.first.is_empty() && !get(C::FirstName).is_empty() {
            report(Rule::FirstNameMissing, C::FirstName, "");
        }
        if person.last.is_empty() && !get(C::LastName).is_empty() {
            report(Rule::LastNameMissing, C::LastName, "");
        }

        let birth_date = parse_date(get(C::BirthDate));
        if let Some(dob) = birth_date {
            if dob > self.today {
                report(Rule::BirthDateFuture, C::BirthDate, get(C::BirthDate));
            } else if dob < earliest_birth() {
                report(Rule::BirthDateTooOld, C::BirthDate, get(C::BirthDate));
            }
        }
        let mut death_date = parse_date(get(C::DeathDate));
        if let (Some(death), Some(birth)) = (death_date, birth_date) {
            if death < birth {
                report(Rule::DeathBeforeBirth, C::DeathDate, get(C::DeathDate));
                death_date = None;
            }
        }

        let sex = lookup_target(&codes.cair1_sex, get(C::Sex)).map_or("", |c| c.code);
        if sex.is_empty() && !get(C::Sex).is_empty() {
            report(Rule::SexInvalid, C::Sex, get(C::Sex));
        }
        let race = crosswalk(&codes.cair1_race, &codes.cdcrec_race, get(C::Race));
        if race.is_none() && !get(C::Race).is_empty() {
            report(Rule::RaceInvalid, C::Race, get(C::Race));
        }
        let ethnicity =
            crosswalk(&codes.cair1_ethnicity, &codes.cdcrec_ethnicity, get(C::Ethnicity));
        if ethnicity.is_none() && !get(C::Ethnicity).is_empty() {
            report(Rule::EthnicityInvalid, C::Ethnicity, get(C::Ethnicity));
        }
        let publicity =
            match (get(C::ContactAllowed), lookup(&codes.hl70215, get(C::ContactAllowed))) {
                (_, Some(code)) => code,
                (value, None) => {
                    if !value.is_empty() {
                        report(Rule::PublicityInvalid, C::ContactAllowed, value);
                    }
                    lookup(&codes.hl70215, "02").unwrap_or(Coded { code: "02", label: "" })
                }
            };
        // Privacy first: anything but an explicit Y (or blank, CAIR's default) locks.
        let locked = match get(C::ConsentToShare) {
            "" | "Y" => false,
            "N" => true,
            other => {
                report(Rule::ConsentInvalid, C::ConsentToShare, other);
                true
            }
        };
        let registry_status =
            match crosswalk(&codes.cair1_client_status, &codes.hl70441, get(C::ClientStatus)) {
                Some(status) => status,
                None => {
                    if !get(C::ClientStatus).is_empty() {
                        report(Rule::ClientStatusInvalid, C::ClientStatus, get(C::ClientStatus));
                    }
                    lookup(&codes.hl70441, "A").unwrap_or(Coded { code: "A", label: "" })
                }
            };

        let relationship_code = get(C::RespRelationship);
        let has_resp = !resp_name.last.is_empty()
            || !resp_name.first.is_empty()
            || !relationship_code.is_empty();
        let responsible = if !has_resp {
            None
        } else if resp_name.last.is_empty() || resp_name.first.is_empty() {
            report(Rule::ResponsibleNameMissing, C::RespLastName, "");
            None
        } else {
            match crosswalk(&codes.cair1_relationship, &codes.hl70063, relationship_code) {
                Some(relationship) => Some(Responsible { name: resp_name, relationship }),
                None => {
                    report(Rule::RelationshipInvalid, C::RespRelationship, relationship_code);
                    None
                }
            }
        };

        let mut text_changed: Option<C> = None;
        let mut ascii = |field: C| {
            let (text, changed) = ascii_text(get(field));
            if changed && text_changed.is_none() {
                text_changed = Some(field);
            }
            text
        };
        let (street, street2, city) = (ascii(C::Street), ascii(C::Street2), ascii(C::City));
        if let Some(field) = text_changed {
            report(Rule::TextTransliterated, field, "");
        }
        let zip = match get(C::Zip) {
            z if z.len() == 5 => z.to_owned(),
            z if z.len() == 9 => format!("{}-{}", &z[..5], &z[5..]),
            "" => String::new(),
            z => {
                report(Rule::ZipInvalid, C::Zip, z);
                String::new()
            }
        };
        let state = get(C::State);
        let county = match get(C::CountyFips) {
            fips if fips.len() == 3 && state == "CA" => format!("06{fips}"),
            _ => String::new(),
        };
        let phone = match get(C::Phone) {
            "" => None,
            p if p.len() == 10 => Some((&p[..3], &p[3..])),
            p => {
                report(Rule::PhoneInvalid, C::Phone, p);
                None
            }
        };
        let email = match get(C::Email) {
            e if e.is_empty() || valid_email(e) => e,
            e => {
                report(Rule::EmailInvalid, C::Email, e);
                ""
            }
        };
        let language = match get(C::Language) {
            "" => None,
            l => {
                let code = lookup(&codes.hl70296, &l.to_ascii_lowercase());
                if code.is_none() {
                    report(Rule::LanguageInvalid, C::Language, l);
                }
                code
            }
        };
        let multiple_birth = match get(C::MultipleBirth) {
            "" => None,
            "Y" => Some(true),
            "N" => Some(false),
            other => {
                report(Rule::MultipleBirthInvalid, C::MultipleBirth, other);
                None
            }
        };
        let birth_order = match get(C::BirthOrder) {
            order if multiple_birth == Some(true) && matches!(order.as_bytes(), [b'1'..=b'9']) => {
                order
            }
            "" => "",
            other => {
                report(Rule::MultipleBirthInvalid, C::BirthOrder, other);
                ""
            }
        };
        let medi_cal_cin = match get(C::MediCalCin) {
            cin if cin.is_empty() || valid_cin(cin) => cin,
            cin => {
                report(Rule::CinInvalid, C::MediCalCin, cin);
                ""
            }
        };
        let chart_number = get(C::ChartNumber);
        if chart_number.is_empty() {
            report(Rule::ChartNumberMissing, C::ChartNumber, "");
        }
        let site_id = get(C::SiteId);
        if let Some(fixed) = self.role.fixed_site() {
            if !site_id.is_empty() && site_id != fixed {
                report(Rule::SiteMismatch, C::SiteId, site_id);
            }
        }

        Some(Patient {
            record_id: get(C::RecordId),
            chart_number,
            medi_cal_cin,
            name: person,
            suffix,
            mother,
            birth_date: birth_date?,
            death_date,
            sex,
            race,
            ethnicity,
            publicity,
            locked,
            registry_status,
            responsible,
            street,
            street2,
            city,
            state,
            zip,
            county,
            phone,
            email,
            language,
            multiple_birth,
            birth_order,
            site_id,
        })
    }

    /// Checks a parsed immunization record of `patient`.
    pub fn dose<'a>(
        &self,
        line: u64,
        f: &Fields<'a>,
        patient: &Patient<'a, 's>,
        findings: &mut Vec<Finding>,
    ) -> Option<Dose<'a, 's>>
    where
        's: 'a,
    {
        let get = |field: I| f[field as usize];
        let mut report = |rule: Rule, field: I, value: &str| {
            findings.push(Finding::new(rule, InputFile::Immunization, line, field.name(), value));
        };
        let codes = self.codes;

        let (cvx_raw, cpt, ndc) = (normalize_cvx(get(I::Cvx)), get(I::Cpt), get(I::Ndc));
        let from_cpt = (!cpt.is_empty()).then(|| codes.cpt_cvx.get(cpt).map(|e| &*e.target));
        let from_ndc = (!ndc.is_empty()).then(|| codes.ndc_cvx.get(ndc).map(|e| &*e.target));
        let cvx_code: Option<&str> = if !cvx_raw.is_empty() {
            if !codes.cvx.contains(&cvx_raw) {
                report(Rule::CvxUnknown, I::Cvx, get(I::Cvx));
            }
            for other in [from_cpt, from_ndc].into_iter().flatten().flatten() {
                if other != cvx_raw {
                    report(Rule::VaccineCodesDisagree, I::Cvx, other);
                }
            }
            codes.cvx.key(&cvx_raw)
        } else if let Some(mapped) = from_cpt {
            if mapped.is_none() {
                report(Rule::CptUnknown, I::Cpt, cpt);
            }
            mapped
        } else if let Some(mapped) = from_ndc {
            if mapped.is_none() {
                report(Rule::NdcUnknown, I::Ndc, ndc);
            }
            mapped
        } else {
            report(Rule::VaccineCodeMissing, I::Cvx, "");
            None
        };
        let vaccine = cvx_code.and_then(|code| lookup(&codes.cvx, code));

        let date_raw = get(I::VaccinationDate);
        let date = parse_date(date_raw);
        if let Some(date) = date {
            if date > self.today {
                report(Rule::VaccinationDateFuture, I::VaccinationDate, date_raw);
            }
            if date < patient.birth_date {
                report(Rule::VaccinationBeforeBirth, I::VaccinationDate, date_raw);
            }
            if patient.death_date.is_some_and(|death| date > death) {
                report(Rule::VaccinationAfterDeath, I::VaccinationDate, date_raw);
            }
        }

        let refusal = match get(I::RefusalReason) {
            "" => None,
            reason => {
                let code = lookup(&codes.nip002, reason);
                if code.is_none() {
                    report(Rule::RefusalReasonInvalid, I::RefusalReason, reason);
                }
                code
            }
        };
        let completion = match (refusal, get(I::CompletionStatus)) {
            (Some(_), _) => "RE",
            (None, "") => "CP",
            (None, status) => match codes.hl70322.key(status) {
                Some(code) => code,
                None => {
                    report(Rule::CompletionStatusInvalid, I::CompletionStatus, status);
                    "CP"
                }
            },
        };
        let action = match get(I::Action) {
            "" => "A",
            a @ ("A" | "U" | "D") => codes.hl70323.key(a).unwrap_or("A"),
            other => {
                report(Rule::ActionInvalid, I::Action, other);
                "A"
            }
        };
        let given = matches!(completion, "CP" | "PA");
        let administered = match get(I::Historical) {
            "N" => true,
            "" | "Y" => false,
            other => {
                report(Rule::HistoricalFlagInvalid, I::Historical, other);
                false
            }
        };
        let info = get(I::InfoSource);
        let source = if !given {
            None
        } else if administered {
            if !info.is_empty() && info != "00" {
                report(Rule::InfoSourceOnAdministered, I::InfoSource, info);
            }
            lookup(&codes.nip001, "00")
        } else {
            match info {
                "" => lookup(&codes.nip001, "01"),
                code if code != "00" && codes.nip001.contains(code) => lookup(&codes.nip001, code),
                code => {
                    report(Rule::InfoSourceInvalid, I::InfoSource, code);
                    lookup(&codes.nip001, "01")
                }
            }
        };

        let lot = get(I::LotNumber);
        let mvx_code = get(I::Mvx);
        let mvx = (!mvx_code.is_empty()).then(|| match codes.mvx.get(mvx_code) {
            Some(entry) => {
                let makes = codes.product.all(cvx_code.unwrap_or_default());
                if !makes.is_empty() && !makes.iter().any(|p| &*p.target == mvx_code) {
                    report(Rule::MvxNotForCvx, I::Mvx, mvx_code);
                }
                Coded { code: mvx_code, label: &entry.label }
            }
            None => {
                report(Rule::MvxUnknown, I::Mvx, mvx_code);
                Coded { code: mvx_code, label: "" }
            }
        });
        let vfc = get(I::VfcEligibility);
        let eligibility = (!vfc.is_empty()).then(|| match codes.hl70064.get(vfc) {
            Some(entry) => Coded { code: vfc, label: &entry.label },
            None => {
                report(Rule::EligibilityInvalid, I::VfcEligibility, vfc);
                Coded { code: vfc, label: "" }
            }
        });
        if administered && given {
            if lot.is_empty() {
                report(Rule::LotMissing, I::LotNumber, "");
            }
            if mvx.is_none() {
                report(Rule::MvxMissing, I::Mvx, "");
            }
            if eligibility.is_none() {
                report(Rule::EligibilityMissing, I::VfcEligibility, "");
            }
            if vaccine
                .is_some_and(|v| codes.cvx.get(v.code).is_some_and(|e| &*e.status != "Active"))
            {
                report(Rule::CvxInactive, I::Cvx, cvx_code.unwrap_or_default());
            }
        }
        // Optional coded fields: blank is absent; an unknown code is reported and dropped.
        let mut optional = |field: I, rule: Rule, find: &dyn Fn(&str) -> Option<Coded<'s>>| {
            let value = get(field);
            let found = (!value.is_empty()).then(|| find(value)).flatten();
            if found.is_none() && !value.is_empty() {
                report(rule, field, value);
            }
            found
        };
        let funding = optional(I::FundingSource, Rule::FundingSourceInvalid, &|code| {
            lookup(&codes.funding_source, code)
        });
        let route = optional(I::Route, Rule::RouteInvalid, &|code| {
            crosswalk(&codes.cair1_route, &codes.route, code)
                .or_else(|| lookup(&codes.route, code).filter(|c| c.code.starts_with('C')))
        });
        let body_site =
            optional(I::BodySite, Rule::BodySiteInvalid, &|code| lookup(&codes.hl70163, code));
        let amount = match get(I::DoseAmount) {
            "" => None,
            a if a.parse::<f64>().is_ok_and(|v| v > 0.0 && v.is_finite()) => Some(a),
            a => {
                report(Rule::DoseAmountInvalid, I::DoseAmount, a);
                None
            }
        };
        let lot_expiration = parse_date(get(I::LotExpiration));
        if let (Some(exp), Some(date)) = (lot_expiration, date) {
            if administered && date > exp {
                report(Rule::LotExpired, I::LotExpiration, get(I::LotExpiration));
            }
        }
        let provider = match get(I::ProviderNpi) {
            "" => None,
            npi if npi.len() == 10 => Some(Provider {
                npi,
                last: ascii_text(get(I::ProviderLast)).0,
                first: ascii_text(get(I::ProviderFirst)).0,
            }),
            npi => {
                report(Rule::NpiInvalid, I::ProviderNpi, npi);
                None
            }
        };
        let admin_site = match get(I::SiteId) {
            "" => self.role.responsible_site(patient.site_id),
            site => self.role.responsible_site(site),
        };
        let date = date?;
        let vaccine = vaccine?;
        Some(Dose {
            line,
            date,
            order_id: {
                let day = crate::hl7::vxu::ymd(date);
                let day = std::str::from_utf8(&day).unwrap_or_default();
                format!("{}-{day}-{}", patient.record_id, vaccine.code)
            },
            vaccine,
            trade_name: get(I::TradeName),
            mvx,
            lot,
            lot_expiration,
            amount: amount.filter(|_| given),
            route,
            body_site,
            source,
            administered,
            eligibility: eligibility.filter(|_| administered && given),
            funding: funding.filter(|_| administered && given),
            provider,
            admin_site,
            refusal,
            completion,
            action,
            vis_published: parse_date(get(I::VisPublished)),
            vis_presented: parse_date(get(I::VisPresented)),
        })
    }
}

/// The code and label of `code` in `set`.
fn lookup<'s>(set: &'s CodeSet, code: &str) -> Option<Coded<'s>> {
    let (code, entry) = set.get_key_value(code)?;
    Some(Coded { code, label: &entry.label })
}

/// The crosswalk target of `code` in `set`, as a bare code.
fn lookup_target<'s>(set: &'s CodeSet, code: &str) -> Option<Coded<'s>> {
    set.get(code).map(|e| Coded { code: &e.target, label: &e.label })
}

/// `code` through crosswalk `map` into `table`, with the table's label.
fn crosswalk<'s>(map: &'s CodeSet, table: &'s CodeSet, code: &str) -> Option<Coded<'s>> {
    let target = &*map.get(code)?.target;
    lookup(table, target)
}

/// CVX codes are two or three digits with a leading zero below 10 ("3", "003" → "03").
fn normalize_cvx(raw: &str) -> Cow<'_, str> {
    let trimmed = raw.trim_start_matches('0');
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        Cow::Borrowed(raw)
    } else if trimmed.len() < 2 {
        Cow::Owned(format!("{trimmed:0>2}"))
    } else {
        Cow::Borrowed(trimmed)
    }
}

/// CAIR2 accepts names of letters A-Z only: folds accents, uppercases, drops the rest.
/// Returns the name and whether anything but case changed.
pub fn letters_only(raw: &str) -> (String, bool) {
    if raw.bytes().all(|b| b.is_ascii_alphabetic()) {
        return (raw.to_ascii_uppercase(), false);
    }
    let folded = deunicode::deunicode(raw);
    let name: String =
        folded.chars().filter(char::is_ascii_alphabetic).map(|c| c.to_ascii_uppercase()).collect();
    (name, true)
}

/// Folds non-ASCII text to ASCII. Returns the text and whether it changed.
pub fn ascii_text(raw: &str) -> (Cow<'_, str>, bool) {
    if raw.is_ascii() {
        (Cow::Borrowed(raw), false)
    } else {
        let folded: String =
            deunicode::deunicode(raw).chars().filter(|c| !c.is_ascii_control()).collect();
        (Cow::Owned(folded), true)
    }
}

fn valid_email(e: &str) -> bool {
    let mut parts = e.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && e.bytes().all(|b| b.is_ascii_graphic())
        }
        _ => false,
    }
}

/// Medi-Cal client index number: 8 digits and a check letter.
fn valid_cin(cin: &str) -> bool {
    let b = cin.as_bytes();
    b.len() == 9 && b[..8].iter().all(u8::is_ascii_digit) && b[8].is_ascii_alphabetic()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_a_to_z() {
        assert_eq!(letters_only("Smith"), ("SMITH".into(), false));
        assert_eq!(letters_only("Peña"), ("PENA".into(), true));
        assert_eq!(letters_only("De la Cruz-Núñez"), ("DELACRUZNUNEZ".into(), true));
        assert_eq!(letters_only("O'Brien"), ("OBRIEN".into(), true));
        assert_eq!(letters_only("123"), (String::new(), true));
    }

    #[test]
    fn cvx_codes_normalize() {
        assert_eq!(normalize_cvx("3"), "03");
        assert_eq!(normalize_cvx("003"), "03");
        assert_eq!(normalize_cvx("143"), "143");
        assert_eq!(normalize_cvx("20"), "20");
        assert_eq!(normalize_cvx("ABC"), "ABC");
    }

    #[test]
    fn small_formats() {
        assert!(valid_email("a.b@example.org"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("a b@example.org"));
        assert!(valid_cin("91234567A"));
        assert!(!valid_cin("912345678"));
    }
}
