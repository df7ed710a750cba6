//! The HTTP edge: webhook mode, `/healthz`, `/metrics` and JSON logs, with the
//! real daemon against the fake Bot API. The test plays Telegram's part of a
//! webhook: it posts the updates the fake made to the daemon's listen address.

mod support;

use serde_json::Value;
use std::io::Read;
use std::process::Stdio;
use std::time::Duration;
use support::daemon::*;
use support::fake_bot_api::{FakeBotApi, FakeChat, FakeUser, SentMessage};

const SECRET: &str = "test-secret_42";
const HOOK_PATH: &str = "/telegram/hook";

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn webhook_home(fake: &FakeBotApi, port: u16) -> Home {
    Home::with_telegram(
        fake,
        30,
        &format!(
            "webhook_url = \"https://bot.example.com{HOOK_PATH}\"\nsecret_token = \"{SECRET}\""
        ),
        &format!("[http]\nlisten = \"127.0.0.1:{port}\"\n"),
    )
}

fn base(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// Wait until `/healthz` answers 200; its body.
async fn healthy(port: u16) -> Value {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{}/healthz", base(port))).send().await
            && r.status() == 200
        {
            return r.json().await.expect("/healthz answers JSON");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/healthz never answered 200");
}

/// Start the daemon in webhook mode and wait until it has told Telegram where
/// to post and serves.
async fn start_webhook(fake: &FakeBotApi, home: &Home, port: u16) -> Daemon {
    let log = std::env::var("GUANJIA_TEST_LOG").unwrap_or_else(|_| "warn".into());
    let daemon = home.spawn(&log, Stdio::inherit());
    healthy(port).await;
    fake.wait_for_calls(|c| c.iter().any(|c| c.method == "setwebhook"), SOON)
        .await
        .expect("the webhook is set");
    daemon
}

/// Post update `update_id` (made by the fake) as Telegram would; the status.
async fn post_update(port: u16, fake: &FakeBotApi, update_id: i64, secret: Option<&str>) -> u16 {
    let body = fake.update_json(update_id).expect("a pushed update");
    post_body(port, body.to_string(), secret).await
}

async fn post_body(port: u16, body: String, secret: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new()
        .post(format!("{}{HOOK_PATH}", base(port)))
        .header("content-type", "application/json")
        .body(body);
    if let Some(s) = secret {
        request = request.header("X-Telegram-Bot-Api-Secret-Token", s);
    }
    request
        .send()
        .await
        .expect("the daemon answers")
        .status()
        .as_u16()
}

fn replies_to(fake: &FakeBotApi, chat: i64, message_id: i64) -> Vec<SentMessage> {
    fake.messages_to(chat)
        .into_iter()
        .filter(|m| m.reply_to_message_id == Some(message_id))
        .collect()
}

/// Everything posted before has been handled: a FAQ question from another
/// owner in the same chat (handled in order) gets its answer.
async fn settle(fake: &FakeBotApi, port: u16, chat: &FakeChat) {
    let m = fake.push_text(
        chat,
        &FakeUser::new(1999, "路人"),
        "请问物业服务中心电话多少",
    );
    assert_eq!(
        post_update(port, fake, m.update_id, Some(SECRET)).await,
        200
    );
    wait_reply(fake, chat.id, m.message_id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn in_webhook_mode_an_owner_is_answered_and_telegram_is_never_polled() {
    let fake = FakeBotApi::start().await;
    let port = free_port();
    let home = webhook_home(&fake, port);
    let _d = start_webhook(&fake, &home, port).await;

    let set = fake.calls_to("setwebhook");
    let params = &set[0].params;
    assert_eq!(
        params["url"].as_str(),
        Some("https://bot.example.com/telegram/hook")
    );
    assert_eq!(params["secret_token"].as_str(), Some(SECRET));
    // One post at a time keeps a chat's messages in the order they were written.
    assert_eq!(params["max_connections"].to_string().trim_matches('"'), "1");
    assert_eq!(
        fake.webhook_url().as_deref(),
        Some("https://bot.example.com/telegram/hook")
    );

    let m = fake.push_text(
        &group3(),
        &owner(),
        "3栋2单元501 厨房水管漏水了,麻烦派人来看看",
    );
    assert_eq!(
        post_update(port, &fake, m.update_id, Some(SECRET)).await,
        200
    );
    let ack = wait_reply(&fake, GROUP_3, m.message_id).await;
    assert!(ack.text.contains("#1"), "{}", ack.text);
    fake.wait_for_text(STAFF_CHAT, "#1", SOON)
        .await
        .expect("staff get the ticket");
    assert!(
        fake.calls_to("getupdates").is_empty(),
        "no polling in webhook mode"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_or_missing_secret_is_refused_and_nothing_is_stored() {
    let fake = FakeBotApi::start().await;
    let port = free_port();
    let home = webhook_home(&fake, port);
    let _d = start_webhook(&fake, &home, port).await;

    let wrong = fake.push_text(&group3(), &owner(), "3栋2单元501 厨房水管漏水了");
    assert_eq!(
        post_update(port, &fake, wrong.update_id, Some("test-secret_43")).await,
        401
    );
    let missing = fake.push_text(&group3(), &neighbour(), "3栋1单元302 卫生间漏水");
    assert_eq!(post_update(port, &fake, missing.update_id, None).await, 401);
    settle(&fake, port, &group3()).await;
    assert!(replies_to(&fake, GROUP_3, wrong.message_id).is_empty());
    assert!(replies_to(&fake, GROUP_3, missing.message_id).is_empty());
    assert!(
        fake.texts_to(STAFF_CHAT).iter().all(|t| !t.contains("#1")),
        "no ticket was opened: {:?}",
        fake.texts_to(STAFF_CHAT)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_is_no_update_is_refused_and_an_unknown_kind_is_not_resent() {
    let fake = FakeBotApi::start().await;
    let port = free_port();
    let home = webhook_home(&fake, port);
    let _d = start_webhook(&fake, &home, port).await;

    assert_eq!(post_body(port, "not json".into(), Some(SECRET)).await, 400);
    assert_eq!(
        post_body(port, r#"{"message": {}}"#.into(), Some(SECRET)).await,
        400,
        "no update_id"
    );
    assert_eq!(
        post_body(port, "x".repeat(2 << 20), Some(SECRET)).await,
        413,
        "a body far larger than any update"
    );
    // A kind of update Telegram may add one day: answered 200 so it is not
    // sent again forever, and skipped.
    assert_eq!(
        post_body(
            port,
            r#"{"update_id": 5, "future_kind": {"x": 1}}"#.into(),
            Some(SECRET)
        )
        .await,
        200
    );
    settle(&fake, port, &group3()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_update_posted_twice_is_answered_once() {
    let fake = FakeBotApi::start().await;
    let port = free_port();
    let home = webhook_home(&fake, port);
    let _d = start_webhook(&fake, &home, port).await;

    let m = fake.push_text(&group3(), &owner(), "3栋2单元501 厨房水管漏水了");
    assert_eq!(
        post_update(port, &fake, m.update_id, Some(SECRET)).await,
        200
    );
    wait_reply(&fake, GROUP_3, m.message_id).await;
    assert_eq!(
        post_update(port, &fake, m.update_id, Some(SECRET)).await,
        200,
        "a re-delivery is acknowledged, so Telegram stops sending it"
    );
    settle(&fake, port, &group3()).await;
    assert_eq!(replies_to(&fake, GROUP_3, m.message_id).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn posts_side_by_side_are_each_stored_once_and_answered_once() {
    let fake = FakeBotApi::start().await;
    let port = free_port();
    let home = webhook_home(&fake, port);
    let _d = start_webhook(&fake, &home, port).await;

    // Many owners at once, and Telegram re-posting each update while the first
    // post is still in flight: the posts are stored together, each update once.
    let messages: Vec<_> = (1..=24)
        .map(|i| {
            let (chat, building) = if i % 2 == 0 {
                (group3(), 3)
            } else {
                (group5(), 5)
            };
            fake.push_text(
                &chat,
                &FakeUser::new(3000 + i, "业主"),
                &format!("{building}栋1单元{i}01 厨房水管漏水了"),
            )
        })
        .collect();
    let posts = messages
        .iter()
        .flat_map(|m| [m.update_id, m.update_id])
        .map(|id| post_update(port, &fake, id, Some(SECRET)));
    let statuses = futures::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    settle(&fake, port, &group3()).await;
    settle(&fake, port, &group5()).await;
    for m in &messages {
        let replies = replies_to(&fake, m.chat_id, m.message_id);
        assert_eq!(replies.len(), 1, "message {}: {replies:?}", m.message_id);
    }
    let tickets: std::collections::BTreeSet<String> = messages
        .iter()
        .map(|m| replies_to(&fake, m.chat_id, m.message_id)[0].text.clone())
        .collect();
    assert_eq!(
        tickets.len(),
        messages.len(),
        "one ticket each: {tickets:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_acknowledged_just_before_a_crash_is_answered_after_the_restart() {
    let fake = FakeBotApi::start().await;
    let port = free_port();
    let home = webhook_home(&fake, port);
    let mut daemon = start_webhook(&fake, &home, port).await;

    let m = fake.push_text(&group3(), &owner(), "3栋2单元501 厨房水管漏水了");
    assert_eq!(
        post_update(port, &fake, m.update_id, Some(SECRET)).await,
        200
    );
    daemon.kill();

    let _d = start_webhook(&fake, &home, port).await;
    let ack = wait_reply(&fake, GROUP_3, m.message_id).await;
    assert!(ack.text.contains("#1"), "{}", ack.text);
    settle(&fake, port, &group3()).await;
    assert_eq!(
        replies_to(&fake, GROUP_3, m.message_id).len(),
        1,
        "answered once, whether before or after the crash"
    );
}

/// The value of the sample `name` with exactly `labels`.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            other => panic!("{name}: not a single value: {other:?}"),
        })
}

async fn scrape(port: u16) -> prometheus_parse::Scrape {
    let text = reqwest::get(format!("{}/metrics", base(port)))
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("a body");
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .unwrap_or_else(|e| panic!("not Prometheus text: {e}\n{text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_and_health_are_served_beside_long_polling() {
    let fake = FakeBotApi::start().await;
    let port = free_port();
    let home = Home::new(&fake, &format!("[http]\nlisten = \"127.0.0.1:{port}\"\n"));
    let _d = home.start(&fake).await;

    let health = healthy(port).await;
    assert_eq!(health["database"], "ok", "{health}");
    assert_eq!(health["bot_api"], "ok", "{health}");
    assert!(health["outbox_lag_seconds"].is_i64(), "{health}");

    let repair = fake.push_text(&group3(), &owner(), "3栋2单元501 厨房水管漏水了");
    wait_reply(&fake, GROUP_3, repair.message_id).await;
    let question = fake.push_text(&group3(), &neighbour(), "请问物业服务中心电话多少");
    wait_reply(&fake, GROUP_3, question.message_id).await;

    let s = scrape(port).await;
    let updates = sample(&s, "guanjia_updates_total", &[("kind", "message")]);
    assert!(updates >= Some(2.0), "updates: {updates:?}");
    assert_eq!(
        sample(&s, "guanjia_tickets", &[("intent", "repair")]),
        Some(1.0)
    );
    assert!(sample(&s, "guanjia_outbox_depth", &[]).is_some());
    assert!(sample(&s, "guanjia_outbox_lag_seconds", &[]).is_some());
    let sent = sample(&s, "guanjia_messages_sent_total", &[]);
    assert!(sent >= Some(2.0), "two answers at least: {sent:?}");
    let handled = s
        .samples
        .iter()
        .find(|x| x.metric == "guanjia_handler_seconds")
        .map(|x| match &x.value {
            prometheus_parse::Value::Histogram(buckets) => {
                buckets.last().map(|b| b.count).unwrap_or_default()
            }
            other => panic!("not a histogram: {other:?}"),
        });
    assert!(handled >= Some(2.0), "handler latency count: {handled:?}");
    assert_eq!(sample(&s, "guanjia_bot_api_up", &[]), Some(1.0));
}

#[tokio::test(flavor = "multi_thread")]
async fn with_json_logs_every_line_on_stderr_is_a_json_object() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "[log]\nformat = \"json\"\n");
    let mut daemon = home.spawn("info", Stdio::piped());
    let mut stderr = daemon.take_stderr().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    fake.wait_until_polling(Duration::from_secs(60))
        .await
        .expect("the daemon polls");
    let m = fake.push_text(&group3(), &owner(), "3栋2单元501 厨房水管漏水了");
    wait_reply(&fake, GROUP_3, m.message_id).await;
    assert!(daemon.stop().success());
    let text = reader.join().expect("stderr read");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "the daemon logged at info: {text}");
    for line in &lines {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string(), "{line}");
        assert!(v["message"].is_string(), "{line}");
    }
    assert!(
        lines.iter().any(|l| l.contains("connected to the Bot API")),
        "{text}"
    );
}

/// Serve `/healthz` and `/metrics` for an in-process desk on a free port.
async fn serve_in_process(
    desk: &guanjia::desk::Desk,
) -> (u16, tokio_util::sync::CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let port = listener.local_addr().expect("an address").port();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(guanjia::http::serve(
        listener,
        guanjia::http::router(desk.clone(), None),
        stop.clone(),
    ));
    (port, stop)
}

async fn get_health(port: u16) -> (u16, Value) {
    let r = reqwest::get(format!("{}/healthz", base(port)))
        .await
        .expect("/healthz answers");
    let status = r.status().as_u16();
    (status, r.json().await.expect("a JSON body"))
}

#[tokio::test(flavor = "multi_thread")]
async fn health_reports_outbox_lag_and_fails_when_the_database_is_gone() {
    use support::inprocess::{G3, at, world};
    let w = world(at(2026, 11, 30, 10, 0), |_| {}).await;
    // No sender: what the desk queues stays queued, and the clock says how long.
    w.stop.cancel();
    let (port, _server) = serve_in_process(&w.desk).await;
    let (status, body) = get_health(port).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outbox_lag_seconds"], 0, "{body}");

    let m = w.msg(G3, 1001, "3栋2单元501 厨房水管漏水了");
    guanjia::desk::route(&w.desk, &m).await.expect("handled");
    w.clock.advance(chrono::Duration::seconds(90));
    let (status, body) = get_health(port).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"], "ok", "{body}");
    assert!(
        body["outbox_depth"].as_i64() >= Some(2),
        "reply and staff post: {body}"
    );
    assert_eq!(body["outbox_lag_seconds"], 90, "{body}");

    w.desk.store().close().await;
    let (status, body) = get_health(port).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"], "error", "{body}");
}
