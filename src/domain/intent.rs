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
//!
//! # Where the pieces are
//!
//! This file holds the answer's types and the [`Classifier`]: loading,
//! compiling and the one entry point, [`Classifier::classify`]. The rest
//! follows the path of a message: `scan` finds the rules' evidence (steps 1
//! to 3), `decide` makes the rules' decision (steps 3 to 5), `policy`
//! combines it with the model, and `training` turns the examples into the
//! model and serves cross-validation. Rule files are read and checked in
//! `rules`, examples in `examples`, and the model itself is [`model`].

mod decide;
mod examples;
pub mod model;
mod policy;
mod rules;
mod scan;
mod training;

pub use examples::{Examples, Labelled};
pub use model::{Model, Params as ModelParams, Row};
pub use policy::Policy;
pub use rules::{FaqEntry, RuleError};

use crate::domain::location::{self, Location};
use crate::domain::text::normalize_into;
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;
use rules::{Compiled, Cond};
use scan::Hits;
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
    /// A sign the writer is at the end of their patience (`[[mood]]` rules):
    /// the label staff read on the ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upset: Option<String>,
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
            let mut answer = if self.policy.use_model {
                let mut features = std::mem::take(&mut hits.features);
                features.fill(&norm);
                let answer = self.combine(model, &norm, hits, &features, answer, side);
                hits.features = features;
                answer
            } else {
                answer
            };
            answer.upset = self.mood(&norm, hits);
            hits.norm = norm;
            answer
        };
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut hits) => run(&mut hits),
            Err(_) => run(&mut Hits::new()),
        })
    }
}

/// How `examples_origin` names the examples built into the binary.
const BUILTIN_EXAMPLES: &str = "built-in examples";
