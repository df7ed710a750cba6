//! Typed settings: a TOML file (see `guanjia.example.toml`) with environment
//! overrides for what differs per machine: `TELOXIDE_TOKEN`, `TELOXIDE_API_URL`,
//! `DATABASE_URL`. The token is never printed.
//!
//! Relative paths in the file (`[desk] rules_dir`, a `sqlite://` database) are
//! resolved against the file's folder, so `guanjia -c /srv/guanjia/guanjia.toml`
//! works from any directory. Values from the environment are taken as given.

use chrono_tz::Tz;
use serde::Deserialize;
use std::path::{Path, PathBuf};

mod crowd;
mod estates;
mod ops;

pub use crowd::{Flood, Merge};
pub use estates::EstateConfig;
pub use ops::{Http, Log, LogFormat};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The reason is kept as text, not as a `source`: an error chain would print
    /// it a second time under "Caused by".
    #[error("配置文件 {file}: 无法读取: {reason}")]
    Read { file: String, reason: String },
    /// The parser's own message quotes the offending line, which may hold the
    /// token or a database password: only the position and the reason are kept.
    #[error("配置文件 {file} 第 {line} 行第 {column} 列: {reason}(为保护密钥,这里不显示该行内容)")]
    Parse {
        file: String,
        line: usize,
        column: usize,
        reason: String,
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
    /// Set: Telegram posts updates here (served on `[http] listen`), no polling.
    pub webhook_url: Option<String>,
    /// Checked on every webhook request. Env: GUANJIA_WEBHOOK_SECRET.
    pub secret_token: Option<String>,
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
    /// The older place for the company name; it still overrides `{company}`,
    /// with a warning. Company details live in the templates' `[vars]`.
    pub company: Option<String>,
    /// IANA name; times owners and staff type and see are in this zone.
    pub timezone: String,
    /// The staff group's chat id: new tickets are posted there. The default only:
    /// an admin's `/set_staff_group` overrides it and is remembered in the database.
    pub staff_chat: Option<i64>,
    /// May do everything, including /staff_add and finishing anyone's ticket.
    pub admins: Vec<i64>,
    /// May claim, finish and broadcast.
    pub staff: Vec<i64>,
    /// Told when a ticket is not taken or not finished in time (the service
    /// standard's escalation); empty: the admins.
    pub supervisors: Vec<i64>,
    /// Rule, FAQ and template files. Unset: `intents/` beside the config file if
    /// there is one, else the files built into the binary. Set but missing: an error.
    pub rules_dir: Option<PathBuf>,
    /// An owner's follow-up within this many minutes completes their ticket.
    pub follow_up_minutes: i64,
    /// The catalogue owners and staff read: "zh-Hans" (Simplified, the default)
    /// or "zh-Hant" (Traditional).
    pub locale: String,
}

