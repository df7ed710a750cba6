//! A notice to 1,000 building groups under Telegram's send limits, and an
//! owner's repair report answered in the middle of it.
//!
//! Run with `cargo bench --bench broadcast` (release profile, about a minute).
//!
//! The real `guanjia run` binary (`CARGO_BIN_EXE_guanjia`) runs as a child
//! process with a temporary config and SQLite database: 1,000 `[[building]]`
//! groups (`GUANJIA_BENCH_GROUPS`), a staff chat, and the default send limits
//! (30 msg/s overall, 20 msg/min per chat). It talks to the fake Bot API
//! ([`fake_bot_api`], in this process on its own thread) with
//! `Options::enforce_rate_limits()`: the fake answers 429 to any `sendMessage`
//! beyond 30 in a sliding 1 s window or 20 per chat in a sliding 60 s window,
//! and counts those refusals as violations.
//!
//! Method: once the daemon polls and has idled 2 s, an admin sends
//! `/notice all <text>` in the staff chat. The bench records the `Instant` of
//! that push and, from the fake's record of every accepted `sendMessage`
//! (`SentMessage::at`), derives:
//!
//! * the time from the command to the last group's delivery, against the
//!   minimum the fake's window allows: with at most 30 sends in any 1 s window,
//!   send `i + 30` comes at least 1 s after send `i`, so `M` sends need at least
//!   `floor((M − 1) / 30)` s after the first one. `M` = groups + the `k` other
//!   messages the bot sent between the first and last notice copy (the
//!   command's acknowledgement, the owner's answer, the staff post): 33 s for
//!   1,000 groups and `k` ≤ 3. Ratio = measured / minimum (target ≤ 1.15);
//! * lost groups (no copy) and duplicated ones (more than one), target 0;
//! * rate-limit violations counted by the fake, target 0;
//! * an owner's repair report pushed 5 s after the command into the last
//!   group whose copy is still queued: time until the fake receives its
//!   answer (target < 2 s).
//!
//! Every wait is bounded; on failure the bench says what was missing, stops the
//! daemon and exits non-zero. Run without `--bench` it only prints how to run it.

#[path = "../tests/support/fake_bot_api.rs"]
mod fake_bot_api;

use fake_bot_api::{FakeBotApi, FakeChat, FakeUser, Options, SentMessage};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STAFF_CHAT: i64 = -100_900;
const ADMIN: i64 = 9001;
/// Text only this broadcast's copies contain.
const MARKER: &str = "二次供水水箱清洗";
/// When the owner's report is pushed, after the command.
const REPORT_AFTER: Duration = Duration::from_secs(5);
/// The fake's (Telegram's) global limit.
const PER_SECOND: usize = 30;

type Res<T> = Result<T, String>;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "broadcast bench: skipped (not run by `cargo bench`). Run: cargo bench --bench broadcast"
        );
        return;
    }
    if let Err(e) = run() {
        eprintln!("broadcast bench failed: {e}");
        std::process::exit(1);
    }
}

fn group_id(i: usize) -> i64 {
    -400_000 - i as i64
}

