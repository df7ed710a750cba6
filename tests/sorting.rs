//! What the desk does with what it does not understand, and how staff correct
//! it: never silent to someone who addressed it, silent on group chatter, and
//! every correction kept as a labelled example.

mod support;

use guanjia::domain::Actor;
use serde_json::Value;
use support::daemon::{self, GROUP_3, Home, SOON, group3, owner, wait_reply};
use support::fake_bot_api::FakeBotApi;
use support::inprocess::{ADMIN, G3, STAFF, at, world};

const OWNER: i64 = 2001;

#[tokio::test(flavor = "multi_thread")]
async fn whoever_addresses_the_desk_is_answered_and_group_chatter_stays_silent() {
    let w = world(at(2026, 11, 30, 9, 0), |_| {}).await;
    // Nothing in the rules explains this one.
    let puzzling = "那个事怎么样了";

    // In private: a colleague will answer; staff get it to sort.
    w.desk
        .on_message(&w.msg(OWNER, OWNER, puzzling))
        .await
        .unwrap();
    // Said in the group to nobody in particular: silence.
    w.desk
        .on_message(&w.msg(G3, OWNER + 1, puzzling))
        .await
        .unwrap();
    w.desk
        .on_message(&w.msg(G3, OWNER + 1, "哈哈哈 今天太阳真好"))
        .await
        .unwrap();
    // Said to the bot in the group (a mention or a reply to it): answered.
    let mut mention = w.msg(G3, OWNER + 2, &format!("@bot {puzzling}"));
    mention.addressed = true;
    w.desk.on_message(&mention).await.unwrap();
    // Thanks said to the bot: a short hello, no colleague's time.
    let mut thanks = w.msg(G3, OWNER + 3, "谢谢管家");
    thanks.addressed = true;
    w.desk.on_message(&thanks).await.unwrap();
    w.drain().await;

    let private = w.sent.texts_to(OWNER);
    assert_eq!(private.len(), 1, "{private:?}");
    assert!(private[0].contains("转给客服同事"), "{}", private[0]);
    let group = w.sent.texts_to(G3);
    assert_eq!(group.len(), 2, "only the two said to the bot: {group:?}");
    assert!(
        group[0].contains("转给客服同事") && !group[0].contains("501"),
        "{}",
        group[0]
    );
    assert!(group[1].contains("管家助手"), "{}", group[1]);
    let staff = w.sent.texts_to(STAFF);
    assert_eq!(staff.len(), 2, "{staff:?}");
    assert!(
        staff[0].contains("待分类 1:私聊") && staff[0].contains(puzzling),
        "{}",
        staff[0]
    );
    assert!(staff[1].contains("待分类 2:3栋"), "{}", staff[1]);
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_corrections_move_the_ticket_and_are_exported_as_examples() {
    let w = world(at(2026, 11, 30, 9, 0), |_| {}).await;
    let report = "3栋2单元501 楼上装修漏水到我家厨房了";
    w.desk.on_message(&w.msg(G3, OWNER, report)).await.unwrap();
    // Posted before staff correct it, so the correction edits the post (a
    // post still queued would be rewritten instead, and no edit is seen).
    w.drain().await;
    let say = |text: &str| w.msg(STAFF, ADMIN, text);
    let one = "1".parse().unwrap();
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();

    w.desk
        .reclassify(&say("/reclassify"), one, &words("投诉 装修"))
        .await
        .unwrap();
    w.desk
        .reclassify(&say("/reclassify"), one, &words("吐槽"))
        .await
        .unwrap();
    w.drain().await;
    let t = w
        .desk
        .store()
        .ticket("1".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (t.intent.as_str(), t.category.as_deref()),
        ("complaint", Some("renovation"))
    );
    let staff = w.sent.texts_to(STAFF);
    assert!(
        staff.iter().any(|t| t.contains("已改为 投诉·装修")),
        "{staff:?}"
    );
    assert!(
        staff
            .iter()
            .any(|t| t.contains("不是意图") && t.contains("报修")),
        "a wrong word is answered with the choices: {staff:?}"
    );
    let edits: Vec<String> = w
        .sent
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|(op, c, _)| *op == "edit" && *c == STAFF)
        .map(|(_, _, t)| t.clone())
        .collect();
    assert!(
        edits
            .iter()
            .any(|t| t.contains("投诉") && t.contains("装修")),
        "the staff post shows the new kind: {edits:?}"
    );

    // A question is no ticket: it is closed.
    w.desk
        .reclassify(&say("/reclassify"), one, &words("咨询"))
        .await
        .unwrap();
    // A private message staff sort as answered.
    w.desk
        .on_message(&w.msg(OWNER, OWNER, "那个事怎么样了"))
        .await
        .unwrap();
    w.drain().await;
    let answer = w
        .desk
        .press(&Actor::new(ADMIN, "主管"), "us:answered:1".parse().unwrap())
        .await
        .unwrap();
    assert!(answer.text.contains("已答复"), "{}", answer.text);
    let again = w
        .desk
        .press(
            &Actor::new(ADMIN + 1, "同事"),
            "us:ignore:1".parse().unwrap(),
        )
        .await
        .unwrap();
    assert!(again.alert, "a second decision is refused: {}", again.text);
    let t = w
        .desk
        .store()
        .ticket("1".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status.as_str(), "closed");

    let mut out = Vec::new();
    let n = guanjia::corrections_cli::export(w.desk.store(), w.desk.classifier(), &mut out)
        .await
        .unwrap();
    let rows: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(n, 3);
    let labels: Vec<(String, Value)> = rows
        .iter()
        .map(|r| {
            (
                r["intent"].as_str().unwrap().to_string(),
                r["category"].clone(),
            )
        })
        .collect();
    assert_eq!(
        labels,
        [
            ("complaint".to_string(), Value::from("renovation")),
            ("inquiry".to_string(), Value::Null),
            ("inquiry".to_string(), Value::Null),
        ]
    );
    assert_eq!(rows[0]["text"], report);
    assert_eq!(rows[0]["location"]["room"], "501");
    assert_eq!(rows[2]["text"], "那个事怎么样了");
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mention_or_a_reply_to_the_bot_in_a_real_group_is_heard() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let m = fake.push_text(
        &group3(),
        &owner(),
        &format!("@{} 那个事怎么样了", fake.bot_username()),
    );
    let answer = wait_reply(&fake, GROUP_3, m.message_id).await;
    assert!(answer.text.contains("转给客服同事"), "{}", answer.text);
    // Replying to the bot's answer is addressing it too.
    let r = fake.push_reply(
        &group3(),
        &daemon::neighbour(),
        "那我的呢",
        answer.message_id,
    );
    wait_reply(&fake, GROUP_3, r.message_id).await;
    let staff = fake
        .wait_for(
            |s| {
                s.iter()
                    .filter(|m| m.chat_id == daemon::STAFF_CHAT && m.text.contains("待分类"))
                    .count()
                    >= 2
            },
            SOON,
        )
        .await
        .unwrap();
    assert!(
        staff
            .iter()
            .any(|m| m.text.contains("刘先生") && m.text.contains("那我的呢")),
        "{staff:?}"
    );
}

