//! Released migrations never change. A database made by an earlier build records
//! each migration's checksum, and sqlx refuses to start on one whose file was
//! edited since; so a change to the schema is always a new file. This test holds
//! every migration to the checksum it was released with (`migrations/RELEASED`).
//! Adding a migration: add its line (the failure message prints it).

use std::collections::BTreeMap;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn released() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/RELEASED"))
        .expect("migrations/RELEASED lists the released migrations");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, sum) = l
                .split_once(' ')
                .expect("'<folder>/<version> <sha384>' per line");
            (name.to_string(), sum.trim().to_string())
        })
        .collect()
}

#[test]
fn released_migrations_are_never_edited_and_new_ones_are_listed() {
    let released = released();
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for (folder, migrator) in [
        ("sqlite", sqlx::migrate!("./migrations/sqlite")),
        ("postgres", sqlx::migrate!("./migrations/postgres")),
    ] {
        for m in migrator.iter() {
            let key = format!("{folder}/{}", m.version);
            let sum = hex(&m.checksum);
            match released.get(&key) {
                Some(expected) if *expected == sum => {}
                Some(_) => problems.push(format!(
                    "{key} ({}) was edited after release: restore it and put the change in a new migration",
                    m.description
                )),
                None => problems.push(format!(
                    "{key} ({}) is not listed: add the line `{key} {sum}` to migrations/RELEASED",
                    m.description
                )),
            }
            seen.push(key);
        }
    }
    for key in released.keys() {
        if !seen.contains(key) {
            problems.push(format!("released migration {key} was removed"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn both_databases_have_the_same_migrations() {
    let versions = |m: sqlx::migrate::Migrator| -> Vec<(i64, String)> {
        m.iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect()
    };
    assert_eq!(
        versions(sqlx::migrate!("./migrations/sqlite")),
        versions(sqlx::migrate!("./migrations/postgres")),
        "migrations/sqlite and migrations/postgres must hold the same migrations"
    );
}
