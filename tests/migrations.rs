//! Released migrations never change. A database made by an earlier build records
//! each migration's checksum, and sqlx refuses to start on one whose file was
//! edited since; so a change to the schema is always a new file. This test holds
//! every migration to the checksum it was released with (`migrations/RELEASED`).
//! Adding a migration: add its line (the failure message prints it). And the two
//! folders must keep defining the same tables and columns, which the last test
//! checks on the databases themselves.

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

/// A column as both databases can describe it: nullable or not, and its type
/// reduced to a family (`INTEGER`, `BIGINT` and `BIGSERIAL` are all integers).
type Columns = std::collections::BTreeMap<(String, String), (bool, String)>;

fn type_family(declared: &str) -> String {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") || t.contains("SERIAL") {
        "integer".into()
    } else if t.contains("CHAR") || t.contains("TEXT") || t.contains("CLOB") {
        "text".into()
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "real".into()
    } else {
        t.to_ascii_lowercase()
    }
}

/// Every table and column the SQLite migrations make, read with `PRAGMA table_info`.
async fn sqlite_columns() -> Columns {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .unwrap();
    sqlx::migrate!("./migrations/sqlite")
        .run(&mut conn)
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT m.name, p.name, p.type, p.\"notnull\", p.pk
         FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            let not_null: i64 = r.get(3);
            // SQLite lets a primary key column hold NULL unless it says NOT NULL
            // (an old quirk it keeps); PostgreSQL never does. The desk never
            // stores a NULL key, so a key counts as NOT NULL here.
            let pk: i64 = r.get(4);
            (
                (r.get::<String, _>(0), r.get::<String, _>(1)),
                (
                    not_null == 0 && pk == 0,
                    type_family(&r.get::<String, _>(2)),
                ),
            )
        })
        .collect()
}

/// The same for the PostgreSQL migrations, applied to a fresh database and read
/// from `information_schema.columns`. `None` when no server is reachable (a
/// note says so), except under CI (`CI` set), where it must be.
async fn postgres_columns() -> Option<Columns> {
    use sqlx::{Connection, Row};
    let admin = std::env::var("GUANJIA_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("note: PostgreSQL half skipped ({admin}: {e})");
            return None;
        }
        Err(e) => panic!("PostgreSQL is required under CI: {admin}: {e}"),
    };
    let name = format!(
        "guanjia_schema_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    let mut db = sqlx::PgConnection::connect(&format!("{base}/{name}"))
        .await
        .unwrap();
    sqlx::migrate!("./migrations/postgres")
        .run(&mut db)
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text, is_nullable::text, data_type::text
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();
    sqlx::query(&format!("DROP DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    Some(
        rows.iter()
            .map(|r| {
                (
                    (r.get::<String, _>(0), r.get::<String, _>(1)),
                    (
                        r.get::<String, _>(2) == "YES",
                        type_family(&r.get::<String, _>(3)),
                    ),
                )
            })
            .collect(),
    )
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_define_the_same_tables_and_columns() {
    let sqlite = sqlite_columns().await;
    assert!(
        sqlite.keys().any(|(t, _)| t == "tickets"),
        "the SQLite schema was read"
    );
    let Some(postgres) = postgres_columns().await else {
        return;
    };
    assert!(
        postgres.keys().any(|(t, _)| t == "tickets"),
        "the PostgreSQL schema was read"
    );
    let show = |(nullable, family): &(bool, String)| {
        format!("{family}{}", if *nullable { "" } else { " NOT NULL" })
    };
    let mut problems = Vec::new();
    for (key @ (table, column), lite) in &sqlite {
        match postgres.get(key) {
            None => problems.push(format!("{table}.{column} is only in migrations/sqlite")),
            Some(pg) if pg != lite => problems.push(format!(
                "{table}.{column} is {} in migrations/sqlite but {} in migrations/postgres",
                show(lite),
                show(pg)
            )),
            Some(_) => {}
        }
    }
    for (table, column) in postgres.keys() {
        if !sqlite.contains_key(&(table.clone(), column.clone())) {
            problems.push(format!("{table}.{column} is only in migrations/postgres"));
        }
    }
    assert!(
        problems.is_empty(),
        "the two schemas differ (add a migration to each folder to bring them in step):\n{}",
        problems.join("\n")
    );
}
