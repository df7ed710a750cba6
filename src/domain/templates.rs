//! Every text owners and staff read, from `intents/templates.toml` (or
//! `intents/zh-Hant/templates.toml` under `[desk] locale = "zh-Hant"`).
//!
//! Staff change the company name, phone and payment channels, or rephrase a reply,
//! by editing that file. Its tables are `[messages]` (to owners), `[staff]` (posts
//! and answers to staff) and `[labels]` (buttons, states, pop-ups). It is checked
//! at load: every text the bot needs must be there, and each may only use the
//! placeholders the bot fills for it (plus the `[vars]`), so a typo is caught at
//! start-up, not in front of an owner.

mod keys;
pub use keys::{LABELS, STAFF};

use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    // Reasons are kept as text, not as a `source`: an error chain would print
    // them a second time under "Caused by".
    #[error("模板文件 {file}: 无法读取: {reason}")]
    Read { file: String, reason: String },
    #[error("模板文件 {file}: TOML 格式错误: {reason}")]
    Parse { file: String, reason: String },
    #[error("模板文件 {file}: 缺少消息 [{table}] {key}")]
    Missing {
        file: String,
        table: &'static str,
        key: &'static str,
    },
    #[error("模板文件 {file}: 消息 {key} 使用了未知占位符 {{{placeholder}}};可用的有: {allowed}")]
    Placeholder {
        file: String,
        key: String,
        placeholder: String,
        allowed: String,
    },
}

/// Every message the bot renders, with the placeholders it fills for it.
/// `[vars]` (company, phone, ...) are available everywhere.
pub const MESSAGES: &[(&str, &[&str])] = &[
    (
        "ack_repair",
        &[
            "ticket",
            "category",
            "location",
            "respond_minutes",
            "resolve_hours",
            "status",
        ],
    ),
    (
        "ack_complaint",
        &["ticket", "category", "location", "answer_hours", "status"],
    ),
    (
        "ack_emergency",
        &["ticket", "category", "location", "status"],
    ),
    ("ask_location", &[]),
    ("ack_repeat", &["ticket", "status"]),
    ("ack_over_limit", &["ticket", "status"]),
    ("flood_summary", &["place", "limit"]),
    ("ask_location_private", &[]),
    (
        "dead_letter_staff",
        &["update", "attempts", "chat", "sender", "text", "error"],
    ),
    ("dead_letter_owner", &[]),
    ("owner_claimed", &["ticket", "assignee"]),
    ("owner_claimed_group", &["ticket"]),
    ("owner_done", &["ticket", "summary"]),
    ("owner_done_summary", &["ticket", "summary"]),
    ("rate_thanks", &["ticket", "stars"]),
    ("rate_sorry", &["ticket", "stars", "follow_up_hours"]),
    ("suggestion_thanks", &[]),
    ("refuse_not_staff", &[]),
    ("staff_command_elsewhere", &[]),
    ("private_hint", &[]),
    ("start_in_group", &[]),
    ("private_ticket", &["ticket", "category", "status"]),
    ("private_details_ack", &["ticket"]),
    ("media_added", &["ticket", "media"]),
    ("voice_reply", &[]),
    ("voice_reply_private", &[]),
    ("unsorted_reply", &[]),
    ("unsorted_reply_private", &[]),
    ("addressed_hint", &[]),
    ("after_hours", &["opening"]),
    ("ack_merged", &["ticket", "status"]),
    ("merged_done", &["ticket"]),
    ("followup_ask", &["ticket"]),
    ("split_owner", &["ticket"]),
    ("survey_options", &[]),
    ("photo_private_hint", &[]),
    ("finished_photo", &["ticket", "category"]),
    ("room_request_ack", &["location"]),
    ("room_private_only", &[]),
    ("room_confirmed", &["location"]),
    ("room_rejected", &["location"]),
    (
        "outage_answer",
        &["utility", "buildings", "start", "end", "reason"],
    ),
    ("notice", &["text"]),
    (
        "outage_notice",
        &["utility", "buildings", "start", "end", "reason"],
    ),
    ("outage_reminder", &["utility", "buildings", "start", "end"]),
    ("outage_end", &["utility", "buildings"]),
    ("outage_cancel", &["utility", "buildings", "start", "end"]),
    ("fee_group", &["period"]),
    ("fee_private", &["location", "period", "amount", "due_date"]),
    ("privacy_mode_on", &["bot"]),
    ("id_answer", &["chat", "user"]),
    ("group_added", &["title", "chat"]),
    ("staff_group_set", &["chat"]),
    ("location_added", &["ticket"]),
    ("not_your_ticket", &["ticket"]),
    ("my_tickets_private_only", &[]),
    ("my_tickets_none", &[]),
    ("my_tickets", &[]),
    ("room_usage", &[]),
    ("room_unknown_building", &["building", "buildings"]),
    ("room_which_estate", &["building", "estates", "example"]),
    ("finished_photo_said", &["said"]),
];

