//! The outbound half: building bindings, notices, planned outages (fee
//! reminders are in `fees.rs`).
//!
//! A broadcast is one `broadcasts` row (keyed by the command that asked for it, so
//! a re-delivered command cannot send twice) and one outbox row per target group
//! (tagged `b<id>:<chat>`, so a group gets it once). The outbox worker delivers
//! them under Telegram's limits and, when the last one is settled, the sender gets
//! a report: how many groups were reached and which failed.

use chrono::{DateTime, Duration, Utc};

use super::fees::FeeRun;
use super::{Incoming, Notices, Result};
use crate::domain::notice::{BroadcastKind, NoticeError, OutagePlan, Targets};
use crate::domain::outgoing::{Lane, Op, Outgoing};
use crate::storage::{BuildingGroup, NewBroadcast, Outage, OutageStep, Tx};

pub(super) struct Plan<'a> {
    pub(super) kind: BroadcastKind,
    pub(super) text: String,
    pub(super) targets: &'a Targets,
    pub(super) dedupe_key: String,
    pub(super) sender: Option<i64>,
    pub(super) report_chat: Option<i64>,
    pub(super) outage_id: Option<i64>,
    pub(super) pin: bool,
    /// Whose groups `targets` names.
    pub(super) estate: &'a str,
}

impl Notices {
    /// The groups `targets` reaches in `estate` (`None`: in every estate), and
    /// the names that matched no group. Another estate's 1栋 is never reached.
    pub(super) async fn resolve(
        &self,
        estate: Option<&str>,
        targets: &Targets,
    ) -> Result<(Vec<BuildingGroup>, Vec<String>)> {
        let mut groups = self.store().buildings().await?;
        if let Some(estate) = estate {
            groups.retain(|g| g.estate == estate);
        }
        let reached: Vec<BuildingGroup> = groups
            .iter()
            .filter(|g| targets.includes(&g.name))
            .cloned()
            .collect();
        let missing = match targets {
            Targets::All => Vec::new(),
            Targets::Buildings(names) => names
                .iter()
                .filter(|n| {
                    !groups
                        .iter()
                        .any(|g| Targets::Buildings(vec![(*n).clone()]).includes(&g.name))
                })
                .cloned()
                .collect(),
        };
        Ok((reached, missing))
    }

    /// `targets` with each building named as its group is (`1号楼` → `1栋`), so a
    /// notice reads the way its group names itself.
    fn named_as_groups(targets: &Targets, groups: &[BuildingGroup]) -> Targets {
        match targets {
            Targets::All => Targets::All,
            Targets::Buildings(names) => {
                let mut named: Vec<String> = Vec::with_capacity(names.len());
                for n in names {
                    let one = Targets::Buildings(vec![n.clone()]);
                    let name = groups
                        .iter()
                        .find(|g| one.includes(&g.name))
                        .map(|g| g.name.clone())
                        .unwrap_or_else(|| n.clone());
                    if !named.contains(&name) {
                        named.push(name);
                    }
                }
                Targets::Buildings(named)
            }
        }
    }

    /// Record a broadcast and queue one copy per group. `None` if this command
    /// already did (a re-delivered update).
    pub(super) async fn queue_broadcast(
        &self,
        tx: &mut Tx,
        plan: Plan<'_>,
        groups: &[BuildingGroup],
    ) -> Result<Option<i64>> {
        let now = self.now();
        let Some(id) = tx
            .insert_broadcast(
                &NewBroadcast {
                    kind: plan.kind,
                    sender_id: plan.sender,
                    text: &plan.text,
                    targets: plan.targets,
                    dedupe_key: &plan.dedupe_key,
                    outage_id: plan.outage_id,
                    report_chat: plan.report_chat,
                    pin: plan.pin,
                    estate: plan.estate,
                },
                now,
            )
            .await?
        else {
            return Ok(None);
        };
        for g in groups {
            let tag = format!("b{id}:{}", g.chat_id);
            tx.enqueue(
                &Outgoing::send(g.chat_id, plan.text.clone())
                    .tag(tag.clone())
                    .broadcast(id),
                now,
            )
            .await?;
            if plan.pin {
                tx.enqueue(
                    &Outgoing::act(g.chat_id, Op::Pin, tag.clone())
                        .tag(format!("{tag}:pin"))
                        .broadcast(id),
                    now,
                )
                .await?;
            }
        }
        Ok(Some(id))
    }

