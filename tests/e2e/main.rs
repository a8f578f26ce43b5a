//! End-to-end tests: each starts the real server on a free port with its own database and
//! drives it over HTTP. Run on SQLite by default; on PostgreSQL when
//! `LIUQING_TEST_DATABASE_URL` is set (see `.ci/run`).

mod helpers;

mod admin;
mod attachments;
mod auth;
mod binary;
mod blobs;
#[cfg(feature = "browser")]
mod browser;
mod casefile;
mod conformance;
mod console;
mod contract;
mod convergence;
mod errors;
mod evidence;
mod hardening;
mod images;
mod jobs;
mod loadgen;
mod scope;
mod storage;
mod subsidies;
mod supervision;
mod sync;
mod tokens;
mod welfare_subsidies;
mod writepath;
