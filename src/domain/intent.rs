//! Intent classification: keyword rules kept as data (`intents/*.toml`) and a
//! statistical model trained from labelled examples (`intents/examples/*.jsonl`)
//! when the rules are loaded.
//!
//! Property staff, not programmers, maintain both: a company adds a word, a
//! rule or a whole category by editing a TOML file, or a labelled message by
//! adding a JSONL line, and the loader refuses a bad edit with an error naming
//! file, rule (or row) and reason. The rules are exact and explainable (the
//! rule id and keywords are reported in [`Classification`]); the model
//! ([`model`]: hashed character n-grams, softmax regression) carries over to
//! wording nobody wrote a rule for.
//!
//! # One decision from both
//!
//! Rules first; the model where they are silent or weak ([`Policy`] holds the
//! thresholds, chosen by 5-fold cross-validation, which `guanjia intents test`
//! prints):
//! - **An explicit rule that fired decides** the intent; the model never
//!   overrules it (it only names a category the rule had to fall back on).
//! - **A veto keeps its clause**: where a veto silenced the message, the model
//!   does not reopen it.
//! - **Emergency is raised by either side**: a rule's emergency stands; the
//!   model raises one at or above `emergency_floor`, over any rule or veto,
//!   except a veto that `denies_emergency` (a drill, the news, another estate).
//! - **Where only a `generic = true` rule fired** (a question word, "broken"
//!   with no thing named), the model overrules it at or above
//!   `generic_threshold`.
//! - **Where nothing fired**, the model decides at or above
//!   `silent_threshold`; below it the message stays silent.
//!
//! [`Classification::decided_by`] says which side decided (the rule id, or
//! the model with its probability), and [`Classification::model`] gives the
//! model's own best guess either way.
//!
//! # How the rules classify a message
//!
//! 1. The text is [`normalize`](crate::domain::text::normalize)d (NFKC, Traditional→Simplified, lower case,
//!    punctuation/emoji → one space). Rule keywords were normalised the same
//!    way at load, so `電梯壞了`, `电梯坏了` and `電梯壞咗` meet the same words.
//! 2. One aho-corasick scan (`MatchKind::Standard`, overlapping) finds every
//!    keyword of every rule at once. A keyword listed under `[negation]` is
//!    dropped when a negator (没/不/没有…) stands just before it
//!    (`没有冒烟`, `不漏了`).
//! 3. A rule fires when each of its conditions holds (`any`: one of the words;
//!    each `all` group: one of its words; `patterns`: a regex) and none of its
//!    `unless` words appears. A `[[veto]]` that fires (news about another
//!    estate, adverts, "已经修好了") silences the intents it `blocks`, but
//!    only as far as it explains the message:
//!    - The message is cut into [clauses](crate::domain::text::clauses) at
//!      sentence marks. By default a veto takes away from the blocked intents
//!      the evidence (keyword matches, regex text) in the clauses its own
//!      words are in; their rules still see every other clause.
//!    - `scope = "message"`: the veto explains the whole message ("厨房漏水,
//!      已经修好了"), so the blocked intents are silenced everywhere, except
//!      that an emergency in another clause is still heard.
//!    - `denies_emergency = true` (with `scope = "message"`): the words say
//!      the danger itself is not real or not here (a drill, the news, another
//!      estate), so emergencies in every clause are silenced too.
//!    - Vetoes do not see phone numbers: a callback number under "电梯困人了"
//!      is not an advert (the loader also refuses phone-shaped veto words).
//!
//!    Each intent's rules then run on their own view of the message. Most
//!    messages fire no veto and take a fast path with one view.
//! 4. Among the surviving rules the winner is the one with the highest
//!    **intent precedence** (emergency > complaint > repair > inquiry >
//!    suggestion > other), then the highest `priority`, then the most
//!    conditions (the more specific rule), then the earliest in file order.
//! 5. Category: the winner's `category`; otherwise the category of the best
//!    surviving rule that names one (so a generic "修了三次还坏" complaint takes
//!    the category of the repair rule that saw the broken lift); otherwise the
//!    category whose keywords best match (`priority`, then number of keyword
//!    characters matched); otherwise the rule's `fallback_category`.
//!    The FAQ topic of an inquiry is found the same way from `faq.toml`.
//!
//! Tie-breaking example: "电梯又坏了, 修了三次还坏, 物业到底管不管" fires
//! `repair.toml: elevator` (repair, elevator) and, in `complaint.toml`,
//! `repeated_failure` ("又坏"), `repeated_count` ("三次") and `angry`
//! ("管不管"), none naming a category. Complaint outranks repair, so the
//! intent is complaint; the complaint rules have equal priority and
//! `repeated_count` wins by having more conditions (a keyword and a
//! pattern). It names no category, so the message borrows `elevator` from
//! the repair rule.

