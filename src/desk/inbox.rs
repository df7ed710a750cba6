//! Updates the desk could not handle: after the last attempt, staff are told once
//! and the person who wrote gets an apology instead of silence.

use super::{Admin, Result, render::excerpt};
use crate::domain::outgoing::{Lane, Outgoing};

/// What the edge knows of an update that failed every attempt.
#[derive(Debug, Clone)]
pub struct FailedUpdate {
    pub update_id: i64,
    /// Where it came from, if it was a message or a button.
    pub chat_id: Option<i64>,
    pub sender: Option<String>,
    pub text: Option<String>,
    pub attempts: i64,
    pub error: String,
}

impl Admin {
    /// Move a failed update to the dead letters and tell staff, once. Returns
    /// false if it was already a dead letter (nobody is told twice).
    pub async fn dead_letter(&self, f: &FailedUpdate) -> Result<bool> {
        let now = self.now();
        // The staff of the chat's estate follow it up with the owner; the desk's
        // group when the estate cannot be told (read before the transaction:
        // an in-memory database has one connection).
        let estate = match f.chat_id {
            // A group's estate, or (a private chat's id is its user's) the
            // estate of the sender's latest ticket.
            Some(chat) => match self.store().estate_for_report(chat, chat).await {
                Ok(estate) => estate,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot tell a failed update's estate; telling the desk's staff");
                    String::new()
                }
            },
            None => String::new(),
        };
        let mut tx = self.store().begin().await?;
        if !tx
            .dead_letter(f.update_id, f.chat_id, &f.error, now)
            .await?
        {
            tx.commit().await?;
            return Ok(false);
        }
        let id = f.update_id.to_string();
        let attempts = f.attempts.to_string();
        let chat = f
            .chat_id
            .map(|c| c.to_string())
            .unwrap_or_else(|| "—".into());
        let sender = f.sender.clone().unwrap_or_else(|| "—".into());
        let text = f
            .text
            .as_deref()
            .map(|t| excerpt(t, 300))
            .unwrap_or_else(|| self.t().label("no_text"));
        let error = excerpt(&f.error, 200);
        let staff_text = self.t().render(
            "dead_letter_staff",
            &[
                ("update", &id),
                ("attempts", &attempts),
                ("chat", &chat),
                ("sender", &sender),
                ("text", &text),
                ("error", &error),
            ],
        );
        for target in self.staff_targets_of(&estate) {
            tx.enqueue(
                &Outgoing::send(target, staff_text.clone())
                    .tag(format!("dead:{}:staff:{target}", f.update_id))
                    .lane(Lane::Interactive),
                now,
            )
            .await?;
        }
        // The apology names nothing: it may go to a group.
        if let Some(chat) = f.chat_id.filter(|c| !self.is_staff_chat(*c)) {
            tx.enqueue(
                &Outgoing::send(chat, self.t().render("dead_letter_owner", &[]))
                    .tag(format!("dead:{}:owner", f.update_id))
                    .lane(Lane::Interactive),
                now,
            )
            .await?;
        }
        self.commit(tx).await?;
        tracing::error!(update = f.update_id, attempts = f.attempts, error = %f.error, "update moved to the dead letters; staff told");
        Ok(true)
    }
}
