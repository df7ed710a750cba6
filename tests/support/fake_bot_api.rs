//! A fake Telegram Bot API server for Guanjia's integration tests and benches.
//!
//! Tests must never reach Telegram. [`FakeBotApi`] is an HTTP server on
//! `127.0.0.1:<random port>` that speaks enough of the Bot API for a teloxide
//! 0.17 bot (in process, or a separate daemon process pointed at it through
//! `TELOXIDE_API_URL`) to run unchanged, while the test:
//!
//! * injects updates (`push_text`, `push_reply`, `push_callback`,
//!   `push_my_chat_member`, `push_migrate`, `push_raw`, `redeliver`, ...),
//!   served through a real long-polling `getUpdates` with Telegram's offset
//!   confirmation semantics;
//! * inspects everything the bot did ([`FakeBotApi::calls`],
//!   [`FakeBotApi::sent_messages`], [`FakeBotApi::edits`],
//!   [`FakeBotApi::deletions`], [`FakeBotApi::pins`], the current text of every
//!   bot message after edits) and waits for it ([`FakeBotApi::wait_for`]);
//! * injects failures (HTTP 429 with `retry_after`, HTTP 5xx, arbitrary API
//!   errors, group-to-supergroup migration errors), either for the next N calls
//!   of a method or randomly with a seeded, deterministic PRNG;
//! * optionally enforces Telegram's send rate limits (30 messages/s overall,
//!   20 messages/min per chat, sliding windows) and counts violations.
//!
//! # What it fakes faithfully
//!
//! * URL layout `POST {api_url}/bot<token>/<Method>`; method names are matched
//!   case-insensitively (teloxide sends PascalCase: `SendMessage`,
//!   `GetUpdates`, ...). JSON bodies, `application/x-www-form-urlencoded`
//!   bodies and query strings are accepted.
//! * Response envelopes `{"ok":true,"result":...}` and
//!   `{"ok":false,"error_code":N,"description":"...","parameters":{...}}` with
//!   the matching HTTP status, and the exact error descriptions teloxide maps to
//!   typed errors (`MessageNotModified`, `MessageToEditNotFound`,
//!   `MessageToDeleteNotFound`, `BotBlocked`, `ChatNotFound`,
//!   `InvalidQueryId`, `RetryAfter`, `MigrateToChatId`, ...).
//! * Per-chat message ids, shared between pushed user messages and messages
//!   the bot sends (as in Telegram); unix-seconds dates.
//! * `getUpdates` long polling: `offset` confirms (forgets) every update below
//!   it, a negative offset keeps only the last `-offset` updates, `limit`,
//!   `timeout` (honoured; the call wakes up as soon as an update is pushed),
//!   `allowed_updates` (remembered between calls, Telegram's default set when
//!   never given), `409 Conflict` for a poll superseded by a newer concurrent
//!   poll, `409` while a webhook is set.
//! * Realistic refusals: editing with identical content, editing/deleting an
//!   unknown or deleted message, editing a message the bot did not send,
//!   replying to a missing message, empty or over-long (> 4096 UTF-16 units)
//!   texts, sending into a chat the bot was kicked from / left / that blocked
//!   it, sending into a group that migrated to a supergroup, answering an
//!   unknown or already answered callback query.
//!
//! # What it does not fake
//!
//! * Files, media, multipart uploads (`send_photo` etc. are recorded and
//!   answered `true`, which teloxide will fail to parse as a `Message`).
//!   `copyMessage` / `forwardMessage` work for text messages the fake knows.
//! * Markdown/HTML parsing: `text` is stored as sent; no entities are produced
//!   for bot messages, and `parse_mode` is not validated.
//! * Inline mode, payments, games, business connections, forum topics,
//!   webhooks delivery (only `setWebhook`/`deleteWebhook` bookkeeping),
//!   channels beyond their JSON shape, the 15 s callback-answer deadline, the
//!   48 h edit/delete windows, bot permissions in groups (any bot that was not
//!   kicked/left may send, pin and delete anything).
//! * Unknown methods answer `{"ok":true,"result":true}` and are recorded.
//!
//! # Runtime notes
//!
//! The server runs as a task on the current tokio runtime
//! ([`FakeBotApi::start`]) or on its own thread and runtime
//! ([`FakeBotApi::start_in_thread`], handy for benches and for tests that
//! block their own thread, e.g. waiting on a child process). A test using a
//! `current_thread` runtime must not block that thread while the bot talks to
//! the fake. Everything shared is behind a `std::sync::Mutex` that is never
//! held across an `.await`.
//!
//! Only std, tokio, axum, serde and serde_json are used, so benches can include
//! this file with `#[path = "../tests/support/fake_bot_api.rs"] mod fake_bot_api;`.
//!
//! # Example
//!
//! ```ignore
//! let fake = FakeBotApi::start().await;
//! let daemon = std::process::Command::new(env!("CARGO_BIN_EXE_guanjia"))
//!     .envs(fake.env()) // TELOXIDE_API_URL + TELOXIDE_TOKEN
//!     .spawn()?;
//! fake.wait_until_polling(Duration::from_secs(10)).await?;
//! let group = FakeChat::group(-4001, "幸福小区 3 号楼");
//! let alice = FakeUser::new(1001, "Alice");
//! let m = fake.push_text(&group, &alice, "3 号楼电梯坏了");
//! let ack = fake.wait_for_text(group.id, "工单", Duration::from_secs(5)).await?;
//! fake.push_callback(&alice, group.id, ack.message_id, &ack.callback_data()[0]);
//! ```
//!
//! # teloxide 0.17 behaviour worth knowing
//!
//! * `Dispatcher::dispatch` first calls `GetWebhookInfo` (and `DeleteWebhook`
//!   only if a webhook is set), then polls `GetUpdates` with `timeout` 10,
//!   no `limit`, `allowed_updates` derived from the handler tree (sent on the
//!   first poll only) and `offset` = last received id + 1. Graceful shutdown
//!   drops the in-flight poll and confirms with `offset`, `limit` 1, `timeout` 0.
//! * On any HTTP 5xx teloxide sleeps 10 s before parsing the body.
//! * `reply_parameters` is sent as `{"message_id": N}` (plus optional fields).

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::sync::watch;

/// The fake bot's user id (`getMe`).
pub const BOT_ID: i64 = 777_000_111;
/// The fake bot's first name (`getMe`).
pub const BOT_FIRST_NAME: &str = "管家";
/// The default bot username (`getMe`), without `@`.
pub const BOT_USERNAME: &str = "guanjia_test_bot";
/// The token the handle advertises; any token is accepted unless
/// [`Options::require_token`] is set.
pub const TEST_TOKEN: &str = "123456:TEST";
/// Telegram's maximum message length, in UTF-16 code units.
pub const MAX_TEXT_LEN: usize = 4096;

/// Update kinds Telegram delivers when `allowed_updates` was never specified.
const DEFAULT_EXCLUDED_UPDATES: &[&str] =
    &["chat_member", "message_reaction", "message_reaction_count"];

// ---------------------------------------------------------------------------
// Public data types
// ---------------------------------------------------------------------------

/// Server configuration for [`FakeBotApi::start_with`].
#[derive(Clone, Debug)]
pub struct Options {
    /// Enforce Telegram's send limits on messages the bot sends (see [`RateLimits`]).
    pub rate_limits: Option<RateLimits>,
    /// The bot's username returned by `getMe` (without `@`).
    pub bot_username: String,
    /// If set, requests with another token get `401 Unauthorized`.
    pub require_token: Option<String>,
    /// Seed of the PRNG behind [`FakeBotApi::fail_randomly`].
    pub seed: u64,
    /// Artificial latency added to every method except `getUpdates`.
    pub latency: Option<Duration>,
    /// Answer `409 Conflict` to a long poll superseded by a newer concurrent
    /// `getUpdates` (Telegram's "terminated by other getUpdates request").
    pub conflict_on_concurrent_polls: bool,
    /// Answer `400 Bad Request: chat not found` when the bot sends to a chat
    /// the fake has never seen (pushed or [`FakeBotApi::register_chat`]ed).
    /// When false, unknown positive ids are treated as private chats and
    /// negative ones as groups.
    pub strict_chats: bool,
    /// Upper bound on a `getUpdates` wait, whatever `timeout` the bot asks for.
    pub max_poll_timeout: Duration,
    /// `getMe`'s `can_read_all_group_messages`: false for a bot whose privacy
    /// mode is still on (BotFather's default), true once it is disabled.
    pub can_read_all_group_messages: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rate_limits: None,
            bot_username: BOT_USERNAME.to_string(),
            require_token: None,
            seed: 0x9E37_79B9_7F4A_7C15,
            latency: None,
            conflict_on_concurrent_polls: true,
            strict_chats: false,
            max_poll_timeout: Duration::from_secs(50),
            // Deployed as the README says: privacy mode disabled.
            can_read_all_group_messages: true,
        }
    }
}

impl Options {
    /// Options with Telegram's rate limits enforced ([`RateLimits::default`]).
    pub fn enforce_rate_limits() -> Self {
        Options {
            rate_limits: Some(RateLimits::default()),
            ..Options::default()
        }
    }
}

/// Telegram's broadcast limits, enforced on `sendMessage`, `copyMessage` and
/// `forwardMessage` when configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Successful `sendMessage` calls allowed in any sliding 1-second window,
    /// all chats together (Telegram: 30). Over it: 429, `retry_after` 1.
    pub per_second: usize,
    /// Successful `sendMessage` calls allowed into one chat in any sliding
    /// 60-second window (Telegram: 20 for groups). Over it: 429 with
    /// `retry_after` = seconds until the window frees a slot.
    pub per_chat_per_minute: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_second: 30,
            per_chat_per_minute: 20,
        }
    }
}

/// An injected failure (see [`FakeBotApi::fail_next`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// HTTP 429 `Too Many Requests: retry after N` with
    /// `parameters.retry_after = N`; teloxide returns `RequestError::RetryAfter`.
    RetryAfter(u32),
    /// HTTP 5xx (e.g. 500, 502) with `Internal Server Error` / `Bad Gateway`.
    /// Note: teloxide 0.17 sleeps 10 s before returning on any 5xx response.
    ServerError(u16),
    /// Any API error: HTTP status and `error_code` = `code`, with the given
    /// description (e.g. `403`, `"Forbidden: bot was blocked by the user"`).
    Api { code: u16, description: String },
    /// 400 `group chat was upgraded to a supergroup chat` with
    /// `parameters.migrate_to_chat_id`; teloxide returns
    /// `RequestError::MigrateToChatId`.
    MigrateTo(i64),
}

/// A Telegram user as the fake sends it in updates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeUser {
    /// Telegram user id (positive; also the id of the private chat).
    pub id: i64,
    /// False for people.
    pub is_bot: bool,
    /// Always present in Telegram.
    pub first_name: String,
    /// Optional last name.
    pub last_name: Option<String>,
    /// Optional username, without `@`.
    pub username: Option<String>,
    /// Optional IETF language tag of the user's client.
    pub language_code: Option<String>,
}

impl FakeUser {
    /// A human user with an id and a first name.
    pub fn new(id: i64, first_name: &str) -> Self {
        FakeUser {
            id,
            is_bot: false,
            first_name: first_name.to_string(),
            last_name: None,
            username: None,
            language_code: None,
        }
    }

    /// Sets the username (without `@`).
    pub fn with_username(mut self, username: &str) -> Self {
        self.username = Some(username.to_string());
        self
    }

    /// Sets the IETF language tag (e.g. `"zh-hans"`).
    pub fn with_language(mut self, code: &str) -> Self {
        self.language_code = Some(code.to_string());
        self
    }

    /// Sets the last name.
    pub fn with_last_name(mut self, last_name: &str) -> Self {
        self.last_name = Some(last_name.to_string());
        self
    }

    /// The Bot API `User` object.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("is_bot".into(), json!(self.is_bot));
        m.insert("first_name".into(), json!(self.first_name));
        if let Some(v) = &self.last_name {
            m.insert("last_name".into(), json!(v));
        }
        if let Some(v) = &self.username {
            m.insert("username".into(), json!(v));
        }
        if let Some(v) = &self.language_code {
            m.insert("language_code".into(), json!(v));
        }
        Value::Object(m)
    }
}

/// Kind of a [`FakeChat`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChatKind {
    /// One-to-one chat with a user.
    Private,
    /// Basic group.
    Group,
    /// Supergroup (what basic groups migrate to).
    Supergroup,
    /// Channel.
    Channel,
}

impl ChatKind {
    /// The Bot API `type` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatKind::Private => "private",
            ChatKind::Group => "group",
            ChatKind::Supergroup => "supergroup",
            ChatKind::Channel => "channel",
        }
    }
}

