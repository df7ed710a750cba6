//! Whatever owners paste, the engine answers: no panic, one output line per
//! input line.

use guanjia::classify_cli::classify_stream;
use guanjia::domain::intent::Classifier;
use guanjia::domain::location::{Location, extract};
use guanjia::domain::text::normalize;
use proptest::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

fn classifier() -> &'static Classifier {
    static C: OnceLock<Classifier> = OnceLock::new();
    C.get_or_init(|| {
        Classifier::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("intents"))
            .expect("shipped rules load")
    })
}

fn run(input: &[u8]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    classify_stream(classifier(), input, &mut out).expect("in-memory io");
    let text = String::from_utf8(out).expect("output is UTF-8");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect()
}

/// Text that looks like chat: CJK, digits, address markers, punctuation, emoji.
fn chatty() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            proptest::char::range('\u{4e00}', '\u{9fff}'),
            proptest::sample::select(vec![
                '栋', '单', '元', '号', '楼', '座', '室', '十', '二', '零', '九', '-', '#', ':',
                '?', '!', ' ', '1', '2', '5', '0', '３', 'Ａ', 'b', '\u{3000}', '😡', '🔥',
                '\u{0}', '\t', '\u{200b}', '電', '梯', '壞', '漏', '水', '困', '没', '不',
            ]),
            any::<char>(),
        ],
        0..80,
    )
    .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn normalize_extract_classify_never_panic(s in chatty()) {
        let n = normalize(&s);
        prop_assert!(!n.starts_with(' ') && !n.ends_with(' ') && !n.contains("  "));
        prop_assert_eq!(normalize(&n), n.clone(), "normalize is idempotent");
        if let Some(l) = extract(&n) {
            prop_assert!(l.building.is_some() || l.unit.is_some() || l.room.is_some());
        }
        let _ = s.parse::<Location>();
        let _ = classifier().classify(&s);
    }

    #[test]
    fn any_string_classifies(s in any::<String>()) {
        let _ = classifier().classify(&s);
        let _ = extract(&normalize(&s));
    }

    #[test]
    fn stream_gives_one_line_per_input_line(lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 0..20)) {
        let mut input = Vec::new();
        for l in &lines {
            input.extend(l.iter().copied().filter(|&b| b != b'\n'));
            input.push(b'\n');
        }
        prop_assert_eq!(run(&input).len(), lines.len());
    }
}

#[test]
fn awkward_lines() {
    let huge = "漏水".repeat(60_000);
    let mut input = Vec::new();
    input.extend_from_slice("电梯困人了\r\n".as_bytes());
    input.extend_from_slice(b"\n");
    input.extend_from_slice(b"\xff\xfe bad\n");
    input.extend_from_slice(huge.as_bytes());
    input.extend_from_slice(b"\n\x01\x02\x1b[31m\n");
    input.extend_from_slice("no newline at end 3-2-501".as_bytes());
    let out = run(&input);
    assert_eq!(out.len(), 6);
    assert_eq!(out[0]["intent"], "emergency");
    assert_eq!(out[1]["intent"], "other");
    assert_eq!(out[2]["error"], "line 3: not valid UTF-8");
    assert!(out[3]["intent"].is_string());
    assert!(out[4]["intent"].is_string());
    assert_eq!(out[5]["location"]["room"], "501");
    for key in [
        "intent", "category", "faq", "location", "utility", "rule", "keywords",
    ] {
        assert!(out[0].get(key).is_some(), "missing {key}");
    }
}

#[test]
fn empty_input_gives_no_output() {
    assert!(run(b"").is_empty());
}
