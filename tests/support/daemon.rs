//! The real `guanjia run` daemon as a child process, pointed at a fake Bot API,
//! with its own database and config in a temporary directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::fake_bot_api::{FakeBotApi, FakeChat, FakeUser};

pub const STAFF_CHAT: i64 = -100_900;
pub const GROUP_3: i64 = -100_301;
pub const GROUP_5: i64 = -100_501;
pub const ADMIN: i64 = 9001;
pub const LI: i64 = 9002;
pub const WANG: i64 = 9003;

pub fn admin() -> FakeUser {
    FakeUser::new(ADMIN, "主管老周")
}
pub fn li() -> FakeUser {
    FakeUser::new(LI, "李师傅").with_username("lishifu")
}
pub fn wang() -> FakeUser {
    FakeUser::new(WANG, "王师傅").with_username("wangshifu")
}
pub fn owner() -> FakeUser {
    FakeUser::new(1001, "张阿姨")
}
pub fn neighbour() -> FakeUser {
    FakeUser::new(1002, "刘先生")
}
pub fn staff_chat() -> FakeChat {
    FakeChat::group(STAFF_CHAT, "物业员工群")
}
pub fn group3() -> FakeChat {
    FakeChat::group(GROUP_3, "幸福里3栋业主群")
}
pub fn group5() -> FakeChat {
    FakeChat::group(GROUP_5, "幸福里5栋业主群")
}

/// A daemon's home: config and database survive restarts of the process.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    /// `extra` is appended to the config (more `[[building]]`s, `[fees]`, ...).
    pub fn new(fake: &FakeBotApi, extra: &str) -> Home {
        Self::with_rate(fake, 30, extra)
    }

    /// As `new`, sending at most `per_second` messages a second.
    pub fn with_rate(fake: &FakeBotApi, per_second: u32, extra: &str) -> Home {
        Self::with_telegram(fake, per_second, "", extra)
    }

    /// As `with_rate`, with `telegram` added to the `[telegram]` section
    /// (`webhook_url = ...`).
    pub fn with_telegram(fake: &FakeBotApi, per_second: u32, telegram: &str, extra: &str) -> Home {
        let dir = tempfile::tempdir().expect("a temp dir");
        let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("intents");
        let config = format!(
            r#"
[telegram]
token = "{token}"
api_url = "{url}"
poll_timeout_secs = 1
max_per_second = {per_second}
{telegram}

[database]
url = "sqlite://{db}"

[desk]
timezone = "Asia/Shanghai"
staff_chat = {STAFF_CHAT}
admins = [{ADMIN}]
staff = [{LI}, {WANG}]
rules_dir = "{rules}"

[[building]]
name = "3栋"
chat = {GROUP_3}

[[building]]
name = "5栋"
chat = {GROUP_5}
{extra}
"#,
            token = fake.token(),
            url = fake.api_url(),
            db = dir.path().join("guanjia.db").display(),
            rules = rules.display(),
        );
        std::fs::write(dir.path().join("guanjia.toml"), config).expect("config written");
        Home { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("guanjia.toml")
    }

    /// Run `guanjia <args>` against this home's config, to completion.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_guanjia"))
            .arg("--config")
            .arg(self.config())
            .args(args)
            .env_remove("TELOXIDE_TOKEN")
            .env_remove("TELOXIDE_API_URL")
            .env_remove("DATABASE_URL")
            .output()
            .expect("guanjia runs")
    }

    /// Start `guanjia run` and wait until it is long-polling.
    pub async fn start(&self, fake: &FakeBotApi) -> Daemon {
        let log = std::env::var("GUANJIA_TEST_LOG").unwrap_or_else(|_| "warn".into());
        let daemon = self.spawn(&log, Stdio::inherit());
        // A ceiling, not a timing goal: a debug build trains the model at start,
        // and on a loaded 2-core machine that has taken over 20 s.
        fake.wait_until_polling(Duration::from_secs(60))
            .await
            .expect("the daemon polls");
        daemon
    }

    /// Start `guanjia run` with `RUST_LOG=log` and its stderr going to
    /// `stderr`, without waiting for anything.
    pub fn spawn(&self, log: &str, stderr: Stdio) -> Daemon {
        let child = Command::new(env!("CARGO_BIN_EXE_guanjia"))
            .arg("--config")
            .arg(self.config())
            .arg("run")
            .env_remove("TELOXIDE_TOKEN")
            .env_remove("TELOXIDE_API_URL")
            .env_remove("DATABASE_URL")
            .env_remove("GUANJIA_WEBHOOK_SECRET")
            .env("RUST_LOG", log)
            .stdin(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the daemon starts");
        Daemon { child }
    }
}

pub struct Daemon {
    child: Child,
}

impl Daemon {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it writes to stderr, if it was spawned with `Stdio::piped()`.
    pub fn take_stderr(&mut self) -> Option<std::process::ChildStderr> {
        self.child.stderr.take()
    }

    /// SIGKILL: a crash, no chance to finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
        panic!("the daemon did not stop within 15 s of SIGTERM");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until the daemon is between two sends (nothing new for 300 ms, after at
/// least `min_sent` messages), so a kill there tests resuming, not the one window
/// no chat API lets us close (a message accepted by Telegram, not yet marked sent).
pub async fn quiet_moment(fake: &FakeBotApi, min_sent: usize) -> usize {
    fake.wait_for(|s| s.len() >= min_sent, Duration::from_secs(30))
        .await
        .expect("messages were sent");
    let mut last = fake.sent_messages().len();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = fake.sent_messages().len();
        if now == last {
            return now;
        }
        last = now;
    }
}

/// Long enough for anything the daemon does at once.
pub const SOON: Duration = Duration::from_secs(10);

/// The bot's reply to message `message_id` in `chat`, once it is sent.
pub async fn wait_reply(
    fake: &FakeBotApi,
    chat: i64,
    message_id: i64,
) -> super::fake_bot_api::SentMessage {
    let sent = fake
        .wait_for(
            |s| {
                s.iter()
                    .any(|m| m.chat_id == chat && m.reply_to_message_id == Some(message_id))
            },
            SOON,
        )
        .await
        .unwrap_or_else(|e| panic!("no reply to message {message_id} in {chat}: {e}"));
    sent.into_iter()
        .find(|m| m.chat_id == chat && m.reply_to_message_id == Some(message_id))
        .expect("the reply just seen")
}

/// An admin says `text` in the staff group; the desk's answer.
pub async fn staff_says(fake: &FakeBotApi, text: &str) -> String {
    let m = fake.push_text(&staff_chat(), &admin(), text);
    wait_reply(fake, STAFF_CHAT, m.message_id).await.text
}
