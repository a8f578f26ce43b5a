//! `liuqing`: run the server, or apply the database migrations.

#[global_allocator]
static ALLOCATOR: liuqing_api::Allocator = liuqing_api::Allocator;

fn main() -> std::process::ExitCode {
    liuqing_api::cli::main()
}
