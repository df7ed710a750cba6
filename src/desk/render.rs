//! Turning tickets into the texts and buttons people see.

use chrono::{DateTime, Utc};

use super::Context;
use crate::domain::Location;
use crate::domain::action::Action;
use crate::domain::intent::Intent;
use crate::domain::media::MediaKind;
use crate::domain::notice::show_time;
use crate::domain::notice::{Targets, Utility};
use crate::domain::outgoing::{Button, Keyboard};
use crate::domain::ticket::{Priority, Status, Ticket};

/// Long messages are cut for posts; the whole text stays in the database.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

pub(crate) fn ack_tag(t: &Ticket) -> String {
    format!("t{}:ack", t.id.get())
}

pub(crate) fn staff_tag(t: &Ticket) -> String {
    format!("t{}:staff", t.id.get())
}

impl Context {
    /// A category's name: the catalogue's `[categories]` (a translation) first,
    /// else the rules' own label.
    pub(crate) fn category_label(&self, category: Option<&str>) -> String {
        match category {
            Some(c) => match self.t().category(c) {
                Some(label) => label.to_string(),
                None => self.classifier().category_label(c).unwrap_or(c).to_string(),
            },
            None => self.t().label("category_other"),
        }
    }

    pub(crate) fn intent_label(&self, intent: Intent) -> String {
        self.t().label(match intent {
            Intent::Emergency => "intent_emergency",
            Intent::Complaint => "intent_complaint",
            Intent::Repair => "intent_repair",
            Intent::Inquiry => "intent_inquiry",
            Intent::Suggestion => "intent_suggestion",
            Intent::Other => "intent_other",
        })
    }

    pub(crate) fn status_label(&self, status: Status) -> String {
        self.t().label(match status {
            Status::Open => "status_open",
            Status::Claimed => "status_claimed",
            Status::Done => "status_done",
            Status::Closed => "status_closed",
        })
    }

    fn priority_label(&self, priority: Priority) -> String {
        self.t().label(match priority {
            Priority::Urgent => "priority_urgent",
            Priority::Normal => "priority_normal",
        })
    }

    /// A place as the desk's language writes it ("3栋2单元501", "3棟2單元501").
    pub(crate) fn location_label(&self, l: &Location) -> String {
        let t = self.t();
        let mut out = String::new();
        if let Some(b) = &l.building {
            let key = if b.starts_with(|c: char| c.is_ascii_alphabetic()) {
                "location_block"
            } else {
                "location_building"
            };
            out.push_str(&t.label_with(key, &[("building", b)]));
        }
        if let Some(u) = &l.unit {
            out.push_str(&t.label_with("location_unit", &[("unit", u)]));
        }
        if let Some(r) = &l.room {
            if l.building.is_none() && l.unit.is_none() {
                out.push_str(&t.label_with("location_room", &[("room", r)]));
            } else {
                out.push_str(r);
            }
        }
        out
    }

    /// The flat a fee is for, as [`Context::location_label`] writes places.
    pub(crate) fn fee_location(&self, fee: &crate::domain::fees::FeeRow) -> String {
        Location::new(
            Some(fee.building.clone()),
            fee.unit.clone(),
            Some(fee.room.clone()),
        )
        .map(|l| self.location_label(&l))
        .unwrap_or_default()
    }

    pub(crate) fn utility_label(&self, utility: Utility) -> String {
        self.t().label(match utility {
            Utility::Water => "utility_water",
            Utility::Power => "utility_power",
            Utility::Gas => "utility_gas",
        })
    }

    pub(crate) fn targets_label(&self, targets: &Targets) -> String {
        match targets {
            Targets::All => self.t().label("targets_all"),
            Targets::Buildings(names) => names.join("、"),
        }
    }

    pub(crate) fn media_label(&self, kind: MediaKind) -> String {
        self.t().label(match kind {
            MediaKind::Photo => "media_photo",
            MediaKind::Voice => "media_voice",
            MediaKind::Video => "media_video",
            MediaKind::Document => "media_document",
        })
    }

