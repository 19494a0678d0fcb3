//! The integration-test binary: every test runs the real `cairdx` binary or library
//! against real files in a temp dir; one module per area.

// Fixtures and golden files are test inputs, not published outputs.
#![allow(clippy::disallowed_methods)]
// A failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

// The temp-dir harness, golden-file comparison and fixture builders.
mod util;

// `cairdx convert` and `cairdx check`: golden sample conversion, VXU rules, edge cases.
mod convert;

// VXU intake: golden ACKs for the reference messages, one mutation per ERROR rule,
// parser/validator robustness, and the `cairdx validate` command.
mod intake;

// Registry store: snapshot import/export and Check Status through the binary.
mod registry;

// `cairdx load`: flat files into the registry store (merge rule, duplicates, U/D actions,
// exactly once, killed loads).
mod load;

// `cairdx ingest`: VXU messages into the registry store (stored unless rejected, exactly
// once, Check Status by MSH-10, load ≡ convert + ingest).
mod ingest;
