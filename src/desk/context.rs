//! What every use case of the desk shares: the store, the clock, the catalogue,
//! where staff are told things, and the few settings those shared helpers need.
//! The services (intake, workflow, notices, admin) each hold it behind an `Arc`
//! with their own slice of the settings, so none of them sees the whole config.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;

use super::{Incoming, Result};
use crate::configuration;
use crate::domain::calendar::OfficeHours;
use crate::domain::outgoing::{Lane, Outgoing};
use crate::domain::templates::Templates;
use crate::domain::{Classifier, Clock};
use crate::storage::{Store, Tx};

pub struct Context {
    pub(super) store: Store,
    pub(super) classifier: Arc<Classifier>,
    pub(super) templates: Templates,
    pub(super) tz: Tz,
    /// When ordinary service clocks run (`[service] hours`).
    pub(super) calendar: OfficeHours,
    pub(super) clock: Arc<dyn Clock>,
    /// The bot's @username, for deep links into a private chat.
    pub(super) bot_username: String,
    /// Rung after every commit that queued messages, so the worker sends at once.
    pub(super) outbox_wake: Arc<Notify>,
    /// Staff and admins from the config; staff added at run time live in the store.
    pub(super) config_staff: HashSet<i64>,
    /// The staff group: the config's `staff_chat` at first, replaced at build by
    /// the one remembered in the store and at run time by `/set_staff_group`.
    /// Read on every message, written almost never; never held across an await.
    pub(super) staff_chat: RwLock<Option<i64>>,
    /// `[desk]`: who is admin, staff or supervisor, the follow-up window. Who
    /// may do what is asked by every service, so it lives here.
    pub(super) desk: configuration::Desk,
    /// `[service]`: time limits, read when a ticket's acknowledgement is shown.
    pub(super) service: configuration::Service,
    /// `[merge]`: which reports are shared, so an acknowledgement, whoever
    /// renders it, carries the 我也有这个问题 button.
    pub(super) merge: configuration::Merge,
    /// `[[estate]]`, names trimmed; without any, the one implicit estate `""`
    /// served by the desk's staff group. An estate without its own staff group is
    /// served by the desk's, whatever that is now.
    pub(super) estates: Vec<configuration::EstateConfig>,
}

