//! The VXU message profile (`specs/profiles/vxu_z22.toml`): message structure, field
//! usage, cardinality and length of the CDC IG 1.5 Z22 profile, plus the vocabulary
//! settings the intake validator needs (accepted header values, CVX use windows).

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Deserialize;

use super::{SpecError, SpecFiles};

/// The profile file, relative to the specs directory.
pub const PROFILE: &str = "profiles/vxu_z22.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    message_type: String,
    trigger_event: String,
    message_structure: String,
    versions: Vec<String>,
    processing_ids: Vec<String>,
    profile_id: String,
    accept_ack_types: Vec<String>,
    obx_value_types: Vec<String>,
    cvx_windows: String,
    structure: Vec<RawNode>,
    segment: Vec<RawSegment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    segment: Option<String>,
    group: Option<String>,
    usage: String,
    min: u32,
    max: RawMax,
    children: Option<Vec<RawNode>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawMax {
    Count(u32),
    Unbounded(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSegment {
    id: String,
    fields: Vec<RawField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    n: usize,
    usage: String,
    min: u32,
    max: RawMax,
    dt: String,
    len: Option<usize>,
}

/// HL7 conformance usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// Required.
    R,
    /// Required but may be empty.
    RE,
    /// Conditional: content rules decide.
    C,
    /// Optional.
    O,
    /// Not supported: ignored when sent.
    X,
}

impl Usage {
    fn parse(s: &str) -> Option<Usage> {
        Some(match s {
            "R" => Usage::R,
            "RE" => Usage::RE,
            "C" => Usage::C,
            "O" => Usage::O,
            "X" => Usage::X,
            _ => return None,
        })
    }
}

/// What a structure node is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A segment, by id.
    Segment(Box<str>),
    /// A group of nodes, by name.
    Group {
        /// Group name (`ORDER`).
        name: Box<str>,
        /// Its nodes in order.
        children: Vec<Node>,
    },
}

/// A segment or group of the message structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Segment or group.
    pub kind: NodeKind,
    /// Usage.
    pub usage: Usage,
    /// Minimum occurrences.
    pub min: u32,
    /// Maximum occurrences; `None` is unbounded.
    pub max: Option<u32>,
}

impl Node {
    /// Whether `id` can be the first segment of this node (for groups: any segment of
    /// the group, so that a group missing its leading segment is still recognized).
    pub fn accepts(&self, id: &str) -> bool {
        match &self.kind {
            NodeKind::Segment(s) => &**s == id,
            NodeKind::Group { children, .. } => children.iter().any(|c| c.accepts(id)),
        }
    }

    /// The first required segment of the node, for naming what is missing.
    pub fn first_required(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Segment(s) => Some(s),
            NodeKind::Group { children, .. } => {
                children.iter().filter(|c| c.usage == Usage::R).find_map(Node::first_required)
            }
        }
    }
}

/// Usage, cardinality and length of one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldUsage {
    /// Field number.
    pub n: usize,
    /// Usage.
    pub usage: Usage,
    /// Minimum repetitions.
    pub min: u32,
    /// Maximum repetitions; `None` is unbounded.
    pub max: Option<u32>,
    /// Datatype as the profile names it (`TS_NZ`, `CE_IZ`).
    pub datatype: Box<str>,
    /// Maximum length, for primitive datatypes.
    pub max_len: Option<usize>,
}

/// Licensed and expected use of a CVX code (AIRA codebase).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CvxWindow {
    /// Not licensed before this date.
    pub use_not_before: Option<NaiveDate>,
    /// Not expected before this date.
    pub use_not_expected_before: Option<NaiveDate>,
    /// Not expected after this date.
    pub use_not_expected_after: Option<NaiveDate>,
    /// Not licensed after this date.
    pub use_not_after: Option<NaiveDate>,
    /// Youngest valid age, in months.
    pub age_not_before_month: Option<u32>,
    /// Oldest valid age, in months.
    pub age_not_after_month: Option<u32>,
}

/// The compiled VXU profile.
#[derive(Clone, Debug)]
pub struct Profile {
    /// Profile name.
    pub name: Box<str>,
    /// MSH-9.1 accepted.
    pub message_type: Box<str>,
    /// MSH-9.2 accepted.
    pub trigger_event: Box<str>,
    /// MSH-9.3 expected.
    pub message_structure: Box<str>,
    /// MSH-12 accepted.
    pub versions: Vec<Box<str>>,
    /// MSH-11 accepted.
    pub processing_ids: Vec<Box<str>>,
    /// MSH-21.1 expected.
    pub profile_id: Box<str>,
    /// MSH-15/16 accepted.
    pub accept_ack_types: Vec<Box<str>>,
    /// OBX-2 accepted.
    pub obx_value_types: Vec<Box<str>>,
    /// The message structure.
    pub structure: Vec<Node>,
    /// Field usage per segment id.
    pub segments: HashMap<Box<str>, Vec<FieldUsage>>,
    /// CVX use windows.
    pub cvx_windows: HashMap<Box<str>, CvxWindow>,
}

impl Profile {
    /// Whether the structure mentions segment `id` anywhere.
    pub fn knows_segment(&self, id: &str) -> bool {
        self.structure.iter().any(|n| n.accepts(id))
    }

    /// The field usages of segment `id` (empty for segments whose fields are not checked).
    pub fn fields(&self, id: &str) -> &[FieldUsage] {
        self.segments.get(id).map_or(&[], Vec::as_slice)
    }

