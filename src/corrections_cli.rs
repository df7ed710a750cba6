//! `guanjia intents export`: staff's corrections as labelled examples, in the
//! JSONL format of `intents/examples/` (see `docs/classifier.md`), so a company's
//! own corrections can be reviewed and added to what the classifier learns from.

use serde::Serialize;
use std::io::Write;

use crate::domain::Classifier;
use crate::storage::{Correction, Store};

#[derive(Serialize)]
struct Row<'a> {
    id: String,
    text: &'a str,
    intent: &'static str,
    category: Option<&'a str>,
    faq: Option<&'a str>,
    location: Option<LocationRow>,
}

#[derive(Serialize)]
struct LocationRow {
    building: Option<String>,
    unit: Option<String>,
    room: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
}

/// Write every correction as one labelled line; returns how many. The FAQ topic
/// and the location are the classifier's reading of the text (staff corrected the
/// intent and category, not those).
pub async fn export(
    store: &Store,
    classifier: &Classifier,
    mut out: impl Write,
) -> Result<usize, ExportError> {
    let corrections = store.corrections().await?;
    for c in &corrections {
        writeln!(out, "{}", line(c, classifier))?;
    }
    out.flush()?;
    Ok(corrections.len())
}

fn line(c: &Correction, classifier: &Classifier) -> String {
    let read = classifier.classify(&c.text);
    let faq = if c.intent == crate::domain::Intent::Inquiry {
        read.faq.as_deref()
    } else {
        None
    };
    let row = Row {
        id: format!("corr-{}", c.id),
        text: &c.text,
        intent: c.intent.as_str(),
        category: c.category.as_deref().filter(|_| c.intent.has_category()),
        faq,
        location: read.location.map(|l| LocationRow {
            building: l.building,
            unit: l.unit,
            room: l.room,
        }),
    };
    serde_json::to_string(&row).expect("a row of strings serialises")
}
