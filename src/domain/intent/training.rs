//! What the model learns from, and the hooks cross-validation uses: the
//! labelled examples turned into rows (refusing a category or FAQ topic the
//! rules do not define), and models trained on some of the rows to be scored
//! with `classify_with` on the others (`guanjia intents test`, the
//! cross-validated tests). The rules stay as loaded; only the model changes.

use super::model::Features;
use super::{Classifier, Examples, Intent, Model, ModelParams, Row, RuleError};
use crate::domain::text::normalize_into;

impl Classifier {
    /// The same rules with the model trained on `examples` instead.
    pub fn with_examples(mut self, examples: &Examples, origin: &str) -> Result<Self, RuleError> {
        let rows = self.training_rows(examples)?;
        self.model = self.train(&rows.iter().collect::<Vec<_>>());
        self.examples_origin = origin.to_string();
        self.examples = examples.clone();
        Ok(self)
    }

    /// Where the model's examples came from.
    pub fn examples_origin(&self) -> &str {
        &self.examples_origin
    }

    /// The examples the model was trained on.
    pub fn examples(&self) -> &Examples {
        &self.examples
    }

    /// The examples as the model sees them. A row naming a category or FAQ
    /// topic the rules do not define is refused, naming it.
    pub fn training_rows(&self, examples: &Examples) -> Result<Vec<Row>, RuleError> {
        let mut file_of = examples
            .files
            .iter()
            .flat_map(|(name, n)| std::iter::repeat_n(name.as_str(), *n));
        let mut norm = String::new();
        let mut rows = Vec::with_capacity(examples.rows.len());
        for r in &examples.rows {
            let file = file_of.next().unwrap_or("examples");
            let err = |reason: String| RuleError::File {
                file: format!("examples/{file}"),
                reason: format!("row {:?}: {reason}", r.id),
            };
            let category = match (&r.category, r.intent.has_category()) {
                (Some(id), true) => Some(
                    self.c
                        .categories
                        .iter()
                        .position(|c| &c.id == id)
                        .ok_or_else(|| err(format!("unknown category {id:?}")))?
                        as u16,
                ),
                _ => None,
            };
            let faq = match (&r.faq, r.intent == Intent::Inquiry) {
                (Some(id), true) => Some(
                    self.c
                        .faqs
                        .iter()
                        .position(|q| &q.id == id)
                        .ok_or_else(|| err(format!("unknown FAQ topic {id:?}")))?
                        as u16,
                ),
                _ => None,
            };
            normalize_into(&r.text, &mut norm);
            rows.push(Row {
                features: Features::of(&norm),
                intent: r.intent,
                category,
                faq,
            });
        }
        Ok(rows)
    }

    /// A model trained on `rows` with the default parameters (for
    /// cross-validation: train on some folds, score with
    /// [`classify_with`](Self::classify_with) on the rest).
    pub fn train(&self, rows: &[&Row]) -> Model {
        self.train_with(rows, &ModelParams::default())
    }

    pub fn train_with(&self, rows: &[&Row], params: &ModelParams) -> Model {
        Model::train(rows, self.c.categories.len(), self.c.faqs.len(), params)
    }
}
