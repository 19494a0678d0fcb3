//! cairdx: batch data exchange for an immunization registry (CAIR2 and registries like it).
//!
//! A job is a straight pipeline:
//!
//! ```text
//! source → decode → parse → validate → transform → sink
//! ```
//!
//! Only the ends touch the disk or the network; the middle is pure. Layouts, code sets
//! and the rule catalogue are data in `specs/`, compiled once by [`spec`] with every
//! mistake reported together. Data-quality findings are values ([`finding`]), routed to
//! reject and response files; [`error::Error`] is only for what stops a job.

pub mod app;
pub mod cli;
pub mod convert;
pub mod decode;
pub mod error;
pub mod finding;
pub mod generate;
pub mod hl7;
pub mod ingest;
pub mod intake;
pub mod load;
pub mod logging;
pub mod matching;
pub mod model;
pub mod parse;
pub mod progress;
pub mod registry;
pub mod response;
pub mod sink;
pub mod spec;
pub mod transport;
pub mod validate;
