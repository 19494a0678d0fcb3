//! The integration-test binary: one module per area.

// VXU intake: golden ACKs for the reference messages, one mutation per ERROR rule,
// parser/validator robustness, and the `cairdx validate` command.
mod intake;
