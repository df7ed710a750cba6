//! The owner's side: messages in groups and in private, `/start`, `/mytickets`,
//! `/room`, and rating finished work.

use chrono::Duration;

use super::place::{names_another_room, with_building_from};
use super::render::ack_tag;
use super::{Incoming, Intake, Result};
use crate::domain::Location;
use crate::domain::intent::{Classification, Intent, Utility};
use crate::domain::outgoing::Outgoing;
use crate::domain::ticket::{EventKind, Priority, Ticket, TicketId};
use crate::storage::TicketFilter;

/// How long after `/start t<N>` an owner's private messages belong to ticket N.
const PRIVATE_CONTEXT_MINUTES: i64 = 30;

impl Intake {
    /// Any non-command message from anyone: classify it and act, or stay silent.
    pub async fn on_message(&self, msg: &Incoming) -> Result<()> {
        // A staff member's photo captioned with a ticket number is the finished job.
        if let Some(media) = &msg.media
            && self.is_staff_place(msg)
            && self.finished_photo(msg, media).await?
        {
            return Ok(());
        }
        // Staff talk in the staff group is not owners' business to classify.
        if (msg.text.trim().is_empty() && msg.media.is_none()) || self.is_staff_chat(msg.chat_id) {
            return Ok(());
        }
        if msg.is_private() {
            self.store()
                .remember_private_chat(msg.from.id, self.now())
                .await?;
        }
        // A voice message cannot be read: staff listen and sort it.
        if let Some(media) = msg.media.as_ref().filter(|m| m.kind.is_spoken()) {
            if msg.is_private() {
                if let Some(ticket) = self.private_context(msg.from.id).await? {
                    return self.private_details(msg, ticket).await;
                }
                return self.on_voice(msg, media, None).await;
            }
            return match self.store().building_of(msg.chat_id).await? {
                Some(b) => self.on_voice(msg, media, Some(&b)).await,
                None => Ok(()),
            };
        }
        let c = self.classifier().classify(&msg.text);
        tracing::debug!(chat = msg.chat_id, intent = c.intent.as_str(), category = ?c.category, "classified");
        // In the private channel of a ticket, details attach to it; a new
        // problem (above all a new emergency) opens its own ticket.
        if msg.is_private()
            && let Some(ticket) = self.private_context(msg.from.id).await?
            && !reports_something_new(&c, &ticket)
        {
            return self.private_details(msg, ticket).await;
        }
        // The group's building, read once for whatever follows. Groups that are
        // neither a bound building nor the staff group (someone added the bot
        // elsewhere) are not served: no tickets, no answers. Chatter costs no read.
        let group_building = if (c.intent != Intent::Other || msg.media.is_some() || msg.addressed)
            && !msg.is_private()
        {
            match self.store().building_of(msg.chat_id).await? {
                Some(b) => Some(b),
                None => {
                    tracing::debug!(
                        chat = msg.chat_id,
                        "message in a group the desk does not serve"
                    );
                    return Ok(());
                }
            }
        } else {
            None
        };
        let group = group_building.as_deref();
        match c.intent {
            Intent::Emergency | Intent::Repair | Intent::Complaint => {
                if c.intent != Intent::Emergency
                    && let Some(answer) = self.planned_outage_answer(msg, &c, group).await?
                {
                    return self.reply(msg, answer).await;
                }
                self.open_ticket(msg, &c, group).await
            }
            Intent::Inquiry => self.answer_question(msg, &c, group).await,
            Intent::Suggestion => self.take_suggestion(msg, group).await,
            Intent::Other => {
                if let Some(location) = c.location.clone()
                    && self.complete_location(msg, location).await?
                {
                    return Ok(());
                }
                // A photo of the leak right after the report goes with it.
                if let Some(media) = &msg.media
                    && self.media_follow_up(msg, media).await?
                {
                    return Ok(());
                }
                // Said to the desk and nothing explains it: a person answers.
                if (msg.is_private() || msg.addressed)
                    && msg.media.is_none()
                    && !c.is_explained()
                    && !msg.text.trim().is_empty()
                {
                    return self.unexplained(msg, group).await;
                }
                // A hello or thanks said to the desk in a group is answered briefly.
                if msg.addressed && !msg.is_private() && msg.media.is_none() {
                    return self
                        .reply(msg, self.t().render("addressed_hint", &[]))
                        .await;
                }
                if msg.is_private() {
                    let hint = if msg.media.is_some() {
                        "photo_private_hint"
                    } else {
                        "private_hint"
                    };
                    self.reply(msg, self.t().render(hint, &[])).await?;
                }
                Ok(())
            }
        }
    }