/// A chat as the fake sends it in updates.
///
/// Telegram ids: private chat id = user id (positive), basic groups are
/// negative (e.g. `-4001234567`), supergroups are `-100…` (e.g.
/// `-1001234567890`). The fake does not enforce these conventions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeChat {
    /// Chat id.
    pub id: i64,
    /// Private, group, supergroup or channel.
    pub kind: ChatKind,
    /// Title of a group, supergroup or channel.
    pub title: Option<String>,
    /// Public username of a supergroup/channel, or the user's for a private chat.
    pub username: Option<String>,
    /// The other party of a private chat.
    pub user: Option<FakeUser>,
}

impl FakeChat {
    /// A basic group.
    pub fn group(id: i64, title: &str) -> Self {
        FakeChat {
            id,
            kind: ChatKind::Group,
            title: Some(title.to_string()),
            username: None,
            user: None,
        }
    }

    /// A supergroup.
    pub fn supergroup(id: i64, title: &str) -> Self {
        FakeChat {
            kind: ChatKind::Supergroup,
            ..FakeChat::group(id, title)
        }
    }

    /// A channel.
    pub fn channel(id: i64, title: &str) -> Self {
        FakeChat {
            kind: ChatKind::Channel,
            ..FakeChat::group(id, title)
        }
    }

    /// The private chat between the bot and `user` (chat id = user id).
    pub fn private(user: &FakeUser) -> Self {
        FakeChat {
            id: user.id,
            kind: ChatKind::Private,
            title: None,
            username: user.username.clone(),
            user: Some(user.clone()),
        }
    }

    /// Sets the public username (without `@`) of a supergroup or channel; the
    /// bot may then address the chat as `"@username"`.
    pub fn with_username(mut self, username: &str) -> Self {
        self.username = Some(username.to_string());
        self
    }

    /// True for groups and supergroups.
    pub fn is_group_chat(&self) -> bool {
        matches!(self.kind, ChatKind::Group | ChatKind::Supergroup)
    }

    /// The Bot API `Chat` object.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("type".into(), json!(self.kind.as_str()));
        match self.kind {
            ChatKind::Private => {
                let first = self.user.as_ref().map(|u| u.first_name.clone());
                m.insert(
                    "first_name".into(),
                    json!(first.unwrap_or_else(|| "User".into())),
                );
                if let Some(last) = self.user.as_ref().and_then(|u| u.last_name.clone()) {
                    m.insert("last_name".into(), json!(last));
                }
            }
            _ => {
                m.insert(
                    "title".into(),
                    json!(self.title.clone().unwrap_or_default()),
                );
            }
        }
        if let Some(u) = &self.username
            && self.kind != ChatKind::Group
        {
            m.insert("username".into(), json!(u));
        }
        Value::Object(m)
    }
}

/// What a `push_*` call injected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushedMessage {
    /// Id of the update carrying the message.
    pub update_id: i64,
    /// Chat the message was posted in.
    pub chat_id: i64,
    /// Message id (per chat, shared with the bot's messages).
    pub message_id: i64,
}

/// The two updates Telegram sends when a group becomes a supergroup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushedMigration {
    /// Message in the old group carrying `migrate_to_chat_id`.
    pub migrate_to: PushedMessage,
    /// Message in the new supergroup carrying `migrate_from_chat_id`.
    pub migrate_from: PushedMessage,
}

/// Outcome of one recorded request.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// `ok: true`.
    Ok,
    /// `ok: false` with this HTTP status / `error_code` and description.
    Failed {
        /// HTTP status, equal to `error_code`.
        status: u16,
        /// The `description` sent.
        description: String,
        /// True if it came from [`FakeBotApi::fail_next`] /
        /// [`FakeBotApi::fail_randomly`] rather than from the fake's rules.
        injected: bool,
    },
}

/// One request the bot made.
#[derive(Clone, Debug)]
pub struct Call {
    /// Order of arrival (0-based, over all methods).
    pub seq: u64,
    /// Method name, lowercased (`"sendmessage"`, `"getupdates"`, ...).
    pub method: String,
    /// Method name exactly as sent in the URL (`"SendMessage"`).
    pub raw_method: String,
    /// The bot token from the URL.
    pub token: String,
    /// Parameters as JSON (body merged with query string).
    pub params: Value,
    /// When the request arrived.
    pub at: Instant,
    /// How it was answered.
    pub outcome: Outcome,
    /// The `result` for successful calls, the error body otherwise.
    pub response: Value,
}

impl Call {
    /// True if answered with `ok: true`.
    pub fn ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }
}

/// A message the bot successfully sent with `sendMessage` (or, with
/// [`SentMessage::method`] telling which, `copyMessage` / `forwardMessage`).
#[derive(Clone, Debug)]
pub struct SentMessage {
    /// `"sendmessage"`, `"sendpoll"`, `"copymessage"` or `"forwardmessage"`.
    pub method: String,
    /// Chat the message went to.
    pub chat_id: i64,
    /// Id the fake gave the new message (per chat).
    pub message_id: i64,
    /// The text as sent (markup not parsed).
    pub text: String,
    /// `parse_mode` as sent (`"HTML"`, `"MarkdownV2"`), not validated.
    pub parse_mode: Option<String>,
    /// From `reply_parameters.message_id` or legacy `reply_to_message_id`.
    pub reply_to_message_id: Option<i64>,
    /// `reply_markup` as sent (inline keyboard, reply keyboard, ...).
    pub reply_markup: Option<Value>,
    /// All parameters of the call.
    pub params: Value,
    /// When the request arrived.
    pub at: Instant,
}

impl SentMessage {
    /// Callback data of every inline button, row by row.
    pub fn callback_data(&self) -> Vec<String> {
        inline_buttons(self.reply_markup.as_ref())
            .into_iter()
            .filter_map(|b| {
                b.get("callback_data")
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .collect()
    }

    /// Texts of every inline button, row by row.
    pub fn button_texts(&self) -> Vec<String> {
        inline_buttons(self.reply_markup.as_ref())
            .into_iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str).map(String::from))
            .collect()
    }
}

/// Which edit method was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EditKind {
    /// `editMessageText`.
    Text,
    /// `editMessageReplyMarkup`.
    ReplyMarkup,
}

/// A successful `editMessageText` / `editMessageReplyMarkup`.
#[derive(Clone, Debug)]
pub struct Edit {
    /// Which method.
    pub kind: EditKind,
    /// Chat of the edited message.
    pub chat_id: i64,
    /// The edited message.
    pub message_id: i64,
    /// New text (for [`EditKind::Text`]).
    pub text: Option<String>,
    /// New markup (absent = keyboard removed).
    pub reply_markup: Option<Value>,
    /// When the request arrived.
    pub at: Instant,
}

/// A successful `deleteMessage` (or one id of `deleteMessages`).
#[derive(Clone, Debug)]
pub struct Deletion {
    /// Chat of the deleted message.
    pub chat_id: i64,
    /// The deleted message.
    pub message_id: i64,
    /// When the request arrived.
    pub at: Instant,
}

/// Pin bookkeeping action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinAction {
    /// `pinChatMessage`.
    Pin,
    /// `unpinChatMessage`.
    Unpin,
    /// `unpinAllChatMessages`.
    UnpinAll,
}

/// A successful `pinChatMessage` / `unpinChatMessage` / `unpinAllChatMessages`.
#[derive(Clone, Debug)]
pub struct Pin {
    /// Pin, unpin or unpin all.
    pub action: PinAction,
    /// The chat.
    pub chat_id: i64,
    /// The message (for `Unpin` without `message_id`: the one that was unpinned).
    pub message_id: Option<i64>,
    /// `disable_notification` of a pin.
    pub disable_notification: bool,
    /// When the request arrived.
    pub at: Instant,
}

// ---------------------------------------------------------------------------
// Internal state
// ---------------------------------------------------------------------------

struct QueuedUpdate {
    id: i64,
    kind: String,
    json: Value,
    /// Re-delivered by [`FakeBotApi::redeliver`]: delivered once whatever the
    /// offset, then dropped.
    forced: bool,
}

struct StoredMessage {
    json: Value,
    from_bot: bool,
    deleted: bool,
}

struct RandomFailure {
    probability: f64,
    failure: Failure,
}

struct St {
    next_update_id: i64,
    queue: VecDeque<QueuedUpdate>,
    history: HashMap<i64, Value>,
    delivery_counts: HashMap<i64, usize>,
    confirmed_offset: i64,
    allowed_updates: Option<Vec<String>>,
    poll_generation: u64,
    waiting_pollers: usize,
    poll_conflicts: usize,
    /// Whether the newest `getUpdates` had a non-zero timeout.
    last_poll_is_long: bool,
    dropped_updates: Vec<i64>,
    webhook_url: Option<String>,
    shutdown: bool,

    chats: HashMap<i64, FakeChat>,
    next_message_id: HashMap<i64, i64>,
    messages: HashMap<(i64, i64), StoredMessage>,
    /// File ids the fake handed out with pushed photos and voice messages.
    files: std::collections::HashSet<String>,
    bot_status: HashMap<i64, String>,
    member_status: HashMap<(i64, i64), String>,
    migrated_to: HashMap<i64, i64>,
    pinned: HashMap<i64, Vec<i64>>,
    callbacks: HashMap<String, bool>,
    next_callback: u64,
    commands: HashMap<String, Value>,

    calls: Vec<Call>,
    sent: Vec<SentMessage>,
    edits: Vec<Edit>,
    deletions: Vec<Deletion>,
    pins: Vec<Pin>,

    fail_next: HashMap<String, VecDeque<Failure>>,
    fail_random: HashMap<String, RandomFailure>,
    rng: u64,

    global_window: VecDeque<Instant>,
    chat_windows: HashMap<i64, VecDeque<Instant>>,
    rate_violations: usize,
}

struct Inner {
    options: Options,
    addr: SocketAddr,
    st: Mutex<St>,
    /// Bumped on every change relevant to long polls (push, new poll, shutdown).
    updates_tx: watch::Sender<u64>,
    /// Bumped on every recorded call.
    calls_tx: watch::Sender<u64>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, St> {
        // A panicking test thread must not poison the server for the others.
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump_updates(&self) {
        self.updates_tx.send_modify(|v| *v += 1);
    }

    fn bump_calls(&self) {
        self.calls_tx.send_modify(|v| *v += 1);
    }

    fn bot_user(&self) -> Value {
        json!({
            "id": BOT_ID,
            "is_bot": true,
            "first_name": BOT_FIRST_NAME,
            "username": self.options.bot_username,
        })
    }
}

/// Handle to a running fake Bot API server. Cheap to clone; all clones share
/// the same server and recordings.
#[derive(Clone)]
pub struct FakeBotApi {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FakeBotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeBotApi")
            .field("addr", &self.inner.addr)
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Starting
// ---------------------------------------------------------------------------

impl FakeBotApi {
    /// Starts a server with default [`Options`] on `127.0.0.1:0`, served by a
    /// task of the current tokio runtime.
    pub async fn start() -> FakeBotApi {
        Self::start_with(Options::default()).await
    }

    /// Starts a server with the given options on the current tokio runtime.
    ///
    /// Panics if it cannot bind a loopback port (test setup failure).
    pub async fn start_with(options: Options) -> FakeBotApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fake bot api: bind 127.0.0.1:0");
        Self::serve_on(listener, options)
    }

