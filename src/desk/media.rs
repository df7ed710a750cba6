//! Photos and voice messages, and whatever else the desk cannot sort itself.
//!
//! A photo is shown to staff, never re-posted where owners read. It belongs to a
//! ticket when it comes with the report (its caption is the report) or from the
//! same owner within `follow_up_minutes` after one. A voice message the desk
//! cannot read: the owner is asked, once, for a few words of text, and staff get
//! it as 待分类 with buttons to make it a repair, a complaint or an emergency, to
//! mark it answered, or to ignore it. Staff send the owner a photo of the finished
//! job by sending it to the bot with the ticket number as its caption. A text
//! said to the desk (in private, a mention, a reply to the bot) that nothing
//! explains goes to staff as 待分类 the same way, and the sender is answered.

use chrono::Duration;

use super::place::building_location;
use super::render::{ack_tag, staff_tag};
use super::{CallbackAnswer, Context, Incoming, Intake, Result};
use crate::domain::action::{Action, SortChoice};
use crate::domain::media::{Media, MediaKind};
use crate::domain::outgoing::{Button, Lane, Outgoing};
use crate::domain::ticket::{Actor, EventKind, Priority, Ticket, TicketId};
use crate::domain::{Intent, Location};
use crate::storage::{MediaRole, NewTicket, Tx, Unsorted};

/// Within this long of the last photo kept on a ticket, more photos are kept
/// quietly (an album, or three shots in a row, are thanked for once).
const QUIET_SECONDS: i64 = 120;

impl Intake {
    /// Keep the photo of `msg` with ticket `t` and show it to staff. Returns
    /// false if it was kept already (a re-delivered update).
    pub(super) async fn keep_media(
        &self,
        tx: &mut Tx,
        msg: &Incoming,
        t: &Ticket,
        media: &Media,
        caption: &str,
        lane: Lane,
    ) -> Result<bool> {
        let now = self.now();
        if !tx
            .add_ticket_media(
                t.id,
                media,
                MediaRole::Report,
                (msg.chat_id, msg.message_id),
                msg.album.as_deref(),
                msg.from.id,
                now,
            )
            .await?
        {
            return Ok(false);
        }
        for out in self.staff_media(
            &t.estate,
            &format!("media:{}:{}", msg.chat_id, msg.message_id),
            media,
            caption,
        ) {
            tx.enqueue(&out.lane(lane), now).await?;
        }
        Ok(true)
    }

    /// A file for the staff of `estate`, once per `tag`, like [`Desk::to_staff`].
    fn staff_media(&self, estate: &str, tag: &str, media: &Media, caption: &str) -> Vec<Outgoing> {
        self.to_staff_of(estate, tag, caption)
            .into_iter()
            .map(|mut out| {
                out.media = Some(media.clone());
                out
            })
            .collect()
    }

    /// A photo (or a voice message) from an owner just after their report: it
    /// goes with that ticket. False if there is no such ticket.
    pub(super) async fn media_follow_up(&self, msg: &Incoming, media: &Media) -> Result<bool> {
        let now = self.now();
        let since = now - Duration::minutes(self.desk.follow_up_minutes);
        let Some(t) = self
            .store()
            .recent_ticket_of(msg.from.id, msg.chat_id, since)
            .await?
        else {
            return Ok(false);
        };
        let thank = self
            .store()
            .media_since(t.id, now - Duration::seconds(QUIET_SECONDS))
            .await?
            == 0;
        let mut tx = self.store().begin().await?;
        let caption = self.t().staff(
            "added_media_caption",
            &[
                ("icon", media_icon(media)),
                ("ticket", &t.id.to_string()),
                ("category", &self.category_label(t.category.as_deref())),
                ("media", &self.media_label(media.kind)),
            ],
        );
        let lane = self.lane_for(t.priority == Priority::Urgent);
        if !self
            .keep_media(&mut tx, msg, &t, media, &caption, lane)
            .await?
        {
            return Ok(true);
        }
        if thank {
            tx.enqueue(
                &Outgoing::send(
                    msg.chat_id,
                    self.t().render(
                        "media_added",
                        &[("ticket", &t.id.to_string()), ("media", media.kind.label())],
                    ),
                )
                .reply_to(msg.message_id)
                .tag(msg.reply_tag()),
                now,
            )
            .await?;
        }
        self.commit(tx).await?;
        Ok(true)
    }