/// A table's keys, each with the placeholders the bot fills for it.
pub type Registry = &'static [(&'static str, &'static [&'static str])];

/// The tables of a catalogue and the keys each must have.
pub const TABLES: &[(&str, Registry)] =
    &[("messages", MESSAGES), ("staff", STAFF), ("labels", LABELS)];

/// The locales a catalogue ships in: `[desk] locale`.
pub const LOCALES: &[&str] = &["zh-Hans", "zh-Hant"];

#[derive(Debug, Clone)]
pub struct Templates {
    vars: HashMap<String, String>,
    messages: HashMap<String, String>,
    staff: HashMap<String, String>,
    labels: HashMap<String, String>,
    categories: HashMap<String, String>,
    /// `[table] key` of the texts an edited file lacked and the built-in
    /// wording filled in (see [`Templates::load_over`]), with that file.
    filled_in: Option<(String, Vec<String>)>,
}

#[derive(serde::Deserialize)]
struct File {
    #[serde(default)]
    vars: HashMap<String, String>,
    #[serde(default)]
    messages: HashMap<String, String>,
    #[serde(default)]
    staff: HashMap<String, String>,
    #[serde(default)]
    labels: HashMap<String, String>,
    /// Optional: category id → the name shown, where it should differ from
    /// the rules' `label` (a translation).
    #[serde(default)]
    categories: HashMap<String, String>,
}

impl File {
    fn table(&mut self, name: &str) -> &mut HashMap<String, String> {
        match name {
            "staff" => &mut self.staff,
            "labels" => &mut self.labels,
            _ => &mut self.messages,
        }
    }
}

impl Templates {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TemplateError::Read {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        Self::parse(&file, &text)
    }

    /// The templates built into the binary (`intents/templates.toml` at build time).
    pub fn builtin() -> Result<Self, TemplateError> {
        Self::builtin_for("zh-Hans")
    }

    /// The built-in catalogue of `locale` (one of [`LOCALES`]; another is the
    /// Simplified one, the configuration has refused it before this).
    pub fn builtin_for(locale: &str) -> Result<Self, TemplateError> {
        let (name, text) = crate::domain::builtin::templates_for(locale);
        Self::parse(&format!("built-in {name}"), text)
    }

    /// Load an edited copy over `base` (the built-in wording): a message the copy
    /// lacks (one a newer release added) comes from `base`, and its key is
    /// returned so the caller can say so. Everything the copy does say is checked
    /// as strictly as ever.
    pub fn load_over(
        path: &Path,
        base: &Templates,
    ) -> Result<(Self, Vec<&'static str>), TemplateError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TemplateError::Read {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        let mut parsed: File = toml::from_str(&text).map_err(|e| TemplateError::Parse {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        let mut added = Vec::new();
        let mut filled = Vec::new();
        for (table, keys) in TABLES {
            for (key, _) in *keys {
                if !parsed.table(table).contains_key(*key)
                    && let Some(body) = base.table(table).get(*key)
                {
                    parsed.table(table).insert(key.to_string(), body.clone());
                    added.push(*key);
                    filled.push(format!("[{table}] {key}"));
                }
            }
        }
        for (name, value) in &base.vars {
            parsed
                .vars
                .entry(name.clone())
                .or_insert_with(|| value.clone());
        }
        let mut templates = Self::check(&file, parsed)?;
        if !filled.is_empty() {
            templates.filled_in = Some((file, filled));
        }
        Ok((templates, added))
    }

    pub fn parse(file: &str, text: &str) -> Result<Self, TemplateError> {
        let parsed: File = toml::from_str(text).map_err(|e| TemplateError::Parse {
            file: file.to_string(),
            reason: e.to_string(),
        })?;
        Self::check(file, parsed)
    }

