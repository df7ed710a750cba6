//! Five owners, one stopped lift: one ticket, everyone told the same number and
//! told when it is done; staff see one post that counts them.

mod support;

use guanjia::domain::Actor;
use support::inprocess::{ADMIN, G5, STAFF, at, world};

#[tokio::test(flavor = "multi_thread")]
async fn owners_reporting_one_stopped_lift_share_one_ticket() {
    let w = world(at(2026, 11, 30, 9, 0), |_| {}).await;
    let reports = [
        (3001, "5栋的电梯坏了,停在3楼不动"),
        (3002, "电梯又不动了"),
        (3003, "5栋电梯停了 爬楼好累"),
        (3004, "电梯坏了吗?按了没反应"),
        (3005, "电梯停运了,什么时候能修好"),
    ];
    let mut ids = Vec::new();
    for (owner, text) in reports {
        let m = w.msg(G5, owner, text);
        ids.push(m.message_id);
        w.desk.on_message(&m).await.unwrap();
    }
    // Someone trapped is an emergency of its own, never merged.
    w.desk
        .on_message(&w.msg(G5, 3006, "5栋电梯困人了,快来"))
        .await
        .unwrap();
    w.drain().await;

    let log = w.sent.log.lock().unwrap().clone();
    let to_group: Vec<&String> = log
        .iter()
        .filter(|(op, c, _)| *op == "send" && *c == G5)
        .map(|(_, _, t)| t)
        .collect();
    assert_eq!(
        to_group.iter().filter(|t| t.contains("#1")).count(),
        5,
        "every owner of the lift is told #1: {to_group:?}"
    );
    assert_eq!(
        to_group
            .iter()
            .filter(|t| t.contains("已有邻居反映"))
            .count(),
        4
    );
    assert!(
        to_group
            .iter()
            .any(|t| t.contains("#2") && t.contains("紧急"))
    );
    let staff_posts = log
        .iter()
        .filter(|(op, c, t)| *op == "send" && *c == STAFF && t.contains("工单 #1 ·"))
        .count();
    assert_eq!(staff_posts, 1, "one post for the lift");
    assert!(
        log.iter()
            .any(|(_, c, t)| *c == STAFF && t.contains("共 5 位")),
        "staff see the count"
    );
    assert_eq!(
        log.iter()
            .filter(|(op, c, t)| *op == "send" && *c == STAFF && t.contains("又有业主反映"))
            .count(),
        1,
        "staff hear of the second reporter once; the post keeps the count"
    );

    // A neighbour presses 我也有这个问题 under the acknowledgement.
    let pressed = w
        .desk
        .press(&Actor::new(3010, "邻居"), "metoo:1".parse().unwrap())
        .await
        .unwrap();
    assert!(pressed.text.contains("共 6 位"), "{}", pressed.text);

    // Done: every reporter hears it where they reported it.
    let staff = w.msg(STAFF, ADMIN, "/claim 1");
    w.desk.claim(&staff, "1".parse().unwrap()).await.unwrap();
    let done = w.msg(STAFF, ADMIN, "/done 1");
    w.desk
        .finish(&done, "1".parse().unwrap(), Some("更换了控制板".into()))
        .await
        .unwrap();
    w.drain().await;
    let finished = w.sent.sent_to(G5, "工单 #1)已处理完成");
    assert_eq!(
        finished,
        4 + 1,
        "four who wrote, one notice for those who pressed"
    );
    let t = w
        .desk
        .store()
        .ticket("1".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.reporter.id, 3001, "the first report is the ticket's");
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn problems_in_flats_and_other_buildings_are_not_merged() {
    let w = world(at(2026, 11, 30, 9, 0), |_| {}).await;
    w.desk
        .on_message(&w.msg(G5, 3001, "5栋电梯坏了"))
        .await
        .unwrap();
    // Another building's lift, and a light inside one flat.
    w.desk
        .on_message(&w.msg(support::inprocess::G3, 3002, "3栋电梯坏了"))
        .await
        .unwrap();
    w.desk
        .on_message(&w.msg(G5, 3003, "5栋2单元501 家里的灯坏了"))
        .await
        .unwrap();
    w.desk
        .on_message(&w.msg(G5, 3004, "5栋2单元602 卫生间灯也坏了"))
        .await
        .unwrap();
    w.drain().await;
    for n in 1..=4 {
        assert_eq!(
            w.sent.sent_to(STAFF, &format!("工单 #{n} ·")),
            1,
            "ticket #{n} is its own"
        );
    }
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_in_the_staff_group_count_this_weeks_work() {
    let w = world(at(2026, 11, 30, 9, 0), |_| {}).await;
    w.desk
        .on_message(&w.msg(G5, 3001, "5栋电梯坏了"))
        .await
        .unwrap();
    w.desk
        .on_message(&w.msg(G5, 3002, "5栋2单元501 厨房水管漏水"))
        .await
        .unwrap();
    w.clock.advance(chrono::Duration::minutes(10));
    let claim = w.msg(STAFF, ADMIN, "/claim 1");
    w.desk.claim(&claim, "1".parse().unwrap()).await.unwrap();
    w.clock.advance(chrono::Duration::minutes(50));
    let done = w.msg(STAFF, ADMIN, "/done 1");
    w.desk
        .finish(&done, "1".parse().unwrap(), None)
        .await
        .unwrap();
    let ask = w.msg(STAFF, ADMIN, "/stats");
    w.desk.stats(&ask, 7, None).await.unwrap();
    w.drain().await;
    let log = w.sent.log.lock().unwrap().clone();
    let stats = log
        .iter()
        .find(|(_, c, t)| *c == STAFF && t.starts_with("📊"))
        .map(|(_, _, t)| t.clone())
        .expect("the figures");
    // Ticket 1 claimed after 10 minutes (in time), finished after 60; ticket 2
    // not claimed and its 15 minutes long past: 1 of 2 claimed in time.
    assert!(stats.contains("工单 2 张"), "{stats}");
    assert!(stats.contains("认领用时 中位数 10 分钟"), "{stats}");
    assert!(stats.contains("按时认领 50%"), "{stats}");
    assert!(stats.contains("完成用时 中位数 60 分钟"), "{stats}");
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrongly_merged_owner_is_split_into_a_ticket_of_their_own() {
    let w = world(at(2026, 11, 30, 9, 0), |_| {}).await;
    let say = |chat, from, text: &str| {
        let m = w.msg(chat, from, text);
        let desk = w.desk.clone();
        async move { guanjia::desk::route(&desk, &m).await.unwrap() }
    };
    say(G5, 3001, "5栋楼道灯坏了,晚上黑乎乎的").await;
    // Meant the light in their own flat, but named none: merged.
    say(G5, 3002, "5栋的灯也坏了,开关按了没反应").await;
    w.drain().await;
    assert_eq!(w.sent.sent_to(G5, "#1"), 2, "both were told #1");

    say(STAFF, ADMIN, "/split 1 9999").await;
    w.drain().await;
    assert_eq!(
        w.sent.sent_to(STAFF, "合并进来的有:业主(3002)"),
        1,
        "an unknown reporter is refused with the list"
    );
    say(STAFF, ADMIN, "/split 1 3002").await;
    w.drain().await;
    assert_eq!(w.sent.sent_to(STAFF, "单独登记为工单 #2"), 1);
    assert_eq!(
        w.sent.sent_to(G5, "误并入了工单 #1"),
        1,
        "the owner is told, with the new number"
    );
    assert_eq!(w.sent.sent_to(G5, "#2"), 1);
    assert_eq!(w.sent.sent_to(STAFF, "工单 #2 ·"), 1, "staff get its post");
    let t2 = w
        .desk
        .store()
        .ticket("2".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t2.reporter.id, 3002);
    assert!(t2.text.contains("开关按了没反应"), "their own words");

    // The same command again changes nothing.
    say(STAFF, ADMIN, "/split 1 3002").await;
    w.drain().await;
    assert_eq!(w.sent.sent_to(STAFF, "单独登记为工单"), 1);
    assert!(
        w.desk
            .store()
            .ticket("3".parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );

    // #1 is done: only its own reporter hears, not the owner split out.
    say(STAFF, ADMIN, "/claim 1").await;
    say(STAFF, ADMIN, "/done 1").await;
    w.drain().await;
    assert_eq!(w.sent.sent_to(G5, "工单 #1)已处理完成"), 0);
    w.stop.cancel();
}