    pub(crate) fn show(&self, t: DateTime<Utc>) -> String {
        show_time(t, self.tz())
    }

    /// The end of a range that starts at `start`: only the time when it is the
    /// same day ("11月30日 10:00 至 14:00", not the date twice).
    pub(crate) fn show_end(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
        let (s, e) = (
            start.with_timezone(&self.tz()),
            end.with_timezone(&self.tz()),
        );
        if s.date_naive() == e.date_naive() {
            e.format("%H:%M").to_string()
        } else {
            self.show(end)
        }
    }

    /// The state, with the person responsible where names may be shown (staff
    /// posts and private chats; never a group).
    fn status_line(&self, t: &Ticket, with_name: bool) -> String {
        match (&t.status, &t.assignee) {
            (Status::Claimed, Some(a)) if with_name => {
                format!("{}({})", self.status_label(t.status), a.name)
            }
            _ => self.status_label(t.status),
        }
    }

    /// The reply under the owner's message. In a group it names no room and no
    /// person: neighbours see the number, the category and the state, nothing else.
    pub(crate) fn ack_text(&self, t: &Ticket, private: bool) -> String {
        let svc = &self.service;
        let location = match (&t.location, private) {
            (Some(l), true) => format!(",{}", self.location_label(l)),
            _ => String::new(),
        };
        let key = match t.intent {
            Intent::Emergency => "ack_emergency",
            Intent::Complaint => "ack_complaint",
            _ => "ack_repair",
        };
        let mut text = self.t().render(
            key,
            &[
                ("ticket", &t.id.to_string()),
                ("category", &self.category_label(t.category.as_deref())),
                ("location", &location),
                ("respond_minutes", &svc.respond_minutes.to_string()),
                ("resolve_hours", &svc.resolve_hours.to_string()),
                ("answer_hours", &svc.complaint_answer_hours.to_string()),
                ("status", &self.status_line(t, private)),
            ],
        );
        // Reported after hours: say when the day team will answer.
        if t.status == Status::Open
            && t.intent != Intent::Emergency
            && self.calendar().next_open(t.created_at) > t.created_at
        {
            let opening = self.calendar().next_open(t.created_at);
            text.push('\n');
            text.push_str(&self.t().render(
                "after_hours",
                &[("opening", &self.calendar().describe(t.created_at, opening))],
            ));
        }
        if t.location.is_none() && t.status.is_active() {
            // In a group the owner is asked to use the private button, never to
            // reply with their room where the neighbours read it.
            let ask = if private {
                "ask_location_private"
            } else {
                "ask_location"
            };
            text.push('\n');
            text.push_str(&self.t().render(ask, &[]));
        }
        text
    }

    /// The private-details button under an acknowledgement in a group (in a
    /// private chat the owner simply replies).
    pub(crate) fn ack_keyboard(&self, t: &Ticket) -> Keyboard {
        if !t.status.is_active() || t.source_chat > 0 {
            return Vec::new();
        }
        super::merging::with_button(self.private_button(t), self.me_too_button(t))
    }

    fn private_button(&self, t: &Ticket) -> Keyboard {
        let label = self.t().label(if t.location.is_none() {
            "button_private_room"
        } else {
            "button_private_details"
        });
        vec![vec![Button::url(
            label,
            self.deep_link(&format!("t{}", t.id.get())),
        )]]
    }

