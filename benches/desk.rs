//! End-to-end throughput, latency and memory of the desk daemon, against a bare
//! teloxide echo bot through the same fake Telegram Bot API.
//!
//! Run with `cargo bench --bench desk` (release profile). Both bots are separate
//! processes talking HTTP to the fake ([`fake_bot_api`], in this process on its
//! own thread and runtime, no rate limits):
//!
//! * **guanjia**: the real `guanjia run` binary (`CARGO_BIN_EXE_guanjia`) with a
//!   temporary config and SQLite database, 50 bound building groups and the
//!   send limits raised out of the way (`max_per_second` and
//!   `max_per_chat_per_minute` = 100000). Each owner message is classified,
//!   stored as a ticket and answered in the group (plus a post to staff).
//! * **echo**: this same bench binary re-executed with
//!   `GUANJIA_BENCH_ROLE=echo-bot`: `teloxide::repl` answering every message with
//!   its own text as a reply. Same build profile, same teloxide, same process
//!   model, no extra build step.
//!
//! For each bot, on a fresh fake:
//!
//! 1. **idle RSS**: `VmRSS` from `/proc/<pid>/status` 3 s after it started polling.
//! 2. **warm-up**: one message per group, answered before anything is timed.
//! 3. **burst** (closed batch): `GUANJIA_BENCH_N` messages (default 2000) pushed
//!    at once, round-robin over the 50 groups, with varied repair and complaint
//!    texts from distinct owners. Throughput = N / (last reply − first push).
//!    Repeated `GUANJIA_BENCH_BURSTS` times (default 3); the median counts.
//! 4. **paced** (open loop): N messages pushed at a fixed
//!    `GUANJIA_BENCH_RATE` msg/s (default 200), each at its scheduled time
//!    whatever the replies do. Latency of a message = the fake's receipt of the
//!    `sendMessage` replying to it (`SentMessage::at`, `reply_to_message_id`)
//!    minus the `Instant` just before it was pushed; p50/p90/p99/max.
//! 5. **bulk** (guanjia only): `GUANJIA_BENCH_TICKETS` repair messages (default
//!    100000) in batches of 1000; each batch is pushed at once and waited for
//!    (group answer + staff post for every message) before the next. Tickets are
//!    counted from the staff posts; `VmRSS`/`VmHWM` is read at the end.
//!
//! CPU time of each bot process over a phase comes from `/proc/<pid>/stat`
//! (utime + stime, assuming the usual 100 ticks/s). `GUANJIA_BENCH_LOG_DIR`
//! keeps the bots' logs; `GUANJIA_BENCH_LOG` is the daemon's `RUST_LOG`
//! (default `warn`; `warn,sqlx::query=debug` logs every SQL statement).
//!
//! `GUANJIA_BENCH_SCALE=1` runs the scale-out comparison instead (`desk/scale.rs`):
//! one instance on SQLite, one and three on PostgreSQL, and the echo bot, on a
//! ticket-heavy and a realistic mix.
//!
//! Every wait is bounded; on any failure the bench says what was missing,
//! kills the processes it started and exits non-zero. Run without `--bench`
//! (e.g. `cargo test --benches`) it only prints how to run it.

#[path = "../tests/support/fake_bot_api.rs"]
mod fake_bot_api;
/// `GUANJIA_BENCH_SCALE=1`: one and several instances, SQLite and PostgreSQL.
#[path = "desk/scale.rs"]
mod scale;

use fake_bot_api::{FakeBotApi, FakeChat, FakeUser, Options};
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STAFF_CHAT: i64 = -100_900;
const ADMIN: i64 = 9001;
const STAFF: i64 = 9002;
const GROUPS: i64 = 50;
/// Messages per batch in the bulk phase.
const BULK_BATCH: usize = 1000;
/// What selects the echo-bot role when this binary re-executes itself.
const ROLE_VAR: &str = "GUANJIA_BENCH_ROLE";

type Res<T> = Result<T, String>;