    /// Starts a server on a dedicated thread with its own tokio runtime, so
    /// it keeps serving while the caller blocks (benches, sync tests, tests
    /// waiting on a child process). The server lives until the process exits
    /// or [`FakeBotApi::shutdown`] is called. Callable without a runtime.
    pub fn start_in_thread(options: Options) -> FakeBotApi {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("fake-bot-api".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("fake bot api: build runtime");
                rt.block_on(async move {
                    let api = FakeBotApi::start_with(options).await;
                    let mut shut = api.inner.updates_tx.subscribe();
                    let _ = tx.send(api.clone());
                    // Keep the runtime (and the server task) alive until shutdown.
                    loop {
                        if api.inner.lock().shutdown {
                            break;
                        }
                        if shut.changed().await.is_err() {
                            break;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                });
            })
            .expect("fake bot api: spawn thread");
        rx.recv()
            .expect("fake bot api: server thread failed to start")
    }

    fn serve_on(listener: tokio::net::TcpListener, options: Options) -> FakeBotApi {
        let addr = listener.local_addr().expect("fake bot api: local_addr");
        let (updates_tx, _) = watch::channel(0u64);
        let (calls_tx, _) = watch::channel(0u64);
        let seed = if options.seed == 0 {
            0x2545_F491_4F6C_DD1D
        } else {
            options.seed
        };
        let st = St {
            next_update_id: 100_001,
            queue: VecDeque::new(),
            history: HashMap::new(),
            delivery_counts: HashMap::new(),
            confirmed_offset: 0,
            allowed_updates: None,
            poll_generation: 0,
            waiting_pollers: 0,
            poll_conflicts: 0,
            last_poll_is_long: false,
            dropped_updates: Vec::new(),
            webhook_url: None,
            shutdown: false,
            chats: HashMap::new(),
            next_message_id: HashMap::new(),
            messages: HashMap::new(),
            files: Default::default(),
            bot_status: HashMap::new(),
            member_status: HashMap::new(),
            migrated_to: HashMap::new(),
            pinned: HashMap::new(),
            callbacks: HashMap::new(),
            next_callback: 1,
            commands: HashMap::new(),
            calls: Vec::new(),
            sent: Vec::new(),
            edits: Vec::new(),
            deletions: Vec::new(),
            pins: Vec::new(),
            fail_next: HashMap::new(),
            fail_random: HashMap::new(),
            rng: seed,
            global_window: VecDeque::new(),
            chat_windows: HashMap::new(),
            rate_violations: 0,
        };
        let inner = Arc::new(Inner {
            options,
            addr,
            st: Mutex::new(st),
            updates_tx,
            calls_tx,
        });
        let app = Router::new()
            .fallback(handle_request)
            .with_state(inner.clone());
        let mut shut = inner.updates_tx.subscribe();
        let inner_for_shutdown = inner.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                loop {
                    if inner_for_shutdown.lock().shutdown {
                        return;
                    }
                    if shut.changed().await.is_err() {
                        return;
                    }
                }
            };
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await;
        });
        FakeBotApi { inner }
    }

    /// Stops accepting connections; pending long polls return empty results.
    pub fn shutdown(&self) {
        self.inner.lock().shutdown = true;
        self.inner.bump_updates();
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Base URL for `TELOXIDE_API_URL` / `Bot::set_api_url`:
    /// `http://127.0.0.1:PORT/`.
    pub fn api_url(&self) -> String {
        format!("http://{}/", self.inner.addr)
    }

    /// A token to give the bot (`123456:TEST`); any token is accepted unless
    /// [`Options::require_token`] is set, in which case that one is returned.
    pub fn token(&self) -> &str {
        self.inner
            .options
            .require_token
            .as_deref()
            .unwrap_or(TEST_TOKEN)
    }

    /// Environment for a bot daemon process: `TELOXIDE_API_URL` and
    /// `TELOXIDE_TOKEN` (use with `Command::envs`).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TELOXIDE_API_URL", self.api_url()),
            ("TELOXIDE_TOKEN", self.token().to_string()),
        ]
    }

    /// The bot's user id (`getMe`).
    pub fn bot_id(&self) -> i64 {
        BOT_ID
    }

    /// The bot's username (without `@`).
    pub fn bot_username(&self) -> String {
        self.inner.options.bot_username.clone()
    }

    /// The bot as a [`FakeUser`].
    pub fn bot_user(&self) -> FakeUser {
        FakeUser {
            id: BOT_ID,
            is_bot: true,
            first_name: BOT_FIRST_NAME.into(),
            last_name: None,
            username: Some(self.inner.options.bot_username.clone()),
            language_code: None,
        }
    }
}

// ---------------------------------------------------------------------------
// Injecting updates
// ---------------------------------------------------------------------------

impl FakeBotApi {
    /// Makes a chat known (for `getChat`, `strict_chats`, `@username` ids)
    /// without pushing anything.
    pub fn register_chat(&self, chat: &FakeChat) {
        self.inner.lock().chats.insert(chat.id, chat.clone());
    }

    /// Sets a user's membership status in a chat, as returned by
    /// `getChatMember` / `getChatAdministrators` (`"creator"`,
    /// `"administrator"`, `"member"`, `"restricted"`, `"left"`, `"kicked"`).
    /// Unknown users are `"member"`.
    pub fn set_member_status(&self, chat_id: i64, user: &FakeUser, status: &str) {
        let mut st = self.inner.lock();
        st.member_status
            .insert((chat_id, user.id), status.to_string());
        st.users_insert(user);
    }

    /// Pushes a text message from `from` in `chat`. Commands (`/start`,
    /// `/new@bot`) get a `bot_command` entity like Telegram adds.
    pub fn push_text(&self, chat: &FakeChat, from: &FakeUser, text: &str) -> PushedMessage {
        self.push_message_with(chat, from, text, None, Map::new())
    }

    /// Pushes a text message replying to message `reply_to` of the same chat
    /// (the replied message, if known, is embedded as `reply_to_message`).
    pub fn push_reply(
        &self,
        chat: &FakeChat,
        from: &FakeUser,
        text: &str,
        reply_to: i64,
    ) -> PushedMessage {
        self.push_message_with(chat, from, text, Some(reply_to), Map::new())
    }

    /// Pushes a text message with extra top-level `Message` fields merged in
    /// (e.g. `{"message_thread_id": 3}` or a `forward_origin`).
    pub fn push_text_with(
        &self,
        chat: &FakeChat,
        from: &FakeUser,
        text: &str,
        extra: Value,
    ) -> PushedMessage {
        let extra = match extra {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        self.push_message_with(chat, from, text, None, extra)
    }

    fn push_message_with(
        &self,
        chat: &FakeChat,
        from: &FakeUser,
        text: &str,
        reply_to: Option<i64>,
        extra: Map<String, Value>,
    ) -> PushedMessage {
        let mut st = self.inner.lock();
        st.chats.entry(chat.id).or_insert_with(|| chat.clone());
        let message_id = st.alloc_message_id(chat.id);
        let mut m = Map::new();
        m.insert("message_id".into(), json!(message_id));
        m.insert("from".into(), from.to_json());
        m.insert("chat".into(), chat.to_json());
        m.insert("date".into(), json!(unix_now()));
        // A photo or voice message has no text (a caption at most).
        let is_media = ["photo", "voice", "audio", "video", "document"]
            .iter()
            .any(|k| extra.contains_key(*k));
        if !is_media {
            m.insert("text".into(), json!(text));
        }
        if let Some(e) = command_entity(text) {
            m.insert("entities".into(), json!([e]));
        }
        if let Some(r) = reply_to {
            let replied = st
                .messages
                .get(&(chat.id, r))
                .filter(|s| !s.deleted)
                .map(|s| strip_reply(&s.json))
                .unwrap_or_else(|| {
                    json!({"message_id": r, "chat": chat.to_json(), "date": unix_now(), "text": ""})
                });
            m.insert("reply_to_message".into(), replied);
        }
        for (k, v) in extra {
            m.insert(k, v);
        }
        let json = Value::Object(m);
        st.messages.insert(
            (chat.id, message_id),
            StoredMessage {
                json: json.clone(),
                from_bot: false,
                deleted: false,
            },
        );
        let update_id = st.enqueue("message", json);
        drop(st);
        self.inner.bump_updates();
        PushedMessage {
            update_id,
            chat_id: chat.id,
            message_id,
        }
    }

    /// Pushes a photo from `from` in `chat`, with an optional caption. `file_id`
    /// becomes a file the fake knows, so the bot may send it again by id.
    pub fn push_photo(
        &self,
        chat: &FakeChat,
        from: &FakeUser,
        file_id: &str,
        caption: Option<&str>,
        album: Option<&str>,
    ) -> PushedMessage {
        let mut extra = Map::new();
        extra.insert(
            "photo".into(),
            json!([
                {"file_id": format!("{file_id}-small"), "file_unique_id": "s", "width": 90, "height": 90},
                {"file_id": file_id, "file_unique_id": "l", "width": 1280, "height": 960},
            ]),
        );
        if let Some(c) = caption {
            extra.insert("caption".into(), json!(c));
        }
        if let Some(a) = album {
            extra.insert("media_group_id".into(), json!(a));
        }
        self.inner.lock().files.insert(file_id.to_string());
        self.push_media_message(chat, from, extra)
    }

    /// Pushes a voice message from `from` in `chat`.
    pub fn push_voice(&self, chat: &FakeChat, from: &FakeUser, file_id: &str) -> PushedMessage {
        let mut extra = Map::new();
        extra.insert("voice".into(), media_json("voice", file_id));
        self.inner.lock().files.insert(file_id.to_string());
        self.push_media_message(chat, from, extra)
    }

    /// A message with no `text` (a photo, a voice message).
    fn push_media_message(
        &self,
        chat: &FakeChat,
        from: &FakeUser,
        extra: Map<String, Value>,
    ) -> PushedMessage {
        self.push_message_with(chat, from, "", None, extra)
    }

    /// Pushes an `edited_message` update: `from` edited their message
    /// `message_id` in `chat` to `new_text`.
    pub fn push_edited_text(
        &self,
        chat: &FakeChat,
        from: &FakeUser,
        message_id: i64,
        new_text: &str,
    ) -> i64 {
        let mut st = self.inner.lock();
        let now = unix_now();
        let mut json = st
            .messages
            .get(&(chat.id, message_id))
            .map(|s| s.json.clone())
            .unwrap_or_else(|| {
                json!({"message_id": message_id, "from": from.to_json(), "chat": chat.to_json(), "date": now})
            });
        json["text"] = json!(new_text);
        json["edit_date"] = json!(now);
        if let Some(s) = st.messages.get_mut(&(chat.id, message_id)) {
            s.json = json.clone();
        }
        let id = st.enqueue("edited_message", json);
        drop(st);
        self.inner.bump_updates();
        id
    }

    /// Pushes a `callback_query` (a press on an inline button of message
    /// `message_id` in chat `chat_id`) and returns the callback query id the
    /// bot must answer. The message is embedded as Telegram does (an
    /// inaccessible-message stub if the fake does not know it or it was
    /// deleted).
    pub fn push_callback(
        &self,
        from: &FakeUser,
        chat_id: i64,
        message_id: i64,
        data: &str,
    ) -> String {
        let mut st = self.inner.lock();
        let id = format!("{}{:06}", BOT_ID, st.next_callback);
        st.next_callback += 1;
        st.callbacks.insert(id.clone(), false);
        let chat_json = st.chat_json(chat_id);
        let message = st
            .messages
            .get(&(chat_id, message_id))
            .filter(|s| !s.deleted)
            .map(|s| s.json.clone())
            .unwrap_or_else(|| json!({"chat": chat_json, "message_id": message_id, "date": 0}));
        let json = json!({
            "id": id,
            "from": from.to_json(),
            "message": message,
            "chat_instance": format!("ci{}", chat_id.unsigned_abs()),
            "data": data,
        });
        st.enqueue("callback_query", json);
        drop(st);
        self.inner.bump_updates();
        id
    }

    /// As [`FakeBotApi::push_callback`], returning the update's id (to post it
    /// to a webhook) instead of the callback query's.
    pub fn push_callback_update(
        &self,
        from: &FakeUser,
        chat_id: i64,
        message_id: i64,
        data: &str,
    ) -> i64 {
        self.push_callback(from, chat_id, message_id, data);
        self.inner.lock().next_update_id - 1
    }

    /// Pushes a `my_chat_member` update: `from` changed the bot's status in
    /// `chat` to `new_status` (`"member"`, `"administrator"`, `"left"`,
    /// `"kicked"`, `"restricted"`, `"creator"`). The old status is the last
    /// one pushed (default `"left"`, or `"member"` for private chats). Sending
    /// into a chat where the bot is `"kicked"`/`"left"` then fails like
    /// Telegram (403). Returns the update id.
    pub fn push_my_chat_member(&self, chat: &FakeChat, from: &FakeUser, new_status: &str) -> i64 {
        let bot = self.bot_user();
        let mut st = self.inner.lock();
        st.chats.entry(chat.id).or_insert_with(|| chat.clone());
        let default_old = if chat.kind == ChatKind::Private {
            "member"
        } else {
            "left"
        };
        let old = st
            .bot_status
            .get(&chat.id)
            .cloned()
            .unwrap_or_else(|| default_old.into());
        st.bot_status.insert(chat.id, new_status.to_string());
        let json = chat_member_updated(chat, from, &bot, &old, new_status);
        let id = st.enqueue("my_chat_member", json);
        drop(st);
        self.inner.bump_updates();
        id
    }

    /// Pushes a `chat_member` update about another user (only delivered if
    /// the bot asked for `chat_member` in `allowed_updates`).
    pub fn push_chat_member(
        &self,
        chat: &FakeChat,
        from: &FakeUser,
        user: &FakeUser,
        new_status: &str,
    ) -> i64 {
        let mut st = self.inner.lock();
        st.chats.entry(chat.id).or_insert_with(|| chat.clone());
        let old = st
            .member_status
            .get(&(chat.id, user.id))
            .cloned()
            .unwrap_or_else(|| "left".into());
        st.member_status
            .insert((chat.id, user.id), new_status.to_string());
        let json = chat_member_updated(chat, from, user, &old, new_status);
        let id = st.enqueue("chat_member", json);
        drop(st);
        self.inner.bump_updates();
        id
    }

    /// Simulates a group being upgraded to a supergroup, as Telegram reports
    /// it: a message with `migrate_to_chat_id` in the old group and one with
    /// `migrate_from_chat_id` (message id 1) in the new supergroup. Afterwards
    /// sending into the old group fails with `MigrateToChatId`.
    pub fn push_migrate(&self, old_group_id: i64, new_supergroup_id: i64) -> PushedMigration {
        let mut st = self.inner.lock();
        let old_chat = st
            .chats
            .get(&old_group_id)
            .cloned()
            .unwrap_or_else(|| FakeChat::group(old_group_id, &format!("Group {old_group_id}")));
        let title = old_chat.title.clone().unwrap_or_default();
        let new_chat = FakeChat::supergroup(new_supergroup_id, &title);
        st.chats.insert(old_group_id, old_chat.clone());
        st.chats.insert(new_supergroup_id, new_chat.clone());
        st.migrated_to.insert(old_group_id, new_supergroup_id);
        if let Some(s) = st.bot_status.get(&old_group_id).cloned() {
            st.bot_status.insert(new_supergroup_id, s);
        }
        let owner = FakeUser::new(1_000_001, "Owner");
        let now = unix_now();
        let to_id = st.alloc_message_id(old_group_id);
        let to_json = json!({
            "message_id": to_id,
            "from": owner.to_json(),
            "chat": old_chat.to_json(),
            "date": now,
            "migrate_to_chat_id": new_supergroup_id,
        });
        let to_update = st.enqueue("message", to_json);
        let from_id = st.alloc_message_id(new_supergroup_id);
        let from_json = json!({
            "message_id": from_id,
            "from": {"id": 1_087_968_824i64, "is_bot": true, "first_name": "Group", "username": "GroupAnonymousBot"},
            "sender_chat": new_chat.to_json(),
            "chat": new_chat.to_json(),
            "date": now,
            "migrate_from_chat_id": old_group_id,
        });
        let from_update = st.enqueue("message", from_json);
        drop(st);
        self.inner.bump_updates();
        PushedMigration {
            migrate_to: PushedMessage {
                update_id: to_update,
                chat_id: old_group_id,
                message_id: to_id,
            },
            migrate_from: PushedMessage {
                update_id: from_update,
                chat_id: new_supergroup_id,
                message_id: from_id,
            },
        }
    }

    /// Pushes an arbitrary update. If `update` is an object without
    /// `update_id`, the next id is inserted; an explicit `update_id` is kept
    /// (and later ids continue above it). Non-object values are queued as-is:
    /// beware that teloxide then fails to parse the whole `getUpdates` batch.
    /// Returns the update id (or -1 for a non-object).
    pub fn push_raw(&self, update: Value) -> i64 {
        let mut st = self.inner.lock();
        let id = match &update {
            Value::Object(m) => match m.get("update_id").and_then(Value::as_i64) {
                Some(id) => {
                    st.next_update_id = st.next_update_id.max(id + 1);
                    id
                }
                None => st.take_update_id(),
            },
            _ => -1,
        };
        let mut update = update;
        if let Value::Object(m) = &mut update {
            m.insert("update_id".into(), json!(id));
            // Remember messages so replies/edits/callbacks can refer to them.
            if let Some(msg) = m.get("message")
                && let (Some(c), Some(mid)) = (
                    msg.pointer("/chat/id").and_then(Value::as_i64),
                    msg.get("message_id").and_then(Value::as_i64),
                )
            {
                st.messages.insert(
                    (c, mid),
                    StoredMessage {
                        json: msg.clone(),
                        from_bot: false,
                        deleted: false,
                    },
                );
                let next = st.next_message_id.entry(c).or_insert(1);
                *next = (*next).max(mid + 1);
            }
        }
        let kind = update_kind(&update);
        st.history.insert(id, update.clone());
        st.queue.push_back(QueuedUpdate {
            id,
            kind,
            json: update,
            forced: false,
        });
        drop(st);
        self.inner.bump_updates();
        id
    }

    /// The JSON of a pushed update, as Telegram would post it to a webhook.
    pub fn update_json(&self, update_id: i64) -> Option<Value> {
        self.inner.lock().history.get(&update_id).cloned()
    }

    /// The URL the bot registered with `setWebhook`, if any.
    pub fn webhook_url(&self) -> Option<String> {
        self.inner.lock().webhook_url.clone()
    }

    /// Delivers an already pushed update again, with the same `update_id`, to
    /// the next `getUpdates` regardless of the bot's offset (as happens when
    /// a bot processed an update but crashed before confirming it). Returns
    /// false if no update with that id was ever pushed.
    pub fn redeliver(&self, update_id: i64) -> bool {
        let mut st = self.inner.lock();
        let Some(json) = st.history.get(&update_id).cloned() else {
            return false;
        };
        let kind = update_kind(&json);
        st.queue.push_front(QueuedUpdate {
            id: update_id,
            kind,
            json,
            forced: true,
        });
        drop(st);
        self.inner.bump_updates();
        true
    }
}

// ---------------------------------------------------------------------------
// Failure injection
// ---------------------------------------------------------------------------

impl FakeBotApi {
    /// Fails the next `n` calls of `method` (case-insensitive, e.g.
    /// `"sendMessage"`; `"*"` = any method except `getUpdates`) with `failure`.
    /// Queued failures of a method are consumed in order.
    pub fn fail_next(&self, method: &str, n: usize, failure: Failure) {
        let mut st = self.inner.lock();
        let q = st.fail_next.entry(method.to_ascii_lowercase()).or_default();
        for _ in 0..n {
            q.push_back(failure.clone());
        }
    }

