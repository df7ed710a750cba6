//! Time-driven behaviour, with a clock the test moves: outage reminders and
//! "已恢复" notices, fee reminders missed while the daemon was down, overdue
//! tickets. The desk runs in process with a recording transport instead of Telegram.

mod support;

use chrono::Duration;
use support::inprocess::*;

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_is_announced_reminded_once_and_restored_once() {
    let w = world(at(2026, 11, 23, 10, 0), |_| {}).await;
    let m = w.msg(STAFF, ADMIN, "");
    w.desk
        .outage(&m, "3栋 停水 2026-11-24 09:00 12:00 二次供水管网维修")
        .await
        .unwrap();
    w.drain().await;
    assert_eq!(w.sent.sent_to(G3, "计划停水"), 1);
    assert_eq!(w.sent.ops("pin", G3), 1);
    assert_eq!(w.sent.sent_to(G5, "停水"), 0, "5栋 is not affected");

    w.tick().await;
    assert_eq!(
        w.sent.sent_to(G3, "开始停水"),
        0,
        "a day ahead is too early for the reminder"
    );
    w.clock.advance(Duration::hours(22) + Duration::minutes(15)); // 08:15 the next day
    w.tick().await;
    w.tick().await;
    assert_eq!(w.sent.sent_to(G3, "开始停水"), 1, "reminded once");

    // During the outage owners asking get the plan.
    w.clock.advance(Duration::hours(1));
    let ask = w.msg(G3, 2001, "怎么停水了?");
    w.desk.on_message(&ask).await.unwrap();
    w.drain().await;
    assert_eq!(
        w.sent.sent_to(G3, "二次供水管网维修"),
        2,
        "the notice and the answer"
    );
    assert_eq!(w.sent.sent_to(STAFF, "工单 #"), 0);

    w.clock.advance(Duration::hours(3)); // 12:15
    w.tick().await;
    w.tick().await;
    assert_eq!(w.sent.sent_to(G3, "已恢复供水"), 1, "restored once");
    assert_eq!(w.sent.ops("unpin", G3), 1);

    // Afterwards no water is a repair again.
    let ask = w.msg(G3, 2001, "家里停水了,一滴水都没有");
    w.desk.on_message(&ask).await.unwrap();
    w.drain().await;
    assert_eq!(w.sent.sent_to(STAFF, "工单 #1"), 1);
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_starting_soon_is_not_reminded_twice() {
    let w = world(at(2026, 11, 23, 10, 0), |_| {}).await;
    let m = w.msg(STAFF, ADMIN, "");
    w.desk
        .outage(&m, "all power 10:30 11:30 配电房检修")
        .await
        .unwrap();
    w.drain().await;
    w.tick().await;
    assert_eq!(w.sent.sent_to(G3, "计划停电"), 1);
    assert_eq!(
        w.sent.sent_to(G3, "开始停电"),
        0,
        "the announcement was the reminder"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fee_reminder_missed_while_the_daemon_was_down_is_sent_once() {
    let w = world(at(2026, 11, 23, 9, 0), |s| {
        s.fees.group_schedule = "0 0 10 * * *".into();
        s.fees.private_schedule = String::new();
    })
    .await;
    w.tick().await;
    assert_eq!(
        w.sent.sent_to(G3, "缴费提醒"),
        0,
        "nothing before the first slot"
    );
    w.clock.advance(Duration::minutes(90)); // 10:30
    w.tick().await;
    w.tick().await;
    assert_eq!(w.sent.sent_to(G3, "缴费提醒"), 1);
    assert_eq!(w.sent.sent_to(G5, "缴费提醒"), 1);

    // Down for three days: three 10:00 slots missed, one reminder on return.
    w.clock.advance(Duration::days(3));
    w.tick().await;
    w.tick().await;
    assert_eq!(w.sent.sent_to(G3, "缴费提醒"), 2);
    w.clock.advance(Duration::hours(1));
    w.tick().await;
    assert_eq!(
        w.sent.sent_to(G3, "缴费提醒"),
        2,
        "no slot passed in that hour"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ticket_nobody_takes_within_fifteen_minutes_is_listed_as_overdue() {
    let w = world(at(2026, 11, 23, 9, 0), |_| {}).await;
    w.desk
        .on_message(&w.msg(G3, 2001, "3栋2单元501 卫生间漏水了"))
        .await
        .unwrap();
    w.overdue().await;
    assert_eq!(w.sent.sent_to(STAFF, "超时的工单:无"), 1);
    w.clock.advance(Duration::minutes(16));
    w.overdue().await;
    assert_eq!(w.sent.sent_to(STAFF, "超时的工单(1 条)"), 1);
    w.desk
        .claim(&w.msg(STAFF, ADMIN, ""), "1".parse().unwrap())
        .await
        .unwrap();
    w.overdue().await;
    assert_eq!(
        w.sent.sent_to(STAFF, "超时的工单:无"),
        2,
        "claimed within the day is on time"
    );
    w.clock.advance(Duration::hours(25));
    w.overdue().await;
    assert_eq!(w.sent.sent_to(STAFF, "超时的工单(1 条)"), 2);
}

/// Whatever owners type, the desk answers or stays silent; it never fails.
#[tokio::test(flavor = "multi_thread")]
async fn any_text_from_anyone_is_handled_without_an_error() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;

    let w = world(at(2026, 11, 23, 9, 0), |_| {}).await;
    let mut runner = TestRunner::deterministic();
    let texts = proptest::string::string_regex(
        "(\\PC|[\\x00-\\x1f]|漏水|电梯|困|着火|3栋2单元501|/claim|#|物业费|建议){0,40}",
    )
    .unwrap();
    for i in 0..300 {
        let text = texts.new_tree(&mut runner).unwrap().current();
        let chat = [G3, G5, 2001 + i % 3, -777][i as usize % 4];
        let m = w.msg(chat, 2001 + i % 5, &text);
        w.desk
            .on_message(&m)
            .await
            .unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
    let huge = "电梯坏了".repeat(25_000);
    w.desk.on_message(&w.msg(G3, 2001, &huge)).await.unwrap();
    w.drain().await;
    assert!(
        w.sent
            .log
            .lock()
            .unwrap()
            .iter()
            .all(|(_, _, t)| t.chars().count() <= 4096 || t.is_empty())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn asking_why_the_water_is_off_with_no_outage_planned_opens_a_repair() {
    let w = world(at(2026, 11, 23, 10, 0), |_| {}).await;
    let ask = w.msg(G3, 2001, "怎么停水了?几点来水啊");
    w.desk.on_message(&ask).await.unwrap();
    w.drain().await;
    assert_eq!(
        w.sent.sent_to(G3, "工单号 #1"),
        1,
        "the owner gets a ticket number"
    );
    assert_eq!(w.sent.sent_to(STAFF, "工单 #1"), 1, "staff get the repair");
    w.stop.cancel();
}

/// Texts sent to `chat` that contain `needle`.
fn said(w: &support::inprocess::World, chat: i64, needle: &str) -> usize {
    w.sent.sent_to(chat, needle)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untaken_ticket_climbs_the_ladder_once_per_tier_across_a_restart() {
    const SUPERVISOR: i64 = 77;
    let mut w = world(at(2026, 11, 30, 10, 0), |s| {
        s.desk.supervisors = vec![SUPERVISOR];
    })
    .await;
    w.desk
        .on_message(&w.msg(G3, 2001, "3栋楼道灯坏了"))
        .await
        .unwrap();
    w.drain().await;
    let tick = |w: &support::inprocess::World| {
        let desk = w.desk.clone();
        async move { desk.tick().await.unwrap() }
    };
    // 14 minutes: nothing yet.
    w.clock.advance(Duration::minutes(14));
    tick(&w).await;
    w.drain().await;
    assert_eq!(said(&w, STAFF, "无人认领"), 0);
    // 15: tier 1 in the staff group, naming the supervisor; once however often the clock ticks.
    w.clock.advance(Duration::minutes(1));
    tick(&w).await;
    tick(&w).await;
    w.drain().await;
    assert_eq!(said(&w, STAFF, "已超过 15 分钟无人认领"), 1);
    assert_eq!(said(&w, SUPERVISOR, "无人认领"), 0);
    // A restart does not fire it again; 30 minutes tells the supervisor in private.
    w.restart().await;
    tick(&w).await;
    w.clock.advance(Duration::minutes(15));
    tick(&w).await;
    tick(&w).await;
    w.drain().await;
    assert_eq!(said(&w, STAFF, "已超过 15 分钟无人认领"), 1);
    assert_eq!(said(&w, SUPERVISOR, "第 2 级"), 1);
    // 45: the admins.
    w.clock.advance(Duration::minutes(15));
    tick(&w).await;
    w.drain().await;
    assert_eq!(said(&w, ADMIN, "第 3 级"), 1);
    // Claimed at last: past its completion deadline the assignee is reminded once.
    let claim = w.msg(STAFF, ADMIN, "/claim 1");
    w.desk.claim(&claim, "1".parse().unwrap()).await.unwrap();
    w.drain().await;
    w.clock.advance(Duration::hours(24));
    tick(&w).await;
    tick(&w).await;
    w.drain().await;
    assert_eq!(said(&w, ADMIN, "您负责的工单 #1"), 1);
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_emergency_escalates_within_minutes_even_at_night() {
    const SUPERVISOR: i64 = 77;
    let w = world(at(2026, 11, 30, 23, 40), |s| {
        s.desk.supervisors = vec![SUPERVISOR];
        s.service.hours = "08:00-20:00".into();
        s.service.emergency_respond_minutes = 1;
    })
    .await;
    w.desk
        .on_message(&w.msg(G3, 2001, "3栋电梯困人了 快来"))
        .await
        .unwrap();
    w.desk
        .on_message(&w.msg(G3, 2002, "3栋2单元楼道灯坏了"))
        .await
        .unwrap();
    w.drain().await;
    // The repair waits for the morning and the owner is told so; the emergency does not.
    let ack = w
        .sent
        .log
        .lock()
        .unwrap()
        .iter()
        .find(|(_, c, t)| *c == G3 && t.contains("#2"))
        .map(|(_, _, t)| t.clone())
        .unwrap();
    assert!(ack.contains("明天 8:00"), "{ack}");
    assert_eq!(w.sent.sent_to(G3, "非工作时间"), 1, "only the repair");
    w.clock.advance(Duration::seconds(59));
    w.desk.tick().await.unwrap();
    w.drain().await;
    assert_eq!(said(&w, STAFF, "无人认领"), 0);
    w.clock.advance(Duration::seconds(1));
    w.desk.tick().await.unwrap();
    // Delivered before the clock jumps: a jump of the test clock while a send
    // is in flight would expire its lease, which real time never does.
    w.drain().await;
    w.clock.advance(Duration::minutes(1));
    w.desk.tick().await.unwrap();
    w.drain().await;
    assert_eq!(
        said(&w, STAFF, "工单 #1(电梯 · 3栋)已超过 1 分钟无人认领"),
        1
    );
    assert_eq!(said(&w, SUPERVISOR, "工单 #1"), 1);
    // The night repair has not moved: its clock starts at 8:00.
    assert_eq!(said(&w, STAFF, "工单 #2"), 1, "only its own post");
    w.stop.cancel();
}
