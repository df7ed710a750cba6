//! Rule files: their TOML shape, validation, and compilation into the tables
//! the matcher uses.
//!
//! Every `*.toml` file in the rules directory has the same schema, and any
//! section may appear in any file; the shipped layout (one file per intent,
//! `categories.toml`, `lexicon.toml`, `chatter.toml`, `faq.toml`) is a
//! convention for staff, not something the loader depends on. Files are read
//! in file-name order, and that order is the last tie-breaker between rules.
//!
//! Everything a staff member can get wrong is checked here, once, with an
//! error that names the file, the rule and the reason, so a bad edit is
//! refused at start-up instead of silently changing answers.
//!
//! The file schema and the reading of the files are here; `compile` checks
//! them and resolves them into `tables`, the form the matcher uses.

mod compile;
mod tables;

pub use tables::FaqEntry;
pub(crate) use tables::{Compiled, Cond, Matcher, Scope, Veto};

use compile::compile;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A rule directory that cannot be used, with the place and the reason.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}: {kind} \"{id}\": {reason}")]
    Rule {
        file: String,
        kind: &'static str,
        id: String,
        reason: String,
    },
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
    /// A labelled example that cannot be used (`examples/*.jsonl`).
    #[error("{file} line {line}: {reason}")]
    Example {
        file: String,
        line: usize,
        reason: String,
    },
}

// ---------------------------------------------------------------------------
// File schema. Ids and names are kept as strings here and checked in
// `compile` so errors can name the rule they belong to.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    /// Default intent for the `[[rule]]`s of this file.
    intent: Option<String>,
    /// Words whose inside does not count ("自来水" hides "来水").
    #[serde(default)]
    masks: Vec<String>,
    #[serde(default)]
    sets: BTreeMap<String, Vec<String>>,
    negation: Option<NegationSpec>,
    #[serde(default, rename = "category")]
    categories: Vec<CategorySpec>,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleSpec>,
    #[serde(default, rename = "veto")]
    vetoes: Vec<VetoSpec>,
    #[serde(default, rename = "faq")]
    faqs: Vec<FaqSpec>,
    #[serde(default, rename = "utility")]
    utilities: Vec<UtilitySpec>,
    #[serde(default, rename = "mood")]
    moods: Vec<MoodSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NegationSpec {
    words: Vec<String>,
    #[serde(default = "default_window")]
    window: usize,
    terms: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
}

fn default_window() -> usize {
    2
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CategorySpec {
    id: String,
    label: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    priority: i32,
}

/// The matching part shared by rules, vetoes and utility detectors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Conditions {
    #[serde(default)]
    any: Vec<String>,
    #[serde(default)]
    all: Vec<Vec<String>>,
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    unless: Vec<String>,
    #[serde(default)]
    unless_patterns: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    intent: Option<String>,
    category: Option<String>,
    fallback_category: Option<String>,
    faq: Option<String>,
    #[serde(default)]
    priority: i32,
    /// Words of the `all` groups must lie within this many characters.
    near: Option<usize>,
    /// A broad rule (a question word, "broken" with no thing named): where
    /// it is the best rule that fired, the model may overrule it when
    /// confident (see `intent` module docs).
    #[serde(default)]
    generic: bool,
    #[serde(flatten)]
    when: Conditions,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VetoSpec {
    id: String,
    blocks: Vec<String>,
    /// "clause" (default) or "message"; checked in `load` so the error can
    /// name the veto.
    scope: Option<String>,
    #[serde(default)]
    denies_emergency: bool,
    #[serde(flatten)]
    when: Conditions,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaqSpec {
    id: String,
    title: String,
    answer: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    priority: i32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UtilitySpec {
    id: String,
    #[serde(flatten)]
    when: Conditions,
}

/// Signs that an owner is at the end of their patience (情绪): threats to go
/// to the 12345 hotline, the media or a court, anger words. Orthogonal to the
/// intent: a repair or a complaint may carry one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoodSpec {
    id: String,
    /// What staff read on the ticket ("扬言投诉到 12345、媒体或法院").
    label: String,
    #[serde(flatten)]
    when: Conditions,
}

/// Where a parsed spec came from, for error messages.
struct Loaded {
    file: String,
    spec: RuleFile,
}

/// Reads and parses every `*.toml` in `dir`, in file-name order.
fn read_dir(dir: &Path) -> Result<Vec<Loaded>, RuleError> {
    let io = |path: &Path, source| RuleError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        // The bot's wording lives beside the rules but is not one.
        .filter(|p| p.file_name().is_none_or(|n| n != "templates.toml"))
        .collect();
    paths.sort();
    if !paths
        .iter()
        .any(|p| p.file_name().is_some_and(|n| n == "faq.toml"))
    {
        return Err(RuleError::File {
            file: dir.join("faq.toml").display().to_string(),
            reason: "missing: the FAQ knowledge file is required".into(),
        });
    }
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        out.push(parse_file(file, &text)?);
    }
    Ok(out)
}

fn parse_file(file: String, text: &str) -> Result<Loaded, RuleError> {
    let spec: RuleFile = toml::from_str(text).map_err(|e| RuleError::Syntax {
        file: file.clone(),
        message: e.to_string().trim_end().to_string(),
    })?;
    Ok(Loaded { file, spec })
}

pub(crate) fn load(dir: &Path) -> Result<Compiled, RuleError> {
    compile(read_dir(dir)?, &dir.display().to_string())
}

/// As [`load`], from `(file name, contents)` pairs already in memory (the rules
/// built into the binary), in the order given.
pub(crate) fn load_files(files: &[(&str, &str)]) -> Result<Compiled, RuleError> {
    let files = files
        .iter()
        .map(|(name, text)| parse_file(name.to_string(), text))
        .collect::<Result<Vec<_>, _>>()?;
    compile(files, "built-in rules")
}
