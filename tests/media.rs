//! Photos and voice messages, against the real daemon and a fake Bot API: what
//! owners actually send. A photo goes to staff with its ticket and never back into
//! a group; a voice message is answered and sorted by staff; staff send the
//! finished job's photo to the owner in private.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::daemon::*;
use support::fake_bot_api::{FakeBotApi, FakeChat, SentMessage};

fn media_to(fake: &FakeBotApi, chat: i64, method: &str) -> Vec<SentMessage> {
    fake.messages_to(chat)
        .into_iter()
        .filter(|m| m.method == method)
        .collect()
}

fn file_of(m: &SentMessage) -> String {
    let field = m.method.trim_start_matches("send");
    m.params
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn button_answers(fake: &FakeBotApi) -> Vec<String> {
    fake.calls_to("answercallbackquery")
        .iter()
        .filter_map(|c| {
            c.params
                .get("text")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .collect()
}

/// The 待分类 post with its buttons (the file itself goes just before it).
async fn unsorted_post(fake: &FakeBotApi) -> SentMessage {
    let pick = |s: &[SentMessage]| {
        s.iter()
            .find(|m| {
                m.method == "sendmessage" && m.chat_id == STAFF_CHAT && m.text.contains("待分类")
            })
            .cloned()
    };
    let sent = fake.wait_for(|s| pick(s).is_some(), SOON).await.unwrap();
    pick(&sent).unwrap()
}

/// Wait until message `id` in the staff group was edited to say `needle`.
async fn wait_edit(fake: &FakeBotApi, id: i64, needle: &str) {
    for _ in 0..100 {
        if fake.edits().iter().any(|e| {
            e.chat_id == STAFF_CHAT
                && e.message_id == id
                && e.text.as_deref().is_some_and(|t| t.contains(needle))
        }) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "message {id} was never edited to say {needle:?}: {:?}",
        fake.edits()
    );
}

/// Nothing any group received names a file, a photo or a voice message.
fn groups_saw_no_media(fake: &FakeBotApi) {
    for chat in [GROUP_3, GROUP_5] {
        for m in fake.messages_to(chat) {
            assert_eq!(m.method, "sendmessage", "a file went to a group: {m:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_photo_with_a_report_reaches_staff_with_its_ticket_and_never_a_group() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let m = fake.push_photo(
        &group3(),
        &owner(),
        "leak-photo-1",
        Some("2单元501 厨房水管漏水了"),
        None,
    );
    let ack = wait_reply(&fake, GROUP_3, m.message_id).await;
    assert!(ack.text.contains("#1"), "{}", ack.text);
    let photo = fake
        .wait_for(|s| s.iter().any(|m| m.method == "sendphoto"), SOON)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.method == "sendphoto")
        .unwrap();
    assert_eq!(photo.chat_id, STAFF_CHAT);
    assert_eq!(file_of(&photo), "leak-photo-1", "the largest size is kept");
    assert!(photo.text.contains("#1"), "{}", photo.text);
    // The ticket post itself says where, from the caption and the group.
    let post = fake
        .wait_for_text(STAFF_CHAT, "工单 #1 ", SOON)
        .await
        .unwrap();
    assert!(post.text.contains("3栋2单元501"), "{}", post.text);
    groups_saw_no_media(&fake);
}

#[tokio::test(flavor = "multi_thread")]
async fn photos_right_after_a_report_join_its_ticket_and_are_thanked_for_once() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let report = fake.push_text(&group3(), &owner(), "卫生间天花板渗水了");
    wait_reply(&fake, GROUP_3, report.message_id).await;
    // An album of two photos, no caption.
    fake.push_photo(&group3(), &owner(), "ceiling-1", None, Some("album-7"));
    fake.push_photo(&group3(), &owner(), "ceiling-2", None, Some("album-7"));
    let photos = fake
        .wait_for(
            |s| s.iter().filter(|m| m.method == "sendphoto").count() >= 2,
            SOON,
        )
        .await
        .unwrap();
    let files: Vec<String> = photos
        .iter()
        .filter(|m| m.method == "sendphoto")
        .inspect(|m| {
            assert_eq!(m.chat_id, STAFF_CHAT);
            assert!(m.text.contains("工单 #1"), "{}", m.text);
        })
        .map(file_of)
        .collect();
    assert_eq!(files, ["ceiling-1", "ceiling-2"]);
    // A neighbour's unrelated photo right after is nobody's report: silence.
    fake.push_photo(&group3(), &neighbour(), "sunset", None, None);
    let sentinel = fake.push_text(&group3(), &neighbour(), "物业费怎么交");
    wait_reply(&fake, GROUP_3, sentinel.message_id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let thanks: Vec<String> = fake
        .texts_to(GROUP_3)
        .into_iter()
        .filter(|t| t.contains("已补充到工单 #1"))
        .collect();
    assert_eq!(thanks.len(), 1, "thanked once for the album: {thanks:?}");
    assert_eq!(media_to(&fake, STAFF_CHAT, "sendphoto").len(), 2);
    // Staff looking the ticket up later see the photos again.
    let history = staff_says(&fake, "/ticket 1").await;
    assert!(history.contains("附件 2 个"), "{history}");
    let again = fake
        .wait_for(
            |s| s.iter().filter(|m| m.method == "sendphoto").count() >= 4,
            SOON,
        )
        .await
        .unwrap();
    assert!(
        again
            .iter()
            .filter(|m| m.method == "sendphoto")
            .skip(2)
            .all(|m| m.chat_id == STAFF_CHAT && m.text.contains("附件")),
        "{again:?}"
    );
    groups_saw_no_media(&fake);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_voice_message_is_answered_and_staff_make_it_a_ticket_once() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let v = fake.push_voice(&group5(), &owner(), "voice-1");
    let answer = wait_reply(&fake, GROUP_5, v.message_id).await;
    assert!(
        answer.text.contains("语音") && answer.text.contains("文字"),
        "{}",
        answer.text
    );
    let voice = fake
        .wait_for(|s| s.iter().any(|m| m.method == "sendvoice"), SOON)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.method == "sendvoice")
        .unwrap();
    assert_eq!(
        (voice.chat_id, file_of(&voice).as_str()),
        (STAFF_CHAT, "voice-1")
    );
    let post = unsorted_post(&fake).await;
    assert!(
        post.text.contains("5栋") && post.text.contains("张阿姨"),
        "{}",
        post.text
    );
    let data = post.callback_data();
    let repair = data
        .iter()
        .find(|d| d.starts_with("us:repair:"))
        .expect("a repair button")
        .clone();
    assert!(data.iter().any(|d| d.starts_with("us:ignore:")), "{data:?}");

    // A second voice message soon after reaches staff, without asking again.
    let v2 = fake.push_voice(&group5(), &owner(), "voice-2");
    fake.wait_for(
        |s| s.iter().filter(|m| m.method == "sendvoice").count() >= 2,
        SOON,
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !fake
            .messages_to(GROUP_5)
            .iter()
            .any(|m| m.reply_to_message_id == Some(v2.message_id)),
        "the owner was asked for text once"
    );

    // Staff press 报修 twice (two people at once): one ticket.
    fake.push_callback(&li(), STAFF_CHAT, post.message_id, &repair);
    fake.push_callback(&wang(), STAFF_CHAT, post.message_id, &repair);
    let ack = fake.wait_for_text(GROUP_5, "#1", SOON).await.unwrap();
    assert_eq!(ack.reply_to_message_id, Some(v.message_id));
    assert!(!ack.text.contains("张阿姨"), "{}", ack.text);
    let ticket = fake
        .wait_for_text(STAFF_CHAT, "工单 #1 ", SOON)
        .await
        .unwrap();
    assert!(ticket.text.contains("5栋"), "{}", ticket.text);
    fake.wait_for_calls(
        |c| {
            c.iter()
                .filter(|c| c.method == "answercallbackquery")
                .count()
                >= 2
        },
        SOON,
    )
    .await
    .unwrap();
    wait_edit(&fake, post.message_id, "已转为报修工单 #1").await;
    assert!(
        button_answers(&fake)
            .iter()
            .any(|t| t.contains("其他同事") || t.contains("已转为工单 #1")),
        "{:?}",
        button_answers(&fake)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        fake.texts_to(STAFF_CHAT)
            .iter()
            .all(|t| !t.contains("工单 #2 ")),
        "one press opened one ticket"
    );
    groups_saw_no_media(&fake);
}

#[tokio::test(flavor = "multi_thread")]
async fn text_after_a_voice_message_makes_the_ticket_and_takes_the_voice_along() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let v = fake.push_voice(&group3(), &owner(), "voice-9");
    wait_reply(&fake, GROUP_3, v.message_id).await;
    let post = unsorted_post(&fake).await;
    let t = fake.push_text(&group3(), &owner(), "就是刚才说的 楼道灯坏了");
    let ack = wait_reply(&fake, GROUP_3, t.message_id).await;
    assert!(ack.text.contains("#1"), "{}", ack.text);
    wait_edit(&fake, post.message_id, "并入工单 #1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_send_the_finished_job_photo_to_the_owner_in_private_only() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let report = fake.push_text(&group3(), &owner(), "2单元楼道灯不亮了");
    wait_reply(&fake, GROUP_3, report.message_id).await;
    // The owner opened a private chat with the bot (the ticket's private button).
    let me = FakeChat::private(&owner());
    let start = fake.push_text(&me, &owner(), "/start t1");
    wait_reply(&fake, me.id, start.message_id).await;

    // A photo without a ticket number is not a finished-job photo.
    let li_chat = FakeChat::private(&li());
    let done = fake.push_photo(&li_chat, &li(), "fixed-1", Some("#1 换了灯泡"), None);
    let told = wait_reply(&fake, li_chat.id, done.message_id).await;
    assert!(told.text.contains("私聊发给了业主"), "{}", told.text);
    let sent = fake
        .wait_for(
            |s| {
                s.iter()
                    .any(|m| m.method == "sendphoto" && m.chat_id == me.id)
            },
            SOON,
        )
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.method == "sendphoto" && m.chat_id == me.id)
        .unwrap();
    assert_eq!(file_of(&sent), "fixed-1");
    assert!(
        sent.text.contains("#1") && sent.text.contains("换了灯泡"),
        "{}",
        sent.text
    );

    // A wrong number is named, and nothing is sent.
    let wrong = fake.push_photo(&li_chat, &li(), "fixed-2", Some("#99"), None);
    let told = wait_reply(&fake, li_chat.id, wrong.message_id).await;
    assert!(told.text.contains("#99"), "{}", told.text);
    assert_eq!(media_to(&fake, me.id, "sendphoto").len(), 1);
    groups_saw_no_media(&fake);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_photo_alone_in_private_is_asked_about() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;
    let me = FakeChat::private(&neighbour());
    let p = fake.push_photo(&me, &neighbour(), "what-is-this", None, None);
    let reply = wait_reply(&fake, me.id, p.message_id).await;
    assert!(
        reply.text.contains("照片") && reply.text.contains("楼栋房号"),
        "{}",
        reply.text
    );
    assert!(media_to(&fake, STAFF_CHAT, "sendphoto").is_empty());
}
