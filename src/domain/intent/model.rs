//! The statistical half of the classifier: a linear model over hashed
//! character n-grams, trained in-process from the labelled examples
//! (`intents/examples/*.jsonl`) every time the rules are loaded.
//!
//! Why this shape:
//! - **Character 1–3-grams** of the [normalised](crate::domain::text::normalize)
//!   text need no word segmentation, which Chinese would otherwise require, and
//!   carry over to wording nobody listed: `煤气味`, `燃气好臭`, `有煤氣` share
//!   `煤气`/`气`; Cantonese `壞咗` and Mandarin `坏了` share `坏`. Numbers and
//!   the address markers after them are left out: where is not what.
//! - **Hashed** into a fixed table (no vocabulary to store or look up): one
//!   multiply per n-gram and one cache line per lookup, which keeps
//!   `classify` above 200k messages/s with the model on.
//! - **Multinomial logistic regression** (softmax), trained by AdaGrad with L2,
//!   gives calibrated-enough probabilities for the combination to threshold
//!   on (see `super` docs), and trains on ~3k rows in tens of milliseconds.
//! - **Deterministic**: rows are visited in an order shuffled by a fixed-seed
//!   generator, and the arithmetic is sequential, so the same examples always
//!   give bit-identical weights and therefore the same answers.
//!
//! Three heads share the features: the intent (six classes), the category
//! (trained on emergency / complaint / repair rows) and the FAQ topic (trained
//! on inquiry rows). The last two run only when the combination needs them.

use super::Intent;

/// Hyper-parameters, chosen by 5-fold cross-validation (`guanjia intents test`).
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// log2 of the number of hash buckets of the intent head.
    pub bits: u32,
    /// The same for the category and FAQ heads, which have more classes
    /// and fewer rows, so a smaller table costs them little.
    pub small_bits: u32,
    pub epochs: usize,
    /// AdaGrad base learning rate.
    pub rate: f32,
    /// L2 penalty per update on the touched weights.
    pub l2: f32,
    /// Seed of the row order.
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            bits: 16,
            small_bits: 16,
            epochs: 12,
            rate: 0.4,
            l2: 1e-6,
            seed: 0x5eed_6a11_2026,
        }
    }
}

/// The hashed n-grams of one message: bucket hashes (before the per-head
/// `bits` cut) and the weight every one of them gets (`1/√n`, so a long
/// message does not shout over a short one).
#[derive(Debug, Clone, Default)]
pub struct Features {
    hashes: Vec<u64>,
    value: f32,
}

impl Features {
    pub const fn empty() -> Features {
        Features {
            hashes: Vec::new(),
            value: 0.0,
        }
    }

    /// Features of already-normalised text.
    pub fn of(norm: &str) -> Features {
        let mut f = Features::default();
        f.fill(norm);
        f
    }

    /// Refills `self` from already-normalised text, reusing its buffer.
    pub fn fill(&mut self, norm: &str) {
        // Start and end markers make "message starts with 请问" a feature.
        const START: u64 = 2;
        const END: u64 = 3;
        self.hashes.clear();
        let (mut p2, mut p1) = (0u64, START);
        // An address says where, not what: its digits and markers (3栋2单元501,
        // 12#, 15楼) are left out, or a bare "3栋2单元501" sent to complete a
        // report would look like one (most labelled addresses are in repairs).
        let mut in_address = false;
        for ch in norm.chars() {
            let address_part = ch.is_ascii_digit()
                || (in_address
                    && matches!(
                        ch,
                        '栋' | '幢' | '座' | '号' | '楼' | '层' | '单' | '元' | '室' | '#' | '-'
                    ));
            in_address = address_part;
            if address_part {
                continue;
            }
            let c = ch as u64;
            self.hashes.push(mix(1, c));
            self.hashes.push(mix(2, (p1 << 21) | c));
            if p2 != 0 {
                self.hashes.push(mix(3, (p2 << 42) | (p1 << 21) | c));
            }
            (p2, p1) = (p1, c);
        }
        if p1 != START {
            self.hashes.push(mix(2, (p1 << 21) | END));
            if p2 != 0 {
                self.hashes.push(mix(3, (p2 << 42) | (p1 << 21) | END));
            }
        }
        self.value = 1.0 / (self.hashes.len().max(1) as f32).sqrt();
    }
}

