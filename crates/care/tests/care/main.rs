//! The care rules' integration tests, one test binary with a module per area (one binary per
//! file was linked three times; `docs/ci.md`).

mod grading;
mod journey;
mod rules;