    /// The post in the staff group: everything staff need, and the next action.
    pub(crate) fn staff_text(&self, t: &Ticket, chat_name: Option<&str>) -> String {
        let head = self.t().label(if t.intent == Intent::Emergency {
            "post_head_emergency"
        } else {
            "post_head"
        });
        let location = t
            .location
            .as_ref()
            .map(|l| self.location_label(l))
            .unwrap_or_else(|| self.t().label("location_missing"));
        // Staff of several estates read which estate's 1栋 it is.
        let location = self.in_estate(&t.estate, &location);
        // An emergency's head says 紧急 once; others give priority and kind.
        let kind = if t.intent == Intent::Emergency {
            String::new()
        } else {
            format!(
                " · {} · {}",
                self.priority_label(t.priority),
                self.intent_label(t.intent)
            )
        };
        let private = self.t().label("private_chat");
        let mut s = self.t().staff(
            "post",
            &[
                ("head", &head),
                ("ticket", &t.id.to_string()),
                ("kind", &kind),
                ("category", &self.category_label(t.category.as_deref())),
                ("location", &location),
                ("chat", chat_name.unwrap_or(&private)),
                ("reporter", &t.reporter.name),
                ("text", &excerpt(&t.text, 500)),
            ],
        );
        match t.status {
            Status::Open => s.push_str(
                &self
                    .t()
                    .staff("post_claim_by", &[("deadline", &self.show(t.respond_by))]),
            ),
            Status::Claimed => s.push_str(
                &self
                    .t()
                    .staff("post_finish_by", &[("deadline", &self.show(t.resolve_by))]),
            ),
            _ => {}
        }
        s.push_str(
            &self
                .t()
                .staff("post_status", &[("status", &self.status_line(t, true))]),
        );
        if let Some(r) = t.rating {
            s.push_str(
                &self
                    .t()
                    .staff("post_rating", &[("stars", &r.stars().to_string())]),
            );
        }
        if t.follow_up {
            s.push_str(&self.t().staff("post_follow_up", &[]));
        }
        if t.upset && t.status.is_active() {
            s.push_str(&self.t().label("staff_post_upset"));
        }
        s
    }

    pub(crate) fn staff_keyboard(&self, t: &Ticket) -> Keyboard {
        match t.status {
            Status::Open => vec![vec![Button::action(
                self.t()
                    .label_with("button_claim", &[("ticket", &t.id.to_string())]),
                Action::Claim(t.id),
            )]],
            Status::Claimed => vec![vec![Button::action(
                self.t()
                    .label_with("button_done", &[("ticket", &t.id.to_string())]),
                Action::Done(t.id),
            )]],
            _ => Vec::new(),
        }
    }

    /// Stars for this round of work.
    pub(crate) fn rating_keyboard(t: &Ticket) -> Keyboard {
        vec![
            (1..=5)
                .map(|stars| {
                    let rate = Action::Rate {
                        ticket: t.id,
                        round: Some(t.round),
                        stars,
                    };
                    Button::action(format!("{stars}⭐"), rate)
                })
                .collect(),
        ]
    }

    /// One line per ticket for lists.
    pub(crate) fn list_line(&self, t: &Ticket) -> String {
        let overdue = if t.is_overdue(self.now()) {
            self.t().label("list_overdue_mark")
        } else {
            String::new()
        };
        format!(
            "{}{} {} · {} · {}{}{}",
            if t.upset {
                self.t().label("list_upset_mark")
            } else {
                String::new()
            },
            t.id,
            self.status_label(t.status),
            self.category_label(t.category.as_deref()),
            excerpt(&t.text, 24),
            t.assignee
                .as_ref()
                .map(|a| format!(" · {}", a.name))
                .unwrap_or_default(),
            overdue
        )
    }
}

impl Context {
    /// The button under a shared ticket's acknowledgement in a group.
    pub(super) fn me_too_button(&self, t: &Ticket) -> Option<Button> {
        let shared = t
            .category
            .as_deref()
            .is_some_and(|c| self.merge.categories.iter().any(|m| m == c));
        (shared
            && self.merge.minutes > 0
            && t.source_chat < 0
            && t.status.is_active()
            && t.intent != Intent::Emergency)
            .then(|| Button::action(self.t().label("button_me_too"), Action::MeToo(t.id)))
    }
}
