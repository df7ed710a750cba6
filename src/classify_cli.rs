//! The library side of `guanjia classify` and `guanjia intents test`.
//!
//! `classify` is a filter: one message per input line, one JSON object per
//! output line, in order, so it can be piped and diffed. Input is read as raw
//! bytes because chat exports contain anything: a bad line gets its own error
//! object and processing continues; the output always has exactly one line per
//! input line.
//!
//! `intents test` measures the whole classifier (rules and model) on the
//! labelled examples by k-fold cross-validation, the honest figure for
//! messages it has not seen, next to the training-set figure, and checks the
//! quality bars on the cross-validated one, so a staff edit that breaks
//! something is caught before it goes live. It also scores any labelled file
//! (a corrections export, a new batch) with the classifier as loaded.

pub use crate::domain::intent::Labelled;
use crate::domain::intent::{Classification, Classifier, Decided, Examples, Intent, RuleError};
use crate::domain::location::Location;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufRead, Write};

/// Lines longer than this are classified on their first `MAX_LINE` bytes
/// (cut at a character boundary): no owner message is that long, and it keeps
/// a pasted file from stalling the filter.
pub const MAX_LINE: usize = 64 * 1024;

/// Classifies each input line and writes one JSON object per line.
pub fn classify_stream(c: &Classifier, mut input: impl BufRead, out: impl Write) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        match std::str::from_utf8(&buf) {
            Ok(text) => {
                let text = truncate(text, MAX_LINE);
                let result = c.classify(text);
                serde_json::to_writer(&mut out, &result).map_err(io::Error::other)?;
            }
            Err(_) => {
                let err =
                    serde_json::json!({ "error": format!("line {line_no}: not valid UTF-8") });
                serde_json::to_writer(&mut out, &err).map_err(io::Error::other)?;
            }
        }
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A labelled file that cannot be scored.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error("line {line}: {reason}")]
    BadRow { line: usize, reason: String },
    #[error("no labelled rows")]
    Empty,
}

/// A row the classifier got wrong on any scored field.
#[derive(Debug, Clone)]
pub struct Miss {
    pub id: String,
    pub text: String,
    pub expected: String,
    pub got: String,
}

/// Hits over total for one measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ratio {
    pub hit: usize,
    pub total: usize,
}

impl Ratio {
    fn add(&mut self, ok: bool) {
        self.total += 1;
        self.hit += usize::from(ok);
    }

    /// 1.0 for an empty measure: nothing was there to get wrong.
    pub fn value(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.hit as f64 / self.total as f64
        }
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3} ({}/{})", self.value(), self.hit, self.total)
    }
}

const INTENTS: [Intent; 6] = Intent::ALL;

/// Scores of a labelled file.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub rows: usize,
    pub intent: Ratio,
    /// Gold `other` predicted `other`.
    pub silence: Ratio,
    pub emergency_recall: Ratio,
    /// Over gold emergency / repair / complaint rows.
    pub category: Ratio,
    /// Over gold inquiry rows.
    pub faq: Ratio,
    /// Exact match over all rows.
    pub location: Ratio,
    /// Intent accuracy on the rows where the model decided.
    pub model_decided: Ratio,
    /// (gold, predicted) → count.
    pub confusion: BTreeMap<(Intent, Intent), usize>,
    pub misses: Vec<Miss>,
}

/// Minimum scores; [`Bars::default`] is the release bar on the dev set.
#[derive(Debug, Clone, Copy)]
pub struct Bars {
    pub intent: f64,
    pub silence: f64,
    pub emergency_recall: f64,
    pub category: f64,
    pub faq: f64,
    pub location: f64,
}

impl Default for Bars {
    fn default() -> Self {
        Bars {
            intent: 0.97,
            silence: 0.98,
            emergency_recall: 1.0,
            category: 0.95,
            faq: 0.95,
            location: 0.98,
        }
    }
}

impl Bars {
    /// The bars on the cross-validated figures of the project's examples:
    /// issue 11's, emergency recall 1.0 included (an emergency missed on rows
    /// the model was not trained on fails CI).
    pub fn cross_validated() -> Bars {
        Bars {
            intent: 0.93,
            silence: 0.95,
            emergency_recall: 1.0,
            category: 0.93,
            faq: 0.93,
            location: 0.98,
        }
    }
}

impl Report {
    /// Precision of one intent: of the rows predicted `i`, how many were `i`.
    pub fn precision(&self, i: Intent) -> Ratio {
        let mut r = Ratio::default();
        for (&(gold, pred), &n) in &self.confusion {
            if pred == i {
                r.total += n;
                if gold == i {
                    r.hit += n;
                }
            }
        }
        r
    }

    /// Recall of one intent: of the rows labelled `i`, how many were found.
    pub fn recall(&self, i: Intent) -> Ratio {
        let mut r = Ratio::default();
        for (&(gold, pred), &n) in &self.confusion {
            if gold == i {
                r.total += n;
                if pred == i {
                    r.hit += n;
                }
            }
        }
        r
    }