    /// Fails each call of `method` with `failure` with the given probability
    /// (0.0..=1.0), drawn from a deterministic xorshift PRNG seeded by
    /// [`Options::seed`]. Replaces an earlier setting for the same method.
    pub fn fail_randomly(&self, method: &str, probability: f64, failure: Failure) {
        self.inner.lock().fail_random.insert(
            method.to_ascii_lowercase(),
            RandomFailure {
                probability,
                failure,
            },
        );
    }

    /// Removes every pending `fail_next` and `fail_randomly` setting.
    pub fn clear_failures(&self) {
        let mut st = self.inner.lock();
        st.fail_next.clear();
        st.fail_random.clear();
    }
}

// ---------------------------------------------------------------------------
// Recordings
// ---------------------------------------------------------------------------

impl FakeBotApi {
    /// Every request so far, in arrival order (including failed ones and
    /// `getUpdates`).
    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().calls.clone()
    }

    /// Requests of one method (case-insensitive).
    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        let m = method.to_ascii_lowercase();
        self.inner
            .lock()
            .calls
            .iter()
            .filter(|c| c.method == m)
            .cloned()
            .collect()
    }

    /// Failed requests (injected, rate-limited or refused).
    pub fn failed_calls(&self) -> Vec<Call> {
        self.inner
            .lock()
            .calls
            .iter()
            .filter(|c| !c.ok())
            .cloned()
            .collect()
    }

    /// Successful `sendMessage` (and `copyMessage` / `forwardMessage`)
    /// calls, in order.
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        self.inner.lock().sent.clone()
    }

    /// Successful `sendMessage` calls into one chat.
    pub fn messages_to(&self, chat_id: i64) -> Vec<SentMessage> {
        self.inner
            .lock()
            .sent
            .iter()
            .filter(|m| m.chat_id == chat_id)
            .cloned()
            .collect()
    }

    /// Texts sent into one chat, in order.
    pub fn texts_to(&self, chat_id: i64) -> Vec<String> {
        self.messages_to(chat_id)
            .into_iter()
            .map(|m| m.text)
            .collect()
    }

    /// Successful edits, in order.
    pub fn edits(&self) -> Vec<Edit> {
        self.inner.lock().edits.clone()
    }

    /// Successful deletions, in order.
    pub fn deletions(&self) -> Vec<Deletion> {
        self.inner.lock().deletions.clone()
    }

    /// Successful pin/unpin actions, in order.
    pub fn pins(&self) -> Vec<Pin> {
        self.inner.lock().pins.clone()
    }

    /// The message currently pinned on top in a chat.
    pub fn pinned_message(&self, chat_id: i64) -> Option<i64> {
        self.inner
            .lock()
            .pinned
            .get(&chat_id)
            .and_then(|v| v.last().copied())
    }

    /// Current text of a message (after edits); `None` if unknown or deleted.
    pub fn current_text(&self, chat_id: i64, message_id: i64) -> Option<String> {
        let st = self.inner.lock();
        let m = st
            .messages
            .get(&(chat_id, message_id))
            .filter(|m| !m.deleted)?;
        m.json.get("text").and_then(Value::as_str).map(String::from)
    }

    /// Current inline keyboard of a message (after edits); `None` if it has
    /// none, is unknown or deleted.
    pub fn current_markup(&self, chat_id: i64, message_id: i64) -> Option<Value> {
        let st = self.inner.lock();
        let m = st
            .messages
            .get(&(chat_id, message_id))
            .filter(|m| !m.deleted)?;
        m.json.get("reply_markup").cloned()
    }

    /// True if the message was deleted through `deleteMessage(s)`.
    pub fn is_deleted(&self, chat_id: i64, message_id: i64) -> bool {
        self.inner
            .lock()
            .messages
            .get(&(chat_id, message_id))
            .is_some_and(|m| m.deleted)
    }

    /// Successful `sendMessage` / `copyMessage` / `forwardMessage` count per chat.
    pub fn delivered_count_by_chat(&self) -> HashMap<i64, usize> {
        let mut out = HashMap::new();
        for m in &self.inner.lock().sent {
            *out.entry(m.chat_id).or_insert(0) += 1;
        }
        out
    }

    /// Requests refused by the rate-limit mode.
    pub fn rate_violations(&self) -> usize {
        self.inner.lock().rate_violations
    }

    /// Requests that named a chat inside a `retry_after` window this fake gave
    /// for that chat (Telegram lengthens the ban for each). A `429` answered to a
    /// request naming `chat_id` opens a window of `retry_after` seconds from its
    /// arrival; any later request naming the same chat that arrives before the
    /// window ends is a breach. Each is described with the chat, the window and
    /// how early the request came.
    pub fn retry_after_breaches(&self) -> Vec<String> {
        let mut calls = self.calls();
        calls.sort_by_key(|c| c.at);
        let mut windows: Vec<(i64, Instant, Instant, u64)> = Vec::new();
        let mut breaches = Vec::new();
        for c in &calls {
            let Some(chat) = int_param(&c.params, "chat_id") else {
                continue;
            };
            if let Some((_, start, end, seq)) = windows
                .iter()
                .rev()
                .find(|(w, start, end, _)| *w == chat && c.at > *start && c.at < *end)
            {
                breaches.push(format!(
                    "call #{} ({}) to chat {chat} came {:?} after the 429 of call #{seq}, {:?} before its window ended",
                    c.seq,
                    c.method,
                    c.at.duration_since(*start),
                    end.duration_since(c.at)
                ));
            }
            if let Outcome::Failed { status: 429, .. } = c.outcome {
                let secs = c.response["parameters"]["retry_after"]
                    .as_u64()
                    .unwrap_or(0);
                windows.push((chat, c.at, c.at + Duration::from_secs(secs), c.seq));
            }
        }
        breaches
    }

    /// How many times an update was handed out by `getUpdates` (more than 1
    /// means the bot polled without confirming it, or it was redelivered).
    pub fn delivery_count(&self, update_id: i64) -> usize {
        self.inner
            .lock()
            .delivery_counts
            .get(&update_id)
            .copied()
            .unwrap_or(0)
    }

    /// Delivery counts of every update handed out so far.
    pub fn delivery_counts(&self) -> HashMap<i64, usize> {
        self.inner.lock().delivery_counts.clone()
    }

    /// Updates not yet confirmed by the bot (still in the queue).
    pub fn pending_updates(&self) -> usize {
        self.inner.lock().queue.len()
    }

    /// Highest `offset` the bot has sent (every update below it is confirmed).
    pub fn confirmed_offset(&self) -> i64 {
        self.inner.lock().confirmed_offset
    }

    /// The `allowed_updates` currently in force (`None` = Telegram default).
    pub fn allowed_updates(&self) -> Option<Vec<String>> {
        self.inner.lock().allowed_updates.clone()
    }

    /// Long polls answered with `409 Conflict` because a newer *long* poll
    /// (timeout > 0) started while they waited: the sign of two bot instances
    /// polling at once. A poll superseded by a `timeout = 0` poll still gets
    /// the 409 but is not counted, because teloxide's graceful shutdown drops
    /// its in-flight long poll and then confirms the offset with such a call.
    pub fn poll_conflicts(&self) -> usize {
        self.inner.lock().poll_conflicts
    }

    /// Ids of updates dropped without delivery because the bot's
    /// `allowed_updates` excluded their kind (e.g. a pushed callback query for
    /// a bot whose handler tree has no callback handler).
    pub fn dropped_updates(&self) -> Vec<i64> {
        self.inner.lock().dropped_updates.clone()
    }

    /// Commands set with `setMyCommands` for the default scope and language.
    pub fn my_commands(&self) -> Vec<(String, String)> {
        self.commands_in(&json!({"type": "default"}))
    }

    /// Commands set with `setMyCommands` for `scope` (a `BotCommandScope` as
    /// JSON, e.g. `{"type": "all_private_chats"}`) and no language. Empty when
    /// none were set for exactly that scope.
    pub fn commands_in(&self, scope: &Value) -> Vec<(String, String)> {
        let st = self.inner.lock();
        let key = commands_key(&json!({ "scope": scope }));
        st.commands
            .get(&key)
            .and_then(Value::as_array)
            .map(|a| a.iter().map(command_pair).collect())
            .unwrap_or_default()
    }

    /// Commands set for `BotCommandScope::Chat` of `chat_id` (a group, or a
    /// user's private chat), whether the id was sent as a number or a string.
    pub fn commands_for_chat(&self, chat_id: i64) -> Vec<(String, String)> {
        let st = self.inner.lock();
        st.commands
            .iter()
            .find(|(key, _)| {
                let Some((scope, lang)) = key.rsplit_once('|') else {
                    return false;
                };
                let Ok(scope) = serde_json::from_str::<Value>(scope) else {
                    return false;
                };
                lang.is_empty()
                    && scope.get("type").and_then(Value::as_str) == Some("chat")
                    && match scope.get("chat_id") {
                        Some(Value::Number(n)) => n.as_i64() == Some(chat_id),
                        Some(Value::String(s)) => s.parse::<i64>().ok() == Some(chat_id),
                        _ => false,
                    }
            })
            .and_then(|(_, v)| v.as_array())
            .map(|a| a.iter().map(command_pair).collect())
            .unwrap_or_default()
    }

    /// Forgets all recorded calls, messages sent, edits, deletions, pins and
    /// rate-limit counters (not the chats, messages or update queue).
    pub fn clear_recordings(&self) {
        let mut st = self.inner.lock();
        st.calls.clear();
        st.sent.clear();
        st.edits.clear();
        st.deletions.clear();
        st.pins.clear();
        st.rate_violations = 0;
        st.global_window.clear();
        st.chat_windows.clear();
    }
}