    /// A voice message the desk cannot read and that follows no report: staff
    /// sort it; the owner is asked once for a few words of text.
    pub(super) async fn on_voice(
        &self,
        msg: &Incoming,
        media: &Media,
        group: Option<&str>,
    ) -> Result<()> {
        if self.media_follow_up(msg, media).await? {
            return Ok(());
        }
        let key = if msg.is_private() {
            "voice_reply_private"
        } else {
            // Never ask for the room where the neighbours read.
            "voice_reply"
        };
        self.to_unsorted(msg, Some(media), group, key).await
    }

    /// Something said to the desk that nothing explains (a private message, a
    /// mention of the bot, a reply to it): never met with silence. The sender is
    /// told a colleague will answer; staff sort it with buttons.
    pub(super) async fn unexplained(&self, msg: &Incoming, group: Option<&str>) -> Result<()> {
        let key = if msg.is_private() {
            "unsorted_reply_private"
        } else {
            "unsorted_reply"
        };
        self.to_unsorted(msg, None, group, key).await
    }

    /// Keep `msg` for staff to sort, post it to them with the sorting buttons,
    /// and answer the sender with template `reply` (once per `follow_up_minutes`,
    /// so three voice messages in a row are not answered three times).
    async fn to_unsorted(
        &self,
        msg: &Incoming,
        media: Option<&Media>,
        group: Option<&str>,
        reply: &str,
    ) -> Result<()> {
        let now = self.now();
        let window = now - Duration::minutes(self.desk.follow_up_minutes);
        let ask = self
            .store()
            .unsorted_count(msg.from.id, msg.chat_id, window)
            .await?
            == 0;
        let estate = self
            .store()
            .estate_for_report(msg.chat_id, msg.from.id)
            .await?;
        let mut tx = self.store().begin().await?;
        let Some(id) = tx
            .insert_unsorted(
                (msg.chat_id, msg.message_id),
                &msg.from,
                &msg.text,
                media,
                now,
            )
            .await?
        else {
            return Ok(());
        };
        if ask {
            tx.enqueue(
                &Outgoing::send(msg.chat_id, self.t().render(reply, &[]))
                    .reply_to(msg.message_id)
                    .tag(msg.reply_tag()),
                now,
            )
            .await?;
        }
        let private = self.t().label("private_chat");
        let place = group.unwrap_or(&private);
        let post = match media {
            Some(m) => {
                for out in self.staff_media(
                    &estate,
                    &format!("us:{id}:file"),
                    m,
                    &self.t().staff(
                        "unsorted_file_caption",
                        &[
                            ("icon", media_icon(m)),
                            ("id", &id.to_string()),
                            ("place", place),
                            ("name", &msg.from.name),
                        ],
                    ),
                ) {
                    tx.enqueue(&out, now).await?;
                }
                self.t().staff(
                    "unsorted_post_media",
                    &[("head", &self.unsorted_head(id, place, &msg.from, Some(m)))],
                )
            }
            None => self.t().staff(
                "unsorted_post_text",
                &[
                    ("head", &self.unsorted_head(id, place, &msg.from, None)),
                    ("text", &super::render::excerpt(&msg.text, 500)),
                ],
            ),
        };
        for out in self.to_staff_of(&estate, &format!("us:{id}:post"), &post) {
            tx.enqueue(&out.keyboard(self.unsorted_keyboard(id)), now)
                .await?;
        }
        self.commit(tx).await
    }

