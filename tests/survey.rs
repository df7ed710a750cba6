//! The quarterly satisfaction survey: an anonymous 1–5 poll in each building
//! group, its counts kept per building, the figures in /stats and the report.

mod support;

use guanjia::desk::route;
use support::inprocess::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_survey_polls_each_group_and_its_answers_are_counted_per_building() {
    let w = world(at(2026, 12, 1, 9, 0), |_| {}).await;
    // Owners cannot start one.
    w.say(G3, 2001, "/survey all 满意吗").await;
    assert_eq!(w.sent.ops("poll", G3), 0);

    w.say(STAFF, ADMIN, "/survey all").await;
    assert_eq!(w.sent.sent_to(STAFF, "请写上问题"), 1);
    let ask = w.msg(STAFF, ADMIN, "/survey all 您对本季度的物业服务满意吗?");
    route(&w.desk, &ask).await.unwrap();
    // The same command delivered twice sends one survey.
    route(&w.desk, &ask).await.unwrap();
    w.drain().await;
    for g in [G3, G5] {
        assert_eq!(w.sent.ops("poll", g), 1, "one poll in each group");
    }
    assert_eq!(w.sent.ops("poll", STAFF), 0);
    let polls = w.sent.log.lock().unwrap().clone();
    let (_, _, poll) = polls.iter().find(|(op, _, _)| *op == "poll").unwrap();
    assert!(
        poll.starts_with("您对本季度的物业服务满意吗? | 1分 很不满意"),
        "{poll}"
    );
    assert_eq!(w.sent.sent_to(STAFF, "满意度调查 #1 已排队,发往 2 个群"), 1);

    // Telegram reports the counts of each poll (ids as the recorder gives them).
    // 3栋: 1×4 + 2×5 = 14 points over 3 votes; 5栋: one 3; a poll not ours.
    w.desk
        .on_poll(&format!("poll{G3}"), &[0, 0, 0, 1, 2])
        .await
        .unwrap();
    w.desk
        .on_poll(&format!("poll{G5}"), &[0, 0, 1, 0, 0])
        .await
        .unwrap();
    w.desk
        .on_poll("someone-elses", &[9, 9, 9, 9, 9])
        .await
        .unwrap();
    // A later count replaces the earlier one (a vote retracted).
    w.desk
        .on_poll(&format!("poll{G5}"), &[0, 0, 1, 1, 0])
        .await
        .unwrap();

    w.say(STAFF, ADMIN, "/stats").await;
    let log = w.sent.log.lock().unwrap().clone();
    let stats = log
        .iter()
        .rev()
        .find(|(_, c, t)| *c == STAFF && t.starts_with("📊"))
        .map(|(_, _, t)| t.clone())
        .unwrap();
    // All: 4+5+5 + 3+4 = 21 points over 5 votes = 4.2.
    assert!(
        stats.contains("满意度调查 #1:平均 4.2 分(5 票);3栋 4.7(3 票)、5栋 3.5(2 票)"),
        "{stats}"
    );
    w.stop.cancel();
}

/// Against the fake Bot API with the real daemon: the poll goes out through
/// `sendPoll`, the platform's poll update is read, and the counts reach /stats.
#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_sends_polls_and_reads_the_platforms_poll_updates() {
    use support::daemon::*;
    use support::fake_bot_api::FakeBotApi;

    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;
    fake.push_text(&staff_chat(), &admin(), "/survey 3栋 您对小区保洁满意吗?");
    let mut polls = Vec::new();
    for _ in 0..200 {
        polls = fake.calls_to("sendpoll");
        if !polls.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(polls.len(), 1, "one poll, to 3栋 only");
    let sent = fake
        .sent_messages()
        .into_iter()
        .find(|m| m.method == "sendpoll")
        .unwrap();
    assert_eq!(sent.chat_id, GROUP_3);
    assert_eq!(sent.params["is_anonymous"], serde_json::json!(true));

    // Three owners voted 5, 4 and 4.
    fake.push_raw(serde_json::json!({
        "poll": {
            "id": format!("poll-{}-{}", sent.chat_id, sent.message_id),
            "question": "您对小区保洁满意吗?",
            "options": [
                {"text": "1分 很不满意", "voter_count": 0},
                {"text": "2分 不满意", "voter_count": 0},
                {"text": "3分 一般", "voter_count": 0},
                {"text": "4分 满意", "voter_count": 2},
                {"text": "5分 非常满意", "voter_count": 1}
            ],
            "total_voter_count": 3,
            "is_closed": false,
            "is_anonymous": true,
            "type": "regular",
            "allows_multiple_answers": false
        }
    }));
    let mut seen = false;
    for _ in 0..40 {
        fake.push_text(&staff_chat(), &admin(), "/stats");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        if fake
            .texts_to(STAFF_CHAT)
            .iter()
            .any(|t| t.contains("满意度调查 #1:平均 4.3 分(3 票)"))
        {
            seen = true;
            break;
        }
    }
    assert!(seen, "{:?}", fake.texts_to(STAFF_CHAT));
}
