//! The end of the closed loop (回访) and the handbook's first 30 seconds (情绪).
//!
//! Finished work nobody rated is asked about once more, then listed for a
//! phone call until a staff member records how the call went (`/followup`).
//! An owner at the end of their patience (a threat to go to the hotline, the
//! media or a court, anger words, a third report of the same problem) marks
//! the ticket 情绪: the staff post shows it and a supervisor hears of it at once.

use chrono::Duration;

use super::render::staff_tag;
use super::{CallbackAnswer, Context, Incoming, Intake, Result, Workflow};
use crate::domain::calendar::OfficeHours;
use crate::domain::followup::{self, Revisit};
use crate::domain::outgoing::{Lane, Outgoing};
use crate::domain::ticket::{EventKind, Priority, Rating, Ticket, TicketId};
use crate::storage::Tx;

/// How far back an owner's earlier reports of the same problem count.
const SAME_PROBLEM_DAYS: i64 = 30;

impl Workflow {
    /// One clock tick of follow-up: ask owners once more, then list for a call.
    pub(super) async fn follow_up_unrated(&self) -> Result<()> {
        let hours = self.service.follow_up_hours;
        if hours <= 0 {
            return Ok(());
        }
        let after = Duration::hours(hours);
        let now = self.now();
        let always = OfficeHours::always(self.tz());
        for (t, stage, done_at) in self.store().unrated_done(now - after).await? {
            let calendar = if t.priority == Priority::Urgent {
                &always
            } else {
                self.calendar()
            };
            let Some(next) = followup::due(stage, done_at, after, calendar, now) else {
                continue;
            };
            let mut tx = self.store().begin().await?;
            if !tx.raise_revisit(t.id, next).await? {
                continue;
            }
            let n = t.id.get();
            match next {
                Revisit::Asked => {
                    tx.add_event(t.id, None, &EventKind::FollowUpAsked, now)
                        .await?;
                    let text = self
                        .t()
                        .render("followup_ask", &[("ticket", &t.id.to_string())]);
                    tx.enqueue(
                        &Outgoing::send(t.source_chat, text)
                            .reply_to(t.source_message)
                            .keyboard(Context::rating_keyboard(&t))
                            .tag(format!("t{n}:r{}:followup_ask", t.round)),
                        now,
                    )
                    .await?;
                }
                _ => {
                    tx.add_event(t.id, None, &EventKind::FollowUpDue, now)
                        .await?;
                    let text = self.t().staff(
                        "followup_call",
                        &[
                            ("ticket", &t.id.to_string()),
                            ("category", &self.category_label(t.category.as_deref())),
                            ("hours", &(hours * 2).to_string()),
                            ("number", &n.to_string()),
                        ],
                    );
                    for out in self.to_staff_of(
                        &t.estate,
                        &format!("t{n}:r{}:followup_call", t.round),
                        &text,
                    ) {
                        tx.enqueue(&out.lane(Lane::Interactive), now).await?;
                    }
                }
            }
            self.commit(tx).await?;
            tracing::info!(ticket = n, ?next, "follow-up step");
        }
        Ok(())
    }

    /// `/followup N <outcome>`: a staff member called the owner back.
    pub async fn followed_up(
        &self,
        msg: &Incoming,
        id: TicketId,
        outcome: Option<&str>,
    ) -> Result<()> {
        let Some(outcome) = outcome.map(str::trim).filter(|s| !s.is_empty()) else {
            return self.reply(msg, self.t().staff("followup_usage", &[])).await;
        };
        if self.store().ticket(id).await?.is_none() {
            let text = self.t().staff("no_ticket", &[("ticket", &id.to_string())]);
            return self.reply(msg, text).await;
        }
        let outcome = outcome.to_string();
        let result = self
            .change_ticket(id, &msg.from, |t| Ok(vec![t.followed_up(outcome.clone())?]))
            .await?;
        match result {
            Ok(t) => {
                let text = self.t().staff(
                    "followup_ok",
                    &[
                        ("ticket", &t.id.to_string()),
                        ("outcome", &super::excerpt(&outcome, 100)),
                    ],
                );
                self.reply(msg, text).await
            }
            Err(e) => {
                self.reply(msg, format!("⚠️ {}", self.ticket_error(&e)))
                    .await
            }
        }
    }