    /// A staff member's photo with a ticket number as its caption (`#12 换好了`):
    /// kept with the ticket and sent to the owner in private. False if this is
    /// not such a photo.
    pub(super) async fn finished_photo(&self, msg: &Incoming, media: &Media) -> Result<bool> {
        let mut words = msg.text.split_whitespace();
        let Some(id) = words.next().and_then(|w| w.parse::<TicketId>().ok()) else {
            return Ok(false);
        };
        if !self.is_staff(msg.from.id).await? {
            return Ok(false);
        }
        let Some(t) = self.store().ticket(id).await? else {
            let text = self
                .t()
                .staff("finished_photo_no_ticket", &[("ticket", &id.to_string())]);
            self.reply(msg, text).await?;
            return Ok(true);
        };
        let now = self.now();
        let reachable = self.store().has_private_chat(t.reporter.id).await?;
        let mut tx = self.store().begin().await?;
        if !tx
            .add_ticket_media(
                t.id,
                media,
                MediaRole::Finished,
                (msg.chat_id, msg.message_id),
                msg.album.as_deref(),
                msg.from.id,
                now,
            )
            .await?
        {
            return Ok(true);
        }
        let said: String = words.collect::<Vec<_>>().join(" ");
        let mut caption = self.t().render(
            "finished_photo",
            &[
                ("ticket", &t.id.to_string()),
                ("category", &self.category_label(t.category.as_deref())),
            ],
        );
        if !said.is_empty() {
            caption.push_str(&self.t().render("finished_photo_said", &[("said", &said)]));
        }
        let answer = if reachable {
            // The owner's private chat, never the group: the inside of a flat is
            // the owner's business.
            tx.enqueue(
                &Outgoing::send_media(t.reporter.id, media.clone(), caption)
                    .tag(format!("fin:{}:{}", msg.chat_id, msg.message_id)),
                now,
            )
            .await?;
            self.t()
                .staff("finished_photo_sent", &[("ticket", &t.id.to_string())])
        } else {
            self.t()
                .staff("finished_photo_kept", &[("ticket", &t.id.to_string())])
        };
        tx.enqueue(
            &Outgoing::send(msg.chat_id, answer)
                .reply_to(msg.message_id)
                .tag(msg.reply_tag()),
            now,
        )
        .await?;
        self.commit(tx).await?;
        Ok(true)
    }

    /// A button under a 待分类 post: `us:<repair|complaint|emergency|answered|ignore>:<id>`.
    pub(super) async fn sort_unsorted(
        &self,
        from: &Actor,
        id: i64,
        choice: SortChoice,
    ) -> Result<CallbackAnswer> {
        let Some(u) = self.store().unsorted(id).await? else {
            return Ok(CallbackAnswer::alert(self.t().label("button_stale")));
        };
        if u.state != "open" {
            return Ok(CallbackAnswer::alert(self.already_sorted(&u)));
        }
        let intent = choice.ticket_intent();
        let now = self.now();
        // Reads first: a transaction holds the (SQLite) writer until it ends.
        let group = if u.source_chat < 0 {
            self.store().building_of(u.source_chat).await?
        } else {
            None
        };
        let place = self.unsorted_place(u.source_chat, group.as_deref());
        let owner = self.store().owner(u.sender.id).await?;
        let estate = self
            .store()
            .estate_for_report(u.source_chat, u.sender.id)
            .await?;
        let mut tx = self.store().begin().await?;
        // What staff decided is a labelled example, when there are words to learn from.
        if !u.text.trim().is_empty() {
            tx.add_correction(
                &u.text,
                choice.learned_intent(),
                None,
                None,
                &format!("unsorted:{id}"),
                from.id,
                now,
            )
            .await?;
        }
        let Some(intent) = intent else {
            let state = if choice == SortChoice::Answered {
                "answered"
            } else {
                "ignored"
            };
            if !tx.decide_unsorted(id, state, None, from.id, now).await? {
                return Ok(CallbackAnswer::alert(self.t().label("sorted_by_other")));
            }
            let word = self.t().label(if state == "answered" {
                "sorted_answered"
            } else {
                "sorted_ignored"
            });
            let outcome = self
                .t()
                .staff("sorted_by", &[("outcome", &word), ("name", &from.name)]);
            self.edit_unsorted_posts(&mut tx, &u, &estate, &place, &outcome)
                .await?;
            self.commit(tx).await?;
            return Ok(CallbackAnswer::toast(self.t().label_with(
                "toast_sorted",
                &[("id", &id.to_string()), ("outcome", &word)],
            )));
        };
        let (location, source) = match owner.as_ref().and_then(|o| o.confirmed_location()).cloned()
        {
            Some(l) => (Some(l), Some("owner")),
            None => match group.as_deref().and_then(building_location) {
                Some(l) => (Some(l), Some("group")),
                None => (None, None),
            },
        };
        let mut new = self.new_ticket(
            (u.source_chat, u.source_message),
            &u.sender,
            if u.text.trim().is_empty() {
                format!(
                    "[{}]",
                    self.media_label(u.media.as_ref().map_or(MediaKind::Voice, |m| m.kind))
                )
            } else {
                u.text.clone()
            },
            intent,
            None,
            (location, source),
        );
        new.estate = estate.clone();
        // Decide first: of two presses, only one opens the ticket.
        let Some(ticket_id) = tx.insert_ticket(&new).await? else {
            return Ok(CallbackAnswer::alert(self.t().label("sorted_by_other")));
        };
        if !tx
            .decide_unsorted(id, "ticket", Some(ticket_id), from.id, now)
            .await?
        {
            return Ok(CallbackAnswer::alert(self.t().label("sorted_by_other")));
        }
        let ticket = new.opened(ticket_id);
        tx.add_event(ticket_id, Some(from), &EventKind::Opened, now)
            .await?;
        keep_unsorted_file(&mut tx, &u, ticket_id, now).await?;
        let lane = self.lane_for(intent == Intent::Emergency);
        let private = u.source_chat > 0;
        tx.enqueue(
            &Outgoing::send(u.source_chat, self.ack_text(&ticket, private))
                .reply_to(u.source_message)
                .keyboard(self.ack_keyboard(&ticket))
                .tag(ack_tag(&ticket))
                .lane(lane),
            now,
        )
        .await?;
        self.post_ticket_to_staff(&mut tx, &ticket, group.as_deref(), lane)
            .await?;
        self.edit_unsorted_posts(
            &mut tx,
            &u,
            &estate,
            &place,
            &self.t().staff(
                "sorted_to_ticket",
                &[
                    ("intent", &self.intent_label(intent)),
                    ("ticket", &ticket_id.to_string()),
                    ("name", &from.name),
                ],
            ),
        )
        .await?;
        self.commit(tx).await?;
        Ok(CallbackAnswer::toast(self.t().label_with(
            "toast_sorted_to_ticket",
            &[("ticket", &ticket_id.to_string())],
        )))
    }