impl Context {
    pub(super) fn new(
        store: Store,
        classifier: Arc<Classifier>,
        templates: Templates,
        settings: &configuration::Settings,
        clock: Arc<dyn Clock>,
        bot_username: String,
    ) -> Self {
        let tz = settings.timezone().unwrap_or(chrono_tz::Asia::Shanghai);
        // Checked when the settings were loaded; round the clock if not.
        let calendar = settings
            .service
            .calendar(tz)
            .unwrap_or_else(|_| OfficeHours::always(tz));
        let config_staff = settings
            .desk
            .staff
            .iter()
            .chain(&settings.desk.admins)
            .chain(settings.estate.iter().flat_map(|e| &e.staff))
            .copied()
            .collect();
        Self {
            store,
            classifier,
            templates,
            tz,
            calendar,
            clock,
            bot_username,
            outbox_wake: Arc::new(Notify::new()),
            config_staff,
            staff_chat: RwLock::new(settings.desk.staff_chat),
            desk: settings.desk.clone(),
            service: settings.service.clone(),
            merge: settings.merge.clone(),
            estates: if settings.estate.is_empty() {
                vec![configuration::EstateConfig {
                    name: String::new(),
                    staff_chat: None,
                    staff: Vec::new(),
                }]
            } else {
                settings
                    .estate
                    .iter()
                    .map(|e| configuration::EstateConfig {
                        name: e.name.trim().to_string(),
                        staff_chat: e.staff_chat,
                        staff: e.staff.clone(),
                    })
                    .collect()
            },
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    pub fn outbox_wake(&self) -> Arc<Notify> {
        self.outbox_wake.clone()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The bot's @username (without the @): commands addressed to it are ours.
    pub fn bot_username(&self) -> &str {
        &self.bot_username
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The handbook's time limits (`[service]`).
    pub(crate) fn standard(&self) -> crate::domain::service::ServiceStandard {
        use chrono::Duration;
        let s = &self.service;
        crate::domain::service::ServiceStandard {
            respond: Duration::minutes(s.respond_minutes),
            emergency_respond: Duration::minutes(s.emergency_respond_minutes),
            resolve: Duration::hours(s.resolve_hours),
            complaint_answer: Duration::hours(s.complaint_answer_hours),
        }
    }

    /// Office hours, for ordinary service clocks.
    pub(crate) fn calendar(&self) -> &OfficeHours {
        &self.calendar
    }

    pub(crate) fn t(&self) -> &Templates {
        &self.templates
    }

    pub fn is_admin(&self, user: i64) -> bool {
        self.desk.admins.contains(&user)
    }

    /// Staff from the config, or added by an admin at run time.
    pub async fn is_staff(&self, user: i64) -> Result<bool> {
        Ok(self.config_staff.contains(&user) || self.store.is_staff(user).await?)
    }

    /// The staff group now: `/set_staff_group`'s choice, else the config's.
    pub fn staff_chat(&self) -> Option<i64> {
        *self.staff_chat.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn set_staff_chat(&self, chat: i64) {
        *self.staff_chat.write().unwrap_or_else(|e| e.into_inner()) = Some(chat);
    }

    /// Where staff are told things: the staff group, or, until one is set, each
    /// admin in private (a private chat's id is the user's id), so nothing staff
    /// must hear of is dropped for want of a group.
    pub(crate) fn staff_targets(&self) -> Vec<i64> {
        match self.staff_chat() {
            Some(chat) => vec![chat],
            None => self.desk.admins.clone(),
        }
    }

    /// One message for staff, once per `tag`: to the staff group, or a copy for
    /// each admin in private (tagged `<tag>:<admin>`) while there is no group.
    pub(crate) fn to_staff(&self, tag: &str, text: &str) -> Vec<Outgoing> {
        self.staff_targets()
            .into_iter()
            .map(|target| {
                let tag = if Some(target) == self.staff_chat() {
                    tag.to_string()
                } else {
                    format!("{tag}:{target}")
                };
                Outgoing::send(target, text).tag(tag)
            })
            .collect()
    }

    /// Commit and wake the sender.
    pub(super) async fn commit(&self, tx: Tx) -> Result<()> {
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(())
    }

    /// Answer `msg` with `text` (once, however often `msg` arrives).
    pub async fn reply(&self, msg: &Incoming, text: impl Into<String>) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.enqueue(
            &Outgoing::send(msg.chat_id, text)
                .reply_to(msg.message_id)
                .tag(msg.reply_tag()),
            self.now(),
        )
        .await?;
        self.commit(tx).await
    }

    /// Queue one message on its own.
    pub(super) async fn post(&self, out: Outgoing) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.enqueue(&out, self.now()).await?;
        self.commit(tx).await
    }

    /// The polite refusal for someone who is not staff.
    pub async fn refuse(&self, msg: &Incoming) -> Result<()> {
        self.reply(msg, self.t().render("refuse_not_staff", &[]))
            .await
    }

    /// The staff group or a private chat: where details may be shown.
    pub fn is_staff_place(&self, msg: &Incoming) -> bool {
        msg.is_private() || self.is_staff_chat(msg.chat_id)
    }

    /// The desk's staff group or an estate's.
    pub fn is_staff_chat(&self, chat: i64) -> bool {
        Some(chat) == self.staff_chat() || self.estates.iter().any(|e| e.staff_chat == Some(chat))
    }

    /// The estates' names, as declared (`[""]` without `[[estate]]`).
    pub fn estate_names(&self) -> Vec<&str> {
        self.estates.iter().map(|e| e.name.as_str()).collect()
    }

    /// An owner's text that starts with a declared estate's name
    /// (`翠湖苑 3-2-501`): the estate and the rest.
    pub(crate) fn estate_prefix<'t>(&self, text: &'t str) -> (Option<String>, &'t str) {
        let mut names: Vec<&str> = self
            .estates
            .iter()
            .map(|e| e.name.as_str())
            .filter(|n| !n.is_empty())
            .collect();
        // 翠湖苑二期 before 翠湖苑.
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        for name in names {
            if let Some(rest) = text.strip_prefix(name) {
                return (
                    Some(name.to_string()),
                    rest.trim_start_matches([' ', ':', '\u{ff1a}', '\u{3000}']),
                );
            }
        }
        (None, text)
    }

    /// Whether staff must name an estate (`[[estate]]` declared more than once).
    pub(crate) fn several_estates(&self) -> bool {
        self.estates.len() > 1
    }

    /// The staff group serving `estate`: its own, else the desk's. An estate not
    /// (or no longer) declared, such as a ticket's from before, is the desk's.
    pub fn staff_chat_of(&self, estate: &str) -> Option<i64> {
        self.estates
            .iter()
            .find(|e| e.name == estate)
            .and_then(|e| e.staff_chat)
            .or_else(|| self.staff_chat())
    }

    /// The estates whose staff may act from `msg`'s chat: in a staff group
    /// those it serves; in a private chat those its staff member serves.
    pub(crate) fn served_estates(&self, msg: &Incoming) -> Vec<String> {
        self.estates
            .iter()
            .filter(|e| self.serves(msg, &e.name))
            .map(|e| e.name.clone())
            .collect()
    }

    /// Whether `msg`'s chat serves what belongs to `estate`: a staff group
    /// those it is the staff group of (the desk's group also what belongs to no
    /// declared estate); a private chat every estate for the desk's staff and
    /// admins, and for staff of some estates (`[[estate]] staff`) theirs.
    pub(crate) fn serves(&self, msg: &Incoming, estate: &str) -> bool {
        if msg.is_private() {
            return self.staff_member_serves(msg.from.id, estate);
        }
        self.staff_chat_of(estate) == Some(msg.chat_id)
    }

    /// Whether staff member `user`, in private, serves `estate`: the desk's
    /// staff and admins (and staff added at run time) serve every estate;
    /// someone listed under `[[estate]] staff` serves those estates only.
    fn staff_member_serves(&self, user: i64, estate: &str) -> bool {
        if self.desk.admins.contains(&user) || self.desk.staff.contains(&user) {
            return true;
        }
        let mut listed = self.estates.iter().filter(|e| e.staff.contains(&user));
        match listed.next() {
            None => true,
            Some(first) => first.name == estate || listed.any(|e| e.name == estate),
        }
    }

    /// The estates whose rows `msg`'s chat may list: those it serves, and the
    /// implicit estate `""` when the chat serves it (a ticket opened in private
    /// by an owner never seen in a group).
    pub(crate) fn visible_estates(&self, msg: &Incoming) -> Vec<String> {
        let mut estates = self.served_estates(msg);
        if !estates.iter().any(String::is_empty) && self.serves(msg, "") {
            estates.push(String::new());
        }
        estates
    }

    /// The estate a staff command from `msg` acts on: the one it names, else the
    /// only one `msg`'s chat serves. `Err`: what to tell the sender instead (an
    /// unknown estate, one this chat does not serve, or none named where it
    /// serves several: the desk never guesses).
    pub(crate) fn pick_estate(
        &self,
        msg: &Incoming,
        named: Option<&str>,
    ) -> std::result::Result<String, String> {
        let served = self.served_estates(msg);
        let listed = |names: &[String]| {
            if names.is_empty() {
                "—".to_string()
            } else {
                names.join("、")
            }
        };
        match named {
            Some(name) if !self.estates.iter().any(|e| e.name == name) => {
                let all: Vec<String> = self.estates.iter().map(|e| e.name.clone()).collect();
                Err(self.t().staff(
                    "estate_unknown",
                    &[("estate", name), ("estates", &listed(&all))],
                ))
            }
            Some(name) if !served.iter().any(|e| e == name) => Err(self.t().staff(
                "estate_not_served",
                &[("estate", name), ("estates", &listed(&served))],
            )),
            Some(name) => Ok(name.to_string()),
            None if served.len() == 1 => Ok(served[0].clone()),
            None => {
                let example = format!(
                    "{}:1栋",
                    served
                        .first()
                        .or(self.estates.first().map(|e| &e.name))
                        .map_or("", |e| e)
                );
                Err(self.t().staff(
                    "estate_needed",
                    &[("example", &example), ("estates", &listed(&served))],
                ))
            }
        }
    }

    /// Staff's targets (`翠湖苑:1栋,3栋`) split into the estate they act on and
    /// the buildings. Without `[[estate]]` nothing is split off: every target
    /// reads as before estates existed.
    pub(crate) fn estate_targets<'a>(
        &self,
        msg: &Incoming,
        targets: &'a str,
    ) -> std::result::Result<(String, &'a str), String> {
        if self.estates.iter().all(|e| e.name.is_empty()) {
            return Ok((String::new(), targets));
        }
        // `/notice 翠湖苑 …`: the estate alone is all of it.
        if let Some(e) = self.estates.iter().find(|e| e.name == targets.trim()) {
            return Ok((self.pick_estate(msg, Some(&e.name))?, "all"));
        }
        let (named, rest) = crate::domain::notice::split_estate(targets);
        Ok((self.pick_estate(msg, named)?, rest))
    }

    /// `label` (buildings, a group) with its estate in front when there are
    /// several, so staff of several estates read which 1栋 it is.
    pub(crate) fn in_estate(&self, estate: &str, label: &str) -> String {
        if self.several_estates() && !estate.is_empty() {
            format!("{estate} {label}")
        } else {
            label.to_string()
        }
    }

    /// Whether ticket `id` is one `msg`'s chat serves: always with one estate,
    /// and for a ticket that does not exist (the command itself says so).
    pub(crate) async fn serves_ticket(
        &self,
        msg: &Incoming,
        id: crate::domain::ticket::TicketId,
    ) -> Result<bool> {
        if !self.several_estates() {
            return Ok(true);
        }
        Ok(match self.store.ticket(id).await? {
            Some(t) => self.serves(msg, &t.estate),
            None => true,
        })
    }

    /// Where staff of `estate` are told things: as [`Context::staff_targets`],
    /// with the estate's own staff group when it has one.
    pub(crate) fn staff_targets_of(&self, estate: &str) -> Vec<i64> {
        match self.staff_chat_of(estate) {
            Some(chat) => vec![chat],
            None => self.desk.admins.clone(),
        }
    }

    /// One message for the staff of `estate`, once per `tag` (see [`Context::to_staff`]).
    pub(crate) fn to_staff_of(&self, estate: &str, tag: &str, text: &str) -> Vec<Outgoing> {
        let group = self.staff_chat_of(estate);
        self.staff_targets_of(estate)
            .into_iter()
            .map(|target| {
                let tag = if Some(target) == group {
                    tag.to_string()
                } else {
                    format!("{tag}:{target}")
                };
                Outgoing::send(target, text).tag(tag)
            })
            .collect()
    }

    /// A staff command typed where owners read: it is not run, the sender is told
    /// where to ask, and the command (which may carry a note, a room or a phone
    /// number) is taken down when the bot may delete messages there.
    pub async fn not_here(&self, msg: &Incoming) -> Result<()> {
        self.refuse_in_group(msg, "staff_command_elsewhere", true)
            .await
    }

    /// Answer `msg` in its group with template `key` and, when `take_down`, ask
    /// Telegram to delete it (it may hold private details): the deletion goes
    /// first, before anything else queued for that group.
    pub(crate) async fn refuse_in_group(
        &self,
        msg: &Incoming,
        key: &str,
        take_down: bool,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.enqueue(
            &Outgoing::send(msg.chat_id, self.t().render(key, &[]))
                .reply_to(msg.message_id)
                .tag(msg.reply_tag()),
            now,
        )
        .await?;
        if take_down {
            tx.enqueue(
                &Outgoing::delete_message(msg.chat_id, msg.message_id)
                    .tag(format!("del:{}:{}", msg.chat_id, msg.message_id))
                    .lane(Lane::Emergency),
                now,
            )
            .await?;
        }
        self.commit(tx).await
    }

    /// A deep link that opens a private chat with the bot about ticket `n`.
    pub(super) fn deep_link(&self, payload: &str) -> String {
        format!("https://t.me/{}?start={payload}", self.bot_username)
    }

    pub(super) fn lane_for(&self, urgent: bool) -> Lane {
        if urgent {
            Lane::Emergency
        } else {
            Lane::Interactive
        }
    }
}
