//! HL7 v2 structure: zero-copy parsing, escaping, the ACK writer and the VXU^V04
//! writer. No business rules live here: the intake validator ([`crate::intake`]) decides
//! what an inbound message means, and `validate` what a flat-file record may become.

pub mod ack;
pub mod datetime;
pub mod escape;
pub mod location;
pub mod parse;
pub mod vxu;

pub use escape::{escape_into, unescape};
pub use location::Location;
pub use parse::{Delimiters, Message, ParseError, Segment, Span, Split, Value};
