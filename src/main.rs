//! The `hamlet` command: serve (the default), migrate, seed, schema, staff, kiosk,
//! export, import, report, evaluate.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use hamlet::content::seed::{self, SeedFiles};
use hamlet::privacy::evaluation::{self, Split};
use hamlet::staff::model::Role;
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
    /// Apply the retention period now (the server also does it daily): closed
    /// items older than HAMLET_RETENTION_DAYS lose free text and contact details.
    Purge,
    /// Manage staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Write a consistent copy of the SQLite database while hamlet serves
    /// (PostgreSQL: use pg_dump).
    Backup {
        /// The file to write; it must not exist yet.
        #[arg(long)]
        out: PathBuf,
    },
    /// Export data for analysis.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Import historic data, such as paper returns.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Write the monthly Friends and Family Test report for the Board: one
    /// self-contained HTML file, readable offline and printable.
    Report {
        /// The month to report on, e.g. 2026-05.
        #[arg(long)]
        month: String,
        /// The folder to write feedback-report-YYYY-MM.html into (made if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Measure a detector against a labelled corpus: recall and precision
    /// overall, per language and per category. Needs no database.
    Evaluate {
        #[command(subcommand)]
        command: EvaluateCommand,
    },
}

#[derive(Subcommand)]
enum EvaluateCommand {
    /// The safeguarding detector (the rules in HAMLET_SAFEGUARDING_RULES if
    /// set, else the built-in ones).
    Safeguarding {
        #[arg(long, default_value = "corpus/safeguarding.jsonl")]
        corpus: PathBuf,
        /// dev, heldout or all.
        #[arg(long, default_value = "all", value_parser = parse_split)]
        split: Split,
        /// Also list the development texts it got wrong, with the cues that
        /// matched. Development items only: held-out texts are never shown.
        #[arg(long)]
        mistakes: bool,
        /// With --mistakes: also list disclosures raised under the wrong
        /// categories.
        #[arg(long)]
        categories: bool,
        /// Also time loading the rules and screening a 2 KB comment (build
        /// with --release for figures that mean anything).
        #[arg(long)]
        timing: bool,
        /// How many times --timing screens the comment.
        #[arg(long, default_value_t = 20_000)]
        timing_iterations: u32,
        /// Train the model on the corpus's development items (never the
        /// held-out ones) and write it here (e.g. rules/safeguarding/model.tsv).
        #[arg(long)]
        train_model: Option<PathBuf>,
        /// More labelled texts to train on (their development items only).
        #[arg(long)]
        extra: Vec<PathBuf>,
        /// Cross-validate the model on the development items in this many folds.
        #[arg(long)]
        cross_validate: Option<usize>,
        /// The model's "any concern" score that raises a concern by itself.
        #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
        threshold: f32,
        /// Below this model score, concerns from medium cues alone are dropped.
        #[arg(long, default_value_t = -2.5, allow_hyphen_values = true)]
        veto: f32,
        /// How much higher the model score must be when no cue counted.
        #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
        without_cues: f32,
    },
    /// The personal-data scan (NHS numbers, phones, emails, postcodes).
    PersonalData {
        #[arg(long, default_value = "corpus/personal-data.jsonl")]
        corpus: PathBuf,
        /// dev, heldout or all.
        #[arg(long, default_value = "all", value_parser = parse_split)]
        split: Split,
    },
}