    /// The bars this report fails, one readable line each (empty = all pass).
    pub fn check(&self, bars: &Bars) -> Vec<String> {
        let measures = [
            ("intent accuracy", self.intent, bars.intent),
            ("other silence", self.silence, bars.silence),
            (
                "emergency recall",
                self.emergency_recall,
                bars.emergency_recall,
            ),
            ("category accuracy", self.category, bars.category),
            ("faq accuracy", self.faq, bars.faq),
            ("location accuracy", self.location, bars.location),
        ];
        measures
            .iter()
            .filter(|(_, r, bar)| r.value() + 1e-9 < *bar)
            .map(|(name, r, bar)| format!("{name} {r} is below {bar:.2}"))
            .collect()
    }
}

impl Report {
    /// The figures without the confusion table and the misses.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = self.write_summary(&mut s);
        s
    }

    fn write_summary(&self, f: &mut impl fmt::Write) -> fmt::Result {
        writeln!(f, "rows:                {}", self.rows)?;
        writeln!(f, "intent accuracy:     {}", self.intent)?;
        writeln!(f, "other silence:       {}", self.silence)?;
        writeln!(f, "emergency recall:    {}", self.emergency_recall)?;
        writeln!(
            f,
            "emergency precision: {}",
            self.precision(Intent::Emergency)
        )?;
        writeln!(f, "category accuracy:   {}", self.category)?;
        writeln!(f, "faq accuracy:        {}", self.faq)?;
        writeln!(f, "location accuracy:   {}", self.location)?;
        writeln!(f, "decided by model:    {} right", self.model_decided)
    }

    /// Adds one row: the gold labels and what the classifier said.
    pub fn add(&mut self, row: &Labelled, got: &Classification) {
        self.rows += 1;
        let intent_ok = got.intent == row.intent;
        self.intent.add(intent_ok);
        *self.confusion.entry((row.intent, got.intent)).or_default() += 1;
        if matches!(got.decided_by, Decided::Model { .. }) {
            self.model_decided.add(intent_ok);
        }
        if row.intent == Intent::Other {
            self.silence.add(intent_ok);
        }
        if row.intent == Intent::Emergency {
            self.emergency_recall.add(intent_ok);
        }
        let mut ok = intent_ok;
        if row.intent.has_category() {
            let cat_ok = got.category == row.category;
            self.category.add(cat_ok);
            ok &= cat_ok;
        }
        if row.intent == Intent::Inquiry {
            let faq_ok = got.faq == row.faq;
            self.faq.add(faq_ok);
            ok &= faq_ok;
        }
        let loc_ok = got.location == row.location;
        self.location.add(loc_ok);
        ok &= loc_ok;
        if !ok {
            let by = match &got.decided_by {
                Decided::Rule { id } => format!("rule {id}"),
                Decided::Model { probability } => format!("model {probability:.3}"),
                Decided::None => "nothing".into(),
            };
            self.misses.push(Miss {
                id: row.id.clone(),
                text: row.text.clone(),
                expected: describe(
                    row.intent,
                    row.category.as_deref(),
                    row.faq.as_deref(),
                    row.location.as_ref(),
                ),
                got: format!(
                    "{} ({by})",
                    describe(
                        got.intent,
                        got.category.as_deref(),
                        got.faq.as_deref(),
                        got.location.as_ref()
                    ),
                ),
            });
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_summary(f)?;
        writeln!(f)?;
        writeln!(f, "{:<11} {:>16} {:>16}", "intent", "precision", "recall")?;
        for i in INTENTS {
            writeln!(
                f,
                "{:<11} {:>16} {:>16}",
                i.as_str(),
                self.precision(i).to_string(),
                self.recall(i).to_string()
            )?;
        }
        writeln!(f)?;
        write!(f, "{:<11}", "gold\\pred")?;
        for i in INTENTS {
            write!(f, " {:>10}", i.as_str())?;
        }
        writeln!(f)?;
        for gold in INTENTS {
            write!(f, "{:<11}", gold.as_str())?;
            for pred in INTENTS {
                write!(
                    f,
                    " {:>10}",
                    self.confusion.get(&(gold, pred)).copied().unwrap_or(0)
                )?;
            }
            writeln!(f)?;
        }
        if !self.misses.is_empty() {
            writeln!(f)?;
            writeln!(f, "misses ({}):", self.misses.len())?;
            for m in &self.misses {
                writeln!(f, "  {} {}", m.id, m.text)?;
                writeln!(f, "      expected {}", m.expected)?;
                writeln!(f, "      got      {}", m.got)?;
            }
        }
        Ok(())
    }
}