    /// `/tickets followup`: what is waiting for a call.
    pub(super) async fn list_to_call(&self, msg: &Incoming) -> Result<()> {
        let mut tickets = self.store().tickets_to_call(30).await?;
        // A staff group calls its own estates' owners back.
        tickets.retain(|t| self.serves(msg, &t.estate));
        if tickets.is_empty() {
            let title = self.t().label("list_followup");
            let text = self.t().staff("list_empty", &[("title", &title)]);
            return self.reply(msg, text).await;
        }
        let lines: Vec<String> = tickets
            .iter()
            .map(|t| {
                let why = self.t().label(if t.follow_up {
                    "followup_unhappy"
                } else {
                    "followup_unrated"
                });
                format!("{} · {why}", self.list_line(t))
            })
            .collect();
        let text = self.t().staff(
            "list_followup",
            &[
                ("count", &tickets.len().to_string()),
                ("lines", &lines.join("\n")),
            ],
        );
        self.reply(msg, text).await
    }
}

impl Intake {
    /// Why this report shows an owner at the end of their patience, if it does:
    /// the words of a `[[mood]]` rule, or a third report of the same problem
    /// (`earlier`: how many reports of it came before this one).
    pub(super) async fn upset_reason(
        &self,
        msg: &Incoming,
        mood: Option<&str>,
        category: Option<&str>,
        earlier: Option<i64>,
    ) -> Result<Option<String>> {
        if let Some(label) = mood {
            return Ok(Some(label.to_string()));
        }
        let earlier = match (earlier, category) {
            (Some(n), _) => n,
            (None, Some(c)) => {
                let since = self.now() - Duration::days(SAME_PROBLEM_DAYS);
                self.store().earlier_reports(msg.from.id, c, since).await?
            }
            (None, None) => 0,
        };
        Ok((earlier >= 2).then(|| {
            self.t()
                .label_with("upset_repeated", &[("n", &(earlier + 1).to_string())])
        }))
    }

    /// Mark `t` 情绪 in `tx` and tell the supervisors, once per ticket. `t` is
    /// the ticket as the caller will show it; `repost` edits its staff post.
    pub(super) async fn mark_upset(
        &self,
        tx: &mut Tx,
        t: &mut Ticket,
        reason: &str,
        group: Option<&str>,
        repost: bool,
    ) -> Result<()> {
        if !tx.mark_upset(t.id).await? {
            return Ok(());
        }
        t.upset = true;
        let now = self.now();
        tx.add_event(
            t.id,
            None,
            &EventKind::Upset {
                reason: reason.to_string(),
            },
            now,
        )
        .await?;
        let private = self.t().label("private_chat");
        let text = self.t().staff(
            "upset_alert",
            &[
                ("ticket", &t.id.to_string()),
                ("category", &self.category_label(t.category.as_deref())),
                ("place", group.unwrap_or(&private)),
                ("reason", reason),
                ("text", &super::excerpt(&t.text, 200)),
            ],
        );
        for id in self.supervisors() {
            tx.enqueue(
                &Outgoing::send(id, text.clone())
                    .tag(format!("upset:{}:{id}", t.id.get()))
                    .lane(Lane::Interactive),
                now,
            )
            .await?;
        }
        if repost && let Some(staff) = self.staff_chat_of(&t.estate) {
            tx.enqueue(
                &Outgoing::edit(staff, staff_tag(t), self.staff_text(t, group))
                    .keyboard(self.staff_keyboard(t)),
                now,
            )
            .await?;
        }
        tracing::info!(ticket = t.id.get(), reason, "owner upset");
        Ok(())
    }
}

impl Workflow {
    /// A star button under "请为本次服务打分".
    pub async fn rate(
        &self,
        ticket: TicketId,
        round: Option<i64>,
        stars: i64,
        from: &crate::domain::Actor,
    ) -> Result<CallbackAnswer> {
        let rating = match Rating::new(stars) {
            Ok(r) => r,
            Err(e) => return Ok(CallbackAnswer::alert(self.ticket_error(&e))),
        };
        match self
            .change_ticket(ticket, from, |t| t.rate(from.id, rating, round))
            .await?
        {
            // One voice with the message that follows: an unhappy rating is
            // apologised for, not thanked for.
            Ok(_) if rating.is_unhappy() => Ok(CallbackAnswer::toast(self.t().label_with(
                "toast_rated_unhappy",
                &[("stars", &rating.stars().to_string())],
            ))),
            Ok(_) => Ok(CallbackAnswer::toast(self.t().label_with(
                "toast_rated",
                &[("stars", &rating.stars().to_string())],
            ))),
            Err(e) => Ok(CallbackAnswer::alert(self.ticket_error(&e))),
        }
    }
}