    /// Loads and compiles the profile, collecting every mistake into `errors`.
    pub(super) fn load(files: &SpecFiles, errors: &mut Vec<SpecError>) -> Option<Profile> {
        let mut err = |key: String, message: String| {
            errors.push(SpecError { file: PROFILE.into(), key, message });
        };
        let text = match files.read(PROFILE) {
            Ok(text) => text,
            Err(e) => {
                err(String::new(), e.message);
                return None;
            }
        };
        let raw: RawProfile = match toml::from_str(&text) {
            Ok(raw) => raw,
            Err(e) => {
                err(String::new(), e.to_string());
                return None;
            }
        };
        let structure = compile_nodes(&raw.structure, "structure", &mut err);
        let mut segments = HashMap::new();
        for (i, seg) in raw.segment.iter().enumerate() {
            let mut fields = Vec::with_capacity(seg.fields.len());
            for (j, f) in seg.fields.iter().enumerate() {
                let key = |k: &str| format!("segment[{i}] ({}).fields[{j}].{k}", seg.id);
                if f.n != j + 1 {
                    err(key("n"), format!("is {}, expected {}", f.n, j + 1));
                }
                let usage = Usage::parse(&f.usage).unwrap_or_else(|| {
                    err(key("usage"), format!("{:?} is not R, RE, C, O or X", f.usage));
                    Usage::O
                });
                let max = compile_max(&f.max).unwrap_or_else(|bad| {
                    err(key("max"), format!("{bad:?} is not a count or \"*\""));
                    None
                });
                fields.push(FieldUsage {
                    n: f.n,
                    usage,
                    min: f.min,
                    max,
                    datatype: f.dt.as_str().into(),
                    max_len: f.len,
                });
            }
            if segments.insert(seg.id.as_str().into(), fields).is_some() {
                err(format!("segment[{i}].id"), format!("{} is defined twice", seg.id));
            }
        }
        let cvx_windows = match files.read(&raw.cvx_windows) {
            Ok(text) => read_windows(&raw.cvx_windows, &text, errors),
            Err(e) => {
                errors.push(e);
                HashMap::new()
            }
        };
        let list = |v: Vec<String>| v.into_iter().map(Into::into).collect();
        Some(Profile {
            name: raw.name.into(),
            message_type: raw.message_type.into(),
            trigger_event: raw.trigger_event.into(),
            message_structure: raw.message_structure.into(),
            versions: list(raw.versions),
            processing_ids: list(raw.processing_ids),
            profile_id: raw.profile_id.into(),
            accept_ack_types: list(raw.accept_ack_types),
            obx_value_types: list(raw.obx_value_types),
            structure,
            segments,
            cvx_windows,
        })
    }
}

fn compile_max(max: &RawMax) -> Result<Option<u32>, String> {
    match max {
        RawMax::Count(n) => Ok(Some(*n)),
        RawMax::Unbounded(s) if s == "*" => Ok(None),
        RawMax::Unbounded(s) => Err(s.clone()),
    }
}

fn compile_nodes(raw: &[RawNode], path: &str, err: &mut impl FnMut(String, String)) -> Vec<Node> {
    let mut nodes = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let key = |k: &str| format!("{path}[{i}].{k}");
        let usage = Usage::parse(&r.usage).unwrap_or_else(|| {
            err(key("usage"), format!("{:?} is not R, RE, C, O or X", r.usage));
            Usage::O
        });
        let max = compile_max(&r.max).unwrap_or_else(|bad| {
            err(key("max"), format!("{bad:?} is not a count or \"*\""));
            None
        });
        let kind = match (&r.segment, &r.group, &r.children) {
            (Some(id), None, None) if id.len() == 3 => NodeKind::Segment(id.as_str().into()),
            (None, Some(name), Some(children)) if !children.is_empty() => NodeKind::Group {
                name: name.as_str().into(),
                children: compile_nodes(children, &key("children"), err),
            },
            _ => {
                err(key("segment"), "needs a 3-letter segment, or a group with children".into());
                continue;
            }
        };
        nodes.push(Node { kind, usage, min: r.min, max });
    }
    nodes
}

fn read_windows(
    path: &str,
    text: &str,
    errors: &mut Vec<SpecError>,
) -> HashMap<Box<str>, CvxWindow> {
    let mut out = HashMap::new();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    for (row, rec) in reader.records().enumerate() {
        let line = row + 2;
        let mut err = |message: String| {
            errors.push(SpecError { file: path.into(), key: format!("line {line}"), message });
        };
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                err(e.to_string());
                continue;
            }
        };
        let cell = |i: usize| rec.get(i).unwrap_or_default().trim();
        let mut date = |i: usize| {
            let c = cell(i);
            if c.is_empty() {
                return None;
            }
            NaiveDate::parse_from_str(c, "%Y%m%d")
                .map_err(|_| err(format!("column {} {c:?} is not YYYYMMDD", i + 1)))
                .ok()
        };
        let window = CvxWindow {
            use_not_before: date(1),
            use_not_expected_before: date(2),
            use_not_expected_after: date(3),
            use_not_after: date(4),
            ..CvxWindow::default()
        };
        let months = |i: usize| cell(i).parse::<u32>().ok();
        let window =
            CvxWindow { age_not_before_month: months(5), age_not_after_month: months(6), ..window };
        out.insert(cell(0).into(), window);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_profile_compiles() {
        let mut errors = Vec::new();
        let p = Profile::load(&SpecFiles::Embedded, &mut errors).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert!(p.knows_segment("RXA") && !p.knows_segment("ZZZ"));
        assert_eq!(p.fields("RXA").get(14).map(|f| f.max_len), Some(Some(20)));
        assert!(p.cvx_windows.contains_key("140"));
    }
}
