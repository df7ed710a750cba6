//! One text catalogue, in two scripts: a desk set to `locale = "zh-Hant"` speaks
//! Traditional Chinese to owners and staff alike, both catalogues say the same
//! things with the same placeholders, and the wording stays in the catalogue.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use guanjia::configuration::Settings;
use guanjia::domain::Actor;
use support::inprocess::{ADMIN, G3, STAFF, at, world};

/// Characters that only the Simplified script writes this way (工单, 报修,
/// 业主, 维修, 处理, 请, 时限, 认领, 状态, 来自, 谢谢, 这, 们, 为, 发...).
const SIMPLIFIED_ONLY: &str =
    "单报业维处请时认领态来谢这们为发问题务话关间会过还没现给让说经门电区";

fn simplified_in(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| SIMPLIFIED_ONLY.contains(*c))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_traditional_desk_answers_and_posts_in_traditional_chinese() {
    let w = world(at(2026, 11, 30, 10, 0), |s| {
        s.desk.locale = "zh-Hant".into();
    })
    .await;
    // An owner writes in Traditional characters, under a Traditional name.
    let report = guanjia::desk::Incoming {
        from: Actor::new(2001, "陳太"),
        ..w.msg(G3, 2001, "廚房水管漏水了,麻煩盡快派人")
    };
    w.desk.on_message(&report).await.unwrap();
    // And another in private, naming the flat.
    let private = guanjia::desk::Incoming {
        from: Actor::new(2002, "林生"),
        ..w.msg(2002, 2002, "3棟2單元501 客廳的燈不亮了")
    };
    w.desk.on_message(&private).await.unwrap();
    w.drain().await;
    for command in ["/claim 1", "/help"] {
        guanjia::desk::route(&w.desk, &w.msg(STAFF, ADMIN, command))
            .await
            .unwrap();
    }
    w.drain().await;
    let log = w.sent.log.lock().unwrap().clone();
    let ack = log
        .iter()
        .find(|(op, chat, _)| *op == "send" && *chat == G3)
        .map(|(_, _, t)| t.clone())
        .expect("an acknowledgement in the group");
    assert!(
        ack.contains("報修") && ack.contains("工單"),
        "the owner hears 報修 and 工單: {ack}"
    );
    let post = log
        .iter()
        .find(|(op, chat, t)| *op == "send" && *chat == STAFF && t.contains("#1"))
        .map(|(_, _, t)| t.clone())
        .expect("a staff post");
    assert!(
        post.contains("工單 #1") && post.contains("位置:") && post.contains("來自:"),
        "{post}"
    );
    assert!(post.contains("水管/漏水"), "the category by name: {post}");
    assert!(
        log.iter()
            .any(|(_, chat, t)| *chat == STAFF && t.contains("位置:3棟2單元501")),
        "the flat is written in Traditional: {log:#?}"
    );
    assert!(
        log.iter()
            .any(|(_, chat, t)| *chat == STAFF && t.contains("由您負責")),
        "the claim is answered in Traditional: {log:#?}"
    );
    assert!(
        log.iter()
            .any(|(_, chat, t)| *chat == STAFF && t.contains("/claim — 認領工單")),
        "the help is in Traditional: {log:#?}"
    );
    for (op, chat, text) in &log {
        let found = simplified_in(text);
        assert!(
            found.is_empty(),
            "{op} to {chat} has Simplified-only {found:?}: {text}"
        );
    }
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_desk_still_speaks_simplified() {
    let w = world(at(2026, 11, 30, 10, 0), |_| {}).await;
    w.desk
        .on_message(&w.msg(G3, 2001, "厨房水管漏水了"))
        .await
        .unwrap();
    w.drain().await;
    assert_eq!(w.sent.sent_to(G3, "您的报修我们已收到,工单号 #1"), 1);
    assert_eq!(w.sent.sent_to(STAFF, "🛠 工单 #1"), 1);
    w.stop.cancel();
}

#[test]
fn another_locale_is_a_config_error_naming_the_key_and_the_choices() {
    let s = Settings::parse("g.toml", "[desk]\nlocale = \"zh-TW\"\n").unwrap();
    let err = s.validate().unwrap_err().to_string();
    assert!(
        err.contains("desk.locale")
            && err.contains("zh-TW")
            && err.contains("zh-Hans")
            && err.contains("zh-Hant"),
        "{err}"
    );
    let s = Settings::parse("g.toml", "[desk]\nlocale = \"zh-Hant\"\n").unwrap();
    s.validate().unwrap();
}

/// `table → key → placeholders` of a catalogue file.
fn shape(path: &str) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    let file: toml::Table = toml::from_str(&text).unwrap();
    let mut out = BTreeMap::new();
    for (table, entries) in file {
        let entries = entries.as_table().expect("every top level is a table");
        let keys = entries
            .iter()
            .map(|(key, body)| {
                let body = body.as_str().expect("texts are strings");
                let names = body
                    .split('{')
                    .skip(1)
                    .filter_map(|part| part.split_once('}').map(|(name, _)| name.to_string()))
                    .filter(|n| {
                        !n.is_empty()
                            && n.bytes()
                                .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
                    })
                    .collect();
                (key.clone(), names)
            })
            .collect();
        out.insert(table, keys);
    }
    out
}

