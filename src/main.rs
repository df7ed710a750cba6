//! `guanjia`: wiring only. Parse the command line, load settings, hand over to the library.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use guanjia::configuration::{LogFormat, Settings};
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
    /// Run the desk bot (long polling, or webhook mode) until SIGINT/SIGTERM
    Run,
    /// Try the desk without Telegram: type as an owner or staff, see what would be posted
    Console,
    /// Check the config, rules, FAQ and templates without starting anything
    Check,
    /// Write a starter guanjia.toml and an editable copy of the rules into DIR
    Init {
        /// Where to write (default: the current directory)
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Classify messages: one per line on stdin, one JSON object per line on stdout
    Classify {
        /// Rule directory (default: [desk] rules_dir, else the built-in rules)
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
    /// A consistent copy of the live SQLite database in FILE (never overwrites)
    Backup { file: PathBuf },
    /// The manager's report: tickets by kind, category and building, time to claim
    /// and finish against the service standard, ratings, recurring problems
    Report {
        /// First day (YYYY-MM-DD, desk timezone; default: 7 days ago)
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        /// Day after the last one (default: tomorrow, i.e. up to now)
        #[arg(long)]
        until: Option<chrono::NaiveDate>,
        /// md, csv, json, html (one self-contained file with charts), or events
        /// (every ticket with its history, one CSV row per event)
        #[arg(long, default_value = "md")]
        format: guanjia::report_cli::Format,
        /// Write here instead of standard output (never overwrites)
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Only this estate's tickets and surveys (an `[[estate]]` name; repeat
        /// for several). Default: every estate
        #[arg(long)]
        estate: Vec<String>,
    },
    /// Messages that failed every attempt (dead letters); `retry ID` hands one back
    Inbox {
        #[command(subcommand)]
        command: Option<InboxCommand>,
    },
}

#[derive(Subcommand)]
enum InboxCommand {
    /// Put dead letter ID back in the inbox; the daemon handles it on its next start
    Retry { id: i64 },
}

#[derive(Subcommand)]
enum IntentsCommand {
    /// Cross-validate rules + model on the examples (exits 1 below the bars); also score FILE
    Test {
        /// A labelled JSONL file (e.g. exported corrections) to score as well
        file: Option<PathBuf>,
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Folds of the cross-validation
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Try another emergency floor of the model (0–1)
        #[arg(long)]
        emergency_floor: Option<f32>,
        /// Try another threshold for the model where no rule fired
        #[arg(long)]
        silent_threshold: Option<f32>,
        /// Try another threshold for the model over a generic rule
        #[arg(long)]
        generic_threshold: Option<f32>,
        /// The rules alone, without the model (to see what it adds)
        #[arg(long)]
        rules_only: bool,
    },
    /// Write staff's corrections (/reclassify, 待分类 buttons) as labelled JSONL,
    /// to FILE or standard output, to review and add to intents/examples/
    Export { file: Option<PathBuf> },
}

#[derive(Subcommand)]
enum FeesCommand {
    /// Load a ledger CSV (columns by header: 楼栋,单元,房号,金额,账期,截止日期[,已缴]
    /// or building,unit,room,amount,period,due_date[,paid]; UTF-8 or GBK); all rows
    /// or none; each period in the file replaces that period's rows
    Import {
        file: PathBuf,
        /// The estate (小区) the ledger is for, as in `[[estate]] name`;
        /// required when the config declares several
        #[arg(long)]
        estate: Option<String>,
    },
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
        /// The estate (小区), as in `[[estate]] name`; required with several
        #[arg(long)]
        estate: Option<String>,
    },
}

fn settings(path: Option<&Path>) -> Result<Settings> {
    let default = Path::new("guanjia.toml");
    let path = path.or_else(|| default.exists().then_some(default));
    Ok(Settings::load(path)?)
}

