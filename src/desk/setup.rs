//! Setting the desk up from the chat itself, so a first deployment needs only a
//! token and one admin id: `/id` tells anyone the ids they would otherwise hunt
//! for, an admin makes a group the staff group with `/set_staff_group`, staff hear
//! of groups the bot was added to, and of problems with the deployment itself.

use chrono::{DateTime, Utc};

use super::{Admin, ChatKind, Incoming, Result};
use crate::domain::outgoing::Outgoing;

/// The `desk_state` key of the staff group chosen with `/set_staff_group`.
const STAFF_CHAT_KEY: &str = "staff_chat";

impl Admin {
    /// Take up the staff group an admin chose in an earlier run. It overrides the
    /// config's `staff_chat`, which is only the default until someone chooses.
    pub async fn load_remembered_state(&self) -> Result<()> {
        let Some(chat) = self.remembered_staff_group(true).await? else {
            return Ok(());
        };
        if let Some(configured) = self.desk.staff_chat
            && configured != chat
        {
            tracing::info!(
                chat,
                configured,
                "using the staff group set with /set_staff_group, not [desk] staff_chat"
            );
        }
        self.set_staff_chat(chat);
        Ok(())
    }

    /// The staff group `/set_staff_group` stored, if it is usable. `warn`: say
    /// why a stored one is not (once, at start; not on every refresh).
    async fn remembered_staff_group(&self, warn: bool) -> Result<Option<i64>> {
        let Some(value) = self.store().desk_state(STAFF_CHAT_KEY).await? else {
            return Ok(None);
        };
        let Ok(chat) = value.parse::<i64>() else {
            if warn {
                tracing::warn!(value, "ignoring a stored staff group that is not a chat id");
            }
            return Ok(None);
        };
        if let Some(name) = self.store().building_of(chat).await? {
            if warn {
                tracing::warn!(
                    chat,
                    building = name,
                    "the staff group set with /set_staff_group is now a building group; using [desk] staff_chat instead"
                );
            }
            return Ok(None);
        }
        Ok(Some(chat))
    }