fn main() {
    if std::env::var(ROLE_VAR).as_deref() == Ok("echo-bot") {
        echo_bot();
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!("desk bench: skipped (not run by `cargo bench`). Run: cargo bench --bench desk");
        return;
    }
    let scale = std::env::var("GUANJIA_BENCH_SCALE").is_ok_and(|v| v == "1");
    if let Err(e) = if scale { scale::run() } else { run() } {
        eprintln!("desk bench failed: {e}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

struct Params {
    n: usize,
    bursts: usize,
    rate: f64,
    tickets: usize,
    bulk_timeout: Duration,
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> Res<T> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a number")),
        _ => Ok(default),
    }
}

impl Params {
    fn from_env() -> Res<Params> {
        let p = Params {
            n: env_num("GUANJIA_BENCH_N", 2000usize)?,
            bursts: env_num("GUANJIA_BENCH_BURSTS", 3usize)?,
            rate: env_num("GUANJIA_BENCH_RATE", 200.0f64)?,
            tickets: env_num("GUANJIA_BENCH_TICKETS", 100_000usize)?,
            bulk_timeout: Duration::from_secs(env_num("GUANJIA_BENCH_BULK_TIMEOUT_SECS", 1800u64)?),
        };
        if p.n == 0 || p.bursts == 0 {
            return Err("GUANJIA_BENCH_N and GUANJIA_BENCH_BURSTS must be at least 1".into());
        }
        if !(p.rate > 0.0 && p.rate <= 100_000.0) {
            return Err("GUANJIA_BENCH_RATE must be in (0, 100000]".into());
        }
        Ok(p)
    }
}

// ---------------------------------------------------------------------------
// The workload
// ---------------------------------------------------------------------------

fn group(i: i64) -> FakeChat {
    FakeChat::group(-300_000 - i, &format!("幸福里{i}栋业主群"))
}

fn group_ids() -> Vec<i64> {
    (1..=GROUPS).map(|i| group(i).id).collect()
}

const ISSUES: &[&str] = &[
    "厨房水管漏水了,麻烦派人来看看",
    "卫生间马桶堵了,冲不下去",
    "楼道的灯坏了好几天了,晚上黑漆漆的",
    "单元门的门禁坏了进不去",
    "家里跳闸了一直合不上",
    "地下车库入口的道闸抬不起来",
    "楼下垃圾桶满了好几天没人清,臭死了",
    "厨房水龙头一直滴水关不紧",
    "电梯门关不上了",
    "阳台的水管爆了一直在滴水",
    "楼上装修噪音太大了,中午都不停,投诉一下",
    "卫生间天花板渗水,楼上漏下来的",
    "客厅的插座没电了",
    "小区大门的路灯不亮了",
    "下水道反味,臭得不行",
    "楼道里堆满了杂物,也没人管,投诉",
    "对讲机坏了,按了没反应",
    "外墙瓷砖掉了一块,很危险",
    "顶楼天花板漏水了,下雨墙都湿了",
    "物业保洁太差了,楼梯好几天没拖",
];

/// The `k`-th message of a run: its group (round-robin), owner and text.
fn message(k: usize) -> (FakeChat, FakeUser, String) {
    let g = (k as i64 % GROUPS) + 1;
    let issue = ISSUES[(k / GROUPS as usize) % ISSUES.len()];
    // One owner per message: a repeat from the same owner would join its ticket.
    let owner = FakeUser::new(100_000 + k as i64, "业主");
    let text = match k % 3 {
        0 => format!("{g}栋{}单元{}0{} {issue}", k % 4 + 1, k % 30 + 1, k % 4 + 1),
        1 => format!("{}单元{}0{}, {issue}", k % 4 + 1, k % 30 + 1, k % 4 + 1),
        _ => issue.to_string(),
    };
    (group(g), owner, text)
}

// ---------------------------------------------------------------------------
// The processes
// ---------------------------------------------------------------------------

/// A bot process; killed (SIGTERM, then SIGKILL) when dropped.
struct Bot {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Bot {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn check_alive(&mut self) -> Res<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "{} exited ({status}); its log {}:\n{}",
                self.name,
                self.log.display(),
                tail(&self.log, 20)
            )),
            Err(e) => Err(format!("cannot watch {}: {e}", self.name)),
        }
    }

    /// SIGTERM and up to 15 s for a clean exit, then SIGKILL.
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "{} did not stop within 15 s of SIGTERM; killing it",
            self.name
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.stop();
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Warnings and errors a bot logged, with a few examples.
fn log_summary(path: &Path) -> (usize, usize, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (mut warns, mut errors, mut examples) = (0, 0, Vec::new());
    for line in text.lines() {
        let is_error = line.contains("ERROR");
        if is_error || line.contains("WARN") {
            if is_error {
                errors += 1;
            } else {
                warns += 1;
            }
            if examples.len() < 5 {
                examples.push(line.chars().take(240).collect());
            }
        }
    }
    (warns, errors, examples)
}