mod examples;
pub mod model;
mod rules;

pub use examples::{Examples, Labelled};
pub use model::{Model, Params as ModelParams, Row};
pub use rules::{FaqEntry, RuleError};

use model::Features;

use crate::domain::location::{self, Location};
use crate::domain::text::{self, normalize_into};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;
use rules::{Compiled, Cond, Matcher, Scope, Veto};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What the desk should do with a message, in order of precedence
/// (`Ord` follows it: `Emergency < Complaint < … < Other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Intent {
    Emergency,
    Complaint,
    Repair,
    Inquiry,
    Suggestion,
    Other,
}

impl Intent {
    /// Every intent, in precedence order (emergency first).
    pub const ALL: [Intent; 6] = [
        Intent::Emergency,
        Intent::Complaint,
        Intent::Repair,
        Intent::Inquiry,
        Intent::Suggestion,
        Intent::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Emergency => "emergency",
            Intent::Complaint => "complaint",
            Intent::Repair => "repair",
            Intent::Inquiry => "inquiry",
            Intent::Suggestion => "suggestion",
            Intent::Other => "other",
        }
    }

    /// 0 for emergency … 5 for other; lower wins.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// Intents that open a ticket and so carry a category.
    pub fn has_category(self) -> bool {
        matches!(self, Intent::Emergency | Intent::Complaint | Intent::Repair)
    }
}

impl std::str::FromStr for Intent {
    type Err = String;

    /// The id (`repair`) or the word staff use (报修, 投诉, 紧急, 咨询, 建议, 其他).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Intent::ALL
            .into_iter()
            .find(|i| i.as_str().eq_ignore_ascii_case(s))
            .or(match s {
                "紧急" | "急" => Some(Intent::Emergency),
                "投诉" => Some(Intent::Complaint),
                "报修" | "维修" => Some(Intent::Repair),
                "咨询" | "问题" | "提问" => Some(Intent::Inquiry),
                "建议" => Some(Intent::Suggestion),
                "其他" | "闲聊" | "忽略" => Some(Intent::Other),
                _ => None,
            })
            .ok_or_else(|| format!("'{s}' 不是意图(可用:报修 投诉 紧急 咨询 建议 其他)"))
    }
}

impl std::fmt::Display for Intent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A supply the message says is off or out, so the daemon can answer with a
/// known planned outage instead of opening a repair ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Utility {
    Water,
    Power,
    Gas,
}

/// The classifier's answer for one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub intent: Intent,
    pub category: Option<String>,
    pub faq: Option<String>,
    pub location: Option<Location>,
    pub utility: Option<Utility>,
    /// Id of the rule that decided the intent; for silence, `veto:<id>` when a
    /// veto fired, else `None`.
    pub rule: Option<String>,
    /// Keywords of the deciding rule found in the message.
    pub keywords: Vec<String>,
    /// Which side decided the intent.
    pub decided_by: Decided,
    /// The model's own best intent and its probability, whoever decided
    /// (for staff reading `guanjia classify`, and for a desk that wants to
    /// know how sure the answer was).
    pub model: Option<Guess>,
}

/// Which side of the classifier decided a message's intent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "side", rename_all = "lowercase")]
pub enum Decided {
    /// A rule (its id), or a veto (`veto:<id>`) that kept the desk silent.
    Rule { id: String },
    /// The model, with its probability for the intent it chose.
    Model { probability: f32 },
    /// No rule fired and the model was not sure of anything: silence.
    None,
}

/// The model's best intent for a message.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Guess {
    pub intent: Intent,
    /// Rounded to three decimals.
    pub probability: f32,
}

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
struct RuleSide {
    /// A rule fired and it was not `generic`.
    explicit: bool,
    /// The best rule that fired is `generic`.
    generic: bool,
    /// A veto fired and nothing survived it.
    vetoed: bool,
    /// A fired veto `denies_emergency`: the model may not raise one either.
    denies_emergency: bool,
    /// The category came from a rule that names it (not from keywords or
    /// a fallback).
    category_named: bool,
    /// The category came from a rule or from category keywords.
    category_from_words: bool,
    /// The FAQ topic came from the rule itself.
    faq_named: bool,
}

