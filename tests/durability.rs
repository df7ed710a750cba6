//! Faults in the database must never lose what was accepted: a failed statement or
//! commit rolls back and leaves the connection usable, and nothing told to an owner
//! exists only in a transaction that will never commit.

use chrono::{TimeZone, Utc};
use guanjia::domain::ticket::{Actor, Priority};
use guanjia::domain::{Intent, Location};
use guanjia::storage::{NewTicket, Store};
use sqlx::{Connection, Row};

fn ticket(message: i64, text: String) -> NewTicket {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap();
    NewTicket {
        source_chat: -1003,
        source_message: message,
        reporter: Actor::new(20001, "业主"),
        text,
        intent: Intent::Repair,
        category: Some("plumbing".into()),
        location: Location::new(Some("3".into()), None, Some("501".into())),
        location_source: Some("message"),
        priority: Priority::Normal,
        respond_by: t0 + chrono::Duration::minutes(15),
        resolve_by: t0 + chrono::Duration::hours(24),
        created_at: t0,
        estate: String::new(),
    }
}

/// Tickets as another connection sees them: only what was really committed.
async fn committed_tickets(path: &std::path::Path) -> Vec<(i64, i64)> {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("SELECT id, source_message_id FROM tickets ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn after_the_disk_fills_up_later_tickets_are_really_stored_and_numbers_never_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    // Fill the database up to a ceiling, as a nearly full disk would.
    let pages: i64 = sqlx::query("PRAGMA page_count")
        .fetch_one(store.raw_pool())
        .await
        .unwrap()
        .get(0);
    sqlx::query(&format!("PRAGMA max_page_count = {}", pages + 8))
        .execute(store.raw_pool())
        .await
        .unwrap();
    let big = "漏水".repeat(2_000);
    let mut failed = false;
    for n in 1..200 {
        let result = async {
            let mut tx = store.begin().await?;
            tx.enqueue(
                &guanjia::domain::outgoing::Outgoing::send(-5, "x").tag(format!("x{n}")),
                Utc::now(),
            )
            .await?;
            tx.insert_ticket(&ticket(n, big.clone())).await?;
            tx.commit().await
        }
        .await;
        if result.is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "the ceiling was never reached");
    let before = committed_tickets(&path).await;

    // Room again (the operator freed some disk).
    sqlx::query("PRAGMA max_page_count = 1000000")
        .execute(store.raw_pool())
        .await
        .ok();
    let mut tx = store.begin().await.expect("a new transaction starts");
    let id = tx
        .insert_ticket(&ticket(10_000, "卫生间漏水".into()))
        .await
        .expect("the insert works")
        .expect("a new ticket");
    tx.commit().await.expect("the commit works");

    let after = committed_tickets(&path).await;
    assert_eq!(
        after.len(),
        before.len() + 1,
        "the new ticket is committed: {after:?}"
    );
    assert_eq!(after.last(), Some(&(id.get(), 10_000)));
    assert!(
        before.iter().all(|(old, _)| *old < id.get()),
        "ticket numbers are not reused"
    );
}

mod support;
use std::time::Duration;
use support::daemon::*;
use support::fake_bot_api::FakeBotApi;
use support::inprocess::{G3, at, world};

/// A fault in the daemon's own database, injected from outside while it runs: every
/// new ticket fails to insert until the trigger is dropped.
async fn break_tickets(home: &Home, on: bool) {
    let db = home.dir.path().join("guanjia.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let sql = if on {
        "CREATE TRIGGER injected_fault BEFORE INSERT ON tickets BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
    } else {
        "DROP TRIGGER injected_fault"
    };
    sqlx::query(sql).execute(&mut conn).await.unwrap();
}

const RETRIES: &str = "\n[inbox]\nmax_attempts = 4\nretry_base_ms = 300\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_report_that_fails_to_store_is_tried_again_and_answered_once_the_database_recovers() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "\n[inbox]\nmax_attempts = 50\nretry_base_ms = 200\n");
    let _d = home.start(&fake).await;
    break_tickets(&home, true).await;
    let m = fake.push_text(&group3(), &owner(), "3栋2单元501 厨房漏水了");
    // Failing: no answer, and no generic apology either.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        fake.texts_to(GROUP_3).is_empty(),
        "nothing is said while the report cannot be stored: {:?}",
        fake.texts_to(GROUP_3)
    );
    break_tickets(&home, false).await;
    let ack = fake
        .wait_for_text(GROUP_3, "工单号 #1", SOON)
        .await
        .expect("the report is answered once it can be stored");
    assert_eq!(ack.reply_to_message_id, Some(m.message_id));
    fake.wait_for_text(STAFF_CHAT, "工单 #1 ", SOON)
        .await
        .expect("staff get the ticket");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        fake.texts_to(GROUP_3).len(),
        1,
        "answered exactly once: {:?}",
        fake.texts_to(GROUP_3)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_that_keeps_failing_becomes_a_dead_letter_staff_hear_of_once() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, RETRIES);
    let mut daemon = home.start(&fake).await;
    break_tickets(&home, true).await;
    fake.push_text(&group3(), &owner(), "3栋2单元501 厨房漏水了,麻烦尽快来看看");
    let notice = fake
        .wait_for_text(STAFF_CHAT, "未处理成功", Duration::from_secs(20))
        .await
        .expect("staff are told");
    assert!(notice.text.contains("injected fault"), "{}", notice.text);
    let apology = fake
        .wait_for_text(GROUP_3, "人工跟进", SOON)
        .await
        .expect("the owner gets an apology, not silence");
    assert!(!apology.text.contains("501"), "{}", apology.text);

    // `guanjia inbox` lists it, beside the running daemon.
    let out = home.cli(&["inbox"]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        listing.contains("厨房漏水") && listing.contains("injected fault"),
        "{listing}"
    );

    // A restart neither replays it nor tells staff again.
    daemon.stop();
    break_tickets(&home, false).await;
    let mut daemon = home.start(&fake).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        fake.texts_to(STAFF_CHAT)
            .iter()
            .filter(|t| t.contains("未处理成功"))
            .count(),
        1
    );
    assert!(
        fake.wait_for_text(GROUP_3, "工单号", Duration::from_millis(500))
            .await
            .is_err()
    );

    // Fixed, and handed back: the next start handles it.
    daemon.stop();
    let id = listing
        .lines()
        .find_map(|l| l.strip_prefix('#')?.split(' ').next()?.parse::<i64>().ok())
        .expect("an id in the listing");
    let out = home.cli(&["inbox", "retry", &id.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _daemon = home.start(&fake).await;
    fake.wait_for_text(GROUP_3, "工单号 #1", SOON)
        .await
        .expect("the retried report opens its ticket");
    let out = home.cli(&["inbox"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("没有处理失败的消息"));
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_while_a_report_waits_for_its_next_attempt_loses_nothing() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "\n[inbox]\nmax_attempts = 50\nretry_base_ms = 200\n");
    let mut daemon = home.start(&fake).await;
    break_tickets(&home, true).await;
    fake.push_text(&group3(), &owner(), "5栋电梯困人了 快来人");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    daemon.kill();
    break_tickets(&home, false).await;
    let _daemon = home.start(&fake).await;
    fake.wait_for_text(STAFF_CHAT, "紧急", SOON)
        .await
        .expect("the emergency reaches staff after the restart");
}

#[tokio::test]
async fn a_full_disk_in_the_middle_of_reports_loses_none_that_owners_were_told_about() {
    let w = world(at(2026, 11, 30, 10, 0), |_| {}).await;
    let pool = w.desk.store().raw_pool().clone();
    let pages: i64 = sqlx::query("PRAGMA page_count")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    sqlx::query(&format!("PRAGMA max_page_count = {}", pages + 30))
        .execute(&pool)
        .await
        .unwrap();
    let mut errors = 0;
    for n in 0..60 {
        let text = format!(
            "3栋2单元{}室 厨房漏水了 {}",
            100 + n,
            "水一直在流".repeat(200)
        );
        if w.desk
            .on_message(&w.msg(G3, 2000 + n, &text))
            .await
            .is_err()
        {
            errors += 1;
        }
    }
    sqlx::query("PRAGMA max_page_count = 1000000")
        .execute(&pool)
        .await
        .ok();
    for n in 0..5 {
        w.desk
            .on_message(&w.msg(G3, 3000 + n, "5栋1单元201 卫生间漏水"))
            .await
            .unwrap();
    }
    w.drain().await;
    let acked = w.sent.sent_to(G3, "工单");
    let path = std::path::PathBuf::from(
        w.desk
            .settings()
            .database
            .url
            .trim_start_matches("sqlite://"),
    );
    let stored = committed_tickets(&path).await;
    assert!(errors > 0, "the disk never filled up");
    assert!(acked >= 5, "reports after the disk was freed are answered");
    assert_eq!(stored.len(), acked, "every acknowledged ticket is stored");
}

/// On a full disk SQLite may end a transaction on its own: the commit then fails,
/// and so does the rollback that follows. A connection whose transaction state is
/// no longer known must not serve the next change, or (with savepoints standing
/// in for transactions) every later change lives in a transaction that never
/// commits while owners are told it was recorded.
#[tokio::test]
async fn after_sqlite_ends_a_transaction_on_its_own_later_changes_still_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    // The transaction is ended behind the store's back; its commit must fail.
    let mut tx = store.begin().await.unwrap();
    tx.insert_ticket(&ticket(1, "厨房漏水".into()))
        .await
        .unwrap();
    tx.execute_raw("ROLLBACK").await.unwrap();
    assert!(tx.commit().await.is_err(), "nothing was committed");
    // A later change fails part-way and is dropped.
    let mut tx = store.begin().await.unwrap();
    tx.insert_ticket(&ticket(2, "楼道灯坏了".into()))
        .await
        .unwrap();
    assert!(
        tx.execute_raw("INSERT INTO no_such_table VALUES (1)")
            .await
            .is_err()
    );
    drop(tx);
    // Everything after that is really stored, as another connection sees it.
    for n in 3..=5 {
        let mut tx = store.begin().await.unwrap();
        tx.insert_ticket(&ticket(n, "门禁坏了".into()))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let stored: Vec<i64> = committed_tickets(&path)
        .await
        .into_iter()
        .map(|(_, message)| message)
        .collect();
    assert_eq!(stored, vec![3, 4, 5]);
}
