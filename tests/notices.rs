//! Notices to building groups, end to end against a fake Bot API: binding,
//! targeting, outages, fee reminders (privacy), recall, and delivery exactly once
//! through crashes, 429s and 5xx.

mod support;

use std::collections::HashMap;
use std::time::Duration;
use support::daemon::*;
use support::fake_bot_api::{Failure, FakeBotApi, FakeChat, FakeUser, Options, PinAction};

/// `n` extra building groups, `楼1` … `楼n`, for big broadcasts.
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

/// A `YYYY-MM-DD` some days ahead in Shanghai.
fn day_ahead(days: i64) -> String {
    (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai) + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_are_bound_by_staff_and_unbound_when_the_bot_is_removed() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;
    let g7 = FakeChat::group(-100_701, "7栋业主群");

    let m = fake.push_text(&g7, &owner(), "/bind 7栋");
    assert!(
        wait_reply(&fake, g7.id, m.message_id)
            .await
            .text
            .contains("仅限物业工作人员")
    );
    let m = fake.push_text(&g7, &li(), "/bind 7栋");
    assert!(
        wait_reply(&fake, g7.id, m.message_id)
            .await
            .text
            .contains("已绑定为 7栋")
    );
    let groups = staff_says(&fake, "/groups").await;
    assert!(
        groups.contains("7栋") && groups.contains("3栋") && groups.contains("5栋"),
        "{groups}"
    );
    // Owners in 7栋 now report with the building known.
    fake.push_text(&g7, &owner(), "楼道的灯坏了");
    let post = fake
        .wait_for_text(STAFF_CHAT, "工单 #1", SOON)
        .await
        .unwrap();
    assert!(post.text.contains("位置:7栋"), "{}", post.text);

    fake.push_my_chat_member(&g7, &admin(), "kicked");
    fake.wait_for_text(STAFF_CHAT, "已解除绑定", SOON)
        .await
        .unwrap();
    assert!(!staff_says(&fake, "/groups").await.contains("7栋"));
    let m = fake.push_text(&group5(), &li(), "/unbind");
    assert!(
        wait_reply(&fake, GROUP_5, m.message_id)
            .await
            .text
            .contains("解除")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notice_reaches_each_target_group_once_and_staff_hear_how_it_went() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "\n[[building]]\nname = \"7栋\"\nchat = -100701\n");
    let _d = home.start(&fake).await;

    let queued = staff_says(
        &fake,
        "/notice 3栋,5栋,9栋 本周六上午 9:00-11:00 清洗二次供水水箱",
    )
    .await;
    assert!(
        queued.contains("2 个群") && queued.contains("9栋"),
        "unknown targets are named: {queued}"
    );
    let report = fake
        .wait_for_text(STAFF_CHAT, "已送达 2 个群", SOON)
        .await
        .unwrap();
    assert!(report.text.contains("/recall"));
    for chat in [GROUP_3, GROUP_5] {
        let texts = fake.texts_to(chat);
        assert_eq!(texts.len(), 1, "{chat}: {texts:?}");
        assert!(
            texts[0].contains("温馨提示")
                && texts[0].contains("清洗二次供水水箱")
                && texts[0].contains("幸福里物业")
        );
    }
    assert!(fake.texts_to(-100_701).is_empty(), "7栋 was not a target");
    assert!(staff_says(&fake, "/notice all").await.contains("不能为空"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_is_announced_pinned_and_answers_owners_only_where_it_applies() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let day = day_ahead(2);
    let queued = staff_says(
        &fake,
        &format!("/outage 3栋 停水 {day} 09:00 18:00 市政管网维修"),
    )
    .await;
    assert!(queued.contains("1 个群"), "{queued}");
    let notice = fake.wait_for_text(GROUP_3, "计划停水", SOON).await.unwrap();
    assert!(
        notice.text.contains("市政管网维修")
            && notice.text.contains("09:00")
            && notice.text.contains("18:00")
    );
    fake.wait_for_calls(
        |c| c.iter().any(|c| c.method == "pinchatmessage" && c.ok()),
        SOON,
    )
    .await
    .unwrap();
    assert_eq!(fake.pinned_message(GROUP_3), Some(notice.message_id));
    assert!(fake.texts_to(GROUP_5).is_empty());

    // In 3栋 the question gets the plan; in 5栋 the same words are a repair.
    let q3 = fake.push_text(&group3(), &owner(), "怎么停水了?家里一滴水都没有");
    let a3 = wait_reply(&fake, GROUP_3, q3.message_id).await;
    assert!(
        a3.text.contains("计划停水") && a3.text.contains("市政管网维修"),
        "{}",
        a3.text
    );
    let q5 = fake.push_text(&group5(), &owner(), "怎么停水了?家里一滴水都没有");
    let a5 = wait_reply(&fake, GROUP_5, q5.message_id).await;
    assert!(a5.text.contains("工单号 #1"), "{}", a5.text);
    fake.wait_for_text(STAFF_CHAT, "工单 #1 ", SOON)
        .await
        .unwrap();

    let list = staff_says(&fake, "/outages").await;
    assert!(list.contains("停水") && list.contains("3栋"), "{list}");
    let cancelled = staff_says(&fake, "/outage_cancel 1").await;
    assert!(cancelled.contains("已取消"), "{cancelled}");
    fake.wait_for_text(GROUP_3, "已取消", SOON).await.unwrap();
    fake.wait_for_calls(
        |c| c.iter().any(|c| c.method == "unpinchatmessage" && c.ok()),
        SOON,
    )
    .await
    .unwrap();
    assert!(
        fake.pins()
            .iter()
            .any(|p| p.action == PinAction::Unpin && p.chat_id == GROUP_3)
    );
    assert!(
        staff_says(&fake, "/outage_cancel 1")
            .await
            .contains("已经取消过")
    );
    // With the outage cancelled no water is a repair again.
    let q = fake.push_text(&group3(), &neighbour(), "家里停水了,一滴水都没有");
    assert!(
        wait_reply(&fake, GROUP_3, q.message_id)
            .await
            .text
            .contains("工单号 #2")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fee_reminders_never_show_a_room_or_an_amount_in_a_group() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "\n[fees]\nperiod = \"2026年第四季度\"\n");
    let csv = home.dir.path().join("fees.csv");
    std::fs::write(&csv, "building,unit,room,amount,period,due_date\n3,2,501,1280.50,2026年第四季度,2026-12-31\n5,1,1203,2100,2026年第四季度,2026-12-31\n")
        .unwrap();
    let out = home.cli(&["fees", "import", csv.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("已导入 2 行"));
    let _d = home.start(&fake).await;

    // The owner of 3-2-501 registers and staff confirm; 5-1-1203's owner never does.
    let me = FakeChat::private(&owner());
    let m = fake.push_text(&me, &owner(), "/room 3栋2单元501");
    wait_reply(&fake, me.id, m.message_id).await;
    let req = fake
        .wait_for_text(STAFF_CHAT, "申请登记房号", SOON)
        .await
        .unwrap();
    let ok = req.callback_data()[0].clone();
    fake.push_callback(&li(), STAFF_CHAT, req.message_id, &ok);
    fake.wait_for_text(me.id, "已确认登记", SOON).await.unwrap();

    let queued = staff_says(&fake, "/remind_fees").await;
    assert!(
        queued.contains("2 个群") && queued.contains("1 位"),
        "{queued}"
    );
    let private = fake.wait_for_text(me.id, "1280.50", SOON).await.unwrap();
    assert!(private.text.contains("2026-12-31") && private.text.contains("3栋2单元501"));
    fake.wait_for_text(STAFF_CHAT, "已送达 2 个群", SOON)
        .await
        .unwrap();
    for chat in [GROUP_3, GROUP_5] {
        let texts = fake.texts_to(chat);
        assert_eq!(texts.len(), 1);
        let t = &texts[0];
        assert!(
            t.contains("温馨提示") && t.contains("缴费方式") && t.contains("物业费用于"),
            "{t}"
        );
        for secret in ["501", "1203", "1280", "2100"] {
            assert!(!t.contains(secret), "a group message shows {secret}: {t}");
        }
    }
    assert!(
        fake.messages_to(1002).is_empty(),
        "no amounts to unconfirmed owners"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ledger_with_a_bad_row_imports_nothing_and_names_the_row() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let csv = home.dir.path().join("fees.csv");
    std::fs::write(&csv, "building,unit,room,amount,period,due_date\n3,2,501,1280.50,Q4,2026-12-31\n3,2,502,一千,Q4,2026-12-31\n").unwrap();
    let out = home.cli(&["fees", "import", csv.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("fees.csv:3") && err.contains("一千") && err.contains("没有导入"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recalled_notice_is_deleted_from_every_group_it_reached() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    staff_says(&fake, "/notice all 明天停车场划线,请勿停放").await;
    fake.wait_for_text(STAFF_CHAT, "已送达 2 个群", SOON)
        .await
        .unwrap();
    let sent: HashMap<i64, i64> = fake
        .sent_messages()
        .iter()
        .filter(|m| m.text.contains("划线"))
        .map(|m| (m.chat_id, m.message_id))
        .collect();
    let recall = staff_says(&fake, "/recall 1").await;
    assert!(recall.contains("2 个群"), "{recall}");
    fake.wait_for_calls(
        |c| {
            c.iter()
                .filter(|c| c.method == "deletemessage" && c.ok())
                .count()
                >= 2
        },
        SOON,
    )
    .await
    .unwrap();
    for (chat, id) in sent {
        assert!(fake.is_deleted(chat, id), "{chat} still shows the notice");
    }
    assert!(staff_says(&fake, "/recall 1").await.contains("已经撤回"));
    let log = staff_says(&fake, "/broadcasts").await;
    assert!(
        log.contains("温馨提示")
            && log.contains("主管老周")
            && log.contains("送达 2")
            && log.contains("已撤回"),
        "{log}"
    );
    assert!(staff_says(&fake, "/recall 99").await.contains("没有编号"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_mid_broadcast_then_restart_reaches_every_group_exactly_once() {
    let fake = FakeBotApi::start_with(Options::enforce_rate_limits()).await;
    let groups = 90;
    let home = Home::new(&fake, &many_buildings(groups));
    let mut d = home.start(&fake).await;

    let m = fake.push_text(
        &staff_chat(),
        &admin(),
        "/notice all 今晚 22:00 起电梯例行保养,约两小时",
    );
    // Past the first second's 30, while the sender waits for the next window.
    let sent = quiet_moment(&fake, 31).await;
    d.kill();
    let delivered = fake.texts_to(-200_001).len()
        + (1..=groups)
            .filter(|i| !fake.texts_to(-200_000 - i).is_empty())
            .count();
    assert!(
        delivered < groups as usize,
        "the crash came mid-broadcast ({sent} sent)"
    );

    let _d = home.start(&fake).await;
    fake.wait_for_text(STAFF_CHAT, "已送达 92 个群", Duration::from_secs(30))
        .await
        .unwrap();
    let counts = fake.delivered_count_by_chat();
    for chat in (1..=groups).map(|i| -200_000 - i).chain([GROUP_3, GROUP_5]) {
        assert_eq!(counts.get(&chat).copied().unwrap_or(0), 1, "group {chat}");
    }
    assert_eq!(fake.rate_violations(), 0, "Telegram's limits were kept");
    assert_eq!(
        fake.messages_to(STAFF_CHAT)
            .iter()
            .filter(|s| s.reply_to_message_id == Some(m.message_id))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_and_server_error_storms_lose_nothing_and_send_nothing_twice() {
    let fake = FakeBotApi::start().await;
    let groups = 40;
    let home = Home::new(&fake, &many_buildings(groups));
    let _d = home.start(&fake).await;

    fake.fail_randomly("sendMessage", 0.3, Failure::RetryAfter(1));
    fake.fail_next("sendMessage", 2, Failure::ServerError(502));
    // The command's own answer may meet the storm too (and teloxide waits 10 s
    // after a 5xx): it is checked below with the rest.
    let command = fake.push_text(
        &staff_chat(),
        &admin(),
        "/notice all 小区游泳池本周闭馆维护",
    );
    fake.wait_for(
        |s| s.iter().filter(|m| m.text.contains("闭馆维护")).count() >= groups as usize + 2,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    fake.clear_failures();
    fake.wait_for_text(STAFF_CHAT, "已送达 42 个群", Duration::from_secs(30))
        .await
        .unwrap();
    assert!(fake.failed_calls().len() > 5, "the storm happened");
    fake.wait_for(
        |s| {
            s.iter()
                .any(|m| m.reply_to_message_id == Some(command.message_id))
        },
        Duration::from_secs(30),
    )
    .await
    .expect("the command is answered");
    let answers = fake
        .messages_to(STAFF_CHAT)
        .into_iter()
        .filter(|m| m.reply_to_message_id == Some(command.message_id))
        .count();
    assert_eq!(answers, 1, "the command was answered once");
    let counts = fake.delivered_count_by_chat();
    for chat in (1..=groups).map(|i| -200_000 - i).chain([GROUP_3, GROUP_5]) {
        assert_eq!(counts.get(&chat).copied().unwrap_or(0), 1, "group {chat}");
    }
    let breaches = fake.retry_after_breaches();
    assert!(
        breaches.is_empty(),
        "a chat was sent to inside its retry_after window:\n{}",
        breaches.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_is_answered_while_a_big_broadcast_is_still_going_out() {
    let fake = FakeBotApi::start_with(Options::enforce_rate_limits()).await;
    let groups = 150;
    let home = Home::new(&fake, &many_buildings(groups));
    let _d = home.start(&fake).await;

    staff_says(&fake, "/notice all 周末消杀,请看管好宠物").await;
    fake.wait_for(
        |s| s.iter().filter(|m| m.text.contains("消杀")).count() >= 40,
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    let report = fake.push_text(
        &group3(),
        &FakeUser::new(1200, "业主"),
        "3栋电梯困人了,快来",
    );
    wait_reply(&fake, GROUP_3, report.message_id).await;
    let done = fake
        .sent_messages()
        .iter()
        .filter(|m| m.text.contains("消杀"))
        .count();
    assert!(
        done < groups as usize,
        "the emergency did not wait for the broadcast ({done} sent before it)"
    );
    fake.wait_for_text(STAFF_CHAT, "紧急工单 #1", SOON)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn targets_and_times_are_read_as_staff_type_them_and_echoed_back() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;
    for (n, command) in [
        "/notice 3栋\u{ff0c}5栋 周六上午清洗水箱",
        "/notice 3栋 5栋 周日下午消杀",
    ]
    .into_iter()
    .enumerate()
    {
        let reply = staff_says(&fake, command).await;
        assert!(
            reply.contains("2 个群") && reply.contains("3栋") && reply.contains("5栋"),
            "{command}: {reply}"
        );
        let body = if n == 0 {
            "清洗水箱"
        } else {
            "周日下午消杀"
        };
        for group in [GROUP_3, GROUP_5] {
            fake.wait_for_text(group, body, SOON)
                .await
                .unwrap_or_else(|e| panic!("{command} reaches {group}: {e}"));
        }
    }
    assert!(
        fake.texts_to(GROUP_3)
            .iter()
            .all(|t| !t.contains("5栋 周日")),
        "the second building is a target, not part of the text"
    );
    let reply = staff_says(&fake, "/outage 3栋 停水 明天 09:00 12:00 水箱清洗").await;
    let tomorrow = (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai)
        + chrono::Duration::days(1))
    .format("%-m月%-d日 09:00")
    .to_string();
    assert!(
        reply.contains(&tomorrow),
        "the understood time is echoed: {reply}"
    );
}
