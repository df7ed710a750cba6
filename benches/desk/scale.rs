//! `GUANJIA_BENCH_SCALE=1 cargo bench --bench desk`: throughput and latency of
//! one instance on SQLite, one on PostgreSQL and three on one PostgreSQL, against
//! the echo bot through the same fake, on two mixes of messages:
//!
//! * **tickets**: every message a repair or complaint (the desk bench's workload):
//!   each opens a ticket, is answered in its group and posted to staff.
//! * **realistic**: what a building group says in a day: 60 % chatter (stays
//!   silent), 20 % questions (a FAQ answer), 15 % repairs, 5 % complaints.
//!
//! The daemons run in webhook mode (several instances need it) with the send
//! limits lifted; the bench plays Telegram and posts each update to the
//! instances in turn, up to 64 posts in flight (Telegram itself keeps one in
//! flight per bot with `max_connections = 1`: this measures what the instances
//! can take, not what Telegram would offer). The echo bot long-polls the fake
//! as in the desk bench and answers every message.
//!
//! Throughput of a burst = N / (last expected answer − first post), median of
//! `GUANJIA_BENCH_BURSTS`; chatter is interleaved, so the last answer comes after
//! it. Paced: N messages at `GUANJIA_BENCH_RATE` msg/s (open loop); latency =
//! answer received by the fake − post started, for messages that get one.
//! PostgreSQL is `GUANJIA_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! a fresh database per subject.

use super::fake_bot_api::{FakeBotApi, Options};
use super::{
    ADMIN, Bot, GROUPS, ISSUES, Params, Res, STAFF, STAFF_CHAT, daemon_binary, group, log_path, ms,
    spawn_logged, start_echo,
};
use sqlx::Connection;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "bench-secret";
const HOOK: &str = "/hook";
const IN_FLIGHT: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mix {
    Tickets,
    Realistic,
}

const QUESTIONS: &[&str] = &[
    "物业费怎么交",
    "请问物业服务中心电话多少",
    "快递一般放在哪里",
    "停车费多少钱一个月",
];
const CHATTER: &[&str] = &[
    "今天天气真不错",
    "哈哈哈笑死我了",
    "谁家的猫跑出来了",
    "晚上一起去打球吗",
    "谢谢邻居帮忙",
    "明天早上有人一起拼车去地铁站吗",
];

/// The `k`-th message of a mix, and whether the desk answers it.
fn message(mix: Mix, k: usize) -> (i64, String, bool) {
    let g = (k as i64 % GROUPS) + 1;
    let issue = ISSUES[(k / GROUPS as usize) % ISSUES.len()];
    let report = format!("{g}栋{}单元{}0{} {issue}", k % 4 + 1, k % 30 + 1, k % 4 + 1);
    match mix {
        Mix::Tickets => (g, report, true),
        Mix::Realistic => match k % 20 {
            0..=2 => (g, report, true),
            3 => (g, "楼上装修噪音太大了,中午都不停,投诉一下".into(), true),
            4..=7 => (g, QUESTIONS[k % QUESTIONS.len()].into(), true),
            _ => (g, CHATTER[k % CHATTER.len()].into(), false),
        },
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Subject {
    Echo,
    Sqlite,
    Postgres(usize),
}

impl Subject {
    fn name(self) -> String {
        match self {
            Subject::Echo => "echo bot".into(),
            Subject::Sqlite => "guanjia, SQLite".into(),
            Subject::Postgres(1) => "guanjia, PostgreSQL".into(),
            Subject::Postgres(n) => format!("guanjia ×{n}, one PostgreSQL"),
        }
    }
}

fn free_port() -> Res<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("a free port: {e}"))
}

async fn fresh_postgres(tag: &str) -> Res<String> {
    let admin = std::env::var("GUANJIA_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .map_err(|e| format!("PostgreSQL at {admin}: {e}"))?;
    let name = format!("guanjia_bench_{tag}_{}", std::process::id());
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::query(&sql)
            .execute(&mut conn)
            .await
            .map_err(|e| format!("{sql}: {e}"))?;
    }
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Ok(format!("{base}/{name}"))
}

