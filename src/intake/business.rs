//! IIS business rules: patient identity and dates, vaccine codes and their use windows,
//! administered-dose requirements (lot, manufacturer, VFC eligibility: IZ-23), refusals,
//! observations. The bar is MQE's 32 ERROR detections and its key warnings.

use chrono::{Datelike, NaiveDate};

use crate::finding::Rule;
use crate::hl7::datetime::{self, Timestamp};
use crate::hl7::{Message, Segment, Value};

use super::codes::{self, CodeOutcome};
use super::{Findings, Location, Validator};

/// LOINC of the VFC eligibility observation (IZ-23).
const VFC_ELIGIBILITY: &str = "64994-7";
/// LOINC of the funding source observation.
const FUNDING_SOURCE: &str = "30963-3";
/// CVX "no vaccine administered".
const NO_VACCINE: &str = "998";

/// What the patient segment says that dose rules need.
#[derive(Clone, Copy, Debug, Default)]
struct Patient {
    birth: Option<NaiveDate>,
    death: Option<NaiveDate>,
}

/// Runs every content rule on the message.
pub fn check(v: &Validator<'_>, msg: &Message<'_>, f: &mut Findings) {
    let patient = msg.first("PID").map(|pid| patient(v, &pid, f)).unwrap_or_default();
    for seg in msg.segments() {
        let at = Location::segment(seg.id(), seg.seq());
        match seg.id() {
            "PD1" => pd1(v, &seg, at, f),
            "NK1" if !seg.field(3).has_data() => f.push(Rule::RelationshipMissing, at.field(3), ""),
            "NK1" => codes::check(
                f,
                &v.specs().codes.hl70063,
                &seg.field(3),
                at.field(3),
                Rule::RelationshipUnknown,
            ),
            "OBX" => observation(v, &seg, at, f),
            _ => {}
        }
    }
    let message_date =
        msg.msh().and_then(|msh| datetime::parse(&msh.field(7).comp(1).text())).map(|ts| ts.date());
    let segs: Vec<Segment<'_, '_>> = msg.segments().collect();
    for (i, rxa) in segs.iter().enumerate().filter(|(_, s)| s.id() == "RXA") {
        let rest = segs.get(i + 1..).unwrap_or_default();
        let end = rest.iter().position(|s| matches!(s.id(), "ORC" | "RXA")).unwrap_or(rest.len());
        let group = rest.get(..end).unwrap_or_default();
        dose(v, &patient, message_date, rxa, group, f);
    }
}

fn patient(v: &Validator<'_>, pid: &Segment<'_, '_>, f: &mut Findings) -> Patient {
    let codes = &v.specs().codes;
    let at = Location::segment("PID", pid.seq());
    let ids = pid.field(3);
    if !ids.reps().any(|r| r.comp(1).has_data()) {
        f.push(Rule::PatientIdMissing, at.field(3), "");
    }
    for (n, rep) in ids.reps().enumerate() {
        let type_at = at.field(3).comp(n as u32 + 1, 5);
        if rep.comp(1).has_data() && !rep.comp(5).has_data() {
            f.push(Rule::PatientIdTypeMissing, type_at, &rep.comp(1).text());
        } else {
            codes::check(f, &codes.hl70203, &rep.comp(5), type_at, Rule::PatientIdTypeInvalid);
        }
    }
    let name = pid.field(5);
    let has_letters = |v: Value<'_>| v.text().chars().any(|c| c.is_alphabetic());
    if !has_letters(name.comp(1).sub(1)) {
        f.push(Rule::LastNameMissing, at.field(5).comp(1, 1), &name.comp(1).text());
    }
    if !has_letters(name.comp(2)) {
        f.push(Rule::FirstNameMissing, at.field(5).comp(1, 2), &name.comp(2).text());
    }

    let today = v.now().date_naive();
    let birth_text = pid.field(7).comp(1).text();
    let birth = if birth_text.is_empty() {
        f.push(Rule::BirthDateMissing, at.field(7), "");
        None
    } else {
        match datetime::parse(&birth_text).filter(|ts| ts.precision >= datetime::Precision::Day) {
            None => {
                f.push(Rule::BirthDateInvalid, at.field(7), &birth_text);
                None
            }
            Some(ts) if ts.date() > today => {
                f.push(Rule::BirthDateFuture, at.field(7), &birth_text);
                None
            }
            Some(ts) if ts.date().year() < 1900 => {
                f.push(Rule::BirthDateTooOld, at.field(7), &birth_text);
                None
            }
            Some(ts) => Some(ts.date()),
        }
    };
    let death_text = pid.field(29).comp(1).text();
    let death = if death_text.is_empty() {
        None
    } else {
        match datetime::parse(&death_text) {
            None => {
                f.push(Rule::DeathDateInvalid, at.field(29), &death_text);
                None
            }
            Some(ts) if birth.is_some_and(|b| ts.date() < b) => {
                f.push(Rule::DeathBeforeBirth, at.field(29), &death_text);
                None
            }
            Some(ts) => Some(ts.date()),
        }
    };

    codes::check(f, &codes.hl70001, &pid.field(8), at.field(8), Rule::SexInvalid);
    for (field, set, rule) in [
        (10, &codes.cdcrec_race, Rule::RaceInvalid),
        (22, &codes.cdcrec_ethnicity, Rule::EthnicityInvalid),
    ] {
        for (n, rep) in pid.field(field).reps().enumerate() {
            let rep_at = at.field(field as u32).comp(n as u32 + 1, 1);
            codes::check(f, set, &rep, rep_at, rule);
            let system = rep.comp(3).text();
            if !system.is_empty() && system != "CDCREC" {
                f.push(Rule::CodingSystemNotCdcrec, rep_at.comp(n as u32 + 1, 3), &system);
            }
        }
    }
    codes::check(f, &codes.hl70296, &pid.field(15), at.field(15), Rule::LanguageInvalid);
    Patient { birth, death }
}