#[test]
fn both_catalogues_have_the_same_keys_and_placeholders() {
    let hans = shape("intents/templates.toml");
    let hant = shape("intents/zh-Hant/templates.toml");
    for table in ["vars", "messages", "staff", "labels"] {
        let a = &hans[table];
        let b = &hant[table];
        let only_hans: Vec<&String> = a.keys().filter(|k| !b.contains_key(*k)).collect();
        let only_hant: Vec<&String> = b.keys().filter(|k| !a.contains_key(*k)).collect();
        assert!(
            only_hans.is_empty() && only_hant.is_empty(),
            "[{table}] only in Simplified: {only_hans:?}; only in Traditional: {only_hant:?}"
        );
        for (key, names) in a {
            assert_eq!(names, &b[key], "[{table}] {key}: placeholders differ");
        }
    }
    // A Traditional category name for every category the rules know.
    let rules = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("intents/categories.toml"),
    )
    .unwrap();
    let rules: toml::Table = toml::from_str(&rules).unwrap();
    for category in rules["category"].as_array().unwrap() {
        let id = category["id"].as_str().unwrap();
        assert!(hant["categories"].contains_key(id), "[categories] {id}");
    }
}

#[test]
fn the_traditional_catalogue_is_written_in_traditional_characters() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("intents/zh-Hant/templates.toml"),
    )
    .unwrap();
    for (n, line) in text.lines().enumerate() {
        let found = simplified_in(line);
        assert!(
            found.is_empty(),
            "zh-Hant/templates.toml line {}: {found:?} in {line}",
            n + 1
        );
    }
}

/// The human-facing Chinese string literals still written in the code of the
/// chat edges, outside the catalogue (tests and comments aside). Each one is
/// wording a company cannot edit and a Traditional desk would not translate.
#[test]
fn wording_stays_in_the_catalogue() {
    const ALLOWED: usize = 5;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("src/console.rs")];
    for dir in ["src/desk", "src/telegram"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut offenders = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            for literal in string_literals(line) {
                if literal.chars().any(is_han) {
                    offenders.push(format!(
                        "{}:{}: \"{literal}\"",
                        path.strip_prefix(root).unwrap().display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        offenders.len() <= ALLOWED,
        "{} Chinese string literals outside intents/templates.toml (at most {ALLOWED}); move them into the catalogue:\n{}",
        offenders.len(),
        offenders.join("\n")
    );
}

/// The "…" literals of one line of Rust, comments aside.
fn string_literals(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => break,
            // A char literal such as '"' is not the start of a string.
            '\'' if chars.peek() == Some(&'"') => {
                chars.next();
            }
            '"' => {
                let mut literal = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(next) = chars.next() {
                                literal.push(next);
                            }
                        }
                        '"' => break,
                        _ => literal.push(c),
                    }
                }
                out.push(literal);
            }
            _ => {}
        }
    }
    out
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}')
}