    async fn queued_reply(
        &self,
        msg: &Incoming,
        estate: &str,
        what: &str,
        groups: &[BuildingGroup],
        missing: &[String],
    ) -> Result<()> {
        let mut names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        names.dedup();
        let count = groups.len().to_string();
        let mut text = self.t().staff(
            "broadcast_queued",
            &[
                ("what", what),
                ("count", &count),
                ("groups", &self.in_estate(estate, &names.join("、"))),
            ],
        );
        if !missing.is_empty() {
            let missing = missing.join("、");
            text.push_str(&self.t().staff("broadcast_missing", &[("groups", &missing)]));
        }
        self.reply(msg, text).await
    }

    /// `/notice <targets> <text>`; `<targets>` may name the estate (`翠湖苑:1栋`).
    pub async fn notice(&self, msg: &Incoming, args: &str) -> Result<()> {
        let (targets, body) = crate::domain::notice::split_targets(args);
        let (estate, targets) = match self.estate_targets(msg, &targets) {
            Ok(scoped) => scoped,
            Err(text) => return self.reply(msg, text).await,
        };
        let targets = match Targets::parse(targets) {
            Ok(t) => t,
            Err(e) => {
                return self
                    .reply(
                        msg,
                        self.t()
                            .staff("notice_usage", &[("error", &self.notice_error(&e))]),
                    )
                    .await;
            }
        };
        if body.trim().is_empty() {
            return self
                .reply(
                    msg,
                    self.t().staff(
                        "notice_empty",
                        &[("error", &self.notice_error(&NoticeError::EmptyText))],
                    ),
                )
                .await;
        }
        if let Some(found) = self.private_details_in(body) {
            return self.refuse_private_details(msg, found).await;
        }
        let (groups, missing) = self.resolve(Some(&estate), &targets).await?;
        if groups.is_empty() {
            let missing = self.in_estate(&estate, &missing.join("、"));
            return self
                .reply(msg, self.t().staff("no_groups", &[("groups", &missing)]))
                .await;
        }
        let text = self.t().render("notice", &[("text", body.trim())]);
        let mut tx = self.store().begin().await?;
        let plan = Plan {
            kind: BroadcastKind::Notice,
            text,
            targets: &targets,
            dedupe_key: format!("cmd:{}:{}", msg.chat_id, msg.message_id),
            sender: Some(msg.from.id),
            report_chat: Some(msg.chat_id),
            outage_id: None,
            pin: false,
            estate: &estate,
        };
        if self
            .queue_broadcast(&mut tx, plan, &groups)
            .await?
            .is_none()
        {
            return Ok(());
        }
        self.commit(tx).await?;
        let what = self.t().label("broadcast_notice");
        self.queued_reply(msg, &estate, &what, &groups, &missing)
            .await
    }

    fn outage_text(&self, key: &str, o: &Outage) -> String {
        self.t().render(
            key,
            &[
                ("utility", &self.utility_label(o.utility)),
                ("buildings", &self.targets_label(&o.targets)),
                ("start", &self.show(o.starts_at)),
                ("end", &self.show_end(o.starts_at, o.ends_at)),
                ("reason", &o.reason),
            ],
        )
    }

    /// What in a text meant for building groups would expose an owner: a phone
    /// number (other than the desk's own `{phone}`) or a room. Groups never see
    /// either, whoever types them.
    pub(super) fn private_details_in(&self, text: &str) -> Option<String> {
        let norm = crate::domain::text::normalize(text);
        let desk_phone: String = self
            .t()
            .var("phone")
            .unwrap_or("")
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let foreign_phone = crate::domain::text::phone_spans(&norm)
            .into_iter()
            .any(|(a, b)| {
                let digits: String = norm[a..b].chars().filter(char::is_ascii_digit).collect();
                desk_phone.is_empty()
                    || (!desk_phone.ends_with(&digits) && !digits.ends_with(&desk_phone))
            });
        if foreign_phone {
            return Some(self.t().label("private_phone"));
        }
        let room = self
            .classifier()
            .classify(text)
            .location
            .is_some_and(|l| l.room.is_some());
        room.then(|| self.t().label("private_room"))
    }

