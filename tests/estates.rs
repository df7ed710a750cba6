//! Two estates (小区) in one desk, both with a 1栋: an owner's report, a notice
//! and an outage for one estate's 1栋 reach only that estate's group and staff;
//! a staff group serving both must say which estate it means. The desk runs in
//! process with a recording transport instead of Telegram.

mod support;

use chrono::Duration;
use guanjia::configuration::{BuildingConfig, EstateConfig, Settings};
use support::inprocess::*;

/// 翠湖苑's staff group and groups.
const A_STAFF: i64 = -910;
const A1: i64 = -1101;
const A3: i64 = -1103;
/// 金桂园's staff group and its 1栋.
const B_STAFF: i64 = -920;
const B1: i64 = -2101;
/// A staff group serving both estates.
const BOTH: i64 = -930;
/// A staff member of 金桂园 only (`[[estate]] staff`).
const JIN_STAFF: i64 = 7001;

fn building(name: &str, chat: i64, estate: &str) -> BuildingConfig {
    BuildingConfig {
        name: name.into(),
        chat,
        estate: Some(estate.into()),
    }
}

/// 翠湖苑 (1栋, 3栋) and 金桂园 (1栋), each staff group given by `staff`.
fn two_estates(s: &mut Settings, staff: [Option<i64>; 2]) {
    s.estate = vec![
        EstateConfig {
            name: "翠湖苑".into(),
            staff_chat: staff[0],
            staff: vec![],
        },
        EstateConfig {
            name: "金桂园".into(),
            staff_chat: staff[1],
            staff: vec![JIN_STAFF],
        },
    ];
    s.building = vec![
        building("1栋", A1, "翠湖苑"),
        building("3栋", A3, "翠湖苑"),
        building("1栋", B1, "金桂园"),
    ];
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owners_report_in_one_estates_1栋_reaches_only_that_estates_staff() {
    let w = world(at(2026, 11, 30, 10, 0), |s| {
        two_estates(s, [Some(A_STAFF), Some(B_STAFF)])
    })
    .await;
    w.say(A1, 2001, "2单元501 厨房水管漏水了").await;
    assert_eq!(
        w.sent.sent_to(A_STAFF, "工单 #1"),
        1,
        "{:?}",
        w.sent.texts_to(A_STAFF)
    );
    assert!(
        w.sent.texts_to(A_STAFF).iter().any(|t| t.contains("1栋")),
        "staff read the building: {:?}",
        w.sent.texts_to(A_STAFF)
    );
    assert!(
        w.sent.texts_to(B_STAFF).is_empty(),
        "{:?}",
        w.sent.texts_to(B_STAFF)
    );
    assert!(
        w.sent.texts_to(STAFF).is_empty(),
        "the desk's group serves no estate here"
    );
    assert!(w.sent.texts_to(B1).is_empty());

    // The same words in 金桂园's 1栋 are 金桂园's ticket.
    w.say(B1, 3001, "2单元501 厨房水管漏水了").await;
    assert_eq!(
        w.sent.sent_to(B_STAFF, "工单 #2"),
        1,
        "{:?}",
        w.sent.texts_to(B_STAFF)
    );
    assert_eq!(w.sent.sent_to(A_STAFF, "#2"), 0);

    // Another estate's 1栋 lift is another lift: never merged across estates.
    w.say(A1, 2002, "1栋电梯坏了,按了没反应").await;
    w.say(B1, 3002, "1栋电梯坏了,按了没反应").await;
    assert_eq!(
        w.sent.sent_to(A_STAFF, "工单 #3"),
        1,
        "{:?}",
        w.sent.texts_to(A_STAFF)
    );
    assert_eq!(
        w.sent.sent_to(B_STAFF, "工单 #4"),
        1,
        "{:?}",
        w.sent.texts_to(B_STAFF)
    );
    assert!(
        !w.sent.texts_to(B1).iter().any(|t| t.contains("#3")),
        "金桂园's owner is not told of 翠湖苑's ticket: {:?}",
        w.sent.texts_to(B1)
    );
    // 翠湖苑's staff can neither see nor claim 金桂园's ticket.
    w.say(A_STAFF, ADMIN, "/ticket 2").await;
    w.say(A_STAFF, ADMIN, "/claim 2").await;
    assert_eq!(
        w.sent.sent_to(A_STAFF, "没有工单 #2"),
        2,
        "{:?}",
        w.sent.texts_to(A_STAFF)
    );
    assert!(
        !w.sent.texts_to(B1).iter().any(|t| t.contains("主管")),
        "金桂园's owner hears of no claim: {:?}",
        w.sent.texts_to(B1)
    );
    // A staff group lists its own estate's tickets only.
    w.say(A_STAFF, ADMIN, "/tickets").await;
    let listed = w.sent.texts_to(A_STAFF).last().cloned().unwrap_or_default();
    assert!(
        listed.contains("#1") && !listed.contains("#2") && !listed.contains("#4"),
        "{listed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notice_and_an_outage_for_one_estates_1栋_reach_only_its_group() {
    let w = world(at(2026, 11, 23, 10, 0), |s| {
        two_estates(s, [Some(A_STAFF), Some(B_STAFF)])
    })
    .await;
    w.say(A_STAFF, ADMIN, "/notice 1栋 明天上午清洗水箱").await;
    assert_eq!(w.sent.sent_to(A1, "清洗水箱"), 1);
    assert_eq!(
        w.sent.sent_to(B1, "清洗水箱"),
        0,
        "金桂园's 1栋 is another building"
    );
    assert_eq!(w.sent.sent_to(A3, "清洗水箱"), 0);
    assert!(
        w.sent
            .texts_to(A_STAFF)
            .iter()
            .any(|t| t.contains("1 个群")),
        "{:?}",
        w.sent.texts_to(A_STAFF)
    );
    // `all` from an estate's staff group is all of that estate.
    w.say(B_STAFF, ADMIN, "/notice all 今晚消防演练").await;
    assert_eq!(w.sent.sent_to(B1, "消防演练"), 1);
    assert_eq!(
        w.sent.sent_to(A1, "消防演练") + w.sent.sent_to(A3, "消防演练"),
        0
    );

    w.say(
        A_STAFF,
        ADMIN,
        "/outage 1栋 停水 2026-11-24 09:00 12:00 二次供水管网维修",
    )
    .await;
    assert_eq!(w.sent.sent_to(A1, "计划停水"), 1);
    assert_eq!(w.sent.ops("pin", A1), 1);
    assert_eq!(w.sent.sent_to(B1, "停水"), 0);
    assert_eq!(w.sent.ops("pin", B1), 0);

    // The reminder and "已恢复" follow the outage's estate too.
    w.clock.advance(Duration::hours(22) + Duration::minutes(15));
    w.tick().await;
    assert_eq!(w.sent.sent_to(A1, "开始停水"), 1);
    assert_eq!(w.sent.sent_to(B1, "停水"), 0);
    // During it, 翠湖苑's 1栋 asking gets the plan; 金桂园's 1栋 gets a repair ticket.
    w.clock.advance(Duration::hours(1));
    w.say(A1, 2001, "怎么停水了?").await;
    assert_eq!(
        w.sent.sent_to(A1, "二次供水管网维修"),
        2,
        "{:?}",
        w.sent.texts_to(A1)
    );
    w.say(B1, 3001, "怎么停水了?家里一滴水都没有").await;
    assert!(
        w.sent.texts_to(B1).iter().any(|t| t.contains("工单号 #1")),
        "{:?}",
        w.sent.texts_to(B1)
    );
    assert_eq!(w.sent.sent_to(B_STAFF, "工单 #1"), 1);
    w.clock.advance(Duration::hours(3));
    w.tick().await;
    assert_eq!(w.sent.sent_to(A1, "已恢复"), 1);
    assert_eq!(w.sent.ops("unpin", A1), 1);
    assert_eq!(w.sent.sent_to(B1, "已恢复"), 0);

    // 金桂园's staff neither see nor cancel 翠湖苑's outage.
    w.say(B_STAFF, ADMIN, "/outage_cancel 1").await;
    assert!(
        w.sent
            .texts_to(B_STAFF)
            .last()
            .is_some_and(|t| !t.contains("已取消")),
        "{:?}",
        w.sent.texts_to(B_STAFF)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_staff_group_serving_both_estates_must_name_the_estate() {
    let w = world(at(2026, 11, 30, 10, 0), |s| {
        two_estates(s, [Some(BOTH), Some(BOTH)])
    })
    .await;
    w.say(BOTH, ADMIN, "/notice 1栋 明天上午清洗水箱").await;
    let answer = w.sent.texts_to(BOTH).last().cloned().unwrap_or_default();
    assert!(
        answer.contains("请写明小区") && answer.contains("翠湖苑") && answer.contains("金桂园"),
        "{answer}"
    );
    assert_eq!(
        w.sent.sent_to(A1, "清洗水箱") + w.sent.sent_to(B1, "清洗水箱"),
        0
    );

    w.say(BOTH, ADMIN, "/notice 金桂园:1栋 明天上午清洗水箱")
        .await;
    assert_eq!(w.sent.sent_to(B1, "清洗水箱"), 1);
    assert_eq!(w.sent.sent_to(A1, "清洗水箱"), 0);
    // A full-width colon, an outage, the estate alone for all of it.
    w.say(
        BOTH,
        ADMIN,
        "/outage 翠湖苑：1栋 停电 2026-12-01 09:00 12:00 电路检修",
    )
    .await;
    assert_eq!(w.sent.sent_to(A1, "计划停电"), 1);
    assert_eq!(w.sent.sent_to(B1, "停电"), 0);
    w.say(BOTH, ADMIN, "/notice 翠湖苑 周六义诊").await;
    assert_eq!(w.sent.sent_to(A1, "义诊") + w.sent.sent_to(A3, "义诊"), 2);
    assert_eq!(w.sent.sent_to(B1, "义诊"), 0);

    w.say(BOTH, ADMIN, "/notice 银杏苑:1栋 明天停水").await;
    let answer = w.sent.texts_to(BOTH).last().cloned().unwrap_or_default();
    assert!(answer.contains("没有小区「银杏苑」"), "{answer}");

    // Owners' reports of both estates come to the one group.
    w.say(A1, 2001, "2单元501 厨房水管漏水了").await;
    w.say(B1, 3001, "楼道的灯坏了").await;
    assert_eq!(w.sent.sent_to(BOTH, "工单 #1"), 1);
    assert_eq!(w.sent.sent_to(BOTH, "工单 #2"), 1);
    assert_eq!(
        w.sent.sent_to(BOTH, "位置:翠湖苑 1栋"),
        1,
        "{:?}",
        w.sent.texts_to(BOTH)
    );
    assert_eq!(w.sent.sent_to(BOTH, "位置:金桂园 1栋"), 1);
    // Its figures count both estates, or the one it names.
    w.say(BOTH, ADMIN, "/stats").await;
    let both = w.sent.texts_to(BOTH).last().cloned().unwrap_or_default();
    assert!(both.contains("工单 2 张"), "{both}");
    w.say(BOTH, ADMIN, "/stats 翠湖苑").await;
    let one = w.sent.texts_to(BOTH).last().cloned().unwrap_or_default();
    assert!(one.contains("工单 1 张"), "{one}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_staff_group_cannot_target_an_estate_it_does_not_serve() {
    let w = world(at(2026, 11, 30, 10, 0), |s| {
        two_estates(s, [Some(A_STAFF), Some(B_STAFF)])
    })
    .await;
    w.say(A_STAFF, ADMIN, "/notice 金桂园:1栋 明天停水").await;
    let answer = w.sent.texts_to(A_STAFF).last().cloned().unwrap_or_default();
    assert!(answer.contains("不服务小区「金桂园」"), "{answer}");
    assert_eq!(w.sent.sent_to(B1, "停水"), 0);
    // Naming its own estate is fine.
    w.say(A_STAFF, ADMIN, "/notice 翠湖苑:3栋 明天停水").await;
    assert_eq!(w.sent.sent_to(A3, "停水"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_is_bound_to_a_named_estate_and_the_desk_never_guesses() {
    const B5: i64 = -2105;
    let w = world(at(2026, 11, 30, 10, 0), |s| {
        two_estates(s, [Some(A_STAFF), Some(B_STAFF)])
    })
    .await;
    w.say(B5, ADMIN, "/bind 5栋").await;
    let answer = w.sent.texts_to(B5).last().cloned().unwrap_or_default();
    assert!(
        answer.contains("请写明小区") && answer.contains("金桂园"),
        "{answer}"
    );
    w.say(B5, ADMIN, "/bind 金桂园 5栋").await;
    let answer = w.sent.texts_to(B5).last().cloned().unwrap_or_default();
    assert!(answer.contains("金桂园 5栋"), "{answer}");
    w.say(B5, 3005, "楼道的灯坏了").await;
    assert_eq!(w.sent.sent_to(B_STAFF, "工单 #1"), 1);
    assert_eq!(w.sent.sent_to(A_STAFF, "#1"), 0);
    w.say(B_STAFF, ADMIN, "/groups").await;
    let groups = w.sent.texts_to(B_STAFF).last().cloned().unwrap_or_default();
    assert!(
        groups.contains("金桂园 5栋")
            && groups.contains("金桂园 1栋")
            && !groups.contains("翠湖苑"),
        "{groups}"
    );
    // An estate's staff group is never bound as a building group.
    w.say(A_STAFF, ADMIN, "/bind 翠湖苑:9栋").await;
    assert!(
        w.sent
            .texts_to(A_STAFF)
            .last()
            .is_some_and(|t| t.contains("员工群")),
        "{:?}",
        w.sent.texts_to(A_STAFF)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_in_an_estates_staff_group_count_only_its_estate() {
    let w = world(at(2026, 11, 30, 10, 0), |s| {
        two_estates(s, [Some(A_STAFF), Some(B_STAFF)])
    })
    .await;
    w.say(A1, 2001, "2单元501 厨房水管漏水了").await;
    w.say(B1, 3001, "楼道的灯坏了").await;
    w.say(B1, 3002, "门禁坏了,刷卡没反应").await;
    w.say(A_STAFF, ADMIN, "/stats").await;
    let a = w.sent.texts_to(A_STAFF).last().cloned().unwrap_or_default();
    w.say(B_STAFF, ADMIN, "/stats").await;
    let b = w.sent.texts_to(B_STAFF).last().cloned().unwrap_or_default();
    assert!(a.contains("工单 1 张"), "{a}");
    assert!(b.contains("工单 2 张"), "{b}");
    // An estate's staff group cannot ask for another estate's figures.
    w.say(A_STAFF, ADMIN, "/stats 7 金桂园").await;
    let refused = w.sent.texts_to(A_STAFF).last().cloned().unwrap_or_default();
    assert!(refused.contains("不服务小区「金桂园」"), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_report_from_an_owner_of_no_known_estate_goes_to_the_desks_staff_group() {
    let w = world(at(2026, 11, 30, 10, 0), |s| {
        two_estates(s, [Some(A_STAFF), Some(B_STAFF)])
    })
    .await;
    // Never seen in a building group: the desk cannot tell which 3栋 it is.
    w.say(4001, 4001, "3栋2单元501 厨房水管漏水了").await;
    assert_eq!(
        w.sent.sent_to(STAFF, "工单 #1"),
        1,
        "{:?}",
        w.sent.texts_to(STAFF)
    );
    assert!(w.sent.texts_to(A_STAFF).is_empty() && w.sent.texts_to(B_STAFF).is_empty());
    w.say(STAFF, ADMIN, "/claim 1").await;
    assert_eq!(
        w.sent.sent_to(STAFF, "没有工单"),
        0,
        "{:?}",
        w.sent.texts_to(STAFF)
    );
    w.say(A_STAFF, ADMIN, "/claim 1").await;
    assert_eq!(
        w.sent.sent_to(A_STAFF, "没有工单 #1"),
        1,
        "{:?}",
        w.sent.texts_to(A_STAFF)
    );

    // Once seen in 金桂园's 1栋, their private reports are 金桂园's.
    w.say(B1, 4002, "楼道的灯坏了").await;
    w.say(4002, 4002, "家里厨房水管漏水了").await;
    assert_eq!(
        w.sent.sent_to(B_STAFF, "工单 #3"),
        1,
        "{:?}",
        w.sent.texts_to(B_STAFF)
    );
}

/// `user` presses the room-request button `data` (`rr:ok:<request>`).
async fn press(w: &World, user: i64, data: &str) {
    guanjia::desk::press(&w.desk, &guanjia::domain::Actor::new(user, "主管"), data)
        .await
        .unwrap();
    w.drain().await;
}

/// Import `csv` as `estate`'s ledger, as `guanjia fees import --estate` does.
async fn import(w: &World, estate: Option<&str>, csv: &str) -> anyhow::Result<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ledger.csv");
    std::fs::write(&file, csv).unwrap();
    guanjia::startup::import_fees(w.settings(), &file, estate).await
}

#[tokio::test(flavor = "multi_thread")]
async fn each_estates_ledger_reaches_only_the_owner_of_that_estates_room() {
    let w = world(at(2026, 11, 30, 10, 0), |s| {
        two_estates(s, [Some(A_STAFF), Some(B_STAFF)])
    })
    .await;
    let (cui, jin, three) = (4001, 4002, 4003);

    // Both estates have a 1栋: the owner is asked which, and nobody is asked to confirm.
    w.say(cui, cui, "/room 1-2-501").await;
    let asked = w.sent.texts_to(cui);
    assert!(
        asked
            .last()
            .is_some_and(|t| t.contains("翠湖苑") && t.contains("金桂园")),
        "{asked:?}"
    );
    assert!(w.sent.texts_to(A_STAFF).is_empty() && w.sent.texts_to(B_STAFF).is_empty());

    // Named, each request goes to its own estate's staff, who confirm it.
    w.say(cui, cui, "/room 翠湖苑 1-2-501").await;
    assert_eq!(w.sent.sent_to(A_STAFF, "申请登记房号"), 1);
    assert!(
        w.sent.texts_to(A_STAFF)[0].contains("翠湖苑"),
        "staff read which estate: {:?}",
        w.sent.texts_to(A_STAFF)
    );
    assert!(w.sent.texts_to(B_STAFF).is_empty());
    press(&w, ADMIN, "rr:ok:1").await;
    w.say(jin, jin, "/room 金桂园1栋2单元501").await;
    assert_eq!(w.sent.sent_to(B_STAFF, "申请登记房号"), 1);
    press(&w, ADMIN, "rr:ok:2").await;
    // Only 翠湖苑 has a 3栋: no need to name it.
    w.say(three, three, "/room 3-1-101").await;
    assert_eq!(w.sent.sent_to(A_STAFF, "申请登记房号"), 2);
    press(&w, ADMIN, "rr:ok:3").await;
    assert!(w.sent.sent_to(jin, "已确认登记") == 1 && w.sent.sent_to(cui, "已确认登记") == 1);

    // A ledger must say whose it is when there are several estates.
    let ledger = "楼栋,单元,房号,金额,账期,截止日期\n1栋,2,501,1234.00,2026年12月,2026-12-31\n3栋,1,101,88.00,2026年12月,2026-12-31\n";
    let err = import(&w, None, ledger).await.unwrap_err().to_string();
    assert!(err.contains("--estate") && err.contains("金桂园"), "{err}");
    // 金桂园 has no 3栋: that row is refused, and nothing of the file is stored.
    let err = import(&w, Some("金桂园"), ledger)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ledger.csv:3") && err.contains("3栋") && err.contains("没有导入"),
        "{err}"
    );
    let out = import(&w, Some("翠湖苑"), ledger).await.unwrap();
    assert!(out.contains("翠湖苑") && out.contains("2 行"), "{out}");

    w.say(A_STAFF, ADMIN, "/remind_fees").await;
    assert_eq!(
        w.sent.sent_to(cui, "1234.00"),
        1,
        "{:?}",
        w.sent.texts_to(cui)
    );
    assert_eq!(w.sent.sent_to(three, "88.00"), 1);
    assert!(
        w.sent.texts_to(jin).iter().all(|t| !t.contains("物业费")),
        "金桂园's 1栋2单元501 is not 翠湖苑's: {:?}",
        w.sent.texts_to(jin)
    );

    // 金桂园's own ledger for the same room and period: its owner, its amount.
    let theirs = "楼栋,单元,房号,金额,账期,截止日期\n1栋,2,501,99.00,2026年12月,2026-12-31\n";
    import(&w, Some("金桂园"), theirs).await.unwrap();
    w.say(B_STAFF, ADMIN, "/remind_fees").await;
    assert_eq!(
        w.sent.sent_to(jin, "99.00"),
        1,
        "{:?}",
        w.sent.texts_to(jin)
    );
    assert_eq!(w.sent.sent_to(cui, "99.00"), 0);
    assert_eq!(
        w.sent.sent_to(cui, "1234.00"),
        1,
        "翠湖苑's ledger is untouched by 金桂园's import"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_the_desk_could_not_handle_is_followed_up_by_its_estates_staff() {
    let w = world(at(2026, 11, 30, 10, 0), |s| {
        two_estates(s, [Some(A_STAFF), Some(B_STAFF)])
    })
    .await;
    let failed = |update_id, chat_id| guanjia::desk::FailedUpdate {
        update_id,
        chat_id: Some(chat_id),
        sender: Some("业主".into()),
        text: Some("1栋电梯又坏了".into()),
        attempts: 5,
        error: "database is locked".into(),
    };
    // Stored, then failed every attempt.
    let now = guanjia::domain::Clock::now(&w.clock);
    w.desk
        .store()
        .inbox_accept(&[(1, "{}".into()), (2, "{}".into())], now)
        .await
        .unwrap();
    assert!(w.desk.admin().dead_letter(&failed(1, B1)).await.unwrap());
    w.drain().await;
    assert_eq!(
        w.sent.sent_to(B_STAFF, "1栋电梯又坏了"),
        1,
        "{:?}",
        w.sent.texts_to(B_STAFF)
    );
    assert!(
        w.sent.texts_to(A_STAFF).is_empty(),
        "{:?}",
        w.sent.texts_to(A_STAFF)
    );
    assert_eq!(
        w.sent.texts_to(B1).len(),
        1,
        "the owner's group gets the apology"
    );

    // A chat of no estate (a group the desk does not serve): the desk's group.
    assert!(w.desk.admin().dead_letter(&failed(2, -7777)).await.unwrap());
    w.drain().await;
    assert_eq!(
        w.sent.sent_to(STAFF, "1栋电梯又坏了"),
        1,
        "{:?}",
        w.sent.texts_to(STAFF)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_staff_member_of_one_estate_sees_only_its_tickets_in_private() {
    let w = world(at(2026, 11, 30, 10, 0), |s| {
        two_estates(s, [Some(A_STAFF), Some(B_STAFF)])
    })
    .await;
    w.say(A1, 2001, "2单元501 厨房水管漏水了").await; // 翠湖苑 #1
    w.say(B1, 3001, "2单元601 卫生间漏水了").await; // 金桂园 #2

    // 金桂园's staff member, in private with the bot.
    w.say(JIN_STAFF, JIN_STAFF, "/tickets").await;
    let listed = w
        .sent
        .texts_to(JIN_STAFF)
        .last()
        .cloned()
        .unwrap_or_default();
    assert!(listed.contains("#2") && !listed.contains("#1"), "{listed}");
    w.say(JIN_STAFF, JIN_STAFF, "/ticket 1").await;
    w.say(JIN_STAFF, JIN_STAFF, "/claim 1").await;
    assert_eq!(
        w.sent.sent_to(JIN_STAFF, "没有工单 #1"),
        2,
        "{:?}",
        w.sent.texts_to(JIN_STAFF)
    );
    assert!(
        w.sent.texts_to(A1).iter().all(|t| !t.contains("已接单")),
        "翠湖苑's owner hears of no claim: {:?}",
        w.sent.texts_to(A1)
    );
    // Their own estate's ticket they can take; without naming it, a notice is theirs.
    w.say(JIN_STAFF, JIN_STAFF, "/claim 2").await;
    assert!(
        w.sent
            .texts_to(JIN_STAFF)
            .iter()
            .all(|t| !t.contains("没有工单 #2")),
        "{:?}",
        w.sent.texts_to(JIN_STAFF)
    );
    w.say(JIN_STAFF, JIN_STAFF, "/notice all 明天上午清洗水箱")
        .await;
    assert_eq!(w.sent.sent_to(B1, "清洗水箱"), 1);
    assert_eq!(w.sent.sent_to(A1, "清洗水箱"), 0);
    assert_eq!(w.sent.sent_to(A3, "清洗水箱"), 0);
    // The desk's admin, in private, still serves both (and must say which).
    w.say(ADMIN, ADMIN, "/tickets").await;
    let listed = w.sent.texts_to(ADMIN).last().cloned().unwrap_or_default();
    assert!(listed.contains("#1") && listed.contains("#2"), "{listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn before_any_group_is_bound_an_owner_names_the_estate_of_their_room() {
    let w = world(at(2026, 11, 30, 10, 0), |s| {
        two_estates(s, [Some(A_STAFF), Some(B_STAFF)]);
        s.building.clear();
    })
    .await;
    let owner = 4101;
    w.say(owner, owner, "/room 1-2-501").await;
    let asked = w.sent.texts_to(owner);
    assert!(
        asked
            .last()
            .is_some_and(|t| t.contains("翠湖苑") && t.contains("金桂园")),
        "{asked:?}"
    );
    assert!(w.sent.texts_to(A_STAFF).is_empty() && w.sent.texts_to(B_STAFF).is_empty());
    w.say(owner, owner, "/room 金桂园 1-2-501").await;
    assert_eq!(w.sent.sent_to(B_STAFF, "申请登记房号"), 1);
    assert!(w.sent.texts_to(A_STAFF).is_empty());
}