    /// The owner's voice message waiting for staff, if one came just before
    /// `msg`: a ticket opened from `msg` takes it along ([`Desk::absorb_unsorted`]).
    pub(super) async fn pending_voice(&self, msg: &Incoming) -> Result<Option<Unsorted>> {
        let since = self.now() - Duration::minutes(self.desk.follow_up_minutes);
        Ok(self
            .store()
            .open_unsorted_of(msg.from.id, msg.chat_id, since)
            .await?)
    }

    /// A ticket opened from text just after the same owner's voice message:
    /// the voice goes with the ticket and its 待分类 post says so.
    pub(super) async fn absorb_unsorted(
        &self,
        tx: &mut Tx,
        u: &Unsorted,
        t: &Ticket,
        group: Option<&str>,
    ) -> Result<()> {
        let now = self.now();
        if !tx
            .decide_unsorted(u.id, "ticket", Some(t.id), u.sender.id, now)
            .await?
        {
            return Ok(());
        }
        keep_unsorted_file(tx, u, t.id, now).await?;
        let place = self.unsorted_place(u.source_chat, group);
        let outcome = self
            .t()
            .staff("sorted_absorbed", &[("ticket", &t.id.to_string())]);
        self.edit_unsorted_posts(tx, u, &t.estate, &place, &outcome)
            .await
    }

    async fn edit_unsorted_posts(
        &self,
        tx: &mut Tx,
        u: &Unsorted,
        estate: &str,
        place: &str,
        outcome: &str,
    ) -> Result<()> {
        let now = self.now();
        let text = format!(
            "{}\n→ {outcome}",
            self.unsorted_head(u.id, place, &u.sender, u.media.as_ref())
        );
        for out in self.to_staff_of(estate, &format!("us:{}:post", u.id), "") {
            let tag = out.tag.clone().unwrap_or_default();
            tx.enqueue(
                &Outgoing::edit(out.chat_id, tag.clone(), text.clone())
                    .tag(format!("{tag}:decided")),
                now,
            )
            .await?;
        }
        Ok(())
    }
}

