//! The Liuqing server: configuration, authentication, routes and blob storage, as thin
//! handlers over `liuqing-schema` (the case file) and `liuqing-sync` (the merge engine).

pub mod auth;
pub mod blob;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod console;
pub mod db;
pub mod demo;
pub mod demo_photos;
pub mod derivatives;
pub mod error;
pub mod extract;
pub mod files;
pub mod ledgers;
pub mod maintenance;
pub mod media;
pub mod middleware;
pub mod paging;
pub mod recognitions;
pub mod routes;
pub mod sheets;
pub mod staff;
pub mod staging;
pub mod startup;
pub mod state;
pub mod subsidies;
pub mod telemetry;

pub use config::Config;
/// The allocator the server's binaries install (`#[global_allocator]`).
pub use mimalloc::MiMalloc as Allocator;
pub use startup::Application;
