//! Satisfaction surveys: which poll went to which building group, and the
//! latest counts the platform reported for it.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Context, Result, StorageError, Store, Tx, from_ms, ms};
use crate::domain::survey::{SurveyResult, Votes};

impl Tx {
    /// A new survey, once per `dedupe_key` (the command that asked for it):
    /// `None` if it was created already.
    pub async fn insert_survey(
        &mut self,
        question: &str,
        by: i64,
        dedupe_key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "INSERT INTO surveys (question, created_by, created_at, dedupe_key) VALUES ($1, $2, $3, $4)
             ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        )
        .bind(question)
        .bind(by)
        .bind(ms(now))
        .bind(dedupe_key)
        .fetch_optional(&mut *self.tx)
        .await
        .ctx("recording a survey")?;
        row.map(|r| r.try_get(0).ctx("reading a survey id"))
            .transpose()
    }

    /// The survey's poll for one group, sent by the outbox row tagged `tag`.
    pub async fn add_survey_poll(
        &mut self,
        survey: i64,
        chat_id: i64,
        building: &str,
        tag: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO survey_polls (survey_id, chat_id, building, tag) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tag) DO NOTHING",
        )
        .bind(survey)
        .bind(chat_id)
        .bind(building)
        .bind(tag)
        .execute(&mut *self.tx)
        .await
        .ctx("recording a survey's poll")?;
        Ok(())
    }
}

impl Store {
    /// The platform gave the poll sent by the row tagged `tag` the id `poll_id`.
    pub async fn poll_sent(&self, tag: &str, poll_id: &str) -> Result<()> {
        sqlx::query("UPDATE survey_polls SET poll_id = $1 WHERE tag = $2")
            .bind(poll_id)
            .bind(tag)
            .execute(&self.pool)
            .await
            .ctx("recording a poll's id")?;
        Ok(())
    }

    /// The latest counts of poll `poll_id`. False if it is none of ours.
    pub async fn poll_votes(
        &self,
        poll_id: &str,
        votes: &Votes,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let json = serde_json::to_string(&votes.0).expect("counts serialise");
        let done =
            sqlx::query("UPDATE survey_polls SET votes = $1, updated_at = $2 WHERE poll_id = $3")
                .bind(json)
                .bind(ms(now))
                .bind(poll_id)
                .execute(&self.pool)
                .await
                .ctx("recording a poll's votes")?;
        Ok(done.rows_affected() == 1)
    }

    /// Surveys sent in `[since, until)`, newest first, with their counts per building.
    pub async fn survey_results(
        &self,
        estates: Option<&[String]>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        tz: chrono_tz::Tz,
    ) -> Result<Vec<SurveyResult>> {
        // A poll is in the estate of the group it went to.
        let estate_filter = match estates {
            None => String::new(),
            Some(_) => format!(
                " AND p.chat_id IN (SELECT chat_id FROM buildings WHERE 1 = 1{})",
                super::report::in_estates("estate", 3, estates)
            ),
        };
        let sql = format!(
            "SELECT s.id, s.question, s.created_at, p.building, p.votes
             FROM surveys s JOIN survey_polls p ON p.survey_id = s.id
             WHERE s.created_at >= $1 AND s.created_at < $2{estate_filter}
             ORDER BY s.id DESC, p.building"
        );
        let rows =
            super::report::bind_estates(sqlx::query(&sql).bind(ms(since)).bind(ms(until)), estates)
                .fetch_all(&self.pool)
                .await
                .ctx("reading survey results")?;
        let c = "reading survey results";
        let mut out: Vec<SurveyResult> = Vec::new();
        for r in &rows {
            let id: i64 = r.try_get(0).ctx(c)?;
            let building: String = r.try_get(3).ctx(c)?;
            let votes: String = r.try_get(4).ctx(c)?;
            let counts: Vec<u64> = serde_json::from_str(&votes)
                .map_err(|e| StorageError::Corrupt(format!("survey votes: {e}")))?;
            if out.last().is_none_or(|s| s.id != id) {
                out.push(SurveyResult {
                    id,
                    question: r.try_get(1).ctx(c)?,
                    sent_on: from_ms(r.try_get(2).ctx(c)?)
                        .with_timezone(&tz)
                        .format("%Y-%m-%d")
                        .to_string(),
                    buildings: Default::default(),
                });
            }
            if let Some(s) = out.last_mut() {
                *s.buildings.entry(building).or_default() = Votes::from_counts(&counts);
            }
        }
        Ok(out)
    }
}