fn daemon_binary() -> PathBuf {
    let built = PathBuf::from(env!("CARGO_BIN_EXE_guanjia"));
    if built.exists() {
        built
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/guanjia")
    }
}

fn daemon_config(fake: &FakeBotApi, dir: &Path) -> String {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("intents");
    let mut config = format!(
        r#"[telegram]
token = "{token}"
api_url = "{url}"
poll_timeout_secs = 1
max_per_second = 100000
max_per_chat_per_minute = 100000

[database]
url = "sqlite://{db}"

[desk]
company = "基准测试物业"
timezone = "Asia/Shanghai"
staff_chat = {STAFF_CHAT}
admins = [{ADMIN}]
staff = [{STAFF}]
rules_dir = "{rules}"

# The bench measures the desk, not its flood limits: every message is a new
# report from its own owner, and every ticket is posted to staff.
[flood]
repeat_minutes = 1
owner_tickets_per_hour = 10000
chat_posts_per_10_minutes = 10000
"#,
        token = fake.token(),
        url = fake.api_url(),
        db = dir.join("guanjia.db").display(),
        rules = rules.display(),
    );
    for i in 1..=GROUPS {
        config.push_str(&format!(
            "\n[[building]]\nname = \"{i}栋\"\nchat = {}\n",
            group(i).id
        ));
    }
    config
}

/// Where a bot's log goes: `GUANJIA_BENCH_LOG_DIR` if set (kept), else the
/// run's temporary directory.
fn log_path(dir: &Path, name: &str) -> Res<PathBuf> {
    match std::env::var_os("GUANJIA_BENCH_LOG_DIR") {
        Some(keep) if !keep.is_empty() => {
            let keep = PathBuf::from(keep);
            std::fs::create_dir_all(&keep)
                .map_err(|e| format!("creating {}: {e}", keep.display()))?;
            Ok(keep.join(name))
        }
        _ => Ok(dir.join(name)),
    }
}

fn spawn_logged(mut cmd: Command, name: &'static str, log: PathBuf) -> Res<Bot> {
    let out = File::create(&log).map_err(|e| format!("creating {}: {e}", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("creating {}: {e}", log.display()))?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("starting {name} ({:?}): {e}", cmd.get_program()))?;
    Ok(Bot { name, child, log })
}

