//! Typed settings: a TOML file (see `guanjia.example.toml`) with environment
//! overrides for what differs per machine: `TELOXIDE_TOKEN`, `TELOXIDE_API_URL`,
//! `DATABASE_URL`. The token is never printed.

use chrono_tz::Tz;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("配置文件 {file}: 无法读取: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("配置文件 {file}: {source}")]
    Parse {
        file: String,
        source: toml::de::Error,
    },
    #[error("配置项 {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Telegram {
    /// Bot token from @BotFather. Env: TELOXIDE_TOKEN.
    pub token: Option<String>,
    /// Bot API base URL. Env: TELOXIDE_API_URL. Default: Telegram's.
    pub api_url: Option<String>,
    /// Messages per second over all chats (Telegram: 30).
    pub max_per_second: Option<u32>,
    /// Messages per minute into one group (Telegram: 20).
    pub max_per_chat_per_minute: Option<u32>,
    /// Long-poll timeout for getUpdates, seconds (default 10).
    pub poll_timeout_secs: Option<u32>,
}

impl fmt::Debug for Telegram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telegram")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("api_url", &self.api_url)
            .field("max_per_second", &self.max_per_second)
            .field("max_per_chat_per_minute", &self.max_per_chat_per_minute)
            .field("poll_timeout_secs", &self.poll_timeout_secs)
            .finish()
    }
}

impl Telegram {
    pub fn per_second(&self) -> u32 {
        self.max_per_second.unwrap_or(30).max(1)
    }

