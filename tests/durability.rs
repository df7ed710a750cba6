//! Faults in the database must never lose what was accepted: a failed statement or
//! commit rolls back and leaves the connection usable, and nothing told to an owner
//! exists only in a transaction that will never commit.

use chrono::{Duration, TimeZone, Utc};
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
        respond_by: t0 + Duration::minutes(15),
        resolve_by: t0 + Duration::hours(24),
        created_at: t0,
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
use support::inprocess::{G3, at, world};

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
