//! `guanjia console`: the same desk, database and outbox with no Telegram.
//!
//! Type as an owner or as staff and see what the bot would post where. This is how
//! a new user tries Guanjia without a token, and how staff check a rule, FAQ or
//! template edit before going live.
//!
//! ```text
//! 3栋2单元501 厨房漏水了       an owner says it in the current building group
//! @private 物业费怎么交          the owner says it in a private chat with the bot
//! [照片] 厨房漏水              an owner sends a photo with a caption ([语音] a voice message)
//! @staff /claim 1               a staff member (an admin) says it in the staff group
//! :press claim:1                press a button (rate:… buttons are pressed by the owner)
//! :group 5栋                    owners now speak in 5栋's group
//! :tick                         run the clock once (outage reminders, fee schedules)
//! :quit
//! ```

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::configuration::{BuildingConfig, Settings};
use crate::desk::{ChatKind, Desk, Incoming};
use crate::domain::action::{Audience, audience_of};
use crate::domain::outgoing::{ButtonAction, Keyboard};
use crate::domain::templates::Templates;
use crate::domain::{Actor, Media, MediaKind, SystemClock};
use crate::worker::{OutboxConfig, OutboxWorker, SendError, Transport};

const OWNER: i64 = 20001;
const STAFF_CHAT: i64 = -1000;

/// Message numbers one console session may use.
const SESSION_MESSAGES: i64 = 100_000;