    /// The building a message is about: named in it, the owner's confirmed room,
    /// or the building group it was posted in (`group`).
    async fn building_for(
        &self,
        msg: &Incoming,
        c: &Classification,
        group: Option<&str>,
    ) -> Result<Option<String>> {
        if let Some(b) = c.location.as_ref().and_then(|l| l.building.clone()) {
            return Ok(Some(b));
        }
        if let Some(owner) = self.store().owner(msg.from.id).await?
            && let Some(b) = owner.confirmed_location().and_then(|l| l.building.clone())
        {
            return Ok(Some(b));
        }
        Ok(group.map(str::to_string))
    }

    /// "怎么停水了" during a planned water cut in this building is answered with the
    /// plan, not a repair ticket. The same words elsewhere still open a ticket.
    async fn planned_outage_answer(
        &self,
        msg: &Incoming,
        c: &Classification,
        group: Option<&str>,
    ) -> Result<Option<String>> {
        let Some(utility) = c.utility else {
            return Ok(None);
        };
        let Some(building) = self.building_for(msg, c, group).await? else {
            return Ok(None);
        };
        let estate = self
            .store()
            .estate_for_report(msg.chat_id, msg.from.id)
            .await?;
        let Some(outage) = self.outage_for(&estate, &building, utility).await? else {
            return Ok(None);
        };
        Ok(Some(self.outage_answer_text(&outage)))
    }

    /// A current outage of `utility` for `building` of `estate` (another
    /// estate's 3栋 is another building).
    async fn outage_for(
        &self,
        estate: &str,
        building: &str,
        utility: Utility,
    ) -> Result<Option<crate::storage::Outage>> {
        let now = self.now();
        Ok(self
            .store()
            .current_outages(now)
            .await?
            .into_iter()
            .find(|o| o.estate == estate && o.utility == utility && o.targets.includes(building)))
    }

    fn outage_answer_text(&self, o: &crate::storage::Outage) -> String {
        self.t().render(
            "outage_answer",
            &[
                ("utility", &self.utility_label(o.utility)),
                ("buildings", &self.targets_label(&o.targets)),
                ("start", &self.show(o.starts_at)),
                ("end", &self.show_end(o.starts_at, o.ends_at)),
                ("reason", &o.reason),
            ],
        )
    }

