//! Setting the desk up from the chat itself, so a first deployment needs only a
//! token and one admin id: `/id` tells anyone the ids they would otherwise hunt
//! for, an admin makes a group the staff group with `/set_staff_group`, staff hear
//! of groups the bot was added to, and of problems with the deployment itself.

use chrono::{DateTime, Utc};

use super::{ChatKind, Desk, Incoming, Result};
use crate::domain::outgoing::Outgoing;

/// The `desk_state` key of the staff group chosen with `/set_staff_group`.
const STAFF_CHAT_KEY: &str = "staff_chat";

impl Desk {
    /// Take up the staff group an admin chose in an earlier run. It overrides the
    /// config's `staff_chat`, which is only the default until someone chooses.
    pub async fn load_remembered_state(&self) -> Result<()> {
        let Some(value) = self.store().desk_state(STAFF_CHAT_KEY).await? else {
            return Ok(());
        };
        let Ok(chat) = value.parse::<i64>() else {
            tracing::warn!(value, "ignoring a stored staff group that is not a chat id");
            return Ok(());
        };
        if let Some(name) = self.store().building_of(chat).await? {
            tracing::warn!(
                chat,
                building = name,
                "the staff group set with /set_staff_group is now a building group; using [desk] staff_chat instead"
            );
            return Ok(());
        }
        if let Some(configured) = self.settings().desk.staff_chat
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
        if self.staff_chat() == Some(chat_id) || self.store().building_of(chat_id).await?.is_some()
        {
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
