//! Merged reports: several owners, one shared problem, one ticket.
//!
//! Five owners writing that their building's lift has stopped are one job for
//! the desk: the first report opens the ticket, the others join it as reporters
//! (`ticket_reporters`), are told its number at once and when it is done, and
//! staff see one post that counts them. Only shared things merge (`[merge]
//! categories`: lifts, corridor lights), only in one building (and one unit when
//! both name it), only within
//! `[merge] minutes`, and never an emergency or a report that names a flat:
//! two people trapped in two lifts are two emergencies.

use chrono::Duration;

use super::render::staff_tag;
use super::{CallbackAnswer, Incoming, Intake, Result, Workflow};
use crate::domain::Location;
use crate::domain::intent::{Classification, Intent};
use crate::domain::outgoing::{Button, Keyboard, Lane, Outgoing};
use crate::domain::ticket::{Actor, EventKind, Priority, Status, Ticket, TicketId};

impl Intake {
    /// Is this report one of a shared problem in `building` already reported?
    /// Then it joins that ticket (and true is returned).
    pub(super) async fn join_shared(
        &self,
        msg: &Incoming,
        c: &Classification,
        location: Option<&Location>,
        group: Option<&str>,
    ) -> Result<bool> {
        let merge = &self.merge;
        let (Some(category), Some(building)) = (
            c.category.as_deref(),
            location.and_then(|l| l.building.as_deref()),
        ) else {
            return Ok(false);
        };
        let names_a_flat = c.location.as_ref().is_some_and(|l| l.room.is_some());
        if merge.minutes <= 0
            || !matches!(c.intent, Intent::Repair | Intent::Complaint)
            || names_a_flat
            || !merge.categories.iter().any(|m| m == category)
        {
            return Ok(false);
        }
        let now = self.now();
        // Another estate's 3栋 lift is another lift.
        let estate = self
            .store()
            .estate_for_report(msg.chat_id, msg.from.id)
            .await?;
        let Some(t) = self
            .store()
            .shared_ticket(
                &estate,
                building,
                category,
                now - Duration::minutes(merge.minutes),
            )
            .await?
            .filter(|t| t.reporter.id != msg.from.id)
            // 1单元's corridor light is not 2单元's.
            .filter(|t| {
                let unit = |l: Option<&Location>| l.and_then(|l| l.unit.clone());
                match (unit(t.location.as_ref()), unit(location)) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                }
            })
        else {
            return Ok(false);
        };
        let mut t = t;
        let mut tx = self.store().begin().await?;
        if !tx
            .add_event_from(
                t.id,
                &msg.from,
                &EventKind::Repeated {
                    text: msg.text.clone(),
                },
                &msg.reply_tag(),
                now,
            )
            .await?
        {
            return Ok(true);
        }
        tx.add_co_reporter(
            t.id,
            &msg.from,
            msg.chat_id,
            Some((msg.message_id, msg.text.as_str())),
            now,
        )
        .await?;
        if let Some(reason) = c.upset.as_deref() {
            // The post is edited just below, with the count.
            self.mark_upset(&mut tx, &mut t, reason, group, false)
                .await?;
        }
        let count = tx.reporter_count(t.id).await?;
        tx.enqueue(
            &Outgoing::send(
                msg.chat_id,
                self.t().render(
                    "ack_merged",
                    &[
                        ("ticket", &t.id.to_string()),
                        ("status", &self.status_label(t.status)),
                    ],
                ),
            )
            .reply_to(msg.message_id)
            .tag(msg.reply_tag()),
            now,
        )
        .await?;
        self.tell_staff_of_reporter(&mut tx, &t, count, group, &msg.from, Some(&msg.text))
            .await?;
        if let Some(media) = &msg.media {
            let caption = self.t().staff(
                "merged_media_caption",
                &[
                    ("ticket", &t.id.to_string()),
                    ("media", &self.media_label(media.kind)),
                ],
            );
            self.keep_media(&mut tx, msg, &t, media, &caption, Lane::Interactive)
                .await?;
        }
        self.commit(tx).await?;
        tracing::info!(ticket = t.id.get(), reporters = count, "report merged");
        Ok(true)
    }

    /// 我也有这个问题, pressed under a shared ticket's reply in the group.
    pub(super) async fn me_too(&self, from: &Actor, id: TicketId) -> Result<CallbackAnswer> {
        let Some(t) = self.store().ticket(id).await? else {
            return Ok(CallbackAnswer::alert(self.t().label("button_stale")));
        };
        if t.reporter.id == from.id {
            return Ok(CallbackAnswer::toast(
                self.t()
                    .label_with("toast_me_too_own", &[("ticket", &t.id.to_string())]),
            ));
        }
        if !t.status.is_active() {
            return Ok(CallbackAnswer::toast(self.t().label_with(
                "toast_me_too_finished",
                &[("ticket", &t.id.to_string())],
            )));
        }
        let group = self.store().building_of(t.source_chat).await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        if !tx
            .add_co_reporter(t.id, from, t.source_chat, None, now)
            .await?
        {
            return Ok(CallbackAnswer::toast(self.t().label("toast_me_too_again")));
        }
        let count = tx.reporter_count(t.id).await?;
        self.tell_staff_of_reporter(&mut tx, &t, count, group.as_deref(), from, None)
            .await?;
        self.commit(tx).await?;
        Ok(CallbackAnswer::toast(self.t().label_with(
            "toast_me_too",
            &[("count", &count.to_string())],
        )))
    }

    async fn tell_staff_of_reporter(
        &self,
        tx: &mut crate::storage::Tx,
        t: &Ticket,
        count: i64,
        group: Option<&str>,
        who: &Actor,
        text: Option<&str>,
    ) -> Result<()> {
        let now = self.now();
        // Staff hear of the second reporter once; after that the ticket's post
        // keeps the count, so thirty neighbours are not thirty messages.
        if count == 2 {
            let said = text
                .map(|s| format!(":{}", super::render::excerpt(s, 200)))
                .unwrap_or_else(|| self.t().label("me_too_pressed"));
            let private = self.t().label("private_chat");
            let text = self.t().staff(
                "merged_reporter",
                &[
                    ("ticket", &t.id.to_string()),
                    ("chat", group.unwrap_or(&private)),
                    ("name", &who.name),
                    ("said", &said),
                ],
            );
            for out in self.to_staff_of(&t.estate, &format!("merge:{}", t.id.get()), &text) {
                tx.enqueue(&out, now).await?;
            }
        }
        if let Some(staff) = self.staff_chat_of(&t.estate) {
            tx.enqueue(
                &Outgoing::edit(
                    staff,
                    staff_tag(t),
                    self.t().staff(
                        "merged_post",
                        &[
                            ("post", &self.staff_text(t, group)),
                            ("count", &count.to_string()),
                        ],
                    ),
                )
                .keyboard(self.staff_keyboard(t)),
                now,
            )
            .await?;
        }
        Ok(())
    }
}