impl Classification {
    /// Did anything explain the message: an intent, or a rule (a chatter rule,
    /// a veto) that says why it is nothing for the desk? The model's "other" does
    /// not count: it learned chatter between neighbours, and a message said to
    /// the desk that no rule places deserves a person.
    pub fn is_explained(&self) -> bool {
        self.intent != Intent::Other || self.rule.is_some()
    }
}

/// Compiled rules plus the matcher built over all their keywords.
#[derive(Debug)]
pub struct Classifier {
    c: Compiled,
    ac: Option<AhoCorasick>,
    /// Compiled once; each is run at most once per message, and only when a
    /// rule's keyword conditions already hold.
    patterns: Vec<Regex>,
    /// Rules indexed by the first keyword group they need, so a message only
    /// evaluates rules that can possibly fire.
    group_trigger: Vec<Vec<u32>>,
    /// Rules whose first condition is a regex (evaluated for every message).
    pattern_first: Vec<u32>,
    /// `c.term_groups` flattened (term `t` owns
    /// `group_ids[group_start[t]..group_start[t + 1]]`): marking a matched
    /// term's groups is the scan's inner loop, and one contiguous array
    /// costs fewer cache misses than a `Vec` per term.
    group_start: Vec<u32>,
    group_ids: Vec<u32>,
    /// Trained from the examples at load.
    model: Model,
    policy: Policy,
    /// Where the examples came from (a directory, or "built-in").
    examples_origin: String,
    /// The examples the model was trained on, for `intents test`.
    examples: Examples,
}

/// Per-message scratch: which terms and groups matched, and lazily the regex set.
struct Hits {
    groups: Vec<u64>,
    /// Matched term ids in text order (no duplicates).
    terms: Vec<u32>,
    /// Every kept occurrence: (term, start byte, end byte).
    occ: Vec<(u32, usize, usize)>,
    /// Per pattern: 0 = not run yet, 1 = no match, 2 = match.
    patterns: Vec<u8>,
    /// The normalised message, kept here so its buffer is reused.
    norm: String,
    /// Rules that fired (buffer reused across messages).
    survivors: Vec<u32>,
    /// For a view with parts of the message taken out (a vetoed clause, a
    /// phone number): the message with those parts blanked, byte offsets
    /// kept, for the regexes to run on. `None`: the message itself.
    masked: Option<String>,
    /// The model's features of the message (buffer reused).
    features: Features,
}

impl Hits {
    const fn new() -> Self {
        Hits {
            groups: Vec::new(),
            terms: Vec::new(),
            occ: Vec::new(),
            patterns: Vec::new(),
            norm: String::new(),
            survivors: Vec::new(),
            masked: None,
            features: Features::empty(),
        }
    }

    fn group(&self, g: u32) -> bool {
        self.groups[(g / 64) as usize] & (1 << (g % 64)) != 0
    }
}

impl Classifier {
    /// Loads and validates every `*.toml` in `dir` (which must hold `faq.toml`)
    /// and trains the model on `dir/examples/*.jsonl` (the built-in examples
    /// when that folder does not exist).
    pub fn load(dir: &Path) -> Result<Classifier, RuleError> {
        let compiled = rules::load(dir)?;
        let examples_dir = dir.join("examples");
        let (examples, origin) = match Examples::load(&examples_dir)? {
            Some(e) => (e, examples_dir.display().to_string()),
            None => (Examples::builtin()?, BUILTIN_EXAMPLES.to_string()),
        };
        Self::compile(compiled, &dir.display().to_string(), &examples, origin)
    }

    /// As [`load`](Self::load), from `(file name, contents)` pairs in memory, e.g.
    /// [`builtin::rule_files`](crate::domain::builtin::rule_files), with the
    /// built-in examples.
    pub fn from_files(files: &[(&str, &str)]) -> Result<Classifier, RuleError> {
        Self::compile(
            rules::load_files(files)?,
            "built-in rules",
            &Examples::builtin()?,
            BUILTIN_EXAMPLES.to_string(),
        )
    }

    /// The same rules with the model trained on `examples` instead.
    pub fn with_examples(mut self, examples: &Examples, origin: &str) -> Result<Self, RuleError> {
        let rows = self.training_rows(examples)?;
        self.model = self.train(&rows.iter().collect::<Vec<_>>());
        self.examples_origin = origin.to_string();
        self.examples = examples.clone();
        Ok(self)
    }

    /// The same classifier deciding with other thresholds.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    pub fn policy(&self) -> Policy {
        self.policy
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

