//! The rules' decision: which rules fire on which view of the message (a veto
//! takes away clauses, or the whole message), which one wins (precedence,
//! priority, specificity, file order) and the category, FAQ topic and utility
//! of the answer. Steps 3 to 5 of the parent module's docs. Besides the
//! answer it reports what the rule side knows about it ([`RuleSide`]), so the
//! combination with the model (`policy`) need not look inside.

use super::policy::RuleSide;
use super::rules::{Cond, Scope, Veto};
use super::scan::Hits;
use super::{Classification, Classifier, Decided, Intent, Utility};
use crate::domain::location::Location;
use crate::domain::text;

impl Classifier {
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

    pub(super) fn decide(
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
                    upset: None,
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
                upset: None,
            },
            side,
        )
    }

    /// The supply a message about `intent` says is off, if any.
    pub(super) fn utility(&self, norm: &str, hits: &mut Hits, intent: Intent) -> Option<Utility> {
        if matches!(intent, Intent::Other | Intent::Suggestion) {
            return None;
        }
        self.c
            .utilities
            .iter()
            .find(|u| self.fires(norm, hits, &u.when))
            .map(|u| u.utility)
    }

    /// The label of the first `[[mood]]` rule the message fires, if any.
    pub(super) fn mood(&self, norm: &str, hits: &mut Hits) -> Option<String> {
        self.c
            .moods
            .iter()
            .find(|m| self.fires(norm, hits, &m.when))
            .map(|m| m.label.clone())
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