fn parse_split(value: &str) -> Result<Split, String> {
    Split::parse(value).ok_or_else(|| format!("{value} is not dev, heldout or all"))
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Feedback, one row per response with a header: reference, received_at,
    /// captured_at, service, rating, comment, channel, locale, status,
    /// safeguarding, pii_flags, tags. Never contact details.
    Feedback {
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Received on or after this date (2026-05-01, UTC) or RFC 3339 time.
        #[arg(long, value_parser = parse_bound)]
        from: Option<chrono::DateTime<chrono::Utc>>,
        /// Received before this date or time (exclusive).
        #[arg(long, value_parser = parse_bound)]
        to: Option<chrono::DateTime<chrono::Utc>>,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Csv,
}

fn parse_bound(value: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    hamlet::reports::export::parse_bound(value, "the date").map_err(|error| error.to_string())
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Feedback from a CSV file with a header row: what `export feedback`
    /// writes, or just service, rating, comment and received_at. Every row is
    /// checked first; one bad row and nothing is imported. Importing the same
    /// file again adds nothing.
    Feedback {
        /// The CSV file (UTF-8).
        #[arg(long)]
        csv: PathBuf,
        /// Check the file and report problems, but import nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Create a staff account, e.g. the first admin. The password is read from
    /// standard input, so it never appears in the shell history or `ps`.
    Create {
        #[arg(long)]
        email: String,
        /// The name colleagues see.
        #[arg(long)]
        name: String,
        /// MODERATOR, EDITOR, ANALYST or ADMIN; repeat for several.
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List staff accounts.
    List,
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| format!("{value} is not MODERATOR, EDITOR, ANALYST or ADMIN"))
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
    if let Some(Command::Evaluate { command }) = cli.command {
        return match evaluate(command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("hamlet: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    let mut config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("hamlet: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    // Logs go to standard output, where they would mix with the CSV; errors
    // still reach standard error below.
    if let Some(Command::Export {
        command: ExportCommand::Feedback { out: None, .. },
    }) = &cli.command
    {
        config.log_filter = "off".into();
    }
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
        Command::Evaluate { command } => evaluate(command)?,
        Command::Kiosk { command } => {
            let db = db::connect(&config).await?;
            db::migrate(&db).await?;
            kiosk(command, &db).await?;
        }
        Command::Purge => {
            let db = db::connect(&config).await?;
            db::migrate(&db).await?;
            let purged = hamlet::privacy::lifecycle::purge(
                &db,
                None,
                chrono::Duration::days(i64::from(config.retention_days)),
            )
            .await?;
            println!(
                "purge: erased {} feedback and {} ideas; removed contact details from {} published ideas",
                purged.feedback, purged.ideas, purged.contacts
            );
        }
        Command::Staff { command } => {
            let db = db::connect(&config).await?;
            db::migrate(&db).await?;
            staff(command, &db).await?;
        }
        Command::Backup { out } => {
            let db = db::connect(&config).await?;
            db::backup(&db, &out).await?;
            println!("backup written to {}", out.display());
        }
        Command::Export { command } => {
            let db = db::connect(&config).await?;
            db::migrate(&db).await?;
            export(command, &db).await?;
        }
        Command::Import { command } => {
            let db = db::connect(&config).await?;
            db::migrate(&db).await?;
            import(command, &db).await?;
        }
        Command::Report { month, out } => {
            let month = hamlet::reports::model::Month::parse(&month, "--month")?;
            let db = db::connect(&config).await?;
            db::migrate(&db).await?;
            let path = hamlet::reports::monthly::write_report(&db, month, &out).await?;
            println!("{}", path.display());
        }
    }
    Ok(())
}

fn evaluate(command: EvaluateCommand) -> anyhow::Result<()> {
    match command {
        EvaluateCommand::Safeguarding {
            corpus,
            split,
            mistakes,
            categories,
            timing,
            timing_iterations,
            train_model,
            extra,
            cross_validate,
            threshold,
            veto,
            without_cues,
        } => {
            let settings = evaluation::ModelSettings {
                threshold,
                veto,
                without_cues,
            };
            let mut items: Vec<evaluation::SafeguardingItem> = evaluation::read_corpus(&corpus)?;
            for path in &extra {
                items.extend(evaluation::read_corpus::<evaluation::SafeguardingItem>(
                    path,
                )?);
            }
            let make = || -> anyhow::Result<hamlet::privacy::safeguarding::Detector> {
                Ok(match std::env::var_os("HAMLET_SAFEGUARDING_RULES") {
                    Some(dir) if !dir.is_empty() => {
                        hamlet::privacy::safeguarding::Detector::from_dir(std::path::Path::new(
                            &dir,
                        ))?
                    }
                    _ => hamlet::privacy::safeguarding::Detector::built_in()?,
                })
            };
            if let Some(folds) = cross_validate {
                let result = evaluation::cross_validate(&make, &items, folds, settings)?;
                print!("{}", result.detector);
                println!();
                println!("the model alone, cross-validated:");
                for (t, recall, precision) in result.model_alone {
                    println!("  threshold {t:5.1}: recall {recall:.3} precision {precision:.3}");
                }
                for (language, t, recall, precision) in result.model_by_language {
                    println!(
                        "  {language:8} threshold {t:5.1}: recall {recall:.3} precision {precision:.3}"
                    );
                }
                return Ok(());
            }
            if let Some(out) = train_model {
                let detector = make()?;
                let trained = evaluation::train_safeguarding_model(&detector, &items, settings);
                let comment = format!(
                    "hamlet safeguarding model: logistic regression weights, one row per feature\n\
                     (w: a word's stem, b: two words together, n: a negated word, i: a word in an idiom,\n\
                     p: the start of a Bengali word, s: a scope the rules found).\n\
                     Trained by `hamlet evaluate safeguarding --train-model` on the development items of\n\
                     {} ({} files of extra examples). Do not edit by hand: retrain.",
                    corpus.display(),
                    extra.len()
                );
                std::fs::write(&out, trained.to_tsv(&comment))
                    .map_err(|error| anyhow::anyhow!("cannot write {}: {error}", out.display()))?;
                println!("model written to {}", out.display());
                return Ok(());
            }
            let detector = hamlet::privacy::safeguarding::load()?;
            let items: Vec<evaluation::SafeguardingItem> = evaluation::read_corpus(&corpus)?;
            print!(
                "{}",
                evaluation::evaluate_safeguarding(detector, &items, split)
            );
            if mistakes {
                if split != Split::Dev {
                    eprintln!("(--mistakes lists development texts only, whatever --split says)");
                }
                for mistake in evaluation::safeguarding_mistakes(detector, &items, categories) {
                    let found: Vec<String> = mistake
                        .concerns
                        .iter()
                        .map(|c| format!("{} {:.2} {:?}", c.category, c.strength, c.excerpt))
                        .collect();
                    println!();
                    println!(
                        "{} [{}] expected {:?} found [{}]",
                        mistake.id,
                        mistake.language,
                        mistake.expected,
                        found.join("; ")
                    );
                    println!("    {}", mistake.text);
                    for cue in &mistake.trace {
                        println!(
                            "      {} {:.2} {:?} <- {} {:?}{}",
                            cue.category.map_or("ANY", |c| c.as_str()),
                            cue.weight,
                            cue.words,
                            cue.file,
                            cue.pattern,
                            cue.dropped
                                .map(|why| format!(" (dropped: {why})"))
                                .unwrap_or_default()
                        );
                    }
                }
            }
            if timing {
                let timing = evaluation::time_safeguarding(timing_iterations)?;
                println!();
                println!("rules load: {:.2} ms", timing.load.as_secs_f64() * 1e3);
                println!(
                    "screening a {} byte comment: {:.1} µs",
                    timing.comment_bytes,
                    timing.per_comment.as_secs_f64() * 1e6
                );
            }
        }
        EvaluateCommand::PersonalData { corpus, split } => {
            let items = evaluation::read_corpus(&corpus)?;
            print!("{}", evaluation::evaluate_personal_data(&items, split));
        }
    }
    Ok(())
}

async fn export(command: ExportCommand, db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    use hamlet::reports::export::export_feedback;
    let ExportCommand::Feedback {
        format: ExportFormat::Csv,
        from,
        to,
        out,
    } = command;
    match out {
        Some(path) => {
            let file = std::fs::File::create(&path)
                .map_err(|error| anyhow::anyhow!("cannot write {}: {error}", path.display()))?;
            let rows = export_feedback(db, from, to, std::io::BufWriter::new(file)).await?;
            eprintln!("exported {rows} feedback rows to {}", path.display());
        }
        None => {
            export_feedback(db, from, to, std::io::BufWriter::new(std::io::stdout())).await?;
        }
    }
    Ok(())
}

async fn import(command: ImportCommand, db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    use hamlet::reports::import::{ImportError, import_feedback};
    let ImportCommand::Feedback { csv, dry_run } = command;
    match import_feedback(db, &csv, dry_run).await {
        Ok(outcome) if dry_run => {
            println!(
                "{} rows checked: no problems found (nothing imported: --dry-run)",
                outcome.rows
            );
        }
        Ok(outcome) => println!(
            "imported {} feedback rows; {} were already stored and were skipped",
            outcome.imported, outcome.skipped
        ),
        Err(ImportError::Rows(errors)) => {
            for error in &errors {
                eprintln!("{}: {error}", csv.display());
            }
            anyhow::bail!(
                "{} problem(s) in {}; nothing was imported",
                errors.len(),
                csv.display()
            );
        }
        Err(ImportError::Failed(error)) => return Err(error),
    }
    Ok(())
}

async fn kiosk(command: KioskCommand, db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    use hamlet::submissions::store;
    match command {
        KioskCommand::Create { name, site } => {
            let (kiosk, token) =
                hamlet::submissions::actions::create_kiosk(db, &name, site.as_deref(), None)
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
        KioskCommand::Revoke { id } => {
            match hamlet::submissions::actions::revoke_kiosk(
                db,
                hamlet::ids::KioskId::from_uuid(id),
                None,
            )
            .await?
            {
                Some(kiosk) => println!("kiosk {} revoked: {}", kiosk.id, kiosk.name),
                None => anyhow::bail!("no kiosk {id}"),
            }
        }
    }
    Ok(())
}

async fn staff(command: StaffCommand, db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    use hamlet::staff::model::{DisplayName, NewPassword, PasswordOwner, Roles, StaffEmail};
    use hamlet::staff::password::Passwords;
    use hamlet::staff::store::{self, NewStaff};
    match command {
        StaffCommand::Create {
            email,
            name,
            roles,
            password_stdin: _,
        } => {
            let email = StaffEmail::parse(&email, "--email")?;
            let display_name = DisplayName::parse(&name, "--name")?;
            let roles = Roles::parse(&roles, "--role")?;
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let owner = PasswordOwner {
                email: Some(email.clone()),
                display_name: Some(display_name.clone()),
            };
            let password = NewPassword::parse(password, &owner, "the password")?;
            let password_hash = Passwords::default().hash(password.expose()).await?;
            let new = NewStaff {
                email,
                display_name,
                roles,
                password_hash,
            };
            let created = hamlet::staff::actions::create_staff(db, &new, None).await?;
            println!(
                "staff {} created: {} <{}>",
                created.id, created.display_name, created.email
            );
        }
        StaffCommand::List => {
            for member in store::staff_members(db).await? {
                let state = if member.active { "active" } else { "inactive" };
                let roles: Vec<_> = member
                    .roles
                    .to_vec()
                    .iter()
                    .map(|role| role.as_str())
                    .collect();
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    member.id,
                    state,
                    member.email,
                    member.display_name,
                    roles.join(",")
                );
            }
        }
    }
    Ok(())
}