// ---------------------------------------------------------------------------
// Waiting
// ---------------------------------------------------------------------------

impl FakeBotApi {
    /// Waits until `f(sent_messages)` holds, returning the messages then, or
    /// an error describing what was sent if `timeout` elapses first.
    pub async fn wait_for<F>(&self, f: F, timeout: Duration) -> Result<Vec<SentMessage>, String>
    where
        F: Fn(&[SentMessage]) -> bool,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.inner.calls_tx.subscribe();
        loop {
            let sent = self.sent_messages();
            if f(&sent) {
                return Ok(sent);
            }
            if !wait_changed(&mut rx, deadline).await {
                let sent = self.sent_messages();
                if f(&sent) {
                    return Ok(sent);
                }
                let summary: Vec<String> = sent
                    .iter()
                    .map(|m| format!("[{}#{}] {:?}", m.chat_id, m.message_id, m.text))
                    .collect();
                return Err(format!(
                    "timed out after {timeout:?} waiting for sent messages; {} sent: {summary:#?}",
                    sent.len()
                ));
            }
        }
    }

    /// Waits until `f(calls)` holds (over all recorded calls).
    pub async fn wait_for_calls<F>(&self, f: F, timeout: Duration) -> Result<Vec<Call>, String>
    where
        F: Fn(&[Call]) -> bool,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.inner.calls_tx.subscribe();
        loop {
            let calls = self.calls();
            if f(&calls) {
                return Ok(calls);
            }
            if !wait_changed(&mut rx, deadline).await {
                let calls = self.calls();
                if f(&calls) {
                    return Ok(calls);
                }
                let summary: Vec<String> = calls
                    .iter()
                    .filter(|c| c.method != "getupdates")
                    .map(|c| format!("{} {} {:?}", c.raw_method, c.params, c.outcome))
                    .collect();
                return Err(format!(
                    "timed out after {timeout:?} waiting for calls; non-getUpdates calls: {summary:#?}"
                ));
            }
        }
    }

    /// Waits for a message into `chat_id` whose text contains `needle`.
    pub async fn wait_for_text(
        &self,
        chat_id: i64,
        needle: &str,
        timeout: Duration,
    ) -> Result<SentMessage, String> {
        let sent = self
            .wait_for(
                |s| {
                    s.iter()
                        .any(|m| m.chat_id == chat_id && m.text.contains(needle))
                },
                timeout,
            )
            .await
            .map_err(|e| format!("no message containing {needle:?} to chat {chat_id}: {e}"))?;
        sent.into_iter()
            .find(|m| m.chat_id == chat_id && m.text.contains(needle))
            .ok_or_else(|| "unreachable".to_string())
    }

    /// Waits until at least `n` messages were sent in total.
    pub async fn wait_for_count(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<SentMessage>, String> {
        self.wait_for(|s| s.len() >= n, timeout).await
    }

    /// Waits until the bot is blocked in a long poll (`getUpdates` with a
    /// timeout waiting on the server), i.e. it is up and idle.
    pub async fn wait_until_polling(&self, timeout: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.inner.updates_tx.subscribe();
        loop {
            if self.inner.lock().waiting_pollers > 0 {
                return Ok(());
            }
            if !wait_changed(&mut rx, deadline).await && self.inner.lock().waiting_pollers == 0 {
                return Err(format!("bot not long-polling after {timeout:?}"));
            }
        }
    }

    /// Waits until every pushed update has been confirmed by the bot (its
    /// `offset` passed them). teloxide confirms a batch with its next
    /// `getUpdates`, i.e. once it has *received* (not necessarily handled)
    /// the updates.
    pub async fn wait_all_confirmed(&self, timeout: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.inner.updates_tx.subscribe();
        loop {
            let pending = self.pending_updates();
            if pending == 0 {
                return Ok(());
            }
            if !wait_changed(&mut rx, deadline).await && self.pending_updates() != 0 {
                return Err(format!(
                    "{} updates still unconfirmed after {timeout:?}",
                    self.pending_updates()
                ));
            }
        }
    }
}

/// Waits for a change or the deadline; false on deadline.
async fn wait_changed(rx: &mut watch::Receiver<u64>, deadline: tokio::time::Instant) -> bool {
    matches!(
        tokio::time::timeout_at(deadline, rx.changed()).await,
        Ok(Ok(()))
    )
}

// ---------------------------------------------------------------------------
// State helpers
// ---------------------------------------------------------------------------

impl St {
    fn take_update_id(&mut self) -> i64 {
        let id = self.next_update_id;
        self.next_update_id += 1;
        id
    }

    fn enqueue(&mut self, kind: &str, payload: Value) -> i64 {
        let id = self.take_update_id();
        let json = json!({"update_id": id, kind: payload});
        self.history.insert(id, json.clone());
        self.queue.push_back(QueuedUpdate {
            id,
            kind: kind.to_string(),
            json,
            forced: false,
        });
        id
    }

    fn alloc_message_id(&mut self, chat_id: i64) -> i64 {
        let next = self.next_message_id.entry(chat_id).or_insert(1);
        let id = *next;
        *next += 1;
        id
    }

    fn users_insert(&mut self, user: &FakeUser) {
        // Private chats double as the user registry.
        self.chats
            .entry(user.id)
            .or_insert_with(|| FakeChat::private(user));
    }

    fn known_chat(&self, chat_id: i64, strict: bool) -> Option<FakeChat> {
        if let Some(c) = self.chats.get(&chat_id) {
            return Some(c.clone());
        }
        if strict {
            return None;
        }
        Some(if chat_id > 0 {
            FakeChat::private(&FakeUser::new(chat_id, "User"))
        } else {
            FakeChat::group(chat_id, &format!("Chat {chat_id}"))
        })
    }

    fn chat_json(&self, chat_id: i64) -> Value {
        self.known_chat(chat_id, false)
            .map(|c| c.to_json())
            .unwrap_or(Value::Null)
    }

    fn next_random(&mut self) -> f64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (r >> 11) as f64 / (1u64 << 53) as f64
    }

    fn resolve_chat_id(&self, v: Option<&Value>) -> Result<i64, Reply> {
        match v {
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| Reply::err(400, "Bad Request: chat not found")),
            Some(Value::String(s)) => {
                if let Ok(id) = s.trim().parse::<i64>() {
                    return Ok(id);
                }
                let name = s.trim_start_matches('@');
                self.chats
                    .values()
                    .find(|c| c.username.as_deref() == Some(name))
                    .map(|c| c.id)
                    .ok_or_else(|| Reply::err(400, "Bad Request: chat not found"))
            }
            _ => Err(Reply::err(400, "Bad Request: chat_id is empty")),
        }
    }

    /// Refusals Telegram gives when the bot may not write into a chat.
    fn check_writable(&self, chat: &FakeChat) -> Result<(), Reply> {
        if let Some(new_id) = self.migrated_to.get(&chat.id) {
            return Err(Reply::err_params(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                json!({"migrate_to_chat_id": new_id}),
            ));
        }
        let status = self.bot_status.get(&chat.id).map(String::as_str);
        let kind = match chat.kind {
            ChatKind::Group => "group",
            ChatKind::Supergroup => "supergroup",
            ChatKind::Channel => "channel",
            ChatKind::Private => {
                return match status {
                    Some("kicked") => {
                        Err(Reply::err(403, "Forbidden: bot was blocked by the user"))
                    }
                    _ => Ok(()),
                };
            }
        };
        match status {
            Some("kicked") => Err(Reply::err(
                403,
                &format!("Forbidden: bot was kicked from the {kind} chat"),
            )),
            Some("left") => Err(Reply::err(
                403,
                &format!("Forbidden: bot is not a member of the {kind} chat"),
            )),
            _ => Ok(()),
        }
    }

    /// Applies the rate limits to one message sent into `chat_id`.
    fn check_rate(&mut self, limits: RateLimits, chat_id: i64, now: Instant) -> Result<(), Reply> {
        let sec = Duration::from_secs(1);
        let min = Duration::from_secs(60);
        while self
            .global_window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= sec)
        {
            self.global_window.pop_front();
        }
        if self.global_window.len() >= limits.per_second {
            self.rate_violations += 1;
            return Err(Reply::retry_after(1));
        }
        let w = self.chat_windows.entry(chat_id).or_default();
        while w.front().is_some_and(|t| now.duration_since(*t) >= min) {
            w.pop_front();
        }
        if w.len() >= limits.per_chat_per_minute {
            let oldest = *w.front().unwrap_or(&now);
            let left = min.saturating_sub(now.duration_since(oldest));
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            self.rate_violations += 1;
            return Err(Reply::retry_after(secs.max(1) as u32));
        }
        w.push_back(now);
        self.global_window.push_back(now);
        Ok(())
    }
}

fn update_kind(update: &Value) -> String {
    update
        .as_object()
        .and_then(|m| m.keys().find(|k| k.as_str() != "update_id").cloned())
        .unwrap_or_default()
}

fn chat_member_json(user: &Value, status: &str) -> Value {
    let mut m = match status {
        "creator" => json!({"status": "creator", "is_anonymous": false}),
        "administrator" => json!({
            "status": "administrator",
            "can_be_edited": false, "is_anonymous": false, "can_manage_chat": true,
            "can_delete_messages": true, "can_manage_video_chats": true,
            "can_restrict_members": true, "can_promote_members": false,
            "can_change_info": true, "can_invite_users": true, "can_pin_messages": true,
            "can_post_stories": false, "can_edit_stories": false, "can_delete_stories": false,
        }),
        "restricted" => json!({
            "status": "restricted", "until_date": 0, "is_member": true,
            "can_send_messages": false, "can_send_audios": false, "can_send_documents": false,
            "can_send_photos": false, "can_send_videos": false, "can_send_video_notes": false,
            "can_send_voice_notes": false, "can_send_polls": false,
            "can_send_other_messages": false, "can_add_web_page_previews": false,
            "can_change_info": false, "can_invite_users": false, "can_pin_messages": false,
            "can_manage_topics": false,
        }),
        "kicked" => json!({"status": "kicked", "until_date": 0}),
        "left" => json!({"status": "left"}),
        _ => json!({"status": "member"}),
    };
    m["user"] = user.clone();
    m
}