fn classifier(rules: Option<PathBuf>, settings: &Settings) -> Result<Classifier> {
    match rules {
        Some(dir) => {
            Classifier::load(&dir).with_context(|| format!("loading rules from {}", dir.display()))
        }
        None => Ok(startup::load_rules(settings)?.0),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let level = if matches!(cli.command, Command::Run) {
        "info"
    } else {
        "warn"
    };
    if let Command::Init { dir } = &cli.command {
        telemetry::init(level, LogFormat::Text);
        for path in startup::init(dir)? {
            println!("已写入 {}", path.display());
        }
        println!(
            "下一步:编辑 {} 填入管理员 id,设置环境变量 TELOXIDE_TOKEN,然后运行 guanjia -c {} run。",
            dir.join("guanjia.toml").display(),
            dir.join("guanjia.toml").display()
        );
        return Ok(());
    }
    let settings = settings(cli.config.as_deref())?;
    telemetry::init(level, settings.log.format);
    match cli.command {
        // Handled above: it needs no config.
        Command::Init { .. } => Ok(()),
        Command::Run => startup::run(settings).await,
        Command::Check => {
            let (c, templates) = startup::load_rules(&settings)?;
            for note in startup::company_notes(&settings, &templates) {
                println!("提示:{note}");
            }
            println!(
                "配置、规则、FAQ 和话术都没有问题:{} 个类别,{} 个关键词,{} 条 FAQ,{} 个楼栋群。规则来自 {}。",
                c.categories().count(),
                c.keyword_count(),
                c.faq_entries().count(),
                settings.building.len(),
                startup::rules_origin(&settings)
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
            command:
                IntentsCommand::Test {
                    file,
                    rules,
                    folds,
                    emergency_floor,
                    silent_threshold,
                    generic_threshold,
                    rules_only,
                },
        } => {
            let c = classifier(rules, &settings)?;
            let mut policy = c.policy();
            policy.emergency_floor = emergency_floor.unwrap_or(policy.emergency_floor);
            policy.silent_threshold = silent_threshold.unwrap_or(policy.silent_threshold);
            policy.generic_threshold = generic_threshold.unwrap_or(policy.generic_threshold);
            policy.use_model = !rules_only;
            let c = c.with_policy(policy);
            let eval = classify_cli::cross_validate(&c, c.examples(), folds)?;
            let policy = c.policy();
            println!(
                "examples: {} ({} rows)\nmodel thresholds: emergency floor {:.2}, silent {:.2}, generic rule {:.2}\n",
                c.examples_origin(),
                c.examples().rows.len(),
                policy.emergency_floor,
                policy.silent_threshold,
                policy.generic_threshold
            );
            println!("{eval}");
            println!("cross-validated, in detail:\n{}", eval.cross_validated);
            if let Some(file) = file {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let report = classify_cli::score(&c, &text)?;
                let seen = classify_cli::rows_in_examples(&c, &text);
                println!(
                    "{} (model trained on all examples; {seen} of its rows are among them):\n{report}",
                    file.display()
                );
            }
            let failed = eval
                .cross_validated
                .check(&classify_cli::Bars::cross_validated());
            if !failed.is_empty() {
                bail!(
                    "cross-validated figures below the bars: {}",
                    failed.join("; ")
                );
            }
            Ok(())
        }
        Command::Backup { file } => {
            if file.exists() {
                bail!("{} 已存在,不会覆盖;请换一个文件名", file.display());
            }
            let store = guanjia::storage::Store::connect(&settings.database.url).await?;
            store.backup_to(&file).await?;
            store.close().await;
            println!(
                "已备份到 {}。恢复:停止 guanjia,用这个文件替换数据库文件(并删除旁边的 -wal、-shm 文件),再启动。",
                file.display()
            );
            Ok(())
        }
        Command::Intents {
            command: IntentsCommand::Export { file },
        } => {
            let (c, _) = startup::load_rules(&settings)?;
            let store = guanjia::storage::Store::connect(&settings.database.url).await?;
            let n = match &file {
                Some(path) => {
                    if path.exists() {
                        bail!("{} already exists; choose a new file", path.display());
                    }
                    let f = std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?;
                    guanjia::corrections_cli::export(&store, &c, BufWriter::new(f)).await?
                }
                None => {
                    guanjia::corrections_cli::export(&store, &c, std::io::stdout().lock()).await?
                }
            };
            store.close().await;
            eprintln!("导出了 {n} 条改正。");
            Ok(())
        }
        Command::Report {
            since,
            until,
            format,
            output,
            estate,
        } => {
            let tz = settings.timezone()?;
            if let Some(unknown) = estate
                .iter()
                .find(|e| !settings.estate.iter().any(|d| d.name.trim() == e.trim()))
            {
                let known: Vec<&str> = settings.estate.iter().map(|e| e.name.trim()).collect();
                bail!(
                    "--estate {unknown}: not an [[estate]] of the config (estates: {})",
                    if known.is_empty() {
                        "none declared".to_string()
                    } else {
                        known.join(", ")
                    }
                );
            }
            let estates: Vec<String> = estate.iter().map(|e| e.trim().to_string()).collect();
            let estates = (!estates.is_empty()).then_some(estates.as_slice());
            let today = chrono::Utc::now().with_timezone(&tz).date_naive();
            let since = since.unwrap_or(today - chrono::Duration::days(7));
            let until = until.unwrap_or(today + chrono::Duration::days(1));
            if until <= since {
                bail!("--until {until} is not after --since {since}");
            }
            let start = |d: chrono::NaiveDate| {
                use chrono::TimeZone;
                tz.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
                    .earliest()
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .ok_or_else(|| anyhow::anyhow!("{d} has no midnight in {tz}"))
            };
            let (c, templates) = startup::load_rules(&settings)?;
            let category = |id: &str| c.category_label(id).unwrap_or(id).to_string();
            let intent = |id: &str| {
                id.parse::<guanjia::domain::Intent>()
                    .map(guanjia::report_cli::intent_label)
                    .unwrap_or(id)
                    .to_string()
            };
            let event = |kind: &str| {
                kind.parse::<guanjia::domain::ticket::EventType>()
                    .map(|k| templates.event(k))
                    .unwrap_or_else(|_| kind.to_string())
            };
            let labels = guanjia::report_cli::Labels {
                category: &category,
                intent: &intent,
                event: &event,
            };
            let store = guanjia::storage::Store::connect(&settings.database.url).await?;
            if format == guanjia::report_cli::Format::Events {
                return export_events(
                    &store,
                    &labels,
                    estates,
                    (start(since)?, start(until)?),
                    tz,
                    output,
                )
                .await;
            }
            let report = store
                .report_in(
                    estates,
                    start(since)?,
                    start(until)?,
                    chrono::Utc::now(),
                    tz,
                )
                .await?;
            store.close().await;
            let last = until - chrono::Duration::days(1);
            let mut title = format!("服务报告 {since} 至 {last}");
            if !estate.is_empty() {
                title = format!("{title}({})", estate.join("、"));
            }
            let text = guanjia::report_cli::render(&report, &title, format, &labels);
            match output {
                Some(path) => {
                    if path.exists() {
                        bail!("{} already exists; choose a new file", path.display());
                    }
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                }
                None => print!("{text}"),
            }
            Ok(())
        }
        Command::Inbox { command } => {
            let store = guanjia::storage::Store::connect(&settings.database.url).await?;
            let text = match command {
                None => guanjia::inbox_cli::list(&store, settings.timezone()?).await?,
                Some(InboxCommand::Retry { id }) => guanjia::inbox_cli::retry(&store, id).await?,
            };
            store.close().await;
            println!("{text}");
            Ok(())
        }
        Command::Fees {
            command: FeesCommand::Import { file, estate },
        } => {
            let report = startup::import_fees(&settings, &file, estate.as_deref()).await?;
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
                    estate,
                },
        } => {
            let report = startup::mark_fee_paid(
                &settings,
                estate.as_deref(),
                &building,
                &unit,
                &room,
                &period,
                !unpaid,
            )
            .await?;
            println!("{report}");
            Ok(())
        }
    }
}

/// `guanjia report --format events`: tickets with their histories as CSV,
/// streamed from the database to the file.
async fn export_events(
    store: &guanjia::storage::Store,
    labels: &guanjia::report_cli::Labels<'_>,
    estates: Option<&[String]>,
    (since, until): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
    tz: chrono_tz::Tz,
    output: Option<PathBuf>,
) -> Result<()> {
    let out: Box<dyn Write> = match &output {
        Some(path) => Box::new(BufWriter::new(
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .with_context(|| {
                    format!("{} (an existing file is never overwritten)", path.display())
                })?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut csv = guanjia::report_cli::EventsCsv::new(out, tz)?;
    let n = store
        .for_each_ticket_event(estates, since, until, |e| csv.write(&e, labels))
        .await?;
    csv.finish()?;
    store.close().await;
    eprintln!("导出了 {n} 条工单记录。");
    Ok(())
}