fn pd1(v: &Validator<'_>, pd1: &Segment<'_, '_>, at: Location, f: &mut Findings) {
    let codes = &v.specs().codes;
    codes::check(f, &codes.hl70215, &pd1.field(11), at.field(11), Rule::PublicityCodeUnknown);
    let protection = pd1.field(12).comp(1).text();
    if !protection.is_empty() && protection != "Y" && protection != "N" {
        f.push(Rule::ProtectionInvalid, at.field(12), &protection);
    }
    codes::check(f, &codes.hl70441, &pd1.field(16), at.field(16), Rule::RegistryStatusUnknown);
}

fn observation(v: &Validator<'_>, obx: &Segment<'_, '_>, at: Location, f: &mut Findings) {
    let profile = &v.specs().profile;
    let value_type = obx.field(2).comp(1).text();
    if !value_type.is_empty() && !profile.obx_value_types.iter().any(|t| **t == *value_type) {
        f.push(Rule::ObservationTypeInvalid, at.field(2), &value_type);
    }
    let id = obx.field(3).comp(1).text();
    if id.is_empty() {
        f.push(Rule::ObservationIdMissing, at.field(3), "");
    }
    if !obx.field(5).has_data() {
        f.push(Rule::ObservationValueMissing, at.field(5), "");
    } else if id == FUNDING_SOURCE {
        let set = &v.specs().codes.funding_source;
        codes::check(f, set, &obx.field(5), at.field(5), Rule::FundingSourceUnknown);
    } else if id == VFC_ELIGIBILITY {
        let set = &v.specs().codes.hl70064;
        codes::check(f, set, &obx.field(5), at.field(5), Rule::EligibilityInvalid);
    }
    let status = obx.field(11).comp(1).text();
    if !status.is_empty() && status != "F" {
        f.push(Rule::ObservationStatusInvalid, at.field(11), &status);
    }
}

/// Reads a required date field: reports missing/invalid, returns the date when usable.
fn date_field(value: &Value<'_>) -> Result<Option<Timestamp>, String> {
    let text = value.comp(1).text();
    if text.is_empty() {
        return Ok(None);
    }
    datetime::parse(&text).map(Some).ok_or_else(|| text.into_owned())
}

