//! Time-driven behaviour, with a clock the test moves: outage reminders and
//! "已恢复" notices, fee reminders missed while the daemon was down, overdue
//! tickets. The desk runs in process with a recording transport instead of Telegram.

use chrono::{DateTime, Duration, TimeZone, Utc};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

use guanjia::configuration::{BuildingConfig, Settings};
use guanjia::desk::{ChatKind, Desk, Incoming};
use guanjia::domain::Actor;
use guanjia::domain::clock::ManualClock;
use guanjia::domain::outgoing::Keyboard;
use guanjia::worker::{OutboxConfig, OutboxWorker, SendError, Transport};

const STAFF: i64 = -900;
const G3: i64 = -301;
const G5: i64 = -501;
const ADMIN: i64 = 1;

#[derive(Default)]
struct Recorder {
    /// (operation, chat, text)
    log: Mutex<Vec<(&'static str, i64, String)>>,
}

impl Recorder {
    fn push(&self, op: &'static str, chat: i64, text: &str) -> i64 {
        let mut log = self.log.lock().unwrap();
        log.push((op, chat, text.to_string()));
        log.len() as i64
    }

    fn sent_to(&self, chat: i64, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(op, c, t)| *op == "send" && *c == chat && t.contains(needle))
            .count()
    }

    fn ops(&self, op: &str, chat: i64) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(o, c, _)| *o == op && *c == chat)
            .count()
    }
}

impl Transport for Recorder {
    async fn send(
        &self,
        chat: i64,
        text: &str,
        _reply_to: Option<i64>,
        _k: Option<&Keyboard>,
    ) -> Result<i64, SendError> {
        Ok(self.push("send", chat, text))
    }
    async fn edit(
        &self,
        chat: i64,
        _m: i64,
        text: &str,
        _k: Option<&Keyboard>,
    ) -> Result<(), SendError> {
        self.push("edit", chat, text);
        Ok(())
    }
    async fn delete(&self, chat: i64, _m: i64) -> Result<(), SendError> {
        self.push("delete", chat, "");
        Ok(())
    }
    async fn pin(&self, chat: i64, _m: i64) -> Result<(), SendError> {
        self.push("pin", chat, "");
        Ok(())
    }
    async fn unpin(&self, chat: i64, _m: i64) -> Result<(), SendError> {
        self.push("unpin", chat, "");
        Ok(())
    }
}

struct World {
    desk: Desk,
    clock: ManualClock,
    sent: Arc<Recorder>,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
    next_message: std::sync::atomic::AtomicI64,
}

/// Shanghai wall time.
fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .with_timezone(&Utc)
}

async fn world(start: DateTime<Utc>, tweak: impl FnOnce(&mut Settings)) -> World {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.database.url = format!("sqlite://{}", dir.path().join("t.db").display());
    settings.desk.rules_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("intents");
    settings.desk.staff_chat = Some(STAFF);
    settings.desk.admins = vec![ADMIN];
    settings.building = vec![
        BuildingConfig {
            name: "3栋".into(),
            chat: G3,
        },
        BuildingConfig {
            name: "5栋".into(),
            chat: G5,
        },
    ];
    tweak(&mut settings);
    let clock = ManualClock::new(start);
    let desk = guanjia::startup::build_desk(settings, Arc::new(clock.clone()), "bot".into())
        .await
        .unwrap();
    let sent = Arc::new(Recorder::default());
    let stop = CancellationToken::new();
    tokio::spawn(
        OutboxWorker::new(desk.clone(), sent.clone(), OutboxConfig::new(1000, 1000))
            .run(stop.clone()),
    );
    World {
        desk,
        clock,
        sent,
        stop,
        _dir: dir,
        next_message: 1.into(),
    }
}

impl World {
    fn msg(&self, chat: i64, from: i64, text: &str) -> Incoming {
        Incoming {
            chat_id: chat,
            chat_kind: if chat > 0 {
                ChatKind::Private
            } else {
                ChatKind::Group
            },
            message_id: self
                .next_message
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst),
            from: Actor::new(from, if from == ADMIN { "主管" } else { "业主" }),
            username: None,
            text: text.into(),
        }
    }

    /// Let the outbox deliver everything that is due.
    async fn drain(&self) {
        for _ in 0..500 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            let due = self.desk.store().next_outbox_due().await.unwrap();
            if due.is_none_or(|d| d > self.clock.now_utc()) {
                return;
            }
        }
        panic!("the outbox did not drain");
    }

    async fn overdue(&self) {
        let m = self.msg(STAFF, ADMIN, "");
        self.desk.list_tickets(&m, "overdue").await.unwrap();
        self.drain().await;
    }

    async fn tick(&self) {
        self.desk.tick().await.unwrap();
        self.drain().await;
    }
}

