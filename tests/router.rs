//! The platform-neutral router that Telegram and the console share: who may run
//! a staff command where, what a misused command is answered with, and which
//! buttons are whose. The desk runs in process with a recording transport.

mod support;

use guanjia::desk::{Routed, press, route};
use guanjia::domain::Actor;
use guanjia::domain::command::{OwnerCommand, StaffCommand};
use support::inprocess::*;

const OWNER: i64 = 2001;

#[tokio::test(flavor = "multi_thread")]
async fn a_staff_command_from_an_owner_is_refused_and_runs_nothing() {
    let w = world(at(2026, 11, 30, 9, 0), |_| {}).await;
    w.desk
        .on_message(&w.msg(G3, OWNER, "3栋2单元501 厨房漏水了"))
        .await
        .unwrap();
    let routed = route(&w.desk, &w.msg(G3, OWNER, "/claim 1")).await.unwrap();
    assert_eq!(routed, Routed::Refused);
    let t = w
        .desk
        .store()
        .ticket("1".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status.as_str(), "open");
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_commands_run_typed_and_misused_ones_say_what_to_write() {
    let w = world(at(2026, 11, 30, 9, 0), |_| {}).await;
    w.desk
        .on_message(&w.msg(G3, OWNER, "3栋2单元501 厨房漏水了"))
        .await
        .unwrap();
    let claimed = route(&w.desk, &w.msg(STAFF, ADMIN, "/claim@bot #1"))
        .await
        .unwrap();
    assert_eq!(
        claimed,
        Routed::Staff(StaffCommand::Claim("1".parse().unwrap()))
    );
    let misused = route(&w.desk, &w.msg(STAFF, ADMIN, "/claim"))
        .await
        .unwrap();
    assert_eq!(misused, Routed::Misused);
    let listed = route(&w.desk, &w.msg(STAFF, ADMIN, "/tickets everything"))
        .await
        .unwrap();
    assert_eq!(listed, Routed::Misused);
    w.drain().await;
    let staff = w.sent.texts_to(STAFF);
    assert!(
        staff.iter().any(|t| t.contains("工单 #1 由您负责")),
        "{staff:?}"
    );
    assert!(
        staff.iter().any(|t| t == "⚠️ 请写上工单号,例如 /claim 12"),
        "{staff:?}"
    );
    assert!(
        staff
            .iter()
            .any(|t| t == "⚠️ 用法:/tickets [open|mine|overdue|followup]"),
        "{staff:?}"
    );
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_misused_staff_command_in_an_owners_group_is_taken_down_before_its_arguments_are_read() {
    let w = world(at(2026, 11, 30, 9, 0), |_| {}).await;
    let routed = route(&w.desk, &w.msg(G3, ADMIN, "/claim 3栋2单元501"))
        .await
        .unwrap();
    assert_eq!(routed, Routed::Misused);
    w.drain().await;
    let group = w.sent.texts_to(G3);
    assert_eq!(group.len(), 1, "{group:?}");
    assert!(!group[0].contains("工单号"), "{}", group[0]);
    assert_eq!(w.sent.ops("delete", G3), 1);
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_for_another_bot_and_plain_text_reach_the_desk_as_text() {
    let w = world(at(2026, 11, 30, 9, 0), |_| {}).await;
    let other = route(&w.desk, &w.msg(STAFF, ADMIN, "/claim@other_bot 1"))
        .await
        .unwrap();
    assert_eq!(other, Routed::Text);
    let help = route(&w.desk, &w.msg(OWNER, OWNER, "/help")).await.unwrap();
    assert_eq!(help, Routed::Owner(OwnerCommand::Help));
    w.drain().await;
    let private = w.sent.texts_to(OWNER);
    assert!(
        private[0].contains("/mytickets") && !private[0].contains("/claim"),
        "owners see only their commands: {}",
        private[0]
    );
    w.stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_buttons_are_for_staff_and_stale_data_changes_nothing() {
    let w = world(at(2026, 11, 30, 9, 0), |_| {}).await;
    w.desk
        .on_message(&w.msg(G3, OWNER, "3栋2单元501 厨房漏水了"))
        .await
        .unwrap();
    let owner = Actor::new(OWNER, "业主");
    let admin = Actor::new(ADMIN, "主管");

    let refused = press(&w.desk, &owner, "claim:1").await.unwrap();
    assert!(refused.alert && refused.text.contains("仅限物业工作人员"));
    for stale in ["claim:x", "us:plumbing:1", "rr:maybe:1", "nonsense"] {
        let a = press(&w.desk, &admin, stale).await.unwrap();
        assert_eq!((a.alert, a.text.as_str()), (true, "按钮已失效"), "{stale}");
    }
    let old_room = press(&w.desk, &admin, "room:2001").await.unwrap();
    assert!(old_room.alert && old_room.text.contains("旧版本"));
    // An unreadable star button is answered for its owner without a staff check.
    let stale_rating = press(&w.desk, &owner, "rate:1").await.unwrap();
    assert_eq!(stale_rating.text, "按钮已失效");

    let t = w
        .desk
        .store()
        .ticket("1".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.status.as_str(), "open");
    let claimed = press(&w.desk, &admin, "claim:1").await.unwrap();
    assert!(!claimed.alert, "{}", claimed.text);
    w.stop.cancel();
}
