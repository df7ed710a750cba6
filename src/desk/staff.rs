//! The staff side: claiming, finishing, handing over and reviewing tickets.
//!
//! Every change goes through [`Desk::change_ticket`]: read, apply the domain
//! transition, store it only if nobody changed the ticket meanwhile (else read again
//! and re-decide), and queue what the change tells owners and staff, all in one
//! transaction. Two staff pressing 认领 at once: one wins, the other is told who.

use super::render::{ack_tag, staff_tag};
use super::{Context, Incoming, Result, Workflow};
use crate::domain::Intent;
use crate::domain::command::{ArgError, TicketListKind};
use crate::domain::outgoing::{Lane, Outgoing};
use crate::domain::ticket::{Actor, EventKind, EventType, Ticket, TicketError, TicketId};
use crate::storage::{MediaRole, TicketFilter};

const CHANGE_RETRIES: usize = 8;

/// `/ticket N` shows at most this many of a ticket's photos again.
const MEDIA_SHOWN: usize = 10;

impl Workflow {
    /// Apply `apply` to ticket `id` and store it with its events and messages.
    /// The outer `Result` is for failures of the desk; the inner one is the
    /// domain's answer (e.g. already claimed by someone else), for the user.
    pub(crate) async fn change_ticket<F>(
        &self,
        id: TicketId,
        actor: &Actor,
        apply: F,
    ) -> Result<std::result::Result<Ticket, TicketError>>
    where
        F: Fn(&mut Ticket) -> std::result::Result<Vec<EventKind>, TicketError>,
    {
        for _ in 0..CHANGE_RETRIES {
            let Some(before) = self.store().ticket(id).await? else {
                return Ok(Err(TicketError::NotFound(id)));
            };
            let mut after = before.clone();
            let events = match apply(&mut after) {
                Ok(events) => events,
                Err(e) => return Ok(Err(e)),
            };
            let now = self.now();
            let chat_name = self.store().building_of(after.source_chat).await?;
            let reporter_private =
                after.source_chat > 0 || self.store().has_private_chat(after.reporter.id).await?;
            // Finished work is news for everyone who reported it.
            let others = if events.iter().any(|e| matches!(e, EventKind::Done { .. })) {
                self.store().co_reporters(id).await?
            } else {
                Vec::new()
            };
            // No store reads past this point until commit: SQLite has one connection.
            let mut tx = self.store().begin().await?;
            if !tx.save_ticket(&after, now).await? {
                // Someone changed it between our read and write: decide again.
                continue;
            }
            after.version += 1;
            for event in &events {
                tx.add_event(id, Some(actor), event, now).await?;
                if matches!(event, EventKind::Done { .. }) {
                    // A new round of work: its follow-up starts afresh.
                    tx.reset_revisit(id).await?;
                }
            }
            self.queue_ticket_news(
                &mut tx,
                &after,
                &events,
                chat_name.as_deref(),
                reporter_private,
            )
            .await?;
            self.tell_co_reporters_done(&mut tx, &after, &others)
                .await?;
            self.commit(tx).await?;
            return Ok(Ok(after));
        }
        Ok(Err(TicketError::Busy(id)))
    }

