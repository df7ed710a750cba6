//! Compilation: the parsed rule files checked and resolved into the tables
//! the matcher uses (`tables`). Two passes: first the vocabularies everything
//! else refers to (sets, categories, FAQ topics, negation), then the rules,
//! vetoes and utility detectors that name them. Every check a staff member's
//! edit can fail is here, with an error naming the file, the rule and the
//! reason; the schema stays in the parent module so it reads on one page.

use super::tables::{
    Category, Compiled, Cond, FaqEntry, Matcher, MoodRule, Rule, Scope, UtilityRule, Veto,
};
use super::{Conditions, Loaded, NegationSpec, RuleError};
use crate::domain::intent::{Intent, Utility};
use crate::domain::text::normalize;
use regex::Regex;
use std::collections::{BTreeMap, HashMap};

/// Builds term and group tables while rules are compiled.
#[derive(Default)]
struct Builder {
    c: Compiled,
    term_ids: HashMap<String, u32>,
}

impl Builder {
    /// Interns a keyword in its normalised form. Refuses keywords that
    /// normalise to nothing ("😀") or to a lone ASCII letter or number
    /// ("+1" becomes "1"), which would match nearly every message.
    fn term(&mut self, raw: &str) -> Result<u32, String> {
        let norm = normalize(raw);
        if norm.is_empty() {
            return Err(format!("empty keyword {raw:?}"));
        }
        if norm.chars().all(|c| c.is_ascii_digit())
            || (norm.len() == 1 && norm.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(format!(
                "keyword {raw:?} normalises to {norm:?}, which matches almost anything"
            ));
        }
        if let Some(&id) = self.term_ids.get(&norm) {
            return Ok(id);
        }
        let id = self.c.terms.len() as u32;
        self.c.terms.push(norm.clone());
        self.c.term_groups.push(Vec::new());
        self.c.term_negatable.push(false);
        self.c.term_mask.push(false);
        self.c.term_categories.push(Vec::new());
        self.c.term_faqs.push(Vec::new());
        self.term_ids.insert(norm, id);
        Ok(id)
    }

    fn group(&mut self, terms: &[u32]) -> u32 {
        let g = self.c.group_count as u32;
        self.c.group_count += 1;
        for &t in terms {
            let list = &mut self.c.term_groups[t as usize];
            if list.last() != Some(&g) {
                list.push(g);
            }
        }
        g
    }

    fn pattern(&mut self, p: &str) -> Result<u32, String> {
        Regex::new(p).map_err(|e| format!("bad pattern {p:?}: {e}"))?;
        if let Some(i) = self.c.patterns.iter().position(|q| q == p) {
            return Ok(i as u32);
        }
        self.c.patterns.push(p.to_string());
        Ok(self.c.patterns.len() as u32 - 1)
    }
}

const INTENTS: [Intent; 6] = [
    Intent::Emergency,
    Intent::Complaint,
    Intent::Repair,
    Intent::Inquiry,
    Intent::Suggestion,
    Intent::Other,
];

fn parse_intent(s: &str) -> Option<Intent> {
    INTENTS.iter().copied().find(|i| i.as_str() == s)
}

/// A keyword that is (part of) a phone number: a label followed by a digit
/// ("电话139"), or a run of three or more digits that starts like a mobile,
/// a landline area code or a service number ("138xxxx", "021", "400").
fn looks_like_phone(word: &str) -> bool {
    let labelled = ["电话", "手机", "tel", "phone", "call"].iter().any(|l| {
        word.match_indices(l).any(|(i, _)| {
            word[i + l.len()..]
                .trim_start_matches([':', ' '])
                .starts_with(|c: char| c.is_ascii_digit())
        })
    });
    let b = word.as_bytes();
    let digits = b
        .iter()
        .enumerate()
        .filter(|&(i, c)| c.is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit()))
        .any(|(i, _)| {
            let run = &b[i..];
            let len = run.iter().take_while(|c| c.is_ascii_digit()).count();
            len >= 3
                && (matches!(run, [b'1', b'3'..=b'9', ..])
                    || run[0] == b'0'
                    || run.starts_with(b"400"))
        });
    labelled || digits
}

