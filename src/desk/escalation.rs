//! The service standard's clock: a ticket nobody took, or that is not finished in
//! time, is pushed up the ladder in `domain::escalation`, each tier once. Found
//! in the database on every clock tick, so a restart (or a second instance)
//! neither loses nor repeats a tier.

use chrono::Duration;

use super::render::staff_tag;
use super::{Desk, Result};
use crate::domain::action::Action;
use crate::domain::calendar::OfficeHours;
use crate::domain::escalation::{self, Limits, Step};
use crate::domain::outgoing::{Button, Outgoing};
use crate::domain::ticket::{Priority, Ticket};

impl Desk {
    /// Fire every escalation tier that has fallen due.
    pub(super) async fn escalate(&self) -> Result<()> {
        let now = self.now();
        let always = OfficeHours::always(self.tz());
        for (t, unclaimed, overdue) in self.store().late_tickets(now).await? {
            let urgent = t.priority == Priority::Urgent;
            let calendar = if urgent { &always } else { self.calendar() };
            let Some(step) =
                escalation::due(&t, unclaimed, overdue, self.limits(&t), calendar, now)
            else {
                continue;
            };
            // Names first: a transaction holds SQLite's one writer until it ends.
            let supervisors = self.supervisors();
            let mut names = Vec::with_capacity(supervisors.len());
            for id in &supervisors {
                names.push(
                    self.store()
                        .display_name(*id)
                        .await?
                        .unwrap_or_else(|| "主管".into()),
                );
            }
            let group = self.store().building_of(t.source_chat).await?;
            let mut tx = self.store().begin().await?;
            if !tx.raise(t.id, step).await? {
                continue;
            }
            let lane = self.lane_for(urgent);
            let what = format!(
                "{}{}",
                self.category_label(t.category.as_deref()),
                group
                    .as_deref()
                    .map(|g| format!(" · {g}"))
                    .unwrap_or_default()
            );
            let tag = |suffix: &str| format!("esc:{}:{suffix}", t.id.get());
            match step {
                Step::Unclaimed(1) => {
                    let minutes = self.limits(&t).respond.num_minutes();
                    let text = format!(
                        "⏰ 工单 {}({what})已超过 {minutes} 分钟无人认领,请尽快认领。{}",
                        t.id,
                        if names.is_empty() {
                            String::new()
                        } else {
                            format!("\n请主管关注:{}", names.join("、"))
                        }
                    );
                    for out in self.to_staff(&tag("u1"), &text) {
                        let out = out
                            .keyboard(vec![vec![Button::action(
                                format!("🙋 认领 {}", t.id),
                                Action::Claim(t.id),
                            )]])
                            .lane(lane);
                        tx.enqueue(&out, now).await?;
                    }
                    self.mark_staff_post(
                        &mut tx,
                        &t,
                        group.as_deref(),
                        "⏰ 已超时无人认领,已提醒主管",
                    )
                    .await?;
                }
                Step::Unclaimed(k) => {
                    let who = if k == 2 {
                        supervisors.clone()
                    } else {
                        self.settings().desk.admins.clone()
                    };
                    let minutes = self.limits(&t).respond.num_minutes() * i64::from(k);
                    for id in who {
                        tx.enqueue(
                            &Outgoing::send(
                                id,
                                format!(
                                    "⏰ 工单 {}({what})已超过 {minutes} 分钟无人认领(第 {k} 级提醒),请安排人员处理。内容:{}",
                                    t.id,
                                    super::render::excerpt(&t.text, 100)
                                ),
                            )
                            .tag(tag(&format!("u{k}:{id}")))
                            .lane(lane),
                            now,
                        )
                        .await?;
                    }
                    let note = if k == 2 {
                        "⏰ 已超时无人认领,已私信主管"
                    } else {
                        "⏰ 已超时无人认领,已私信管理员"
                    };
                    self.mark_staff_post(&mut tx, &t, group.as_deref(), note)
                        .await?;
                }
                Step::Overdue(k) => {
                    let who = match (k, &t.assignee) {
                        (1, Some(a)) => vec![a.id],
                        _ => supervisors.clone(),
                    };
                    let text = if k == 1 {
                        format!(
                            "⏰ 您负责的工单 {}({what})已超过完成时限({}),请尽快处理;需要他人接手请 /transfer。",
                            t.id,
                            self.show(t.resolve_by)
                        )
                    } else {
                        format!(
                            "⏰ 工单 {}({what})超过完成时限很久仍未完成(负责人:{}),请主管跟进。",
                            t.id,
                            t.assignee.as_ref().map(|a| a.name.as_str()).unwrap_or("无")
                        )
                    };
                    for id in who {
                        tx.enqueue(
                            &Outgoing::send(id, text.clone())
                                .tag(tag(&format!("o{k}:{id}")))
                                .lane(lane),
                            now,
                        )
                        .await?;
                    }
                    let note = if k == 1 {
                        "⏰ 已超过完成时限,已提醒负责人"
                    } else {
                        "⏰ 已超过完成时限,已告知主管"
                    };
                    self.mark_staff_post(&mut tx, &t, group.as_deref(), note)
                        .await?;
                }
            }
            self.commit(tx).await?;
            tracing::info!(ticket = t.id.get(), ?step, "escalated");
        }
        Ok(())
    }

