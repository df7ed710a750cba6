//! `/survey`: the handbook's quarterly satisfaction survey, as an anonymous
//! 1–5 poll in each building group. The counts the platform reports are kept
//! per group and shown in `/stats` and the report, per building.

use super::{Incoming, Notices, Result};
use crate::domain::notice::Targets;
use crate::domain::outgoing::{Lane, Outgoing};
use crate::domain::survey::{Poll, SurveyError, Votes};

impl Notices {
    /// `/survey <all|3栋,5栋> <question>`
    pub async fn survey(&self, msg: &Incoming, args: &str) -> Result<()> {
        let usage = self.t().label("survey_usage");
        let (targets, question) = crate::domain::notice::split_targets(args);
        let (estate, targets) = match self.estate_targets(msg, &targets) {
            Ok(scoped) => scoped,
            Err(text) => return self.reply(msg, text).await,
        };
        let targets = match Targets::parse(targets) {
            Ok(t) => t,
            Err(e) => return self.reply(msg, format!("⚠️ {e}\n{usage}")).await,
        };
        let options = self
            .t()
            .render("survey_options", &[])
            .split('|')
            .map(|o| o.trim().to_string())
            .collect();
        let poll = match Poll::satisfaction(question, options) {
            Ok(p) => p,
            Err(e) => {
                let why = match e {
                    SurveyError::NoQuestion => self.t().label("survey_no_question"),
                    SurveyError::QuestionTooLong(n) => self
                        .t()
                        .label_with("survey_too_long", &[("n", &n.to_string())]),
                    SurveyError::BadOptions => self.t().label("survey_bad_options"),
                };
                return self.reply(msg, format!("⚠️ {why}\n{usage}")).await;
            }
        };
        if let Some(found) = self.private_details_in(&poll.question) {
            return self.refuse_private_details(msg, found).await;
        }
        let (groups, missing) = self.resolve(Some(&estate), &targets).await?;
        if groups.is_empty() {
            let text = self
                .t()
                .staff("no_groups", &[("groups", &missing.join("、"))]);
            return self.reply(msg, text).await;
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let key = format!("survey:{}:{}", msg.chat_id, msg.message_id);
        let Some(id) = tx
            .insert_survey(&poll.question, msg.from.id, &key, now)
            .await?
        else {
            // This command was handled already: a re-delivered update.
            return Ok(());
        };
        for g in &groups {
            let tag = format!("survey:{id}:{}", g.chat_id);
            tx.add_survey_poll(id, g.chat_id, &g.name, &tag).await?;
            tx.enqueue(
                &Outgoing::poll(g.chat_id, poll.clone())
                    .tag(tag)
                    .lane(Lane::Broadcast),
                now,
            )
            .await?;
        }
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        let mut text = self.t().staff(
            "survey_queued",
            &[
                ("survey", &id.to_string()),
                ("count", &groups.len().to_string()),
                ("groups", &names.join("、")),
            ],
        );
        if !missing.is_empty() {
            text.push_str(
                &self
                    .t()
                    .staff("broadcast_missing", &[("groups", &missing.join("、"))]),
            );
        }
        tx.enqueue(
            &Outgoing::send(msg.chat_id, text)
                .reply_to(msg.message_id)
                .tag(msg.reply_tag()),
            now,
        )
        .await?;
        self.commit(tx).await
    }

    /// The platform's latest counts for a poll. Polls that are not a survey's
    /// are ignored.
    pub async fn on_poll(&self, poll_id: &str, counts: &[u64]) -> Result<()> {
        let votes = Votes::from_counts(counts);
        if !self.store().poll_votes(poll_id, &votes, self.now()).await? {
            tracing::debug!(poll_id, "votes for a poll that is no survey of ours");
        }
        Ok(())
    }
}