    /// `group`: the building of the group it was posted in (`None` in private).
    async fn open_ticket(
        &self,
        msg: &Incoming,
        c: &Classification,
        group: Option<&str>,
    ) -> Result<()> {
        let now = self.now();
        let flood = &self.flood;
        let urgent = c.intent == Intent::Emergency;
        // The same report again, within the window: it is the same ticket (unless
        // it names another room: a landlord's second flat is a second ticket).
        if let Some(t) = self
            .store()
            .active_ticket_like(
                msg.from.id,
                msg.chat_id,
                c.intent,
                c.category.as_deref(),
                now - Duration::minutes(flood.repeat_minutes),
            )
            .await?
            .filter(|t| !names_another_room(c.location.as_ref(), t.location.as_ref()))
        {
            if (t.source_chat, t.source_message) == (msg.chat_id, msg.message_id) {
                // This very message opened it: a re-delivered update.
                return Ok(());
            }
            let window = now - Duration::minutes(flood.repeat_minutes);
            return self
                .join_ticket(msg, &t, "ack_repeat", window, c.upset.as_deref())
                .await;
        }
        // One owner cannot bury the desk: past the hourly limit, ordinary reports
        // are kept on their latest ticket. Emergencies always open their own.
        if !urgent
            && self
                .store()
                .tickets_opened_by(msg.from.id, now - Duration::hours(1))
                .await?
                >= flood.owner_tickets_per_hour
            && let Some(t) = self.store().latest_active_ticket_of(msg.from.id).await?
        {
            return self
                .join_ticket(
                    msg,
                    &t,
                    "ack_over_limit",
                    now - Duration::hours(1),
                    c.upset.as_deref(),
                )
                .await;
        }
        // One group cannot bury the staff group: past the limit, ordinary tickets
        // are opened and listed but not posted one by one (staff get one summary).
        let post_to_staff = urgent
            || self
                .store()
                .ordinary_tickets_from(msg.chat_id, now - Duration::minutes(10))
                .await?
                < flood.chat_posts_per_10_minutes;
        let (location, source) = self
            .report_location(msg.from.id, c.location.clone(), group)
            .await?;
        // The lift of this building was reported already: join that ticket.
        if self.join_shared(msg, c, location.as_ref(), group).await? {
            return Ok(());
        }
        let mut new = self.new_ticket(
            (msg.chat_id, msg.message_id),
            &msg.from,
            msg.text.clone(),
            c.intent,
            c.category.clone(),
            (location, source),
        );
        // The group's estate: its staff group gets the ticket.
        new.estate = self
            .store()
            .estate_for_report(msg.chat_id, msg.from.id)
            .await?;
        let pending_voice = self.pending_voice(msg).await?;
        let upset = self
            .upset_reason(msg, c.upset.as_deref(), c.category.as_deref(), None)
            .await?;
        let mut tx = self.store().begin().await?;
        let Some(id) = tx.insert_ticket(&new).await? else {
            // This message already opened a ticket: a re-delivered update.
            return Ok(());
        };
        let mut ticket = new.opened(id);
        tx.add_event(id, Some(&msg.from), &EventKind::Opened, now)
            .await?;
        if let Some(reason) = &upset {
            // Before the staff post, which then shows it.
            self.mark_upset(&mut tx, &mut ticket, reason, group, false)
                .await?;
        }
        let lane = self.lane_for(ticket.priority == Priority::Urgent);
        tx.enqueue(
            &Outgoing::send(msg.chat_id, self.ack_text(&ticket, msg.is_private()))
                .reply_to(msg.message_id)
                .keyboard(self.ack_keyboard(&ticket))
                .tag(ack_tag(&ticket))
                .lane(lane),
            now,
        )
        .await?;
        if post_to_staff {
            // Without a staff group yet, admins get the post in private.
            self.post_ticket_to_staff(&mut tx, &ticket, group, lane)
                .await?;
        } else {
            let window = now.timestamp() / 600;
            let private = self.t().label("private_chat");
            let place = group.unwrap_or(&private);
            for target in self.staff_targets_of(&ticket.estate) {
                tx.enqueue(
                    &Outgoing::send(
                        target,
                        self.t().render(
                            "flood_summary",
                            &[
                                ("place", place),
                                ("limit", &flood.chat_posts_per_10_minutes.to_string()),
                            ],
                        ),
                    )
                    .tag(format!("flood:{}:{window}:{target}", msg.chat_id)),
                    now,
                )
                .await?;
            }
        }
        if let Some(media) = &msg.media {
            let caption = self.t().staff(
                "report_media_caption",
                &[
                    ("ticket", &ticket.id.to_string()),
                    ("media", &self.media_label(media.kind)),
                ],
            );
            self.keep_media(&mut tx, msg, &ticket, media, &caption, lane)
                .await?;
        }
        if let Some(u) = &pending_voice {
            self.absorb_unsorted(&mut tx, u, &ticket, group).await?;
        }
        self.commit(tx).await?;
        tracing::info!(
            ticket = id.get(),
            intent = ticket.intent.as_str(),
            "ticket opened"
        );
        Ok(())
    }

