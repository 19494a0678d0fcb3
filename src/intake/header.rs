//! MSH checks: what makes a message acceptable at all (type, event, version, processing
//! id: failures here answer AR) and the header values every ACK depends on.

use crate::finding::Rule;
use crate::hl7::datetime;
use crate::hl7::{Delimiters, Message};

use super::{Findings, Location, Validator};

/// Checks MSH. Returns false when the message is not a VXU^V04, so content rules for
/// another message type are not run.
pub fn check(v: &Validator<'_>, msg: &Message<'_>, f: &mut Findings) -> bool {
    let profile = &v.specs().profile;
    let Some(msh) = msg.msh() else { return false };
    let at = |field: u32| Location::segment("MSH", 1).field(field);

    if msg.delimiters() != Delimiters::default() {
        let d = msg.delimiters();
        let declared: String = [d.field, d.component, d.repetition, d.escape, d.subcomponent]
            .iter()
            .map(|&b| char::from(b))
            .collect();
        f.push(Rule::NonStandardDelimiters, at(2), &declared);
    }

    let msg_type = msh.field(9);
    let mut supported = true;
    let type_code = msg_type.comp(1).text();
    if *type_code != *profile.message_type {
        f.push(Rule::MessageTypeUnsupported, at(9).comp(1, 1), &type_code);
        supported = false;
    }
    let event = msg_type.comp(2).text();
    if *event != *profile.trigger_event {
        f.push(Rule::EventUnsupported, at(9).comp(1, 2), &event);
        supported = false;
    }

    let processing = msh.field(11).comp(1).text();
    if !profile.processing_ids.iter().any(|p| **p == *processing) {
        f.push(Rule::ProcessingIdUnsupported, at(11), &processing);
    }
    let version = msh.field(12).comp(1).text();
    if !profile.versions.iter().any(|p| **p == *version) {
        f.push(Rule::VersionUnsupported, at(12), &version);
    }

    let sent = msh.field(7).comp(1).text();
    if sent.is_empty() {
        f.push(Rule::MessageDateMissing, at(7), "");
    } else {
        match datetime::parse(&sent) {
            None => f.push(Rule::MessageDateInvalid, at(7), &sent),
            Some(ts) => {
                let offset = ts.offset.unwrap_or(*v.now().offset());
                let instant = ts.local.and_local_timezone(offset).single();
                if instant.is_some_and(|t| t > v.now()) {
                    f.push(Rule::MessageDateFuture, at(7), &sent);
                }
                if ts.offset.is_none() {
                    f.push(Rule::MessageDateNoOffset, at(7), &sent);
                }
            }
        }
    }

    if !msh.field(10).has_data() {
        f.push(Rule::ControlIdMissing, at(10), "");
    }
    for n in [15u32, 16] {
        let ack = msh.field(n as usize).comp(1).text();
        if !ack.is_empty() && !profile.accept_ack_types.iter().any(|a| **a == *ack) {
            f.push(Rule::AckTypeInvalid, at(n), &ack);
        }
    }
    let profiles = msh.field(21);
    if profiles.has_data() && !profiles.reps().any(|r| *r.comp(1).text() == *profile.profile_id) {
        f.push(Rule::ProfileIdUnexpected, at(21), &profiles.rep(1).comp(1).text());
    }
    supported
}