/// Staff correct the desk, and it learns: a message nothing placed is sorted and
/// reclassified by staff, exported, added to the examples, and the classifier
/// trained from them places it.
#[tokio::test(flavor = "multi_thread")]
async fn a_correction_round_trips_into_what_the_classifier_learns() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("intents");
    copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("intents"),
        &rules,
    );
    let w = world(at(2026, 11, 30, 9, 0), |s| {
        s.desk.rules_dir = Some(rules.clone())
    })
    .await;
    let text = "喷泉池子里的锦鲤翻肚皮了";
    let before = w.desk.classifier().classify(text);
    assert_eq!(before.intent.as_str(), "other", "nothing places it yet");

    // Said to the desk in private: 待分类; staff make it a repair of the facilities.
    w.desk.on_message(&w.msg(OWNER, OWNER, text)).await.unwrap();
    w.drain().await;
    w.desk
        .press(&Actor::new(ADMIN, "主管"), "us:repair:1".parse().unwrap())
        .await
        .unwrap();
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    w.desk
        .reclassify(
            &w.msg(STAFF, ADMIN, "/reclassify"),
            "1".parse().unwrap(),
            &words("报修 facilities"),
        )
        .await
        .unwrap();

    let mut out = Vec::new();
    guanjia::corrections_cli::export(w.desk.store(), w.desk.classifier(), &mut out)
        .await
        .unwrap();
    std::fs::write(rules.join("examples").join("corrections.jsonl"), &out).unwrap();
    let retrained = guanjia::domain::Classifier::load(&rules).unwrap();
    let after = retrained.classify(text);
    assert_eq!(
        (after.intent.as_str(), after.category.as_deref()),
        ("repair", Some("facilities")),
        "{after:?}"
    );
    w.stop.cancel();
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
