//! The combination policy: one decision from the rules' answer and the
//! model's probabilities ("One decision from both" in the parent module's
//! docs). Apart from the rules' decision so the thresholds, and who may
//! overrule whom, read in one place, and so the rules can be measured alone
//! (`use_model = false`).

use super::model::{Features, Model};
use super::scan::Hits;
use super::{Classification, Classifier, Decided, Guess, Intent};

/// Where the rules and the model meet (see the module docs, "One decision
/// from both"). Chosen by 5-fold cross-validation of the whole classifier.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The model raises an emergency at or above this probability, whatever
    /// the rules say, unless a veto that `denies_emergency` fired.
    pub emergency_floor: f32,
    /// Where no rule and no veto fired, the model opens a ticket, answers a
    /// question or records a suggestion at or above this probability.
    pub silent_threshold: f32,
    /// Where only a `generic = true` rule fired, the model overrules it at or
    /// above this probability.
    pub generic_threshold: f32,
    /// `false`: the rules alone decide (to measure what the model adds).
    pub use_model: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            emergency_floor: 0.7,
            silent_threshold: 0.7,
            generic_threshold: 0.9,
            use_model: true,
        }
    }
}

/// What the rule side knows about its own answer, for the combination.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RuleSide {
    /// A rule fired and it was not `generic`.
    pub(super) explicit: bool,
    /// The best rule that fired is `generic`.
    pub(super) generic: bool,
    /// A veto fired and nothing survived it.
    pub(super) vetoed: bool,
    /// A fired veto `denies_emergency`: the model may not raise one either.
    pub(super) denies_emergency: bool,
    /// The category came from a rule that names it (not from keywords or
    /// a fallback).
    pub(super) category_named: bool,
    /// The category came from a rule or from category keywords.
    pub(super) category_from_words: bool,
    /// The FAQ topic came from the rule itself.
    pub(super) faq_named: bool,
}

impl Classifier {
    /// The same classifier deciding with other thresholds.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// One decision from the rules' answer and the model (module docs,
    /// "One decision from both").
    pub(super) fn combine(
        &self,
        model: &Model,
        norm: &str,
        hits: &mut Hits,
        features: &Features,
        mut answer: Classification,
        side: RuleSide,
    ) -> Classification {
        let p = model.intent(features);
        let (top, top_p) = p
            .iter()
            .copied()
            .enumerate()
            .fold(
                (5, f32::MIN),
                |best, (i, q)| if q > best.1 { (i, q) } else { best },
            );
        let guess = Intent::ALL[top];
        answer.model = Some(Guess {
            intent: guess,
            probability: round3(top_p),
        });
        let policy = &self.policy;
        // An emergency the rules found stands.
        if answer.intent == Intent::Emergency {
            return answer;
        }
        // Either side raises one: recall first. Only a veto that says the
        // danger is not real or not here silences the model too.
        let p_emergency = p[Intent::Emergency.rank() as usize];
        if p_emergency >= policy.emergency_floor && !side.denies_emergency {
            let keep = side
                .category_named
                .then(|| answer.category.clone())
                .flatten();
            return self.model_decides(
                model,
                norm,
                hits,
                features,
                answer,
                Intent::Emergency,
                p_emergency,
                keep,
            );
        }
        if side.explicit {
            // The rule decides; the model only names a category the rule
            // had to guess from nothing.
            if answer.intent.has_category()
                && !side.category_from_words
                && let Some((c, _)) = model.category(answer.intent, features)
            {
                answer.category = Some(self.c.categories[c as usize].id.clone());
            }
            return answer;
        }
        if side.vetoed {
            // The veto explains the message; the model does not reopen it.
            return answer;
        }
        let threshold = if side.generic {
            policy.generic_threshold
        } else {
            policy.silent_threshold
        };
        if guess != answer.intent && top_p >= threshold {
            return self.model_decides(model, norm, hits, features, answer, guess, top_p, None);
        }
        if !side.generic {
            // Silence: the model agrees (`other`) or was not sure enough.
            answer.decided_by = if guess == Intent::Other {
                Decided::Model {
                    probability: round3(top_p),
                }
            } else {
                Decided::None
            };
        }
        answer
    }

    /// The answer when the model decides the intent: its category and FAQ
    /// heads fill in what the intent needs (`category`: one the rules named,
    /// to keep).
    #[allow(clippy::too_many_arguments)]
    fn model_decides(
        &self,
        model: &Model,
        norm: &str,
        hits: &mut Hits,
        features: &Features,
        answer: Classification,
        intent: Intent,
        probability: f32,
        category: Option<String>,
    ) -> Classification {
        let category = if intent.has_category() {
            category.or_else(|| {
                model
                    .category(intent, features)
                    .map(|(c, _)| self.c.categories[c as usize].id.clone())
            })
        } else {
            None
        };
        let faq = if intent == Intent::Inquiry {
            model
                .faq(features)
                .map(|(q, _)| self.c.faqs[q as usize].id.clone())
        } else {
            None
        };
        Classification {
            intent,
            category,
            faq,
            location: answer.location,
            utility: self.utility(norm, hits, intent),
            rule: None,
            keywords: Vec::new(),
            decided_by: Decided::Model {
                probability: round3(probability),
            },
            model: answer.model,
            upset: None,
        }
    }
}

fn round3(p: f32) -> f32 {
    (p * 1000.0).round() / 1000.0
}
