//! The FHIR crate's integration tests, one test binary with a module per area (one binary
//! per file was linked five times; `docs/ci.md`).

mod conventions;
mod export;
mod fixtures;
mod hostile;
mod real_world;