    /// Take up a staff group set through another instance (several instances on
    /// one database): `/set_staff_group` reaches the instance it was typed to,
    /// the others find it here. Returns whether it changed.
    pub async fn follow_staff_group(&self) -> Result<bool> {
        match self.remembered_staff_group(false).await? {
            Some(chat) if self.staff_chat() != Some(chat) => {
                tracing::info!(chat, "the staff group was changed through another instance");
                self.set_staff_chat(chat);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Queue a note for staff: in the staff group or, while there is none, to each
    /// admin in private. `tag` makes it once-only (a per-start tag repeats it at
    /// every start).
    pub async fn announce_to_staff(&self, tag: &str, text: impl Into<String>) -> Result<()> {
        let text = text.into();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        for out in self.to_staff(tag, &text) {
            tx.enqueue(&out, now).await?;
        }
        self.commit(tx).await
    }

    /// Privacy mode is on: in groups the bot sees only commands and replies, so
    /// owners' reports go unseen. Tagged per start, so staff hear it at every
    /// start until it is fixed.
    pub async fn warn_privacy_mode(&self, bot_username: &str) -> Result<()> {
        let text = self.t().render("privacy_mode_on", &[("bot", bot_username)]);
        let tag = format!("privacy:{}", self.now().timestamp_millis());
        self.announce_to_staff(&tag, text).await
    }

    /// `/id`: the ids a config or `/staff_add` needs, for anyone who asks.
    pub async fn show_ids(&self, msg: &Incoming) -> Result<()> {
        let text = self.t().render(
            "id_answer",
            &[
                ("chat", &msg.chat_id.to_string()),
                ("user", &msg.from.id.to_string()),
            ],
        );
        self.reply(msg, text).await
    }

    /// `/set_staff_group`, typed by an admin in the group that is to become the
    /// staff group. Remembered in the store; it wins over the config from now on.
    pub async fn set_staff_group(&self, msg: &Incoming) -> Result<()> {
        if !self.is_admin(msg.from.id) {
            return self
                .reply(msg, self.t().staff("staff_group_refused", &[]))
                .await;
        }
        if msg.chat_kind != ChatKind::Group {
            return self
                .reply(msg, self.t().staff("staff_group_not_group", &[]))
                .await;
        }
        if let Some(name) = self.store().building_of(msg.chat_id).await? {
            return self
                .reply(
                    msg,
                    self.t()
                        .staff("staff_group_is_building", &[("building", &name)]),
                )
                .await;
        }
        let before = self.staff_chat();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.set_desk_state(
            STAFF_CHAT_KEY,
            &msg.chat_id.to_string(),
            Some(msg.from.id),
            now,
        )
        .await?;
        tx.enqueue(
            &Outgoing::send(
                msg.chat_id,
                self.t()
                    .render("staff_group_set", &[("chat", &msg.chat_id.to_string())]),
            )
            .reply_to(msg.message_id)
            .tag(msg.reply_tag()),
            now,
        )
        .await?;
        if let Some(old) = before.filter(|old| *old != msg.chat_id) {
            tx.enqueue(
                &Outgoing::send(
                    old,
                    self.t()
                        .staff("staff_group_moved", &[("chat", &msg.chat_id.to_string())]),
                )
                .tag(format!("{}:moved", msg.reply_tag())),
                now,
            )
            .await?;
        }
        self.commit(tx).await?;
        self.set_staff_chat(msg.chat_id);
        tracing::info!(chat = msg.chat_id, by = msg.from.id, "staff group set");
        Ok(())
    }

    /// The bot was added to a group (`at`: when). A group that is neither a
    /// building group nor the staff group is announced to staff with its id and
    /// how to bind it, so nobody has to hunt for the id.
    pub async fn on_added_to_chat(
        &self,
        chat_id: i64,
        title: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        if self.is_staff_chat(chat_id) || self.store().building_of(chat_id).await?.is_some() {
            return Ok(());
        }
        let text = self.t().render(
            "group_added",
            &[("title", title), ("chat", &chat_id.to_string())],
        );
        self.announce_to_staff(&format!("added:{chat_id}:{}", at.timestamp()), text)
            .await
    }
}

impl Admin {
    /// `/staff_add ID [名字]` (admins only). The name is what owners and
    /// colleagues read (负责人:客服小王) until then and after.
    pub async fn staff_add(
        &self,
        msg: &Incoming,
        user: Option<i64>,
        name: Option<&str>,
    ) -> Result<()> {
        if !self.is_admin(msg.from.id) {
            return self
                .reply(msg, self.t().staff("staff_add_refused", &[]))
                .await;
        }
        let Some(user) = user.filter(|u| *u > 0) else {
            return self
                .reply(msg, self.t().staff("staff_add_usage", &[]))
                .await;
        };
        let name = name
            .filter(|n| !n.is_empty())
            .map(|n| n.chars().take(32).collect::<String>());
        self.store()
            .add_staff(user, name.as_deref(), msg.from.id, self.now())
            .await?;
        let id = user.to_string();
        let text = if self.is_staff(user).await? {
            match self.store().display_name(user).await? {
                Some(n) => self
                    .t()
                    .staff("staff_added", &[("name", &n), ("user", &id)]),
                None => self.t().staff("staff_added_nameless", &[("user", &id)]),
            }
        } else {
            self.t().staff("staff_add_failed", &[("user", &id)])
        };
        self.reply(msg, text).await
    }

    /// `/staff_remove ID` (admins only)
    pub async fn staff_remove(&self, msg: &Incoming, user: Option<i64>) -> Result<()> {
        if !self.is_admin(msg.from.id) {
            return self
                .reply(msg, self.t().staff("staff_remove_refused", &[]))
                .await;
        }
        let Some(user) = user else {
            return self
                .reply(msg, self.t().staff("staff_remove_usage", &[]))
                .await;
        };
        let removed = self.store().remove_staff(user).await?;
        let user_id = user.to_string();
        let id = [("user", user_id.as_str())];
        let text = if removed {
            self.t().staff("staff_removed", &id)
        } else if self.desk.staff.contains(&user) || self.is_admin(user) {
            self.t().staff("staff_remove_configured", &id)
        } else {
            self.t().staff("staff_remove_not_staff", &id)
        };
        self.reply(msg, text).await
    }
}

impl Admin {
    /// `/bind 3栋` inside a group; with several estates `/bind 翠湖苑:3栋` (or
    /// `/bind 翠湖苑 3栋`): the group is that estate's 3栋.
    pub async fn bind(&self, msg: &Incoming, name: &str) -> Result<()> {
        let name = name.trim();
        if msg.chat_kind != ChatKind::Group {
            return self.reply(msg, self.t().staff("bind_not_group", &[])).await;
        }
        let implicit = self.estate_names() == [""];
        // Without `[[estate]]` the name is read whole, as it always was.
        let (named, name) = match crate::domain::notice::split_estate(name) {
            _ if implicit => (None, name),
            (None, rest) => match rest.split_once(char::is_whitespace) {
                Some((estate, building)) if self.estate_names().contains(&estate) => {
                    (Some(estate), building.trim())
                }
                _ => (None, rest),
            },
            named => named,
        };
        if name.is_empty() || name.chars().count() > 32 {
            return self.reply(msg, self.t().staff("bind_usage", &[])).await;
        }
        // Any staff member may bind a group of any estate: staff are the desk's,
        // so the estate is read as if asked in private.
        let estate = if implicit {
            String::new()
        } else {
            let anywhere = Incoming {
                chat_kind: ChatKind::Private,
                ..msg.clone()
            };
            match self.pick_estate(&anywhere, named) {
                Ok(e) => e,
                Err(text) => return self.reply(msg, text).await,
            }
        };
        if self.is_staff_chat(msg.chat_id) {
            // The staff group shows rooms, names and phone numbers: it must never
            // become a building group that broadcasts reach.
            return self
                .reply(msg, self.t().staff("bind_staff_group", &[]))
                .await;
        }
        self.store()
            .bind_building(
                msg.chat_id,
                &estate,
                name,
                "command",
                Some(msg.from.id),
                self.now(),
            )
            .await?;
        let building = self.in_estate(&estate, name);
        self.reply(msg, self.t().staff("bind_ok", &[("building", &building)]))
            .await
    }

    /// `/unbind` inside a group.
    pub async fn unbind(&self, msg: &Incoming) -> Result<()> {
        let text = match self.store().unbind_building(msg.chat_id).await? {
            Some(name) => self.t().staff("unbind_ok", &[("building", &name)]),
            None => self.t().staff("unbind_none", &[]),
        };
        self.reply(msg, text).await
    }

    /// `/groups`
    pub async fn groups(&self, msg: &Incoming) -> Result<()> {
        let mut groups = self.store().buildings().await?;
        // A staff group lists its own estates' groups.
        groups.retain(|g| self.serves(msg, &g.estate));
        if groups.is_empty() {
            return self.reply(msg, self.t().staff("groups_none", &[])).await;
        }
        // By estate, then 1栋, 2栋, … 10栋: by building number, then by name.
        groups.sort_by_key(|g| {
            let number = crate::domain::location::canonical_building(&g.name)
                .and_then(|b| b.parse::<u32>().ok())
                .unwrap_or(u32::MAX);
            (g.estate.clone(), number, g.name.clone(), g.chat_id)
        });
        let from_config = self.t().label("from_config");
        let lines: Vec<String> = groups
            .iter()
            .map(|g| {
                let source = if g.source == "config" {
                    &from_config
                } else {
                    ""
                };
                format!(
                    "{} · chat {}{source}",
                    self.in_estate(&g.estate, &g.name),
                    g.chat_id
                )
            })
            .collect();
        let count = groups.len().to_string();
        let text = self
            .t()
            .staff("groups", &[("count", &count), ("lines", &lines.join("\n"))]);
        self.reply(msg, text).await
    }
}

impl Admin {
    /// Bind the `[[building]]` groups of the config (they win over earlier /bind).
    /// Estates declared where there were none first take over what belonged to
    /// the implicit estate, so a single-estate database keeps its groups and tickets.
    pub async fn bind_configured_buildings(&self) -> Result<()> {
        let now = self.now();
        if let Some(first) = self.estate_names().first().filter(|e| !e.is_empty()) {
            self.store.adopt_implicit_estate(first).await?;
        }
        for b in &self.buildings {
            let estate = b.estate.as_deref().unwrap_or_default();
            self.store
                .bind_building(b.chat, estate, &b.name, "config", None, now)
                .await?;
        }
        Ok(())
    }

    /// The bot was removed from a group: forget the binding.
    pub async fn on_removed_from_chat(&self, chat_id: i64) -> Result<Option<String>> {
        let name = self.store.unbind_building(chat_id).await?;
        if let Some(name) = &name {
            let now = self.now();
            let mut tx = self.store.begin().await?;
            for out in self.to_staff(
                &format!("removed:{chat_id}:{}", now.timestamp()),
                &self.t().staff(
                    "removed_from_group",
                    &[("building", name), ("chat", &chat_id.to_string())],
                ),
            ) {
                tx.enqueue(&out, now).await?;
            }
            self.commit(tx).await?;
        }
        Ok(name)
    }

    /// A group became a supergroup with a new id.
    pub async fn on_chat_migrated(&self, old: i64, new: i64) -> Result<()> {
        self.store.migrate_chat(old, new).await?;
        tracing::info!(
            old,
            new,
            "group migrated to a supergroup; bindings and tickets follow"
        );
        Ok(())
    }
}