fn start_daemon(fake: &FakeBotApi, dir: &Path) -> Res<Bot> {
    let bin = daemon_binary();
    if !bin.exists() {
        return Err(format!(
            "no guanjia binary at {}: run `cargo build --release` first",
            bin.display()
        ));
    }
    let config = dir.join("guanjia.toml");
    std::fs::write(&config, daemon_config(fake, dir))
        .map_err(|e| format!("writing {}: {e}", config.display()))?;
    let mut cmd = Command::new(bin);
    cmd.arg("--config")
        .arg(&config)
        .arg("run")
        .env_remove("TELOXIDE_TOKEN")
        .env_remove("TELOXIDE_API_URL")
        .env_remove("DATABASE_URL")
        .env(
            "RUST_LOG",
            std::env::var("GUANJIA_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        );
    spawn_logged(cmd, "guanjia", log_path(dir, "guanjia.log")?)
}

fn start_echo(fake: &FakeBotApi, dir: &Path) -> Res<Bot> {
    let me = std::env::current_exe().map_err(|e| format!("locating the bench binary: {e}"))?;
    let mut cmd = Command::new(me);
    cmd.env(ROLE_VAR, "echo-bot")
        .env("TELOXIDE_TOKEN", fake.token())
        .env("TELOXIDE_API_URL", fake.api_url());
    spawn_logged(cmd, "echo bot", log_path(dir, "echo.log")?)
}

/// The baseline: a bare teloxide bot that answers each message with its own
/// text, as a reply. Runs in the re-executed bench binary.
fn echo_bot() {
    use teloxide::prelude::*;
    use teloxide::types::ReplyParameters;
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("echo bot: cannot build a runtime: {e}");
            std::process::exit(1);
        }
    };
    rt.block_on(async {
        let bot = Bot::from_env();
        teloxide::repl(bot, |bot: Bot, msg: Message| async move {
            if let Some(text) = msg.text() {
                bot.send_message(msg.chat.id, text)
                    .reply_parameters(ReplyParameters::new(msg.id))
                    .await?;
            }
            Ok(())
        })
        .await;
    });
}

// ---------------------------------------------------------------------------
// /proc
// ---------------------------------------------------------------------------

/// `VmRSS` and `VmHWM` of a process, in MiB.
fn rss_mib(pid: u32) -> Res<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("reading /proc/{pid}/status: {e}"))?;
    let field = |name: &str| -> Res<f64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// User + system CPU time of a process (all threads), assuming 100 ticks/s.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the `(comm)`; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

// ---------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------

/// Polls `f` every 10 ms until it holds or `timeout` passes; checks the bot is alive.
fn wait_until(bot: &mut Bot, timeout: Duration, mut f: impl FnMut() -> bool) -> Res<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return Ok(true);
        }
        bot.check_alive()?;
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Messages sent so far into the 50 groups and into the staff chat.
fn counts(fake: &FakeBotApi, groups: &[i64]) -> (usize, usize) {
    let by_chat = fake.delivered_count_by_chat();
    let in_groups = groups.iter().filter_map(|g| by_chat.get(g)).sum();
    (in_groups, by_chat.get(&STAFF_CHAT).copied().unwrap_or(0))
}