    /// What a change tells people: the staff post and the owner's acknowledgement
    /// show the new state; the owner hears of a claim and of finished work. What
    /// goes to a group names no one and carries no summary (it may hold a room or a
    /// phone number); the summary reaches the reporter in private, if they have a
    /// private chat with the bot (`reporter_private`).
    async fn queue_ticket_news(
        &self,
        tx: &mut crate::storage::Tx,
        t: &Ticket,
        events: &[EventKind],
        chat_name: Option<&str>,
        reporter_private: bool,
    ) -> Result<()> {
        let now = self.now();
        let private = t.source_chat > 0;
        if let Some(staff_chat) = self.staff_chat_of(&t.estate) {
            tx.enqueue(
                &Outgoing::edit(staff_chat, staff_tag(t), self.staff_text(t, chat_name))
                    .keyboard(self.staff_keyboard(t)),
                now,
            )
            .await?;
        }
        tx.enqueue(
            &Outgoing::edit(t.source_chat, ack_tag(t), self.ack_text(t, private))
                .keyboard(self.ack_keyboard(t)),
            now,
        )
        .await?;
        let n = t.id.get();
        let v = t.version;
        let to_owner =
            |text: String| Outgoing::send(t.source_chat, text).reply_to(t.source_message);
        for event in events {
            match event {
                EventKind::Claimed | EventKind::Transferred { .. } => {
                    let text = if private {
                        let assignee = match &t.assignee {
                            Some(a) => a.name.clone(),
                            None => self.t().label("someone_staff"),
                        };
                        self.t().render(
                            "owner_claimed",
                            &[("ticket", &t.id.to_string()), ("assignee", &assignee)],
                        )
                    } else {
                        self.t()
                            .render("owner_claimed_group", &[("ticket", &t.id.to_string())])
                    };
                    tx.enqueue(&to_owner(text).tag(format!("t{n}:claimed:v{v}")), now)
                        .await?;
                }
                EventKind::Done { summary } => {
                    let in_place = match summary {
                        Some(s) if private => format!("({s})"),
                        _ => String::new(),
                    };
                    let text = self.t().render(
                        "owner_done",
                        &[("ticket", &t.id.to_string()), ("summary", &in_place)],
                    );
                    tx.enqueue(
                        &to_owner(text)
                            .keyboard(Context::rating_keyboard(t))
                            .tag(format!("t{n}:rate:v{v}")),
                        now,
                    )
                    .await?;
                    if let Some(summary) = summary.as_ref().filter(|_| !private && reporter_private)
                    {
                        // A private chat's id is the user's id.
                        tx.enqueue(
                            &Outgoing::send(
                                t.reporter.id,
                                self.t().render(
                                    "owner_done_summary",
                                    &[("ticket", &t.id.to_string()), ("summary", summary)],
                                ),
                            )
                            .tag(format!("t{n}:summary:v{v}")),
                            now,
                        )
                        .await?;
                    }
                }
                EventKind::Rated { stars } => {
                    let stars = stars.to_string();
                    let hours = self.service.follow_up_hours.to_string();
                    let args = [
                        ("ticket", t.id.to_string()),
                        ("stars", stars.clone()),
                        ("follow_up_hours", hours.clone()),
                    ];
                    let args: Vec<(&str, &str)> =
                        args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    let key = if t.follow_up && t.status.is_active() {
                        "rate_sorry"
                    } else {
                        "rate_thanks"
                    };
                    tx.enqueue(
                        &to_owner(self.t().render(key, &args)).tag(format!("t{n}:rated:v{v}")),
                        now,
                    )
                    .await?;
                    if key == "rate_sorry" {
                        let who = match &t.assignee {
                            Some(a) => a.name.clone(),
                            None => self.t().label("nobody"),
                        };
                        let text = self.t().staff(
                            "low_rating",
                            &[
                                ("ticket", &t.id.to_string()),
                                ("stars", &stars),
                                ("assignee", &who),
                                ("hours", &hours),
                            ],
                        );
                        for out in
                            self.to_staff_of(&t.estate, &format!("t{n}:followup:v{v}"), &text)
                        {
                            tx.enqueue(&out.lane(Lane::Interactive), now).await?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn reply_outcome(
        &self,
        msg: &Incoming,
        outcome: std::result::Result<Ticket, TicketError>,
        ok: impl FnOnce(&Ticket) -> String,
    ) -> Result<()> {
        match outcome {
            Ok(t) => self.reply(msg, ok(&t)).await,
            Err(e) => {
                self.reply(msg, format!("⚠️ {}", self.ticket_error(&e)))
                    .await
            }
        }
    }

    /// Does ticket `id` exist? If not, the sender is told.
    async fn exists(&self, msg: &Incoming, id: TicketId) -> Result<bool> {
        if self.store().ticket(id).await?.is_none() {
            let text = self.t().staff("no_ticket", &[("ticket", &id.to_string())]);
            self.reply(msg, text).await?;
            return Ok(false);
        }
        Ok(true)
    }

    /// `/claim N`
    pub async fn claim(&self, msg: &Incoming, id: TicketId) -> Result<()> {
        if !self.exists(msg, id).await? {
            return Ok(());
        }
        let outcome = self
            .change_ticket(id, &msg.from, |t| Ok(vec![t.claim(&msg.from)?]))
            .await?;
        self.reply_outcome(msg, outcome, |t| {
            self.t().staff(
                "claim_ok",
                &[
                    ("ticket", &t.id.to_string()),
                    ("deadline", &self.show(t.resolve_by)),
                ],
            )
        })
        .await
    }

    /// `/done N [what was done]`
    pub async fn finish(
        &self,
        msg: &Incoming,
        id: TicketId,
        summary: Option<String>,
    ) -> Result<()> {
        if !self.exists(msg, id).await? {
            return Ok(());
        }
        let admin = self.is_admin(msg.from.id);
        let outcome = self
            .change_ticket(id, &msg.from, |t| {
                Ok(vec![t.finish(&msg.from, admin, summary.clone())?])
            })
            .await?;
        self.reply_outcome(msg, outcome, |t| {
            self.t().staff("done_ok", &[("ticket", &t.id.to_string())])
        })
        .await
    }

    /// `/transfer N <user id or @name>`
    pub async fn transfer(&self, msg: &Incoming, id: TicketId, to: Option<&str>) -> Result<()> {
        if !self.exists(msg, id).await? {
            return Ok(());
        }
        let Some(who) = to else {
            return self.reply(msg, self.t().staff("transfer_usage", &[])).await;
        };
        // Owners are told who is responsible by name, so a colleague nobody knows
        // a name for is named first (never shown as a number).
        let Some(to) = self.store().person(who).await? else {
            let hint = match who.parse::<i64>() {
                Ok(uid) => self
                    .t()
                    .staff("transfer_nameless", &[("user", &uid.to_string())]),
                Err(_) => self.t().staff("transfer_unknown", &[("who", who)]),
            };
            return self.reply(msg, hint).await;
        };
        if !self.is_staff(to.id).await? {
            return self
                .reply(
                    msg,
                    self.t().staff("transfer_not_staff", &[("name", &to.name)]),
                )
                .await;
        }
        let admin = self.is_admin(msg.from.id);
        let outcome = self
            .change_ticket(id, &msg.from, |t| {
                Ok(vec![t.transfer(&msg.from, to.clone(), admin)?])
            })
            .await?;
        self.reply_outcome(msg, outcome, |t| {
            self.t().staff(
                "transfer_ok",
                &[("ticket", &t.id.to_string()), ("name", &to.name)],
            )
        })
        .await
    }

    /// `/reclassify N <intent> [category]`: staff correct what the desk understood.
    /// The ticket follows (an emergency becomes urgent; a question, suggestion or
    /// chatter is no ticket and is closed), and the correction is kept with the
    /// message text as a labelled example (`guanjia intents export`).
    pub async fn reclassify(&self, msg: &Incoming, id: TicketId, words: &[String]) -> Result<()> {
        let usage = self.t().staff("reclassify_usage", &[]);
        if !self.exists(msg, id).await? {
            return Ok(());
        }
        let mut words = words.iter().map(String::as_str);
        // Staff may type the intent in Traditional characters too (報修).
        let intent = match words.next() {
            Some(word) => match crate::domain::text::normalize(word).parse::<Intent>() {
                Ok(i) => i,
                Err(_) => {
                    let e = self
                        .t()
                        .label_with("error_not_intent", &[("text", word.trim())]);
                    return self.reply(msg, format!("⚠️ {e}\n{usage}")).await;
                }
            },
            None => return self.reply(msg, format!("⚠️ {usage}")).await,
        };
        let category = match words.next() {
            None => None,
            Some(_) if !intent.has_category() => None,
            Some(word) => match self.category_id(word) {
                Some(c) => Some(c),
                None => {
                    let known: Vec<&str> = self
                        .classifier()
                        .categories()
                        .filter_map(|c| self.classifier().category_label(c))
                        .collect();
                    return self
                        .reply(
                            msg,
                            self.t().staff(
                                "no_category",
                                &[("word", word), ("known", &known.join("、"))],
                            ),
                        )
                        .await;
                }
            },
        };
        let Some(before) = self.store().ticket(id).await? else {
            return self
                .reply(
                    msg,
                    self.t().staff("no_ticket", &[("ticket", &id.to_string())]),
                )
                .await;
        };
        let show = |i: Intent, c: Option<&str>| match c {
            Some(c) if i.has_category() => {
                format!("{}·{}", self.intent_label(i), self.category_label(Some(c)))
            }
            _ => self.intent_label(i).to_string(),
        };
        let outcome = self
            .change_ticket(id, &msg.from, |t| {
                Ok(vec![t.reclassify(intent, category.clone(), show)?])
            })
            .await?;
        if outcome.is_ok() {
            let now = self.now();
            let mut tx = self.store().begin().await?;
            tx.add_correction(
                &before.text,
                intent,
                category.as_deref(),
                Some((before.intent, before.category.as_deref())),
                &format!("ticket:{}", id.get()),
                msg.from.id,
                now,
            )
            .await?;
            self.commit(tx).await?;
        }
        self.reply_outcome(msg, outcome, |t| {
            if t.status.is_active() || intent.has_category() {
                self.t().staff(
                    "reclassify_ok",
                    &[
                        ("ticket", &t.id.to_string()),
                        ("intent", &show(intent, category.as_deref())),
                    ],
                )
            } else {
                self.t().staff(
                    "reclassify_closed",
                    &[
                        ("ticket", &t.id.to_string()),
                        ("intent", &show(intent, None)),
                    ],
                )
            }
        })
        .await
    }

    /// A category by id (`renovation`) or by its label (装修).
    fn category_id(&self, word: &str) -> Option<String> {
        let c = self.classifier();
        let named = |label: &str| label == word || label.split('/').any(|p| p == word);
        c.categories()
            .find(|id| {
                id.eq_ignore_ascii_case(word)
                    || c.category_label(id).is_some_and(named)
                    || self.t().category(id).is_some_and(named)
            })
            .map(str::to_string)
    }

    /// `/note N text`: kept in the ticket's history for staff.
    pub async fn note(&self, msg: &Incoming, id: TicketId, text: Option<&str>) -> Result<()> {
        if !self.exists(msg, id).await? {
            return Ok(());
        }
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            return self.reply(msg, self.t().staff("note_usage", &[])).await;
        };
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.add_event(
            id,
            Some(&msg.from),
            &EventKind::Note {
                text: text.trim().to_string(),
            },
            now,
        )
        .await?;
        tx.enqueue(
            &Outgoing::send(
                msg.chat_id,
                self.t().staff("note_ok", &[("ticket", &id.to_string())]),
            )
            .reply_to(msg.message_id)
            .tag(msg.reply_tag()),
            now,
        )
        .await?;
        self.commit(tx).await
    }

    /// `/reopen N`
    pub async fn reopen(&self, msg: &Incoming, id: TicketId) -> Result<()> {
        if !self.exists(msg, id).await? {
            return Ok(());
        }
        let reason = self.t().staff("reopened_by", &[("name", &msg.from.name)]);
        let outcome = self
            .change_ticket(id, &msg.from, |t| Ok(vec![t.reopen(reason.clone())?]))
            .await?;
        self.reply_outcome(msg, outcome, |t| {
            self.t().staff(
                "reopen_ok",
                &[
                    ("ticket", &t.id.to_string()),
                    ("status", &self.status_label(t.status)),
                ],
            )
        })
        .await
    }

    /// `/ticket N`: the ticket and its whole history.
    pub async fn show_ticket(&self, msg: &Incoming, id: TicketId) -> Result<()> {
        if !self.exists(msg, id).await? {
            return Ok(());
        }
        let Some(t) = self.store().ticket(id).await? else {
            return Ok(());
        };
        let chat_name = self.store().building_of(t.source_chat).await?;
        let mut text = self.staff_text(&t, chat_name.as_deref());
        text.push_str(&self.t().staff("history_title", &[]));
        let events = self.store().events(id).await?;
        // A flood of identical repeats is one line with a count, so the history
        // stays readable and within one message.
        let mut i = 0;
        while i < events.len() {
            let e = &events[i];
            // A run of identical repeats; a 情绪 mark raised by one of them is
            // shown after the run rather than cutting it in two.
            let (mut same, mut end, mut marks) = (1, i + 1, Vec::new());
            if e.kind == EventType::Repeated {
                while let Some(o) = events.get(end) {
                    if o.kind == e.kind && o.actor_id == e.actor_id && o.detail == e.detail {
                        same += 1;
                    } else if o.kind == EventType::Upset {
                        marks.push(end);
                    } else {
                        break;
                    }
                    end += 1;
                }
            }
            let times = if e.kind == EventType::Repeated && same > 1 {
                self.t()
                    .staff("history_times", &[("count", &same.to_string())])
            } else {
                String::new()
            };
            let system = self.t().label("system");
            text.push_str(&format!(
                "\n{} {} {}{}{times}",
                self.show(e.at),
                e.actor_name.as_deref().unwrap_or(&system),
                self.t().event(e.kind),
                e.detail
                    .as_deref()
                    .map(|d| format!(":{}", super::render::excerpt(d, 200)))
                    .unwrap_or_default()
            ));
            for m in marks {
                let o = &events[m];
                text.push_str(&format!(
                    "\n{} {} {}{}",
                    self.show(o.at),
                    o.actor_name.as_deref().unwrap_or(&system),
                    self.t().event(o.kind),
                    o.detail
                        .as_deref()
                        .map(|d| format!(":{}", super::render::excerpt(d, 200)))
                        .unwrap_or_default()
                ));
            }
            i = end;
        }
        // The photos and voice messages come after the history, in order.
        let media = self.store().ticket_media(id).await?;
        if media.is_empty() {
            return self.reply(msg, text).await;
        }
        text.push_str(
            &self
                .t()
                .staff("history_media", &[("count", &media.len().to_string())]),
        );
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.enqueue(
            &Outgoing::send(msg.chat_id, text)
                .reply_to(msg.message_id)
                .tag(msg.reply_tag()),
            now,
        )
        .await?;
        for (n, m) in media.iter().enumerate().take(MEDIA_SHOWN) {
            let whose = self.t().label(match m.role {
                MediaRole::Report => "media_report",
                MediaRole::Finished => "media_finished",
            });
            tx.enqueue(
                &Outgoing::send_media(
                    msg.chat_id,
                    m.media.clone(),
                    self.t().staff(
                        "history_media_caption",
                        &[
                            ("ticket", &id.to_string()),
                            ("n", &(n + 1).to_string()),
                            ("count", &media.len().to_string()),
                            ("whose", &whose),
                            ("kind", &self.media_label(m.media.kind)),
                        ],
                    ),
                )
                .tag(format!("{}:media:{}", msg.reply_tag(), m.id)),
                now,
            )
            .await?;
        }
        self.commit(tx).await
    }

    /// `/tickets [open|mine|overdue|followup]`
    pub async fn list_tickets(&self, msg: &Incoming, kind: TicketListKind) -> Result<()> {
        let filter = match kind {
            TicketListKind::Followup => return self.list_to_call(msg).await,
            TicketListKind::Open => TicketFilter::Active,
            TicketListKind::Mine => TicketFilter::AssignedTo(msg.from.id),
            TicketListKind::Overdue => TicketFilter::Overdue,
        };
        // A staff group lists its own estates' tickets.
        let visible = self.visible_estates(msg);
        let scope = self.several_estates().then_some(visible.as_slice());
        let tickets = self
            .store()
            .tickets_in(scope, filter, self.now(), 30)
            .await?;
        let title = self.t().label(match kind {
            TicketListKind::Open => "list_open",
            TicketListKind::Mine => "list_mine",
            TicketListKind::Overdue => "list_overdue",
            TicketListKind::Followup => "list_followup",
        });
        if tickets.is_empty() {
            let text = self.t().staff("list_empty", &[("title", &title)]);
            return self.reply(msg, text).await;
        }
        let lines: Vec<String> = tickets.iter().map(|t| self.list_line(t)).collect();
        let text = self.t().staff(
            "list",
            &[
                ("title", &title),
                ("count", &tickets.len().to_string()),
                ("lines", &lines.join("\n")),
            ],
        );
        self.reply(msg, text).await
    }
}

impl Context {
    /// A staff command's arguments could not be used: say what to write instead.
    pub async fn refuse_arguments(&self, msg: &Incoming, e: &ArgError) -> Result<()> {
        self.reply(msg, format!("⚠️ {}", self.arg_error(e))).await
    }
}
