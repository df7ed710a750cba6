//! What staff and owners read, as a property company would proofread it: no word
//! twice, no date twice, no space inside Chinese, lists in building order, one
//! voice in a reply and its pop-up.

mod support;

use guanjia::configuration::BuildingConfig;
use support::inprocess::{ADMIN, G3, G5, STAFF, at, world};

#[tokio::test(flavor = "multi_thread")]
async fn an_emergency_post_says_urgent_once() {
    let w = world(at(2026, 11, 30, 10, 0), |_| {}).await;
    w.desk
        .on_message(&w.msg(G3, 2001, "3栋电梯困人了 快来人"))
        .await
        .unwrap();
    w.drain().await;
    let log = w.sent.log.lock().unwrap().clone();
    let post = log
        .iter()
        .find(|(op, chat, _)| *op == "send" && *chat == STAFF)
        .map(|(_, _, t)| t.clone())
        .expect("a staff post");
    assert!(post.starts_with("🚨 紧急工单 #1 · 电梯"), "{post}");
    assert_eq!(post.matches("紧急").count(), 1, "{post}");
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_within_one_day_names_the_date_once() {
    let w = world(at(2026, 11, 30, 8, 0), |_| {}).await;
    let staff = w.msg(STAFF, ADMIN, "");
    w.desk
        .outage(&staff, "3栋 停水 10:00 14:00 水箱清洗")
        .await
        .unwrap();
    w.drain().await;
    assert_eq!(w.sent.sent_to(G3, "11月30日 10:00 至 14:00"), 1);
    assert_eq!(
        w.sent.sent_to(G3, "至 11月30日"),
        0,
        "the date is not repeated"
    );
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_are_listed_in_building_order() {
    let w = world(at(2026, 11, 30, 10, 0), |s| {
        for (name, chat) in [("10栋", -1010), ("1栋", -1001), ("2栋", -1002)] {
            s.building.push(BuildingConfig {
                name: name.into(),
                chat,
                estate: None,
            });
        }
    })
    .await;
    let m = w.msg(STAFF, ADMIN, "/groups");
    w.desk.groups(&m).await.unwrap();
    w.drain().await;
    let log = w.sent.log.lock().unwrap().clone();
    let list = log
        .iter()
        .rev()
        .find(|(_, chat, t)| *chat == STAFF && t.contains("已绑定"))
        .map(|(_, _, t)| t.clone())
        .unwrap();
    let order: Vec<usize> = ["1栋", "2栋", "3栋", "5栋", "10栋"]
        .iter()
        .map(|b| list.find(&format!("{b} · ")).unwrap_or(usize::MAX))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert!(
        order.iter().all(|&i| i != usize::MAX) && order == sorted,
        "{list}"
    );
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unhappy_rating_is_apologised_for_in_the_pop_up_too() {
    let w = world(at(2026, 11, 30, 10, 0), |_| {}).await;
    let owner = 2001;
    w.desk
        .on_message(&w.msg(G3, owner, "3栋2单元501 厨房水管漏水了"))
        .await
        .unwrap();
    let staff = w.msg(STAFF, ADMIN, "");
    w.desk.claim(&staff, "1".parse().unwrap()).await.unwrap();
    w.desk
        .finish(&staff, "1".parse().unwrap(), Some("换了阀门".into()))
        .await
        .unwrap();
    w.drain().await;
    let id = "1".parse().unwrap();
    let answer = w
        .desk
        .rate(id, Some(1), 2, &guanjia::domain::Actor::new(owner, "业主"))
        .await
        .unwrap();
    assert!(
        answer.text.contains("抱歉") && !answer.text.contains("感谢"),
        "{}",
        answer.text
    );
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_colleague_is_named_never_numbered_even_before_they_speak() {
    const XIAOWANG: i64 = 700_002;
    const NOBODY: i64 = 700_003;
    let w = world(at(2026, 11, 30, 9, 0), |s| {
        s.desk.staff.extend([XIAOWANG, NOBODY]);
    })
    .await;
    let owner = 2001;
    w.desk
        .on_message(&w.msg(G3, owner, "3栋2单元501 厨房水管漏水了"))
        .await
        .unwrap();
    // The owner has a private chat, where the person responsible is named.
    w.desk
        .start(&w.msg(owner, owner, "/start t1"), "t1")
        .await
        .unwrap();
    let staff = w.msg(STAFF, ADMIN, "");
    w.desk.claim(&staff, "1".parse().unwrap()).await.unwrap();

    // Nobody knows a name for NOBODY: the hand-over waits for one.
    let say = |text: &str| w.msg(STAFF, ADMIN, text);
    let one = "1".parse().unwrap();
    w.desk
        .transfer(&say("/transfer"), one, Some(&NOBODY.to_string()))
        .await
        .unwrap();
    w.desk
        .staff_add(&say("/staff_add"), Some(XIAOWANG), Some("客服小王"))
        .await
        .unwrap();
    w.desk
        .transfer(&say("/transfer"), one, Some(&XIAOWANG.to_string()))
        .await
        .unwrap();
    w.drain().await;
    let log = w.sent.log.lock().unwrap().clone();
    let refused = log
        .iter()
        .find(|(_, chat, t)| *chat == STAFF && t.contains("还不知道"))
        .map(|(_, _, t)| t.clone())
        .expect("the unnamed hand-over is refused");
    assert!(refused.contains("/staff_add"), "{refused}");
    let moved = log
        .iter()
        .find(|(_, chat, t)| *chat == STAFF && t.contains("已转交"))
        .map(|(_, _, t)| t.clone())
        .expect("the hand-over is confirmed");
    assert!(moved.contains("客服小王"), "{moved}");
    for (_, chat, text) in &log {
        if *chat != STAFF {
            assert!(
                !text.contains(&XIAOWANG.to_string()) && !text.contains(&NOBODY.to_string()),
                "an owner read a user id: {text}"
            );
        }
    }
    let show = w.msg(STAFF, ADMIN, "/ticket 1");
    w.desk
        .show_ticket(&show, "1".parse().unwrap())
        .await
        .unwrap();
    w.drain().await;
    let history = w
        .sent
        .log
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|(_, chat, t)| *chat == STAFF && t.contains("记录:"))
        .map(|(_, _, t)| t.clone())
        .unwrap();
    assert!(
        history.contains("客服小王") && !history.contains(&format!("id {XIAOWANG}")),
        "{history}"
    );
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_building_is_one_building_in_any_spelling_and_named_as_its_group_is() {
    let w = world(at(2026, 11, 30, 8, 0), |s| {
        for (name, chat) in [("1栋", -1001), ("10栋", -1010), ("11栋", -1011)] {
            s.building.push(BuildingConfig {
                name: name.into(),
                chat,
                estate: None,
            });
        }
    })
    .await;
    let staff = w.msg(STAFF, ADMIN, "");
    w.desk
        .outage(&staff, "1号楼，3号楼 停水 10:00 14:00 水箱清洗")
        .await
        .unwrap();
    w.drain().await;
    for (chat, name) in [(-1001, "1栋"), (G3, "3栋")] {
        assert_eq!(w.sent.ops("send", chat), 1, "{name} gets the outage once");
        assert_eq!(
            w.sent.sent_to(chat, name),
            1,
            "{name}'s group reads its own name"
        );
    }
    for chat in [-1010, -1011, G5] {
        assert_eq!(w.sent.ops("send", chat), 0, "{chat} is another building");
    }
    assert_eq!(w.sent.sent_to(-1001, "号楼"), 0);
    w.stop.cancel();
}
