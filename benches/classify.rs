//! Throughput of `Classifier::classify` (rules and model) on the dev set, the
//! rules alone, the time to train the model at load, and the floor of a bare
//! aho-corasick scan of the same texts with the same keyword set.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use guanjia::domain::intent::Classifier;
use std::path::Path;

fn texts() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("intents/examples/dev.jsonl");
    let data = std::fs::read_to_string(&path).expect("dev.jsonl");
    data.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(String::from))
        .collect()
}

fn bench(c: &mut Criterion) {
    let classifier =
        Classifier::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("intents")).expect("rules");
    let texts = texts();
    let n = texts.len() as u64;

    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(n));
    g.bench_function("dev_set", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(classifier.classify(black_box(t)));
            }
        })
    });
    let mut policy = classifier.policy();
    policy.use_model = false;
    let rules_only = Classifier::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("intents"))
        .expect("rules")
        .with_policy(policy);
    g.bench_function("dev_set_rules_only", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(rules_only.classify(black_box(t)));
            }
        })
    });
    g.finish();

    // Training the model on every shipped example, as each load does.
    let rows = classifier
        .training_rows(classifier.examples())
        .expect("examples fit the rules");
    let refs: Vec<_> = rows.iter().collect();
    let mut g = c.benchmark_group("train");
    g.sample_size(10);
    g.bench_function("all_examples", |b| {
        b.iter(|| black_box(classifier.train(black_box(&refs))))
    });
    g.finish();

    // The floor: the same keywords, one overlapping scan per raw message,
    // counting matches and nothing else.
    let keywords: Vec<&str> = classifier.keywords().collect();
    let ac = AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .build(&keywords)
        .expect("baseline automaton");
    let mut g = c.benchmark_group("baseline");
    g.throughput(Throughput::Elements(n));
    g.bench_function("bare_aho_corasick_scan", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for t in &texts {
                hits += ac.find_overlapping_iter(black_box(t.as_str())).count();
            }
            black_box(hits)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
