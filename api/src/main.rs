//! `liuqing`: run the server, or apply the database migrations.

fn main() -> std::process::ExitCode {
    liuqing_api::cli::main()
}
