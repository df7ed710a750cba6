//! The outbox under Telegram's limits, end to end and in process: a chat that was
//! told to wait (429 `retry_after`) gets nothing until its window ends, across a
//! restart too; an emergency never waits behind a chat's ordinary posts.

mod support;

use std::time::Duration;
use support::daemon::*;
use support::fake_bot_api::{Failure, FakeBotApi};

/// `n` extra building groups, `楼1` … `楼n`.
fn many_buildings(n: i64) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "\n[[building]]\nname = \"楼{i}\"\nchat = {}\n",
                -200_000 - i
            )
        })
        .collect()
}

fn group_chats(n: i64) -> Vec<i64> {
    (1..=n)
        .map(|i| -200_000 - i)
        .chain([GROUP_3, GROUP_5])
        .collect()
}

/// Wait until every group has received `each` copies of texts containing `needle`.
async fn until_each_group_has(fake: &FakeBotApi, groups: &[i64], needle: &str, each: usize) {
    let groups = groups.to_vec();
    let needle = needle.to_string();
    fake.wait_for(
        move |sent| {
            groups.iter().all(|g| {
                sent.iter()
                    .filter(|m| m.chat_id == *g && m.text.contains(&needle))
                    .count()
                    >= each
            })
        },
        Duration::from_secs(120),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn no_message_reaches_a_chat_inside_its_retry_after_window() {
    let fake = FakeBotApi::start().await;
    let groups = 20;
    let home = Home::new(&fake, &many_buildings(groups));
    let _d = home.start(&fake).await;

    // Three notices back to back: every group has several messages queued and
    // in hand when one of them is told to wait.
    fake.fail_randomly("sendMessage", 0.3, Failure::RetryAfter(2));
    for i in 1..=3 {
        fake.push_text(
            &staff_chat(),
            &admin(),
            &format!("/notice all 第{i}次通知:本周三下午电梯检修"),
        );
    }
    until_each_group_has(&fake, &group_chats(groups), "电梯检修", 3).await;
    fake.clear_failures();
    let told_to_wait = fake
        .failed_calls()
        .iter()
        .filter(|c| matches!(c.outcome, support::fake_bot_api::Outcome::Failed { status: 429, .. }))
        .count();
    assert!(told_to_wait > 5, "the storm happened ({told_to_wait} 429s)");
    let breaches = fake.retry_after_breaches();
    assert!(breaches.is_empty(), "{}", breaches.join("\n"));
    for chat in group_chats(groups) {
        assert_eq!(fake.texts_to(chat).len(), 3, "group {chat}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_inside_a_retry_after_window_still_waits_for_it() {
    let fake = FakeBotApi::start().await;
    let groups = 10;
    let home = Home::new(&fake, &many_buildings(groups));
    let mut d = home.start(&fake).await;

    fake.fail_next("sendMessage", 3, Failure::RetryAfter(5));
    for i in 1..=3 {
        fake.push_text(
            &staff_chat(),
            &admin(),
            &format!("/notice all 第{i}次通知:周五停车场清洗"),
        );
    }
    fake.wait_for_calls(
        |c| {
            c.iter()
                .filter(|c| c.method == "sendmessage" && c.response["error_code"] == 429)
                .count()
                >= 3
        },
        SOON,
    )
    .await
    .unwrap();
    // Killed hard moments after the 429s, with rows of those chats in hand.
    tokio::time::sleep(Duration::from_millis(200)).await;
    d.kill();
    let _d = home.start(&fake).await;
    until_each_group_has(&fake, &group_chats(groups), "停车场清洗", 3).await;
    let breaches = fake.retry_after_breaches();
    assert!(breaches.is_empty(), "{}", breaches.join("\n"));
}
