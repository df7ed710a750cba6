//! The outbox under Telegram's limits, end to end and in process: a chat that was
//! told to wait (429 `retry_after`) gets nothing until its window ends, across a
//! restart too; an emergency never waits behind a chat's ordinary posts.

mod support;

use sqlx::Connection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::daemon::*;
use support::fake_bot_api::{Failure, FakeBotApi};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use guanjia::desk::Desk;
use guanjia::domain::clock::SystemClock;
use guanjia::domain::outgoing::{Keyboard, Lane, Outgoing};
use guanjia::worker::{OutboxConfig, OutboxWorker, SendError, Transport};

/// `n` extra building groups, `楼1` … `楼n`.
fn many_buildings(n: i64) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "\n[[building]]\nname = \"楼{i}\"\nchat = {}\n",
                -200_000 - i
            )
        })
        .collect()
}

fn group_chats(n: i64) -> Vec<i64> {
    (1..=n)
        .map(|i| -200_000 - i)
        .chain([GROUP_3, GROUP_5])
        .collect()
}

/// Wait until every group has received `each` copies of texts containing `needle`.
async fn until_each_group_has(fake: &FakeBotApi, groups: &[i64], needle: &str, each: usize) {
    let groups = groups.to_vec();
    let needle = needle.to_string();
    fake.wait_for(
        move |sent| {
            groups.iter().all(|g| {
                sent.iter()
                    .filter(|m| m.chat_id == *g && m.text.contains(&needle))
                    .count()
                    >= each
            })
        },
        Duration::from_secs(120),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn no_message_reaches_a_chat_inside_its_retry_after_window() {
    let fake = FakeBotApi::start().await;
    let groups = 20;
    let home = Home::new(&fake, &many_buildings(groups));
    let _d = home.start(&fake).await;

    // Three notices back to back: every group has several messages queued and
    // in hand when one of them is told to wait.
    fake.fail_randomly("sendMessage", 0.3, Failure::RetryAfter(2));
    for i in 1..=3 {
        fake.push_text(
            &staff_chat(),
            &admin(),
            &format!("/notice all 第{i}次通知:本周三下午电梯检修"),
        );
    }
    until_each_group_has(&fake, &group_chats(groups), "电梯检修", 3).await;
    fake.clear_failures();
    let told_to_wait = fake
        .failed_calls()
        .iter()
        .filter(|c| {
            matches!(
                c.outcome,
                support::fake_bot_api::Outcome::Failed { status: 429, .. }
            )
        })
        .count();
    assert!(told_to_wait > 5, "the storm happened ({told_to_wait} 429s)");
    let breaches = fake.retry_after_breaches();
    assert!(breaches.is_empty(), "{}", breaches.join("\n"));
    for chat in group_chats(groups) {
        assert_eq!(fake.texts_to(chat).len(), 3, "group {chat}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_inside_a_retry_after_window_still_waits_for_it() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let mut d = home.start(&fake).await;

    fake.fail_next("sendMessage", 1, Failure::RetryAfter(5));
    let first = fake.push_text(&staff_chat(), &admin(), "/groups");
    let told = fake
        .wait_for_calls(|c| c.iter().any(|c| c.response["error_code"] == 429), SOON)
        .await
        .unwrap();
    let told = told
        .iter()
        .find(|c| c.response["error_code"] == 429)
        .unwrap();
    assert_eq!(
        told.params["chat_id"], STAFF_CHAT,
        "the staff group was told to wait"
    );
    // Killed hard moments after the 429; the new process is asked again at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    d.kill();
    let _d = home.start(&fake).await;
    let second = fake.push_text(&staff_chat(), &admin(), "/groups");
    fake.wait_for(
        |s| {
            [first.message_id, second.message_id]
                .iter()
                .all(|m| s.iter().any(|s| s.reply_to_message_id == Some(*m)))
        },
        SOON,
    )
    .await
    .expect("both are answered once the window ends");
    let breaches = fake.retry_after_breaches();
    assert!(breaches.is_empty(), "{}", breaches.join("\n"));
}

// ---- in process: lanes ----------------------------------------------------------

const STAFF: i64 = -900;
const G3: i64 = -301;

/// A transport that logs each send as it goes on the wire and then waits for the
/// test to let it through; it can tell a chat to wait once.
struct Gate {
    /// (chat, text) in the order sends went on the wire.
    wire: Mutex<Vec<(i64, String)>>,
    open: Semaphore,
    /// Chats whose next send is answered "retry after" this long.
    told_to_wait: Mutex<HashMap<i64, Duration>>,
    /// (chat, message id, new text) of each edit, in order.
    edits: Mutex<Vec<(i64, i64, String)>>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            wire: Mutex::default(),
            open: Semaphore::new(0),
            told_to_wait: Mutex::default(),
            edits: Mutex::default(),
        }
    }
}

impl Gate {
    fn to(&self, chat: i64) -> Vec<String> {
        self.wire
            .lock()
            .unwrap()
            .iter()
            .filter(|(c, _)| *c == chat)
            .map(|(_, t)| t.clone())
            .collect()
    }
}

impl Transport for Gate {
    async fn send(
        &self,
        chat: i64,
        text: &str,
        _reply_to: Option<i64>,
        _k: Option<&Keyboard>,
    ) -> Result<i64, SendError> {
        let id = {
            let mut wire = self.wire.lock().unwrap();
            wire.push((chat, text.to_string()));
            wire.len() as i64
        };
        if let Some(wait) = self.told_to_wait.lock().unwrap().remove(&chat) {
            return Err(SendError::RetryAfter(wait));
        }
        self.open.acquire().await.unwrap().forget();
        Ok(id)
    }
    async fn send_media(
        &self,
        chat: i64,
        _m: &guanjia::domain::Media,
        caption: &str,
        reply_to: Option<i64>,
        k: Option<&Keyboard>,
    ) -> Result<i64, SendError> {
        self.send(chat, caption, reply_to, k).await
    }
    async fn edit(
        &self,
        chat: i64,
        message: i64,
        text: &str,
        _: Option<&Keyboard>,
    ) -> Result<(), SendError> {
        self.edits
            .lock()
            .unwrap()
            .push((chat, message, text.to_string()));
        Ok(())
    }
    async fn delete(&self, _: i64, _: i64) -> Result<(), SendError> {
        Ok(())
    }
    async fn pin(&self, _: i64, _: i64) -> Result<(), SendError> {
        Ok(())
    }
    async fn unpin(&self, _: i64, _: i64) -> Result<(), SendError> {
        Ok(())
    }
}

struct Lanes {
    desk: Desk,
    gate: Arc<Gate>,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Lanes {
    fn drop(&mut self) {
        self.stop.cancel();
        self.gate.open.add_permits(1_000_000);
    }
}

async fn lanes(cfg: OutboxConfig) -> Lanes {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = guanjia::configuration::Settings::default();
    settings.database.url = format!("sqlite://{}", dir.path().join("t.db").display());
    settings.desk.rules_dir =
        Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("intents"));
    settings.desk.staff_chat = Some(STAFF);
    let desk = guanjia::startup::build_desk(settings, Arc::new(SystemClock), "bot".into())
        .await
        .unwrap();
    let gate = Arc::new(Gate::default());
    let stop = CancellationToken::new();
    tokio::spawn(OutboxWorker::new(desk.clone(), gate.clone(), cfg).run(stop.clone()));
    Lanes {
        desk,
        gate,
        stop,
        _dir: dir,
    }
}

impl Lanes {
    async fn queue(&self, rows: impl IntoIterator<Item = Outgoing>) {
        let now = chrono::Utc::now();
        let mut tx = self.desk.store().begin().await.unwrap();
        for row in rows {
            tx.enqueue(&row, now).await.unwrap();
        }
        tx.commit().await.unwrap();
        self.desk.outbox_wake().notify_one();
    }

    async fn until(&self, what: &str, f: impl Fn(&Self) -> bool) {
        for _ in 0..1000 {
            if f(self) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for {what}");
    }

    async fn state(&self, tag: &str) -> Option<String> {
        self.desk
            .store()
            .outbox_target(tag)
            .await
            .unwrap()
            .map(|(state, _)| state)
    }

    /// The one queued edit's state, attempts and last error.
    async fn edit_row(&self) -> (String, i64, Option<String>) {
        sqlx::query_as("SELECT state, attempts, last_error FROM outbox WHERE op = 'edit'")
            .fetch_one(self.desk.store().raw_pool())
            .await
            .unwrap()
    }

    /// Wait until the worker has the queued edit in hand.
    async fn until_edit_leased(&self) {
        for _ in 0..500 {
            if self.edit_row().await.0 == "sending" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the edit was never leased");
    }

    async fn until_state(&self, tag: &str, state: &str) {
        for _ in 0..1000 {
            if self.state(tag).await.as_deref() == Some(state) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{tag} never became {state}");
    }
}

fn ordinary(chat: i64, n: usize) -> impl Iterator<Item = Outgoing> {
    (1..=n).map(move |i| Outgoing::send(chat, format!("普通 {i}")).tag(format!("o:{chat}:{i}")))
}

fn emergency(chat: i64) -> Outgoing {
    Outgoing::send(chat, "紧急:电梯困人")
        .lane(Lane::Emergency)
        .tag(format!("e:{chat}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_emergency_goes_ahead_of_the_ordinary_posts_its_chat_has_in_hand() {
    // 64 rows in hand at once, no per-chat limit in the way.
    let w = lanes(OutboxConfig::new(256, 10_000)).await;
    w.queue(ordinary(G3, 10)).await;
    w.queue(ordinary(STAFF, 1000)).await;
    // Both chats have a send on the wire and more rows leased behind it.
    w.until("the first sends", |w| {
        w.gate.to(STAFF).len() == 1 && w.gate.to(G3).len() == 1
    })
    .await;

    w.queue([emergency(STAFF), emergency(G3)]).await;
    // Two sends finish; the room they free is taken by the emergencies, while the
    // next ordinary rows of both chats go on the wire.
    w.gate.open.add_permits(2);
    w.until_state("e:-900", "sending").await;
    w.until_state("e:-301", "sending").await;
    w.until("the second sends", |w| {
        w.gate.to(STAFF).len() == 2 && w.gate.to(G3).len() == 2
    })
    .await;

    w.gate.open.add_permits(1_000_000);
    w.until("the emergencies", |w| {
        w.gate.to(STAFF).len() > 2 && w.gate.to(G3).len() > 2
    })
    .await;
    assert_eq!(
        w.gate.to(STAFF)[2],
        "紧急:电梯困人",
        "the staff group's next message is the emergency"
    );
    assert_eq!(
        w.gate.to(G3)[2],
        "紧急:电梯困人",
        "3栋's next message is the emergency"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_right_behind_its_message_finds_it_at_the_first_attempt() {
    // Deliveries are recorded in batches, after the next send of the chat has
    // started: an edit of the message just sent must still find its id.
    let w = lanes(OutboxConfig::new(256, 10_000)).await;
    w.queue([Outgoing::send(STAFF, "工单 #1 待接单").tag("t1:staff")])
        .await;
    w.until("the post on the wire", |w| w.gate.to(STAFF).len() == 1)
        .await;
    // Claimed while the post is on the wire: queued right behind it.
    w.queue([Outgoing::edit(STAFF, "t1:staff", "工单 #1 已接单")])
        .await;
    w.until_edit_leased().await;
    // Another writer holds the database as the post comes back: its record
    // cannot be written yet, while the edit could already look for it.
    let db = w._dir.path().join("t.db");
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    w.gate.open.add_permits(1_000_000);
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    w.until("the edit", |w| !w.gate.edits.lock().unwrap().is_empty())
        .await;
    assert_eq!(
        w.gate.edits.lock().unwrap()[0],
        (STAFF, 1, "工单 #1 已接单".to_string()),
        "the edit names the message the post became"
    );
    w.until_state("t1:staff", "sent").await;
    let (_, attempts, error) = w.edit_row().await;
    assert_eq!(
        (attempts, error),
        (1, None),
        "the edit did not fail for want of the post's record"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_urgent_edit_waits_behind_the_message_it_edits() {
    let w = lanes(OutboxConfig::new(256, 10_000)).await;
    // Something else is on the wire to the staff group; behind it, in hand, a
    // ticket's post, then the same ticket turned urgent: an emergency-lane edit.
    w.queue([Outgoing::send(STAFF, "早些的消息")]).await;
    w.until("the first on the wire", |w| w.gate.to(STAFF).len() == 1)
        .await;
    w.queue([Outgoing::send(STAFF, "工单 #7 待接单").tag("t7:staff")])
        .await;
    w.until_state("t7:staff", "sending").await;
    w.queue([Outgoing::edit(STAFF, "t7:staff", "工单 #7 ⚠️ 紧急").lane(Lane::Emergency)])
        .await;
    w.until_edit_leased().await;
    w.gate.open.add_permits(1_000_000);
    w.until("the edit", |w| !w.gate.edits.lock().unwrap().is_empty())
        .await;
    assert_eq!(
        w.gate.edits.lock().unwrap()[0],
        (STAFF, 2, "工单 #7 ⚠️ 紧急".to_string()),
        "the edit names the post's message"
    );
    assert_eq!(w.edit_row().await.1, 1, "and found it at the first attempt");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_emergency_queued_while_its_chat_is_told_to_wait_is_the_first_message_after() {
    let w = lanes(OutboxConfig::new(256, 10_000)).await;
    w.gate.open.add_permits(1_000_000);
    w.gate
        .told_to_wait
        .lock()
        .unwrap()
        .insert(STAFF, Duration::from_secs(2));
    w.queue(ordinary(STAFF, 200)).await;
    w.until("the 429", |w| w.gate.to(STAFF).len() == 1).await;
    w.queue([emergency(STAFF)]).await;
    w.until("the rest", |w| w.gate.to(STAFF).len() > 2).await;
    let staff = w.gate.to(STAFF);
    assert_eq!(staff[0], "普通 1", "the send that was told to wait");
    assert_eq!(staff[1], "紧急:电梯困人", "{staff:?}");
}

// ---- in process: retention ------------------------------------------------------

/// Outbox rows made before `before` (the clock's own reminders come later).
async fn outbox_rows(desk: &Desk, before: chrono::DateTime<chrono::Utc>) -> i64 {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&desk.settings().database.url)
        .await
        .unwrap();
    let n = sqlx::query("SELECT COUNT(*) FROM outbox WHERE created_at < $1")
        .bind(before.timestamp_millis())
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap();
    pool.close().await;
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_retention_old_messages_are_pruned_and_a_ticket_is_still_edited_in_place() {
    use support::inprocess as ip;
    let start = ip::at(2026, 11, 1, 10, 0);
    let first_day = start + chrono::Duration::days(1);
    let w = ip::world(start, |s| s.database.retention_days = 30).await;
    let report = w.msg(ip::G3, 2001, "3栋2单元501 厨房漏水了");
    w.desk.on_message(&report).await.unwrap();
    w.drain().await;
    assert_eq!(w.sent.sent_to(ip::STAFF, "工单 #1"), 1);
    assert!(outbox_rows(&w.desk, first_day).await >= 2);

    w.clock.advance(chrono::Duration::days(29));
    w.tick().await;
    assert!(
        outbox_rows(&w.desk, first_day).await >= 2,
        "kept within the retention"
    );
    w.clock.advance(chrono::Duration::days(2));
    w.tick().await;
    assert_eq!(outbox_rows(&w.desk, first_day).await, 0, "pruned after it");

    // The ticket moves a month on: its acknowledgement and staff post change in
    // place (the staff post was also marked when the untaken ticket escalated).
    let (group_edits, staff_edits) = (w.sent.ops("edit", ip::G3), w.sent.ops("edit", ip::STAFF));
    let staff = w.msg(ip::STAFF, ip::ADMIN, "/claim 1");
    w.desk.claim(&staff, "1".parse().unwrap()).await.unwrap();
    w.drain().await;
    assert_eq!(
        w.sent.ops("edit", ip::G3) - group_edits,
        1,
        "the owner's acknowledgement"
    );
    assert_eq!(
        w.sent.ops("edit", ip::STAFF) - staff_edits,
        1,
        "the staff post"
    );
    w.stop.cancel();
}