    /// A report kept on an existing ticket (a repeat, or past the owner's limit):
    /// recorded in its history, not posted again. Only the first such report
    /// since `since` is answered, so a flood of copies cannot flood the group.
    async fn join_ticket(
        &self,
        msg: &Incoming,
        t: &Ticket,
        template: &str,
        since: chrono::DateTime<chrono::Utc>,
        mood: Option<&str>,
    ) -> Result<()> {
        let now = self.now();
        let answer = self.store().repeats_by(t.id, msg.from.id, since).await? == 0;
        let upset = if t.upset || t.reporter.id != msg.from.id {
            None
        } else {
            // A repeat of this very problem: the report that opened it and the
            // owner's repeats came before. (Past the hourly limit the ticket is
            // only the owner's latest, perhaps about something else.)
            let earlier = if template == "ack_repeat" {
                1 + self
                    .store()
                    .repeats_by(t.id, msg.from.id, t.created_at)
                    .await?
            } else {
                0
            };
            self.upset_reason(msg, mood, None, Some(earlier)).await?
        };
        let group = match upset {
            Some(_) => self.store().building_of(t.source_chat).await?,
            None => None,
        };
        let mut tx = self.store().begin().await?;
        let event = EventKind::Repeated {
            text: msg.text.clone(),
        };
        if !tx
            .add_event_from(t.id, &msg.from, &event, &msg.reply_tag(), now)
            .await?
        {
            // Already recorded: a re-delivered update.
            return Ok(());
        }
        if let Some(reason) = &upset {
            self.mark_upset(&mut tx, &mut t.clone(), reason, group.as_deref(), true)
                .await?;
        }
        if let Some(media) = &msg.media {
            let caption = self.t().staff(
                "repeat_media_caption",
                &[
                    ("ticket", &t.id.to_string()),
                    ("media", &self.media_label(media.kind)),
                ],
            );
            let lane = self.lane_for(t.priority == Priority::Urgent);
            self.keep_media(&mut tx, msg, t, media, &caption, lane)
                .await?;
        }
        if answer {
            tx.enqueue(
                &Outgoing::send(
                    msg.chat_id,
                    self.t().render(
                        template,
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
        }
        self.commit(tx).await
    }

    /// "是3栋501" shortly after a report with no place completes that report.
    async fn complete_location(&self, msg: &Incoming, location: Location) -> Result<bool> {
        let since = self.now() - Duration::minutes(self.desk.follow_up_minutes);
        let Some(ticket) = self
            .store()
            .ticket_missing_location(msg.from.id, msg.chat_id, since)
            .await?
        else {
            return Ok(false);
        };
        // "是302" in the 5栋 group: the building the ticket already knows stays.
        let location = with_building_from(location, ticket.location.as_ref());
        let actor = msg.from.clone();
        let outcome = self
            .workflow
            .change_ticket(ticket.id, &actor, |t| Ok(vec![t.locate(location.clone())?]))
            .await?;
        if outcome.is_ok() {
            let text = self
                .t()
                .render("location_added", &[("ticket", &ticket.id.to_string())]);
            self.reply(msg, text).await?;
        }
        Ok(true)
    }

    async fn answer_question(
        &self,
        msg: &Incoming,
        c: &Classification,
        group: Option<&str>,
    ) -> Result<()> {
        // Questions about a cut supply get the plan when there is one.
        if (c.faq.as_deref() == Some("outage") || c.utility.is_some())
            && let Some(answer) = self.planned_outage_answer(msg, c, group).await?
        {
            return self.reply(msg, answer).await;
        }
        // "怎么停水了?几点来水" with no outage planned: the supply is missing
        // for real, so it is a repair, not a question the FAQ can answer.
        if c.faq.as_deref() == Some("outage")
            && let Some(utility) = c.utility
        {
            let category = match utility {
                Utility::Water => "plumbing",
                Utility::Power => "electrical",
                Utility::Gas => "gas",
            };
            let repair = Classification {
                intent: Intent::Repair,
                category: c.category.clone().or_else(|| Some(category.into())),
                ..c.clone()
            };
            return self.open_ticket(msg, &repair, group).await;
        }
        let Some(entry) = c
            .faq
            .as_deref()
            .and_then(|id| self.classifier().faq_entry(id))
        else {
            return Ok(());
        };
        let answer = self.t().fill(&entry.answer);
        self.reply(msg, answer).await
    }

    async fn take_suggestion(&self, msg: &Incoming, group: Option<&str>) -> Result<()> {
        let now = self.now();
        let private = self.t().label("private_chat");
        let place = group.unwrap_or(&private);
        let estate = self
            .store()
            .estate_for_report(msg.chat_id, msg.from.id)
            .await?;
        let mut tx = self.store().begin().await?;
        tx.enqueue(
            &Outgoing::send(msg.chat_id, self.t().render("suggestion_thanks", &[]))
                .reply_to(msg.message_id)
                .tag(msg.reply_tag()),
            now,
        )
        .await?;
        for out in self.to_staff_of(
            &estate,
            &format!("sug:{}:{}", msg.chat_id, msg.message_id),
            &self.t().staff(
                "suggestion",
                &[
                    ("chat", place),
                    ("name", &msg.from.name),
                    ("text", &super::render::excerpt(&msg.text, 500)),
                ],
            ),
        ) {
            tx.enqueue(&out, now).await?;
        }
        self.commit(tx).await
    }

    /// The ticket an owner is adding private details to, if the window is open.
    async fn private_context(&self, user: i64) -> Result<Option<Ticket>> {
        let Some(owner) = self.store().owner(user).await? else {
            return Ok(None);
        };
        let (Some(id), Some(until)) = (owner.context_ticket, owner.context_until) else {
            return Ok(None);
        };
        if until < self.now() {
            return Ok(None);
        }
        Ok(self
            .store()
            .ticket(id)
            .await?
            .filter(|t| t.reporter.id == user && t.status.is_active()))
    }

    /// Private details (phone, access, the room) go to staff only, never to a group.
    async fn private_details(&self, msg: &Incoming, ticket: Ticket) -> Result<()> {
        let now = self.now();
        if ticket.location.is_none()
            && let Some(location) = self.classifier().classify(&msg.text).location
        {
            self.workflow
                .change_ticket(ticket.id, &msg.from, |t| {
                    Ok(vec![t.locate(location.clone())?])
                })
                .await?
                .ok();
        }
        let mut tx = self.store().begin().await?;
        tx.add_event(ticket.id, Some(&msg.from), &EventKind::OwnerDetails, now)
            .await?;
        tx.enqueue(
            &Outgoing::send(
                msg.chat_id,
                self.t()
                    .render("private_details_ack", &[("ticket", &ticket.id.to_string())]),
            )
            .reply_to(msg.message_id)
            .tag(msg.reply_tag()),
            now,
        )
        .await?;
        let to = ticket
            .assignee
            .as_ref()
            .map(|a| self.t().staff("details_assignee", &[("assignee", &a.name)]))
            .unwrap_or_default();
        let said = super::render::excerpt(&msg.text, 900);
        if let Some(media) = &msg.media {
            // The words go under the photo or voice message they came with.
            let said = if said.is_empty() {
                String::new()
            } else {
                format!(":{said}")
            };
            let caption = self.t().staff(
                "details_media_caption",
                &[
                    ("ticket", &ticket.id.to_string()),
                    ("media", &self.media_label(media.kind)),
                    ("assignee", &to),
                    ("said", &said),
                ],
            );
            let lane = self.lane_for(ticket.priority == Priority::Urgent);
            self.keep_media(&mut tx, msg, &ticket, media, &caption, lane)
                .await?;
        } else {
            for out in self.to_staff_of(
                &ticket.estate,
                &format!("details:{}:{}", msg.chat_id, msg.message_id),
                &self.t().staff(
                    "details",
                    &[
                        ("ticket", &ticket.id.to_string()),
                        ("assignee", &to),
                        ("said", &said),
                    ],
                ),
            ) {
                tx.enqueue(&out, now).await?;
            }
        }
        self.commit(tx).await
    }

    /// `/start [t<N>]` in private: open the private channel for ticket N (only its
    /// reporter may), or say hello.
    pub async fn start(&self, msg: &Incoming, payload: &str) -> Result<()> {
        if !msg.is_private() {
            // Asking for a phone number or a room where the neighbours read is
            // exactly what the private channel is for avoiding.
            return self
                .reply(msg, self.t().render("start_in_group", &[]))
                .await;
        }
        self.store()
            .remember_private_chat(msg.from.id, self.now())
            .await?;
        let ticket = match payload
            .trim()
            .strip_prefix('t')
            .and_then(|n| n.parse::<TicketId>().ok())
        {
            Some(id) => self.store().ticket(id).await?,
            None => None,
        };
        match ticket {
            Some(t) if t.reporter.id == msg.from.id => {
                let now = self.now();
                self.store()
                    .set_owner_context(
                        &msg.from,
                        t.id,
                        now + Duration::minutes(PRIVATE_CONTEXT_MINUTES),
                        now,
                    )
                    .await?;
                let text = self.t().render(
                    "private_ticket",
                    &[
                        ("ticket", &t.id.to_string()),
                        ("category", &self.category_label(t.category.as_deref())),
                        ("status", &self.status_label(t.status)),
                    ],
                );
                self.reply(msg, text).await
            }
            Some(t) => {
                let text = self
                    .t()
                    .render("not_your_ticket", &[("ticket", &t.id.to_string())]);
                self.reply(msg, text).await
            }
            None => self.reply(msg, self.t().render("private_hint", &[])).await,
        }
    }

    /// `/mytickets`: the owner's own tickets, only in private.
    pub async fn my_tickets(&self, msg: &Incoming) -> Result<()> {
        if !msg.is_private() {
            return self
                .reply(msg, self.t().render("my_tickets_private_only", &[]))
                .await;
        }
        let tickets = self
            .store()
            .tickets(TicketFilter::ReportedBy(msg.from.id), self.now(), 20)
            .await?;
        if tickets.is_empty() {
            return self
                .reply(msg, self.t().render("my_tickets_none", &[]))
                .await;
        }
        let mut text = self.t().render("my_tickets", &[]);
        // Each line names the person responsible once (list_line does).
        for t in &tickets {
            text.push_str(&self.list_line(t));
            text.push('\n');
        }
        self.reply(msg, text.trim_end()).await
    }
}

/// In a ticket's private channel: does this message report a new problem rather
/// than add to the ticket? A new emergency always does; a repair or complaint
/// does when it is about something else.
fn reports_something_new(c: &Classification, ticket: &Ticket) -> bool {
    match c.intent {
        Intent::Emergency => ticket.intent != Intent::Emergency || c.category != ticket.category,
        Intent::Repair | Intent::Complaint => c.category != ticket.category,
        _ => false,
    }
}
