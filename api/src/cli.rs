//! The `liuqing` command line: run the server, apply the database migrations, load the
//! demo, or rebuild the scope digests.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::{telemetry, Application, Config};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "liuqing",
    version,
    about = "Liuqing: case files and delta sync for employment-assistance field visits"
)]
struct Cli {
    /// A TOML settings file; environment variables (LIUQING_…) override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (the default).
    Serve,
    /// Apply pending database migrations (or, with --down, revert them all) and exit.
    Migrate {
        /// Revert every migration: this drops all data.
        #[arg(long)]
        down: bool,
    },
    /// Load the demo district (2 streets, 4 stations, ~200 households, cases in every
    /// state, users demo-admin, demo-supervisor, demo-staff-N, demo-coord-N) and exit.
    /// The users' password is LIUQING_DEMO_PASSWORD, or printed once.
    Demo,
    /// Compute every community's scope digest again from its records and exit. Needed only
    /// if a server older than the digests wrote records after a newer one had filled them
    /// (phones then pull everything again on every sync).
    RebuildDigests,
}

/// Parses the arguments and runs; the exit code is 2 for bad settings.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("liuqing: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config);
    let result = actix_web::rt::System::new().block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config).await,
            Command::Migrate { down } => migrate(config, down).await,
            Command::Demo => demo(config).await,
            Command::RebuildDigests => rebuild_digests(config).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "stopped");
            eprintln!("liuqing: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.bind_addr()?;
    let listener = listen(bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?;
    tracing::info!(
        %bind,
        database = config.backend()?.name(),
        blob_store = ?config.blob_store,
        "starting"
    );
    let app = Application::build(config, listener).await?;
    tracing::info!(port = app.port(), "listening");
    app.run_until_stopped().await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Binds the address, waiting up to [`BIND_PATIENCE`] while it is still in use: a server
/// restarted right after a crash can find its last self's socket not yet released (std
/// already sets `SO_REUSEADDR`, which covers only sockets in `TIME_WAIT`). Any other error,
/// or an address still taken after that, stops the start.
async fn listen(bind: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let deadline = std::time::Instant::now() + BIND_PATIENCE;
    let mut told = false;
    loop {
        match TcpListener::bind(bind) {
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && std::time::Instant::now() < deadline =>
            {
                if !told {
                    tracing::warn!(%bind, "the address is in use; waiting for it");
                    told = true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            other => return other,
        }
    }
}

/// How long a start waits for its address to be released.
const BIND_PATIENCE: std::time::Duration = std::time::Duration::from_secs(15);

async fn migrate(config: Config, down: bool) -> anyhow::Result<()> {
    let backend = config.backend()?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = backend.connect()?;
        let names = if down {
            liuqing_schema::db::migrate_down_all(&mut conn)?
        } else {
            liuqing_schema::db::migrate_up(&mut conn)?
        };
        let verb = if down { "reverted" } else { "applied" };
        if names.is_empty() {
            println!("nothing to do");
        }
        for name in names {
            println!("{verb} {name}");
        }
        Ok(())
    })
    .await??;
    Ok(())
}

async fn rebuild_digests(config: Config) -> anyhow::Result<()> {
    let backend = config.backend()?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = backend.connect()?;
        let communities = liuqing_sync::feed::rebuild_digests(&mut conn)?;
        println!("rebuilt the scope digests of {communities} communities");
        Ok(())
    })
    .await??;
    Ok(())
}

async fn demo(config: Config) -> anyhow::Result<()> {
    // The same preparation as a server start: folders, migrations, first admin, keys.
    let db = crate::startup::prepare_database(&config).await?;
    let cipher = crate::startup::field_cipher(&config)?;
    // The pictures first: their rows are written in the load's transaction, so a row
    // never names bytes the store does not hold.
    let blobs = crate::startup::blob_store(&config)?;
    let photos = crate::demo_photos::store(blobs.as_ref()).await?;
    let pool = db.pool().clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = pool.get()?;
        crate::demo::load(&mut conn, &config, &cipher, &photos)
    })
    .await??;
    Ok(())
}