fn dose(
    v: &Validator<'_>,
    patient: &Patient,
    message_date: Option<NaiveDate>,
    rxa: &Segment<'_, '_>,
    group: &[Segment<'_, '_>],
    f: &mut Findings,
) {
    let codes = &v.specs().codes;
    let at = Location::segment("RXA", rxa.seq());
    let today = v.now().date_naive();

    let admin_text = rxa.field(3).comp(1).text();
    let admin = match date_field(&rxa.field(3)) {
        Ok(None) => {
            f.push(Rule::AdminDateMissing, at.field(3), "");
            None
        }
        Err(text) => {
            f.push(Rule::AdminDateInvalid, at.field(3), &text);
            None
        }
        Ok(Some(ts)) => Some(ts.date()),
    };
    if let Some(date) = admin {
        if date > today {
            f.push(Rule::VaccinationDateFuture, at.field(3), &admin_text);
        } else if message_date.is_some_and(|m| date > m) {
            f.push(Rule::AdminDateAfterMessage, at.field(3), &admin_text);
        }
        if patient.birth.is_some_and(|b| date < b) {
            f.push(Rule::VaccinationBeforeBirth, at.field(3), &admin_text);
        }
        if patient.death.is_some_and(|d| date > d) {
            f.push(Rule::VaccinationAfterDeath, at.field(3), &admin_text);
        }
        if let Ok(Some(entry)) = date_field(&rxa.field(22)) {
            if date > entry.date() {
                f.push(Rule::AdminAfterSystemEntry, at.field(3), &admin_text);
            }
        }
        let end = rxa.field(4).comp(1).text();
        if !end.is_empty() && end != admin_text {
            f.push(Rule::AdminEndDiffers, at.field(4), &end);
        }
    }

    let amount = rxa.field(6).comp(1).text();
    if !amount.is_empty() && amount.parse::<f64>().is_err() {
        f.push(Rule::DoseAmountNotNumeric, at.field(6), &amount);
    }

    let completion = rxa.field(20).comp(1).text();
    if !completion.is_empty() {
        codes::check(
            f,
            &codes.hl70322,
            &rxa.field(20),
            at.field(20),
            Rule::CompletionStatusInvalid,
        );
    }
    let given = matches!(&*completion, "" | "CP" | "PA");
    let source = rxa.field(9).comp(1).text();
    if source.is_empty() {
        if given && !completion.is_empty() {
            f.push(Rule::InfoSourceMissing, at.field(9), "");
        }
    } else {
        codes::check(f, &codes.nip001, &rxa.field(9), at.field(9), Rule::InfoSourceUnknown);
    }
    let administered = given && source == "00";

    let action = rxa.field(21).comp(1).text();
    if action.is_empty() {
        f.push(Rule::ActionMissing, at.field(21), "");
    } else {
        codes::check(f, &codes.hl70323, &rxa.field(21), at.field(21), Rule::ActionInvalid);
    }

    let refusal = rxa.field(18);
    if refusal.has_data() {
        codes::check(f, &codes.nip002, &refusal, at.field(18), Rule::RefusalReasonInvalid);
        if completion != "RE" {
            f.push(Rule::RefusalNotRe, at.field(20), &completion);
        }
    }

    let cvx = vaccine(v, patient, admin, administered, rxa, at, f);
    if cvx.as_deref() == Some(NO_VACCINE) {
        if completion != "NA" {
            f.push(Rule::NoVaccineNotNa, at.field(20), &completion);
        }
        return;
    }
    if !administered {
        return;
    }

    if !rxa.field(15).has_data() {
        f.push(Rule::LotMissing, at.field(15), "");
    }
    if let (Some(date), Ok(Some(expiry))) = (admin, date_field(&rxa.field(16))) {
        if date > expiry.date() {
            f.push(Rule::LotExpired, at.field(16), &rxa.field(16).comp(1).text());
        }
    }
    let mvx = rxa.field(17).comp(1).text();
    if mvx.is_empty() {
        f.push(Rule::MvxMissing, at.field(17), "");
    } else if codes::lookup(&codes.mvx, &mvx) == CodeOutcome::Unrecognized {
        f.push(Rule::MvxUnknown, at.field(17).comp(1, 1), &mvx);
    } else if let Some(cvx) = &cvx {
        let products = codes.product.all(cvx);
        if !products.is_empty() && !products.iter().any(|p| *p.target == *mvx) {
            f.push(Rule::MvxNotForCvx, at.field(17).comp(1, 1), &format!("{mvx} (CVX {cvx})"));
        }
    }

    let eligibility =
        group.iter().any(|s| s.id() == "OBX" && s.field(3).comp(1).text() == VFC_ELIGIBILITY);
    if !eligibility {
        f.push(Rule::EligibilityMissing, at, "");
    }
    for rxr in group.iter().filter(|s| s.id() == "RXR") {
        let rat = Location::segment("RXR", rxr.seq());
        codes::check(f, &codes.route, &rxr.field(1), rat.field(1), Rule::RouteUnknown);
        codes::check(f, &codes.hl70163, &rxr.field(2), rat.field(2), Rule::BodySiteUnknown);
    }
}