/// Waits until nothing new was sent for `quiet`, at most `timeout`; when the
/// last message went out.
fn drain(fake: &FakeBotApi, bot: &mut Bot, quiet: Duration, timeout: Duration) -> Res<()> {
    let deadline = Instant::now() + timeout;
    let mut last = (usize::MAX, Instant::now());
    loop {
        let n = fake.delivered_count_by_chat().values().sum::<usize>();
        if n != last.0 {
            last = (n, Instant::now());
        } else if last.1.elapsed() >= quiet {
            return Ok(());
        }
        bot.check_alive()?;
        if Instant::now() >= deadline {
            return Err(format!(
                "{} still sending {timeout:?} after the phase ended",
                bot.name
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[derive(Default, Clone)]
struct Phase {
    pushed: usize,
    /// N / (last answer − first push).
    throughput: f64,
    /// Sorted latencies.
    latencies: Vec<Duration>,
    /// When the last message of the phase (answers and staff posts) went out,
    /// after the first push.
    last_send: Duration,
    cpu: Duration,
    wall: Duration,
}

impl Phase {
    fn pct(&self, p: f64) -> Option<Duration> {
        if self.latencies.is_empty() {
            return None;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        Some(self.latencies[rank.clamp(1, self.latencies.len()) - 1])
    }
}

/// Pushes messages `first..first + n` (at `rate` msg/s, or all at once) and
/// measures their answers.
fn measure(
    fake: &FakeBotApi,
    bot: &mut Bot,
    first: usize,
    n: usize,
    rate: Option<f64>,
) -> Res<Phase> {
    let groups = group_ids();
    fake.clear_recordings();
    let cpu0 = cpu_time(bot.pid());
    let start = Instant::now();
    let mut pushed: Vec<((i64, i64), Instant)> = Vec::with_capacity(n);
    for k in 0..n {
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(k as f64 / rate);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let (chat, from, text) = message(first + k);
        let at = Instant::now();
        let m = fake.push_text(&chat, &from, &text);
        pushed.push(((m.chat_id, m.message_id), at));
    }
    // A generous bound: 30 s plus 20 ms a message.
    let timeout = Duration::from_secs(30) + Duration::from_millis(20 * n as u64);
    let complete = wait_until(bot, timeout, || counts(fake, &groups).0 >= n)?;
    drain(
        fake,
        bot,
        Duration::from_millis(500),
        Duration::from_secs(120),
    )?;
    let cpu = cpu_time(bot.pid()).saturating_sub(cpu0);
    let sent = fake.sent_messages();
    let mut answer_at: HashMap<(i64, i64), Instant> = HashMap::new();
    for m in &sent {
        if let Some(r) = m.reply_to_message_id {
            answer_at.entry((m.chat_id, r)).or_insert(m.at);
        }
    }
    let first_push = pushed.first().map(|p| p.1).unwrap_or(start);
    let mut latencies = Vec::with_capacity(n);
    let mut last_answer = first_push;
    for (key, at) in &pushed {
        if let Some(a) = answer_at.get(key) {
            latencies.push(a.saturating_duration_since(*at));
            last_answer = last_answer.max(*a);
        }
    }
    latencies.sort();
    let answered = latencies.len();
    if !complete || answered < n {
        return Err(format!(
            "{}: only {answered} of {n} messages were answered within {timeout:?}",
            bot.name
        ));
    }
    let span = last_answer.saturating_duration_since(first_push);
    let last_send = sent
        .iter()
        .map(|m| m.at)
        .max()
        .unwrap_or(first_push)
        .saturating_duration_since(first_push);
    Ok(Phase {
        pushed: n,
        throughput: n as f64 / span.as_secs_f64().max(1e-9),
        latencies,
        last_send,
        cpu,
        wall: start.elapsed(),
    })
}

struct Bulk {
    pushed: usize,
    tickets: usize,
    elapsed: Duration,
    rss: (f64, f64),
    complete: bool,
}

/// The bulk phase: `total` repair messages in batches, each waited for.
fn bulk(
    fake: &FakeBotApi,
    bot: &mut Bot,
    first: usize,
    total: usize,
    bound: Duration,
) -> Res<Bulk> {
    let groups = group_ids();
    let start = Instant::now();
    let (mut pushed, mut tickets) = (0, 0);
    let mut complete = true;
    let mut batch_no = 0;
    while pushed < total {
        if start.elapsed() >= bound {
            println!(
                "  bulk: stopping after {:?} (GUANJIA_BENCH_BULK_TIMEOUT_SECS)",
                bound
            );
            complete = false;
            break;
        }
        let n = BULK_BATCH.min(total - pushed);
        fake.clear_recordings();
        for k in 0..n {
            let (chat, from, text) = message(first + pushed + k);
            fake.push_text(&chat, &from, &text);
        }
        let ok = wait_until(bot, Duration::from_secs(120), || {
            let (g, s) = counts(fake, &groups);
            g >= n && s >= n
        })?;
        let posts = fake.texts_to(STAFF_CHAT);
        tickets += posts.iter().filter(|t| t.contains("工单 #")).count();
        pushed += n;
        batch_no += 1;
        if !ok {
            let (g, s) = counts(fake, &groups);
            println!(
                "  bulk: batch {batch_no} incomplete after 120 s ({g} answers, {s} staff posts of {n}); stopping"
            );
            complete = false;
            break;
        }
        if batch_no % 10 == 0 || pushed == total {
            let (rss, _) = rss_mib(bot.pid())?;
            let secs = start.elapsed().as_secs_f64();
            println!(
                "  bulk: {pushed:>7} pushed, {tickets:>7} tickets, {secs:>6.1} s, {:>5.0} msg/s, RSS {rss:.1} MiB",
                pushed as f64 / secs
            );
        }
    }
    fake.clear_recordings();
    let elapsed = start.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    let rss = rss_mib(bot.pid())?;
    Ok(Bulk {
        pushed,
        tickets,
        elapsed,
        rss,
        complete,
    })
}

// ---------------------------------------------------------------------------
// A whole run for one bot
// ---------------------------------------------------------------------------

#[derive(PartialEq)]
enum Kind {
    Echo,
    Guanjia,
}

struct Report {
    name: &'static str,
    idle_rss: (f64, f64),
    /// The burst with the median throughput.
    burst: Phase,
    /// Lowest and highest burst throughput.
    burst_range: (f64, f64),
    paced: Phase,
    bulk: Option<Bulk>,
    log: (usize, usize, Vec<String>),
}

fn run_one(kind: Kind, p: &Params) -> Res<Report> {
    let fake = FakeBotApi::start_in_thread(Options::default());
    let result = run_on(&fake, kind, p);
    fake.shutdown();
    result
}

fn run_on(fake: &FakeBotApi, kind: Kind, p: &Params) -> Res<Report> {
    let dir = tempfile::tempdir().map_err(|e| format!("creating a temp dir: {e}"))?;
    let mut bot = match kind {
        Kind::Echo => start_echo(fake, dir.path())?,
        Kind::Guanjia => start_daemon(fake, dir.path())?,
    };
    println!("\n== {} (pid {}) ==", bot.name, bot.pid());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("building a runtime: {e}"))?;
    if let Err(e) = rt.block_on(fake.wait_until_polling(Duration::from_secs(30))) {
        bot.check_alive()?;
        return Err(format!("{}: {e}", bot.name));
    }
    std::thread::sleep(Duration::from_secs(3));
    bot.check_alive()?;
    let idle_rss = rss_mib(bot.pid())?;
    println!("  idle RSS {:.1} MiB", idle_rss.0);

    let mut next = 0;
    measure(fake, &mut bot, next, GROUPS as usize, None)?;
    next += GROUPS as usize;
    println!("  warm-up done; burst of {} ...", p.n);

    let mut bursts = Vec::with_capacity(p.bursts);
    for _ in 0..p.bursts {
        let burst = measure(fake, &mut bot, next, p.n, None)?;
        next += p.n;
        println!(
            "  burst: {:.0} msg/s, p50 {:.1} ms, p99 {:.1} ms, everything sent after {:.2} s",
            burst.throughput,
            ms(burst.pct(50.0)),
            ms(burst.pct(99.0)),
            burst.last_send.as_secs_f64()
        );
        bursts.push(burst);
    }
    bursts.sort_by(|a, b| a.throughput.total_cmp(&b.throughput));
    let burst_range = (bursts[0].throughput, bursts[bursts.len() - 1].throughput);
    // The run with the median throughput stands for all.
    let burst = bursts.swap_remove(bursts.len() / 2);
    println!("  paced: {} at {} msg/s ...", p.n, p.rate);
    let paced = measure(fake, &mut bot, next, p.n, Some(p.rate))?;
    next += p.n;
    println!(
        "  paced: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(paced.pct(50.0)),
        ms(paced.pct(99.0)),
        ms(paced.pct(100.0))
    );

    let bulk = if kind == Kind::Guanjia && p.tickets > 0 {
        println!(
            "  bulk: {} repair messages in batches of {BULK_BATCH} ...",
            p.tickets
        );
        Some(bulk(fake, &mut bot, next, p.tickets, p.bulk_timeout)?)
    } else {
        None
    };
    bot.stop();
    let log = log_summary(&bot.log);
    Ok(Report {
        name: bot.name,
        idle_rss,
        burst,
        burst_range,
        paced,
        bulk,
        log,
    })
}

fn ms(d: Option<Duration>) -> f64 {
    d.map(|d| d.as_secs_f64() * 1000.0).unwrap_or(f64::NAN)
}

fn run() -> Res<()> {
    let p = Params::from_env()?;
    println!(
        "desk bench: {GROUPS} groups, N = {}, paced at {} msg/s, bulk {} tickets; daemon {}",
        p.n,
        p.rate,
        p.tickets,
        daemon_binary().display()
    );
    let echo = run_one(Kind::Echo, &p)?;
    let desk = run_one(Kind::Guanjia, &p)?;
    print_table(&p, &echo, &desk);
    Ok(())
}

fn print_table(p: &Params, echo: &Report, desk: &Report) {
    let ratio = desk.burst.throughput / echo.burst.throughput;
    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    println!(
        "\n## Results ({} cores)\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| measure | echo bot | guanjia | target |");
    println!("|---|---:|---:|---|");
    println!(
        "| burst of {n}: throughput, median of {b} (msg/s) | {:.0} | {:.0} | ratio {ratio:.2} ≥ 0.70: {} |",
        echo.burst.throughput,
        desk.burst.throughput,
        verdict(ratio >= 0.7),
        n = p.n,
        b = p.bursts
    );
    println!(
        "| burst: throughput min – max (msg/s) | {:.0} – {:.0} | {:.0} – {:.0} | |",
        echo.burst_range.0, echo.burst_range.1, desk.burst_range.0, desk.burst_range.1
    );
    println!(
        "| burst: latency p50 / p99 (ms) | {:.1} / {:.1} | {:.1} / {:.1} | (queueing) |",
        ms(echo.burst.pct(50.0)),
        ms(echo.burst.pct(99.0)),
        ms(desk.burst.pct(50.0)),
        ms(desk.burst.pct(99.0))
    );
    println!(
        "| burst: all sends done after (s) | {:.2} | {:.2} | |",
        echo.burst.last_send.as_secs_f64(),
        desk.burst.last_send.as_secs_f64()
    );
    println!(
        "| burst: bot CPU per message (ms) | {:.3} | {:.3} | |",
        echo.burst.cpu.as_secs_f64() * 1000.0 / echo.burst.pushed as f64,
        desk.burst.cpu.as_secs_f64() * 1000.0 / desk.burst.pushed as f64
    );
    println!(
        "| paced {} msg/s: latency p50 (ms) | {:.1} | {:.1} | |",
        p.rate,
        ms(echo.paced.pct(50.0)),
        ms(desk.paced.pct(50.0))
    );
    println!(
        "| paced: latency p90 (ms) | {:.1} | {:.1} | |",
        ms(echo.paced.pct(90.0)),
        ms(desk.paced.pct(90.0))
    );
    let p99 = ms(desk.paced.pct(99.0));
    println!(
        "| paced: latency p99 (ms) | {:.1} | {p99:.1} | < 50: {} |",
        ms(echo.paced.pct(99.0)),
        verdict(p99 < 50.0)
    );
    println!(
        "| paced: latency max (ms) | {:.1} | {:.1} | |",
        ms(echo.paced.pct(100.0)),
        ms(desk.paced.pct(100.0))
    );
    println!(
        "| paced: bot CPU (% of one core) | {:.0} | {:.0} | |",
        echo.paced.cpu.as_secs_f64() * 100.0 / echo.paced.wall.as_secs_f64(),
        desk.paced.cpu.as_secs_f64() * 100.0 / desk.paced.wall.as_secs_f64()
    );
    println!(
        "| idle RSS (MiB) | {:.1} | {:.1} | < 30: {} |",
        echo.idle_rss.0,
        desk.idle_rss.0,
        verdict(desk.idle_rss.0 < 30.0)
    );
    if let Some(b) = &desk.bulk {
        println!(
            "| RSS after {} tickets (MiB) | | {:.1} (peak {:.1}) | < 80: {} |",
            b.tickets,
            b.rss.0,
            b.rss.1,
            verdict(b.rss.0 < 80.0 && b.complete)
        );
        println!(
            "| bulk: {} messages pushed, tickets created, time | | {} in {:.0} s ({:.0} msg/s){} | |",
            b.pushed,
            b.tickets,
            b.elapsed.as_secs_f64(),
            b.pushed as f64 / b.elapsed.as_secs_f64(),
            if b.complete { "" } else { ", INCOMPLETE" }
        );
    }
    for r in [echo, desk] {
        let (warns, errors, examples) = &r.log;
        println!("\n{} log: {warns} warnings, {errors} errors", r.name);
        for e in examples {
            println!("  {e}");
        }
    }
}