    pub(super) async fn refuse_private_details(&self, msg: &Incoming, found: String) -> Result<()> {
        let text = self
            .t()
            .staff("private_details_refused", &[("found", &found)]);
        self.reply(msg, text).await
    }

    /// `/outage <targets> <kind> <start> <end> <reason>`; `<targets>` may name
    /// the estate (`翠湖苑:1栋`).
    pub async fn outage(&self, msg: &Incoming, args: &str) -> Result<()> {
        let now = self.now();
        let (targets, rest) = crate::domain::notice::split_targets(args);
        let (estate, targets) = match self.estate_targets(msg, &targets) {
            Ok(scoped) => scoped,
            Err(text) => return self.reply(msg, text).await,
        };
        let args = format!("{targets} {rest}");
        let plan = match OutagePlan::parse(&args, now, self.tz()) {
            Ok(p) => p,
            Err(e) => {
                return self
                    .reply(msg, format!("⚠️ {}", self.notice_error(&e)))
                    .await;
            }
        };
        if plan.ends_at <= now {
            return self.reply(msg, self.t().staff("outage_ended", &[])).await;
        }
        if let Some(found) = self.private_details_in(&plan.reason) {
            return self.refuse_private_details(msg, found).await;
        }
        let mut plan = plan;
        let (groups, missing) = self.resolve(Some(&estate), &plan.targets).await?;
        plan.targets = Self::named_as_groups(&plan.targets, &groups);
        if groups.is_empty() {
            let missing = self.in_estate(&estate, &missing.join("、"));
            return self
                .reply(msg, self.t().staff("no_groups", &[("groups", &missing)]))
                .await;
        }
        let dedupe_key = format!("cmd:{}:{}", msg.chat_id, msg.message_id);
        if self.store().broadcast_by_key(&dedupe_key).await?.is_some() {
            return Ok(());
        }
        let lead = Duration::minutes(self.notices.outage_reminder_minutes);
        let mut tx = self.store().begin().await?;
        // Starting within the reminder lead: this announcement is the reminder.
        let already_reminded = plan.starts_at - lead <= now;
        let id = tx
            .insert_outage(&plan, &estate, msg.from.id, now, already_reminded)
            .await?;
        let outage = Outage {
            id,
            utility: plan.utility,
            targets: plan.targets.clone(),
            starts_at: plan.starts_at,
            ends_at: plan.ends_at,
            reason: plan.reason.clone(),
            cancelled: false,
            estate: estate.clone(),
        };
        let text = self.outage_text("outage_notice", &outage);
        let b = Plan {
            kind: BroadcastKind::Outage,
            text,
            targets: &plan.targets,
            dedupe_key,
            sender: Some(msg.from.id),
            report_chat: Some(msg.chat_id),
            outage_id: Some(id),
            pin: self.notices.pin_outages,
            estate: &estate,
        };
        if self.queue_broadcast(&mut tx, b, &groups).await?.is_none() {
            return Ok(());
        }
        self.commit(tx).await?;
        // The times as understood, so a misread date is caught before owners see it.
        self.queued_reply(
            msg,
            &estate,
            &self.t().staff(
                "outage_queued",
                &[
                    ("utility", &self.utility_label(plan.utility)),
                    ("id", &id.to_string()),
                    ("start", &self.show(plan.starts_at)),
                    ("end", &self.show_end(plan.starts_at, plan.ends_at)),
                ],
            ),
            &groups,
            &missing,
        )
        .await
    }