fn describe(
    intent: Intent,
    category: Option<&str>,
    faq: Option<&str>,
    location: Option<&Location>,
) -> String {
    let mut s = intent.as_str().to_string();
    if let Some(c) = category {
        s.push('/');
        s.push_str(c);
    }
    if let Some(q) = faq {
        s.push_str(" faq=");
        s.push_str(q);
    }
    s.push_str(" loc=");
    match location {
        Some(l) => s.push_str(&format!(
            "{}|{}|{}",
            opt(&l.building),
            opt(&l.unit),
            opt(&l.room)
        )),
        None => s.push('-'),
    }
    s
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

/// Scores `c` against a labelled JSONL text (blank lines are skipped).
pub fn score(c: &Classifier, labelled_jsonl: &str) -> Result<Report, ScoreError> {
    let mut report = Report::default();
    for (i, line) in labelled_jsonl.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let row: Labelled = serde_json::from_str(line).map_err(|e| ScoreError::BadRow {
            line: i + 1,
            reason: e.to_string(),
        })?;
        let got: Classification = c.classify(&row.text);
        report.add(&row, &got);
    }
    if report.rows == 0 {
        return Err(ScoreError::Empty);
    }
    Ok(report)
}

/// How many rows of a labelled JSONL text have a text that is also one of
/// `c`'s examples (their figures are training figures, not new evidence).
pub fn rows_in_examples(c: &Classifier, labelled_jsonl: &str) -> usize {
    let known: std::collections::HashSet<&str> =
        c.examples().rows.iter().map(|r| r.text.as_str()).collect();
    labelled_jsonl
        .lines()
        .filter_map(|l| serde_json::from_str::<Labelled>(l.trim()).ok())
        .filter(|r| known.contains(r.text.as_str()))
        .count()
}

/// Figures of the whole classifier on its own examples.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub folds: usize,
    /// Each row classified by the rules and a model trained without the
    /// fold it is in.
    pub cross_validated: Report,
    /// The same, per examples file: `(file, report)`.
    pub per_file: Vec<(String, Report)>,
    /// Each row classified by the rules and the model trained on every row.
    pub training: Report,
}

/// The fixed seed of the fold assignment, so every run gives the same folds.
const FOLD_SEED: u64 = 0x0f01_d5ee_d011;

/// k-fold cross-validation of `c` (its rules and thresholds, a model
/// retrained per fold) on `examples`. Rows are dealt into `k` folds in an
/// order shuffled by a fixed seed.
pub fn cross_validate(
    c: &Classifier,
    examples: &Examples,
    k: usize,
) -> Result<Evaluation, RuleError> {
    let k = k.max(2);
    let rows = c.training_rows(examples)?;
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut state = FOLD_SEED;
    for i in (1..order.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let mut fold = vec![0usize; rows.len()];
    for (pos, &i) in order.iter().enumerate() {
        fold[i] = pos % k;
    }
    let mut file_of = Vec::with_capacity(rows.len());
    for (n, (_, count)) in examples.files.iter().enumerate() {
        file_of.extend(std::iter::repeat_n(n, *count));
    }
    let mut cv = Report::default();
    let mut per_file: Vec<(String, Report)> = examples
        .files
        .iter()
        .map(|(name, _)| (name.clone(), Report::default()))
        .collect();
    for f in 0..k {
        let train: Vec<_> = rows
            .iter()
            .enumerate()
            .filter(|&(i, _)| fold[i] != f)
            .map(|(_, r)| r)
            .collect();
        let model = c.train(&train);
        for (i, row) in examples.rows.iter().enumerate() {
            if fold[i] != f {
                continue;
            }
            let got = c.classify_with(&model, &row.text);
            cv.add(row, &got);
            if let Some(&n) = file_of.get(i) {
                per_file[n].1.add(row, &got);
            }
        }
    }
    let mut training = Report::default();
    let all: Vec<_> = rows.iter().collect();
    let model = c.train(&all);
    for row in &examples.rows {
        training.add(row, &c.classify_with(&model, &row.text));
    }
    Ok(Evaluation {
        folds: k,
        cross_validated: cv,
        per_file,
        training,
    })
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row = |r: &Report| {
            format!(
                "{:>5} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>7.3}",
                r.rows,
                r.intent.value(),
                r.silence.value(),
                r.emergency_recall.value(),
                r.precision(Intent::Emergency).value(),
                r.category.value(),
                r.faq.value(),
                r.location.value()
            )
        };
        writeln!(
            f,
            "{:<24} {:>5} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}",
            "", "rows", "intent", "silence", "em.rec", "em.prec", "categ.", "faq", "locat."
        )?;
        writeln!(
            f,
            "{:<24} {}",
            format!("cross-validated (k={})", self.folds),
            row(&self.cross_validated)
        )?;
        for (name, r) in &self.per_file {
            writeln!(f, "{:<24} {}", format!("  {name}"), row(r))?;
        }
        writeln!(f, "{:<24} {}", "training set", row(&self.training))
    }
}
