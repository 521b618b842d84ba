//! The `cellpath` binary's integration tests, one test binary with a module per area: each
//! file used to be its own binary, linked against the whole stack (`docs/ci.md`). `common`
//! runs the built binary and the servers it talks to.

mod common;

mod audit_checkpoints;
mod cli;
mod crash;
mod data_at_rest;
mod registry;
mod registry_sync;
mod replicas;
mod report;