    /// `/outages`
    pub async fn outages(&self, msg: &Incoming) -> Result<()> {
        let mut list = self.store().current_outages(self.now()).await?;
        // A staff group sees its own estates' outages only.
        list.retain(|o| self.serves(msg, &o.estate));
        if list.is_empty() {
            return self.reply(msg, self.t().staff("outages_none", &[])).await;
        }
        let lines: Vec<String> = list
            .iter()
            .map(|o| {
                self.t().staff(
                    "outages_line",
                    &[
                        ("id", &o.id.to_string()),
                        ("utility", &self.utility_label(o.utility)),
                        (
                            "buildings",
                            &self.in_estate(&o.estate, &self.targets_label(&o.targets)),
                        ),
                        ("start", &self.show(o.starts_at)),
                        ("end", &self.show_end(o.starts_at, o.ends_at)),
                        ("reason", &o.reason),
                    ],
                )
            })
            .collect();
        let text = self.t().staff("outages", &[("lines", &lines.join("\n"))]);
        self.reply(msg, text).await
    }

    /// `/outage_cancel N`
    pub async fn outage_cancel(&self, msg: &Incoming, id: i64) -> Result<()> {
        // Another estate's outage is, for this staff group, no outage at all.
        let Some(outage) = self
            .store()
            .outage(id)
            .await?
            .filter(|o| self.serves(msg, &o.estate))
        else {
            return self
                .reply(
                    msg,
                    self.t().staff("outage_unknown", &[("id", &id.to_string())]),
                )
                .await;
        };
        let (groups, _) = self.resolve(Some(&outage.estate), &outage.targets).await?;
        let unpins = self.outage_unpins(&outage).await?;
        let mut tx = self.store().begin().await?;
        if !tx.cancel_outage(id).await? {
            drop(tx);
            let text = self
                .t()
                .staff("outage_cancelled_before", &[("id", &id.to_string())]);
            return self.reply(msg, text).await;
        }
        let text = self.outage_text("outage_cancel", &outage);
        let plan = Plan {
            kind: BroadcastKind::OutageCancel,
            text,
            targets: &outage.targets,
            dedupe_key: format!("outage:{id}:cancel"),
            sender: Some(msg.from.id),
            report_chat: Some(msg.chat_id),
            outage_id: Some(id),
            pin: false,
            estate: &outage.estate,
        };
        self.queue_broadcast(&mut tx, plan, &groups).await?;
        for unpin in &unpins {
            tx.enqueue(unpin, self.now()).await?;
        }
        self.commit(tx).await?;
        let count = groups.len().to_string();
        let text = self.t().staff(
            "outage_cancelled",
            &[("id", &id.to_string()), ("count", &count)],
        );
        self.reply(msg, text).await
    }

    /// Unpins for every copy of an outage's pinned announcement. Read before a
    /// transaction opens: SQLite has one connection.
    async fn outage_unpins(&self, outage: &Outage) -> Result<Vec<Outgoing>> {
        let Some(b) = self.store().outage_announcement(outage.id).await? else {
            return Ok(Vec::new());
        };
        if !b.pin {
            return Ok(Vec::new());
        }
        let groups = self.store().buildings().await?;
        Ok(groups
            .iter()
            .filter(|g| g.estate == outage.estate && b.targets.includes(&g.name))
            .map(|g| {
                let tag = format!("b{}:{}", b.id, g.chat_id);
                Outgoing::act(g.chat_id, Op::Unpin, tag.clone())
                    .tag(format!("{tag}:unpin"))
                    .lane(Lane::Broadcast)
            })
            .collect())
    }

