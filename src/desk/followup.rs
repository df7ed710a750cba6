//! The end of the closed loop (回访) and the handbook's first 30 seconds (情绪).
//!
//! Finished work nobody rated is asked about once more, then listed for a
//! phone call until a staff member records how the call went (`/followup`).
//! An owner at the end of their patience (a threat to go to the hotline, the
//! media or a court, anger words, a third report of the same problem) marks
//! the ticket 情绪: the staff post shows it and a supervisor hears of it at once.

use chrono::Duration;

use super::render::staff_tag;
use super::{Desk, Incoming, Result};
use crate::domain::calendar::OfficeHours;
use crate::domain::followup::{self, Revisit};
use crate::domain::outgoing::{Lane, Outgoing};
use crate::domain::ticket::{EventKind, Priority, Ticket, TicketId};
use crate::storage::Tx;

/// How far back an owner's earlier reports of the same problem count.
const SAME_PROBLEM_DAYS: i64 = 30;

impl Desk {
    /// One clock tick of follow-up: ask owners once more, then list for a call.
    pub(super) async fn follow_up_unrated(&self) -> Result<()> {
        let hours = self.settings().service.follow_up_hours;
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
                            .keyboard(Self::rating_keyboard(&t))
                            .tag(format!("t{n}:r{}:followup_ask", t.round)),
                        now,
                    )
                    .await?;
                }
                _ => {
                    tx.add_event(t.id, None, &EventKind::FollowUpDue, now)
                        .await?;
                    let text = format!(
                        "📞 工单 {}({})完成已超过 {} 小时,业主仍未评价,请电话回访。回访后发:/followup {} 回访结果",
                        t.id,
                        self.category_label(t.category.as_deref()),
                        hours * 2,
                        n
                    );
                    for out in self.to_staff(&format!("t{n}:r{}:followup_call", t.round), &text) {
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
            return self
                .reply(msg, "⚠️ 请写上回访结果,例如 /followup 12 电话回访,业主满意")
                .await;
        };
        if self.store().ticket(id).await?.is_none() {
            return self.reply(msg, format!("⚠️ 没有工单 {id}")).await;
        }
        let outcome = outcome.to_string();
        let result = self
            .change_ticket(id, &msg.from, |t| Ok(vec![t.followed_up(outcome.clone())?]))
            .await?;
        match result {
            Ok(t) => {
                self.reply(
                    msg,
                    format!(
                        "✅ 工单 {} 已记录回访:{}",
                        t.id,
                        super::excerpt(&outcome, 100)
                    ),
                )
                .await
            }
            Err(e) => self.reply(msg, format!("⚠️ {e}")).await,
        }
    }

    /// `/tickets followup`: what is waiting for a call.
    pub(super) async fn list_to_call(&self, msg: &Incoming) -> Result<()> {
        let tickets = self.store().tickets_to_call(30).await?;
        if tickets.is_empty() {
            return self.reply(msg, "待回访的工单:无 👍").await;
        }
        let lines: Vec<String> = tickets
            .iter()
            .map(|t| {
                let why = if t.follow_up {
                    "业主不满意"
                } else {
                    "未评价"
                };
                format!("{} · {why}", self.list_line(t))
            })
            .collect();
        self.reply(
            msg,
            format!(
                "待回访的工单({} 条,回访后发 /followup 编号 结果):\n{}",
                tickets.len(),
                lines.join("\n")
            ),
        )
        .await
    }

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
        Ok((earlier >= 2).then(|| format!("第 {} 次反映同一问题", earlier + 1)))
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
        let text = format!(
            "😠 工单 {}({} · {})业主情绪激动:{reason}。请主管尽快亲自回复:先倾听、致歉,再说明怎么处理、几点前处理好,最后致谢。\n内容:{}",
            t.id,
            self.category_label(t.category.as_deref()),
            group.unwrap_or("私聊"),
            super::excerpt(&t.text, 200),
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
        if repost && let Some(staff) = self.staff_chat() {
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
