//! The `liuqing` command, built inside the test crate so the end-to-end tests can start
//! the real binary (`CARGO_BIN_EXE_liuqing-e2e-server`).

#[global_allocator]
static ALLOCATOR: liuqing_api::Allocator = liuqing_api::Allocator;

fn main() -> std::process::ExitCode {
    liuqing_api::cli::main()
}
