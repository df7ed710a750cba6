//! Registering an owner's room: the owner asks with `/room` in private, staff
//! confirm or reject it with the buttons under the request.

use super::{CallbackAnswer, Incoming, Intake, Result};
use crate::domain::Location;
use crate::domain::action::Action;
use crate::domain::outgoing::{Button, Outgoing};
use crate::domain::ticket::Actor;
use crate::storage::RoomDecision;

impl Intake {
    /// `/room 3-2-501` (`/room 翠湖苑 3-2-501` where several estates have that
    /// building): ask the staff of the room's estate to confirm it. Only in
    /// private: in a group it would tell the neighbours where the owner lives, so
    /// there the room is neither echoed nor registered, and the message is taken
    /// down when the bot may.
    pub async fn request_room(&self, msg: &Incoming, arg: &str) -> Result<()> {
        if !msg.is_private() {
            return self
                .refuse_in_group(msg, "room_private_only", !arg.trim().is_empty())
                .await;
        }
        let (named, arg) = self.estate_prefix(arg.trim());
        let location = match arg.trim().parse::<Location>() {
            Ok(l) if l.building.is_some() && l.room.is_some() => l,
            _ => {
                return self.reply(msg, self.t().render("room_usage", &[])).await;
            }
        };
        let building = location.building.as_deref().unwrap_or("");
        // A building the desk does not serve is a typo: say so before staff are asked.
        let groups: Vec<_> = self
            .store()
            .buildings()
            .await?
            .into_iter()
            .filter(|g| named.as_deref().is_none_or(|e| g.estate == e))
            .collect();
        let known: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
        let mut estates: Vec<&str> = groups
            .iter()
            .filter(|g| {
                crate::domain::location::canonical_building(&g.name).as_deref() == Some(building)
            })
            .map(|g| g.estate.as_str())
            .collect();
        estates.sort_unstable();
        estates.dedup();
        if !known.is_empty() && estates.is_empty() {
            let mut names = known.clone();
            names.sort_by_key(|n| {
                crate::domain::location::canonical_building(n)
                    .and_then(|b| b.parse::<u32>().ok())
                    .unwrap_or(u32::MAX)
            });
            names.dedup();
            return self
                .reply(
                    msg,
                    self.t().render(
                        "room_unknown_building",
                        &[("building", building), ("buildings", &names.join("、"))],
                    ),
                )
                .await;
        }
        // One estate's 3栋 is not another's: the owner names the estate when
        // several have this building, or when no group is bound yet and there
        // are several estates (the desk never guesses whose room it is).
        let all = self.estate_names();
        let only = all.first().filter(|_| !self.several_estates());
        let estate = match (estates.as_slice(), named.as_deref().or(only.copied())) {
            ([one], _) => one.to_string(),
            ([], Some(estate)) => estate.to_string(),
            (several, _) => {
                let several = if several.is_empty() {
                    &all[..]
                } else {
                    several
                };
                let example = format!("{} {}", several[0], arg.trim());
                return self
                    .reply(
                        msg,
                        self.t().render(
                            "room_which_estate",
                            &[
                                ("building", building),
                                ("estates", &several.join("、")),
                                ("example", &example),
                            ],
                        ),
                    )
                    .await;
            }
        };
        let now = self.now();
        let shown = self.in_estate(&estate, &self.location_label(&location));
        let mut tx = self.store().begin().await?;
        let request = tx.request_room(&msg.from, &estate, &location, now).await?;
        tx.enqueue(
            &Outgoing::send(
                msg.chat_id,
                self.t().render("room_request_ack", &[("location", &shown)]),
            )
            .reply_to(msg.message_id)
            .tag(msg.reply_tag()),
            now,
        )
        .await?;
        let user = msg.from.id;
        // The staff of the room's estate know its owners.
        for target in self.staff_targets_of(&estate) {
            tx.enqueue(
                &Outgoing::send(
                    target,
                    self.t().staff(
                        "room_request",
                        &[
                            ("name", &msg.from.name),
                            ("user", &user.to_string()),
                            ("location", &shown),
                            ("request", &request.to_string()),
                        ],
                    ),
                )
                .keyboard(vec![vec![
                    Button::action(
                        self.t().label("button_room_confirm"),
                        Action::Room {
                            request,
                            confirm: true,
                        },
                    ),
                    Button::action(
                        self.t().label("button_room_reject"),
                        Action::Room {
                            request,
                            confirm: false,
                        },
                    ),
                ]])
                .tag(format!("room:{}:{}:{target}", msg.chat_id, msg.message_id)),
                now,
            )
            .await?;
        }
        self.commit(tx).await
    }

    pub(super) async fn decide_room(
        &self,
        from: &Actor,
        request: i64,
        confirm: bool,
    ) -> Result<CallbackAnswer> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let decided = match tx.decide_room(request, confirm, from.id, now).await? {
            RoomDecision::Decided(r) => r,
            RoomDecision::Superseded(_) => {
                return Ok(CallbackAnswer::alert(self.t().label("room_superseded")));
            }
            RoomDecision::AlreadyDecided(_) => {
                return Ok(CallbackAnswer::toast(
                    self.t().label("room_already_decided"),
                ));
            }
            RoomDecision::NotFound => {
                return Ok(CallbackAnswer::alert(self.t().label("button_stale")));
            }
        };
        let shown = decided
            .location
            .as_ref()
            .map(|l| self.in_estate(&decided.estate, &self.location_label(l)))
            .unwrap_or_default();
        let key = if confirm {
            "room_confirmed"
        } else {
            "room_rejected"
        };
        // A private chat's id is the user's id.
        tx.enqueue(
            &Outgoing::send(
                decided.user_id,
                self.t().render(key, &[("location", &shown)]),
            )
            .tag(format!("roomdecision:{request}")),
            now,
        )
        .await?;
        let verdict = self.t().label(if confirm {
            "room_verdict_confirmed"
        } else {
            "room_verdict_rejected"
        });
        for target in self.staff_targets_of(&decided.estate) {
            tx.enqueue(
                &Outgoing::send(
                    target,
                    self.t().staff(
                        "room_decided",
                        &[
                            ("name", &decided.name),
                            ("location", &shown),
                            ("request", &request.to_string()),
                            ("verdict", &verdict),
                            ("by", &from.name),
                        ],
                    ),
                )
                .tag(format!("roomdecided:{request}:{target}")),
                now,
            )
            .await?;
        }
        self.commit(tx).await?;
        Ok(CallbackAnswer::toast(self.t().label(if confirm {
            "toast_room_confirmed"
        } else {
            "toast_room_rejected"
        })))
    }
}
