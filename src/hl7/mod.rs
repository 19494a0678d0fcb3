//! HL7 v2.5.1 structure: escaping and the VXU^V04 writer. Structure only; which values
//! are acceptable is decided before, in `validate`.

pub mod escape;
pub mod vxu;