/// A 64-bit multiplicative hash of an n-gram code, salted by its length.
#[inline]
fn mix(n: u64, code: u64) -> u64 {
    let x = (code ^ (n << 61)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^ (x >> 29)
}

/// One softmax layer: `classes` scores per hash bucket.
#[derive(Debug, Clone)]
struct Head {
    classes: usize,
    bits: u32,
    /// `weights[bucket * classes + class]`: a bucket's scores are adjacent,
    /// so a lookup touches one cache line.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl Head {
    fn bucket(&self, h: u64) -> usize {
        (h >> (64 - self.bits)) as usize
    }

    /// Softmax probabilities into `out` (resized to `classes`).
    fn predict(&self, f: &Features, out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(&self.bias);
        if self.weights.is_empty() {
            softmax(out);
            return;
        }
        for &h in &f.hashes {
            let at = self.bucket(h) * self.classes;
            for (o, w) in out.iter_mut().zip(&self.weights[at..at + self.classes]) {
                *o += w * f.value;
            }
        }
        softmax(out);
    }

    /// Trains on `rows` (features, class) with AdaGrad.
    fn train(classes: usize, bits: u32, rows: &[(&Features, usize)], p: &Params) -> Head {
        let buckets = 1usize << bits;
        let mut head = Head {
            classes,
            bits,
            // Nothing to learn: no table (`predict` then gives the bias).
            weights: Vec::new(),
            bias: vec![0.0; classes],
        };
        if rows.is_empty() || classes < 2 {
            return head;
        }
        head.weights = vec![0.0; buckets * classes];
        let mut g2 = vec![0.0f32; buckets * classes];
        let mut g2_bias = vec![0.0f32; classes];
        let mut order: Vec<usize> = (0..rows.len()).collect();
        let mut rng = p.seed | 1;
        let mut probs = Vec::with_capacity(classes);
        let mut grad = vec![0.0f32; classes];
        for _ in 0..p.epochs {
            shuffle(&mut order, &mut rng);
            for &i in &order {
                let (f, y) = rows[i];
                head.predict(f, &mut probs);
                for c in 0..classes {
                    grad[c] = probs[c] - if c == y { 1.0 } else { 0.0 };
                }
                for c in 0..classes {
                    g2_bias[c] += grad[c] * grad[c];
                    head.bias[c] -= p.rate * grad[c] / (g2_bias[c].sqrt() + 1e-6);
                }
                for &h in &f.hashes {
                    let at = head.bucket(h) * classes;
                    for c in 0..classes {
                        let w = &mut head.weights[at + c];
                        let g = grad[c] * f.value + p.l2 * *w;
                        if g == 0.0 {
                            continue;
                        }
                        g2[at + c] += g * g;
                        *w -= p.rate * g / (g2[at + c].sqrt() + 1e-6);
                    }
                }
            }
        }
        head
    }
}

fn softmax(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in v.iter_mut() {
        *x /= sum;
    }
}

/// Fisher–Yates with xorshift64: fixed seed, same order on every machine.
fn shuffle(v: &mut [usize], state: &mut u64) {
    for i in (1..v.len()).rev() {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let j = (*state % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// One labelled row as the model sees it: features and label indices.
#[derive(Debug, Clone)]
pub struct Row {
    pub features: Features,
    pub intent: Intent,
    /// Index into the classifier's categories.
    pub category: Option<u16>,
    /// Index into the classifier's FAQ topics.
    pub faq: Option<u16>,
}

/// The trained heads.
#[derive(Debug, Clone)]
pub struct Model {
    intent: Head,
    category: Head,
    /// The category of an emergency, trained on emergency rows only:
    /// violence, a collapse or a gas smell are rare among all ticket rows
    /// and the shared head pulls them towards everyday categories.
    emergency_category: Head,
    faq: Head,
    /// How many rows it was trained on (0: an empty model that always
    /// answers `other` with probability 1 and so never decides anything).
    rows: usize,
}

impl Model {
    /// Trains every head on `rows`; `categories` and `faqs` are the class
    /// counts of the last two.
    pub fn train(rows: &[&Row], categories: usize, faqs: usize, p: &Params) -> Model {
        let intent: Vec<(&Features, usize)> = rows
            .iter()
            .map(|r| (&r.features, r.intent.rank() as usize))
            .collect();
        let category: Vec<(&Features, usize)> = rows
            .iter()
            .filter_map(|r| Some((&r.features, r.category? as usize)))
            .collect();
        let emergency_category: Vec<(&Features, usize)> = rows
            .iter()
            .filter(|r| r.intent == Intent::Emergency)
            .filter_map(|r| Some((&r.features, r.category? as usize)))
            .collect();
        let faq: Vec<(&Features, usize)> = rows
            .iter()
            .filter_map(|r| Some((&r.features, r.faq? as usize)))
            .collect();
        let mut intent = Head::train(Intent::ALL.len(), p.bits, &intent, p);
        if rows.is_empty() {
            // No examples: certain of `other`, so the rules alone decide.
            intent.bias[Intent::Other.rank() as usize] = 100.0;
        }
        Model {
            intent,
            category: Head::train(categories, p.small_bits, &category, p),
            emergency_category: Head::train(categories, p.small_bits, &emergency_category, p),
            faq: Head::train(faqs, p.small_bits, &faq, p),
            rows: rows.len(),
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Probability of each intent, indexed by `Intent::rank()`. The hot
    /// path of `classify`: a fixed-size array, no allocation.
    pub fn intent(&self, f: &Features) -> [f32; 6] {
        let head = &self.intent;
        let mut out = [0.0f32; 6];
        out.copy_from_slice(&head.bias[..6]);
        if !head.weights.is_empty() {
            for &h in &f.hashes {
                let at = head.bucket(h) * 6;
                let w: &[f32; 6] = head.weights[at..at + 6]
                    .try_into()
                    .expect("six intents per bucket");
                for c in 0..6 {
                    out[c] += w[c] * f.value;
                }
            }
        }
        softmax(&mut out);
        out
    }

    /// The most likely category (index) of a message of `intent`, and its
    /// probability.
    pub fn category(&self, intent: Intent, f: &Features) -> Option<(u16, f32)> {
        if intent == Intent::Emergency {
            best(&self.emergency_category, f).or_else(|| best(&self.category, f))
        } else {
            best(&self.category, f)
        }
    }

    /// The most likely FAQ topic (index) and its probability.
    pub fn faq(&self, f: &Features) -> Option<(u16, f32)> {
        best(&self.faq, f)
    }
}

fn best(head: &Head, f: &Features) -> Option<(u16, f32)> {
    if head.weights.is_empty() {
        return None;
    }
    let mut p = Vec::with_capacity(head.classes);
    head.predict(f, &mut p);
    p.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
        .map(|(i, &q)| (i as u16, q))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(text: &str, intent: Intent) -> Row {
        Row {
            features: Features::of(text),
            intent,
            category: None,
            faq: None,
        }
    }

    #[test]
    fn n_grams_of_a_short_text() {
        // "ab": unigrams a, b; bigrams ^a, ab, b$; trigrams ^ab, ab$.
        assert_eq!(Features::of("ab").hashes.len(), 7);
        // Addresses carry no features.
        assert_eq!(
            Features::of("3栋2单元501漏水").hashes,
            Features::of("漏水").hashes
        );
        assert!(Features::of("12#1102").hashes.is_empty());
        assert!(Features::of("").hashes.is_empty());
    }

    #[test]
    fn it_learns_a_separable_toy_set_and_is_deterministic() {
        let rows = [
            row("电梯坏了", Intent::Repair),
            row("水管坏了", Intent::Repair),
            row("灯坏了", Intent::Repair),
            row("早上好", Intent::Other),
            row("大家好", Intent::Other),
            row("谢谢", Intent::Other),
        ];
        let refs: Vec<&Row> = rows.iter().collect();
        let p = Params::default();
        let m = Model::train(&refs, 0, 0, &p);
        let q = m.intent(&Features::of("门坏了"));
        assert!(q[Intent::Repair.rank() as usize] > 0.5, "{q:?}");
        let again = Model::train(&refs, 0, 0, &p);
        assert_eq!(m.intent.weights, again.intent.weights);
        assert_eq!(m.category(Intent::Repair, &Features::of("x")), None);
    }

    #[test]
    fn an_empty_model_is_sure_of_other() {
        let m = Model::train(&[], 0, 0, &Params::default());
        let q = m.intent(&Features::of("电梯坏了"));
        assert!(q[Intent::Other.rank() as usize] > 0.99);
    }
}