    pub fn per_chat_per_minute(&self) -> u32 {
        self.max_per_chat_per_minute.unwrap_or(20).max(1)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Database {
    /// `sqlite://guanjia.db` (default) or `postgres://user@host/db`. Env: DATABASE_URL.
    pub url: String,
    /// Handled updates and finished messages older than this many days are deleted
    /// (what later edits and /broadcasts need is kept); 0 keeps everything.
    pub retention_days: u32,
}

impl Default for Database {
    fn default() -> Self {
        Self {
            url: "sqlite://guanjia.db".into(),
            retention_days: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Desk {
    /// Shown to owners; overrides `{company}` in the templates.
    pub company: Option<String>,
    /// IANA name; times owners and staff type and see are in this zone.
    pub timezone: String,
    /// The staff group's chat id: new tickets are posted there.
    pub staff_chat: Option<i64>,
    /// May do everything, including /staff_add and finishing anyone's ticket.
    pub admins: Vec<i64>,
    /// May claim, finish and broadcast.
    pub staff: Vec<i64>,
    /// Rule, FAQ and template files.
    pub rules_dir: PathBuf,
    /// An owner's follow-up within this many minutes completes their ticket.
    pub follow_up_minutes: i64,
}

impl Default for Desk {
    fn default() -> Self {
        Self {
            company: None,
            timezone: "Asia/Shanghai".into(),
            staff_chat: None,
            admins: Vec::new(),
            staff: Vec::new(),
            rules_dir: PathBuf::from("intents"),
            follow_up_minutes: 10,
        }
    }
}

/// The handbook's service standard.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Service {
    /// Someone takes a repair within this many minutes.
    pub respond_minutes: i64,
    /// ... an emergency within this many.
    pub emergency_respond_minutes: i64,
    /// An ordinary repair is finished within this many hours.
    pub resolve_hours: i64,
    /// A complaint gets an answer within this many hours.
    pub complaint_answer_hours: i64,
    /// Finished work is followed up (and an unhappy owner called back) within this many hours.
    pub follow_up_hours: i64,
}

impl Default for Service {
    fn default() -> Self {
        Self {
            respond_minutes: 15,
            emergency_respond_minutes: 5,
            resolve_hours: 24,
            complaint_answer_hours: 24,
            follow_up_hours: 24,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Notices {
    /// An outage is announced again this many minutes before it starts.
    pub outage_reminder_minutes: i64,
    /// Pin outage notices while they run.
    pub pin_outages: bool,
}

impl Default for Notices {
    fn default() -> Self {
        Self {
            outage_reminder_minutes: 60,
            pin_outages: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fees {
    /// Cron (sec min hour day month weekday, desk timezone) for the general
    /// reminder in every building group. Empty: never.
    pub group_schedule: String,
    /// Cron for private reminders with amounts to owners whose room is confirmed.
    pub private_schedule: String,
    /// The period named in reminders, e.g. "2026年第四季度".
    pub period: String,
}

impl Default for Fees {
    fn default() -> Self {
        Self {
            group_schedule: "0 0 10 1 * *".into(),
            private_schedule: "0 0 10 5 * *".into(),
            period: "本期".into(),
        }
    }
}

/// What happens when handling an update fails (a database timeout, a bug).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Inbox {
    /// Attempts at handling one update before it becomes a dead letter.
    pub max_attempts: i64,
    /// The wait after the first failure; it doubles after each (capped at a minute).
    pub retry_base_ms: u64,
}

impl Default for Inbox {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            retry_base_ms: 1000,
        }
    }
}

impl Inbox {
    /// The wait before attempt `attempt + 1`.
    pub fn backoff(&self, attempt: i64) -> std::time::Duration {
        let factor = 1u64 << attempt.clamp(1, 16).saturating_sub(1);
        std::time::Duration::from_millis(self.retry_base_ms.saturating_mul(factor).min(60_000))
    }
}

/// Limits that keep one owner or one group from burying everyone else's reports.
/// Emergencies are never held back by them.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Flood {
    /// The same owner reporting the same kind of problem in the same chat within
    /// this many minutes adds to their open ticket instead of opening another.
    pub repeat_minutes: i64,
    /// Tickets one owner may open in an hour; later reports are added to their
    /// latest ticket.
    pub owner_tickets_per_hour: i64,
    /// Ordinary tickets from one group posted to staff one by one in ten minutes;
    /// past that they are still opened and listed, and staff get one summary.
    pub chat_posts_per_10_minutes: i64,
}

impl Default for Flood {
    fn default() -> Self {
        Self {
            repeat_minutes: 30,
            owner_tickets_per_hour: 6,
            chat_posts_per_10_minutes: 20,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildingConfig {
    pub name: String,
    pub chat: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub telegram: Telegram,
    pub database: Database,
    pub desk: Desk,
    pub service: Service,
    pub notices: Notices,
    pub fees: Fees,
    pub inbox: Inbox,
    pub flood: Flood,
    pub building: Vec<BuildingConfig>,
}

impl Settings {
    /// Read `path` (if given; a missing default file is fine) and apply env overrides.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut settings = match path {
            Some(p) => {
                let file = p.display().to_string();
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    file: file.clone(),
                    source,
                })?;
                Self::parse(&file, &text)?
            }
            None => Self::default(),
        };
        settings.apply_env(|k| std::env::var(k).ok());
        settings.validate()?;
        Ok(settings)
    }

    pub fn parse(file: &str, text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|source| ConfigError::Parse {
            file: file.to_string(),
            source,
        })
    }

    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        if let Some(v) = var("TELOXIDE_TOKEN").filter(|v| !v.is_empty()) {
            self.telegram.token = Some(v);
        }
        if let Some(v) = var("TELOXIDE_API_URL").filter(|v| !v.is_empty()) {
            self.telegram.api_url = Some(v);
        }
        if let Some(v) = var("DATABASE_URL").filter(|v| !v.is_empty()) {
            self.database.url = v;
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.timezone()?;
        for (key, cron) in [
            ("fees.group_schedule", &self.fees.group_schedule),
            ("fees.private_schedule", &self.fees.private_schedule),
        ] {
            if !cron.trim().is_empty() {
                cron.parse::<cron::Schedule>()
                    .map_err(|e| ConfigError::Invalid {
                        key,
                        reason: format!("'{cron}' 不是有效的 cron 表达式: {e}"),
                    })?;
            }
        }
        if !(1..=50).contains(&self.inbox.max_attempts) {
            return Err(ConfigError::Invalid {
                key: "inbox.max_attempts",
                reason: format!("应在 1 到 50 之间,现为 {}", self.inbox.max_attempts),
            });
        }
        for (key, value, max) in [
            ("flood.repeat_minutes", self.flood.repeat_minutes, 24 * 60),
            (
                "flood.owner_tickets_per_hour",
                self.flood.owner_tickets_per_hour,
                10_000,
            ),
            (
                "flood.chat_posts_per_10_minutes",
                self.flood.chat_posts_per_10_minutes,
                10_000,
            ),
        ] {
            if !(1..=max).contains(&value) {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("应在 1 到 {max} 之间,现为 {value}"),
                });
            }
        }
        let mut names = std::collections::HashSet::new();
        for b in &self.building {
            if b.name.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    key: "building.name",
                    reason: format!("chat {} 的楼栋名为空", b.chat),
                });
            }
            if !names.insert(b.chat) {
                return Err(ConfigError::Invalid {
                    key: "building.chat",
                    reason: format!("chat {} 出现了两次", b.chat),
                });
            }
        }
        Ok(())
    }

    pub fn timezone(&self) -> Result<Tz, ConfigError> {
        self.desk
            .timezone
            .parse::<Tz>()
            .map_err(|_| ConfigError::Invalid {
                key: "desk.timezone",
                reason: format!(
                    "'{}' 不是 IANA 时区名(例如 Asia/Shanghai)",
                    self.desk.timezone
                ),
            })
    }

    pub fn is_admin(&self, user: i64) -> bool {
        self.desk.admins.contains(&user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_and_env_overrides_it() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/guanjia.example.toml"))
                .unwrap();
        let mut s = Settings::parse("guanjia.example.toml", &text).unwrap();
        s.validate().unwrap();
        assert_eq!(s.telegram.per_second(), 30);
        assert_eq!(s.telegram.per_chat_per_minute(), 20);
        s.apply_env(|k| match k {
            "DATABASE_URL" => Some("postgres://postgres@127.0.0.1/test".into()),
            "TELOXIDE_TOKEN" => Some("123:secret".into()),
            _ => None,
        });
        assert_eq!(s.database.url, "postgres://postgres@127.0.0.1/test");
        assert!(
            !format!("{s:?}").contains("secret"),
            "the token must never be printed"
        );
    }

    #[test]
    fn a_misspelt_key_and_a_bad_timezone_are_named() {
        let err = Settings::parse("g.toml", "[desk]\ntimezon = \"x\"\n")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("timezon"), "{err}");
        let s = Settings::parse("g.toml", "[desk]\ntimezone = \"Mars/Base\"\n").unwrap();
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("desk.timezone")
        );
        let s = Settings::parse("g.toml", "[fees]\ngroup_schedule = \"every day\"\n").unwrap();
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("fees.group_schedule")
        );
    }
}
