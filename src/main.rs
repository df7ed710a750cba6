//! `guanjia`: wiring only. Parse the command line, load settings, hand over to the library.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use guanjia::configuration::Settings;
use guanjia::domain::Classifier;
use guanjia::{classify_cli, console, startup, telemetry};

/// 管家: a service desk for property-management companies, in the owners' Telegram groups.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Config file (default: ./guanjia.toml if it exists)
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the desk bot (long polling) until SIGINT/SIGTERM
    Run,
    /// Try the desk without Telegram: type as an owner or staff, see what would be posted
    Console,
    /// Check the config, rules, FAQ and templates without starting anything
    Check,
    /// Classify messages: one per line on stdin, one JSON object per line on stdout
    Classify {
        /// Rule directory (default: [desk] rules_dir, i.e. intents/)
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Work with the intent rules
    Intents {
        #[command(subcommand)]
        command: IntentsCommand,
    },
    /// Work with the fee ledger
    Fees {
        #[command(subcommand)]
        command: FeesCommand,
    },
}

#[derive(Subcommand)]
enum IntentsCommand {
    /// Score the rules against a labelled JSONL file; exits 1 below the bars
    Test {
        file: PathBuf,
        #[arg(long)]
        rules: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum FeesCommand {
    /// Load a ledger CSV (columns by header: 楼栋,单元,房号,金额,账期,截止日期[,已缴]
    /// or building,unit,room,amount,period,due_date[,paid]; UTF-8 or GBK); all rows
    /// or none; each period in the file replaces that period's rows
    Import { file: PathBuf },
    /// Mark one room's fee of a period paid, so no reminder goes for it
    Paid {
        /// e.g. 3栋, B座
        building: String,
        /// e.g. 2; `-` when the building has no units
        unit: String,
        /// e.g. 501, A01
        room: String,
        /// As in the ledger, e.g. 2026年第四季度
        period: String,
        /// Undo: mark it unpaid again
        #[arg(long)]
        unpaid: bool,
    },
}

fn settings(path: Option<&Path>) -> Result<Settings> {
    let default = Path::new("guanjia.toml");
    let path = path.or_else(|| default.exists().then_some(default));
    Ok(Settings::load(path)?)
}

fn classifier(rules: Option<PathBuf>, settings: &Settings) -> Result<Classifier> {
    let dir = rules.unwrap_or_else(|| settings.desk.rules_dir.clone());
    Classifier::load(&dir).with_context(|| format!("loading rules from {}", dir.display()))
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    telemetry::init(if matches!(cli.command, Command::Run) {
        "info"
    } else {
        "warn"
    });
    let settings = settings(cli.config.as_deref())?;
    match cli.command {
        Command::Run => startup::run(settings).await,
        Command::Check => {
            let c = classifier(None, &settings)?;
            let templates = settings.desk.rules_dir.join("templates.toml");
            guanjia::domain::templates::Templates::load(&templates)?;
            println!(
                "配置、规则、FAQ 和话术都没有问题:{} 个类别,{} 个关键词,{} 条 FAQ,{} 个楼栋群。",
                c.categories().count(),
                c.keyword_count(),
                c.faq_entries().count(),
                settings.building.len()
            );
            Ok(())
        }
        Command::Console => {
            let stdin = std::io::stdin();
            console::run(settings, stdin.lock(), Box::new(std::io::stdout())).await
        }
        Command::Classify { rules } => {
            let c = classifier(rules, &settings)?;
            let stdin = std::io::stdin();
            let mut out = BufWriter::new(std::io::stdout().lock());
            classify_cli::classify_stream(&c, BufReader::new(stdin.lock()), &mut out)?;
            out.flush()?;
            Ok(())
        }
        Command::Intents {
            command: IntentsCommand::Test { file, rules },
        } => {
            let c = classifier(rules, &settings)?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let report = classify_cli::score(&c, &text)?;
            println!("{report}");
            let failed = report.check(&classify_cli::Bars::default());
            if !failed.is_empty() {
                bail!("below the bars: {}", failed.join("; "));
            }
            Ok(())
        }
        Command::Fees {
            command: FeesCommand::Import { file },
        } => {
            let report = startup::import_fees(&settings, &file).await?;
            println!("{report}");
            Ok(())
        }
        Command::Fees {
            command:
                FeesCommand::Paid {
                    building,
                    unit,
                    room,
                    period,
                    unpaid,
                },
        } => {
            let report =
                startup::mark_fee_paid(&settings, &building, &unit, &room, &period, !unpaid)
                    .await?;
            println!("{report}");
            Ok(())
        }
    }
}