    /// The ticket's post in the staff group shows how far it was escalated.
    async fn mark_staff_post(
        &self,
        tx: &mut crate::storage::Tx,
        t: &Ticket,
        group: Option<&str>,
        note: &str,
    ) -> Result<()> {
        let Some(staff) = self.staff_chat() else {
            return Ok(());
        };
        tx.enqueue(
            &Outgoing::edit(
                staff,
                staff_tag(t),
                format!("{}\n{note}", self.staff_text(t, group)),
            )
            .keyboard(self.staff_keyboard(t)),
            self.now(),
        )
        .await?;
        Ok(())
    }

    /// Told when tickets are late: `[desk] supervisors`, else the admins.
    pub(super) fn supervisors(&self) -> Vec<i64> {
        let d = &self.settings().desk;
        if d.supervisors.is_empty() {
            d.admins.clone()
        } else {
            d.supervisors.clone()
        }
    }

    /// The time limits of a ticket's kind, from the service standard.
    pub(super) fn limits(&self, t: &Ticket) -> Limits {
        self.standard().limits_of(t)
    }
}

impl Desk {
    /// A group's name as bound (`3栋`); a bare number gets its 栋.
    fn building_name(&self, b: &str) -> String {
        if b.chars().all(|c| c.is_ascii_digit()) {
            format!("{b}栋")
        } else {
            b.to_string()
        }
    }

    /// `/stats [days]`: the figures of the manager's report for the last days,
    /// short enough for a chat (the full report is `guanjia report`).
    pub async fn stats(&self, msg: &super::Incoming, days: i64) -> Result<()> {
        let now = self.now();
        let r = self
            .store()
            .report(
                now - Duration::days(days),
                now + Duration::seconds(1),
                now,
                self.tz(),
            )
            .await?;
        let minutes = |m: Option<i64>| match m {
            None => "—".to_string(),
            Some(m) if m < 120 => format!("{m} 分钟"),
            Some(m) => format!("{:.1} 小时", m as f64 / 60.0),
        };
        let share = |s: crate::domain::stats::Share| match s.ratio() {
            None => "—".to_string(),
            Some(x) => format!("{:.0}%", x * 100.0),
        };
        let mut text = format!(
            "📊 近 {days} 天:工单 {} 张\n认领用时 中位数 {},P90 {};按时认领 {}\n完成用时 中位数 {},P90 {};按时完成 {}\n业主评价 {};重新打开 {}",
            r.tickets,
            minutes(r.claim_median_minutes),
            minutes(r.claim_p90_minutes),
            share(r.claimed_in_time),
            minutes(r.finish_median_minutes),
            minutes(r.finish_p90_minutes),
            share(r.finished_in_time),
            r.rating_average
                .map(|a| format!("{a:.1} 星({} 条,不满意 {})", r.rated, r.unhappy))
                .unwrap_or_else(|| "—".into()),
            share(r.reopened),
        );
        text.push_str(&format!(
            "\n升级提醒 {} 张;业主情绪 {} 张;分类纠正 {} 次",
            r.escalated, r.upset, r.corrections
        ));
        let mut categories: Vec<_> = r.by_category.iter().collect();
        categories.sort_by(|a, b| b.1.cmp(a.1));
        if !categories.is_empty() {
            text.push_str("\n类别:");
            text.push_str(
                &categories
                    .iter()
                    .take(6)
                    .map(|(c, n)| format!("{} {n}", self.category_label(Some(c))))
                    .collect::<Vec<_>>()
                    .join("、"),
            );
        }
        if !r.recurring.is_empty() {
            text.push_str("\n反复出现:");
            text.push_str(
                &r.recurring
                    .iter()
                    .take(3)
                    .map(|p| {
                        format!(
                            "{}栋{} {} 次({})",
                            p.building,
                            self.category_label(Some(&p.category)),
                            p.tickets,
                            p.week
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(";"),
            );
        }
        if let Some(sv) = r.surveys.first() {
            let all = sv.overall();
            let places: Vec<String> = sv
                .buildings
                .iter()
                .map(|(b, v)| match v.average() {
                    Some(a) => format!("{} {a:.1}({} 票)", self.building_name(b), v.total()),
                    None => format!("{} —", self.building_name(b)),
                })
                .collect();
            text.push_str(&format!(
                "\n满意度调查 #{}:{}({} 票);{}",
                sv.id,
                all.average()
                    .map(|a| format!("平均 {a:.1} 分"))
                    .unwrap_or_else(|| "还没有人投票".into()),
                all.total(),
                places.join("、")
            ));
        }
        text.push_str("\n完整报告:guanjia report --format html");
        self.reply(msg, text).await
    }
}