trait Now {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl Now for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        guanjia::domain::Clock::now(self)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_is_announced_reminded_once_and_restored_once() {
    let w = world(at(2026, 11, 23, 10, 0), |_| {}).await;
    let m = w.msg(STAFF, ADMIN, "");
    w.desk
        .outage(&m, "3栋 停水 2026-11-24 09:00 12:00 二次供水管网维修")
        .await
        .unwrap();
    w.drain().await;
    assert_eq!(w.sent.sent_to(G3, "计划停水"), 1);
    assert_eq!(w.sent.ops("pin", G3), 1);
    assert_eq!(w.sent.sent_to(G5, "停水"), 0, "5栋 is not affected");

    w.tick().await;
    assert_eq!(
        w.sent.sent_to(G3, "开始停水"),
        0,
        "a day ahead is too early for the reminder"
    );
    w.clock.advance(Duration::hours(22) + Duration::minutes(15)); // 08:15 the next day
    w.tick().await;
    w.tick().await;
    assert_eq!(w.sent.sent_to(G3, "开始停水"), 1, "reminded once");

    // During the outage owners asking get the plan.
    w.clock.advance(Duration::hours(1));
    let ask = w.msg(G3, 2001, "怎么停水了?");
    w.desk.on_message(&ask).await.unwrap();
    w.drain().await;
    assert_eq!(
        w.sent.sent_to(G3, "二次供水管网维修"),
        2,
        "the notice and the answer"
    );
    assert_eq!(w.sent.sent_to(STAFF, "工单 #"), 0);

    w.clock.advance(Duration::hours(3)); // 12:15
    w.tick().await;
    w.tick().await;
    assert_eq!(w.sent.sent_to(G3, "已恢复供水"), 1, "restored once");
    assert_eq!(w.sent.ops("unpin", G3), 1);

    // Afterwards no water is a repair again.
    let ask = w.msg(G3, 2001, "家里停水了,一滴水都没有");
    w.desk.on_message(&ask).await.unwrap();
    w.drain().await;
    assert_eq!(w.sent.sent_to(STAFF, "工单 #1"), 1);
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_starting_soon_is_not_reminded_twice() {
    let w = world(at(2026, 11, 23, 10, 0), |_| {}).await;
    let m = w.msg(STAFF, ADMIN, "");
    w.desk
        .outage(&m, "all power 10:30 11:30 配电房检修")
        .await
        .unwrap();
    w.drain().await;
    w.tick().await;
    assert_eq!(w.sent.sent_to(G3, "计划停电"), 1);
    assert_eq!(
        w.sent.sent_to(G3, "开始停电"),
        0,
        "the announcement was the reminder"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fee_reminder_missed_while_the_daemon_was_down_is_sent_once() {
    let w = world(at(2026, 11, 23, 9, 0), |s| {
        s.fees.group_schedule = "0 0 10 * * *".into();
        s.fees.private_schedule = String::new();
    })
    .await;
    w.tick().await;
    assert_eq!(
        w.sent.sent_to(G3, "缴费提醒"),
        0,
        "nothing before the first slot"
    );
    w.clock.advance(Duration::minutes(90)); // 10:30
    w.tick().await;
    w.tick().await;
    assert_eq!(w.sent.sent_to(G3, "缴费提醒"), 1);
    assert_eq!(w.sent.sent_to(G5, "缴费提醒"), 1);

    // Down for three days: three 10:00 slots missed, one reminder on return.
    w.clock.advance(Duration::days(3));
    w.tick().await;
    w.tick().await;
    assert_eq!(w.sent.sent_to(G3, "缴费提醒"), 2);
    w.clock.advance(Duration::hours(1));
    w.tick().await;
    assert_eq!(
        w.sent.sent_to(G3, "缴费提醒"),
        2,
        "no slot passed in that hour"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_nobody_takes_within_fifteen_minutes_is_listed_as_overdue() {
    let w = world(at(2026, 11, 23, 9, 0), |_| {}).await;
    w.desk
        .on_message(&w.msg(G3, 2001, "3栋2单元501 卫生间漏水了"))
        .await
        .unwrap();
    w.overdue().await;
    assert_eq!(w.sent.sent_to(STAFF, "超时的工单:无"), 1);
    w.clock.advance(Duration::minutes(16));
    w.overdue().await;
    assert_eq!(w.sent.sent_to(STAFF, "超时的工单(1 条)"), 1);
    w.desk.claim(&w.msg(STAFF, ADMIN, ""), "1").await.unwrap();
    w.overdue().await;
    assert_eq!(
        w.sent.sent_to(STAFF, "超时的工单:无"),
        2,
        "claimed within the day is on time"
    );
    w.clock.advance(Duration::hours(25));
    w.overdue().await;
    assert_eq!(w.sent.sent_to(STAFF, "超时的工单(1 条)"), 2);
}
