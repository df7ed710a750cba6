//! Several daemons on one PostgreSQL database, as `deploy/docker-compose.yml` runs
//! them: three real `guanjia run` processes in webhook mode against one fake Bot
//! API and one fresh database. The test plays Telegram (and the load balancer in
//! front of the instances): it posts each update to one instance in turn, and some
//! again to another, as Telegram does when an answer was lost. In the middle one
//! instance is killed (kill -9) and restarted; later the instance that sends is
//! killed and the others must take over. The send limits are set low so they
//! bind, and the fake enforces the same ones.
//!
//! It takes about 90 s: three debug daemons take some 25 s to start on two cores,
//! and a per-chat limit that binds holds a chat's next message until a minute
//! after its first, whatever the test does. The phases are printed with
//! `--nocapture`.
//!
//! Needs PostgreSQL at `GUANJIA_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, trust auth); without one it is
//! skipped with a note, except under CI (`CI` set), where it must run.

mod support;

use sqlx::Connection;
use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;
use support::daemon::*;
use support::fake_bot_api::{FakeBotApi, FakeChat, FakeUser, Options, RateLimits};

const SECRET: &str = "several-instances_1";
const HOOK_PATH: &str = "/telegram/hook";
/// Low enough to bind: the three instances together may send this many a second…
const PER_SECOND: usize = 4;
/// …and this many a minute into one chat (the staff group gets more than this).
const PER_CHAT_PER_MINUTE: usize = 6;

/// Owner messages before the sender is killed; six of them are repairs.
const FIRST_BATCH: usize = 16;
const REPAIRS: usize = 6;

const GROUP_7: i64 = -100_701;
const GROUP_9: i64 = -100_901;

fn groups() -> Vec<(&'static str, FakeChat)> {
    vec![
        ("3栋", group3()),
        ("5栋", group5()),
        ("7栋", FakeChat::group(GROUP_7, "幸福里7栋业主群")),
        ("9栋", FakeChat::group(GROUP_9, "幸福里9栋业主群")),
    ]
}

