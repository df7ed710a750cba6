//! The desk in process, with a clock the test moves and a transport that records
//! instead of sending: for time-driven behaviour and for throwing many inputs at
//! the desk quickly.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

use guanjia::configuration::{BuildingConfig, Settings};
use guanjia::desk::{ChatKind, Desk, Incoming};
use guanjia::domain::Actor;
use guanjia::domain::clock::ManualClock;
use guanjia::domain::outgoing::Keyboard;
use guanjia::worker::{OutboxConfig, OutboxWorker, SendError, Transport};

pub const STAFF: i64 = -900;
pub const G3: i64 = -301;
pub const G5: i64 = -501;
pub const ADMIN: i64 = 1;

#[derive(Default)]
pub struct Recorder {
    /// (operation, chat, text)
    pub log: Mutex<Vec<(&'static str, i64, String)>>,
}

impl Recorder {
    fn push(&self, op: &'static str, chat: i64, text: &str) -> i64 {
        let mut log = self.log.lock().unwrap();
        log.push((op, chat, text.to_string()));
        log.len() as i64
    }

    pub fn sent_to(&self, chat: i64, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(op, c, t)| *op == "send" && *c == chat && t.contains(needle))
            .count()
    }

    /// Everything sent to `chat` so far, in order.
    pub fn texts_to(&self, chat: i64) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(op, c, _)| *op == "send" && *c == chat)
            .map(|(_, _, t)| t.clone())
            .collect()
    }

    pub fn ops(&self, op: &str, chat: i64) -> usize {
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
    /// Recorded as op "photo"/"voice"/..., text `<file id> <caption>`.
    async fn send_media(
        &self,
        chat: i64,
        media: &guanjia::domain::Media,
        caption: &str,
        _reply_to: Option<i64>,
        _k: Option<&Keyboard>,
    ) -> Result<i64, SendError> {
        Ok(self.push(
            media.kind.as_str(),
            chat,
            &format!("{} {caption}", media.file_id()),
        ))
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
    /// Recorded as op "poll", text the question and options; the poll's id is
    /// `poll-<chat>`.
    async fn send_poll(
        &self,
        chat: i64,
        poll: &guanjia::domain::survey::Poll,
    ) -> Result<(i64, String), SendError> {
        let id = self.push(
            "poll",
            chat,
            &format!("{} | {}", poll.question, poll.options.join(" | ")),
        );
        Ok((id, format!("poll{chat}")))
    }
}

pub struct World {
    pub desk: Desk,
    pub clock: ManualClock,
    pub sent: Arc<Recorder>,
    pub stop: CancellationToken,
    settings: Settings,
    _dir: tempfile::TempDir,
    next_message: std::sync::atomic::AtomicI64,
}

/// Shanghai wall time.
pub fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .with_timezone(&Utc)
}

pub async fn world(start: DateTime<Utc>, tweak: impl FnOnce(&mut Settings)) -> World {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.database.url = format!("sqlite://{}", dir.path().join("t.db").display());
    settings.desk.rules_dir =
        Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("intents"));
    settings.desk.staff_chat = Some(STAFF);
    settings.desk.admins = vec![ADMIN];
    settings.building = vec![
        BuildingConfig {
            name: "3栋".into(),
            chat: G3,
            estate: None,
        },
        BuildingConfig {
            name: "5栋".into(),
            chat: G5,
            estate: None,
        },
    ];
    tweak(&mut settings);
    let clock = ManualClock::new(start);
    let desk =
        guanjia::startup::build_desk(settings.clone(), Arc::new(clock.clone()), "bot".into())
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
        settings,
        _dir: dir,
        next_message: 1.into(),
    }
}

impl World {
    pub fn msg(&self, chat: i64, from: i64, text: &str) -> Incoming {
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
            media: None,
            album: None,
            addressed: false,
        }
    }

    /// A photo or voice message (`kind`: "photo", "voice") with a caption.
    pub fn media_msg(
        &self,
        chat: i64,
        from: i64,
        kind: &str,
        file: &str,
        caption: &str,
    ) -> Incoming {
        let kind = guanjia::domain::MediaKind::parse(kind).expect("a media kind");
        Incoming {
            media: guanjia::domain::Media::new(kind, file),
            ..self.msg(chat, from, caption)
        }
    }

    /// Stop this desk and start a new one on the same database and clock, as a
    /// restart of the daemon would.
    pub async fn restart(&mut self) {
        self.stop.cancel();
        self.desk.store().close().await;
        let desk = guanjia::startup::build_desk(
            self.settings.clone(),
            Arc::new(self.clock.clone()),
            "bot".into(),
        )
        .await
        .unwrap();
        self.stop = CancellationToken::new();
        tokio::spawn(
            OutboxWorker::new(
                desk.clone(),
                self.sent.clone(),
                OutboxConfig::new(1000, 1000),
            )
            .run(self.stop.clone()),
        );
        self.desk = desk;
    }

    /// `from` writes `text` in `chat` (a command or a message, routed as the
    /// edges route it), and the outbox delivers what it caused.
    pub async fn say(&self, chat: i64, from: i64, text: &str) {
        guanjia::desk::route(&self.desk, &self.msg(chat, from, text))
            .await
            .unwrap();
        self.drain().await;
    }

    /// Let the outbox deliver everything that is due.
    pub async fn drain(&self) {
        for _ in 0..500 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            let due = self.desk.store().next_outbox_due().await.unwrap();
            // A leased row's next "due" is its lease's end: it is still in
            // flight, so wait for it too.
            let in_flight: i64 =
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM outbox WHERE state = 'sending'")
                    .fetch_one(self.desk.store().raw_pool())
                    .await
                    .unwrap();
            if in_flight == 0 && due.is_none_or(|d| d > self.clock.now_utc()) {
                return;
            }
        }
        panic!("the outbox did not drain");
    }

    /// The settings the desk was built with (a CLI command run beside it reads them).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub async fn overdue(&self) {
        let m = self.msg(STAFF, ADMIN, "");
        self.desk
            .list_tickets(&m, guanjia::desk::TicketListKind::Overdue)
            .await
            .unwrap();
        self.drain().await;
    }

    pub async fn tick(&self) {
        self.desk.tick().await.unwrap();
        self.drain().await;
    }
}

pub trait Now {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl Now for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        guanjia::domain::Clock::now(self)
    }
}
