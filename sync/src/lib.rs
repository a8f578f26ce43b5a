//! The merge engine and change feed: hybrid logical clocks, per-field merge policies,
//! conflict records, cursors and the idempotent mutation log.
//!
//! - [`hlc`]: the protocol's hybrid logical clock.
//! - [`protocol`]: push and pull wire types.
//! - [`values`]: checking, storing and showing field values (sealing sensitive ones).
//! - [`masking`]: stored documents' text masked for pull pages, in one pass.
//! - [`narrowing`]: birth dates shown as a year to those who may not see ID numbers.
//! - [`clocks`]: each field's clock, stored compactly with its record.
//! - [`batch`]: what one writing transaction's mutations share (change numbers, reads).
//! - [`case_checks`]: the guide's rules for a new record of a case (one open application…).
//! - [`prepare`]: a mutation's checks and new document, made before the write lock.
//! - [`engine`]: applying one mutation, the one way records are written.
//! - [`projection`]: the typed indexes kept beside `records`.
//! - [`feed`]: pull pages, cursors, the scope digest.
//! - [`writer`]: the write path of pushes: who writes, settings, group commit.
//! - [`client`]: the reference phone client (no I/O), for tests and the load generator.

pub mod batch;
pub mod case_checks;
pub mod client;
pub mod clocks;
pub mod engine;
pub mod feed;
pub mod follow_on;
pub mod hlc;
pub mod masking;
pub mod narrowing;
pub mod prepare;
pub mod projection;
pub mod protocol;
pub mod values;
pub mod writer;
