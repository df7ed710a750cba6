//! The handbook's quarterly satisfaction survey: one anonymous 1–5 poll per
//! building group, answered with the chat's own poll buttons, counted per
//! building. Owners vote anonymously, so the desk only ever sees counts.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The scale: 1 (very unhappy) to 5 (very happy).
pub const SCALE: usize = 5;

/// Telegram's limits on a poll, which are sensible for any platform.
const MAX_QUESTION_CHARS: usize = 300;
const MAX_OPTION_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SurveyError {
    #[error("请写上问题,例如 /survey all 您对本季度的物业服务满意吗?")]
    NoQuestion,
    #[error("问题太长了({0} 个字),请控制在 300 字以内")]
    QuestionTooLong(usize),
    #[error("选项应为 5 个,每个 1 到 100 字")]
    BadOptions,
}

/// A poll to send: the question and the five answers, worst first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poll {
    pub question: String,
    pub options: Vec<String>,
}

impl Poll {
    /// A satisfaction poll; `options` are the five answers' wording (templates).
    pub fn satisfaction(question: &str, options: Vec<String>) -> Result<Self, SurveyError> {
        let question = question.trim();
        if question.is_empty() {
            return Err(SurveyError::NoQuestion);
        }
        let n = question.chars().count();
        if n > MAX_QUESTION_CHARS {
            return Err(SurveyError::QuestionTooLong(n));
        }
        let fits = |o: &String| (1..=MAX_OPTION_CHARS).contains(&o.trim().chars().count());
        if options.len() != SCALE || !options.iter().all(fits) {
            return Err(SurveyError::BadOptions);
        }
        Ok(Self {
            question: question.to_string(),
            options,
        })
    }
}

/// Votes for each point of the scale (index 0 is 1 point).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Votes(pub [u64; SCALE]);

impl Votes {
    /// From a platform's per-option counts; extra options are ignored.
    pub fn from_counts(counts: &[u64]) -> Self {
        let mut v = [0; SCALE];
        for (slot, n) in v.iter_mut().zip(counts) {
            *slot = *n;
        }
        Self(v)
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The mean score, 1–5; `None` with no votes.
    pub fn average(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| {
            let points: u64 = self
                .0
                .iter()
                .enumerate()
                .map(|(i, n)| (i as u64 + 1) * n)
                .sum();
            points as f64 / total as f64
        })
    }

    fn add(&mut self, other: &Votes) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }
}

/// One survey's answers, per building.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyResult {
    pub id: i64,
    pub question: String,
    /// `2026-12-01`, in the desk's timezone.
    pub sent_on: String,
    pub buildings: BTreeMap<String, Votes>,
}

impl SurveyResult {
    pub fn overall(&self) -> Votes {
        let mut all = Votes::default();
        for v in self.buildings.values() {
            all.add(v);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn five() -> Vec<String> {
        (1..=5).map(|i| format!("{i} 分")).collect()
    }

    #[test]
    fn a_poll_needs_a_question_of_sensible_length_and_five_answers() {
        assert_eq!(
            Poll::satisfaction("  ", five()),
            Err(SurveyError::NoQuestion)
        );
        assert_eq!(
            Poll::satisfaction(&"好".repeat(301), five()),
            Err(SurveyError::QuestionTooLong(301))
        );
        assert_eq!(
            Poll::satisfaction("满意吗?", five()[..4].to_vec()),
            Err(SurveyError::BadOptions)
        );
        let p = Poll::satisfaction(" 您对本季度的服务满意吗? ", five()).unwrap();
        assert_eq!(p.question, "您对本季度的服务满意吗?");
    }

    #[test]
    fn averages_are_counted_by_hand() {
        // 1×1 + 2×0 + 3×2 + 4×3 + 5×4 = 39 points over 10 votes.
        let v = Votes::from_counts(&[1, 0, 2, 3, 4]);
        assert_eq!(v.total(), 10);
        assert_eq!(v.average(), Some(3.9));
        assert_eq!(Votes::default().average(), None);
        let r = SurveyResult {
            id: 1,
            question: "q".into(),
            sent_on: "2026-12-01".into(),
            buildings: [
                ("3".to_string(), v),
                ("5".to_string(), Votes::from_counts(&[0, 0, 0, 0, 10])),
            ]
            .into_iter()
            .collect(),
        };
        assert_eq!(r.overall().total(), 20);
        assert_eq!(r.overall().average(), Some(4.45));
    }
}