    /// `/recall N`: delete broadcast N from every group it reached.
    pub async fn recall(&self, msg: &Incoming, id: i64) -> Result<()> {
        if !self
            .store()
            .broadcast(id)
            .await?
            .is_some_and(|b| self.serves(msg, &b.estate))
        {
            let text = self
                .t()
                .staff("broadcast_unknown", &[("id", &id.to_string())]);
            return self.reply(msg, text).await;
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        if !tx.mark_recalled(id, msg.from.id, now).await? {
            drop(tx);
            let text = self
                .t()
                .staff("recalled_before", &[("id", &id.to_string())]);
            return self.reply(msg, text).await;
        }
        let delivered = tx.recall_broadcast(id, now).await?;
        for (chat, tag) in &delivered {
            tx.enqueue(
                &Outgoing::act(*chat, Op::Delete, tag.clone())
                    .tag(format!("{tag}:del"))
                    .lane(Lane::Interactive),
                now,
            )
            .await?;
        }
        self.commit(tx).await?;
        let count = delivered.len().to_string();
        let text = self
            .t()
            .staff("recalling", &[("id", &id.to_string()), ("count", &count)]);
        self.reply(msg, text).await
    }

    /// `/broadcasts`: the broadcast log — who sent what, when, and how it went.
    pub async fn broadcast_log(&self, msg: &Incoming) -> Result<()> {
        let mut list = self.store().recent_broadcasts(15).await?;
        list.retain(|b| self.serves(msg, &b.estate));
        if list.is_empty() {
            return self
                .reply(msg, self.t().staff("broadcasts_none", &[]))
                .await;
        }
        let mut lines = Vec::with_capacity(list.len());
        for b in &list {
            let stats = self.store().broadcast_stats(b.id).await?;
            let who = match b.sender_id {
                Some(s) => self.store().display_name(s).await?.unwrap_or_else(|| {
                    self.t()
                        .label_with("staff_numbered", &[("user", &s.to_string())])
                }),
                None => self.t().label("scheduled"),
            };
            let mut line = self.t().staff(
                "broadcasts_line",
                &[
                    ("id", &b.id.to_string()),
                    ("at", &self.show(b.created_at)),
                    ("kind", &self.t().label(kind_label(b.kind))),
                    ("who", &who),
                    (
                        "targets",
                        &self.in_estate(&b.estate, &self.targets_label(&b.targets)),
                    ),
                    ("sent", &stats.sent.to_string()),
                    ("failed", &stats.failed.to_string()),
                    ("pending", &stats.pending.to_string()),
                ],
            );
            if b.recalled_at.is_some() {
                line.push_str(&self.t().label("recalled_mark"));
            }
            line.push_str(&format!(
                "\n   {}",
                super::render::excerpt(&b.text.replace('\n', " "), 40)
            ));
            lines.push(line);
        }
        let text = self
            .t()
            .staff("broadcasts", &[("lines", &lines.join("\n"))]);
        self.reply(msg, text).await
    }

    /// Called by the outbox worker when a broadcast's copies are all settled: tell
    /// the sender how it went (once).
    pub async fn broadcast_settled(&self, broadcast_id: i64) -> Result<()> {
        let Some(b) = self.store().broadcast(broadcast_id).await? else {
            return Ok(());
        };
        let Some(chat) = b.report_chat else {
            return Ok(());
        };
        let stats = self.store().broadcast_stats(broadcast_id).await?;
        if stats.pending > 0 {
            return Ok(());
        }
        let id = broadcast_id.to_string();
        let mut text = self.t().staff(
            "broadcast_report",
            &[("id", &id), ("sent", &stats.sent.to_string())],
        );
        if stats.failed > 0 {
            let groups = self.store().buildings().await?;
            let names: Vec<String> = stats
                .failed_chats
                .iter()
                .map(|c| {
                    groups
                        .iter()
                        .find(|g| g.chat_id == *c)
                        .map(|g| g.name.clone())
                        .unwrap_or_else(|| format!("chat {c}"))
                })
                .collect();
            text.push_str(&self.t().staff(
                "broadcast_report_failed",
                &[
                    ("failed", &stats.failed.to_string()),
                    ("groups", &names.join("、")),
                ],
            ));
        }
        if stats.cancelled > 0 {
            let n = stats.cancelled.to_string();
            text.push_str(
                &self
                    .t()
                    .staff("broadcast_report_cancelled", &[("cancelled", &n)]),
            );
        }
        text.push_str(&self.t().staff("broadcast_report_recall", &[("id", &id)]));
        self.post(Outgoing::send(chat, text).tag(format!("b{broadcast_id}:report")))
            .await
    }

    /// The notices' part of a clock tick: outage reminders and "已恢复" notices that fell due,
    /// and scheduled fee reminders. Each is queued under a unique key first and
    /// marked done after, in one transaction where it can be: a crash in between
    /// repeats the step, and the key makes the repeat a no-op. So each happens once
    /// even if the daemon was down, crashed, or runs on several instances.
    pub(super) async fn tick(&self, now: DateTime<Utc>) -> Result<()> {
        let lead = Duration::minutes(self.notices.outage_reminder_minutes);
        for o in self.store().due_outage_reminders(now, lead).await? {
            self.outage_step(&o, OutageStep::Reminded).await?;
        }
        for o in self.store().due_outage_ends(now).await? {
            self.outage_step(&o, OutageStep::Ended).await?;
        }
        for (run, schedule) in [
            (FeeRun::Groups, self.fees.group_schedule.clone()),
            (FeeRun::Private, self.fees.private_schedule.clone()),
        ] {
            if let Some(slot) = self.due_slot(run.job(), &schedule, now).await? {
                let key = format!("{}:{}", run.job(), slot.timestamp());
                // One broadcast per estate, each in its own estate's log.
                for estate in self.estate_names() {
                    let key = if estate.is_empty() {
                        key.clone()
                    } else {
                        format!("{key}:{estate}")
                    };
                    self.send_fee_reminders(run, estate, &Targets::All, &key, None)
                        .await?;
                }
                self.store().claim_job_slot(run.job(), slot, now).await?;
            }
        }
        Ok(())
    }

    /// Queue an outage's reminder or "已恢复" (with its unpins) and mark it done.
    async fn outage_step(&self, o: &Outage, step: OutageStep) -> Result<()> {
        let (groups, _) = self.resolve(Some(&o.estate), &o.targets).await?;
        let (kind, template) = match step {
            OutageStep::Reminded => (BroadcastKind::OutageReminder, "outage_reminder"),
            OutageStep::Ended => (BroadcastKind::OutageEnd, "outage_end"),
        };
        let unpins = if step == OutageStep::Ended {
            self.outage_unpins(o).await?
        } else {
            Vec::new()
        };
        let now = self.now();
        let mut tx = self.store().begin().await?;
        if !tx.mark_outage(o.id, step, now).await? {
            return Ok(());
        }
        let plan = Plan {
            kind,
            text: self.outage_text(template, o),
            targets: &o.targets,
            dedupe_key: format!("outage:{}:{}", o.id, kind.as_str()),
            sender: None,
            report_chat: None,
            outage_id: Some(o.id),
            pin: false,
            estate: &o.estate,
        };
        self.queue_broadcast(&mut tx, plan, &groups).await?;
        for unpin in &unpins {
            tx.enqueue(unpin, now).await?;
        }
        self.commit(tx).await
    }

    /// The latest slot of `schedule` at or before `now` that has not fired yet
    /// (the caller sends, then records it). Slots missed while the daemon was down collapse into the
    /// latest one; slots before the job was first seen never fire.
    async fn due_slot(
        &self,
        job: &str,
        schedule: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        let Ok(schedule) = schedule.parse::<cron::Schedule>() else {
            return Ok(None);
        };
        let Some(last) = self.store().last_job_slot(job).await? else {
            // First sight of this job: start counting from now.
            self.store().claim_job_slot(job, now, now).await?;
            return Ok(None);
        };
        let tz = self.tz();
        let latest = schedule
            .after(&last.with_timezone(&tz))
            .take_while(|t| t.with_timezone(&Utc) <= now)
            .last();
        Ok(latest.map(|t| t.with_timezone(&Utc)))
    }
}

/// The `[labels]` key of a broadcast's kind.
fn kind_label(kind: BroadcastKind) -> &'static str {
    match kind {
        BroadcastKind::Notice => "broadcast_notice",
        BroadcastKind::Outage => "broadcast_outage",
        BroadcastKind::OutageReminder => "broadcast_outage_reminder",
        BroadcastKind::OutageEnd => "broadcast_outage_end",
        BroadcastKind::OutageCancel => "broadcast_outage_cancel",
        BroadcastKind::Fee => "broadcast_fee",
    }
}
