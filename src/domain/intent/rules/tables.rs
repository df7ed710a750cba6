//! The compiled form of the rule files: everything they say, resolved to
//! indices (terms, keyword groups, patterns, categories, FAQ topics), so the
//! matcher tests bits and indexes arrays instead of comparing strings. Only
//! `compile` builds these tables; the classifier only reads them.

use crate::domain::intent::{Intent, Utility};

/// One FAQ topic: what the desk answers to an inquiry about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaqEntry {
    pub id: String,
    pub title: String,
    /// Answer text with the company placeholders (`{company}`, `{phone}`,
    /// `{desk_hours}`, `{desk_location}`, `{payment_channels}`) left in.
    pub answer: String,
    pub keywords: Vec<String>,
    pub priority: i32,
}

#[derive(Debug, Clone)]
pub(crate) struct Category {
    pub id: String,
    pub label: String,
    pub priority: i32,
}

/// A condition: some term of a group, or a regex of the pattern set.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cond {
    Group(u32),
    Pattern(u32),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Matcher {
    /// All must hold.
    pub conds: Vec<Cond>,
    /// None may hold.
    pub unless: Vec<Cond>,
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub id: String,
    pub intent: Intent,
    pub category: Option<u16>,
    pub fallback_category: Option<u16>,
    pub faq: Option<u16>,
    pub priority: i32,
    pub near: Option<usize>,
    /// Marked `generic = true`: the model may overrule it.
    pub generic: bool,
    pub when: Matcher,
}

/// How much of a message a veto's words explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Only the clauses its words are in ("哈哈", an advert line).
    Clause,
    /// The whole message ("已经修好了" explains the leak reported before
    /// it), except an emergency in another clause unless
    /// `denies_emergency` is set.
    Message,
}

#[derive(Debug, Clone)]
pub(crate) struct Veto {
    pub id: String,
    /// Bit `Intent::rank()` set for every intent this veto silences.
    pub blocks: u8,
    pub scope: Scope,
    /// The veto's words say the danger itself is not real or not here
    /// (a drill, the news, another estate), so it silences emergency
    /// evidence in every clause. Only with `Scope::Message`.
    pub denies_emergency: bool,
    pub when: Matcher,
}

#[derive(Debug, Clone)]
pub(crate) struct UtilityRule {
    pub utility: Utility,
    pub when: Matcher,
}

#[derive(Debug, Clone)]
pub(crate) struct MoodRule {
    pub label: String,
    pub when: Matcher,
}

/// Everything the rule files say, resolved to indices.
#[derive(Debug, Default)]
pub(crate) struct Compiled {
    /// Normalised terms; index = term id = aho-corasick pattern id.
    pub terms: Vec<String>,
    /// Term ids → groups containing them.
    pub term_groups: Vec<Vec<u32>>,
    pub term_negatable: Vec<bool>,
    pub term_mask: Vec<bool>,
    /// Term id → categories / FAQ topics it is a keyword of.
    pub term_categories: Vec<Vec<u16>>,
    pub term_faqs: Vec<Vec<u16>>,
    pub group_count: usize,
    pub patterns: Vec<String>,
    pub negators: Vec<String>,
    pub negation_except: Vec<String>,
    pub negation_window: usize,
    pub categories: Vec<Category>,
    pub faqs: Vec<FaqEntry>,
    pub rules: Vec<Rule>,
    pub vetoes: Vec<Veto>,
    pub utilities: Vec<UtilityRule>,
    pub moods: Vec<MoodRule>,
}