fn chat_member_updated(
    chat: &FakeChat,
    from: &FakeUser,
    user: &impl UserJson,
    old: &str,
    new: &str,
) -> Value {
    json!({
        "chat": chat.to_json(),
        "from": from.to_json(),
        "date": unix_now(),
        "old_chat_member": chat_member_json(&user.user_json(), old),
        "new_chat_member": chat_member_json(&user.user_json(), new),
    })
}

trait UserJson {
    fn user_json(&self) -> Value;
}

impl UserJson for FakeUser {
    fn user_json(&self) -> Value {
        self.to_json()
    }
}

fn command_entity(text: &str) -> Option<Value> {
    if !text.starts_with('/') {
        return None;
    }
    let cmd = text.split(char::is_whitespace).next().unwrap_or("");
    if cmd.len() < 2 {
        return None;
    }
    Some(json!({"type": "bot_command", "offset": 0, "length": utf16_len(cmd)}))
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// A message as embedded in `reply_to_message` (Telegram does not nest replies).
fn strip_reply(msg: &Value) -> Value {
    let mut m = msg.clone();
    if let Value::Object(o) = &mut m {
        o.remove("reply_to_message");
    }
    m
}

fn inline_buttons(markup: Option<&Value>) -> Vec<Value> {
    markup
        .and_then(|m| m.get("inline_keyboard"))
        .and_then(Value::as_array)
        .map(|rows| {
            rows.iter()
                .filter_map(Value::as_array)
                .flatten()
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `(command, description)` of one `BotCommand`, the command without its `/`
/// (Telegram stores it so whether or not the bot sent one).
fn command_pair(c: &Value) -> (String, String) {
    let field = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    (
        field("command").trim_start_matches('/').to_string(),
        field("description"),
    )
}

fn commands_key(params: &Value) -> String {
    let scope = params
        .get("scope")
        .filter(|v| !v.is_null())
        .cloned()
        .unwrap_or(json!({"type": "default"}));
    let lang = params
        .get("language_code")
        .and_then(Value::as_str)
        .unwrap_or("");
    format!("{scope}|{lang}")
}

// ---------------------------------------------------------------------------
// HTTP layer
// ---------------------------------------------------------------------------

/// A Bot API answer before it becomes an HTTP response.
#[derive(Clone, Debug)]
struct Reply {
    status: u16,
    body: Value,
    injected: bool,
}

impl Reply {
    fn ok(result: Value) -> Reply {
        Reply {
            status: 200,
            body: json!({"ok": true, "result": result}),
            injected: false,
        }
    }

    fn err(code: u16, description: &str) -> Reply {
        Reply {
            status: code,
            body: json!({"ok": false, "error_code": code, "description": description}),
            injected: false,
        }
    }

    fn err_params(code: u16, description: &str, parameters: Value) -> Reply {
        let mut r = Reply::err(code, description);
        r.body["parameters"] = parameters;
        r
    }

    fn retry_after(secs: u32) -> Reply {
        Reply::err_params(
            429,
            &format!("Too Many Requests: retry after {secs}"),
            json!({"retry_after": secs}),
        )
    }

    fn from_failure(f: &Failure) -> Reply {
        let mut r = match f {
            Failure::RetryAfter(s) => Reply::retry_after(*s),
            Failure::ServerError(code) => {
                let desc = match code {
                    502 => "Bad Gateway",
                    503 => "Service Unavailable",
                    504 => "Gateway Timeout",
                    _ => "Internal Server Error",
                };
                Reply::err(*code, desc)
            }
            Failure::Api { code, description } => Reply::err(*code, description),
            Failure::MigrateTo(id) => Reply::err_params(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                json!({"migrate_to_chat_id": id}),
            ),
        };
        r.injected = true;
        r
    }

    fn is_ok(&self) -> bool {
        self.body.get("ok") == Some(&Value::Bool(true))
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body.to_string(),
        )
            .into_response()
    }
}

async fn handle_request(
    State(inner): State<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let segments: Vec<String> = uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let Some(pos) = segments.iter().position(|s| s.starts_with("bot")) else {
        return Reply::err(404, "Not Found").into_response();
    };
    if pos > 0 && segments[pos - 1] == "file" {
        return Reply::err(404, "Not Found: files are not faked").into_response();
    }
    let token = segments[pos].trim_start_matches("bot").to_string();
    let Some(raw_method) = segments.get(pos + 1).cloned() else {
        return Reply::err(404, "Not Found: method not found").into_response();
    };
    let method = raw_method.to_ascii_lowercase();

    let params = match parse_params(&headers, uri.query(), &body) {
        Ok(p) => p,
        Err(e) => {
            let reply = Reply::err(400, &format!("Bad Request: {e}"));
            record(
                &inner,
                &method,
                &raw_method,
                &token,
                Value::Null,
                at,
                &reply,
            );
            return reply.into_response();
        }
    };

    if let Some(required) = &inner.options.require_token
        && *required != token
    {
        let reply = Reply::err(401, "Unauthorized");
        record(&inner, &method, &raw_method, &token, params, at, &reply);
        return reply.into_response();
    }

    if method == "getupdates" {
        let reply = match injected_failure(&inner, &method) {
            Some(r) => r,
            None => get_updates(&inner, &params).await,
        };
        record(&inner, &method, &raw_method, &token, params, at, &reply);
        return reply.into_response();
    }

    if let Some(lat) = inner.options.latency {
        tokio::time::sleep(lat).await;
    }
    let reply = match injected_failure(&inner, &method) {
        Some(r) => r,
        None => {
            let mut st = inner.lock();
            dispatch(&inner, &mut st, &method, &params, at).unwrap_or_else(|e| e)
        }
    };
    record(&inner, &method, &raw_method, &token, params, at, &reply);
    reply.into_response()
}

fn record(
    inner: &Inner,
    method: &str,
    raw_method: &str,
    token: &str,
    params: Value,
    at: Instant,
    reply: &Reply,
) {
    let outcome = if reply.is_ok() {
        Outcome::Ok
    } else {
        Outcome::Failed {
            status: reply.status,
            description: reply
                .body
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            injected: reply.injected,
        }
    };
    let response = if reply.is_ok() {
        reply.body["result"].clone()
    } else {
        reply.body.clone()
    };
    {
        let mut st = inner.lock();
        let seq = st.calls.len() as u64;
        st.calls.push(Call {
            seq,
            method: method.to_string(),
            raw_method: raw_method.to_string(),
            token: token.to_string(),
            params,
            at,
            outcome,
            response,
        });
    }
    inner.bump_calls();
}

fn injected_failure(inner: &Inner, method: &str) -> Option<Reply> {
    let mut st = inner.lock();
    for key in [method, "*"] {
        if key == "*" && method == "getupdates" {
            continue;
        }
        if let Some(q) = st.fail_next.get_mut(key)
            && let Some(f) = q.pop_front()
        {
            return Some(Reply::from_failure(&f));
        }
    }
    for key in [method, "*"] {
        if key == "*" && method == "getupdates" {
            continue;
        }
        let Some((p, f)) = st
            .fail_random
            .get(key)
            .map(|r| (r.probability, r.failure.clone()))
        else {
            continue;
        };
        if st.next_random() < p {
            return Some(Reply::from_failure(&f));
        }
    }
    None
}

fn parse_params(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Result<Value, String> {
    let mut out = Map::new();
    if let Some(q) = query {
        for (k, v) in parse_urlencoded(q) {
            out.insert(k, loose_value(&v));
        }
    }
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let trimmed = body
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .copied()
        .collect::<Vec<u8>>();
    if trimmed.is_empty() {
        return Ok(Value::Object(out));
    }
    if ctype.contains("multipart/") {
        out.insert("_multipart".into(), json!(true));
        let boundary = ctype
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .map(|b| b.trim_matches('"').to_string());
        // The header was lower-cased above; the boundary in the body keeps its case.
        let boundary = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(';')
                    .find_map(|p| p.trim().strip_prefix("boundary="))
                    .map(|b| b.trim_matches('"').to_string())
            })
            .or(boundary)
            .ok_or_else(|| "multipart body without a boundary".to_string())?;
        for (k, v) in parse_multipart(body, &boundary) {
            out.insert(k, loose_value(&v));
        }
    } else if ctype.contains("x-www-form-urlencoded") {
        let s = std::str::from_utf8(body).map_err(|_| "body is not UTF-8".to_string())?;
        for (k, v) in parse_urlencoded(s) {
            out.insert(k, loose_value(&v));
        }
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => out.extend(m),
            Ok(Value::Null) => {}
            Ok(_) => return Err("parameters must be a JSON object".into()),
            Err(e) => return Err(format!("can't parse JSON body: {e}")),
        }
    }
    // `null` means "absent" for our purposes.
    out.retain(|_, v| !v.is_null());
    Ok(Value::Object(out))
}

/// The text fields of a `multipart/form-data` body (file uploads by id are text
/// too; uploaded bytes are kept as lossy text, which no test reads).
fn parse_multipart(body: &[u8], boundary: &str) -> Vec<(String, String)> {
    let body = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    body.split(delimiter.as_str())
        .filter_map(|part| {
            let part = part.strip_prefix("\r\n")?;
            let (head, value) = part.split_once("\r\n\r\n")?;
            let name = head.lines().find_map(|l| {
                let l = l.trim();
                l.to_ascii_lowercase()
                    .starts_with("content-disposition")
                    .then(|| l.split(';').find_map(|p| p.trim().strip_prefix("name=")))
                    .flatten()
                    .map(|n| n.trim_matches('"').to_string())
            })?;
            Some((
                name,
                value.strip_suffix("\r\n").unwrap_or(value).to_string(),
            ))
        })
        .collect()
}

/// Form values are strings; Telegram reads JSON-looking ones as JSON.
fn loose_value(s: &str) -> Value {
    match serde_json::from_str::<Value>(s) {
        Ok(v @ (Value::Number(_) | Value::Object(_) | Value::Array(_) | Value::Bool(_))) => v,
        _ => Value::String(s.to_string()),
    }
}

fn parse_urlencoded(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------
// getUpdates
// ---------------------------------------------------------------------------

/// Decrements the waiting-pollers gauge even if the request is cancelled.
struct PollerGuard<'a>(&'a Inner);

impl Drop for PollerGuard<'_> {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.waiting_pollers = st.waiting_pollers.saturating_sub(1);
    }
}

async fn get_updates(inner: &Inner, params: &Value) -> Reply {
    let offset = int_param(params, "offset");
    let limit = int_param(params, "limit").unwrap_or(100).clamp(1, 100) as usize;
    let timeout = int_param(params, "timeout").unwrap_or(0).max(0) as u64;
    let timeout = Duration::from_secs(timeout).min(inner.options.max_poll_timeout);
    let allowed: Option<Vec<String>> = params.get("allowed_updates").and_then(|v| match v {
        Value::Array(a) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
        ),
        Value::String(s) => serde_json::from_str::<Vec<String>>(s).ok(),
        _ => None,
    });

    let mut rx = inner.updates_tx.subscribe();
    let generation = {
        let mut st = inner.lock();
        if st.webhook_url.is_some() {
            return Reply::err(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            );
        }
        if let Some(off) = offset {
            if off > 0 {
                st.queue.retain(|u| u.forced || u.id >= off);
                st.confirmed_offset = st.confirmed_offset.max(off);
            } else if off < 0 {
                let keep = off.unsigned_abs() as usize;
                let regular = st.queue.iter().filter(|u| !u.forced).count();
                let mut drop_n = regular.saturating_sub(keep);
                st.queue.retain(|u| {
                    if u.forced || drop_n == 0 {
                        true
                    } else {
                        drop_n -= 1;
                        false
                    }
                });
            }
        }
        if let Some(a) = allowed {
            // Telegram: an empty list means "all default kinds".
            st.allowed_updates = if a.is_empty() { None } else { Some(a) };
        }
        st.poll_generation += 1;
        st.last_poll_is_long = !timeout.is_zero();
        st.poll_generation
    };
    // Wake (and so terminate) an older concurrent poll.
    inner.bump_updates();
    rx.borrow_and_update();

    let deadline = tokio::time::Instant::now() + timeout;
    let mut guard: Option<PollerGuard<'_>> = None;
    loop {
        {
            let mut st = inner.lock();
            if st.poll_generation != generation && inner.options.conflict_on_concurrent_polls {
                if st.last_poll_is_long {
                    st.poll_conflicts += 1;
                }
                return Reply::err(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                );
            }
            let batch = take_batch(&mut st, limit);
            if !batch.is_empty() || st.shutdown || tokio::time::Instant::now() >= deadline {
                return Reply::ok(Value::Array(batch));
            }
            if guard.is_none() {
                st.waiting_pollers += 1;
            }
        }
        if guard.is_none() {
            guard = Some(PollerGuard(inner));
            inner.bump_updates_quiet();
        }
        let _ = tokio::time::timeout_at(deadline, rx.changed()).await;
    }
}