impl Default for Desk {
    fn default() -> Self {
        Self {
            company: None,
            timezone: "Asia/Shanghai".into(),
            staff_chat: None,
            admins: Vec::new(),
            staff: Vec::new(),
            supervisors: Vec::new(),
            rules_dir: None,
            follow_up_minutes: 10,
            locale: "zh-Hans".into(),
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
    /// The day team's hours, e.g. `08:00-20:00`: ordinary clocks run only then
    /// (emergencies always). Empty: round the clock.
    pub hours: String,
    /// Working days (`mon` … `sun` or 周一 … 周日); empty: every day.
    pub working_days: Vec<String>,
    /// Days off (`2026-10-01`).
    pub holidays: Vec<String>,
}

impl Service {
    /// The office-hours calendar these settings describe.
    pub fn calendar(
        &self,
        tz: chrono_tz::Tz,
    ) -> Result<crate::domain::calendar::OfficeHours, crate::domain::calendar::CalendarError> {
        crate::domain::calendar::OfficeHours::parse(
            &self.hours,
            &self.working_days,
            &self.holidays,
            tz,
        )
    }
}

impl Default for Service {
    fn default() -> Self {
        Self {
            respond_minutes: 15,
            emergency_respond_minutes: 5,
            resolve_hours: 24,
            complaint_answer_hours: 24,
            follow_up_hours: 24,
            hours: String::new(),
            working_days: Vec::new(),
            holidays: Vec::new(),
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildingConfig {
    pub name: String,
    pub chat: i64,
    /// The `[[estate]]` it belongs to; may be left out while there is at most one.
    #[serde(default)]
    pub estate: Option<String>,
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
    pub merge: Merge,
    pub http: Http,
    pub log: Log,
    pub building: Vec<BuildingConfig>,
    /// `[[estate]]`: none means one implicit estate, as before estates existed.
    pub estate: Vec<EstateConfig>,
}

impl Settings {
    /// Read `path` (if given; a missing default file is fine) and apply env overrides.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut settings = match path {
            Some(p) => {
                let file = p.display().to_string();
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Read {
                    file: file.clone(),
                    reason: e.to_string(),
                })?;
                let mut settings = Self::parse(&file, &text)?;
                let base = p.parent().filter(|b| !b.as_os_str().is_empty());
                settings.resolve_paths(&absolute(base.unwrap_or(Path::new("."))));
                settings
            }
            None => {
                let mut settings = Self::default();
                settings.resolve_paths(&absolute(Path::new(".")));
                settings
            }
        };
        settings.apply_env(|k| std::env::var(k).ok());
        settings.validate()?;
        Ok(settings)
    }

    pub fn parse(file: &str, text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e: toml::de::Error| {
            let offset = e.span().map(|s| s.start).unwrap_or(0).min(text.len());
            let before = &text[..text.floor_char_boundary(offset)];
            ConfigError::Parse {
                file: file.to_string(),
                line: before.matches('\n').count() + 1,
                column: before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
                reason: e.message().to_string(),
            }
        })
    }

    /// Make the file's relative paths relative to `base` (the file's folder), and
    /// pick up an `intents/` folder there when no rule directory is configured.
    pub fn resolve_paths(&mut self, base: &Path) {
        match &self.desk.rules_dir {
            Some(dir) if dir.is_relative() => self.desk.rules_dir = Some(base.join(dir)),
            Some(_) => {}
            None => {
                let beside = base.join("intents");
                if beside.join("faq.toml").is_file() {
                    self.desk.rules_dir = Some(beside);
                }
            }
        }
        self.database.url = resolve_sqlite_url(&self.database.url, base);
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
        self.apply_ops_env(&var);
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.timezone()?;
        if !crate::domain::templates::LOCALES.contains(&self.desk.locale.as_str()) {
            return Err(ConfigError::Invalid {
                key: "desk.locale",
                reason: format!(
                    "'{}' 不是可用的语言;可用的有: {}",
                    self.desk.locale,
                    crate::domain::templates::LOCALES.join(", ")
                ),
            });
        }
        self.validate_ops()?;
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
        self.validate_estates()?;
        let mut chats = std::collections::HashSet::new();
        let mut names = std::collections::HashMap::new();
        for b in &self.building {
            if b.name.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    key: "building.name",
                    reason: format!("chat {} 的楼栋名为空", b.chat),
                });
            }
            if !chats.insert(b.chat) {
                return Err(ConfigError::Invalid {
                    key: "building.chat",
                    reason: format!("chat {} 出现了两次", b.chat),
                });
            }
            // "3栋" and "3号楼" are one building: compare in the one spelling,
            // within an estate ('1栋' of one estate is not '1栋' of another).
            let key = crate::domain::location::canonical_building(&b.name)
                .unwrap_or_else(|| b.name.trim().to_string());
            if let Some(other) = names.insert((self.estate_of(b), key), b.chat) {
                return Err(ConfigError::Invalid {
                    key: "building.name",
                    reason: format!(
                        "楼栋名 '{}' 出现了两次(chat {other} 和 chat {}):同名的楼栋无法区分,请改名或删掉一个",
                        b.name.trim(),
                        b.chat
                    ),
                });
            }
            if b.chat >= 0 {
                return Err(ConfigError::Invalid {
                    key: "building.chat",
                    reason: format!(
                        "{} 的 chat {} 不是群的 id(群的 id 是负数;在群里发 /id 查看)",
                        b.name, b.chat
                    ),
                });
            }
        }
        if let Some(staff) = self.desk.staff_chat {
            if chats.contains(&staff) {
                return Err(ConfigError::Invalid {
                    key: "desk.staff_chat",
                    reason: format!(
                        "{staff} 同时是一个楼栋业主群:员工群看到的工单详情会被业主看到。请把员工群设为另一个群"
                    ),
                });
            }
            if staff >= 0 {
                return Err(ConfigError::Invalid {
                    key: "desk.staff_chat",
                    reason: format!("{staff} 不是群的 id(群的 id 是负数;在员工群里发 /id 查看)"),
                });
            }
        }
        if let Err(e) = self
            .service
            .calendar(self.timezone().unwrap_or(chrono_tz::Asia::Shanghai))
        {
            return Err(ConfigError::Invalid {
                key: "service.hours",
                reason: e.to_string(),
            });
        }
        for (key, ids) in [
            ("desk.admins", &self.desk.admins),
            ("desk.staff", &self.desk.staff),
            ("desk.supervisors", &self.desk.supervisors),
        ] {
            if let Some(id) = ids.iter().find(|id| **id <= 0) {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("{id} 不是用户的 id(用户 id 是正数;私聊机器人发 /id 查看)"),
                });
            }
        }
        for (key, value, min, max, unit) in self.durations() {
            if value < min || value > max {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("{value} 超出范围:应在 {min} 到 {max} {unit}之间"),
                });
            }
        }
        Ok(())
    }

    /// Every duration setting with its bounds: (key, value, min, max, unit).
    /// Nothing the desk promises owners takes longer than 30 days, and a bound
    /// keeps the time arithmetic far from overflow.
    fn durations(&self) -> [(&'static str, i64, i64, i64, &'static str); 8] {
        const MINUTES: i64 = MAX_DAYS * 24 * 60;
        const HOURS: i64 = MAX_DAYS * 24;
        let (d, s, n) = (&self.desk, &self.service, &self.notices);
        [
            (
                "telegram.poll_timeout_secs",
                i64::from(self.telegram.poll_timeout_secs.unwrap_or(10)),
                1,
                300,
                "秒",
            ),
            (
                "desk.follow_up_minutes",
                d.follow_up_minutes,
                0,
                MINUTES,
                "分钟",
            ),
            (
                "service.respond_minutes",
                s.respond_minutes,
                1,
                MINUTES,
                "分钟",
            ),
            (
                "service.emergency_respond_minutes",
                s.emergency_respond_minutes,
                1,
                MINUTES,
                "分钟",
            ),
            ("service.resolve_hours", s.resolve_hours, 1, HOURS, "小时"),
            (
                "service.complaint_answer_hours",
                s.complaint_answer_hours,
                1,
                HOURS,
                "小时",
            ),
            (
                "service.follow_up_hours",
                s.follow_up_hours,
                1,
                HOURS,
                "小时",
            ),
            (
                "notices.outage_reminder_minutes",
                n.outage_reminder_minutes,
                0,
                MINUTES,
                "分钟",
            ),
        ]
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

/// The longest duration any setting may have.
const MAX_DAYS: i64 = 30;

/// `base` made absolute against the current directory, so a resolved path names
/// the same file whatever directory later code runs in.
fn absolute(base: &Path) -> PathBuf {
    std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf())
}

