//! Issue 9's daemon-level guarantees against the fake Bot API: no emergency is
//! silenced by a private channel or a flood, floods are bounded, every round of
//! work can be rated, groups the desk does not serve get nothing, and with no
//! staff group yet nothing is lost.

mod support;

use std::time::Duration;
use support::daemon::*;
use support::fake_bot_api::{FakeBotApi, FakeChat, FakeUser};

fn count(fake: &FakeBotApi, chat: i64, needle: &str) -> usize {
    fake.texts_to(chat)
        .iter()
        .filter(|t| t.contains(needle))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_emergency_in_a_tickets_private_channel_opens_its_own_ticket() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;
    fake.push_text(&group3(), &owner(), "3栋2单元501 厨房水管漏水了");
    fake.wait_for_text(STAFF_CHAT, "工单 #1 ", SOON)
        .await
        .unwrap();

    let me = FakeChat::private(&owner());
    fake.push_text(&me, &owner(), "/start t1");
    fake.wait_for_text(me.id, "私聊通道", SOON).await.unwrap();
    // Details attach to #1 ...
    fake.push_text(&me, &owner(), "电话13800138000,明天上午在家");
    fake.wait_for_text(STAFF_CHAT, "工单 #1 业主私聊补充", SOON)
        .await
        .unwrap();
    // ... a new emergency does not.
    fake.push_text(&me, &owner(), "不好了 电梯困人了 我女儿在里面");
    let alert = fake
        .wait_for_text(STAFF_CHAT, "🚨 紧急工单 #2", SOON)
        .await
        .expect("the emergency reaches staff as its own ticket");
    assert!(alert.text.contains("电梯"), "{}", alert.text);
    fake.wait_for_text(me.id, "工单号 #2", SOON)
        .await
        .expect("the owner is told its number");
    assert_eq!(
        count(&fake, STAFF_CHAT, "工单 #1 业主私聊补充"),
        1,
        "the emergency was not taken as a detail of #1"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_report_a_hundred_times_is_one_ticket_and_one_staff_post() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;
    for _ in 0..100 {
        fake.push_text(&group3(), &owner(), "3栋电梯又坏了,卡在5楼不动");
    }
    fake.wait_for_text(GROUP_3, "已经记录在工单 #1", SOON)
        .await
        .expect("the first repeat is told it is the same ticket");
    // A group's messages are handled in order: once this is answered, all are.
    fake.push_text(&group3(), &neighbour(), "请问物业服务中心电话多少");
    fake.wait_for_text(GROUP_3, "服务电话", Duration::from_secs(30))
        .await
        .expect("the sentinel is answered");
    // Every copy is kept in the ticket's history, none is lost.
    let m = fake.push_text(&staff_chat(), &li(), "/ticket 1");
    let history = wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    assert!(
        history
            .text
            .contains("业主再次反映:3栋电梯又坏了,卡在5楼不动(共 99 次)"),
        "{}",
        history.text
    );
    let posts = fake
        .messages_to(STAFF_CHAT)
        .into_iter()
        .filter(|x| x.reply_to_message_id.is_none() && x.text.starts_with("🛠 工单"))
        .count();
    assert_eq!(posts, 1, "one staff post: {:?}", fake.texts_to(STAFF_CHAT));
    assert_eq!(
        fake.texts_to(GROUP_3).len(),
        3,
        "the ticket number, one 'same ticket' answer (not ninety-nine), the sentinel: {:?}",
        fake.texts_to(GROUP_3)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_from_one_group_is_summarised_and_an_emergency_still_goes_first() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "\n[flood]\nchat_posts_per_10_minutes = 5\n");
    // Thirty owners' acknowledgements in one group would take Telegram's 20 a
    // minute a minute and a half; here the desk's own limits are what is tested.
    let config = std::fs::read_to_string(home.config()).unwrap();
    std::fs::write(
        home.config(),
        config.replace(
            "max_per_second = 30\n",
            "max_per_second = 30\nmax_per_chat_per_minute = 1000\n",
        ),
    )
    .unwrap();
    let _d = home.start(&fake).await;
    // Thirty different owners, thirty problems in their own flats (a shared
    // one, like the corridor light, would be one merged ticket): all kept, five
    // posted one by one.
    for n in 0..30 {
        fake.push_text(
            &group5(),
            &FakeUser::new(5000 + n, "业主"),
            "家里厨房下水道堵了,水下不去",
        );
    }
    fake.wait_for(
        |s| s.iter().filter(|x| x.chat_id == GROUP_5).count() >= 30,
        Duration::from_secs(30),
    )
    .await
    .expect("every owner gets a ticket number");
    let summary = fake
        .wait_for_text(STAFF_CHAT, "不再逐条推送", SOON)
        .await
        .expect("staff get one summary");
    assert!(summary.text.contains("5栋"), "{}", summary.text);
    fake.push_text(&group3(), &neighbour(), "3栋着火了 楼道里全是烟");
    fake.wait_for_text(STAFF_CHAT, "🚨 紧急工单", SOON)
        .await
        .expect("the emergency is posted");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        count(&fake, STAFF_CHAT, "🛠 工单"),
        5,
        "{:?}",
        fake.texts_to(STAFF_CHAT)
    );
    assert_eq!(count(&fake, STAFF_CHAT, "不再逐条推送"), 1);
    // Nothing was dropped: staff see all thirty in the list.
    let m = fake.push_text(&staff_chat(), &li(), "/tickets");
    let list = wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    assert!(
        list.text.contains("(30 条)") || list.text.contains("(31 条)"),
        "{}",
        list.text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_hourly_limit_an_owners_reports_join_their_latest_ticket() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "\n[flood]\nowner_tickets_per_hour = 2\n");
    let _d = home.start(&fake).await;
    for text in [
        "3栋2单元501 厨房水管漏水了",
        "3栋楼道的灯坏了",
        "3栋门禁刷卡没反应",
    ] {
        fake.push_text(&group3(), &owner(), text);
    }
    let joined = fake
        .wait_for_text(GROUP_3, "记录到您的工单 #2", SOON)
        .await
        .expect("the third report joins the owner's latest ticket");
    assert!(!joined.text.contains("501"));
    // An emergency is never held back by the limit.
    fake.push_text(&group3(), &owner(), "3栋电梯困人了 快来人");
    fake.wait_for_text(STAFF_CHAT, "🚨 紧急工单 #3", SOON)
        .await
        .expect("the emergency opens its own ticket");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_the_desk_does_not_serve_gets_no_tickets_and_no_answers() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;
    let stranger = FakeChat::group(-100_777, "某个陌生群");
    fake.push_text(&stranger, &owner(), "厨房漏水了 快来人");
    fake.push_text(&stranger, &owner(), "物业费怎么交");
    // A sentinel in a served group, answered after the two above were handled.
    fake.push_text(&group3(), &neighbour(), "请问物业服务中心电话多少");
    fake.wait_for(
        |s| s.iter().filter(|x| x.chat_id == GROUP_3).count() >= 1,
        SOON,
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        fake.texts_to(-100_777).is_empty(),
        "{:?}",
        fake.texts_to(-100_777)
    );
    assert_eq!(count(&fake, STAFF_CHAT, "工单 #"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn after_an_unhappy_rating_the_next_round_of_work_can_be_rated_and_closes_the_ticket() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;
    let report = fake.push_text(&group3(), &owner(), "3栋2单元501 卫生间马桶堵了");
    fake.wait_for_text(STAFF_CHAT, "工单 #1 ", SOON)
        .await
        .unwrap();
    let m = fake.push_text(&staff_chat(), &li(), "/claim 1");
    wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    fake.push_text(&staff_chat(), &li(), "/done 1 疏通了");
    let first = fake.wait_for_text(GROUP_3, "打分", SOON).await.unwrap();
    fake.push_callback(
        &owner(),
        GROUP_3,
        first.message_id,
        &first.callback_data()[0],
    );
    fake.wait_for_text(GROUP_3, "很抱歉", SOON)
        .await
        .expect("an unhappy rating is apologised for");

    fake.push_text(&staff_chat(), &li(), "/done 1 重新疏通并更换了配件");
    fake.wait_for(
        |s| {
            s.iter()
                .filter(|x| x.chat_id == GROUP_3 && x.text.contains("打分"))
                .count()
                >= 2
        },
        SOON,
    )
    .await
    .expect("the owner is asked again");
    let second = fake
        .messages_to(GROUP_3)
        .into_iter()
        .rev()
        .find(|x| x.text.contains("打分"))
        .unwrap();
    // The first round's button is spent and says so; the second's works.
    fake.push_callback(
        &owner(),
        GROUP_3,
        first.message_id,
        &first.callback_data()[4],
    );
    fake.push_callback(
        &owner(),
        GROUP_3,
        second.message_id,
        &second.callback_data()[4],
    );
    fake.wait_for_text(GROUP_3, "感谢您对工单 #1 的评价(5 星)", SOON)
        .await
        .expect("the second round is rated");
    let m = fake.push_text(&staff_chat(), &li(), "/ticket 1");
    let shown = wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    assert!(shown.text.contains("已关闭"), "{}", shown.text);
    assert!(
        !fake
            .texts_to(GROUP_3)
            .iter()
            .any(|t| t.contains("已经评价过了"))
    );
    let _ = report;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_staff_group_yet_tickets_are_kept_and_admins_are_told_in_private() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let config = std::fs::read_to_string(home.config()).unwrap();
    std::fs::write(
        home.config(),
        config.replace(&format!("staff_chat = {STAFF_CHAT}\n"), ""),
    )
    .unwrap();
    let _d = home.start(&fake).await;
    fake.push_text(&group3(), &owner(), "3栋电梯困人了 快来人");
    fake.wait_for_text(ADMIN, "🚨 紧急工单 #1", SOON)
        .await
        .expect("the admin gets the emergency in private");
    fake.push_text(&group3(), &neighbour(), "3栋2单元602 阳台水管漏水");
    fake.wait_for_text(ADMIN, "工单 #2 ", SOON)
        .await
        .expect("and the repair");
    assert!(fake.texts_to(STAFF_CHAT).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_staff_group_cannot_be_bound_as_a_building_group() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;
    let m = fake.push_text(&staff_chat(), &admin(), "/bind 9栋");
    let answer = wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    assert!(answer.text.contains("员工群"), "{}", answer.text);
    let m = fake.push_text(&staff_chat(), &admin(), "/groups");
    let groups = wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    assert!(!groups.text.contains("9栋"), "{}", groups.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notice_may_give_the_desks_own_phone_number_but_no_other() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;
    let m = fake.push_text(
        &staff_chat(),
        &admin(),
        "/notice all 明天上午清洗水箱,如有疑问请致电 0755-8888 6666",
    );
    wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    fake.wait_for_text(GROUP_3, "清洗水箱", SOON)
        .await
        .expect("the desk's own number is fine");
    let m = fake.push_text(
        &staff_chat(),
        &admin(),
        "/notice all 明天上午清洗水箱,有事找王师傅 13912345678",
    );
    let refused = wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    assert!(refused.text.contains("电话号码"), "{}", refused.text);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        fake.texts_to(GROUP_3)
            .iter()
            .all(|t| !t.contains("13912345678")),
        "{:?}",
        fake.texts_to(GROUP_3)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_room_in_a_building_the_desk_does_not_serve_is_refused_before_staff_are_asked() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;
    let me = FakeChat::private(&owner());
    let m = fake.push_text(&me, &owner(), "/room 13-1-101");
    let reply = wait_reply(&fake, me.id, m.message_id).await;
    assert!(
        reply.text.contains("没有找到13栋") && reply.text.contains("3栋、5栋"),
        "{}",
        reply.text
    );
    let m = fake.push_text(&me, &owner(), "/room 3号楼2单元501");
    wait_reply(&fake, me.id, m.message_id).await;
    fake.wait_for_text(STAFF_CHAT, "申请登记房号", SOON)
        .await
        .expect("a room in a served building reaches staff");
    assert_eq!(
        count(&fake, STAFF_CHAT, "申请登记房号"),
        1,
        "13栋 never reached staff"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_groups_building_completes_a_place_the_message_gives_in_part() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _d = home.start(&fake).await;
    fake.push_text(&group5(), &owner(), "2单元电梯卡在8楼了,门打不开");
    let post = fake
        .wait_for_text(STAFF_CHAT, "工单 #1 ", SOON)
        .await
        .unwrap();
    assert!(post.text.contains("位置:5栋2单元"), "{}", post.text);

    // A report with no room, then the room in the group: the ticket is completed.
    fake.push_text(&group3(), &neighbour(), "卫生间下水道堵了");
    let post = fake
        .wait_for_text(STAFF_CHAT, "工单 #2 ", SOON)
        .await
        .unwrap();
    assert!(post.text.contains("位置:3栋\n"), "{}", post.text);
    let m = fake.push_text(&group3(), &neighbour(), "是1单元302");
    let reply = wait_reply(&fake, GROUP_3, m.message_id).await;
    assert!(
        reply.text.contains("已为工单 #2 补充位置"),
        "{}",
        reply.text
    );
    assert!(
        !reply.text.contains("302"),
        "the room is not echoed: {}",
        reply.text
    );
    for _ in 0..100 {
        if fake
            .current_text(STAFF_CHAT, post.message_id)
            .is_some_and(|t| t.contains("位置:3栋1单元302"))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the staff post shows the completed place: {:?}",
        fake.current_text(STAFF_CHAT, post.message_id)
    );
}