    fn compile(
        c: Compiled,
        origin: &str,
        examples: &Examples,
        examples_origin: String,
    ) -> Result<Classifier, RuleError> {
        let ac = if c.terms.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .build(&c.terms)
                    .map_err(|e| RuleError::File {
                        file: origin.to_string(),
                        reason: format!("keyword matcher: {e}"),
                    })?,
            )
        };
        let patterns = c
            .patterns
            .iter()
            .map(|p| Regex::new(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RuleError::File {
                file: origin.to_string(),
                reason: format!("pattern: {e}"),
            })?;
        let mut group_trigger = vec![Vec::new(); c.group_count];
        let mut pattern_first = Vec::new();
        for (i, r) in c.rules.iter().enumerate() {
            match r.when.conds.first() {
                Some(Cond::Group(g)) => group_trigger[*g as usize].push(i as u32),
                _ => pattern_first.push(i as u32),
            }
        }
        let mut group_start = Vec::with_capacity(c.terms.len() + 1);
        let mut group_ids = Vec::new();
        for groups in &c.term_groups {
            group_start.push(group_ids.len() as u32);
            group_ids.extend_from_slice(groups);
        }
        group_start.push(group_ids.len() as u32);
        let mut classifier = Classifier {
            c,
            ac,
            patterns,
            group_trigger,
            pattern_first,
            group_start,
            group_ids,
            model: Model::train(&[], 0, 0, &ModelParams::default()),
            policy: Policy::default(),
            examples_origin: String::new(),
            examples: Examples::default(),
        };
        classifier = classifier.with_examples(examples, &examples_origin)?;
        Ok(classifier)
    }

    /// Category ids in definition order.
    pub fn categories(&self) -> impl Iterator<Item = &str> {
        self.c.categories.iter().map(|c| c.id.as_str())
    }

    /// Chinese label of a category (`plumbing` → `水管/漏水`).
    pub fn category_label(&self, id: &str) -> Option<&str> {
        self.c
            .categories
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.label.as_str())
    }

    pub fn faq_entry(&self, id: &str) -> Option<&FaqEntry> {
        self.c.faqs.iter().find(|q| q.id == id)
    }

    pub fn faq_entries(&self) -> impl Iterator<Item = &FaqEntry> {
        self.c.faqs.iter()
    }

    /// The number of distinct keywords the matcher scans for.
    pub fn keyword_count(&self) -> usize {
        self.c.terms.len()
    }

    /// All normalised keywords (for baselines and tooling).
    pub fn keywords(&self) -> impl Iterator<Item = &str> {
        self.c.terms.iter().map(String::as_str)
    }

    pub fn classify(&self, text: &str) -> Classification {
        self.classify_with(&self.model, text)
    }

    /// As [`classify`](Self::classify), with another model (cross-validation).
    pub fn classify_with(&self, model: &Model, text: &str) -> Classification {
        // Reuse one scratch per thread (normalised text included) so a
        // message costs no allocations beyond the answer itself.
        thread_local! {
            static SCRATCH: std::cell::RefCell<Hits> = const { std::cell::RefCell::new(Hits::new()) };
        }
        let run = |hits: &mut Hits| {
            let mut norm = std::mem::take(&mut hits.norm);
            let maybe_address = normalize_into(text, &mut norm);
            let location = if maybe_address {
                location::extract(&norm)
            } else {
                None
            };
            self.scan(&norm, hits);
            let (answer, side) = self.decide(&norm, hits, location);
            if !self.policy.use_model {
                hits.norm = norm;
                return answer;
            }
            let mut features = std::mem::take(&mut hits.features);
            features.fill(&norm);
            let answer = self.combine(model, &norm, hits, &features, answer, side);
            hits.features = features;
            hits.norm = norm;
            answer
        };
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut hits) => run(&mut hits),
            Err(_) => run(&mut Hits::new()),
        })
    }

    /// True when a negator ends at most `window` characters before `start`,
    /// with no space in between ("没有冒烟", "不太漏").
    fn negated(&self, text: &str, start: usize) -> bool {
        let before = &text[..start];
        let mut end = before.len();
        for _ in 0..=self.c.negation_window {
            let head = &before[..end];
            if let Some(n) = self.c.negators.iter().find(|n| head.ends_with(n.as_str())) {
                // "不停漏水", "是不是漏了": the negator is part of a word
                // that does not negate.
                let at = end - n.len();
                return !self.c.negation_except.iter().any(|e| {
                    e.match_indices(n.as_str()).any(|(k, _)| {
                        at >= k
                            && text.is_char_boundary(at - k)
                            && text[at - k..].starts_with(e.as_str())
                    })
                });
            }
            match head.chars().next_back() {
                Some(c) if c != ' ' => end -= c.len_utf8(),
                _ => return false,
            }
        }
        false
    }

    fn scan(&self, norm: &str, hits: &mut Hits) {
        hits.groups.clear();
        hits.groups.resize(self.c.group_count.div_ceil(64), 0);
        hits.terms.clear();
        hits.occ.clear();
        hits.patterns.clear();
        let Some(ac) = &self.ac else { return };
        for m in ac.find_overlapping_iter(norm) {
            let t = m.pattern().as_u32();
            if self.c.term_negatable[t as usize] && self.negated(norm, m.start()) {
                continue;
            }
            hits.occ.push((t, m.start(), m.end()));
        }
        // A mask word hides the words inside it ("自来水" is not "来水").
        if hits.occ.iter().any(|&(t, ..)| self.c.term_mask[t as usize]) {
            let masks: Vec<(usize, usize)> = hits
                .occ
                .iter()
                .filter(|&&(t, ..)| self.c.term_mask[t as usize])
                .map(|&(_, s, e)| (s, e))
                .collect();
            hits.occ.retain(|&(t, s, e)| {
                self.c.term_mask[t as usize] || !masks.iter().any(|&(ms, me)| ms <= s && e <= me)
            });
        }
        self.mark(hits);
    }

    /// Fills `terms` and `groups` from the kept occurrences.
    fn mark(&self, hits: &mut Hits) {
        for i in 0..hits.occ.len() {
            let t = hits.occ[i].0;
            if hits.terms.contains(&t) {
                continue;
            }
            hits.terms.push(t);
            let (from, to) = (
                self.group_start[t as usize] as usize,
                self.group_start[t as usize + 1] as usize,
            );
            for &g in &self.group_ids[from..to] {
                hits.groups[(g / 64) as usize] |= 1 << (g % 64);
            }
        }
    }

    /// The evidence of `base` without what lies in `out` (byte ranges of
    /// `norm`): keyword occurrences overlapping them are dropped, and the
    /// regexes see the message with them blanked.
    fn view(&self, norm: &str, base: &Hits, out: &[(usize, usize)]) -> Hits {
        let overlaps = |s: usize, e: usize| out.iter().any(|&(a, b)| s < b && a < e);
        let mut hits = Hits::new();
        hits.groups.resize(self.c.group_count.div_ceil(64), 0);
        hits.occ = base
            .occ
            .iter()
            .copied()
            .filter(|&(_, s, e)| !overlaps(s, e))
            .collect();
        self.mark(&mut hits);
        hits.masked = base.masked.clone();
        if !out.is_empty() {
            let text = base.masked.as_deref().unwrap_or(norm);
            let mut masked = String::with_capacity(text.len());
            for (i, c) in text.char_indices() {
                if overlaps(i, i + c.len_utf8()) {
                    // Same byte length, so offsets in `norm` stay valid.
                    masked.extend(std::iter::repeat_n(' ', c.len_utf8()));
                } else {
                    masked.push(c);
                }
            }
            hits.masked = Some(masked);
        }
        hits
    }

    /// `near`: some word of the first group lies within `max` characters of
    /// a word of every other group.
    fn near(&self, norm: &str, hits: &Hits, m: &Matcher, max: usize) -> bool {
        let mut groups = m.conds.iter().filter_map(|c| {
            if let Cond::Group(g) = c {
                Some(*g)
            } else {
                None
            }
        });
        let Some(first) = groups.next() else {
            return true;
        };
        let in_group = |t: u32, g: u32| self.c.term_groups[t as usize].binary_search(&g).is_ok();
        hits.occ
            .iter()
            .filter(|&&(t, ..)| in_group(t, first))
            .any(|&(_, s0, e0)| {
                groups.clone().all(|g| {
                    hits.occ
                        .iter()
                        .filter(|&&(t, ..)| in_group(t, g))
                        .any(|&(_, s, e)| {
                            let gap = if s >= e0 {
                                &norm[e0..s]
                            } else if s0 >= e {
                                &norm[e..s0]
                            } else {
                                ""
                            };
                            gap.chars().count() <= max
                        })
                })
            })
    }

    /// Runs pattern `p` at most once per message (the answer is memoised).
    /// Kept out of line: the keyword checks around it are the hot path.
    #[inline(never)]
    fn pattern(&self, norm: &str, hits: &mut Hits, p: u32) -> bool {
        let p = p as usize;
        if hits.patterns.is_empty() {
            // `scan` cleared it; `resize` reuses the buffer.
            hits.patterns.resize(self.patterns.len(), 0);
        }
        if hits.patterns[p] == 0 {
            let text = hits.masked.as_deref().unwrap_or(norm);
            hits.patterns[p] = if self.patterns[p].is_match(text) {
                2
            } else {
                1
            };
        }
        hits.patterns[p] == 2
    }

    /// Whether a matcher fires. Conditions are pure, so they are checked
    /// cheapest first: keyword groups (a bit test), then `unless` groups,
    /// and only then the regexes, which most messages never reach.
    #[inline]
    fn fires(&self, norm: &str, hits: &mut Hits, m: &Matcher) -> bool {
        for &c in &m.conds {
            if let Cond::Group(g) = c
                && !hits.group(g)
            {
                return false;
            }
        }
        for &c in &m.unless {
            if let Cond::Group(g) = c
                && hits.group(g)
            {
                return false;
            }
        }
        for &c in &m.conds {
            if let Cond::Pattern(p) = c
                && !self.pattern(norm, hits, p)
            {
                return false;
            }
        }
        for &c in &m.unless {
            if let Cond::Pattern(p) = c
                && self.pattern(norm, hits, p)
            {
                return false;
            }
        }
        true
    }

    /// Byte ranges of the clauses of `norm` that hold evidence for the
    /// conditions `conds` (keyword occurrences of their groups, matches of
    /// their regexes).
    fn evidence_clauses(&self, norm: &str, hits: &Hits, conds: &[Cond]) -> Vec<(usize, usize)> {
        let mut at = Vec::new();
        for c in conds {
            match *c {
                Cond::Group(g) => at.extend(
                    hits.occ
                        .iter()
                        .filter(|&&(t, ..)| {
                            self.c.term_groups[t as usize].binary_search(&g).is_ok()
                        })
                        .map(|&(_, s, e)| (s, e)),
                ),
                Cond::Pattern(p) => {
                    let text = hits.masked.as_deref().unwrap_or(norm);
                    at.extend(
                        self.patterns[p as usize]
                            .find_iter(text)
                            .map(|m| (m.start(), m.end())),
                    );
                }
            }
        }
        text::clauses(norm)
            .into_iter()
            .filter(|&(cs, ce)| at.iter().any(|&(s, e)| s < ce && cs < e))
            .collect()
    }

    /// Sort key of a surviving rule: larger is better.
    fn key(&self, r: u32) -> (i8, i32, usize, i64) {
        let rule = &self.c.rules[r as usize];
        (
            -(rule.intent.rank() as i8),
            rule.priority,
            rule.when.conds.len(),
            -(r as i64),
        )
    }

    /// Adds to `survivors` every rule of an intent in `intents` (bit
    /// `Intent::rank()`) that fires on `hits`.
    fn collect(&self, norm: &str, hits: &mut Hits, intents: u8, survivors: &mut Vec<u32>) {
        let mut consider = |r: u32, hits: &mut Hits| {
            let rule = &self.c.rules[r as usize];
            if intents & (1 << rule.intent.rank()) != 0
                && self.fires(norm, hits, &rule.when)
                && rule
                    .near
                    .is_none_or(|max| self.near(norm, hits, &rule.when, max))
            {
                survivors.push(r);
            }
        };
        // Each satisfied group once: its bit is visited exactly once.
        for word in 0..hits.groups.len() {
            let mut bits = hits.groups[word];
            while bits != 0 {
                let g = word * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                for &r in &self.group_trigger[g] {
                    consider(r, hits);
                }
            }
        }
        for &r in &self.pattern_first {
            consider(r, hits);
        }
    }

    fn decide(
        &self,
        norm: &str,
        hits: &mut Hits,
        location: Option<Location>,
    ) -> (Classification, RuleSide) {
        let mut survivors = std::mem::take(&mut hits.survivors);
        survivors.clear();
        // Most messages fire no veto: one view, the whole message.
        if !self
            .c
            .vetoes
            .iter()
            .any(|v| self.fires(norm, hits, &v.when))
        {
            self.collect(norm, hits, ALL_INTENTS, &mut survivors);
            let answer = self.answer(norm, hits, &survivors, location, None);
            hits.survivors = survivors;
            return answer;
        }
        let answer = self.decide_vetoed(norm, hits, &mut survivors, location);
        hits.survivors = survivors;
        answer
    }

    /// The vetoes that fire, each with the clauses that hold its evidence.
    /// A phone number is never evidence against a report, so the vetoes
    /// look at the message with its phone numbers taken out.
    fn fired_vetoes(&self, norm: &str, hits: &mut Hits) -> Vec<(&Veto, Vec<(usize, usize)>)> {
        let phones = text::phone_spans(norm);
        let mut without_phones;
        let vh = if phones.is_empty() {
            hits
        } else {
            without_phones = self.view(norm, hits, &phones);
            &mut without_phones
        };
        let mut fired = Vec::new();
        for v in &self.c.vetoes {
            if !self.fires(norm, vh, &v.when) {
                continue;
            }
            let at = self.evidence_clauses(norm, vh, &v.when.conds);
            fired.push((v, at));
        }
        fired
    }

    /// A message where some veto fired: each intent's rules see the
    /// message without the clauses a veto took from that intent (see the
    /// module docs, step 3).
    fn decide_vetoed(
        &self,
        norm: &str,
        hits: &mut Hits,
        survivors: &mut Vec<u32>,
        location: Option<Location>,
    ) -> (Classification, RuleSide) {
        let fired = self.fired_vetoes(norm, hits);
        let denies_emergency = fired.iter().any(|(v, _)| v.denies_emergency);
        // Per intent rank: silenced everywhere, or the clauses taken out.
        let mut everywhere = 0u8;
        let mut taken: [Vec<(usize, usize)>; 6] = Default::default();
        for (v, own) in &fired {
            for intent in INTENTS {
                let bit = 1 << intent.rank();
                if v.blocks & bit == 0 {
                    continue;
                }
                let whole = v.scope == Scope::Message
                    && (intent != Intent::Emergency || v.denies_emergency);
                if whole {
                    everywhere |= bit;
                } else {
                    taken[intent.rank() as usize].extend_from_slice(own);
                }
            }
        }
        // Intents that lose the same clauses share one view.
        let mut views: Vec<(Vec<(usize, usize)>, u8)> = Vec::new();
        for intent in INTENTS {
            let bit = 1 << intent.rank();
            if everywhere & bit != 0 {
                continue;
            }
            let mut out = std::mem::take(&mut taken[intent.rank() as usize]);
            out.sort_unstable();
            out.dedup();
            match views.iter_mut().find(|(o, _)| *o == out) {
                Some((_, intents)) => *intents |= bit,
                None => views.push((out, bit)),
            }
        }
        let mut seen: Vec<Hits> = Vec::with_capacity(views.len());
        let mut from_view: Vec<usize> = Vec::new();
        for (i, (out, intents)) in views.iter().enumerate() {
            // Each view has scratch of its own: `hits` keeps the whole
            // message's evidence for the next views.
            let mut view = self.view(norm, hits, out);
            let before = survivors.len();
            self.collect(norm, &mut view, *intents, survivors);
            from_view.resize(from_view.len() + survivors.len() - before, i);
            seen.push(view);
        }
        let winner = survivors
            .iter()
            .zip(&from_view)
            .max_by_key(|&(&r, _)| self.key(r))
            .map(|(_, &v)| v);
        let (answer, mut side) = match winner {
            Some(v) => self.answer(norm, &mut seen[v], survivors, location, None),
            None => self.answer(
                norm,
                hits,
                survivors,
                location,
                fired.first().map(|(v, _)| v.id.as_str()),
            ),
        };
        side.denies_emergency = denies_emergency;
        (answer, side)
    }

    /// Builds the answer from the rules that fired (`survivors`) and the
    /// evidence the winner saw (`hits`). `veto` names the veto that spoke
    /// when nothing fired.
    fn answer(
        &self,
        norm: &str,
        hits: &mut Hits,
        survivors: &[u32],
        location: Option<Location>,
        veto: Option<&str>,
    ) -> (Classification, RuleSide) {
        let winner = survivors.iter().copied().max_by_key(|&r| self.key(r));
        let Some(w) = winner else {
            // Silence; name the veto if one spoke, so staff can see why.
            let rule = veto.map(|id| format!("veto:{id}"));
            let side = RuleSide {
                vetoed: rule.is_some(),
                ..RuleSide::default()
            };
            let decided_by = match &rule {
                Some(id) => Decided::Rule { id: id.clone() },
                None => Decided::None,
            };
            return (
                Classification {
                    intent: Intent::Other,
                    category: None,
                    faq: None,
                    location,
                    utility: None,
                    rule,
                    keywords: Vec::new(),
                    decided_by,
                    model: None,
                },
                side,
            );
        };
        let rule = &self.c.rules[w as usize];
        let intent = rule.intent;
        let mut side = RuleSide {
            explicit: !rule.generic,
            generic: rule.generic,
            ..RuleSide::default()
        };

        let named = rule.category.or_else(|| {
            survivors
                .iter()
                .copied()
                .filter(|&r| {
                    self.c.rules[r as usize].intent.has_category()
                        && self.c.rules[r as usize].category.is_some()
                })
                .max_by_key(|&r| self.key(r))
                .and_then(|r| self.c.rules[r as usize].category)
        });
        let category = if intent.has_category() {
            side.category_named = named.is_some();
            let worded = named.or_else(|| self.best_category(hits));
            side.category_from_words = worded.is_some();
            worded
                .or(rule.fallback_category)
                .map(|c| self.c.categories[c as usize].id.clone())
        } else {
            None
        };
        let faq = if intent == Intent::Inquiry {
            side.faq_named = rule.faq.is_some();
            rule.faq
                .or_else(|| self.best_faq(hits))
                .map(|q| self.c.faqs[q as usize].id.clone())
        } else {
            None
        };
        let utility = self.utility(norm, hits, intent);
        let mut keywords = Vec::new();
        for cond in &rule.when.conds {
            if let Cond::Group(g) = cond {
                // A term belongs to few groups; look there, not in the
                // group's (possibly thousands of) terms.
                for &t in &hits.terms {
                    if self.c.term_groups[t as usize].binary_search(g).is_ok() {
                        keywords.push(self.c.terms[t as usize].clone());
                    }
                }
            }
        }
        (
            Classification {
                intent,
                category,
                faq,
                location,
                utility,
                rule: Some(rule.id.clone()),
                keywords,
                decided_by: Decided::Rule {
                    id: rule.id.clone(),
                },
                model: None,
            },
            side,
        )
    }

    /// The supply a message about `intent` says is off, if any.
    fn utility(&self, norm: &str, hits: &mut Hits, intent: Intent) -> Option<Utility> {
        if matches!(intent, Intent::Other | Intent::Suggestion) {
            return None;
        }
        self.c
            .utilities
            .iter()
            .find(|u| self.fires(norm, hits, &u.when))
            .map(|u| u.utility)
    }

    /// One decision from the rules' answer and the model (module docs,
    /// "One decision from both").
    fn combine(
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
        }
    }

    /// Category whose keywords the message matches best: highest category
    /// `priority`, then most keywords found, then most keyword characters,
    /// then definition order.
    fn best_category(&self, hits: &Hits) -> Option<u16> {
        best_by_keywords(hits, &self.c.terms, &self.c.term_categories, |c| {
            self.c.categories[c as usize].priority
        })
    }

    /// FAQ topic whose keywords the message matches best (same scoring).
    fn best_faq(&self, hits: &Hits) -> Option<u16> {
        best_by_keywords(hits, &self.c.terms, &self.c.term_faqs, |q| {
            self.c.faqs[q as usize].priority
        })
    }
}