    fn check(file: &str, mut parsed: File) -> Result<Self, TemplateError> {
        for (table, keys) in TABLES {
            let bodies = parsed.table(table).clone();
            for (key, allowed) in *keys {
                let Some(body) = bodies.get(*key) else {
                    return Err(TemplateError::Missing {
                        file: file.to_string(),
                        table,
                        key,
                    });
                };
                for placeholder in placeholders(body) {
                    if !allowed.contains(&placeholder) && !parsed.vars.contains_key(placeholder) {
                        let mut names: Vec<&str> = allowed.to_vec();
                        names.extend(parsed.vars.keys().map(String::as_str));
                        return Err(TemplateError::Placeholder {
                            file: file.to_string(),
                            key: format!("[{table}] {key}"),
                            placeholder: placeholder.to_string(),
                            allowed: names.join(", "),
                        });
                    }
                }
            }
        }
        Ok(Self {
            vars: parsed.vars,
            messages: parsed.messages,
            staff: parsed.staff,
            labels: parsed.labels,
            categories: parsed.categories,
            filled_in: None,
        })
    }

    fn table(&self, name: &str) -> &HashMap<String, String> {
        match name {
            "staff" => &self.staff,
            "labels" => &self.labels,
            _ => &self.messages,
        }
    }

    /// Check texts written elsewhere (FAQ answers) that may use only the
    /// `[vars]`: a misspelt `{telephone}` is an error naming the file and entry,
    /// not a brace pair an owner reads literally.
    pub fn check_vars_only<'a>(
        &self,
        file: &str,
        texts: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), TemplateError> {
        for (key, body) in texts {
            if let Some(unknown) = placeholders(body).find(|p| !self.vars.contains_key(*p)) {
                let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
                names.sort_unstable();
                return Err(TemplateError::Placeholder {
                    file: file.to_string(),
                    key: key.to_string(),
                    placeholder: unknown.to_string(),
                    allowed: names.join(", "),
                });
            }
        }
        Ok(())
    }

    /// The message `key` with `args` and the `[vars]` filled in.
    pub fn render(&self, key: &str, args: &[(&str, &str)]) -> String {
        let body = self.messages.get(key).map(String::as_str).unwrap_or(key);
        self.fill_with(body, args, true)
    }

    /// The `[staff]` text `key` with `args` filled in. Staff texts are filled
    /// as written (no typesetting of spaces): their layout is the wording's.
    pub fn staff(&self, key: &str, args: &[(&str, &str)]) -> String {
        let body = self.staff.get(key).map(String::as_str).unwrap_or(key);
        self.fill_with(body, args, false)
    }

    /// The `[labels]` text `key` (a button, a state, a pop-up), filled as written.
    /// What staff call an event in a ticket's history (`[labels] event_*`).
    pub fn event(&self, kind: crate::domain::ticket::EventType) -> String {
        use crate::domain::ticket::EventType as E;
        self.label(match kind {
            E::Opened => "event_opened",
            E::Claimed => "event_claimed",
            E::Transferred => "event_transferred",
            E::Done => "event_done",
            E::Reopened => "event_reopened",
            E::Rated => "event_rated",
            E::Note => "event_note",
            E::LocationSet => "event_location_set",
            E::OwnerDetails => "event_owner_details",
            E::Repeated => "event_repeated",
            E::Reclassified => "event_reclassified",
            E::FollowUpAsked => "event_followup_asked",
            E::FollowUpDue => "event_followup_due",
            E::FollowedUp => "event_followed_up",
            E::Upset => "event_upset",
            E::Split => "event_split",
        })
    }

    pub fn label(&self, key: &str) -> String {
        self.label_with(key, &[])
    }

    /// The `/help` text: owners' commands, and staff ones for staff. The
    /// commands are the domain's; what each does is `[labels] command_<name>`.
    pub fn help(&self, staff: bool) -> String {
        use crate::domain::command::{CommandHelp, OWNER_COMMANDS, STAFF_COMMANDS};
        let section = |title: &str, commands: &[CommandHelp]| {
            let lines: Vec<String> = commands
                .iter()
                .map(|c| format!("/{} — {}", c.name, self.command(c.name)))
                .collect();
            format!("{}\n\n{}", self.label(title), lines.join("\n"))
        };
        let mut text = section("help_owner_title", OWNER_COMMANDS);
        if staff {
            text.push_str("\n\n");
            text.push_str(&section("help_staff_title", STAFF_COMMANDS));
        }
        text
    }

    /// What command `name` does, for `/help` and the "/" menus.
    pub fn command(&self, name: &str) -> String {
        self.label(&format!("command_{name}"))
    }

    /// The edited file and the `[table] key`s it lacks, if the built-in
    /// wording had to fill any in: `guanjia check` names them.
    pub fn filled_in(&self) -> Option<(&str, &[String])> {
        self.filled_in
            .as_ref()
            .map(|(file, keys)| (file.as_str(), keys.as_slice()))
    }

    /// The name of category `id` in this catalogue, if it gives one.
    pub fn category(&self, id: &str) -> Option<&str> {
        self.categories.get(id).map(String::as_str)
    }

    pub fn label_with(&self, key: &str, args: &[(&str, &str)]) -> String {
        let body = self.labels.get(key).map(String::as_str).unwrap_or(key);
        self.fill_with(body, args, false)
    }

    /// Fill only the `[vars]` (used for FAQ answers, which staff write with
    /// `{phone}` and friends).
    pub fn fill(&self, text: &str) -> String {
        self.fill_with(text, &[], true)
    }

    /// Override a `[vars]` value (the config's company name wins over the file's).
    pub fn set_var(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_string(), value.to_string());
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    fn fill_with(&self, body: &str, args: &[(&str, &str)], typeset: bool) -> String {
        let mut out = String::with_capacity(body.len() + 32);
        let mut rest = body;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) if is_name(&after[..close]) => {
                    let name = &after[..close];
                    let value = args
                        .iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| *v)
                        .or_else(|| self.vars.get(name).map(String::as_str));
                    match value {
                        Some(v) => {
                            // Chinese typesetting: a space the wording puts between a
                            // Chinese word and a Chinese value goes ("由 客服小李 负责"
                            // reads "由客服小李负责"); beside digits or Latin it stays.
                            if typeset
                                && v.chars().next().is_some_and(is_cjk)
                                && out.ends_with(' ')
                                && out.trim_end_matches(' ').chars().last().is_some_and(is_cjk)
                            {
                                out.truncate(out.trim_end_matches(' ').len());
                            }
                            out.push_str(v);
                            let tail = &after[close + 1..];
                            if typeset
                                && v.chars().last().is_some_and(is_cjk)
                                && tail.starts_with(' ')
                                && tail
                                    .trim_start_matches(' ')
                                    .chars()
                                    .next()
                                    .is_some_and(is_cjk)
                            {
                                rest = tail.trim_start_matches(' ');
                                continue;
                            }
                        }
                        None => {
                            out.push('{');
                            out.push_str(name);
                            out.push('}');
                        }
                    }
                    rest = &after[close + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// Han characters and the full-width punctuation that sits between them.
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303f}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{ff00}'..='\u{ffef}')
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
}

