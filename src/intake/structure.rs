//! Profile conformance (CDC IG 1.5 Z22, `specs/profiles/vxu_z22.toml`): segment order,
//! usage and cardinality of segments and groups; usage, cardinality, length and date
//! format of the fields of the segments the profile details.

use crate::finding::Rule;
use crate::hl7::datetime;
use crate::hl7::{Message, Segment};
use crate::spec::profile::{Node, NodeKind, Usage};

use super::{Findings, Location, Validator};

/// Fields whose presence and format have a specific rule elsewhere (header or business),
/// so the generic "required field missing" and date-format findings would only repeat it.
const OWN_RULES: &[(&str, usize)] = &[
    ("MSH", 7),
    ("MSH", 9),
    ("MSH", 10),
    ("MSH", 11),
    ("MSH", 12),
    ("PID", 3),
    ("PID", 5),
    ("PID", 7),
    ("PID", 29),
    ("NK1", 3),
    ("RXA", 3),
    ("RXA", 4),
    ("RXA", 5),
    ("RXA", 16),
    ("OBX", 3),
    ("OBX", 5),
];

/// Checks the message against the profile.
pub fn check(v: &Validator<'_>, msg: &Message<'_>, f: &mut Findings) {
    let profile = &v.specs().profile;
    let mut segs = Vec::with_capacity(msg.len());
    for seg in msg.segments() {
        if profile.knows_segment(seg.id()) {
            segs.push(seg);
        } else {
            f.push(Rule::SegmentUnexpected, Location::segment(seg.id(), seg.seq()), seg.id());
        }
    }
    let mut m = Matcher { segs: &segs, pos: 0, f: &mut *f };
    m.nodes(&profile.structure, false);
    // A segment out of place: report it, then resume at the last top-level node that can
    // take what follows, so later doses are still read.
    while let Some(seg) = m.segs.get(m.pos) {
        m.f.push(Rule::SegmentUnexpected, Location::segment(seg.id(), seg.seq()), seg.id());
        m.pos += 1;
        if let Some(next) = m.segs.get(m.pos) {
            if let Some(i) = profile.structure.iter().rposition(|n| n.accepts(next.id())) {
                m.nodes(profile.structure.get(i..).unwrap_or_default(), false);
            }
        }
    }
    for seg in msg.segments() {
        fields(v, &seg, f);
    }
}

struct Matcher<'a, 'm, 'b> {
    segs: &'a [Segment<'m, 'b>],
    pos: usize,
    f: &'a mut Findings,
}

impl Matcher<'_, '_, '_> {
    fn peek(&self) -> Option<&str> {
        self.segs.get(self.pos).map(|s| s.id())
    }

    /// Matches `nodes` in order. `repeating` is true inside a group that may repeat: its
    /// leading segment then stops at its maximum, because another one starts the next
    /// occurrence of the group rather than repeating the segment.
    fn nodes(&mut self, nodes: &[Node], repeating: bool) {
        for (i, node) in nodes.iter().enumerate() {
            self.node(node, repeating && i == 0);
        }
    }

    fn node(&mut self, node: &Node, leads_repeating_group: bool) {
        let mut count = 0u32;
        match &node.kind {
            NodeKind::Segment(id) => {
                while let Some(seg) = self.segs.get(self.pos).filter(|s| s.id() == &**id) {
                    if leads_repeating_group && node.max.is_some_and(|max| count >= max) {
                        break;
                    }
                    count += 1;
                    if node.max.is_some_and(|max| count > max) {
                        self.f.push(
                            Rule::SegmentRepeated,
                            Location::segment(seg.id(), seg.seq()),
                            id,
                        );
                    }
                    self.pos += 1;
                }
                if count < node.min && node.usage == Usage::R {
                    self.f.push(Rule::SegmentMissing, Location::segment(id, 0), id);
                }
            }
            NodeKind::Group { children, .. } => {
                while self.peek().is_some_and(|id| node.accepts(id)) {
                    let start = self.pos;
                    let first = self.segs.get(start).map(|s| (s.id(), s.seq()));
                    self.nodes(children, node.max != Some(1));
                    if self.pos == start {
                        break;
                    }
                    count += 1;
                    if let Some((id, seq)) =
                        first.filter(|_| node.max.is_some_and(|max| count > max))
                    {
                        self.f.push(Rule::SegmentRepeated, Location::segment(id, seq), id);
                    }
                }
                if count < node.min && node.usage == Usage::R {
                    let id = node.first_required().unwrap_or_default();
                    self.f.push(Rule::SegmentMissing, Location::segment(id, 0), id);
                }
            }
        }
    }
}

fn fields(v: &Validator<'_>, seg: &Segment<'_, '_>, f: &mut Findings) {
    let id = seg.id();
    for fu in v.specs().profile.fields(id) {
        let value = seg.field(fu.n);
        let at = Location::segment(id, seg.seq()).field(fu.n as u32);
        let name = || format!("{id}-{}", fu.n);
        let own_rule = OWN_RULES.contains(&(id, fu.n));
        let present = value.has_data();
        match fu.usage {
            Usage::R if !present && !own_rule => f.push(Rule::FieldMissing, at, &name()),
            Usage::X if present => f.push(Rule::FieldNotSupported, at, &name()),
            _ => {}
        }
        if !present || fu.usage == Usage::X || (id == "MSH" && fu.n <= 2) {
            continue;
        }
        let reps = value.rep_count();
        if fu.max.is_some_and(|max| reps > max as usize) {
            f.push(Rule::FieldRepeated, at, &name());
        }
        if let Some(len) = fu.max_len {
            if value.reps().any(|r| r.text().chars().count() > len) {
                f.push(Rule::FieldTooLong, at, &name());
            }
        }
        let is_date = fu.datatype.starts_with("TS") || fu.datatype.starts_with("DT");
        if is_date && !own_rule && datetime::parse(&value.comp(1).text()).is_none() {
            f.push(Rule::DateTimeInvalid, at, &name());
        }
    }
}