/// The daemon; stopped (SIGTERM, then SIGKILL) when dropped.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(fake: &FakeBotApi, dir: &Path, groups: usize) -> Res<Daemon> {
        let built = PathBuf::from(env!("CARGO_BIN_EXE_guanjia"));
        let bin = if built.exists() {
            built
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/guanjia")
        };
        if !bin.exists() {
            return Err(format!(
                "no guanjia binary at {}: run `cargo build --release` first",
                bin.display()
            ));
        }
        let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("intents");
        // No max_per_second / max_per_chat_per_minute: the defaults (30, 20).
        let mut config = format!(
            r#"[telegram]
token = "{token}"
api_url = "{url}"
poll_timeout_secs = 1

[database]
url = "sqlite://{db}"

[desk]
company = "基准测试物业"
timezone = "Asia/Shanghai"
staff_chat = {STAFF_CHAT}
admins = [{ADMIN}]
rules_dir = "{rules}"
"#,
            token = fake.token(),
            url = fake.api_url(),
            db = dir.join("guanjia.db").display(),
            rules = rules.display(),
        );
        for i in 1..=groups {
            config.push_str(&format!(
                "\n[[building]]\nname = \"{i}栋\"\nchat = {}\n",
                group_id(i)
            ));
        }
        let path = dir.join("guanjia.toml");
        std::fs::write(&path, config).map_err(|e| format!("writing {}: {e}", path.display()))?;
        let log = dir.join("guanjia.log");
        let out = File::create(&log).map_err(|e| format!("creating {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let child = Command::new(&bin)
            .arg("--config")
            .arg(&path)
            .arg("run")
            .env_remove("TELOXIDE_TOKEN")
            .env_remove("TELOXIDE_API_URL")
            .env_remove("DATABASE_URL")
            .env(
                "RUST_LOG",
                std::env::var("GUANJIA_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        Ok(Daemon { child, log })
    }

    fn check_alive(&mut self) -> Res<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                let text = std::fs::read_to_string(&self.log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                Err(format!(
                    "the daemon exited ({status}); end of its log:\n{}",
                    lines[lines.len().saturating_sub(20)..].join("\n")
                ))
            }
            Err(e) => Err(format!("cannot watch the daemon: {e}")),
        }
    }

    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("the daemon did not stop within 15 s of SIGTERM; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Warning and error lines in its log, with a few examples.
    fn log_summary(&self) -> (usize, Vec<String>) {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let hits: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .collect();
        let examples = hits
            .iter()
            .take(5)
            .map(|l| l.chars().take(240).collect())
            .collect();
        (hits.len(), examples)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn run() -> Res<()> {
    let groups: usize = match std::env::var("GUANJIA_BENCH_GROUPS") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .ok()
            .filter(|n| *n >= 2)
            .ok_or_else(|| format!("GUANJIA_BENCH_GROUPS={v:?} is not a number ≥ 2"))?,
        _ => 1000,
    };
    let fake = FakeBotApi::start_in_thread(Options::enforce_rate_limits());
    let result = run_on(&fake, groups);
    fake.shutdown();
    result
}

fn run_on(fake: &FakeBotApi, groups: usize) -> Res<()> {
    let dir = tempfile::tempdir().map_err(|e| format!("creating a temp dir: {e}"))?;
    let mut daemon = Daemon::start(fake, dir.path(), groups)?;
    let pid = daemon.child.id();
    println!(
        "broadcast bench: {groups} groups, Telegram limits enforced by the fake, daemon pid {pid}"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("building a runtime: {e}"))?;
    if let Err(e) = rt.block_on(fake.wait_until_polling(Duration::from_secs(30))) {
        daemon.check_alive()?;
        return Err(format!("the daemon: {e}"));
    }
    std::thread::sleep(Duration::from_secs(2));
    fake.clear_recordings();

    let staff = FakeChat::group(STAFF_CHAT, "物业员工群");
    let admin = FakeUser::new(ADMIN, "主管老周");
    let owner = FakeUser::new(1001, "张阿姨");

    let min_secs = (groups - 1) / PER_SECOND;
    let timeout = Duration::from_secs(2 * min_secs as u64 + 60);
    let command = format!("/notice all 本周六上午 9:00-11:00 {MARKER},请提前储水");
    let t0 = Instant::now();
    let cmd = fake.push_text(&staff, &admin, &command);
    println!("notice sent at t=0; waiting up to {timeout:?} for {groups} deliveries ...");

    let mut report: Option<(i64, i64, Instant, bool)> = None;
    let mut last_progress = Instant::now();
    let all_delivered = loop {
        let sent = fake.sent_messages();
        let reached: HashSet<i64> = sent
            .iter()
            .filter(|m| m.chat_id != STAFF_CHAT && m.text.contains(MARKER))
            .map(|m| m.chat_id)
            .collect();
        if report.is_none() && t0.elapsed() >= REPORT_AFTER {
            // A group whose copy is still queued, if any: the report must not
            // wait behind it.
            let i = (1..=groups)
                .rev()
                .find(|i| !reached.contains(&group_id(*i)))
                .unwrap_or(groups);
            let target = FakeChat::group(group_id(i), &format!("幸福里{i}栋业主群"));
            let at = Instant::now();
            let m = fake.push_text(&target, &owner, "卫生间马桶堵了,冲不下去,麻烦来修一下");
            report = Some((target.id, m.message_id, at, reached.contains(&target.id)));
        }
        let answered = report.is_some_and(|(chat, id, _, _)| {
            sent.iter()
                .any(|m| m.chat_id == chat && m.reply_to_message_id == Some(id))
        });
        if reached.len() >= groups && answered {
            break true;
        }
        daemon.check_alive()?;
        if t0.elapsed() >= timeout {
            break false;
        }
        if last_progress.elapsed() >= Duration::from_secs(5) {
            println!(
                "  t={:>5.1} s: {} groups reached, {} sends refused by the limits",
                secs(t0.elapsed()),
                reached.len(),
                fake.rate_violations()
            );
            last_progress = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The staff report, then a quiet spell to catch late duplicates.
    let report_deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < report_deadline
        && !fake
            .texts_to(STAFF_CHAT)
            .iter()
            .any(|t| t.contains("已送达"))
    {
        daemon.check_alive()?;
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(3));
    let rss = rss_mib(pid);
    let violations = fake.rate_violations();
    let sent = fake.sent_messages();
    daemon.stop();
    let (log_lines, log_examples) = daemon.log_summary();

    analyse(Analysis {
        groups,
        t0,
        cmd_id: cmd.message_id,
        sent: &sent,
        report,
        violations,
        all_delivered,
        rss,
    });
    println!("\ndaemon log: {log_lines} warning/error lines");
    for l in log_examples {
        println!("  {l}");
    }
    if !all_delivered {
        return Err(format!(
            "not every group was reached (and the report answered) within {timeout:?}"
        ));
    }
    Ok(())
}

struct Analysis<'a> {
    groups: usize,
    t0: Instant,
    cmd_id: i64,
    sent: &'a [SentMessage],
    /// The owner's report: chat, message id, when pushed, whether its group
    /// already had the notice then.
    report: Option<(i64, i64, Instant, bool)>,
    violations: usize,
    all_delivered: bool,
    rss: f64,
}

fn analyse(a: Analysis<'_>) {
    let copies: Vec<&SentMessage> = a
        .sent
        .iter()
        .filter(|m| m.chat_id != STAFF_CHAT && m.text.contains(MARKER))
        .collect();
    let mut per_group: HashMap<i64, usize> = HashMap::new();
    for m in &copies {
        *per_group.entry(m.chat_id).or_default() += 1;
    }
    let lost = (1..=a.groups)
        .filter(|i| !per_group.contains_key(&group_id(*i)))
        .count();
    let duplicated = per_group.values().filter(|n| **n > 1).count();
    let first = copies.iter().map(|m| m.at).min();
    let last = copies.iter().map(|m| m.at).max();
    let (Some(first), Some(last)) = (first, last) else {
        println!("\nno copy of the notice was delivered at all");
        return;
    };
    let others = a
        .sent
        .iter()
        .filter(|m| !(m.chat_id != STAFF_CHAT && m.text.contains(MARKER)))
        .filter(|m| m.at >= first && m.at <= last)
        .count();
    let m_total = a.groups + others;
    let min = Duration::from_secs(((m_total - 1) / PER_SECOND) as u64);
    let took = last.saturating_duration_since(a.t0);
    let spread = last.saturating_duration_since(first);
    let ratio = secs(took) / secs(min).max(1e-9);
    let ack = a
        .sent
        .iter()
        .find(|m| m.chat_id == STAFF_CHAT && m.reply_to_message_id == Some(a.cmd_id));
    let staff_report = a
        .sent
        .iter()
        .find(|m| m.chat_id == STAFF_CHAT && m.text.contains("已送达"));
    // Busiest 1 s window as the fake saw it.
    let mut times: Vec<Instant> = a.sent.iter().map(|m| m.at).collect();
    times.sort();
    let mut busiest = 0;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi].duration_since(times[lo]) >= Duration::from_secs(1) {
            lo += 1;
        }
        busiest = busiest.max(hi - lo + 1);
    }
    let report = a.report.map(|(chat, id, at, had_notice)| {
        let answer = a
            .sent
            .iter()
            .find(|m| m.chat_id == chat && m.reply_to_message_id == Some(id));
        (
            answer.map(|m| m.at.saturating_duration_since(at)),
            had_notice,
        )
    });
    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };

    println!(
        "\n## Results ({} cores)\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| measure | value | target |");
    println!("|---|---:|---|");
    if let Some(ack) = ack {
        println!(
            "| command acknowledged in the staff chat after | {:.2} s | |",
            secs(ack.at.saturating_duration_since(a.t0))
        );
    }
    println!(
        "| first copy delivered after | {:.2} s | |",
        secs(first.saturating_duration_since(a.t0))
    );
    println!(
        "| last group reached after (command → last delivery) | {:.2} s | |",
        secs(took)
    );
    println!(
        "| theoretical minimum: floor(({} + {others} − 1) / {PER_SECOND}) s after the first send | {} s | |",
        a.groups,
        min.as_secs()
    );
    println!(
        "| ratio measured / minimum | {ratio:.3} | ≤ 1.15: {} |",
        verdict(ratio <= 1.15 && a.all_delivered)
    );
    println!(
        "| first → last copy | {:.2} s ({:.1} msg/s) | |",
        secs(spread),
        (copies.len().saturating_sub(1)) as f64 / secs(spread).max(1e-9)
    );
    println!("| groups reached | {} of {} | |", per_group.len(), a.groups);
    println!("| lost (0 copies) | {lost} | 0: {} |", verdict(lost == 0));
    println!(
        "| duplicated (> 1 copy) | {duplicated} | 0: {} |",
        verdict(duplicated == 0)
    );
    println!(
        "| rate-limit violations (429s from the fake) | {} | 0: {} |",
        a.violations,
        verdict(a.violations == 0)
    );
    println!("| busiest 1 s window (all sends) | {busiest} | ≤ {PER_SECOND} |");
    match report {
        Some((Some(d), had_notice)) => println!(
            "| owner's repair report at t≈{}s answered after{} | {:.3} s | < 2 s: {} |",
            REPORT_AFTER.as_secs(),
            if had_notice {
                " (its group already had the notice)"
            } else {
                " (its group's copy still queued)"
            },
            secs(d),
            verdict(d < Duration::from_secs(2))
        ),
        Some((None, _)) => println!("| owner's repair report answered | never | < 2 s: MISSED |"),
        None => println!("| owner's repair report | not sent (the run ended first) | |"),
    }
    match staff_report {
        Some(m) => println!(
            "| staff report after {:.2} s | {} | |",
            secs(m.at.saturating_duration_since(a.t0)),
            m.text.replace('\n', " ").replace('|', "/")
        ),
        None => println!("| staff report | none within 15 s of the last copy | |"),
    }
    println!("| daemon RSS at the end | {:.1} MiB | |", a.rss);
}
