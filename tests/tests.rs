//! The integration-test binary: every test runs the real `cairdx` binary or library
//! against real files in a temp dir.

// The temp-dir harness, golden-file comparison and fixture builders.
mod util;

// `cairdx convert` and `cairdx check`: golden sample conversion, VXU rules, edge cases.
mod convert;