fn round3(p: f32) -> f32 {
    (p * 1000.0).round() / 1000.0
}

/// How `examples_origin` names the examples built into the binary.
const BUILTIN_EXAMPLES: &str = "built-in examples";

/// Every intent, in precedence order.
const INTENTS: [Intent; 6] = Intent::ALL;

/// `Intent::rank()` bits of every intent.
const ALL_INTENTS: u8 = 0x3f;

/// Picks the id (category or FAQ topic) whose keywords the matched terms hit
/// best: by `priority`, then number of keywords, then their total length,
/// then the lower id (definition order).
fn best_by_keywords(
    hits: &Hits,
    terms: &[String],
    owners: &[Vec<u16>],
    priority: impl Fn(u16) -> i32,
) -> Option<u16> {
    // (id, count, chars); a handful of entries, so a Vec beats a map.
    let mut score: Vec<(u16, usize, usize)> = Vec::new();
    for &t in &hits.terms {
        for &id in &owners[t as usize] {
            let len = terms[t as usize].chars().count();
            match score.iter_mut().find(|s| s.0 == id) {
                Some(s) => {
                    s.1 += 1;
                    s.2 += len;
                }
                None => score.push((id, 1, len)),
            }
        }
    }
    score
        .into_iter()
        .max_by_key(|&(id, n, len)| (priority(id), n, len, -i32::from(id)))
        .map(|(id, ..)| id)
}