/// A `sqlite:` URL whose file path is relative, made relative to `base`.
/// Other URLs (PostgreSQL, in-memory, absolute paths) are returned unchanged.
fn resolve_sqlite_url(url: &str, base: &Path) -> String {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return url.to_string();
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() || path.starts_with(':') || Path::new(path).is_absolute() {
        return url.to_string();
    }
    let mut out = format!("sqlite://{}", base.join(path).display());
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
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

    fn invalid_key(toml: &str) -> String {
        match Settings::parse("g.toml", toml).unwrap().validate() {
            Err(ConfigError::Invalid { key, reason }) => {
                assert!(!reason.is_empty());
                key.to_string()
            }
            other => panic!("{toml}: expected an invalid key, got {other:?}"),
        }
    }

    #[test]
    fn a_staff_chat_that_is_a_building_and_duplicate_building_names_are_refused() {
        let buildings =
            "[[building]]\nname = \"3栋\"\nchat = -3\n[[building]]\nname = \"5栋\"\nchat = -5\n";
        assert_eq!(
            invalid_key(&format!("[desk]\nstaff_chat = -5\n{buildings}")),
            "desk.staff_chat"
        );
        assert_eq!(
            invalid_key(
                "[[building]]\nname = \"3栋\"\nchat = -3\n[[building]]\nname = \" 3栋\"\nchat = -4\n"
            ),
            "building.name"
        );
        assert_eq!(
            invalid_key(
                "[[building]]\nname = \"3栋\"\nchat = -3\n[[building]]\nname = \"3号楼\"\nchat = -4\n"
            ),
            "building.name",
            "two spellings of one building"
        );
        assert_eq!(
            invalid_key("[inbox]\nmax_attempts = 0\n"),
            "inbox.max_attempts"
        );
        assert_eq!(
            invalid_key("[flood]\nrepeat_minutes = 0\n"),
            "flood.repeat_minutes"
        );
        assert_eq!(invalid_key("[desk]\nstaff_chat = 42\n"), "desk.staff_chat");
        assert_eq!(invalid_key("[desk]\nadmins = [-100123]\n"), "desk.admins");
        let s =
            Settings::parse("g.toml", &format!("[desk]\nstaff_chat = -9\n{buildings}")).unwrap();
        s.validate().unwrap();
    }

    #[test]
    fn every_duration_has_bounds() {
        assert_eq!(
            invalid_key("[service]\nrespond_minutes = 9223372036854775807\n"),
            "service.respond_minutes"
        );
        assert_eq!(
            invalid_key("[service]\nresolve_hours = 0\n"),
            "service.resolve_hours"
        );
        assert_eq!(
            invalid_key("[service]\nemergency_respond_minutes = -1\n"),
            "service.emergency_respond_minutes"
        );
        assert_eq!(
            invalid_key("[service]\nfollow_up_hours = 721\n"),
            "service.follow_up_hours"
        );
        assert_eq!(
            invalid_key("[service]\ncomplaint_answer_hours = 100000\n"),
            "service.complaint_answer_hours"
        );
        assert_eq!(
            invalid_key("[notices]\noutage_reminder_minutes = 50000\n"),
            "notices.outage_reminder_minutes"
        );
        assert_eq!(
            invalid_key("[desk]\nfollow_up_minutes = -5\n"),
            "desk.follow_up_minutes"
        );
        assert_eq!(
            invalid_key("[telegram]\npoll_timeout_secs = 0\n"),
            "telegram.poll_timeout_secs"
        );
        let s = Settings::parse("g.toml", "[service]\nrespond_minutes = 43200\n").unwrap();
        s.validate().unwrap();
    }

    #[test]
    fn relative_paths_are_resolved_against_the_config_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rules")).unwrap();
        let config = dir.path().join("guanjia.toml");
        std::fs::write(
            &config,
            "[database]\nurl = \"sqlite://data/g.db?mode=rwc\"\n[desk]\nrules_dir = \"rules\"\n",
        )
        .unwrap();
        let s = Settings::load(Some(&config)).unwrap();
        assert_eq!(s.desk.rules_dir, Some(dir.path().join("rules")));
        if std::env::var("DATABASE_URL").is_err() {
            assert_eq!(
                s.database.url,
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("data/g.db").display()
                )
            );
        }
        for unchanged in [
            "sqlite::memory:",
            "sqlite:///var/lib/g.db",
            "postgres://u@h/db",
        ] {
            assert_eq!(resolve_sqlite_url(unchanged, dir.path()), unchanged);
        }
    }

    #[test]
    fn an_intents_folder_beside_the_config_is_used_when_none_is_configured() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Settings::default();
        s.resolve_paths(dir.path());
        assert_eq!(s.desk.rules_dir, None, "no folder: the built-in rules");
        std::fs::create_dir(dir.path().join("intents")).unwrap();
        std::fs::write(dir.path().join("intents/faq.toml"), "").unwrap();
        let mut s = Settings::default();
        s.resolve_paths(dir.path());
        assert_eq!(s.desk.rules_dir, Some(dir.path().join("intents")));
    }
}
