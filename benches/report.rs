//! How long the manager's report takes over a big history, and how much memory.
//!
//! Run with `cargo bench --bench report`. A generator writes
//! `GUANJIA_BENCH_REPORT_N` tickets (default 1,000,000) spread over a year, 40
//! buildings and every category, each claimed (and most finished, some rated and
//! reopened) with its audit events, into a fresh SQLite database. Then the real
//! `guanjia report --since … --format md` runs over all of it as its own process:
//! wall time, and peak RSS (`VmHWM`) read from `/proc` while it runs.

use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use guanjia::storage::Store;

const CATEGORIES: [&str; 10] = [
    "plumbing",
    "electrical",
    "elevator",
    "door_access",
    "lighting",
    "noise",
    "renovation",
    "sanitation",
    "parking",
    "facilities",
];

/// A small deterministic generator (no extra dependency): xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn main() {
    let n: u64 = std::env::var("GUANJIA_BENCH_REPORT_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("report.db");
    let url = format!("sqlite://{}", db.display());
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let t0 = Instant::now();
    rt.block_on(generate(&url, n));
    println!(
        "generated {n} tickets with their events in {:.1} s ({} MB on disk)",
        t0.elapsed().as_secs_f64(),
        std::fs::metadata(&db)
            .map(|m| m.len() / 1_000_000)
            .unwrap_or(0)
    );
    // What /stats computes, in process: the whole year (`/stats 366`) and the
    // last week (`/stats`, the default).
    rt.block_on(async {
        let store = Store::connect(&url).await.expect("the database");
        let tz = chrono_tz::Asia::Shanghai;
        // What the daemon's clock does every ten minutes: count again the days
        // whose tickets changed (here: every day, all of them new).
        let started = Instant::now();
        let days = store
            .refresh_report_days(Utc::now(), tz)
            .await
            .expect("the recount");
        println!(
            "the clock's recount of {days} changed days: {:.1} s (once; afterwards only changed days)",
            started.elapsed().as_secs_f64()
        );
        let one = [estate_of(1)];
        for (label, days, estates) in [
            ("/stats 366", 366, None),
            ("/stats", 7, None),
            ("/stats 366 in one estate's staff group", 366, Some(&one[..])),
        ] {
            let now = Utc::now();
            let started = Instant::now();
            let r = store
                .report_in(
                    estates,
                    now - chrono::Duration::days(days),
                    now + chrono::Duration::seconds(1),
                    now,
                    tz,
                )
                .await
                .expect("the figures");
            println!(
                "{label} figures over {} of {n} tickets: {:.2} s",
                r.tickets,
                started.elapsed().as_secs_f64()
            );
        }
        store.close().await;
    });
    std::fs::write(
        dir.path().join("guanjia.toml"),
        format!("[database]\nurl = \"{url}\"\n"),
    )
    .expect("a config");

    for _ in 0..2 {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_guanjia"))
            .current_dir(dir.path())
            .args(["report", "--since", "2025-01-01", "--until", "2027-01-02"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("guanjia report runs");
        let pid = child.id();
        let mut peak_kb = 0;
        while child.try_wait().expect("waiting").is_none() {
            if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
                && let Some(kb) = status
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().expect("its output");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("| 工单总数 | {n} |")),
            "the report counts every ticket: {}",
            text.lines().take(5).collect::<Vec<_>>().join(" / ")
        );
        println!(
            "guanjia report over {n} tickets: {:.2} s, peak RSS {} MiB",
            started.elapsed().as_secs_f64(),
            peak_kb / 1024
        );
    }
}

/// Four estates of ten buildings each: `/stats` in an estate's own staff group
/// counts that estate only.
fn estate_of(building: u64) -> String {
    format!("小区{}", (building - 1) / 10 + 1)
}

async fn generate(url: &str, n: u64) {
    let store = Store::connect(url).await.expect("a database");
    let pool = store.raw_pool();
    // The year before now: the report and /stats ask "as of now".
    let start = (Utc::now() - chrono::Duration::days(365)).timestamp_millis();
    let year_ms: u64 = 365 * 24 * 3600 * 1000;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    const BATCH: u64 = 400;
    let mut id = 0u64;
    while id < n {
        let mut tickets = String::from(
            "INSERT INTO tickets (id, source_chat_id, source_message_id, reporter_id, reporter_name, text, intent,
                 category, building, priority, status, assignee_id, assignee_name, rating, respond_by, resolve_by,
                 created_at, updated_at, claimed_at, finished_at, reopens, estate) VALUES ",
        );
        let mut events = String::from(
            "INSERT INTO ticket_events (ticket_id, at, actor_id, actor_name, kind) VALUES ",
        );
        let end = (id + BATCH).min(n);
        for i in id..end {
            let t = i + 1;
            let created = start + rng.below(year_ms) as i64;
            let category = CATEGORIES[rng.below(CATEGORIES.len() as u64) as usize];
            let building = rng.below(40) + 1;
            let staff = rng.below(12);
            let claim = created + (rng.below(40) as i64 + 1) * 60_000;
            let done = claim + (rng.below(36 * 60) as i64 + 10) * 60_000;
            let finished = rng.below(10) < 8;
            let rating = if finished && rng.below(2) == 0 {
                (rng.below(5) + 1).to_string()
            } else {
                "NULL".into()
            };
            let status = if finished { "closed" } else { "claimed" };
            if i > id {
                tickets.push(',');
                events.push(',');
            }
            let reopened = finished && rng.below(20) == 0;
            tickets.push_str(&format!(
                "({t}, -{building}, {t}, {}, '业主', '报修', 'repair', '{category}', '{building}', 'normal', '{status}',
                  {staff}, '师傅{staff}', {rating}, {}, {}, {created}, {created}, {claim}, {}, {}, '{}')",
                1_000_000 + rng.below(50_000),
                created + 15 * 60_000,
                created + 24 * 3_600_000,
                if finished { done.to_string() } else { "NULL".into() },
                i64::from(reopened),
                estate_of(building),
            ));
            events.push_str(&format!(
                "({t}, {created}, NULL, '业主', 'opened'), ({t}, {claim}, {staff}, '师傅{staff}', 'claimed')"
            ));
            if finished {
                events.push_str(&format!(", ({t}, {done}, {staff}, '师傅{staff}', 'done')"));
                if reopened {
                    events.push_str(&format!(
                        ", ({t}, {}, NULL, '业主', 'reopened')",
                        done + 3_600_000
                    ));
                }
            }
        }
        let mut tx = pool.begin().await.expect("a transaction");
        sqlx::query(&tickets)
            .execute(&mut *tx)
            .await
            .expect("tickets inserted");
        sqlx::query(&events)
            .execute(&mut *tx)
            .await
            .expect("events inserted");
        tx.commit().await.expect("committed");
        id = end;
    }
    store.close().await;
}
