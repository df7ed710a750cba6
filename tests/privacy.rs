//! What a building group can ever see, tried as an attacker and as an unlucky
//! operator would: staff commands typed in the wrong chat, `/done` summaries
//! full of rooms and phone numbers, `/start` and `/room` in a group, a room
//! button pressed for a request the owner already replaced, and a database URL
//! with a typo. The invariant: a group sees a ticket number, a category and a
//! state. Never a room, a name, a phone number, an amount or a staff note,
//! whoever types what where.
//!
//! The chat tests run the real daemon against the fake Bot API; the URL tests
//! run the real binary.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use regex::Regex;
use serde_json::Value;
use support::daemon::*;
use support::fake_bot_api::{FakeBotApi, FakeChat, FakeUser, SentMessage};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// `who` types `text` in `chat` and the bot's reply comes back.
async fn say(fake: &FakeBotApi, chat: &FakeChat, who: &FakeUser, text: &str) -> SentMessage {
    let m = fake.push_text(chat, who, text);
    wait_reply(fake, chat.id, m.message_id).await
}

/// Press a button and wait for the bot's answer to that press.
async fn press(
    fake: &FakeBotApi,
    who: &FakeUser,
    chat: i64,
    message_id: i64,
    data: &str,
) -> String {
    let before = fake.calls_to("answercallbackquery").len();
    fake.push_callback(who, chat, message_id, data);
    fake.wait_for_calls(
        |c| {
            c.iter()
                .filter(|c| c.method == "answercallbackquery")
                .count()
                > before
        },
        SOON,
    )
    .await
    .unwrap_or_else(|e| panic!("the press of {data:?} was never answered: {e}"));
    fake.calls_to("answercallbackquery")[before]
        .params
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Wait until the bot has asked Telegram to delete message `message_id` of `chat`.
/// The daemon counts deletions against a group's 20-a-minute budget, so a busy
/// group may see one up to a minute later: this waits that long.
async fn wait_deleted(fake: &FakeBotApi, chat: i64, message_id: i64, what: &str) {
    for _ in 0..1400 {
        if fake
            .deletions()
            .iter()
            .any(|d| d.chat_id == chat && d.message_id == message_id)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let asked: Vec<String> = fake
        .calls()
        .iter()
        .filter(|c| c.method != "getupdates")
        .map(|c| format!("{} {} {:?}", c.method, c.params, c.outcome))
        .collect();
    panic!(
        "{what}: the bot never asked to delete message {message_id} in {chat}; calls: {asked:#?}"
    );
}

/// Wait until the current text of a bot message contains `needle`.
async fn wait_current(fake: &FakeBotApi, chat: i64, message_id: i64, needle: &str) {
    for _ in 0..200 {
        if fake
            .current_text(chat, message_id)
            .is_some_and(|t| t.contains(needle))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "message {message_id} in {chat} never showed {needle:?}: {:?}",
        fake.current_text(chat, message_id)
    );
}

/// Everything queued so far in `chat` has been handled: a sentinel FAQ question
/// gets its answer.
async fn settle(fake: &FakeBotApi, chat: &FakeChat) {
    let m = fake.push_text(
        chat,
        &FakeUser::new(1999, "路人"),
        "请问物业服务中心电话多少",
    );
    wait_reply(fake, chat.id, m.message_id).await;
}

/// Everything a chat's members can read from the bot: every text sent, every
/// text an edit put there, the current text of every message after its edits,
/// and the labels of every button. Each item is tagged with where it came from.
fn everything_shown_in(fake: &FakeBotApi, chat: i64) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for m in fake.messages_to(chat) {
        out.push((format!("send #{}", m.message_id), m.text.clone()));
        for b in m.button_texts() {
            out.push((format!("button of #{}", m.message_id), b));
        }
        if let Some(now) = fake.current_text(chat, m.message_id) {
            out.push((format!("current text of #{}", m.message_id), now));
        }
    }
    for e in fake.edits().into_iter().filter(|e| e.chat_id == chat) {
        if let Some(t) = e.text {
            out.push((format!("edit of #{}", e.message_id), t));
        }
        if let Some(markup) = e.reply_markup {
            for row in markup["inline_keyboard"].as_array().into_iter().flatten() {
                for b in row.as_array().into_iter().flatten() {
                    if let Some(t) = b["text"].as_str() {
                        out.push((format!("edited button of #{}", e.message_id), t.into()));
                    }
                }
            }
        }
    }
    out
}

/// Mainland mobile numbers, however they are embedded.
fn mobile() -> Regex {
    Regex::new(r"1[3-9]\d{9}").unwrap()
}

/// Every way `chat` shows something it must not: one line per leak, naming the
/// message, the secret and the text.
fn leaks_in(fake: &FakeBotApi, chat: i64, secrets: &[&str]) -> Vec<String> {
    let phone = mobile();
    let mut found = Vec::new();
    for (place, text) in everything_shown_in(fake, chat) {
        for s in secrets {
            if text.contains(s) {
                found.push(format!("chat {chat}, {place}: shows {s:?} in {text:?}"));
            }
        }
        if let Some(p) = phone.find(&text) {
            found.push(format!(
                "chat {chat}, {place}: shows the phone number {:?} in {text:?}",
                p.as_str()
            ));
        }
    }
    found
}

fn assert_no_leaks(fake: &FakeBotApi, chat: i64, secrets: &[&str]) {
    let leaks = leaks_in(fake, chat, secrets);
    assert!(leaks.is_empty(), "privacy leaks:\n{}", leaks.join("\n"));
}

/// A message that asks the reader for private details, rather than warning them
/// off posting them.
fn asks_for_details(text: &str) -> bool {
    [
        "请告诉我们",
        "请直接回复",
        "请回复",
        "请提供",
        "请发送您的",
        "私聊通道",
    ]
    .iter()
    .any(|w| text.contains(w))
}

// ---------------------------------------------------------------------------
// 1. Staff commands typed in a building group
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn staff_commands_typed_in_a_building_group_show_nothing_there_and_point_to_the_staff_group()
{
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    // A real ticket with a room, a name, a phone number and a staff note.
    let report = fake.push_text(
        &group3(),
        &owner(),
        "3栋2单元501 厨房水管漏水了,麻烦派人来看看",
    );
    wait_reply(&fake, GROUP_3, report.message_id).await;
    fake.wait_for_text(STAFF_CHAT, "工单 #1", SOON)
        .await
        .unwrap();
    let me = FakeChat::private(&owner());
    say(&fake, &me, &owner(), "/start t1").await;
    say(&fake, &me, &owner(), "电话13900139000,晚上七点后在家").await;
    // Wang has been seen, so @wangshifu names someone.
    say(&fake, &staff_chat(), &wang(), "/tickets").await;
    assert!(
        say(&fake, &staff_chat(), &li(), "/claim 1")
            .await
            .text
            .contains("由您负责")
    );
    assert!(
        say(
            &fake,
            &staff_chat(),
            &li(),
            "/note 1 业主说备用钥匙在门卫室"
        )
        .await
        .text
        .contains("已记录")
    );

    let typed = [
        (li(), "/ticket 1"),
        (admin(), "/ticket 1"),
        (li(), "/tickets"),
        (admin(), "/tickets open"),
        (li(), "/tickets mine"),
        (li(), "/ticket@guanjia_test_bot 1"),
        (li(), "/note 1 业主电话13800138000 门锁密码1234"),
        (li(), "/done 1 已更换3栋2单元501的阀门 业主张三13800138000"),
        (li(), "/transfer 1 @wangshifu"),
        (li(), "/claim 1"),
        (admin(), "/reopen 1"),
        (li(), "/broadcasts"),
        (admin(), "/groups"),
        (li(), "/outages"),
    ];
    // Half in each building group, so neither runs into its 20-a-minute budget.
    for (i, (who, text)) in typed.into_iter().enumerate() {
        let group = if i % 2 == 0 { group3() } else { group5() };
        let m = fake.push_text(&group, &who, text);
        let reply = wait_reply(&fake, group.id, m.message_id).await;
        assert!(
            reply.text.contains("员工群") && reply.text.contains("私聊"),
            "{text} typed by {} in a building group: the answer says where to ask: {}",
            who.first_name,
            reply.text
        );
        if text.split_once(' ').is_some() {
            wait_deleted(&fake, group.id, m.message_id, text).await;
        }
    }

    // Nothing either group could read carries a detail of the ticket or its notes.
    for chat in [GROUP_3, GROUP_5] {
        assert_no_leaks(
            &fake,
            chat,
            &[
                "501",
                "2单元",
                "张阿姨",
                "张三",
                "李师傅",
                "王师傅",
                "主管老周",
                "门锁密码",
                "1234",
                "阀门",
                "钥匙",
                "门卫室",
                "厨房水管",
                "七点",
                "chat -100",
            ],
        );
    }

    // And none of them did anything: the ticket is still Li's, open, with no such note.
    let shown = say(&fake, &staff_chat(), &li(), "/ticket 1").await.text;
    assert!(shown.contains("处理中(李师傅)"), "{shown}");
    assert!(
        !shown.contains("门锁密码") && !shown.contains("阀门"),
        "a command typed in the group was run: {shown}"
    );
    assert!(
        !fake
            .texts_to(owner().id)
            .iter()
            .any(|t| t.contains("阀门") || t.contains("打分")),
        "the owner was told of a /done typed in the group: {:?}",
        fake.texts_to(owner().id)
    );

    // Binding a building still happens inside the group.
    let g7 = FakeChat::group(-100_701, "幸福里7栋业主群");
    let bound = say(&fake, &g7, &admin(), "/bind 7栋").await;
    assert!(bound.text.contains("已绑定为 7栋"), "{}", bound.text);
    let unbound = say(&fake, &g7, &admin(), "/unbind").await;
    assert!(unbound.text.contains("已解除"), "{}", unbound.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_commands_typed_in_the_staff_group_or_in_private_still_show_the_details_there() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let report = fake.push_text(&group3(), &owner(), "3栋2单元501 卫生间马桶堵了");
    wait_reply(&fake, GROUP_3, report.message_id).await;
    fake.wait_for_text(STAFF_CHAT, "工单 #1", SOON)
        .await
        .unwrap();
    let in_staff = say(&fake, &staff_chat(), &li(), "/ticket 1").await.text;
    assert!(
        in_staff.contains("501") && in_staff.contains("张阿姨"),
        "{in_staff}"
    );
    let li_private = FakeChat::private(&li());
    let in_private = say(&fake, &li_private, &li(), "/ticket 1").await.text;
    assert!(
        in_private.contains("501") && in_private.contains("张阿姨"),
        "{in_private}"
    );
    // An owner asking in private is still refused.
    let me = FakeChat::private(&neighbour());
    let refused = say(&fake, &me, &neighbour(), "/ticket 1").await.text;
    assert!(
        refused.contains("仅限物业工作人员") && !refused.contains("501"),
        "{refused}"
    );
}

// ---------------------------------------------------------------------------
// 2. The /done summary
// ---------------------------------------------------------------------------

const SUMMARY: &str = "已更换3栋2单元501的阀门 业主张三13800138000";

#[tokio::test(flavor = "multi_thread")]
async fn a_done_summary_reaches_no_group_and_no_reporter_who_never_wrote_to_the_bot() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let report = fake.push_text(&group3(), &owner(), "3栋2单元501 厨房下水道堵了");
    wait_reply(&fake, GROUP_3, report.message_id).await;
    say(&fake, &staff_chat(), &li(), "/claim 1").await;
    say(&fake, &staff_chat(), &li(), &format!("/done 1 {SUMMARY}")).await;
    let ask = fake.wait_for_text(GROUP_3, "打分", SOON).await.unwrap();
    assert!(
        ask.text.contains("#1") && ask.text.contains("完成"),
        "the group sees the state: {}",
        ask.text
    );
    settle(&fake, &group3()).await;
    say(&fake, &staff_chat(), &li(), "/tickets").await;

    assert_no_leaks(&fake, GROUP_3, &["阀门", "501", "张三", "张阿姨", "李师傅"]);
    assert!(
        fake.texts_to(owner().id).is_empty(),
        "the reporter never opened a private chat, so nothing goes there: {:?}",
        fake.texts_to(owner().id)
    );
    for m in fake.sent_messages() {
        if m.chat_id != STAFF_CHAT {
            assert!(
                !m.text.contains("阀门"),
                "the summary reached chat {}: {}",
                m.chat_id,
                m.text
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_done_summary_goes_to_the_reporter_in_private_when_they_have_written_to_the_bot() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    // The owner once said hello in private, before reporting in the group.
    let me = FakeChat::private(&owner());
    say(&fake, &me, &owner(), "你好").await;
    let report = fake.push_text(&group3(), &owner(), "3栋2单元501 厨房下水道堵了");
    wait_reply(&fake, GROUP_3, report.message_id).await;
    say(&fake, &staff_chat(), &li(), "/claim 1").await;
    say(&fake, &staff_chat(), &li(), &format!("/done 1 {SUMMARY}")).await;

    let private = fake.wait_for_text(owner().id, "阀门", SOON).await.unwrap();
    assert!(
        private.text.contains("#1") && private.text.contains(SUMMARY),
        "{}",
        private.text
    );
    let ask = fake.wait_for_text(GROUP_3, "打分", SOON).await.unwrap();
    assert!(!ask.text.contains("阀门"), "{}", ask.text);
    settle(&fake, &group3()).await;
    assert_no_leaks(&fake, GROUP_3, &["阀门", "501", "张三", "张阿姨", "李师傅"]);
    // A neighbour in the same group hears nothing of it in private either.
    assert!(fake.texts_to(neighbour().id).is_empty());
}

// ---------------------------------------------------------------------------
// 3. A whole ticket life, as the group sees it
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn across_a_whole_ticket_life_the_group_sees_only_number_category_and_state() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    // Wang has been seen, so @wangshifu names someone.
    say(&fake, &staff_chat(), &wang(), "/tickets").await;

    // The owner puts the room and the phone number in the report itself.
    let report = fake.push_text(
        &group3(),
        &owner(),
        "3栋2单元501 卫生间水管漏水了,楼下都渗了,我电话13800138000",
    );
    let ack = wait_reply(&fake, GROUP_3, report.message_id).await;
    assert!(ack.text.contains("#1"), "{}", ack.text);
    let post = fake
        .wait_for_text(STAFF_CHAT, "工单 #1", SOON)
        .await
        .unwrap();

    // Private details through the deep link.
    let me = FakeChat::private(&owner());
    say(&fake, &me, &owner(), "/start t1").await;
    say(
        &fake,
        &me,
        &owner(),
        "我是张阿姨,电话13800138000,门禁密码1234,下午在家",
    )
    .await;

    // Claimed with the button, transferred, noted.
    press(&fake, &li(), STAFF_CHAT, post.message_id, "claim:1").await;
    fake.wait_for_text(GROUP_3, "已有工作人员负责", SOON)
        .await
        .unwrap();
    let moved = say(&fake, &staff_chat(), &li(), "/transfer 1 @wangshifu").await;
    assert!(moved.text.contains("王师傅"), "{}", moved.text);
    say(
        &fake,
        &staff_chat(),
        &wang(),
        "/note 1 业主电话13800138000 门锁密码1234",
    )
    .await;

    // Finished with a summary full of private details, and an amount.
    say(
        &fake,
        &staff_chat(),
        &wang(),
        "/done 1 已更换3栋2单元501的阀门,材料费386元,业主张阿姨13800138000",
    )
    .await;
    let first_ask = fake.wait_for_text(GROUP_3, "打分", SOON).await.unwrap();

    // One star reopens it; finished again; five stars.
    press(&fake, &owner(), GROUP_3, first_ask.message_id, "rate:1:1").await;
    fake.wait_for_text(GROUP_3, "很抱歉", SOON).await.unwrap();
    fake.wait_for_text(STAFF_CHAT, "回访", SOON).await.unwrap();
    say(
        &fake,
        &staff_chat(),
        &wang(),
        "/done 1 二次上门:501阀门重新密封,收费386元,已电话13800138000回访",
    )
    .await;
    let second_ask = fake
        .wait_for(
            |s| {
                s.iter()
                    .filter(|m| m.chat_id == GROUP_3 && m.text.contains("打分"))
                    .count()
                    >= 2
            },
            SOON,
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.chat_id == GROUP_3 && m.text.contains("打分"))
        .nth(1)
        .unwrap();
    // Whether the second round may be rated is not this file's business (see
    // tests/desk_bot.rs); whatever it sends must be as discreet as the rest.
    let answer = press(&fake, &owner(), GROUP_3, second_ask.message_id, "rate:1:5").await;
    if !answer.contains("已经评价过") {
        fake.wait_for_text(GROUP_3, "5 星", SOON).await.unwrap();
        wait_current(&fake, GROUP_3, ack.message_id, "已关闭").await;
    }
    settle(&fake, &group3()).await;

    let secrets = [
        "李师傅",
        "王师傅",
        "张阿姨",
        "张三",
        "501",
        "2单元",
        "386",
        "阀门",
        "门锁密码",
        "门禁密码",
        "1234",
        "下午在家",
        "二次上门",
        "重新密封",
    ];
    assert_no_leaks(&fake, GROUP_3, &secrets);
    // Nothing about this ticket reached the other building.
    assert!(
        fake.texts_to(GROUP_5).is_empty(),
        "{:?}",
        fake.texts_to(GROUP_5)
    );
    // The state is what the group does see.
    let shown: Vec<String> = everything_shown_in(&fake, GROUP_3)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    for state in ["已受理", "已有工作人员负责", "完成"] {
        assert!(
            shown.iter().any(|t| t.contains(state)),
            "the group never saw {state:?}: {shown:#?}"
        );
    }
}

// ---------------------------------------------------------------------------
// 3b. Broadcasts an unlucky operator fills with an owner's details
// ---------------------------------------------------------------------------

fn day_ahead(days: i64) -> String {
    (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai) + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// Staff paste an owner's room, name and phone number into a notice and into an
/// outage reason. The groups must not get them (refusing the broadcast and
/// telling staff why is one way); the staff group hears why either way.
#[tokio::test(flavor = "multi_thread")]
async fn a_notice_or_outage_reason_pasted_with_an_owners_room_and_phone_does_not_reach_the_groups()
{
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let notice = say(
        &fake,
        &staff_chat(),
        &admin(),
        "/notice 3栋 请3栋2单元501业主张三尽快挪车,电话13800138000",
    )
    .await;
    let day = day_ahead(2);
    let outage = say(
        &fake,
        &staff_chat(),
        &admin(),
        &format!("/outage 3栋 停水 {day} 09:00 18:00 3栋2单元501张三家水管爆裂抢修(13800138000)"),
    )
    .await;
    settle(&fake, &group3()).await;
    // Whatever was queued has had its chance to go out: both delivery reports
    // came, or (if the broadcasts were refused) none will.
    let _ = fake
        .wait_for(
            |s| {
                s.iter()
                    .filter(|m| m.chat_id == STAFF_CHAT && m.text.contains("已送达"))
                    .count()
                    >= 2
            },
            SOON,
        )
        .await;
    settle(&fake, &group3()).await;
    let leaks = leaks_in(&fake, GROUP_3, &["501", "2单元", "张三"]);
    assert!(
        leaks.is_empty(),
        "staff were told {:?} and {:?}; privacy leaks:\n{}",
        notice.text,
        outage.text,
        leaks.join("\n")
    );
}

// ---------------------------------------------------------------------------
// 4. /start and /room in a group
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn start_with_a_ticket_typed_in_a_group_asks_for_nothing_there() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let report = fake.push_text(&group3(), &owner(), "3栋2单元501 门口的路灯坏了");
    wait_reply(&fake, GROUP_3, report.message_id).await;
    for text in [
        "/start t1",
        "/start",
        "/start@guanjia_test_bot t1",
        "/mytickets",
    ] {
        let reply = say(&fake, &group3(), &owner(), text).await;
        assert!(
            !asks_for_details(&reply.text),
            "{text} in a group asks for details there: {}",
            reply.text
        );
        assert!(
            reply.text.contains("私聊"),
            "{text}: the owner is pointed to a private chat: {}",
            reply.text
        );
    }
    for (place, text) in everything_shown_in(&fake, GROUP_3) {
        assert!(
            !asks_for_details(&text),
            "the group is asked for details ({place}): {text}"
        );
    }
    assert_no_leaks(&fake, GROUP_3, &["501", "2单元", "张阿姨", "路灯"]);
}

/// A building whose name says nothing about where (东区): a report there names
/// no place, and the owner is asked for it, through the private button only.
#[tokio::test(flavor = "multi_thread")]
async fn a_report_without_a_place_asks_for_the_room_only_through_the_private_button() {
    let fake = FakeBotApi::start().await;
    let east = FakeChat::group(-100_601, "幸福里东区业主群");
    let home = Home::new(&fake, "\n[[building]]\nname = \"东区\"\nchat = -100601\n");
    let _d = home.start(&fake).await;

    let ack = say(&fake, &east, &owner(), "厨房的水龙头一直在滴水关不紧").await;
    assert!(ack.text.contains("#1"), "{}", ack.text);
    assert!(
        !asks_for_details(&ack.text),
        "the group is asked to reply with details: {}",
        ack.text
    );
    let mut links: Vec<String> = Vec::new();
    for row in ack
        .reply_markup
        .as_ref()
        .and_then(|m| m["inline_keyboard"].as_array())
        .into_iter()
        .flatten()
    {
        for b in row.as_array().into_iter().flatten() {
            if let Some(u) = b["url"].as_str() {
                links.push(u.to_string());
            }
        }
    }
    assert!(
        links.iter().any(|u| u.ends_with("?start=t1")),
        "the way to give the room is a private deep link: {links:?}"
    );
    // The owner answers in the group anyway: the bot echoes nothing of it.
    let m = fake.push_text(&east, &owner(), "是东区8栋1单元1203,电话13800138000");
    let _ = fake
        .wait_for(
            |s| {
                s.iter()
                    .any(|x| x.chat_id == east.id && x.reply_to_message_id == Some(m.message_id))
            },
            Duration::from_secs(3),
        )
        .await;
    settle(&fake, &east).await;
    assert_no_leaks(&fake, east.id, &["1203", "8栋", "张阿姨"]);
}

/// A staff command in a group the desk does not serve (neither a building nor
/// the staff group) shows nothing there either.
#[tokio::test(flavor = "multi_thread")]
async fn staff_commands_typed_in_a_group_the_desk_does_not_serve_show_nothing_there() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let report = fake.push_text(&group3(), &owner(), "3栋2单元501 卫生间马桶堵了");
    wait_reply(&fake, GROUP_3, report.message_id).await;
    fake.wait_for_text(STAFF_CHAT, "工单 #1", SOON)
        .await
        .unwrap();
    let stranger = FakeChat::group(-100_999, "隔壁小区闲聊群");
    for text in ["/ticket 1", "/tickets", "/groups", "/broadcasts"] {
        fake.push_text(&stranger, &li(), text);
    }
    // Answered or ignored, each has had its turn once the desk answers in a
    // building group after them.
    let last = fake.push_text(&stranger, &li(), "/ticket 1");
    let _ = fake
        .wait_for(
            |s| {
                s.iter().any(|x| {
                    x.chat_id == stranger.id && x.reply_to_message_id == Some(last.message_id)
                })
            },
            Duration::from_secs(3),
        )
        .await;
    settle(&fake, &group3()).await;
    assert_no_leaks(
        &fake,
        stranger.id,
        &["501", "2单元", "张阿姨", "马桶", "3栋", "chat -100"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn room_typed_in_a_group_is_neither_echoed_nor_registered_and_is_taken_down() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    for text in [
        "/room 3-1-1702",
        "/room 3栋1单元1702",
        "/room@guanjia_test_bot 3-1-1702",
    ] {
        let m = fake.push_text(&group3(), &owner(), text);
        let reply = wait_reply(&fake, GROUP_3, m.message_id).await;
        assert!(
            reply.text.contains("私聊"),
            "{text}: the owner is pointed to a private chat: {}",
            reply.text
        );
        wait_deleted(&fake, GROUP_3, m.message_id, text).await;
    }
    assert_no_leaks(&fake, GROUP_3, &["1702", "3-1", "1单元", "张阿姨"]);

    // The same command in private does reach staff: exactly one request, the private one.
    let me = FakeChat::private(&owner());
    let m = fake.push_text(&me, &owner(), "/room 3-2-502");
    wait_reply(&fake, me.id, m.message_id).await;
    fake.wait_for_text(STAFF_CHAT, "申请登记房号", SOON)
        .await
        .unwrap();
    settle(&fake, &group3()).await;
    let requests: Vec<String> = fake
        .texts_to(STAFF_CHAT)
        .into_iter()
        .filter(|t| t.contains("申请登记房号"))
        .collect();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(
        requests[0].contains("502") && !requests[0].contains("1702"),
        "{requests:?}"
    );
}

// ---------------------------------------------------------------------------
// 5. Room confirmation and fee reminders
// ---------------------------------------------------------------------------

const LEDGER: &str = "楼栋,单元,房号,金额,账期,截止日期\n\
3栋,2,501,1280.50,2026年11月,2026-12-31\n\
3栋,2,502,999.00,2026年11月,2026-12-31\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_room_button_for_a_superseded_request_confirms_nothing_and_no_neighbour_fee_reaches_the_owner()
 {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let csv = home.dir.path().join("fees.csv");
    std::fs::write(&csv, LEDGER).unwrap();
    let out = home.cli(&["fees", "import", csv.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _d = home.start(&fake).await;

    let me = FakeChat::private(&owner());
    say(&fake, &me, &owner(), "/room 3-2-501").await;
    let first = fake
        .wait_for_text(STAFF_CHAT, "3栋2单元501", SOON)
        .await
        .unwrap();
    say(&fake, &me, &owner(), "/room 3-2-502").await;
    let second = fake
        .wait_for_text(STAFF_CHAT, "3栋2单元502", SOON)
        .await
        .unwrap();
    let ok = |post: &SentMessage| {
        let i = post
            .button_texts()
            .iter()
            .position(|t| t.contains("确认"))
            .expect("a confirm button");
        post.callback_data()[i].clone()
    };

    // ✅ under the first (501) post.
    let answer = press(&fake, &li(), STAFF_CHAT, first.message_id, &ok(&first)).await;
    assert!(
        answer.contains("作废") || answer.contains("新的"),
        "the press says the request was superseded: {answer:?}"
    );
    settle(&fake, &me).await;
    assert!(
        !fake
            .texts_to(owner().id)
            .iter()
            .any(|t| t.contains("已确认")),
        "the owner was confirmed by a button for another request: {:?}",
        fake.texts_to(owner().id)
    );

    // Fees now: the owner has no confirmed room, so no amount at all.
    let queued = say(&fake, &staff_chat(), &admin(), "/remind_fees").await;
    assert!(queued.text.contains("0 位"), "{}", queued.text);
    fake.wait_for_text(STAFF_CHAT, "已送达", SOON)
        .await
        .unwrap();
    settle(&fake, &me).await;
    for t in fake.texts_to(owner().id) {
        assert!(
            !t.contains("1280") && !t.contains("999"),
            "the owner got an amount before any room was confirmed: {t}"
        );
    }

    // ✅ under the second (502) post: 502, and only 502.
    let answer = press(&fake, &li(), STAFF_CHAT, second.message_id, &ok(&second)).await;
    assert!(!answer.contains("作废"), "{answer}");
    let confirmed = fake
        .wait_for_text(owner().id, "已确认", SOON)
        .await
        .unwrap();
    assert!(
        confirmed.text.contains("502") && !confirmed.text.contains("501"),
        "{}",
        confirmed.text
    );
    // The stale 501 button pressed again still changes nothing.
    let answer = press(&fake, &wang(), STAFF_CHAT, first.message_id, &ok(&first)).await;
    assert!(
        answer.contains("作废") || answer.contains("处理过") || answer.contains("失效"),
        "{answer:?}"
    );

    let queued = say(&fake, &staff_chat(), &admin(), "/remind_fees").await;
    assert!(queued.text.contains("1 位"), "{}", queued.text);
    let private = fake
        .wait_for_text(owner().id, "999.00", SOON)
        .await
        .unwrap();
    assert!(private.text.contains("502"), "{}", private.text);
    settle(&fake, &me).await;
    for t in fake.texts_to(owner().id) {
        let neighbours_fee = t.contains("1280") || (t.contains("物业费") && t.contains("501"));
        assert!(!neighbours_fee, "the owner sees the neighbour's fee: {t}");
    }
    for chat in [GROUP_3, GROUP_5] {
        assert_no_leaks(&fake, chat, &["1280", "999", "501", "502", "张阿姨"]);
    }
}

// ---------------------------------------------------------------------------
// 6. Database URLs never print their password
// ---------------------------------------------------------------------------

/// A config for `guanjia` in its own folder under `dir`, with `url` as the
/// database; no Telegram is reached.
fn config_with_url(dir: &Path, name: &str, url: &str) -> PathBuf {
    config_with_lines(
        dir,
        name,
        &format!("url = \"{url}\""),
        "token = \"123456:TEST\"",
    )
}

/// A config whose `[database]` and `[telegram]` sections hold these lines as typed.
fn config_with_lines(dir: &Path, name: &str, database: &str, telegram: &str) -> PathBuf {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("intents");
    let config = format!(
        r#"
[telegram]
{telegram}
api_url = "http://127.0.0.1:9/"

[database]
{database}

[desk]
timezone = "Asia/Shanghai"
staff_chat = {STAFF_CHAT}
admins = [{ADMIN}]
rules_dir = "{rules}"

[[building]]
name = "3栋"
chat = {GROUP_3}
"#,
        rules = rules.display(),
    );
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join("guanjia.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// One run of the binary: what it printed (stdout and stderr) and whether it succeeded.
struct Run {
    what: String,
    printed: String,
    ok: bool,
}

fn run_guanjia(what: String, config: &Path, env_url: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_guanjia"));
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env_remove("TELOXIDE_TOKEN")
        .env_remove("TELOXIDE_API_URL")
        .env_remove("DATABASE_URL")
        // As much as it would ever log or print.
        .env("RUST_LOG", "trace")
        .env("RUST_BACKTRACE", "1");
    if let Some(url) = env_url {
        cmd.env("DATABASE_URL", url);
    }
    let out = cmd.output().expect("guanjia runs");
    Run {
        what,
        printed: format!(
            "stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        ok: out.status.success(),
    }
}

/// Run every job at once (a refused connection takes the pool's whole connect
/// timeout to fail), and list the runs that printed `secret`.
fn printed_secret(
    jobs: Vec<(String, PathBuf, Option<String>, Vec<String>)>,
    secret: &str,
) -> Vec<String> {
    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(what, config, env_url, args)| {
                s.spawn(move || {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    run_guanjia(what.clone(), config, env_url.as_deref(), &args)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &runs {
        // `check` reads the config but does not connect; everything else must fail.
        assert!(
            !r.ok || r.what.contains("guanjia check"),
            "{} cannot succeed:\n{}",
            r.what,
            r.printed
        );
    }
    runs.into_iter()
        .filter(|r| r.printed.contains(secret))
        .map(|r| format!("{}:\n{}", r.what, r.printed))
        .collect()
}

#[test]
fn a_database_url_with_a_typo_or_a_bad_port_never_prints_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("fees.csv");
    std::fs::write(&csv, LEDGER).unwrap();
    let csv = csv.to_str().unwrap().to_string();
    let harmless = config_with_url(dir.path(), "harmless", "sqlite://unused.db");
    let mut jobs = Vec::new();
    for (i, url) in [
        // A typo in the scheme.
        "postgress://app:s3cret@127.0.0.1/db",
        // A port that is not a number.
        "postgres://app:s3cret@127.0.0.1:notaport/db",
        // Nothing listens there: connection refused.
        "postgres://app:s3cret@127.0.0.1:1/db",
    ]
    .into_iter()
    .enumerate()
    {
        let in_config = config_with_url(dir.path(), &format!("case{i}"), url);
        jobs.push((
            format!("config url {url}, `guanjia inbox`"),
            in_config.clone(),
            None,
            vec!["inbox".into()],
        ));
        jobs.push((
            format!("config url {url}, `guanjia fees import`"),
            in_config,
            None,
            vec!["fees".into(), "import".into(), csv.clone()],
        ));
        jobs.push((
            format!("DATABASE_URL {url}, `guanjia inbox`"),
            harmless.clone(),
            Some(url.to_string()),
            vec!["inbox".into()],
        ));
    }
    let leaks = printed_secret(jobs, "s3cret");
    assert!(
        leaks.is_empty(),
        "the password was printed:\n{}",
        leaks.join("\n----\n")
    );
}

#[test]
fn a_database_url_mistyped_in_other_ways_never_prints_its_password_either() {
    let dir = tempfile::tempdir().unwrap();
    let harmless = config_with_url(dir.path(), "harmless", "sqlite://unused.db");
    let mut jobs = Vec::new();
    for url in [
        // The colon of the scheme forgotten.
        "postgres//app:s3cret@127.0.0.1/db",
        // One slash instead of two.
        "postgres:/app:s3cret@127.0.0.1/db",
        // No scheme at all.
        "app:s3cret@127.0.0.1/db",
        // A password with characters URLs reserve, typed as is.
        "postgres://app:s3cret/x@127.0.0.1/db",
        "postgres://app:s3cret#1@127.0.0.1/db",
    ] {
        for cmd in ["inbox", "check"] {
            jobs.push((
                format!("DATABASE_URL {url}, `guanjia {cmd}`"),
                harmless.clone(),
                Some(url.to_string()),
                vec![cmd.to_string()],
            ));
        }
    }
    let leaks = printed_secret(jobs, "s3cret");
    assert!(
        leaks.is_empty(),
        "the password was printed:\n{}",
        leaks.join("\n----\n")
    );
}

#[test]
fn a_config_line_typed_without_its_quotes_never_prints_the_password_or_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let token = "token = \"123456:TEST\"";
    let url = "url = \"sqlite://unused.db\"";
    let mut jobs = Vec::new();
    for (i, (database, telegram)) in [
        ("url = postgres://app:s3cret@127.0.0.1/db", token),
        ("url = \"postgres://app:s3cret@127.0.0.1/db", token),
        ("url = 'postgres://app:s3cret@127.0.0.1/db\"", token),
        (url, "token = 123456:s3cretTOKEN"),
        (url, "token = \"123456:s3cretTOKEN"),
    ]
    .into_iter()
    .enumerate()
    {
        let config = config_with_lines(dir.path(), &format!("case{i}"), database, telegram);
        for cmd in ["inbox", "check"] {
            jobs.push((
                format!("config lines {database:?} / {telegram:?}, `guanjia {cmd}`"),
                config.clone(),
                None,
                vec![cmd.to_string()],
            ));
        }
    }
    let leaks = printed_secret(jobs, "s3cret");
    assert!(
        leaks.is_empty(),
        "a secret was printed:\n{}",
        leaks.join("\n----\n")
    );
}