fn placeholders(body: &str) -> impl Iterator<Item = &str> {
    body.split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
        .filter(|n| is_name(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_space_is_left_between_chinese_words_and_a_chinese_value() {
        let mut t = shipped();
        t.set_var("desk_location", "小区北门物业服务中心");
        t.set_var("phone", "0755-8888 6666");
        assert_eq!(
            t.fill("请到 {desk_location} 咨询,或拨打 {phone} 联系我们"),
            "请到小区北门物业服务中心咨询,或拨打 0755-8888 6666 联系我们"
        );
        let claimed = t.render(
            "owner_claimed",
            &[("ticket", "#3"), ("assignee", "客服小李")],
        );
        assert!(claimed.contains("由客服小李负责"), "{claimed}");
    }

    #[test]
    fn a_misspelt_placeholder_in_a_faq_answer_is_named_with_its_entry() {
        let t = shipped();
        t.check_vars_only("faq.toml", [("fee", "请拨打 {phone} 咨询")])
            .unwrap();
        let err = t
            .check_vars_only("faq.toml", [("fee", "请拨打 {telephone} 咨询")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("faq.toml") && err.contains("fee") && err.contains("{telephone}"),
            "{err}"
        );
    }

    fn shipped() -> Templates {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("intents/templates.toml");
        Templates::load(&path).expect("the shipped templates load")
    }

    #[test]
    fn the_shipped_templates_fill_every_placeholder() {
        let t = shipped();
        for (key, allowed) in MESSAGES {
            let args: Vec<(&str, &str)> = allowed.iter().map(|a| (*a, "X")).collect();
            let text = t.render(key, &args);
            assert!(!text.contains('{'), "{key} left a placeholder: {text}");
        }
    }

    #[test]
    fn a_complaint_acknowledgement_apologises_and_promises_a_time() {
        let t = shipped();
        let text = t.render(
            "ack_complaint",
            &[
                ("ticket", "#3"),
                ("category", "噪音"),
                ("location", ""),
                ("answer_hours", "24"),
                ("status", "已受理"),
            ],
        );
        assert!(text.contains("#3"));
        assert!(text.contains("抱歉") || text.contains("歉意"), "{text}");
        assert!(text.contains("24"), "{text}");
        assert!(text.contains("感谢") || text.contains("谢谢"), "{text}");
    }

    #[test]
    fn an_unknown_placeholder_is_named_with_its_message() {
        let src = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("intents/templates.toml"),
        )
        .unwrap();
        let broken = src.replacen("{ticket}", "{tiket}", 1);
        let err = Templates::parse("intents/templates.toml", &broken)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tiket") && err.contains("intents/templates.toml"),
            "{err}"
        );
    }

    #[test]
    fn the_built_in_templates_are_the_shipped_ones() {
        let built = Templates::builtin().expect("the built-in templates load");
        let t = shipped();
        for (key, _) in MESSAGES {
            assert_eq!(built.render(key, &[]), t.render(key, &[]), "{key}");
        }
    }

    #[test]
    fn a_missing_message_is_named() {
        let err = Templates::parse("t.toml", "[vars]\ncompany = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ack_repair"), "{err}");
    }

    #[test]
    fn a_missing_staff_text_is_named_with_its_file_and_table() {
        let src = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("intents/zh-Hant/templates.toml"),
        )
        .unwrap();
        let broken: String = src
            .lines()
            .filter(|l| !l.starts_with("claim_ok ="))
            .map(|l| format!("{l}\n"))
            .collect();
        let err = Templates::parse("intents/zh-Hant/templates.toml", &broken)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("intents/zh-Hant/templates.toml") && err.contains("[staff] claim_ok"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_placeholder_in_a_label_is_named_with_the_allowed_ones() {
        let src = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("intents/templates.toml"),
        )
        .unwrap();
        let broken = src.replace(
            "toast_claimed = \"工单 {ticket} 由您负责\"",
            "toast_claimed = \"工单 {tickt} 由您负责\"",
        );
        assert_ne!(broken, src);
        let err = Templates::parse("my/templates.toml", &broken)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("my/templates.toml")
                && err.contains("[labels] toast_claimed")
                && err.contains("{tickt}")
                && err.contains("ticket"),
            "{err}"
        );
    }

    #[test]
    fn every_locale_has_a_built_in_catalogue_that_fills_every_placeholder() {
        for locale in LOCALES {
            let t = Templates::builtin_for(locale).expect("the built-in catalogue loads");
            for (table, keys) in TABLES {
                for (key, allowed) in *keys {
                    let args: Vec<(&str, &str)> = allowed.iter().map(|a| (*a, "X")).collect();
                    let body = t.table(table).get(*key).expect("checked at load");
                    let text = t.fill_with(body, &args, false);
                    assert!(!text.contains('{'), "{locale} [{table}] {key}: {text}");
                }
            }
        }
        let hant = Templates::builtin_for("zh-Hant").unwrap();
        assert_eq!(hant.label("intent_repair"), "報修");
        assert_eq!(hant.category("elevator"), Some("電梯"));
    }

    #[test]
    fn the_simplified_help_is_the_commands_own() {
        let t = shipped();
        for staff in [false, true] {
            assert_eq!(t.help(staff), crate::domain::command::help(staff));
        }
    }

    #[test]
    fn an_edited_file_without_a_new_text_is_told_which_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("templates.toml");
        let src = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("intents/templates.toml"),
        )
        .unwrap();
        let edited: String = src
            .lines()
            .filter(|l| !l.starts_with("claim_ok ="))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, edited).unwrap();
        let (t, added) = Templates::load_over(&path, &shipped()).unwrap();
        assert_eq!(added, vec!["claim_ok"]);
        let (file, keys) = t.filled_in().expect("the gap is remembered");
        assert!(file.ends_with("templates.toml"), "{file}");
        assert_eq!(keys, ["[staff] claim_ok"]);
        assert!(t.staff("claim_ok", &[]).contains("由您负责"));
    }

    #[test]
    fn braces_that_are_not_placeholders_survive() {
        let t = Templates {
            vars: HashMap::from([("phone".into(), "123".into())]),
            messages: HashMap::new(),
            staff: HashMap::new(),
            labels: HashMap::new(),
            categories: HashMap::new(),
            filled_in: None,
        };
        assert_eq!(t.fill("电话 {phone} {不是} {"), "电话 123 {不是} {");
    }
}
