//! The rules' evidence: one aho-corasick scan of the normalised message into
//! [`Hits`] (which keywords, where, in which keyword groups), with negation
//! and masks applied, and the checks a rule's conditions make against it
//! (keyword groups, `near`, the regexes, run lazily and at most once). A view
//! of the message with some clauses taken out (what a veto leaves) is new
//! `Hits` built from the same scan, so a veto costs no second scan. Steps 1
//! to 3 of the parent module's docs.

use super::Classifier;
use super::model::Features;
use super::rules::{Cond, Matcher};
use crate::domain::text;

/// Per-message scratch: which terms and groups matched, and lazily the regex set.
pub(super) struct Hits {
    pub(super) groups: Vec<u64>,
    /// Matched term ids in text order (no duplicates).
    pub(super) terms: Vec<u32>,
    /// Every kept occurrence: (term, start byte, end byte).
    pub(super) occ: Vec<(u32, usize, usize)>,
    /// Per pattern: 0 = not run yet, 1 = no match, 2 = match.
    pub(super) patterns: Vec<u8>,
    /// The normalised message, kept here so its buffer is reused.
    pub(super) norm: String,
    /// Rules that fired (buffer reused across messages).
    pub(super) survivors: Vec<u32>,
    /// For a view with parts of the message taken out (a vetoed clause, a
    /// phone number): the message with those parts blanked, byte offsets
    /// kept, for the regexes to run on. `None`: the message itself.
    pub(super) masked: Option<String>,
    /// The model's features of the message (buffer reused).
    pub(super) features: Features,
}

impl Hits {
    pub(super) const fn new() -> Self {
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

    pub(super) fn scan(&self, norm: &str, hits: &mut Hits) {
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
    pub(super) fn view(&self, norm: &str, base: &Hits, out: &[(usize, usize)]) -> Hits {
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
    pub(super) fn near(&self, norm: &str, hits: &Hits, m: &Matcher, max: usize) -> bool {
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
    pub(super) fn fires(&self, norm: &str, hits: &mut Hits, m: &Matcher) -> bool {
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
    pub(super) fn evidence_clauses(
        &self,
        norm: &str,
        hits: &Hits,
        conds: &[Cond],
    ) -> Vec<(usize, usize)> {
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
}
