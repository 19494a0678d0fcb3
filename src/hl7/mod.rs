//! HL7 v2 structure: zero-copy parsing, escaping, and the ACK writer. No business rules
//! live here; the intake validator ([`crate::intake`]) decides what a message means.

pub mod ack;
pub mod datetime;
pub mod escape;
pub mod location;
pub mod parse;

pub use escape::{escape_into, unescape};
pub use location::Location;
pub use parse::{Delimiters, Message, ParseError, Segment, Span, Split, Value};