/// A fresh database on the test server, or `None` (outside CI) without one.
async fn fresh_database(test: &str) -> Option<String> {
    let admin = std::env::var("GUANJIA_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("note: skipped, no PostgreSQL ({admin}: {e})");
            return None;
        }
        Err(e) => panic!("PostgreSQL is required under CI: {admin}: {e}"),
    };
    let name = format!("guanjia_instances_{test}_{}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await
        .expect("an old test database dropped");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("a test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Some(format!("{base}/{name}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One instance's home: the shared database, its own port.
fn instance_home(fake: &FakeBotApi, database: &str, port: u16) -> Home {
    let buildings: String = groups()
        .iter()
        .skip(2)
        .map(|(name, chat)| format!("\n[[building]]\nname = \"{name}\"\nchat = {}\n", chat.id))
        .collect();
    let home = Home::with_telegram(
        fake,
        PER_SECOND as u32,
        &format!(
            "max_per_chat_per_minute = {PER_CHAT_PER_MINUTE}\nwebhook_url = \"https://bot.example.com{HOOK_PATH}\"\nsecret_token = \"{SECRET}\""
        ),
        &format!("{buildings}\n[http]\nlisten = \"127.0.0.1:{port}\"\n"),
    );
    let config = std::fs::read_to_string(home.config()).expect("the config");
    let config: String = config
        .lines()
        .map(|l| {
            if l.starts_with("url = \"sqlite://") {
                format!("url = \"{database}\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(home.config(), config).expect("the config written");
    home
}

struct Instance {
    home: Home,
    port: u16,
    daemon: Option<Daemon>,
    /// Serving (a restarted one is not until it answers `/healthz`).
    up: bool,
}

impl Instance {
    fn spawn(&mut self) {
        let log = std::env::var("GUANJIA_TEST_LOG").unwrap_or_else(|_| "warn".into());
        self.daemon = Some(self.home.spawn(&log, Stdio::inherit()));
    }

    fn pid(&self) -> Option<u32> {
        self.daemon.as_ref().map(Daemon::pid)
    }

    fn kill(&mut self) {
        self.up = false;
        if let Some(mut d) = self.daemon.take() {
            d.kill();
        }
    }
}

async fn healthy(port: u16) {
    let client = reqwest::Client::new();
    // A ceiling, not a timing goal: three debug daemons train their models at once.
    for _ in 0..900 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("instance on port {port} never became healthy");
}

/// Post update `id` to the instance on `port` as Telegram would; the status.
async fn post(fake: &FakeBotApi, port: u16, id: i64) -> u16 {
    let body = fake.update_json(id).expect("a pushed update").to_string();
    reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}{HOOK_PATH}"))
        .header("content-type", "application/json")
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .body(body)
        .send()
        .await
        .expect("the instance answers")
        .status()
        .as_u16()
}

/// The pid of the instance holding the sender lease, once one does.
async fn sender_pid(database: &str) -> u32 {
    let mut conn = sqlx::PgConnection::connect(database)
        .await
        .expect("the test database");
    for _ in 0..100 {
        let holder: Option<(String,)> =
            sqlx::query_as("SELECT holder FROM leases WHERE name = 'sender'")
                .fetch_optional(&mut conn)
                .await
                .expect("the leases table");
        // `[host-]pid-random`.
        if let Some(pid) = holder.and_then(|(h,)| h.rsplit('-').nth(1)?.parse().ok()) {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no instance took the sender lease");
}

/// An owner's message, posted to one instance.
struct Said {
    chat: i64,
    message_id: i64,
}

fn replies(fake: &FakeBotApi, said: &Said) -> usize {
    fake.messages_to(said.chat)
        .iter()
        .filter(|m| m.reply_to_message_id == Some(said.message_id))
        .count()
}

fn owner_message(i: usize) -> (FakeChat, FakeUser, String) {
    let all = groups();
    // Each group gets every fourth message; of the first 16, one in three is a
    // repair (a post in the staff group, whose minute they fill).
    let (building, chat) = &all[(i + i / 4) % all.len()];
    let owner = FakeUser::new(3000 + i as i64, &format!("业主{i}"));
    let text = if i < FIRST_BATCH && i.is_multiple_of(3) {
        format!(
            "{building}1单元{}01 厨房水管漏水了,麻烦派人来看看",
            1 + i / 3
        )
    } else {
        "请问物业服务中心电话多少".to_string()
    };
    (chat.clone(), owner, text)
}

/// The most sends in any sliding window of `width`, over all chats and per chat.
fn busiest(times: &[(i64, std::time::Instant)], width: Duration) -> (usize, usize) {
    let most = |ts: &[std::time::Instant]| {
        let mut ts = ts.to_vec();
        ts.sort();
        (0..ts.len())
            .map(|i| ts[i..].iter().take_while(|t| **t < ts[i] + width).count())
            .max()
            .unwrap_or(0)
    };
    let all: Vec<_> = times.iter().map(|(_, t)| *t).collect();
    let mut by_chat: HashMap<i64, Vec<std::time::Instant>> = HashMap::new();
    for (chat, t) in times {
        by_chat.entry(*chat).or_default().push(*t);
    }
    (
        most(&all),
        by_chat.values().map(|ts| most(ts)).max().unwrap_or(0),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn three_instances_on_one_database_answer_each_update_once_within_the_limits() {
    let Some(database) = fresh_database("three").await else {
        return;
    };
    let t0 = std::time::Instant::now();
    let phase = |what: &str| eprintln!("[{:>5.1}s] {what}", t0.elapsed().as_secs_f64());
    let fake = FakeBotApi::start_with(Options {
        rate_limits: Some(RateLimits {
            per_second: PER_SECOND,
            per_chat_per_minute: PER_CHAT_PER_MINUTE,
        }),
        ..Options::default()
    })
    .await;
    let mut instances: Vec<Instance> = (0..3)
        .map(|_| {
            let port = free_port();
            Instance {
                home: instance_home(&fake, &database, port),
                port,
                daemon: None,
                up: true,
            }
        })
        .collect();
    for i in &mut instances {
        i.spawn();
    }
    for i in &instances {
        healthy(i.port).await;
    }
    fake.wait_for_calls(
        |c| c.iter().filter(|c| c.method == "setwebhook").count() >= 3,
        SOON,
    )
    .await
    .expect("each instance set the webhook");

    phase("three instances up");
    // One instance that does not send is killed in the middle of the first batch.
    let sender = sender_pid(&database).await;
    let victim = instances
        .iter()
        .position(|i| i.pid() != Some(sender))
        .expect("two instances do not send");

    let mut said = Vec::new();
    let mut next = 0usize;
    let mut posted_to_victim = Vec::new();
    for i in 0..FIRST_BATCH {
        let (chat, owner, text) = owner_message(i);
        let m = fake.push_text(&chat, &owner, &text);
        said.push(Said {
            chat: chat.id,
            message_id: m.message_id,
        });
        // Round robin over the instances that are up.
        let to = loop {
            let to = next % 3;
            next += 1;
            if instances[to].up {
                break to;
            }
        };
        assert_eq!(post(&fake, instances[to].port, m.update_id).await, 200);
        if to == victim {
            posted_to_victim.push(m.update_id);
        }
        // Every third update is delivered again, to another instance.
        if i % 3 == 0 {
            let again = (to + 1..to + 3)
                .map(|k| k % 3)
                .find(|k| instances[*k].up)
                .expect("another instance is up");
            assert_eq!(post(&fake, instances[again].port, m.update_id).await, 200);
        }
        if i == 6 {
            // kill -9 right after it stored an update.
            instances[victim].kill();
            // What it had taken is delivered again elsewhere, as Telegram would
            // after a lost answer.
            let survivor = (victim + 1) % 3;
            for id in &posted_to_victim {
                assert_eq!(post(&fake, instances[survivor].port, *id).await, 200);
            }
        }
        if i == 10 {
            instances[victim].spawn();
        }
    }
    healthy(instances[victim].port).await;
    instances[victim].up = true;

    phase("first batch posted");
    // Two staff claim the first ticket at once, through different instances.
    let post_seen = fake
        .wait_for(
            |s| {
                s.iter().any(|m| {
                    m.chat_id == STAFF_CHAT
                        && m.callback_data().iter().any(|d| d.starts_with("claim:"))
                })
            },
            Duration::from_secs(30),
        )
        .await
        .expect("a ticket reached the staff group");
    let staff_post = post_seen
        .iter()
        .find(|m| {
            m.chat_id == STAFF_CHAT && m.callback_data().iter().any(|d| d.starts_with("claim:"))
        })
        .expect("the staff post");
    let claim = staff_post
        .callback_data()
        .into_iter()
        .find(|d| d.starts_with("claim:"))
        .expect("a claim button");
    let by_li = fake.push_callback_update(&li(), STAFF_CHAT, staff_post.message_id, &claim);
    let by_wang = fake.push_callback_update(&wang(), STAFF_CHAT, staff_post.message_id, &claim);
    let other = (victim + 1) % 3;
    let (a, b) = tokio::join!(
        post(&fake, instances[victim].port, by_li),
        post(&fake, instances[other].port, by_wang)
    );
    assert_eq!((a, b), (200, 200));

    // A notice to every building group, through the restarted instance.
    let notice = fake.push_text(&staff_chat(), &admin(), "/notice all 明天上午清洗水箱");
    assert_eq!(
        post(&fake, instances[victim].port, notice.update_id).await,
        200
    );

    let everyone_answered =
        |fake: &FakeBotApi, said: &[Said]| said.iter().all(|s| replies(fake, s) >= 1);
    let delivered = |fake: &FakeBotApi| {
        groups().iter().all(|(_, g)| {
            fake.texts_to(g.id)
                .iter()
                .any(|t| t.contains("明天上午清洗水箱"))
        })
    };
    // Owners are answered at once; the staff group's minute is full by now.
    for _ in 0..600 {
        if everyone_answered(&fake, &said)
            && delivered(&fake)
            && fake.calls_to("answercallbackquery").len() >= 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        everyone_answered(&fake, &said),
        "every owner of the first batch is answered"
    );

    phase("first batch answered");
    // The claim race: one wins, the other is told who has it.
    let answers: Vec<String> = fake
        .calls_to("answercallbackquery")
        .iter()
        .filter_map(|c| c.params["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(answers.len(), 2, "both presses answered: {answers:?}");
    assert_eq!(
        answers.iter().filter(|t| t.contains("由您负责")).count(),
        1,
        "exactly one claim wins: {answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|t| t.contains("已由")).count(),
        1,
        "the other is told who has it: {answers:?}"
    );

    // The sender is killed between two sends (the staff group's rows wait for its
    // minute to end, given back, not on the wire); the two others go on alone,
    // and one of them must take over sending for the second batch to be answered
    // and the staff group's rows to go when its minute allows.
    let quiet = Duration::from_millis(1500);
    let mut last = fake.calls().len();
    loop {
        tokio::time::sleep(quiet).await;
        let now = fake.calls().len();
        if now == last {
            break;
        }
        last = now;
    }
    let sender = sender_pid(&database).await;
    let killed = instances
        .iter()
        .position(|i| i.pid() == Some(sender))
        .expect("the sender is one of ours");
    instances[killed].kill();
    phase("sender killed");
    let mut second = Vec::new();
    for i in FIRST_BATCH..FIRST_BATCH + 6 {
        let (chat, owner, text) = owner_message(i);
        let m = fake.push_text(&chat, &owner, &text);
        second.push(Said {
            chat: chat.id,
            message_id: m.message_id,
        });
        let to = (killed + 1 + i % 2) % 3;
        assert_eq!(post(&fake, instances[to].port, m.update_id).await, 200);
    }
    for _ in 0..900 {
        if everyone_answered(&fake, &second) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        everyone_answered(&fake, &second),
        "another instance took over sending"
    );
    phase("second batch answered");
    let staff_done = |fake: &FakeBotApi| {
        let staff = fake.messages_to(STAFF_CHAT);
        staff.iter().any(|m| m.text.contains("已送达"))
            && staff
                .iter()
                .filter(|m| m.callback_data().iter().any(|d| d.starts_with("claim:")))
                .count()
                >= REPAIRS
    };
    // The limits bind: the staff group's rows wait for its minute.
    for _ in 0..900 {
        if staff_done(&fake) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        staff_done(&fake),
        "every ticket and the notice's report reached staff"
    );
    phase("staff group done");
    // Time for a duplicate to show, if any were coming.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The claimed ticket's owner is also told, once, that someone has it.
    const CLAIMED: &str = "已有工作人员负责处理";
    let mut claim_notes = 0;
    for s in said.iter().chain(&second) {
        let (notes, answers): (Vec<String>, Vec<String>) = fake
            .messages_to(s.chat)
            .into_iter()
            .filter(|m| m.reply_to_message_id == Some(s.message_id))
            .map(|m| m.text)
            .partition(|t| t.contains(CLAIMED));
        assert_eq!(
            answers.len(),
            1,
            "message {} in chat {} answered exactly once: {answers:?}",
            s.message_id,
            s.chat
        );
        claim_notes += notes.len();
    }
    assert_eq!(
        claim_notes, 1,
        "the owner is told once that the ticket is claimed"
    );
    for (name, g) in groups() {
        let copies = fake
            .texts_to(g.id)
            .iter()
            .filter(|t| t.contains("明天上午清洗水箱"))
            .count();
        assert_eq!(copies, 1, "the notice reached {name} exactly once");
    }

    let sends: Vec<(i64, std::time::Instant)> = fake
        .sent_messages()
        .iter()
        .map(|m| (m.chat_id, m.at))
        .collect();
    let (per_second, _) = busiest(&sends, Duration::from_secs(1));
    let (_, per_chat_minute) = busiest(&sends, Duration::from_secs(60));
    assert!(
        per_second <= PER_SECOND,
        "{per_second} sends in one second (limit {PER_SECOND})"
    );
    assert!(
        per_chat_minute <= PER_CHAT_PER_MINUTE,
        "{per_chat_minute} sends into one chat in a minute (limit {PER_CHAT_PER_MINUTE})"
    );
    let staff_sends = fake.messages_to(STAFF_CHAT).len();
    assert!(
        staff_sends > PER_CHAT_PER_MINUTE,
        "the per-chat limit was put to the test ({staff_sends} staff messages)"
    );
    assert_eq!(fake.rate_violations(), 0, "Telegram never answered 429");
    assert!(fake.retry_after_breaches().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_staff_group_set_through_one_instance_gets_the_tickets_the_other_opens() {
    let Some(database) = fresh_database("staff_group").await else {
        return;
    };
    let fake = FakeBotApi::start().await;
    let instances: Vec<(Home, u16)> = (0..2)
        .map(|_| {
            let port = free_port();
            (instance_home(&fake, &database, port), port)
        })
        .collect();
    let log = std::env::var("GUANJIA_TEST_LOG").unwrap_or_else(|_| "warn".into());
    let _daemons: Vec<Daemon> = instances
        .iter()
        .map(|(home, _)| home.spawn(&log, Stdio::inherit()))
        .collect();
    for (_, port) in &instances {
        healthy(*port).await;
    }
    let (first, second) = (instances[0].1, instances[1].1);

    // The admin moves the desk to a new staff group; Telegram posts that to
    // the first instance.
    let new_staff = FakeChat::group(-100_950, "物业客服二组");
    let set = fake.push_text(&new_staff, &admin(), "/set_staff_group");
    assert_eq!(post(&fake, first, set.update_id).await, 200);
    fake.wait_for_text(new_staff.id, &new_staff.id.to_string(), SOON)
        .await
        .expect("the new staff group is confirmed");

    // Reports posted to the second instance reach the new group, once that
    // instance has looked (every couple of seconds).
    let mut reached = false;
    // Six at most: this home lets a group receive six messages a minute.
    for i in 0..PER_CHAT_PER_MINUTE as i64 {
        let m = fake.push_text(
            &group3(),
            &FakeUser::new(7000 + i, "业主"),
            &format!("3栋2单元{}01 卫生间漏水了", i + 1),
        );
        assert_eq!(post(&fake, second, m.update_id).await, 200);
        wait_reply(&fake, GROUP_3, m.message_id).await;
        let number = format!("#{}", i + 1);
        if fake
            .wait_for_text(new_staff.id, &number, Duration::from_secs(2))
            .await
            .is_ok()
        {
            reached = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        reached,
        "tickets opened by the second instance never reached the new staff group: {:?}",
        fake.texts_to(new_staff.id)
    );
}
