use atelya::{clock::Clock, config::Config, db::Db, logging::LogFormat, startup::App};
use clap::{Parser, Subcommand};

/// jemalloc, configured in `.cargo/config.toml`: measured with 10,000 idle
/// watchers (BENCHMARKS.md), it holds less per socket than the system
/// allocator and gives the memory back within a second of their leaving,
/// which the system allocator did not.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Atelya: the GraphQL backend of an AI workspace for small agencies.
#[derive(Parser)]
#[command(name = "atelya", version)]
struct Cli {
    /// How log lines are written: `text`, or `json` (one object per line).
    #[arg(
        long,
        env = "ATELYA_LOG_FORMAT",
        global = true,
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve the API.
    Serve(Box<Config>),
    /// Apply pending migrations and exit.
    Migrate {
        /// Database URL: `sqlite://file.db?mode=rwc` or `postgres://…`.
        #[arg(
            long,
            env = "DATABASE_URL",
            hide_env_values = true,
            default_value = "sqlite://atelya.db?mode=rwc"
        )]
        database_url: atelya::config::Secret,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
}

#[tokio::main]
async fn main() -> Result<(), atelya::startup::StartupError> {
    let cli = Cli::parse();
    atelya::logging::init(cli.log_format);
    match cli.command {
        Command::Serve(config) => {
            let app = App::build(*config, Clock::default()).await?;
            app.run_until(stop_requested()).await?;
        }
        Command::Migrate { database_url } => {
            Db::connect(database_url.expose()).await?.migrate().await?;
            tracing::info!("migrations applied");
        }
        Command::Schema => print!("{}", atelya::graphql::sdl()),
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (what process managers send).
async fn stop_requested() {
    let terminate = async {
        #[cfg(unix)]
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
            return;
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