/// The voice message of an unsorted message goes with the ticket it became.
async fn keep_unsorted_file(
    tx: &mut Tx,
    u: &Unsorted,
    ticket: crate::domain::ticket::TicketId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    if let Some(m) = &u.media {
        tx.add_ticket_media(
            ticket,
            m,
            MediaRole::Report,
            (u.source_chat, u.source_message),
            None,
            u.sender.id,
            now,
        )
        .await?;
    }
    Ok(())
}

impl Intake {
    fn unsorted_place(&self, chat: i64, group: Option<&str>) -> String {
        match (chat < 0, group) {
            (true, Some(g)) => g.to_string(),
            (true, None) => self.t().label("group_chat"),
            (false, _) => self.t().label("private_chat"),
        }
    }

    /// "🎤 待分类 3:5栋 · 业主王先生 发来一条语音(见上方)"
    fn unsorted_head(&self, id: i64, place: &str, sender: &Actor, media: Option<&Media>) -> String {
        let id = id.to_string();
        match media {
            Some(m) => self.t().staff(
                "unsorted_head_media",
                &[
                    ("icon", media_icon(m)),
                    ("id", &id),
                    ("place", place),
                    ("name", &sender.name),
                    ("media", &self.media_label(m.kind)),
                ],
            ),
            None => self.t().staff(
                "unsorted_head",
                &[("id", &id), ("place", place), ("name", &sender.name)],
            ),
        }
    }

    fn unsorted_keyboard(&self, id: i64) -> Vec<Vec<Button>> {
        let sort = |choice| Action::Sort {
            unsorted: id,
            choice,
        };
        let label = |key| self.t().label(key);
        vec![
            vec![
                Button::action(label("button_sort_repair"), sort(SortChoice::Repair)),
                Button::action(label("button_sort_complaint"), sort(SortChoice::Complaint)),
                Button::action(label("button_sort_emergency"), sort(SortChoice::Emergency)),
            ],
            vec![
                Button::action(label("button_sort_answered"), sort(SortChoice::Answered)),
                Button::action(label("button_sort_ignore"), sort(SortChoice::Ignore)),
            ],
        ]
    }

    fn already_sorted(&self, u: &Unsorted) -> String {
        match (u.state.as_str(), u.ticket) {
            ("ticket", Some(t)) => self
                .t()
                .label_with("toast_sorted_to_ticket", &[("ticket", &t.to_string())]),
            ("answered", _) => self.t().label("answered_by_other"),
            _ => self.t().label("sorted_by_other"),
        }
    }
}

fn media_icon(m: &Media) -> &'static str {
    if m.kind.is_spoken() { "🎤" } else { "📷" }
}

impl Context {
    /// The new ticket's post in the staff group (or to each admin), with its buttons.
    pub(super) async fn post_ticket_to_staff(
        &self,
        tx: &mut Tx,
        ticket: &Ticket,
        group: Option<&str>,
        lane: Lane,
    ) -> Result<()> {
        let now = self.now();
        let group_chat = self.staff_chat_of(&ticket.estate);
        for target in self.staff_targets_of(&ticket.estate) {
            let tag = if Some(target) == group_chat {
                staff_tag(ticket)
            } else {
                format!("{}:{target}", staff_tag(ticket))
            };
            tx.enqueue(
                &Outgoing::send(target, self.staff_text(ticket, group))
                    .keyboard(self.staff_keyboard(ticket))
                    .tag(tag)
                    .lane(lane),
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// A ticket as reported now, under this desk's service standard and hours.
    pub(super) fn new_ticket(
        &self,
        source: (i64, i64),
        reporter: &Actor,
        text: String,
        intent: Intent,
        category: Option<String>,
        (location, location_source): (Option<Location>, Option<&'static str>),
    ) -> NewTicket {
        NewTicket::reported(
            source,
            reporter,
            text,
            intent,
            category,
            (location, location_source),
            &self.standard(),
            self.calendar(),
            self.now(),
        )
    }
}
