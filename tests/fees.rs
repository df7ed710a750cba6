//! The fee ledger end to end: `guanjia fees import` with a ledger as finance
//! exports it (GBK, columns in their own order, extra personal columns), owners
//! who register their rooms, `/remind_fees`, and `guanjia fees paid`, against the
//! real daemon and a fake Bot API.

mod support;

use support::daemon::*;
use support::fake_bot_api::{FakeBotApi, FakeChat, FakeUser};

/// `who` sends `/room ROOM` in private and staff press ✅ under that request.
async fn confirmed(fake: &FakeBotApi, who: &FakeUser, room: &str) {
    let me = FakeChat::private(who);
    let m = fake.push_text(&me, who, &format!("/room {room}"));
    wait_reply(fake, me.id, m.message_id).await;
    let needle = format!("id {}", who.id);
    let req = fake
        .wait_for_text(STAFF_CHAT, &needle, SOON)
        .await
        .unwrap_or_else(|e| panic!("no room request from {}: {e}", who.id));
    let ok = req
        .button_texts()
        .iter()
        .position(|t| t.contains("确认"))
        .expect("a confirm button");
    fake.push_callback(&li(), STAFF_CHAT, req.message_id, &req.callback_data()[ok]);
    fake.wait_for_text(me.id, "已确认登记", SOON).await.unwrap();
}

fn write_gbk(path: &std::path::Path, text: &str) {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the file is really GBK"
    );
    std::fs::write(path, bytes).unwrap();
}

/// What a finance export looks like: 序号 first, owner names and phones, the
/// columns in the software's order, Chinese headers, `b座` in lower case, Excel's
/// date format, a paid column, saved by Excel as GBK.
const LEDGER: &str = "序号,房号,业主姓名,联系电话,应缴金额(元),缴费截止日期,楼号,单元,费用期间,缴费状态\r\n\
1,501,张三,13800138000,1280.50,2026/12/31,3栋,2,2026年11月,未缴\r\n\
2,502,李四,13900139000,999.00,2026/12/31,3栋,2,2026年11月,未缴\r\n\
3,1203,王五,13700137000,2100.00,2026/12/31,5栋,1,2026年11月,已缴\r\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_reordered_gbk_ledger_reminds_the_right_owner_in_private_and_nobody_else() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let csv = home.dir.path().join("欠费明细.csv");
    write_gbk(&csv, LEDGER);
    let out = home.cli(&["fees", "import", csv.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("已导入 3 行") && stdout.contains("1 行已缴"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2026年11月"),
        "the current period is named: {stdout}"
    );
    let _d = home.start(&fake).await;

    // 3-2-501's owner and 5-1-1203's (paid) owner register; 502's never does.
    confirmed(&fake, &owner(), "3栋2单元501").await;
    confirmed(&fake, &neighbour(), "5-1-1203").await;

    let queued = staff_says(&fake, "/remind_fees").await;
    assert!(queued.contains("1 位"), "{queued}");
    let private = fake
        .wait_for_text(owner().id, "1280.50", SOON)
        .await
        .unwrap();
    assert!(
        private.text.contains("3栋2单元501")
            && private.text.contains("2026年11月")
            && private.text.contains("2026-12-31"),
        "{}",
        private.text
    );
    fake.wait_for_text(STAFF_CHAT, "已送达 2 个群", SOON)
        .await
        .unwrap();

    for text in fake.texts_to(owner().id) {
        for other in ["999", "2100", "502", "1203"] {
            assert!(
                !text.contains(other),
                "the owner sees a neighbour's {other}: {text}"
            );
        }
    }
    for text in fake.texts_to(neighbour().id) {
        for secret in ["1280", "999", "2100", "2026年11月"] {
            assert!(
                !text.contains(secret),
                "the paid neighbour was reminded ({secret}): {text}"
            );
        }
    }
    for chat in [GROUP_3, GROUP_5, STAFF_CHAT] {
        for text in fake.texts_to(chat) {
            for secret in ["1280", "999", "2100", "张三", "13800138000", "李四", "王五"] {
                assert!(!text.contains(secret), "chat {chat} shows {secret}: {text}");
            }
            if chat != STAFF_CHAT {
                for room in ["501", "502", "1203"] {
                    assert!(!text.contains(room), "group {chat} shows {room}: {text}");
                }
            }
        }
    }

    // The owner pays; finance marks it, and the next reminder skips the room.
    let out = home.cli(&["fees", "paid", "3栋", "2", "501", "2026年11月"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = fake.texts_to(owner().id).len();
    let queued = staff_says(&fake, "/remind_fees").await;
    assert!(queued.contains("0 位"), "{queued}");
    fake.wait_for(
        |s| {
            s.iter()
                .filter(|m| m.chat_id == STAFF_CHAT && m.text.contains("已送达 2 个群"))
                .count()
                == 2
        },
        SOON,
    )
    .await
    .unwrap();
    assert_eq!(
        fake.texts_to(owner().id).len(),
        before,
        "no reminder for a paid row"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ledger_row_for_an_unknown_building_imports_nothing_and_is_named_by_line() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let csv = home.dir.path().join("fees.csv");
    std::fs::write(
        &csv,
        "楼栋,单元,房号,金额,账期,截止日期\n3栋,2,501,1,Q4,2026-12-31\n9栋,1,101,1,Q4,2026-12-31\n",
    )
    .unwrap();
    let out = home.cli(&["fees", "import", csv.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("fees.csv:3") && err.contains("9栋") && err.contains("没有导入"),
        "{err}"
    );
    assert!(!err.contains("fees.csv:2"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ledger_without_an_amount_column_is_refused_naming_file_and_column() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let csv = home.dir.path().join("fees.csv");
    std::fs::write(
        &csv,
        "楼栋,单元,房号,账期,截止日期\n3栋,2,501,Q4,2026-12-31\n",
    )
    .unwrap();
    let out = home.cli(&["fees", "import", csv.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("fees.csv") && err.contains("缺少「金额」列"),
        "{err}"
    );

    let out = home.cli(&["fees", "paid", "3栋", "2", "501", "Q4"]);
    assert!(!out.status.success(), "nothing to mark");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("没有 3栋2单元501"), "{err}");
}
