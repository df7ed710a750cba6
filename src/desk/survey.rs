//! `/survey`: the handbook's quarterly satisfaction survey, as an anonymous
//! 1–5 poll in each building group. The counts the platform reports are kept
//! per group and shown in `/stats` and the report, per building.

use super::{Desk, Incoming, Result};
use crate::domain::notice::Targets;
use crate::domain::outgoing::{Lane, Outgoing};
use crate::domain::survey::{Poll, Votes};

impl Desk {
    /// `/survey <all|3栋,5栋> <question>`
    pub async fn survey(&self, msg: &Incoming, args: &str) -> Result<()> {
        let usage = "用法:/survey all 您对本季度的物业服务满意吗?(或 /survey 3栋,5栋 …)";
        let (targets, question) = crate::domain::notice::split_targets(args);
        let targets = match Targets::parse(&targets) {
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
            Err(e) => return self.reply(msg, format!("⚠️ {e}\n{usage}")).await,
        };
        if let Some(found) = self.private_details_in(&poll.question) {
            return self.refuse_private_details(msg, found).await;
        }
        let (groups, missing) = self.resolve(&targets).await?;
        if groups.is_empty() {
            return self
                .reply(
                    msg,
                    format!(
                        "⚠️ 没有找到目标群:{}。请先在群里 /bind。",
                        missing.join("、")
                    ),
                )
                .await;
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
        let mut text = format!(
            "📊 满意度调查 #{id} 已排队,发往 {} 个群({});业主匿名投票,结果见 /stats。",
            groups.len(),
            groups
                .iter()
                .map(|g| g.name.as_str())
                .collect::<Vec<_>>()
                .join("、")
        );
        if !missing.is_empty() {
            text.push_str(&format!("\n⚠️ 没有找到这些楼栋的群:{}", missing.join("、")));
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
