//! The case file: diesel tables and migrations for SQLite and PostgreSQL, row models, and
//! the domain types and rules. Nothing here knows about HTTP.
//!
//! Every repository function takes `&mut DbConn` so that callers can compose several of them
//! inside one transaction.

pub mod attachments;
pub mod audit;
pub mod backend;
pub mod casefile;
pub mod cases;
pub mod coverage;
pub mod crypto;
pub mod db;
pub mod devices;
pub mod digests;
pub mod domain;
pub mod entities;
pub mod error;
pub mod in_list;
pub mod job_report;
pub mod jobs;
pub mod matches;
pub mod org;
pub mod records;
pub mod scope;
pub mod seals;
pub mod sessions;
pub mod tables;
pub mod text_enum;
pub mod throttle;
pub mod time;
pub mod trend;
pub mod users;

pub use db::{Backend, DbConn, DbPool};
pub use error::StoreError;