/// Checks RXA-5 and returns the CVX it names (directly, or through the NDC tables).
fn vaccine(
    v: &Validator<'_>,
    patient: &Patient,
    admin: Option<NaiveDate>,
    administered: bool,
    rxa: &Segment<'_, '_>,
    at: Location,
    f: &mut Findings,
) -> Option<String> {
    let codes = &v.specs().codes;
    let field = rxa.field(5);
    if !field.comp(1).has_data() {
        f.push(Rule::VaccineCodeMissing, at.field(5), "");
        return None;
    }
    // CE carries an identifier triplet and an alternate one (components 4-6).
    let triplets = [(1usize, 3usize), (4, 6)];
    let pick = |system: &str| {
        triplets
            .iter()
            .find(|(_, s)| field.comp(*s).text() == system)
            .map(|(c, _)| (*c, field.comp(*c).text().into_owned()))
    };
    let cvx = if let Some((c, cvx)) = pick("CVX") {
        let loc = at.field(5).comp(1, c as u32);
        match codes::lookup(&codes.cvx, &cvx) {
            CodeOutcome::Unrecognized | CodeOutcome::Invalid => {
                f.push(Rule::CvxUnknown, loc, &cvx);
                return None;
            }
            CodeOutcome::NotUsable if administered => f.push(Rule::CvxNotUsable, loc, &cvx),
            CodeOutcome::Inactive if administered => f.push(Rule::CvxInactive, loc, &cvx),
            _ => {}
        }
        cvx
    } else if let Some((c, ndc)) = pick("NDC") {
        let found = codes::ndc11(&ndc)
            .and_then(|key| codes.ndc_cvx.get(&key).map(|e| e.target.to_string()));
        match found {
            Some(cvx) => cvx,
            None => {
                f.push(Rule::NdcUnknown, at.field(5).comp(1, c as u32), &ndc);
                return None;
            }
        }
    } else {
        f.push(Rule::VaccineCodingSystemInvalid, at.field(5).comp(1, 3), &field.comp(3).text());
        return None;
    };

    if let (Some(date), Some(window)) = (admin, v.specs().profile.cvx_windows.get(cvx.as_str())) {
        if cvx == NO_VACCINE {
            return Some(cvx);
        }
        let before = |limit: Option<NaiveDate>| limit.is_some_and(|l| date < l);
        let after = |limit: Option<NaiveDate>| limit.is_some_and(|l| date > l);
        let text = rxa.field(3).comp(1).text();
        if before(window.use_not_before) || after(window.use_not_after) {
            f.push(Rule::AdminDateOutsideLicense, at.field(3), &text);
        } else if before(window.use_not_expected_before) || after(window.use_not_expected_after) {
            f.push(Rule::AdminDateOutsideExpected, at.field(3), &text);
        }
        // Historical doses are transcribed records; their age plausibility is not
        // something the submitter can correct, so only administered doses are held to it.
        if let (true, Some(birth)) = (administered, patient.birth) {
            let months = months_between(birth, date);
            let young = window.age_not_before_month.is_some_and(|m| months < m);
            let old = window.age_not_after_month.is_some_and(|m| months > m);
            if young || old {
                f.push(Rule::AgeOutsideValid, at.field(3), &months.to_string());
            }
        }
    }
    Some(cvx)
}

/// Whole months from `from` to `to` (0 when `to` is earlier).
fn months_between(from: NaiveDate, to: NaiveDate) -> u32 {
    let months = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
    let months = if to.day() < from.day() { months - 1 } else { months };
    u32::try_from(months).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_months() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(months_between(d(2011, 4, 11), d(2012, 1, 13)), 9);
        assert_eq!(months_between(d(2011, 4, 11), d(2011, 5, 10)), 0);
        assert_eq!(months_between(d(2011, 4, 11), d(2010, 5, 10)), 0);
    }
}