/// `origin` names the whole set in errors about no file in particular.
pub(super) fn compile(files: Vec<Loaded>, origin: &str) -> Result<Compiled, RuleError> {
    let mut b = Builder::default();

    // Pass 1: vocabularies everything else refers to.
    let mut sets: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let mut category_ids: HashMap<String, u16> = HashMap::new();
    let mut faq_ids: HashMap<String, u16> = HashMap::new();
    let mut category_keywords: Vec<(String, u16, Vec<String>)> = Vec::new();
    let mut negation: Option<(String, &NegationSpec)> = None;
    for f in &files {
        let rule_err = |kind, id: &str, reason: String| RuleError::Rule {
            file: f.file.clone(),
            kind,
            id: id.to_string(),
            reason,
        };
        for (name, words) in &f.spec.sets {
            if let Some((other, _)) = sets.get(name) {
                return Err(rule_err("set", name, format!("already defined in {other}")));
            }
            if let Some(w) = words.iter().find(|w| w.starts_with('$')) {
                return Err(rule_err(
                    "set",
                    name,
                    format!("sets cannot refer to other sets ({w})"),
                ));
            }
            sets.insert(name.clone(), (f.file.clone(), words.clone()));
        }
        for c in &f.spec.categories {
            if category_ids.contains_key(&c.id) {
                return Err(rule_err("category", &c.id, "duplicate category id".into()));
            }
            if c.label.trim().is_empty() {
                return Err(rule_err("category", &c.id, "empty label".into()));
            }
            let idx = b.c.categories.len() as u16;
            category_ids.insert(c.id.clone(), idx);
            b.c.categories.push(Category {
                id: c.id.clone(),
                label: c.label.clone(),
                priority: c.priority,
            });
            category_keywords.push((f.file.clone(), idx, c.keywords.clone()));
        }
        for q in &f.spec.faqs {
            if faq_ids.contains_key(&q.id) {
                return Err(rule_err("faq", &q.id, "duplicate FAQ topic id".into()));
            }
            if q.title.trim().is_empty() || q.answer.trim().is_empty() {
                return Err(rule_err(
                    "faq",
                    &q.id,
                    "title and answer must not be empty".into(),
                ));
            }
            if q.keywords.is_empty() {
                return Err(rule_err("faq", &q.id, "needs at least one keyword".into()));
            }
            faq_ids.insert(q.id.clone(), b.c.faqs.len() as u16);
            b.c.faqs.push(FaqEntry {
                id: q.id.clone(),
                title: q.title.clone(),
                answer: q.answer.clone(),
                keywords: q.keywords.clone(),
                priority: q.priority,
            });
        }
        if let Some(n) = &f.spec.negation {
            if let Some((other, _)) = &negation {
                return Err(RuleError::File {
                    file: f.file.clone(),
                    reason: format!("[negation] already defined in {other}"),
                });
            }
            negation = Some((f.file.clone(), n));
        }
    }
    if b.c.categories.is_empty() {
        return Err(RuleError::File {
            file: origin.to_string(),
            reason: "no [[category]] defined in any rule file".into(),
        });
    }

    // Keyword tables for category and FAQ inference.
    for (file, idx, words) in &category_keywords {
        let id = b.c.categories[*idx as usize].id.clone();
        for w in words {
            let t = b.term(w).map_err(|reason| RuleError::Rule {
                file: file.clone(),
                kind: "category",
                id: id.clone(),
                reason,
            })?;
            b.c.term_categories[t as usize].push(*idx);
        }
    }
    let faq_file = files
        .iter()
        .find(|f| !f.spec.faqs.is_empty())
        .map(|f| f.file.clone())
        .unwrap_or_default();
    for q in 0..b.c.faqs.len() {
        let (id, words) = (b.c.faqs[q].id.clone(), b.c.faqs[q].keywords.clone());
        for w in &words {
            let t = b.term(w).map_err(|reason| RuleError::Rule {
                file: faq_file.clone(),
                kind: "faq",
                id: id.clone(),
                reason,
            })?;
            b.c.term_faqs[t as usize].push(q as u16);
        }
    }

    // Expands one word list (with `$set` references) into term ids.
    let expand = |b: &mut Builder, words: &[String]| -> Result<Vec<u32>, String> {
        let mut ids = Vec::new();
        for w in words {
            if let Some(name) = w.strip_prefix('$') {
                let list: Vec<String> = match name {
                    "faq" => b.c.faqs.iter().flat_map(|q| q.keywords.clone()).collect(),
                    "category" => category_keywords
                        .iter()
                        .flat_map(|(_, _, k)| k.clone())
                        .collect(),
                    _ => sets
                        .get(name)
                        .map(|(_, w)| w.clone())
                        .ok_or_else(|| format!("unknown set {w:?}"))?,
                };
                for x in &list {
                    ids.push(b.term(x).map_err(|e| format!("in set {w}: {e}"))?);
                }
            } else {
                ids.push(b.term(w)?);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    };

    if let Some((file, n)) = negation {
        let err = |reason: String| RuleError::File {
            file: file.clone(),
            reason: format!("[negation]: {reason}"),
        };
        for w in &n.words {
            let norm = normalize(w);
            if norm.is_empty() {
                return Err(err(format!("empty negation word {w:?}")));
            }
            b.c.negators.push(norm);
        }
        for t in expand(&mut b, &n.terms).map_err(err)? {
            b.c.term_negatable[t as usize] = true;
        }
        for w in &n.except {
            let norm = normalize(w);
            if norm.is_empty() {
                return Err(err(format!("empty exception {w:?}")));
            }
            b.c.negation_except.push(norm);
        }
        b.c.negation_window = n.window;
    }

    let matcher = |b: &mut Builder, w: &Conditions| -> Result<Matcher, String> {
        let mut m = Matcher::default();
        if !w.any.is_empty() {
            let terms = expand(b, &w.any)?;
            m.conds.push(Cond::Group(b.group(&terms)));
        }
        for group in &w.all {
            if group.is_empty() {
                return Err("empty group in `all`".into());
            }
            let terms = expand(b, group)?;
            m.conds.push(Cond::Group(b.group(&terms)));
        }
        for p in &w.patterns {
            m.conds.push(Cond::Pattern(b.pattern(p)?));
        }
        if m.conds.is_empty() {
            return Err("no condition: give `any`, `all` or `patterns`".into());
        }
        if !w.unless.is_empty() {
            let terms = expand(b, &w.unless)?;
            m.unless.push(Cond::Group(b.group(&terms)));
        }
        for p in &w.unless_patterns {
            m.unless.push(Cond::Pattern(b.pattern(p)?));
        }
        Ok(m)
    };

    for f in &files {
        for w in &f.spec.masks {
            let t = b.term(w).map_err(|reason| RuleError::File {
                file: f.file.clone(),
                reason: format!("masks: {reason}"),
            })?;
            b.c.term_mask[t as usize] = true;
        }
    }

    // Pass 2: rules, vetoes and utility detectors.
    let mut rule_files: HashMap<String, String> = HashMap::new();
    let mut veto_ids: HashMap<String, String> = HashMap::new();
    for f in &files {
        let rule_err = |kind, id: &str, reason: String| RuleError::Rule {
            file: f.file.clone(),
            kind,
            id: id.to_string(),
            reason,
        };
        let file_intent = match &f.spec.intent {
            Some(s) => Some(parse_intent(s).ok_or_else(|| RuleError::File {
                file: f.file.clone(),
                reason: format!("unknown intent {s:?} (expected one of emergency, complaint, repair, inquiry, suggestion, other)"),
            })?),
            None => None,
        };
        for r in &f.spec.rules {
            let err = |reason: String| rule_err("rule", &r.id, reason);
            if r.id.trim().is_empty() {
                return Err(err("empty rule id".into()));
            }
            if let Some(other) = rule_files.insert(r.id.clone(), f.file.clone()) {
                return Err(err(format!("duplicate rule id (also in {other})")));
            }
            let intent = match (&r.intent, file_intent) {
                (Some(s), _) => {
                    parse_intent(s).ok_or_else(|| err(format!("unknown intent {s:?}")))?
                }
                (None, Some(i)) => i,
                (None, None) => {
                    return Err(err(
                        "no intent: set `intent` on the rule or at the top of the file".into(),
                    ));
                }
            };
            let cat = |name: &Option<String>| -> Result<Option<u16>, RuleError> {
                match name {
                    None => Ok(None),
                    Some(c) => category_ids
                        .get(c)
                        .copied()
                        .map(Some)
                        .ok_or_else(|| err(format!("unknown category {c:?}"))),
                }
            };
            let category = cat(&r.category)?;
            let fallback_category = cat(&r.fallback_category)?;
            let faq = match &r.faq {
                None => None,
                Some(q) => Some(
                    faq_ids
                        .get(q)
                        .copied()
                        .ok_or_else(|| err(format!("unknown FAQ topic {q:?}")))?,
                ),
            };
            if (category.is_some() || fallback_category.is_some()) && !intent.has_category() {
                return Err(err(format!("intent {} takes no category", intent.as_str())));
            }
            if faq.is_some() && intent != Intent::Inquiry {
                return Err(err("only inquiry rules take a `faq` topic".into()));
            }
            let when = matcher(&mut b, &r.when).map_err(err)?;
            if r.near.is_some() && when.conds.len() < 2 {
                return Err(err("`near` needs at least two conditions".into()));
            }
            b.c.rules.push(Rule {
                id: r.id.clone(),
                intent,
                category,
                fallback_category,
                faq,
                priority: r.priority,
                near: r.near,
                generic: r.generic,
                when,
            });
        }
        for v in &f.spec.vetoes {
            let err = |reason: String| rule_err("veto", &v.id, reason);
            if let Some(other) = veto_ids.insert(v.id.clone(), f.file.clone()) {
                return Err(err(format!("duplicate veto id (also in {other})")));
            }
            let mut blocks = 0u8;
            for name in &v.blocks {
                if name == "*" {
                    blocks = 0xff;
                } else {
                    let i = parse_intent(name)
                        .ok_or_else(|| err(format!("unknown intent {name:?} in `blocks`")))?;
                    blocks |= 1 << i.rank();
                }
            }
            if blocks == 0 {
                return Err(err("`blocks` lists no intent".into()));
            }
            let scope = match v.scope.as_deref() {
                None | Some("clause") => Scope::Clause,
                Some("message") => Scope::Message,
                Some(other) => {
                    return Err(err(format!(
                        "unknown scope {other:?} (expected \"clause\" or \"message\")"
                    )));
                }
            };
            if v.denies_emergency {
                if scope != Scope::Message {
                    return Err(err(
                        "`denies_emergency` needs `scope = \"message\"`: a veto that only \
                         explains its own clause cannot deny an emergency in another"
                            .into(),
                    ));
                }
                if blocks & (1 << Intent::Emergency.rank()) == 0 {
                    return Err(err(
                        "`denies_emergency` needs \"emergency\" (or \"*\") in `blocks`".into(),
                    ));
                }
            }
            let when = matcher(&mut b, &v.when).map_err(err)?;
            for c in &when.conds {
                if let Cond::Group(g) = *c
                    && let Some(word) = b.c.terms.iter().enumerate().find_map(|(t, w)| {
                        (b.c.term_groups[t].binary_search(&g).is_ok() && looks_like_phone(w))
                            .then_some(w)
                    })
                {
                    return Err(err(format!(
                        "keyword {word:?} is part of a phone number; a phone number is \
                         never evidence against a report, so vetoes cannot use one"
                    )));
                }
            }
            b.c.vetoes.push(Veto {
                id: v.id.clone(),
                blocks,
                scope,
                denies_emergency: v.denies_emergency,
                when,
            });
        }
        for u in &f.spec.utilities {
            let err = |reason: String| rule_err("utility", &u.id, reason);
            let utility = match u.id.as_str() {
                "water" => Utility::Water,
                "power" => Utility::Power,
                "gas" => Utility::Gas,
                other => {
                    return Err(err(format!(
                        "unknown utility {other:?} (expected water, power or gas)"
                    )));
                }
            };
            let when = matcher(&mut b, &u.when).map_err(err)?;
            b.c.utilities.push(UtilityRule { utility, when });
        }
        for m in &f.spec.moods {
            let err = |reason: String| rule_err("mood", &m.id, reason);
            if m.label.trim().is_empty() {
                return Err(err("label is empty: staff read it on the ticket".into()));
            }
            let when = matcher(&mut b, &m.when).map_err(err)?;
            b.c.moods.push(MoodRule {
                label: m.label.trim().to_string(),
                when,
            });
        }
    }
    if b.c.rules.is_empty() {
        return Err(RuleError::File {
            file: origin.to_string(),
            reason: "no [[rule]] defined in any rule file".into(),
        });
    }
    Ok(b.c)
}

#[cfg(test)]
mod tests {
    use super::looks_like_phone;

    #[test]
    fn phone_shaped_veto_keywords_are_recognised() {
        for w in [
            "电话138",
            "电话:139",
            "手机 150",
            "tel13",
            "138xxxx",
            "021",
            "400",
        ] {
            assert!(looks_like_phone(w), "{w}");
        }
        for w in [
            "电话",
            "打电话没人接",
            "月租3000",
            "3栋",
            "100元",
            "2024",
            "上门服务",
        ] {
            assert!(!looks_like_phone(w), "{w}");
        }
    }
}