/// The keyboard under an acknowledgement, with 我也有这个问题 added.
pub(super) fn with_button(mut keyboard: Keyboard, button: Option<Button>) -> Keyboard {
    if let Some(b) = button {
        keyboard.push(vec![b]);
    }
    keyboard
}

impl Workflow {
    /// `/split N <who>`: a reporter merged into ticket N by mistake (their own
    /// flat's light, not the corridor's) gets a ticket of their own, opened from
    /// their own words; one who only pressed 我也有这个问题 is taken off.
    pub async fn split(&self, msg: &Incoming, id: TicketId, who: Option<&str>) -> Result<()> {
        let Some(who) = who.map(str::trim).filter(|w| !w.is_empty()) else {
            return self.reply(msg, self.t().staff("split_usage", &[])).await;
        };
        let Some(t) = self.store().ticket(id).await? else {
            let text = self.t().staff("no_ticket", &[("ticket", &id.to_string())]);
            return self.reply(msg, text).await;
        };
        let others = self.store().co_reporters(id).await?;
        let handle = match who.starts_with('@') {
            true => self.store().person(who).await?.map(|a| a.id),
            false => who.parse::<i64>().ok(),
        };
        let Some(r) = others
            .iter()
            .find(|r| Some(r.who.id) == handle || r.who.name == who)
            .cloned()
        else {
            let names: Vec<String> = others
                .iter()
                .map(|r| format!("{}({})", r.who.name, r.who.id))
                .collect();
            let listed = if names.is_empty() {
                self.t().label("split_nobody")
            } else {
                self.t()
                    .label_with("split_listed", &[("names", &names.join("、"))])
            };
            let text = self.t().staff(
                "split_not_found",
                &[
                    ("ticket", &id.to_string()),
                    ("who", who),
                    ("listed", &listed),
                ],
            );
            return self.reply(msg, text).await;
        };
        // Their own ticket, from their own words, placed as their report would be.
        let group = self.store().building_of(r.chat_id).await?;
        let source_group = self.store().building_of(t.source_chat).await?;
        let own = match (r.message_id, r.text.as_deref()) {
            (Some(m), Some(text)) if !text.trim().is_empty() => {
                let c = self.classifier().classify(text);
                let (intent, category) = if matches!(
                    c.intent,
                    Intent::Repair | Intent::Complaint | Intent::Emergency
                ) {
                    (c.intent, c.category.clone().or(t.category.clone()))
                } else {
                    (t.intent, t.category.clone())
                };
                let place = self
                    .report_location(r.who.id, c.location.clone(), group.as_deref())
                    .await?;
                Some(crate::domain::ticket::NewTicket {
                    // Split off a report of this estate: it stays there.
                    estate: t.estate.clone(),
                    ..self.new_ticket(
                        (r.chat_id, m),
                        &r.who,
                        text.to_string(),
                        intent,
                        category,
                        place,
                    )
                })
            }
            _ => None,
        };
        let now = self.now();
        let mut tx = self.store().begin().await?;
        if !tx.remove_co_reporter(id, r.who.id).await? {
            // Split already: the command arrived twice.
            return Ok(());
        }
        let new_id = match own {
            Some(new) => tx.insert_ticket(&new).await?.map(|n| (new, n)),
            None => None,
        };
        tx.add_event(
            id,
            Some(&msg.from),
            &EventKind::Split {
                who: r.who.name.clone(),
                into: new_id.as_ref().map(|(_, n)| *n),
            },
            now,
        )
        .await?;
        let answer = match new_id {
            Some((new, n)) => {
                let mine = new.opened(n);
                tx.add_event(n, Some(&msg.from), &EventKind::Opened, now)
                    .await?;
                let private = mine.source_chat > 0;
                let text = format!(
                    "{}\n{}",
                    self.t()
                        .render("split_owner", &[("ticket", &t.id.to_string())]),
                    self.ack_text(&mine, private)
                );
                let lane = self.lane_for(mine.priority == Priority::Urgent);
                tx.enqueue(
                    &Outgoing::send(mine.source_chat, text)
                        .reply_to(mine.source_message)
                        .keyboard(self.ack_keyboard(&mine))
                        .tag(super::render::ack_tag(&mine))
                        .lane(lane),
                    now,
                )
                .await?;
                self.post_ticket_to_staff(&mut tx, &mine, group.as_deref(), lane)
                    .await?;
                self.t().staff(
                    "split_ok",
                    &[
                        ("name", &r.who.name),
                        ("ticket", &t.id.to_string()),
                        ("new", &mine.id.to_string()),
                    ],
                )
            }
            None => self.t().staff(
                "split_removed",
                &[("name", &r.who.name), ("ticket", &t.id.to_string())],
            ),
        };
        let count = tx.reporter_count(id).await?;
        if let Some(staff) = self.staff_chat_of(&t.estate) {
            let mut post = self.staff_text(&t, source_group.as_deref());
            if count > 1 {
                post = self.t().staff(
                    "merged_post",
                    &[("post", &post), ("count", &count.to_string())],
                );
            }
            tx.enqueue(
                &Outgoing::edit(staff, staff_tag(&t), post).keyboard(self.staff_keyboard(&t)),
                now,
            )
            .await?;
        }
        tx.enqueue(
            &Outgoing::send(msg.chat_id, answer)
                .reply_to(msg.message_id)
                .tag(msg.reply_tag()),
            now,
        )
        .await?;
        self.commit(tx).await
    }

    /// Finished: everyone who reported it hears so, where they reported it.
    pub(super) async fn tell_co_reporters_done(
        &self,
        tx: &mut crate::storage::Tx,
        t: &Ticket,
        others: &[crate::storage::CoReporter],
    ) -> Result<()> {
        if t.status != Status::Done || others.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let text = self
            .t()
            .render("merged_done", &[("ticket", &t.id.to_string())]);
        let mut told_group = false;
        for r in others {
            let out = match r.message_id {
                Some(m) => Outgoing::send(r.chat_id, text.clone())
                    .reply_to(m)
                    .tag(format!("t{}:r{}:done:{}", t.id.get(), t.round, r.who.id)),
                // Button presses joined in the ticket's own group: one notice there.
                None if !told_group => {
                    told_group = true;
                    Outgoing::send(r.chat_id, text.clone()).tag(format!(
                        "t{}:r{}:done:group",
                        t.id.get(),
                        t.round
                    ))
                }
                None => continue,
            };
            tx.enqueue(&out, now).await?;
        }
        Ok(())
    }
}
