//! The web layer's integration tests, one test binary with a module per area (as
//! zero2prod's `tests/api/main.rs`): each file used to be its own binary, linked against the
//! whole stack, which cost CI about 20 s of code generation and linking per file
//! (`docs/ci.md`). `common` is the shared harness.

mod common;
mod smtp;

mod app_layer;
mod calendar_links;
mod care;
mod consent_matrix;
mod fhir;
mod http;
mod logs;
mod matrix;
mod registry;
mod reports;
mod safety;
mod search;
mod security;
mod security2;
mod story;
mod work;
