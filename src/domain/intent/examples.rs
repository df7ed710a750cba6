//! Labelled example messages: the data the model learns from and the
//! classifier is scored on.
//!
//! They live in the rule directory as `examples/*.jsonl`, one message per
//! line in the format of `LABELS.md` (`id`, `text`, `intent`, `category`,
//! `faq`, `location`), so staff add a row the way they add a keyword, and
//! `guanjia intents export` output (corrections) can be dropped in as a new
//! file. A rule directory without an `examples/` folder (a copy made by an
//! earlier `guanjia init`) uses the examples built into the binary.

use super::{Intent, RuleError};
use crate::domain::location::Location;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One labelled message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labelled {
    pub id: String,
    pub text: String,
    pub intent: Intent,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub faq: Option<String>,
    #[serde(default)]
    pub location: Option<Location>,
}

/// Labelled rows and the file each came from (for per-file figures).
#[derive(Debug, Clone, Default)]
pub struct Examples {
    pub rows: Vec<Labelled>,
    /// `(file name, number of rows)`, in load order; the rows follow it.
    pub files: Vec<(String, usize)>,
}

impl Examples {
    /// Parses one JSONL text; blank lines are skipped. `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Vec<Labelled>, RuleError> {
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let row: Labelled = serde_json::from_str(line).map_err(|e| RuleError::Example {
                file: file.to_string(),
                line: i + 1,
                reason: e.to_string(),
            })?;
            rows.push(row);
        }
        Ok(rows)
    }

    /// `(file name, contents)` pairs, e.g. [`builtin::EXAMPLES`](crate::domain::builtin::EXAMPLES).
    pub fn from_files(files: &[(&str, &str)]) -> Result<Examples, RuleError> {
        let mut out = Examples::default();
        for (name, text) in files {
            let rows = Self::parse(&format!("examples/{name}"), text)?;
            out.files.push((name.to_string(), rows.len()));
            out.rows.extend(rows);
        }
        Ok(out)
    }

    /// The `*.jsonl` files of `dir` in file-name order; `None` when `dir`
    /// does not exist.
    pub fn load(dir: &Path) -> Result<Option<Examples>, RuleError> {
        if !dir.is_dir() {
            return Ok(None);
        }
        let io = |e| RuleError::Io {
            path: dir.to_path_buf(),
            source: e,
        };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file())
            .collect();
        paths.sort();
        let mut texts = Vec::new();
        for p in &paths {
            let text = std::fs::read_to_string(p).map_err(|e| RuleError::Io {
                path: p.clone(),
                source: e,
            })?;
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            texts.push((name, text));
        }
        let pairs: Vec<(&str, &str)> = texts
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        Self::from_files(&pairs).map(Some)
    }

    /// The examples built into the binary.
    pub fn builtin() -> Result<Examples, RuleError> {
        Self::from_files(crate::domain::builtin::EXAMPLES)
    }
}