impl Inner {
    /// Signals `wait_until_polling` without terminating polls (the
    /// generation is unchanged, so pollers just re-check and sleep again).
    fn bump_updates_quiet(&self) {
        self.bump_updates();
    }
}

fn take_batch(st: &mut St, limit: usize) -> Vec<Value> {
    let allowed = st.allowed_updates.clone();
    let wanted = |kind: &str| match &allowed {
        Some(a) => a.iter().any(|k| k == kind),
        None => !DEFAULT_EXCLUDED_UPDATES.contains(&kind),
    };
    let mut batch = Vec::new();
    // Queue positions to remove: delivered redeliveries and unwanted kinds
    // (Telegram never sends those, so they would otherwise stay pending).
    let mut remove = HashSet::new();
    let mut dropped = Vec::new();
    let mut ids = Vec::new();
    for (i, u) in st.queue.iter().enumerate() {
        if !wanted(&u.kind) {
            remove.insert(i);
            dropped.push(u.id);
            continue;
        }
        if batch.len() >= limit {
            continue;
        }
        batch.push(u.json.clone());
        ids.push(u.id);
        if u.forced {
            remove.insert(i);
        }
    }
    if !remove.is_empty() {
        let mut i = 0;
        st.queue.retain(|_| {
            let keep = !remove.contains(&i);
            i += 1;
            keep
        });
    }
    st.dropped_updates.extend(dropped);
    for id in ids {
        *st.delivery_counts.entry(id).or_insert(0) += 1;
    }
    batch
}