/// Count this session in the database and return its number (1 for the first).
async fn next_session(desk: &Desk) -> anyhow::Result<i64> {
    let store = desk.store();
    let last: i64 = store
        .desk_state("console_sessions")
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut tx = store.begin().await?;
    tx.set_desk_state(
        "console_sessions",
        &(last + 1).to_string(),
        None,
        desk.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(last + 1)
}

/// Prints instead of sending, and names chats the way people know them.
struct ConsoleTransport {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
    names: HashMap<i64, String>,
    next_id: Mutex<HashMap<i64, i64>>,
    /// The desk's wording, for the console's own lines too.
    t: Templates,
}

impl ConsoleTransport {
    fn name(&self, chat: i64) -> String {
        self.names.get(&chat).cloned().unwrap_or_else(|| {
            let key = if chat > 0 {
                "console_private"
            } else {
                "console_group"
            };
            self.t.staff(key, &[("chat", &chat.to_string())])
        })
    }

    fn say(&self, key: &str, args: &[(&str, &str)]) {
        self.print(self.t.staff(key, args));
    }

    fn print(&self, text: String) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

fn buttons(keyboard: Option<&Keyboard>) -> String {
    let Some(k) = keyboard else {
        return String::new();
    };
    let shown: Vec<String> = k
        .iter()
        .flatten()
        .map(|b| match &b.action {
            ButtonAction::Callback(d) => format!("[{} ⟶ :press {d}]", b.text),
            ButtonAction::Url(u) => format!("[{} ⟶ {u}]", b.text),
        })
        .collect();
    if shown.is_empty() {
        String::new()
    } else {
        format!("\n    {}", shown.join(" "))
    }
}

fn indent(text: &str) -> String {
    text.lines().collect::<Vec<_>>().join("\n    ")
}

impl Transport for ConsoleTransport {
    async fn send(
        &self,
        chat: i64,
        text: &str,
        reply_to: Option<i64>,
        keyboard: Option<&Keyboard>,
    ) -> Result<i64, SendError> {
        let id = {
            let mut ids = self.next_id.lock().unwrap_or_else(|e| e.into_inner());
            let n = ids.entry(chat).or_insert(1000);
            *n += 1;
            *n
        };
        let reply = reply_to.map(|r| format!(" ↩{r}")).unwrap_or_default();
        self.print(format!(
            "→ [{}] #{id}{reply}\n    {}{}",
            self.name(chat),
            indent(text),
            buttons(keyboard)
        ));
        Ok(id)
    }

    async fn send_poll(
        &self,
        chat: i64,
        poll: &crate::domain::survey::Poll,
    ) -> Result<(i64, String), SendError> {
        let options: Vec<String> = poll.options.iter().map(|o| format!("○ {o}")).collect();
        let text = format!("📊 {}\n{}", poll.question, options.join("\n"));
        let id = self.send(chat, &text, None, None).await?;
        Ok((id, format!("console-{chat}-{id}")))
    }

    async fn send_media(
        &self,
        chat: i64,
        media: &Media,
        caption: &str,
        reply_to: Option<i64>,
        keyboard: Option<&Keyboard>,
    ) -> Result<i64, SendError> {
        let caption = if caption.is_empty() {
            format!("[{media}]")
        } else {
            format!("[{media}] {caption}")
        };
        self.send(chat, &caption, reply_to, keyboard).await
    }

    async fn edit(
        &self,
        chat: i64,
        message: i64,
        text: &str,
        keyboard: Option<&Keyboard>,
    ) -> Result<(), SendError> {
        let edited = self.t.staff("console_edited", &[]);
        self.print(format!(
            "✎ [{}] #{message} {edited}\n    {}{}",
            self.name(chat),
            indent(text),
            buttons(keyboard)
        ));
        Ok(())
    }

    async fn delete(&self, chat: i64, message: i64) -> Result<(), SendError> {
        let done = self.t.staff("console_deleted", &[]);
        self.print(format!("✗ [{}] #{message} {done}", self.name(chat)));
        Ok(())
    }

    async fn pin(&self, chat: i64, message: i64) -> Result<(), SendError> {
        let done = self.t.staff("console_pinned", &[]);
        self.print(format!("📌 [{}] #{message} {done}", self.name(chat)));
        Ok(())
    }

    async fn unpin(&self, chat: i64, message: i64) -> Result<(), SendError> {
        let done = self.t.staff("console_unpinned", &[]);
        self.print(format!("📍 [{}] #{message} {done}", self.name(chat)));
        Ok(())
    }
}

/// Fill in what a console needs and a bare config lacks: a staff group, an admin
/// (the console's staff persona) and two building groups.
fn console_settings(mut settings: Settings) -> (Settings, i64) {
    let staff_chat = *settings.desk.staff_chat.get_or_insert(STAFF_CHAT);
    if settings.desk.admins.is_empty() {
        settings.desk.admins.push(10001);
    }
    if settings.building.is_empty() {
        settings.building = vec![
            BuildingConfig {
                name: "3栋".into(),
                chat: -1003,
                estate: None,
            },
            BuildingConfig {
                name: "5栋".into(),
                chat: -1005,
                estate: None,
            },
        ];
    }
    (settings, staff_chat)
}

pub async fn run(
    settings: Settings,
    input: impl BufRead,
    output: Box<dyn Write + Send>,
) -> anyhow::Result<()> {
    let (settings, staff_chat) = console_settings(settings);
    let admin = settings.desk.admins[0];
    let buildings = settings.building.clone();
    let mut cfg = OutboxConfig::new(1000, 1000);
    cfg.max_attempts = 1;

    let desk =
        crate::startup::build_desk(settings, Arc::new(SystemClock), "guanjia_bot".into()).await?;
    let t = desk.t().clone();
    // The console's people speak the desk's language.
    let staff = Actor::new(admin, t.label("console_staff_name"));
    let owner = Actor::new(OWNER, t.label("console_owner_name"));
    let mut names: HashMap<i64, String> = buildings
        .iter()
        .map(|b| {
            let name = t.staff("console_building_group", &[("building", &b.name)]);
            (b.chat, name)
        })
        .collect();
    names.insert(staff_chat, t.staff("console_staff_group", &[]));
    names.insert(
        OWNER,
        t.staff("console_private", &[("chat", owner.name.as_str())]),
    );
    let groups: Vec<(String, i64)> = buildings.iter().map(|b| (b.name.clone(), b.chat)).collect();
    let out = Arc::new(Mutex::new(output));
    let transport = Arc::new(ConsoleTransport {
        out: out.clone(),
        names,
        next_id: Mutex::new(HashMap::new()),
        t,
    });
    let shutdown = CancellationToken::new();
    let worker =
        tokio::spawn(OutboxWorker::new(desk.clone(), transport.clone(), cfg).run(shutdown.clone()));

    transport.say(
        "console_welcome",
        &[(
            "building",
            groups.first().map(|g| g.0.as_str()).unwrap_or("?"),
        )],
    );
    let mut group = groups.first().map(|g| g.1).unwrap_or(-1003);
    // Each session numbers its messages from its own base, so a second session on
    // the same database is never taken for a re-delivery of the first one's lines.
    let session = next_session(&desk).await?;
    transport.say(
        "console_session",
        &[
            ("session", &session.to_string()),
            (
                "database",
                &crate::storage::redact(&desk.settings().database.url),
            ),
        ],
    );
    let mut message_id = session * SESSION_MESSAGES;
    for line in input.lines() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                transport.say("console_unreadable", &[("error", &e.to_string())]);
                continue;
            }
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        message_id += 1;
        let result = if line == ":quit" {
            break;
        } else if let Some(name) = line.strip_prefix(":group") {
            match groups.iter().find(|g| g.0 == name.trim()) {
                Some(g) => {
                    group = g.1;
                    transport.say("console_group_now", &[("building", &g.0)]);
                }
                None => {
                    let known: Vec<&str> = groups.iter().map(|g| g.0.as_str()).collect();
                    transport.say(
                        "console_no_group",
                        &[("building", name.trim()), ("known", &known.join("、"))],
                    )
                }
            }
            Ok(())
        } else if line == ":tick" {
            desk.tick().await
        } else if let Some(data) = line.strip_prefix(":press") {
            let data = data.trim();
            let who = match audience_of(data) {
                Audience::Owners => &owner,
                Audience::Staff => &staff,
            };
            match crate::desk::press(&desk, who, data).await {
                Ok(a) => {
                    transport.say("console_toast", &[("name", &who.name), ("text", &a.text)]);
                    Ok(())
                }
                Err(e) => Err(e),
            }
        } else {
            let (chat, kind, from, text) = if let Some(t) = line.strip_prefix("@staff") {
                (staff_chat, ChatKind::Group, &staff, t.trim())
            } else if let Some(t) = line.strip_prefix("@private") {
                (OWNER, ChatKind::Private, &owner, t.trim())
            } else {
                (
                    group,
                    ChatKind::Group,
                    &owner,
                    line.strip_prefix("@owner").unwrap_or(line).trim(),
                )
            };
            // "[照片] 厨房漏水" sends a photo with that caption; "[语音]" a voice message.
            let (media, text) = console_media(text, message_id);
            let msg = Incoming {
                chat_id: chat,
                chat_kind: kind,
                message_id,
                from: from.clone(),
                username: None,
                text: text.to_string(),
                media,
                album: None,
                addressed: text.contains("@guanjia_bot"),
            };
            crate::desk::route(&desk, &msg).await.map(|_| ())
        };
        if let Err(e) = result {
            transport.say("console_error", &[("error", &e.to_string())]);
        }
        settle(&desk).await;
    }
    shutdown.cancel();
    let _ = worker.await;
    Ok(())
}

/// A leading `[照片]`, `[语音]`, `[视频]` or `[文件]` stands for one sent with the
/// rest of the line as its caption.
fn console_media(text: &str, message_id: i64) -> (Option<Media>, &str) {
    for kind in [
        MediaKind::Photo,
        MediaKind::Voice,
        MediaKind::Video,
        MediaKind::Document,
    ] {
        if let Some(rest) = text.strip_prefix(&format!("[{}]", kind.label())) {
            let file = format!("console-{}-{message_id}", kind.as_str());
            return (Media::new(kind, file), rest.trim());
        }
    }
    (None, text)
}

/// Wait until the outbox has delivered what this input queued.
async fn settle(desk: &Desk) {
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if desk.store().outbox_backlog().await.unwrap_or(0) == 0 {
            return;
        }
    }
}
