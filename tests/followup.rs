//! The end of the closed loop and the first 30 seconds: finished work nobody
//! rated is asked about once more, then listed for a call until a staff member
//! records it (回访); an owner at the end of their patience is flagged 情绪 and a
//! supervisor hears of it once. With a clock the test moves, and a restart in
//! the middle.

mod support;

use chrono::Duration;
use guanjia::domain::{Actor, Status};
use support::inprocess::*;

const SUPERVISOR: i64 = 77;
const OWNER: i64 = 3001;

async fn status(w: &World, n: &str) -> Status {
    w.desk
        .store()
        .ticket(n.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test(flavor = "multi_thread")]
async fn unrated_work_is_asked_about_once_then_called_and_closed_by_followup() {
    let mut w = world(at(2026, 12, 1, 9, 0), |_| {}).await;
    w.say(G5, OWNER, "5栋2单元501 厨房水管漏水了").await;
    w.say(STAFF, ADMIN, "/claim 1").await;
    w.say(STAFF, ADMIN, "/done 1 换了三通").await;
    let asked = |w: &World| w.sent.sent_to(G5, "点下方星星");

    w.clock.advance(Duration::hours(23));
    w.tick().await;
    assert_eq!(asked(&w), 0, "a day has not passed");
    w.clock.advance(Duration::hours(1));
    w.tick().await;
    w.restart().await;
    w.tick().await;
    assert_eq!(asked(&w), 1, "asked once, a restart does not ask again");
    w.say(STAFF, ADMIN, "/tickets followup").await;
    assert_eq!(w.sent.sent_to(STAFF, "待回访的工单:无"), 1);

    w.clock.advance(Duration::hours(24));
    w.tick().await;
    w.tick().await;
    assert_eq!(w.sent.sent_to(STAFF, "请电话回访"), 1, "staff told once");
    assert_eq!(asked(&w), 1, "the owner is not asked a third time");
    w.say(STAFF, ADMIN, "/tickets followup").await;
    assert_eq!(w.sent.sent_to(STAFF, "待回访的工单(1 条"), 1);

    w.say(STAFF, ADMIN, "/followup 1").await;
    assert_eq!(w.sent.sent_to(STAFF, "请写上回访结果"), 1);
    assert_eq!(status(&w, "1").await, Status::Done);
    w.say(STAFF, ADMIN, "/followup 1 电话回访,业主说已经不漏了")
        .await;
    assert_eq!(w.sent.sent_to(STAFF, "工单 #1 已记录回访"), 1);
    assert_eq!(status(&w, "1").await, Status::Closed);
    w.say(STAFF, ADMIN, "/tickets followup").await;
    assert_eq!(w.sent.sent_to(STAFF, "待回访的工单:无"), 2);
    let history = w.desk.store().events("1".parse().unwrap()).await.unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.detail.as_deref() == Some("电话回访,业主说已经不漏了")),
        "the outcome is in the ticket's history"
    );
    // The owner's group never reads the staff's record.
    assert_eq!(w.sent.sent_to(G5, "回访"), 0);
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rating_after_the_reminder_ends_the_follow_up() {
    let w = world(at(2026, 12, 1, 9, 0), |_| {}).await;
    w.say(G5, OWNER, "5栋2单元501 卫生间灯不亮了").await;
    w.say(STAFF, ADMIN, "/claim 1").await;
    w.say(STAFF, ADMIN, "/done 1").await;
    w.clock.advance(Duration::hours(25));
    w.tick().await;
    assert_eq!(w.sent.sent_to(G5, "点下方星星"), 1);
    // The reminder's buttons are this round's: they work.
    let answer = w
        .desk
        .press(&Actor::new(OWNER, "业主"), "rate:1:1:5".parse().unwrap())
        .await
        .unwrap();
    assert!(!answer.alert, "{}", answer.text);
    assert_eq!(status(&w, "1").await, Status::Closed);
    w.clock.advance(Duration::hours(48));
    w.tick().await;
    assert_eq!(
        w.sent.sent_to(STAFF, "请电话回访"),
        0,
        "rated: nobody calls"
    );
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_threatening_the_hotline_is_flagged_and_a_supervisor_told_once() {
    let w = world(at(2026, 12, 1, 9, 0), |s| {
        s.desk.supervisors = vec![SUPERVISOR]
    })
    .await;
    w.say(
        G5,
        OWNER,
        "5栋2单元501 厨房漏水三天了,再不来修我就打12345投诉你们",
    )
    .await;
    assert_eq!(w.sent.sent_to(STAFF, "😠"), 1, "the staff post shows it");
    assert_eq!(w.sent.sent_to(SUPERVISOR, "情绪激动"), 1);
    // More anger on the same ticket: the supervisor was told already.
    w.say(G5, OWNER, "厨房漏水还是没人管,我要找媒体曝光你们")
        .await;
    assert!(
        w.desk
            .store()
            .ticket("2".parse().unwrap())
            .await
            .unwrap()
            .is_none(),
        "the same ticket"
    );
    assert_eq!(w.sent.sent_to(SUPERVISOR, "情绪激动"), 1);
    // Neighbours never read the staff's warning.
    assert_eq!(w.sent.sent_to(G5, "情绪"), 0);
    assert_eq!(w.sent.sent_to(G5, "😠"), 0);
    let t = w
        .desk
        .store()
        .ticket("1".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(t.upset);
    w.say(STAFF, ADMIN, "/stats").await;
    assert_eq!(
        w.sent.sent_to(STAFF, "业主情绪 1 张"),
        1,
        "the manager's figures count it"
    );

    // A calm report with a phone number that happens to hold 12345 is calm.
    w.say(G3, 3002, "3栋1单元201 门锁坏了,电话 13812345678")
        .await;
    assert_eq!(w.sent.sent_to(SUPERVISOR, "工单 #2"), 0);
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_third_report_of_the_same_problem_is_an_owner_losing_patience() {
    let w = world(at(2026, 12, 1, 9, 0), |s| {
        s.desk.supervisors = vec![SUPERVISOR]
    })
    .await;
    w.say(G5, OWNER, "5栋2单元501 厨房水管漏水").await;
    w.clock.advance(Duration::minutes(5));
    w.say(G5, OWNER, "厨房水管还在漏水").await;
    assert_eq!(
        w.sent.sent_to(SUPERVISOR, "情绪激动"),
        0,
        "a second report is news, not anger"
    );
    w.clock.advance(Duration::minutes(5));
    w.say(G5, OWNER, "厨房水管一直在漏水").await;
    assert_eq!(w.sent.sent_to(SUPERVISOR, "第 3 次反映同一问题"), 1);
    assert!(
        w.sent
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|(op, c, t)| *op == "edit" && *c == STAFF && t.contains("😠")),
        "the staff post is edited to show it"
    );
    w.stop.cancel();
}
