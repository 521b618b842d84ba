//! The coordination server (in progress: see docs/ARCHITECTURE.md).
