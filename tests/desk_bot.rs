//! The desk bot end to end: the real daemon against a fake Bot API, driven by
//! scripted owners and staff. Nothing here reaches Telegram.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::daemon::*;
use support::fake_bot_api::{Failure, FakeBotApi, FakeChat, FakeUser, SentMessage};

/// Replies the bot sent to one message.
fn replies_to(fake: &FakeBotApi, chat: i64, message_id: i64) -> Vec<SentMessage> {
    fake.messages_to(chat)
        .into_iter()
        .filter(|m| m.reply_to_message_id == Some(message_id))
        .collect()
}

/// Texts of the bot's answers to pressed buttons.
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

/// Wait until the staff post of ticket `n` shows `needle`.
async fn wait_staff_post(fake: &FakeBotApi, n: i64, needle: &str) -> SentMessage {
    let post = fake
        .wait_for_text(STAFF_CHAT, &format!("工单 #{n} "), SOON)
        .await
        .expect("a staff post");
    for _ in 0..200 {
        if fake
            .current_text(STAFF_CHAT, post.message_id)
            .is_some_and(|t| t.contains(needle))
        {
            return post;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "staff post of #{n} never showed {needle:?}: {:?}",
        fake.current_text(STAFF_CHAT, post.message_id)
    );
}

/// Everything queued so far has been handled: a sentinel FAQ question gets its answer.
async fn settle(fake: &FakeBotApi, chat: &FakeChat) {
    let m = fake.push_text(
        chat,
        &FakeUser::new(1999, "路人"),
        "请问物业服务中心电话多少",
    );
    wait_reply(fake, chat.id, m.message_id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repair_in_a_group_gets_a_ticket_number_and_staff_get_a_claim_button() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let m = fake.push_text(
        &group3(),
        &owner(),
        "3栋2单元501 厨房水管漏水了,麻烦派人来看看",
    );
    let ack = wait_reply(&fake, GROUP_3, m.message_id).await;
    assert!(ack.text.contains("#1"), "{}", ack.text);
    assert!(ack.text.contains("已受理"), "{}", ack.text);
    assert!(
        ack.text.contains("15 分钟"),
        "a concrete time is promised: {}",
        ack.text
    );
    assert!(
        !ack.text.contains("501") && !ack.text.contains("张阿姨"),
        "no room or name in the group: {}",
        ack.text
    );
    assert!(
        ack.button_texts().iter().any(|b| b.contains("私聊")),
        "private details go through a deep link"
    );

    let post = fake
        .wait_for_text(STAFF_CHAT, "工单 #1", SOON)
        .await
        .unwrap();
    assert!(post.text.contains("3栋2单元501"), "{}", post.text);
    assert!(
        post.text.contains("漏水"),
        "the owner's words: {}",
        post.text
    );
    assert_eq!(post.callback_data(), vec!["claim:1".to_string()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn chatter_is_left_alone_and_questions_get_the_faq_answer() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let chatter: Vec<i64> = [
        "大家早上好",
        "昨天在电梯里碰到老王了",
        "收到,谢谢",
        "谁家有多的纸箱,搬家用",
    ]
    .iter()
    .map(|t| fake.push_text(&group3(), &neighbour(), t).message_id)
    .collect();
    let q = fake.push_text(&group3(), &owner(), "物业费怎么交?可以微信付吗");
    let answer = wait_reply(&fake, GROUP_3, q.message_id).await;
    assert!(
        answer.text.contains("公众号") || answer.text.contains("缴费"),
        "{}",
        answer.text
    );
    assert!(
        !answer.text.contains('{'),
        "placeholders are filled: {}",
        answer.text
    );
    for id in chatter {
        assert!(
            replies_to(&fake, GROUP_3, id).is_empty(),
            "chatter {id} got a reply"
        );
    }
    assert_eq!(
        fake.messages_to(GROUP_3).len(),
        1,
        "only the question was answered"
    );
    assert!(
        fake.messages_to(STAFF_CHAT).is_empty(),
        "no ticket for chatter or questions"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_emergency_reaches_staff_marked_urgent() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let m = fake.push_text(&group5(), &owner(), "电梯困人了!5栋东边那部,快来人");
    let post = fake.wait_for_text(STAFF_CHAT, "紧急", SOON).await.unwrap();
    assert!(post.text.contains("#1"));
    let ack = wait_reply(&fake, GROUP_5, m.message_id).await;
    assert!(
        ack.text.contains("119") || ack.text.contains("值班"),
        "{}",
        ack.text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn claim_finish_and_rate_close_the_loop_and_everyone_sees_each_step() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let report = fake.push_text(&group3(), &owner(), "楼道的灯坏了好几天了,晚上黑漆漆的");
    let ack = wait_reply(&fake, GROUP_3, report.message_id).await;
    let post = fake
        .wait_for_text(STAFF_CHAT, "工单 #1", SOON)
        .await
        .unwrap();

    // Claim with the button.
    fake.push_callback(&li(), STAFF_CHAT, post.message_id, "claim:1");
    wait_staff_post(&fake, 1, "处理中(李师傅)").await;
    let told = fake
        .wait_for_text(GROUP_3, "已有工作人员负责", SOON)
        .await
        .unwrap();
    assert!(
        fake.texts_to(GROUP_3).iter().all(|t| !t.contains("李师傅")),
        "a group never sees a name: {:?}",
        fake.texts_to(GROUP_3)
    );
    assert_eq!(
        told.reply_to_message_id,
        Some(report.message_id),
        "the owner is told, in reply to the report"
    );
    for _ in 0..100 {
        if fake
            .current_text(GROUP_3, ack.message_id)
            .is_some_and(|t| t.contains("处理中"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        fake.current_text(GROUP_3, ack.message_id)
            .unwrap()
            .contains("处理中"),
        "the group reply shows the state"
    );

    // Finish with the command.
    let done = fake.push_text(&staff_chat(), &li(), "/done 1 换了灯管");
    wait_reply(&fake, STAFF_CHAT, done.message_id).await;
    let ask = fake.wait_for_text(GROUP_3, "打分", SOON).await.unwrap();
    assert!(
        !ask.text.contains("换了灯管"),
        "the summary is for the reporter in private, not the group: {}",
        ask.text
    );
    assert_eq!(ask.callback_data().len(), 5);

    // A neighbour cannot rate; the reporter can.
    fake.push_callback(&neighbour(), GROUP_3, ask.message_id, "rate:1:1");
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
    assert!(
        button_answers(&fake)
            .iter()
            .any(|t| t.contains("只有报修的业主本人")),
        "{:?}",
        button_answers(&fake)
    );
    fake.push_callback(&owner(), GROUP_3, ask.message_id, "rate:1:5");
    fake.wait_for_text(GROUP_3, "感谢您对工单 #1 的评价", SOON)
        .await
        .unwrap();
    wait_staff_post(&fake, 1, "5 星").await;

    // The history is the audit log.
    let show = fake.push_text(&staff_chat(), &admin(), "/ticket 1");
    let history = wait_reply(&fake, STAFF_CHAT, show.message_id).await.text;
    for step in [
        "提交",
        "李师傅 认领",
        "李师傅 完成:换了灯管",
        "张阿姨 评价:5 星",
    ] {
        assert!(history.contains(step), "history lacks {step:?}: {history}");
    }

    // Reopened, it goes back to the first claimant.
    let m = fake.push_text(&staff_chat(), &admin(), "/reopen 1");
    let r = wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    assert!(
        r.text.contains("已重新打开") && r.text.contains("处理中"),
        "{}",
        r.text
    );
    wait_staff_post(&fake, 1, "处理中(李师傅)").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_claim_is_refused_and_names_the_first_claimant() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    fake.push_text(&group3(), &owner(), "3栋的单元门禁刷卡没反应,进不去");
    let post = fake
        .wait_for_text(STAFF_CHAT, "工单 #1", SOON)
        .await
        .unwrap();
    // Both press at once.
    fake.push_callback(&li(), STAFF_CHAT, post.message_id, "claim:1");
    fake.push_callback(&wang(), STAFF_CHAT, post.message_id, "claim:1");
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
    let answers = button_answers(&fake);
    let winners: Vec<&String> = answers.iter().filter(|t| t.contains("由您负责")).collect();
    let refused: Vec<&String> = answers.iter().filter(|t| t.contains("已由")).collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    assert_eq!(refused.len(), 1, "{answers:?}");
    let winner = if wait_staff_post(&fake, 1, "处理中(").await.message_id > 0
        && fake
            .current_text(STAFF_CHAT, post.message_id)
            .is_some_and(|t| t.contains("处理中(李师傅)"))
    {
        "李师傅"
    } else {
        "王师傅"
    };
    assert!(
        refused[0].contains(winner),
        "the refusal names who has it: {refused:?}"
    );
    settle(&fake, &group3()).await;
    let told: Vec<String> = fake
        .texts_to(GROUP_3)
        .into_iter()
        .filter(|t| t.contains("负责处理"))
        .collect();
    assert_eq!(told.len(), 1, "the owner hears of one claim: {told:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_commands_from_anyone_else_are_politely_refused_and_change_nothing() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    fake.push_text(&group3(), &owner(), "卫生间马桶堵了,冲不下去");
    fake.wait_for_text(STAFF_CHAT, "工单 #1", SOON)
        .await
        .unwrap();
    for cmd in [
        "/claim 1",
        "/done 1",
        "/notice all 假通知",
        "/staff_add 1002",
    ] {
        let m = fake.push_text(&group3(), &neighbour(), cmd);
        let r = wait_reply(&fake, GROUP_3, m.message_id).await;
        assert!(r.text.contains("仅限物业工作人员"), "{cmd}: {}", r.text);
    }
    let post = fake
        .wait_for_text(STAFF_CHAT, "工单 #1", SOON)
        .await
        .unwrap();
    fake.push_callback(&neighbour(), STAFF_CHAT, post.message_id, "claim:1");
    fake.wait_for_calls(
        |c| c.iter().any(|c| c.method == "answercallbackquery"),
        SOON,
    )
    .await
    .unwrap();
    assert!(button_answers(&fake)[0].contains("仅限物业工作人员"));
    let show = fake.push_text(&staff_chat(), &li(), "/ticket 1");
    assert!(
        wait_reply(&fake, STAFF_CHAT, show.message_id)
            .await
            .text
            .contains("状态:已受理")
    );
    assert!(!fake.texts_to(GROUP_5).iter().any(|t| t.contains("假通知")));
    // A regular staff member is not an admin either.
    let m = fake.push_text(&staff_chat(), &li(), "/staff_add 1002");
    assert!(
        wait_reply(&fake, STAFF_CHAT, m.message_id)
            .await
            .text
            .contains("只有管理员")
    );
    // An admin can add a helper, who can then work tickets, and remove them again.
    let m = fake.push_text(&staff_chat(), &admin(), "/staff_add 1002");
    assert!(
        wait_reply(&fake, STAFF_CHAT, m.message_id)
            .await
            .text
            .contains("现在是工作人员")
    );
    let m = fake.push_text(&staff_chat(), &neighbour(), "/claim 1");
    assert!(
        wait_reply(&fake, STAFF_CHAT, m.message_id)
            .await
            .text
            .contains("由您负责")
    );
    let m = fake.push_text(&staff_chat(), &admin(), "/staff_remove 1002");
    assert!(
        wait_reply(&fake, STAFF_CHAT, m.message_id)
            .await
            .text
            .contains("已移除")
    );
    let m = fake.push_text(&staff_chat(), &neighbour(), "/tickets");
    assert!(
        wait_reply(&fake, STAFF_CHAT, m.message_id)
            .await
            .text
            .contains("仅限物业工作人员")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_command_arguments_get_a_clear_answer() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    for (cmd, expect) in [
        ("/claim", "工单号"),
        ("/claim abc", "不是有效的工单号"),
        ("/claim 999", "没有工单 #999"),
        ("/tickets someday", "用法"),
        ("/transfer 1", "没有工单"),
        ("/outage 3栋 停暖 09:00 10:00 检修", "停什么"),
        ("/notice", "发送对象"),
    ] {
        let m = fake.push_text(&staff_chat(), &li(), cmd);
        let r = wait_reply(&fake, STAFF_CHAT, m.message_id).await;
        assert!(r.text.contains(expect), "{cmd} → {}", r.text);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_claimant_stays_responsible_until_they_transfer() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    fake.push_text(
        &group3(),
        &owner(),
        "楼上装修太吵了,中午都不停,已经第三次了",
    );
    fake.wait_for_text(STAFF_CHAT, "工单 #1", SOON)
        .await
        .unwrap();
    // Wang has been seen (so @wangshifu is known).
    let m = fake.push_text(&staff_chat(), &wang(), "/tickets");
    wait_reply(&fake, STAFF_CHAT, m.message_id).await;

    let m = fake.push_text(&staff_chat(), &li(), "/claim 1");
    assert!(
        wait_reply(&fake, STAFF_CHAT, m.message_id)
            .await
            .text
            .contains("由您负责")
    );
    let m = fake.push_text(&staff_chat(), &wang(), "/done 1");
    let r = wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    assert!(
        r.text.contains("李师傅") && r.text.contains("首问负责制"),
        "{}",
        r.text
    );
    let m = fake.push_text(&staff_chat(), &li(), "/transfer 1 @wangshifu");
    assert!(
        wait_reply(&fake, STAFF_CHAT, m.message_id)
            .await
            .text
            .contains("转交给王师傅")
    );
    wait_staff_post(&fake, 1, "处理中(王师傅)").await;
    let m = fake.push_text(&staff_chat(), &li(), "/done 1");
    assert!(
        wait_reply(&fake, STAFF_CHAT, m.message_id)
            .await
            .text
            .contains("王师傅")
    );
    // Staff talking in the staff group open no tickets.
    let talk = fake.push_text(&staff_chat(), &li(), "3栋电梯坏了,我现在过去看看");
    let m = fake.push_text(&staff_chat(), &wang(), "/tickets mine");
    assert!(
        wait_reply(&fake, STAFF_CHAT, m.message_id)
            .await
            .text
            .contains("#1")
    );
    assert!(replies_to(&fake, STAFF_CHAT, talk.message_id).is_empty());
    let m = fake.push_text(&staff_chat(), &li(), "/note 1 已联系业主");
    assert!(
        wait_reply(&fake, STAFF_CHAT, m.message_id)
            .await
            .text
            .contains("已记录")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unhappy_rating_reopens_the_ticket_for_a_supervisor() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let report = fake.push_text(&group5(), &owner(), "5栋1单元楼道灯不亮");
    wait_reply(&fake, GROUP_5, report.message_id).await;
    let m = fake.push_text(&staff_chat(), &li(), "/claim 1");
    wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    let m = fake.push_text(&staff_chat(), &li(), "/done 1");
    wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    let ask = fake.wait_for_text(GROUP_5, "打分", SOON).await.unwrap();
    fake.push_callback(&owner(), GROUP_5, ask.message_id, "rate:1:2");
    let sorry = fake.wait_for_text(GROUP_5, "很抱歉", SOON).await.unwrap();
    assert!(
        sorry.text.contains("24 小时"),
        "a concrete time: {}",
        sorry.text
    );
    let alert = fake.wait_for_text(STAFF_CHAT, "回访", SOON).await.unwrap();
    assert!(alert.text.contains("2 星"));
    wait_staff_post(&fake, 1, "需主管回访").await;
    let m = fake.push_text(&staff_chat(), &li(), "/tickets");
    assert!(
        wait_reply(&fake, STAFF_CHAT, m.message_id)
            .await
            .text
            .contains("#1 处理中")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_follow_up_completes_the_report_instead_of_opening_another() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let me = FakeChat::private(&owner());
    let m = fake.push_text(&me, &owner(), "家里卫生间在漏水,滴个不停");
    let ack = wait_reply(&fake, me.id, m.message_id).await;
    assert!(
        ack.text.contains("楼栋房号"),
        "the owner is asked where: {}",
        ack.text
    );
    let m = fake.push_text(&me, &owner(), "是3栋2单元501");
    assert!(
        wait_reply(&fake, me.id, m.message_id)
            .await
            .text
            .contains("补充位置")
    );
    wait_staff_post(&fake, 1, "3栋2单元501").await;
    let m = fake.push_text(&staff_chat(), &li(), "/ticket 2");
    assert!(
        wait_reply(&fake, STAFF_CHAT, m.message_id)
            .await
            .text
            .contains("没有工单 #2")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn private_details_reach_staff_and_never_the_group() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    fake.push_text(&group3(), &owner(), "厨房下水道堵了");
    fake.wait_for_text(STAFF_CHAT, "工单 #1", SOON)
        .await
        .unwrap();
    let me = FakeChat::private(&owner());
    let m = fake.push_text(&me, &owner(), "/start t1");
    assert!(
        wait_reply(&fake, me.id, m.message_id)
            .await
            .text
            .contains("只有物业工作人员能看到")
    );
    let m = fake.push_text(&me, &owner(), "电话13800138000,明天上午在家");
    assert!(
        wait_reply(&fake, me.id, m.message_id)
            .await
            .text
            .contains("已收到")
    );
    let note = fake
        .wait_for_text(STAFF_CHAT, "13800138000", SOON)
        .await
        .unwrap();
    assert!(note.text.contains("#1"));
    assert!(
        !fake
            .texts_to(GROUP_3)
            .iter()
            .any(|t| t.contains("13800138000"))
    );

    // Someone else's deep link does not open the ticket.
    let other = FakeChat::private(&neighbour());
    let m = fake.push_text(&other, &neighbour(), "/start t1");
    assert!(
        wait_reply(&fake, other.id, m.message_id)
            .await
            .text
            .contains("不是您提交的")
    );
    let m = fake.push_text(&me, &owner(), "/mytickets");
    assert!(
        wait_reply(&fake, me.id, m.message_id)
            .await
            .text
            .contains("#1")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confirmed_room_is_used_for_reports_that_name_no_place() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let me = FakeChat::private(&owner());
    let m = fake.push_text(&me, &owner(), "/room 5-1-1203");
    assert!(
        wait_reply(&fake, me.id, m.message_id)
            .await
            .text
            .contains("核实")
    );
    let req = fake
        .wait_for_text(STAFF_CHAT, "申请登记房号", SOON)
        .await
        .unwrap();
    // An owner cannot approve their own room.
    let ok = req.callback_data()[0].clone();
    fake.push_callback(&owner(), STAFF_CHAT, req.message_id, &ok);
    fake.push_callback(&li(), STAFF_CHAT, req.message_id, &ok);
    fake.wait_for_text(me.id, "已确认登记", SOON).await.unwrap();
    let m = fake.push_text(&me, &owner(), "阳台的水管爆了一直在滴水");
    wait_reply(&fake, me.id, m.message_id).await;
    wait_staff_post(&fake, 1, "5栋1单元1203").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_update_opens_no_second_ticket() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let m = fake.push_text(&group3(), &owner(), "3栋电梯门关不上了");
    wait_reply(&fake, GROUP_3, m.message_id).await;
    assert!(fake.redeliver(m.update_id));
    settle(&fake, &group3()).await;
    assert_eq!(replies_to(&fake, GROUP_3, m.message_id).len(), 1);
    assert_eq!(
        fake.messages_to(STAFF_CHAT)
            .iter()
            .filter(|s| s.text.contains("工单 #"))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_mid_stream_loses_nothing_and_sends_nothing_twice() {
    let fake = FakeBotApi::start().await;
    // Slow sending, so the crash finds replies still queued.
    let home = Home::with_rate(&fake, 2, "");
    let mut d = home.start(&fake).await;

    let reports = [
        "3栋1单元楼道灯坏了",
        "厨房水龙头一直滴水关不紧",
        "地下车库入口的道闸抬不起来",
        "楼下垃圾桶满了好几天没人清,臭死了",
        "单元门的门禁坏了进不去",
        "家里跳闸了一直合不上",
    ];
    let mut pushed = Vec::new();
    for (i, text) in reports.iter().enumerate() {
        let chat = if i % 2 == 0 { group3() } else { group5() };
        pushed.push(fake.push_text(&chat, &FakeUser::new(1100 + i as i64, "业主"), text));
    }
    let before = quiet_moment(&fake, 1).await;
    d.kill();
    assert!(
        before < reports.len() * 2,
        "the crash came mid-stream ({before} sent)"
    );
    let _d = home.start(&fake).await;
    fake.wait_for(|s| s.len() >= reports.len() * 2, Duration::from_secs(30))
        .await
        .unwrap();
    settle(&fake, &group3()).await;
    for p in &pushed {
        assert_eq!(
            replies_to(&fake, p.chat_id, p.message_id).len(),
            1,
            "message {p:?} answered once"
        );
    }
    let posts = fake.messages_to(STAFF_CHAT);
    for n in 1..=reports.len() {
        let tag = format!("工单 #{n} ");
        assert_eq!(
            posts.iter().filter(|m| m.text.contains(&tag)).count(),
            1,
            "ticket #{n} posted once"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_and_server_errors_delay_messages_but_lose_none() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    fake.fail_next("sendMessage", 2, Failure::RetryAfter(1));
    fake.fail_next("sendMessage", 1, Failure::ServerError(500));
    let a = fake.push_text(&group3(), &owner(), "3栋楼顶水箱漏水了");
    let b = fake.push_text(&group5(), &neighbour(), "5栋大堂的灯全灭了");
    // teloxide waits 10 s after any 5xx before it reports it.
    fake.wait_for(
        |s| s.iter().filter(|m| m.reply_to_message_id.is_some()).count() >= 2,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    fake.wait_for(
        |s| s.iter().filter(|m| m.chat_id == STAFF_CHAT).count() >= 2,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    settle(&fake, &group3()).await;
    assert!(fake.failed_calls().len() >= 3, "the failures happened");
    assert_eq!(replies_to(&fake, GROUP_3, a.message_id).len(), 1);
    assert_eq!(replies_to(&fake, GROUP_5, b.message_id).len(), 1);
    assert_eq!(fake.messages_to(STAFF_CHAT).len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_never_stops_the_desk() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    fake.push_raw(serde_json::json!({"update_id": 900001, "message": {"message_id": "not a number", "chat": 5}}));
    fake.push_raw(serde_json::json!({"update_id": 900002, "something_new": {"x": 1}}));
    let huge = "漏水".repeat(50_000);
    let big = fake.push_text(&group3(), &owner(), &huge);
    let control = fake.push_text(
        &group3(),
        &owner(),
        "\u{0}\u{7}\u{1b}[31m 电梯坏了 \u{202e}",
    );
    let m = fake.push_text(&group5(), &owner(), "5栋电梯按钮失灵了");
    wait_reply(&fake, GROUP_5, m.message_id).await;
    let ack = wait_reply(&fake, GROUP_3, big.message_id).await;
    assert!(ack.text.chars().count() <= 4096);
    wait_reply(&fake, GROUP_3, control.message_id).await;
    for post in fake.messages_to(STAFF_CHAT) {
        assert!(
            post.text.chars().count() <= 4096,
            "posts fit Telegram's limit"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_upgraded_to_a_supergroup_keeps_its_building_and_tickets() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    fake.push_text(&group3(), &owner(), "3栋的消防通道被杂物堵了");
    fake.wait_for_text(STAFF_CHAT, "工单 #1", SOON)
        .await
        .unwrap();
    let new_id = -1_000_000_301;
    fake.push_migrate(GROUP_3, new_id);
    let super3 = FakeChat::supergroup(new_id, "幸福里3栋业主群");
    settle(&fake, &super3).await;
    let m = fake.push_text(&super3, &owner(), "门口的路灯坏了");
    wait_reply(&fake, new_id, m.message_id).await;
    let post = fake
        .wait_for_text(STAFF_CHAT, "工单 #2", SOON)
        .await
        .unwrap();
    assert!(
        post.text.contains("3栋"),
        "the new group is still 3栋: {}",
        post.text
    );
    // Finishing the old ticket tells the owner in the new group.
    let m = fake.push_text(&staff_chat(), &li(), "/claim 1");
    wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    fake.wait_for_text(new_id, "工单 #1 已有工作人员负责", SOON)
        .await
        .unwrap();
    let m = fake.push_text(&staff_chat(), &admin(), "/groups");
    assert!(
        wait_reply(&fake, STAFF_CHAT, m.message_id)
            .await
            .text
            .contains(&new_id.to_string())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_cleanly_and_queued_work_resumes() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let mut d = home.start(&fake).await;
    let m = fake.push_text(&group3(), &owner(), "3栋门口的路灯坏了");
    wait_reply(&fake, GROUP_3, m.message_id).await;
    assert!(d.stop().success());
    let d2 = home.start(&fake).await;
    let m = fake.push_text(&group3(), &owner(), "/help");
    assert!(
        wait_reply(&fake, GROUP_3, m.message_id)
            .await
            .text
            .contains("/mytickets")
    );
    drop(d2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suggestion_is_thanked_and_passed_to_staff() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;

    let m = fake.push_text(
        &group5(),
        &owner(),
        "建议在小区大门口加个遮雨棚,下雨天等车都会淋湿",
    );
    assert!(
        wait_reply(&fake, GROUP_5, m.message_id)
            .await
            .text
            .contains("感谢您的建议")
    );
    let fwd = fake
        .wait_for_text(STAFF_CHAT, "业主建议", SOON)
        .await
        .unwrap();
    assert!(
        fwd.text.contains("5栋") && fwd.text.contains("遮雨棚"),
        "{}",
        fwd.text
    );
}