fn int_param(params: &Value, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn bool_param(params: &Value, key: &str) -> bool {
    match params.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Methods
// ---------------------------------------------------------------------------

fn dispatch(
    inner: &Inner,
    st: &mut St,
    method: &str,
    p: &Value,
    at: Instant,
) -> Result<Reply, Reply> {
    let strict = inner.options.strict_chats;
    match method {
        "getme" => Ok(Reply::ok(json!({
            "id": BOT_ID,
            "is_bot": true,
            "first_name": BOT_FIRST_NAME,
            "username": inner.options.bot_username,
            "can_join_groups": true,
            "can_read_all_group_messages": inner.options.can_read_all_group_messages,
            "supports_inline_queries": false,
            "can_connect_to_business": false,
            "has_main_web_app": false,
        }))),
        "getwebhookinfo" => Ok(Reply::ok(json!({
            "url": st.webhook_url.clone().unwrap_or_default(),
            "has_custom_certificate": false,
            "pending_update_count": st.queue.len(),
        }))),
        "deletewebhook" => {
            st.webhook_url = None;
            if bool_param(p, "drop_pending_updates") {
                st.queue.clear();
            }
            Ok(Reply::ok(json!(true)))
        }
        "setwebhook" => {
            let url = p
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            st.webhook_url = if url.is_empty() { None } else { Some(url) };
            Ok(Reply::ok(json!(true)))
        }
        "sendmessage" => send_message(inner, st, p, at),
        "sendpoll" => send_poll(inner, st, p, at),
        "sendphoto" | "sendvoice" | "sendvideo" | "senddocument" | "sendaudio" => {
            send_media(inner, st, method, p, at)
        }
        "copymessage" | "forwardmessage" => copy_or_forward(inner, st, method, p, at),
        "editmessagetext" | "editmessagereplymarkup" => edit_message(st, method, p, at),
        "deletemessage" => {
            let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
            let message_id = int_param(p, "message_id").ok_or_else(|| {
                Reply::err(400, "Bad Request: message identifier is not specified")
            })?;
            match st.messages.get_mut(&(chat_id, message_id)) {
                Some(m) if !m.deleted => m.deleted = true,
                _ => return Err(Reply::err(400, "Bad Request: message to delete not found")),
            }
            st.deletions.push(Deletion {
                chat_id,
                message_id,
                at,
            });
            Ok(Reply::ok(json!(true)))
        }
        "deletemessages" => {
            let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
            let ids: Vec<i64> = p
                .get("message_ids")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            for message_id in ids {
                if let Some(m) = st.messages.get_mut(&(chat_id, message_id))
                    && !m.deleted
                {
                    m.deleted = true;
                    st.deletions.push(Deletion {
                        chat_id,
                        message_id,
                        at,
                    });
                }
            }
            Ok(Reply::ok(json!(true)))
        }
        "pinchatmessage" => {
            let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
            let message_id = int_param(p, "message_id").ok_or_else(|| {
                Reply::err(400, "Bad Request: message identifier is not specified")
            })?;
            if st
                .messages
                .get(&(chat_id, message_id))
                .is_none_or(|m| m.deleted)
            {
                return Err(Reply::err(400, "Bad Request: message to pin not found"));
            }
            let stack = st.pinned.entry(chat_id).or_default();
            stack.retain(|m| *m != message_id);
            stack.push(message_id);
            st.pins.push(Pin {
                action: PinAction::Pin,
                chat_id,
                message_id: Some(message_id),
                disable_notification: bool_param(p, "disable_notification"),
                at,
            });
            Ok(Reply::ok(json!(true)))
        }
        "unpinchatmessage" => {
            let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
            let stack = st.pinned.entry(chat_id).or_default();
            let message_id = match int_param(p, "message_id") {
                Some(id) => {
                    stack.retain(|m| *m != id);
                    Some(id)
                }
                None => stack.pop(),
            };
            st.pins.push(Pin {
                action: PinAction::Unpin,
                chat_id,
                message_id,
                disable_notification: false,
                at,
            });
            Ok(Reply::ok(json!(true)))
        }
        "unpinallchatmessages" => {
            let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
            st.pinned.remove(&chat_id);
            st.pins.push(Pin {
                action: PinAction::UnpinAll,
                chat_id,
                message_id: None,
                disable_notification: false,
                at,
            });
            Ok(Reply::ok(json!(true)))
        }
        "answercallbackquery" => {
            let id = match p.get("callback_query_id") {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            };
            match st.callbacks.get_mut(&id) {
                Some(answered @ false) => {
                    *answered = true;
                    Ok(Reply::ok(json!(true)))
                }
                _ => Err(Reply::err(
                    400,
                    "Bad Request: query is too old and response timeout expired or query id is invalid",
                )),
            }
        }
        "setmycommands" => {
            let commands = p.get("commands").cloned().unwrap_or(json!([]));
            if !commands.is_array() {
                return Err(Reply::err(
                    400,
                    "Bad Request: can't parse commands JSON object",
                ));
            }
            st.commands.insert(commands_key(p), commands);
            Ok(Reply::ok(json!(true)))
        }
        "deletemycommands" => {
            st.commands.remove(&commands_key(p));
            Ok(Reply::ok(json!(true)))
        }
        "getmycommands" => Ok(Reply::ok(
            st.commands
                .get(&commands_key(p))
                .cloned()
                .unwrap_or(json!([])),
        )),
        "getchat" => {
            let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
            let chat = st
                .known_chat(chat_id, true)
                .ok_or_else(|| Reply::err(400, "Bad Request: chat not found"))?;
            let mut full = chat.to_json();
            full["accepted_gift_types"] = json!({
                "unlimited_gifts": false, "limited_gifts": false,
                "unique_gifts": false, "premium_subscription": false,
            });
            full["max_reaction_count"] = json!(11);
            full["accent_color_id"] = json!(0);
            if let Some(pinned) = st.pinned.get(&chat_id).and_then(|v| v.last())
                && let Some(m) = st.messages.get(&(chat_id, *pinned))
            {
                full["pinned_message"] = strip_reply(&m.json);
            }
            Ok(Reply::ok(full))
        }
        "getchatmember" => {
            let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
            let user_id = int_param(p, "user_id")
                .ok_or_else(|| Reply::err(400, "Bad Request: user not found"))?;
            if user_id == BOT_ID {
                let status = st
                    .bot_status
                    .get(&chat_id)
                    .cloned()
                    .unwrap_or_else(|| "member".into());
                return Ok(Reply::ok(chat_member_json(&inner.bot_user(), &status)));
            }
            let user = match st.chats.get(&user_id) {
                Some(FakeChat { user: Some(u), .. }) => u.to_json(),
                _ => FakeUser::new(user_id, "User").to_json(),
            };
            let status = st
                .member_status
                .get(&(chat_id, user_id))
                .cloned()
                .unwrap_or_else(|| "member".into());
            Ok(Reply::ok(chat_member_json(&user, &status)))
        }
        "getchatadministrators" => {
            let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
            let mut admins = Vec::new();
            for ((c, uid), status) in &st.member_status {
                if *c == chat_id && (status == "creator" || status == "administrator") {
                    let user = match st.chats.get(uid) {
                        Some(FakeChat { user: Some(u), .. }) => u.to_json(),
                        _ => FakeUser::new(*uid, "User").to_json(),
                    };
                    admins.push(chat_member_json(&user, status));
                }
            }
            if st.bot_status.get(&chat_id).map(String::as_str) == Some("administrator") {
                admins.push(chat_member_json(&inner.bot_user(), "administrator"));
            }
            Ok(Reply::ok(Value::Array(admins)))
        }
        "getchatmembercount" => {
            let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
            let n = st
                .member_status
                .keys()
                .filter(|(c, _)| *c == chat_id)
                .count()
                + 1;
            Ok(Reply::ok(json!(n)))
        }
        "sendchataction" => {
            let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
            if let Some(chat) = st.known_chat(chat_id, strict) {
                st.check_writable(&chat)?;
            }
            Ok(Reply::ok(json!(true)))
        }
        "leavechat" => {
            let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
            st.bot_status.insert(chat_id, "left".into());
            Ok(Reply::ok(json!(true)))
        }
        _ => Ok(Reply::ok(json!(true))),
    }
}

fn send_message(inner: &Inner, st: &mut St, p: &Value, at: Instant) -> Result<Reply, Reply> {
    let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
    let chat = st
        .known_chat(chat_id, inner.options.strict_chats)
        .ok_or_else(|| Reply::err(400, "Bad Request: chat not found"))?;
    let text = p
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if text.trim().is_empty() {
        return Err(Reply::err(400, "Bad Request: message text is empty"));
    }
    if utf16_len(&text) > MAX_TEXT_LEN {
        return Err(Reply::err(400, "Bad Request: message is too long"));
    }
    st.check_writable(&chat)?;

    let rp = p.get("reply_parameters");
    let reply_to = rp
        .and_then(|r| int_param(r, "message_id"))
        .or_else(|| int_param(p, "reply_to_message_id"));
    let reply_chat = match rp.and_then(|r| r.get("chat_id")) {
        Some(v) => st.resolve_chat_id(Some(v))?,
        None => chat_id,
    };
    let allow_without = rp.is_some_and(|r| bool_param(r, "allow_sending_without_reply"))
        || bool_param(p, "allow_sending_without_reply");
    let replied = match reply_to {
        Some(mid) if reply_chat == chat_id => {
            match st.messages.get(&(chat_id, mid)).filter(|m| !m.deleted) {
                Some(m) => Some(strip_reply(&m.json)),
                None if allow_without => None,
                None => {
                    return Err(Reply::err(
                        400,
                        "Bad Request: message to be replied not found",
                    ));
                }
            }
        }
        _ => None,
    };

    if let Some(limits) = inner.options.rate_limits {
        st.check_rate(limits, chat_id, at)?;
    }

    st.chats.entry(chat_id).or_insert_with(|| chat.clone());
    let message_id = st.alloc_message_id(chat_id);
    let markup = p.get("reply_markup").cloned();
    let markup = match markup {
        Some(Value::String(s)) => serde_json::from_str(&s).ok(),
        other => other,
    };
    let mut m = Map::new();
    m.insert("message_id".into(), json!(message_id));
    m.insert("from".into(), inner.bot_user());
    m.insert("chat".into(), chat.to_json());
    m.insert("date".into(), json!(unix_now()));
    if let Some(t) = p.get("message_thread_id") {
        m.insert("message_thread_id".into(), t.clone());
    }
    m.insert("text".into(), json!(text));
    if let Some(r) = &replied {
        m.insert("reply_to_message".into(), r.clone());
    }
    // Only inline keyboards are echoed back in the Message (as Telegram does).
    if let Some(mk) = markup
        .as_ref()
        .filter(|mk| mk.get("inline_keyboard").is_some())
    {
        m.insert("reply_markup".into(), mk.clone());
    }
    let json = Value::Object(m);
    st.messages.insert(
        (chat_id, message_id),
        StoredMessage {
            json: json.clone(),
            from_bot: true,
            deleted: false,
        },
    );
    st.sent.push(SentMessage {
        method: "sendmessage".into(),
        chat_id,
        message_id,
        text,
        parse_mode: p
            .get("parse_mode")
            .and_then(Value::as_str)
            .map(String::from),
        reply_to_message_id: reply_to,
        reply_markup: markup,
        params: p.clone(),
        at,
    });
    Ok(Reply::ok(json))
}

/// `sendPoll`: a regular poll with 2–10 options; the poll's id is
/// `poll-<chat>-<message>`, and the question is recorded as the text.
fn send_poll(inner: &Inner, st: &mut St, p: &Value, at: Instant) -> Result<Reply, Reply> {
    let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
    let chat = st
        .known_chat(chat_id, inner.options.strict_chats)
        .ok_or_else(|| Reply::err(400, "Bad Request: chat not found"))?;
    let question = p
        .get("question")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if question.is_empty() || question.chars().count() > 300 {
        return Err(Reply::err(
            400,
            "Bad Request: poll question length must be 1-300",
        ));
    }
    let options = match p.get("options").cloned() {
        Some(Value::String(s)) => serde_json::from_str(&s).unwrap_or(Value::Null),
        other => other.unwrap_or(Value::Null),
    };
    let texts: Vec<String> = options
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|o| o.get("text").and_then(Value::as_str).or(o.as_str()))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if !(2..=10).contains(&texts.len())
        || texts
            .iter()
            .any(|t| t.is_empty() || t.chars().count() > 100)
    {
        return Err(Reply::err(
            400,
            "Bad Request: poll must have 2-10 options of 1-100 characters",
        ));
    }
    st.check_writable(&chat)?;
    if let Some(limits) = inner.options.rate_limits {
        st.check_rate(limits, chat_id, at)?;
    }
    let message_id = st.alloc_message_id(chat_id);
    let anonymous = p
        .get("is_anonymous")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let poll = json!({
        "id": format!("poll-{chat_id}-{message_id}"),
        "question": question,
        "options": texts.iter().map(|t| json!({"text": t, "voter_count": 0})).collect::<Vec<_>>(),
        "total_voter_count": 0,
        "is_closed": false,
        "is_anonymous": anonymous,
        "type": "regular",
        "allows_multiple_answers": false,
    });
    let json = json!({
        "message_id": message_id,
        "from": inner.bot_user(),
        "chat": chat.to_json(),
        "date": unix_now(),
        "poll": poll,
    });
    st.messages.insert(
        (chat_id, message_id),
        StoredMessage {
            json: json.clone(),
            from_bot: true,
            deleted: false,
        },
    );
    st.sent.push(SentMessage {
        method: "sendpoll".into(),
        chat_id,
        message_id,
        text: question,
        parse_mode: None,
        reply_to_message_id: None,
        reply_markup: None,
        params: p.clone(),
        at,
    });
    Ok(Reply::ok(json))
}

/// `sendPhoto`, `sendVoice`, ... by file id (what the desk sends): the file id
/// must be one the fake handed out with an owner's message, as Telegram only
/// knows ids of files it has. Recorded like a message, `text` = the caption.
fn send_media(
    inner: &Inner,
    st: &mut St,
    method: &str,
    p: &Value,
    at: Instant,
) -> Result<Reply, Reply> {
    let field = method.trim_start_matches("send");
    let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
    let chat = st
        .known_chat(chat_id, inner.options.strict_chats)
        .ok_or_else(|| Reply::err(400, "Bad Request: chat not found"))?;
    let file_id = p
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if file_id.is_empty() {
        return Err(Reply::err(
            400,
            &format!("Bad Request: there is no {field} in the request"),
        ));
    }
    if !st.files.contains(&file_id) {
        return Err(Reply::err(
            400,
            "Bad Request: wrong remote file identifier specified: can't unserialize it",
        ));
    }
    let caption = p
        .get("caption")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if utf16_len(&caption) > 1024 {
        return Err(Reply::err(400, "Bad Request: message caption is too long"));
    }
    st.check_writable(&chat)?;
    if let Some(limits) = inner.options.rate_limits {
        st.check_rate(limits, chat_id, at)?;
    }
    let markup = match p.get("reply_markup").cloned() {
        Some(Value::String(s)) => serde_json::from_str(&s).ok(),
        other => other,
    };
    let reply_to = p
        .get("reply_parameters")
        .and_then(|r| match r {
            Value::String(s) => serde_json::from_str::<Value>(s).ok(),
            other => Some(other.clone()),
        })
        .and_then(|r| int_param(&r, "message_id"));
    let message_id = st.alloc_message_id(chat_id);
    let mut m = Map::new();
    m.insert("message_id".into(), json!(message_id));
    m.insert("from".into(), inner.bot_user());
    m.insert("chat".into(), chat.to_json());
    m.insert("date".into(), json!(unix_now()));
    m.insert(field.into(), media_json(field, &file_id));
    if !caption.is_empty() {
        m.insert("caption".into(), json!(caption));
    }
    if let Some(mk) = markup
        .as_ref()
        .filter(|mk| mk.get("inline_keyboard").is_some())
    {
        m.insert("reply_markup".into(), mk.clone());
    }
    let json = Value::Object(m);
    st.messages.insert(
        (chat_id, message_id),
        StoredMessage {
            json: json.clone(),
            from_bot: true,
            deleted: false,
        },
    );
    st.sent.push(SentMessage {
        method: method.to_string(),
        chat_id,
        message_id,
        text: caption,
        parse_mode: None,
        reply_to_message_id: reply_to,
        reply_markup: markup,
        params: p.clone(),
        at,
    });
    Ok(Reply::ok(json))
}

/// The `Message` field for a file: a photo is a list of sizes, the rest one object.
fn media_json(field: &str, file_id: &str) -> Value {
    let unique = format!("u{}", file_id.len());
    match field {
        "photo" => json!([
            {"file_id": format!("{file_id}"), "file_unique_id": unique, "width": 90, "height": 90},
        ]),
        "voice" | "audio" => {
            json!({"file_id": file_id, "file_unique_id": unique, "duration": 3, "mime_type": "audio/ogg"})
        }
        "video" => {
            json!({"file_id": file_id, "file_unique_id": unique, "width": 640, "height": 480, "duration": 3})
        }
        _ => json!({"file_id": file_id, "file_unique_id": unique}),
    }
}

fn edit_message(st: &mut St, method: &str, p: &Value, at: Instant) -> Result<Reply, Reply> {
    if p.get("inline_message_id").is_some() {
        return Ok(Reply::ok(json!(true)));
    }
    let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
    let message_id = int_param(p, "message_id")
        .ok_or_else(|| Reply::err(400, "Bad Request: message identifier is not specified"))?;
    let kind = if method == "editmessagetext" {
        EditKind::Text
    } else {
        EditKind::ReplyMarkup
    };
    let new_text = p.get("text").and_then(Value::as_str).map(String::from);
    if kind == EditKind::Text {
        match &new_text {
            None => return Err(Reply::err(400, "Bad Request: text is empty")),
            Some(t) if t.trim().is_empty() => {
                return Err(Reply::err(400, "Bad Request: message text is empty"));
            }
            Some(t) if utf16_len(t) > MAX_TEXT_LEN => {
                return Err(Reply::err(400, "Bad Request: MESSAGE_TOO_LONG"));
            }
            _ => {}
        }
    }
    let markup = match p.get("reply_markup").cloned() {
        Some(Value::String(s)) => serde_json::from_str(&s).ok(),
        other => other,
    };
    let stored = match st.messages.get_mut(&(chat_id, message_id)) {
        Some(m) if !m.deleted => m,
        _ => return Err(Reply::err(400, "Bad Request: message to edit not found")),
    };
    if !stored.from_bot {
        return Err(Reply::err(400, "Bad Request: message can't be edited"));
    }
    let old_text = stored
        .json
        .get("text")
        .and_then(Value::as_str)
        .map(String::from);
    let old_markup = stored.json.get("reply_markup").cloned();
    // Telegram drops the inline keyboard when an edit does not repeat it.
    let final_markup = markup
        .clone()
        .filter(|m| m.get("inline_keyboard").is_some());
    let final_text = if kind == EditKind::Text {
        new_text.clone()
    } else {
        old_text.clone()
    };
    if final_text == old_text && final_markup == old_markup {
        return Err(Reply::err(
            400,
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
        ));
    }
    if let Value::Object(o) = &mut stored.json {
        if let Some(t) = &final_text {
            o.insert("text".into(), json!(t));
        }
        match &final_markup {
            Some(mk) => o.insert("reply_markup".into(), mk.clone()),
            None => o.remove("reply_markup"),
        };
        o.insert("edit_date".into(), json!(unix_now()));
    }
    let result = stored.json.clone();
    st.edits.push(Edit {
        kind,
        chat_id,
        message_id,
        text: if kind == EditKind::Text {
            new_text
        } else {
            None
        },
        reply_markup: markup,
        at,
    });
    Ok(Reply::ok(result))
}

/// `copyMessage` (result: `MessageId`) and `forwardMessage` (result: the new
/// `Message` with `forward_origin`) of a message the fake knows; text only.
fn copy_or_forward(
    inner: &Inner,
    st: &mut St,
    method: &str,
    p: &Value,
    at: Instant,
) -> Result<Reply, Reply> {
    let forward = method == "forwardmessage";
    let chat_id = st.resolve_chat_id(p.get("chat_id"))?;
    let from_chat_id = st.resolve_chat_id(p.get("from_chat_id"))?;
    let src_id = int_param(p, "message_id")
        .ok_or_else(|| Reply::err(400, "Bad Request: message identifier is not specified"))?;
    let src = st
        .messages
        .get(&(from_chat_id, src_id))
        .filter(|m| !m.deleted)
        .map(|m| m.json.clone())
        .ok_or_else(|| {
            let what = if forward { "forward" } else { "copy" };
            Reply::err(400, &format!("Bad Request: message to {what} not found"))
        })?;
    let chat = st
        .known_chat(chat_id, inner.options.strict_chats)
        .ok_or_else(|| Reply::err(400, "Bad Request: chat not found"))?;
    st.check_writable(&chat)?;
    if let Some(limits) = inner.options.rate_limits {
        st.check_rate(limits, chat_id, at)?;
    }
    st.chats.entry(chat_id).or_insert_with(|| chat.clone());
    let message_id = st.alloc_message_id(chat_id);
    let text = src
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let markup = match p.get("reply_markup").cloned() {
        Some(Value::String(s)) => serde_json::from_str(&s).ok(),
        other => other,
    };
    let mut m = Map::new();
    m.insert("message_id".into(), json!(message_id));
    m.insert("from".into(), inner.bot_user());
    m.insert("chat".into(), chat.to_json());
    m.insert("date".into(), json!(unix_now()));
    if forward {
        let origin = match src.get("from") {
            Some(user) => json!({"type": "user", "sender_user": user, "date": src["date"]}),
            None => {
                json!({"type": "hidden_user", "sender_user_name": "Hidden", "date": src["date"]})
            }
        };
        m.insert("forward_origin".into(), origin);
    }
    m.insert("text".into(), json!(text));
    if let Some(mk) = markup
        .as_ref()
        .filter(|mk| mk.get("inline_keyboard").is_some())
    {
        m.insert("reply_markup".into(), mk.clone());
    }
    let json = Value::Object(m);
    st.messages.insert(
        (chat_id, message_id),
        StoredMessage {
            json: json.clone(),
            from_bot: true,
            deleted: false,
        },
    );
    st.sent.push(SentMessage {
        method: method.to_string(),
        chat_id,
        message_id,
        text,
        parse_mode: None,
        reply_to_message_id: p
            .pointer("/reply_parameters/message_id")
            .and_then(Value::as_i64),
        reply_markup: markup,
        params: p.clone(),
        at,
    });
    Ok(Reply::ok(if forward {
        json
    } else {
        json!({"message_id": message_id})
    }))
}
