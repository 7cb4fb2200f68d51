//! The `hamlet` command: serve (the default), migrate, seed, schema.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hamlet::content::seed::{self, SeedFiles};
use hamlet::{App, Config, db};

#[derive(Parser)]
#[command(
    name = "hamlet",
    version,
    about = "Headless content and feedback service for a health and social care partnership"
)]
#[command(after_help = hamlet::config::variables_help())]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL API (the default).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Load seed content (idempotent: existing content is left alone).
    Seed {
        /// A seed folder to load instead of the one built into hamlet.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Manage kiosks.
    Kiosk {
        #[command(subcommand)]
        command: KioskCommand,
    },
}

#[derive(Subcommand)]
enum KioskCommand {
    /// Register a kiosk and print its token. The token is shown this once.
    Create {
        #[arg(long)]
        name: String,
        /// Where the kiosk stands, e.g. "Royal London outpatients".
        #[arg(long)]
        site: Option<String>,
    },
    /// List kiosks.
    List,
    /// Revoke a kiosk: its token stops working at once.
    Revoke {
        #[arg(long)]
        id: uuid::Uuid,
    },
}

fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    if let Some(Command::Schema) = cli.command {
        print!("{}", hamlet::graphql::sdl());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("hamlet: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    hamlet::telemetry::init(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hamlet: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "hamlet stopped");
            eprintln!("hamlet: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = App::build(config).await?;
            tracing::info!(address = %app.local_addr()?, "serving GraphQL at /graphql");
            app.run(hamlet::app::shutdown_signal()).await?;
        }
        Command::Migrate => {
            let db = db::connect(&config).await?;
            db::migrate(&db).await?;
            println!("migrations applied");
        }
        Command::Seed { dir } => {
            let db = db::connect(&config).await?;
            db::migrate(&db).await?;
            let files = match dir {
                Some(dir) => SeedFiles::from_dir(&dir)?,
                None => SeedFiles::built_in(),
            };
            let report = seed::load(&db, &files).await?;
            println!(
                "seed: added {} organisation texts, {} pages, {} page texts, {} services",
                report.organisation_texts, report.pages, report.page_texts, report.services
            );
        }
        Command::Schema => print!("{}", hamlet::graphql::sdl()),
        Command::Kiosk { command } => {
            let db = db::connect(&config).await?;
            db::migrate(&db).await?;
            kiosk(command, &db).await?;
        }
    }
    Ok(())
}

async fn kiosk(command: KioskCommand, db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    use hamlet::submissions::store;
    match command {
        KioskCommand::Create { name, site } => {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 100 {
                anyhow::bail!("--name must be 1 to 100 characters");
            }
            let token = hamlet::auth::new_kiosk_token()?;
            let kiosk = store::create_kiosk(
                db,
                name,
                site.as_deref(),
                hamlet::auth::kiosk_token_hash(&token),
            )
            .await?;
            println!("kiosk {} created: {}", kiosk.id, kiosk.name);
            println!(
                "token (shown once; configure the kiosk to send `Authorization: Kiosk <token>`):"
            );
            println!("{token}");
        }
        KioskCommand::List => {
            for kiosk in store::kiosks(db).await? {
                let state = if kiosk.active { "active" } else { "revoked" };
                println!(
                    "{}\t{}\t{}\t{}",
                    kiosk.id,
                    state,
                    kiosk.name,
                    kiosk.site.unwrap_or_default()
                );
            }
        }
        KioskCommand::Revoke { id } => match store::revoke_kiosk(db, id).await? {
            Some(kiosk) => println!("kiosk {} revoked: {}", kiosk.id, kiosk.name),
            None => anyhow::bail!("no kiosk {id}"),
        },
    }
    Ok(())
}