fn config(fake: &FakeBotApi, database: &str, port: u16) -> String {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("intents");
    let mut config = format!(
        r#"[telegram]
token = "{token}"
api_url = "{url}"
max_per_second = 100000
max_per_chat_per_minute = 100000
webhook_url = "https://bench.example.com{HOOK}"
secret_token = "{SECRET}"

[http]
listen = "127.0.0.1:{port}"

[database]
url = "{database}"

[desk]
company = "基准测试物业"
timezone = "Asia/Shanghai"
staff_chat = {STAFF_CHAT}
admins = [{ADMIN}]
staff = [{STAFF}]
rules_dir = "{rules}"

[flood]
repeat_minutes = 1
owner_tickets_per_hour = 10000
chat_posts_per_10_minutes = 10000
"#,
        token = fake.token(),
        url = fake.api_url(),
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

/// The daemons of a subject and the ports they take posts on (none: the echo
/// bot polls).
struct Running {
    bots: Vec<Bot>,
    ports: Vec<u16>,
}

fn start(
    subject: Subject,
    fake: &FakeBotApi,
    dir: &Path,
    rt: &tokio::runtime::Runtime,
) -> Res<Running> {
    if subject == Subject::Echo {
        let bot = start_echo(fake, dir)?;
        rt.block_on(fake.wait_until_polling(Duration::from_secs(30)))?;
        return Ok(Running {
            bots: vec![bot],
            ports: Vec::new(),
        });
    }
    let (database, count) = match subject {
        Subject::Sqlite => (format!("sqlite://{}", dir.join("guanjia.db").display()), 1),
        Subject::Postgres(n) => (rt.block_on(fresh_postgres(&format!("x{n}")))?, n),
        Subject::Echo => unreachable!(),
    };
    let names: [&'static str; 3] = ["guanjia-1", "guanjia-2", "guanjia-3"];
    let mut running = Running {
        bots: Vec::new(),
        ports: Vec::new(),
    };
    for (i, name) in names.iter().enumerate().take(count) {
        let port = free_port()?;
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(&file, config(fake, &database, port))
            .map_err(|e| format!("writing {}: {e}", file.display()))?;
        let mut cmd = Command::new(daemon_binary());
        cmd.arg("--config")
            .arg(&file)
            .arg("run")
            .env_remove("TELOXIDE_TOKEN")
            .env_remove("TELOXIDE_API_URL")
            .env_remove("DATABASE_URL")
            .env_remove("GUANJIA_WEBHOOK_SECRET")
            .env(
                "RUST_LOG",
                std::env::var("GUANJIA_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
            );
        running.bots.push(spawn_logged(
            cmd,
            name,
            log_path(dir, &format!("{name}-{i}.log"))?,
        )?);
        running.ports.push(port);
    }
    let client = reqwest::Client::new();
    for (bot, port) in running.bots.iter_mut().zip(&running.ports) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            bot.check_alive()?;
            let up = rt.block_on(async {
                client
                    .get(format!("http://127.0.0.1:{port}/healthz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
            });
            if up {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("{} never answered /healthz", bot.name));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(running)
}

struct Phase {
    throughput: f64,
    latencies: Vec<Duration>,
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

/// Deliver messages `first..first + n` of `mix` (all at once, or at `rate`) and
/// wait for every expected answer.
fn measure(
    fake: &FakeBotApi,
    running: &mut Running,
    rt: &tokio::runtime::Runtime,
    mix: Mix,
    first: usize,
    n: usize,
    rate: Option<f64>,
) -> Res<Phase> {
    fake.clear_recordings();
    let client = reqwest::Client::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let start = Instant::now();
    let mut expected: Vec<((i64, i64), Instant)> = Vec::new();
    let mut posts = Vec::new();
    let users = super::fake_bot_api::FakeUser::new;
    for k in 0..n {
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(k as f64 / rate);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let (g, text, answered) = message(mix, first + k);
        let owner = users(100_000 + (first + k) as i64, "业主");
        let at = Instant::now();
        let m = fake.push_text(&group(g), &owner, &text);
        if answered {
            expected.push(((m.chat_id, m.message_id), at));
        }
        if !running.ports.is_empty() {
            let port = running.ports[k % running.ports.len()];
            let body = fake
                .update_json(m.update_id)
                .ok_or("an update the fake just made")?
                .to_string();
            let (client, slots) = (client.clone(), slots.clone());
            posts.push(rt.spawn(async move {
                let _slot = slots.acquire_owned().await.ok()?;
                client
                    .post(format!("http://127.0.0.1:{port}{HOOK}"))
                    .header("content-type", "application/json")
                    .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
                    .body(body)
                    .send()
                    .await
                    .ok()
                    .map(|r| r.status().as_u16())
            }));
        }
    }
    for p in posts {
        match rt.block_on(p) {
            Ok(Some(200)) => {}
            other => return Err(format!("a webhook post failed: {other:?}")),
        }
    }
    let answered = |fake: &FakeBotApi| {
        let sent = fake.sent_messages();
        let mut at: HashMap<(i64, i64), Instant> = HashMap::new();
        for m in &sent {
            if let Some(r) = m.reply_to_message_id {
                at.entry((m.chat_id, r)).or_insert(m.at);
            }
        }
        at
    };
    let deadline = Instant::now() + Duration::from_secs(30) + Duration::from_millis(20 * n as u64);
    let answers = loop {
        for bot in &mut running.bots {
            bot.check_alive()?;
        }
        let at = answered(fake);
        if expected.iter().all(|(key, _)| at.contains_key(key)) {
            break at;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {} messages answered",
                expected.iter().filter(|(k, _)| at.contains_key(k)).count(),
                expected.len()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let first_post = start;
    let mut latencies = Vec::new();
    let mut last = first_post;
    for (key, at) in &expected {
        let a = answers[key];
        latencies.push(a.saturating_duration_since(*at));
        last = last.max(a);
    }
    latencies.sort();
    // Let staff posts and edits finish before the next phase.
    std::thread::sleep(Duration::from_millis(500));
    Ok(Phase {
        throughput: n as f64
            / last
                .saturating_duration_since(first_post)
                .as_secs_f64()
                .max(1e-9),
        latencies,
    })
}

struct Row {
    subject: Subject,
    mix: Mix,
    burst: f64,
    range: (f64, f64),
    paced: Phase,
}

fn run_subject(subject: Subject, p: &Params, rows: &mut Vec<Row>) -> Res<()> {
    let fake = FakeBotApi::start_in_thread(Options::default());
    let dir = tempfile::tempdir().map_err(|e| format!("a temp dir: {e}"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("a runtime: {e}"))?;
    let result = (|| -> Res<()> {
        let mut running = start(subject, &fake, dir.path(), &rt)?;
        println!("\n== {} ==", subject.name());
        let mut next = 0;
        measure(
            &fake,
            &mut running,
            &rt,
            Mix::Tickets,
            next,
            GROUPS as usize,
            None,
        )?;
        next += GROUPS as usize;
        // `GUANJIA_BENCH_MIXES=realistic` (or `tickets`) measures one mix only.
        let mixes = std::env::var("GUANJIA_BENCH_MIXES").unwrap_or_default();
        for mix in [Mix::Tickets, Mix::Realistic]
            .into_iter()
            .filter(|m| mixes.is_empty() || mixes.contains(&format!("{m:?}").to_lowercase()))
        {
            let mut bursts = Vec::new();
            for _ in 0..p.bursts {
                let b = measure(&fake, &mut running, &rt, mix, next, p.n, None)?;
                next += p.n;
                println!("  {mix:?} burst: {:.0} msg/s", b.throughput);
                bursts.push(b.throughput);
            }
            bursts.sort_by(f64::total_cmp);
            let paced = measure(&fake, &mut running, &rt, mix, next, p.n, Some(p.rate))?;
            next += p.n;
            println!(
                "  {mix:?} paced at {} msg/s: p50 {:.1} ms, p99 {:.1} ms",
                p.rate,
                ms(paced.pct(50.0)),
                ms(paced.pct(99.0))
            );
            rows.push(Row {
                subject,
                mix,
                burst: bursts[bursts.len() / 2],
                range: (bursts[0], bursts[bursts.len() - 1]),
                paced,
            });
        }
        for bot in &mut running.bots {
            bot.stop();
        }
        Ok(())
    })();
    fake.shutdown();
    result
}

/// The subjects to measure: all of them, or those `GUANJIA_BENCH_SUBJECTS`
/// names (`echo,sqlite,pg,pg3`), e.g. to profile one.
fn subjects() -> Res<Vec<Subject>> {
    let all = [
        ("echo", Subject::Echo),
        ("sqlite", Subject::Sqlite),
        ("pg", Subject::Postgres(1)),
        ("pg3", Subject::Postgres(3)),
    ];
    let Ok(chosen) = std::env::var("GUANJIA_BENCH_SUBJECTS") else {
        return Ok(all.iter().map(|(_, s)| *s).collect());
    };
    chosen
        .split(',')
        .map(|name| {
            all.iter()
                .find(|(n, _)| *n == name.trim())
                .map(|(_, s)| *s)
                .ok_or_else(|| {
                    format!(
                        "GUANJIA_BENCH_SUBJECTS: unknown subject '{name}' (echo, sqlite, pg, pg3)"
                    )
                })
        })
        .collect()
}

pub fn run() -> Res<()> {
    let p = Params::from_env()?;
    println!(
        "scale bench: {GROUPS} groups, N = {}, {} bursts, paced at {} msg/s; daemon {}",
        p.n,
        p.bursts,
        p.rate,
        daemon_binary().display()
    );
    let mut rows = Vec::new();
    for subject in subjects()? {
        run_subject(subject, &p, &mut rows)?;
    }
    println!(
        "\n## Scale-out ({} cores)\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| subject | mix | burst of {} (msg/s, median) | min – max | paced {} msg/s p50 / p99 (ms) |",
        p.n, p.rate
    );
    println!("|---|---|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:?} | {:.0} | {:.0} – {:.0} | {:.1} / {:.1} |",
            r.subject.name(),
            r.mix,
            r.burst,
            r.range.0,
            r.range.1,
            ms(r.paced.pct(50.0)),
            ms(r.paced.pct(99.0))
        );
    }
    Ok(())
}
