//! The service standard's clock: a ticket nobody took, or that is not finished in
//! time, is pushed up the ladder in `domain::escalation`, each tier once. Found
//! in the database on every clock tick, so a restart (or a second instance)
//! neither loses nor repeats a tier.

use chrono::Duration;

use super::render::staff_tag;
use super::{Context, Result, Workflow};
use crate::domain::action::Action;
use crate::domain::calendar::OfficeHours;
use crate::domain::escalation::{self, Limits, Step};
use crate::domain::outgoing::{Button, Outgoing};
use crate::domain::ticket::{Priority, Ticket};

impl Workflow {
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
                        .unwrap_or_else(|| self.t().label("supervisor")),
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
                    let attention = if names.is_empty() {
                        String::new()
                    } else {
                        self.t()
                            .staff("late_attention", &[("names", &names.join("、"))])
                    };
                    let text = self.t().staff(
                        "late_unclaimed",
                        &[
                            ("ticket", &t.id.to_string()),
                            ("what", &what),
                            ("minutes", &minutes.to_string()),
                            ("attention", &attention),
                        ],
                    );
                    for out in self.to_staff_of(&t.estate, &tag("u1"), &text) {
                        let out = out
                            .keyboard(vec![vec![Button::action(
                                self.t()
                                    .label_with("button_claim", &[("ticket", &t.id.to_string())]),
                                Action::Claim(t.id),
                            )]])
                            .lane(lane);
                        tx.enqueue(&out, now).await?;
                    }
                    self.mark_staff_post(
                        &mut tx,
                        &t,
                        group.as_deref(),
                        &self.t().label("late_mark_reminded"),
                    )
                    .await?;
                }
                Step::Unclaimed(k) => {
                    let who = if k == 2 {
                        supervisors.clone()
                    } else {
                        self.desk.admins.clone()
                    };
                    let minutes = self.limits(&t).respond.num_minutes() * i64::from(k);
                    for id in who {
                        tx.enqueue(
                            &Outgoing::send(
                                id,
                                self.t().staff(
                                    "late_unclaimed_escalated",
                                    &[
                                        ("ticket", &t.id.to_string()),
                                        ("what", &what),
                                        ("minutes", &minutes.to_string()),
                                        ("level", &k.to_string()),
                                        ("text", &super::render::excerpt(&t.text, 100)),
                                    ],
                                ),
                            )
                            .tag(tag(&format!("u{k}:{id}")))
                            .lane(lane),
                            now,
                        )
                        .await?;
                    }
                    let note = self.t().label(if k == 2 {
                        "late_mark_supervisors"
                    } else {
                        "late_mark_admins"
                    });
                    self.mark_staff_post(&mut tx, &t, group.as_deref(), &note)
                        .await?;
                }
                Step::Overdue(k) => {
                    let who = match (k, &t.assignee) {
                        (1, Some(a)) => vec![a.id],
                        _ => supervisors.clone(),
                    };
                    let text = if k == 1 {
                        self.t().staff(
                            "late_overdue",
                            &[
                                ("ticket", &t.id.to_string()),
                                ("what", &what),
                                ("deadline", &self.show(t.resolve_by)),
                            ],
                        )
                    } else {
                        let assignee = match &t.assignee {
                            Some(a) => a.name.clone(),
                            None => self.t().label("nobody"),
                        };
                        self.t().staff(
                            "late_overdue_escalated",
                            &[
                                ("ticket", &t.id.to_string()),
                                ("what", &what),
                                ("assignee", &assignee),
                            ],
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
                    let note = self.t().label(if k == 1 {
                        "late_mark_assignee"
                    } else {
                        "late_mark_supervisors_told"
                    });
                    self.mark_staff_post(&mut tx, &t, group.as_deref(), &note)
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
        let Some(staff) = self.staff_chat_of(&t.estate) else {
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

    /// The time limits of a ticket's kind, from the service standard.
    pub(super) fn limits(&self, t: &Ticket) -> Limits {
        self.standard().limits_of(t)
    }
}

impl Workflow {
    /// `/stats [days]`: the figures of the manager's report for the last days,
    /// short enough for a chat (the full report is `guanjia report`).
    /// `/stats [days] [estate]`: with several estates, only those this chat
    /// serves (or the one it names) are counted.
    pub async fn stats(
        &self,
        msg: &super::Incoming,
        days: i64,
        estate: Option<&str>,
    ) -> Result<()> {
        let now = self.now();
        let scope = if !self.several_estates() && estate.is_none() {
            None
        } else if let Some(named) = estate {
            match self.pick_estate(msg, Some(named)) {
                Ok(e) => Some(vec![e]),
                Err(text) => return self.reply(msg, text).await,
            }
        } else {
            Some(self.visible_estates(msg))
        };
        let r = self
            .store()
            .report_in(
                scope.as_deref(),
                now - Duration::days(days),
                now + Duration::seconds(1),
                now,
                self.tz(),
            )
            .await?;
        let minutes = |m: Option<i64>| match m {
            None => "—".to_string(),
            Some(m) if m < 120 => self
                .t()
                .label_with("stats_minutes", &[("n", &m.to_string())]),
            Some(m) => self
                .t()
                .label_with("stats_hours", &[("n", &format!("{:.1}", m as f64 / 60.0))]),
        };
        let share = |s: crate::domain::stats::Share| match s.ratio() {
            None => "—".to_string(),
            Some(x) => format!("{:.0}%", x * 100.0),
        };
        let rating = r
            .rating_average
            .map(|a| {
                self.t().label_with(
                    "stats_rating",
                    &[
                        ("average", &format!("{a:.1}")),
                        ("rated", &r.rated.to_string()),
                        ("unhappy", &r.unhappy.to_string()),
                    ],
                )
            })
            .unwrap_or_else(|| "—".into());
        let mut text = self.t().staff(
            "stats",
            &[
                ("days", &days.to_string()),
                ("tickets", &r.tickets.to_string()),
                ("claim_median", &minutes(r.claim_median_minutes)),
                ("claim_p90", &minutes(r.claim_p90_minutes)),
                ("claimed_in_time", &share(r.claimed_in_time)),
                ("finish_median", &minutes(r.finish_median_minutes)),
                ("finish_p90", &minutes(r.finish_p90_minutes)),
                ("finished_in_time", &share(r.finished_in_time)),
                ("rating", &rating),
                ("reopened", &share(r.reopened)),
            ],
        );
        text.push_str(&self.t().staff(
            "stats_service",
            &[
                ("escalated", &r.escalated.to_string()),
                ("upset", &r.upset.to_string()),
                ("corrections", &r.corrections.to_string()),
            ],
        ));
        let mut categories: Vec<_> = r.by_category.iter().collect();
        categories.sort_by(|a, b| b.1.cmp(a.1));
        if !categories.is_empty() {
            text.push_str(&self.t().staff("stats_categories", &[]));
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
            text.push_str(&self.t().staff("stats_recurring", &[]));
            text.push_str(
                &r.recurring
                    .iter()
                    .take(3)
                    .map(|p| {
                        self.t().staff(
                            "stats_recurring_line",
                            &[
                                ("building", &p.building),
                                ("category", &self.category_label(Some(&p.category))),
                                ("tickets", &p.tickets.to_string()),
                                ("week", &p.week),
                            ],
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
                    Some(a) => self.t().label_with(
                        "survey_place",
                        &[
                            ("building", b),
                            ("average", &format!("{a:.1}")),
                            ("votes", &v.total().to_string()),
                        ],
                    ),
                    None => self
                        .t()
                        .label_with("survey_place_empty", &[("building", b)]),
                })
                .collect();
            let overall = match all.average() {
                Some(a) => self
                    .t()
                    .label_with("survey_average", &[("average", &format!("{a:.1}"))]),
                None => self.t().label("survey_no_votes"),
            };
            text.push_str(&self.t().staff(
                "stats_survey",
                &[
                    ("survey", &sv.id.to_string()),
                    ("overall", &overall),
                    ("votes", &all.total().to_string()),
                    ("places", &places.join("、")),
                ],
            ));
        }
        text.push_str(&self.t().staff("stats_full_report", &[]));
        self.reply(msg, text).await
    }
}

impl Context {
    /// Told when tickets are late: `[desk] supervisors`, else the admins.
    pub(super) fn supervisors(&self) -> Vec<i64> {
        let d = &self.desk;
        if d.supervisors.is_empty() {
            d.admins.clone()
        } else {
            d.supervisors.clone()
        }
    }
}
