//! The store runs one set of SQL on SQLite and PostgreSQL: every test here runs on
//! both. PostgreSQL is reached at `GUANJIA_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test gets a fresh database.
//! Without a reachable server the PostgreSQL half is skipped with a note, except
//! under CI (`CI` set), where it must run.

use chrono::{DateTime, Duration, TimeZone, Utc};
use guanjia::domain::notice::{BroadcastKind, OutagePlan, Targets};
use guanjia::domain::outgoing::{Button, Outgoing};
use guanjia::domain::ticket::{Actor, EventKind, EventType, Priority, Status};
use guanjia::domain::{Intent, Location};
use guanjia::storage::{NewBroadcast, NewTicket, OutageStep, RoomDecision, Store, TicketFilter};
use sqlx::Connection;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap()
}

async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    (Store::connect(&url).await.unwrap(), dir)
}

async fn postgres() -> Option<Store> {
    Some(Store::connect(&postgres_url().await?).await.unwrap())
}

/// A fresh PostgreSQL database's URL, or `None` (outside CI) without a server.
async fn postgres_url() -> Option<String> {
    let admin = std::env::var("GUANJIA_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("note: PostgreSQL half skipped ({admin}: {e})");
            return None;
        }
        Err(e) => panic!("PostgreSQL is required under CI: {admin}: {e}"),
    };
    let name = format!("guanjia_test_{}_{}", std::process::id(), rand_suffix());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Some(format!("{base}/{name}"))
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now()) % 1_000_000_000
}

/// Run `scenario` on SQLite, then on PostgreSQL when there is one.
macro_rules! on_both {
    ($scenario:ident) => {{
        let (store, _dir) = sqlite().await;
        $scenario(store).await;
        if let Some(store) = postgres().await {
            $scenario(store).await;
        }
    }};
}

fn new_ticket(message: i64) -> NewTicket {
    NewTicket {
        source_chat: -1003,
        source_message: message,
        reporter: Actor::new(20001, "业主"),
        text: "厨房漏水".into(),
        intent: Intent::Repair,
        category: Some("plumbing".into()),
        location: Location::new(Some("3".into()), Some("2".into()), Some("501".into())),
        location_source: Some("message"),
        priority: Priority::Normal,
        respond_by: t0() + Duration::minutes(15),
        resolve_by: t0() + Duration::hours(24),
        created_at: t0(),
        estate: String::new(),
    }
}

async fn tickets_are_keyed_by_their_message_and_updates_check_the_version(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let id = tx
        .insert_ticket(&new_ticket(7))
        .await
        .unwrap()
        .expect("a new ticket");
    assert_eq!(
        tx.insert_ticket(&new_ticket(7)).await.unwrap(),
        None,
        "the same message opens no second ticket"
    );
    tx.add_event(id, None, &EventKind::Opened, t0())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let t = store.ticket(id).await.unwrap().unwrap();
    assert_eq!(t.location.as_ref().unwrap().room.as_deref(), Some("501"));
    assert_eq!(t.status, Status::Open);

    // Two staff read the same version; the first write wins, the second is told to re-read.
    let mut a = t.clone();
    let mut b = t.clone();
    a.claim(&Actor::new(1, "李师傅")).unwrap();
    b.claim(&Actor::new(2, "王师傅")).unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(tx.save_ticket(&a, t0()).await.unwrap());
    assert!(!tx.save_ticket(&b, t0()).await.unwrap());
    tx.commit().await.unwrap();
    let stored = store.ticket(id).await.unwrap().unwrap();
    assert_eq!(stored.assignee.unwrap().name, "李师傅");
    assert_eq!(stored.version, 1);

    assert_eq!(
        store
            .tickets(TicketFilter::AssignedTo(1), t0(), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .tickets(TicketFilter::Overdue, t0() + Duration::hours(25), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .tickets(TicketFilter::Overdue, t0() + Duration::hours(1), 10)
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(store.events(id).await.unwrap()[0].kind, EventType::Opened);
}

#[tokio::test]
async fn tickets_are_keyed_by_their_message_and_updates_check_the_version_on_both_databases() {
    on_both!(tickets_are_keyed_by_their_message_and_updates_check_the_version);
}

async fn the_outbox_queues_a_tag_once_and_leases_each_row_to_one_worker(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let first = Outgoing::send(-1003, "第一版")
        .tag("t1:ack")
        .keyboard(vec![vec![Button::callback("认领", "claim:1")]]);
    assert!(tx.enqueue(&first, t0()).await.unwrap());
    assert!(
        !tx.enqueue(&first, t0()).await.unwrap(),
        "a tag is queued once"
    );
    // An edit of a message not sent yet rewrites it instead of queuing an edit.
    assert!(
        tx.enqueue(&Outgoing::edit(-1003, "t1:ack", "第二版"), t0())
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    let rows = store
        .claim_outbox(t0(), Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].text.as_deref(), Some("第二版"));
    assert_eq!(rows[0].keyboard, None, "the edit replaced the buttons too");
    assert!(
        store
            .claim_outbox(t0(), Duration::seconds(30), 10)
            .await
            .unwrap()
            .is_empty(),
        "leased rows are not handed out twice"
    );
    // A worker that died: its lease runs out and the row is due again.
    let again = store
        .claim_outbox(t0() + Duration::seconds(31), Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    store
        .outbox_sent(again[0].id, Some(55), t0())
        .await
        .unwrap();
    assert_eq!(
        store.outbox_target("t1:ack").await.unwrap(),
        Some(("sent".into(), Some(55)))
    );

    // Now an edit is queued as an edit; a later edit supersedes it.
    let mut tx = store.begin().await.unwrap();
    tx.enqueue(&Outgoing::edit(-1003, "t1:ack", "第三版"), t0())
        .await
        .unwrap();
    tx.enqueue(&Outgoing::edit(-1003, "t1:ack", "第四版"), t0())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let edits = store
        .claim_outbox(t0(), Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0].text.as_deref(), Some("第四版"));
    store
        .outbox_retry(edits[0].id, t0() + Duration::seconds(5), "500")
        .await
        .unwrap();
    assert!(
        store
            .claim_outbox(t0(), Duration::seconds(30), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.next_outbox_due().await.unwrap(),
        Some(t0() + Duration::seconds(5))
    );
    assert_eq!(
        store
            .claim_outbox(t0() + Duration::seconds(5), Duration::seconds(30), 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn the_outbox_queues_a_tag_once_and_leases_each_row_to_one_worker_on_both_databases() {
    on_both!(the_outbox_queues_a_tag_once_and_leases_each_row_to_one_worker);
}

async fn urgent_rows_are_leased_before_a_broadcast(store: Store) {
    let mut tx = store.begin().await.unwrap();
    let targets = Targets::All;
    let b = tx
        .insert_broadcast(
            &NewBroadcast {
                kind: BroadcastKind::Notice,
                sender_id: Some(1),
                text: "x",
                targets: &targets,
                dedupe_key: "cmd:1:1",
                outage_id: None,
                report_chat: None,
                pin: false,
                estate: "",
            },
            t0(),
        )
        .await
        .unwrap()
        .unwrap();
    for chat in 0..20 {
        tx.enqueue(
            &Outgoing::send(-2000 - chat, "通知")
                .tag(format!("b{b}:{chat}"))
                .broadcast(b),
            t0(),
        )
        .await
        .unwrap();
    }
    tx.enqueue(
        &Outgoing::send(-1, "紧急").lane(guanjia::domain::outgoing::Lane::Emergency),
        t0(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let rows = store
        .claim_outbox(t0(), Duration::seconds(30), 4)
        .await
        .unwrap();
    assert_eq!(rows[0].text.as_deref(), Some("紧急"));
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.insert_broadcast(
            &NewBroadcast {
                kind: BroadcastKind::Notice,
                sender_id: Some(1),
                text: "x",
                targets: &targets,
                dedupe_key: "cmd:1:1",
                outage_id: None,
                report_chat: None,
                pin: false,
                estate: "",
            },
            t0()
        )
        .await
        .unwrap(),
        None,
        "the same command cannot broadcast twice"
    );
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn urgent_rows_are_leased_before_a_broadcast_on_both_databases() {
    on_both!(urgent_rows_are_leased_before_a_broadcast);
}

async fn scheduled_work_fires_once(store: Store) {
    assert!(
        store
            .claim_job_slot("fees_group", t0(), t0())
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_job_slot("fees_group", t0(), t0())
            .await
            .unwrap()
    );
    assert_eq!(store.last_job_slot("fees_group").await.unwrap(), Some(t0()));

    let plan = OutagePlan::parse(
        "3栋 停水 2026-11-23 14:00 18:00 管网维修",
        t0(),
        chrono_tz::Asia::Shanghai,
    )
    .unwrap();
    let mut tx = store.begin().await.unwrap();
    let id = tx.insert_outage(&plan, "", 1, t0(), false).await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        store
            .due_outage_reminders(t0(), Duration::minutes(60))
            .await
            .unwrap()
            .is_empty(),
        "too early"
    );
    let at = plan.starts_at - Duration::minutes(30);
    let due = store
        .due_outage_reminders(at, Duration::minutes(60))
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.mark_outage(id, OutageStep::Reminded, at).await.unwrap());
    assert!(
        !tx.mark_outage(id, OutageStep::Reminded, at).await.unwrap(),
        "reminded once"
    );
    tx.commit().await.unwrap();
    assert!(
        store
            .due_outage_reminders(at, Duration::minutes(60))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.current_outages(at).await.unwrap()[0].id, id);
    assert_eq!(store.due_outage_ends(plan.ends_at).await.unwrap().len(), 1);
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.mark_outage(id, OutageStep::Ended, plan.ends_at)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    assert!(
        store
            .due_outage_ends(plan.ends_at)
            .await
            .unwrap()
            .is_empty(),
        "restored once"
    );
}

#[tokio::test]
async fn scheduled_work_fires_once_on_both_databases() {
    on_both!(scheduled_work_fires_once);
}

async fn fee_amounts_reach_only_confirmed_rooms(store: Store) {
    let csv = "building,unit,room,amount,period,due_date\n3,2,501,1280.50,2026Q4,2026-12-31\n3,2,502,999,2026Q4,2026-12-31\n";
    let parsed = guanjia::domain::fees::parse_csv(csv.as_bytes()).unwrap();
    assert_eq!(
        store
            .import_fees("", &parsed.rows, t0())
            .await
            .unwrap()
            .stored,
        2
    );
    let loc: Location = "3栋2单元501".parse().unwrap();
    let mut tx = store.begin().await.unwrap();
    let wang = tx
        .request_room(&Actor::new(20001, "王"), "", &loc, t0())
        .await
        .unwrap();
    tx.request_room(
        &Actor::new(20002, "李"),
        "",
        &"3-2-502".parse().unwrap(),
        t0(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(
        store
            .fees_for_confirmed_owners("", "2026Q4")
            .await
            .unwrap()
            .is_empty(),
        "nothing before staff confirm"
    );
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.decide_room(wang, true, 1, t0()).await.unwrap(),
        RoomDecision::Decided(_)
    ));
    assert!(
        matches!(
            tx.decide_room(wang, true, 1, t0()).await.unwrap(),
            RoomDecision::AlreadyDecided(_)
        ),
        "a decision is taken once"
    );
    tx.commit().await.unwrap();
    let fees = store.fees_for_confirmed_owners("", "2026Q4").await.unwrap();
    assert_eq!(fees.len(), 1);
    assert_eq!(fees[0].0, 20001);
    assert_eq!(fees[0].1.amount_cents, 128050);
}

#[tokio::test]
async fn fee_amounts_reach_only_confirmed_rooms_on_both_databases() {
    on_both!(fee_amounts_reach_only_confirmed_rooms);
}

/// Owners 1..=n of rooms `3-2-501`, `3-2-502`..., confirmed by staff.
async fn confirmed_owners(store: &Store, rooms: &[&str]) {
    for (i, room) in rooms.iter().enumerate() {
        let user = 30001 + i as i64;
        let mut tx = store.begin().await.unwrap();
        let request = tx
            .request_room(&Actor::new(user, "业主"), "", &room.parse().unwrap(), t0())
            .await
            .unwrap();
        tx.decide_room(request, true, 1, t0()).await.unwrap();
        tx.commit().await.unwrap();
    }
}

async fn import(store: &Store, csv: &str, at: DateTime<Utc>) -> guanjia::storage::FeeImport {
    let parsed = guanjia::domain::fees::parse_csv(csv.as_bytes()).unwrap();
    assert!(parsed.bad.is_empty(), "{:?}", parsed.bad);
    store.import_fees("", &parsed.rows, at).await.unwrap()
}

/// (user, amount in cents) reminded for `period`.
async fn reminded(store: &Store, period: &str) -> Vec<(i64, i64)> {
    let mut got: Vec<(i64, i64)> = store
        .fees_for_confirmed_owners("", period)
        .await
        .unwrap()
        .into_iter()
        .map(|(user, f)| (user, f.amount_cents))
        .collect();
    got.sort();
    got
}

async fn importing_a_period_replaces_only_that_period(store: Store) {
    confirmed_owners(&store, &["3-2-501", "3-2-502", "B座A01"]).await;
    let head = "楼栋,单元,房号,金额,账期,截止日期\n";
    import(
        &store,
        &format!("{head}3,2,501,100,Q3,2026-09-30\n3,2,502,200,Q3,2026-09-30\n"),
        t0(),
    )
    .await;
    let first = import(
        &store,
        &format!("{head}3,2,501,300,Q4,2026-12-31\n3,2,502,400,Q4,2026-12-31\n"),
        t0() + Duration::minutes(1),
    )
    .await;
    assert_eq!((first.stored, first.removed), (2, 0));
    assert_eq!(
        store.latest_fee_period("").await.unwrap().as_deref(),
        Some("Q4")
    );
    // Finance re-exports Q4: 502 is gone, 501 changed, b座a01 is new.
    let again = import(
        &store,
        &format!("{head}3,2,501,350,Q4,2026-12-31\nb座,,a01,500,Q4,2026-12-31\n"),
        t0() + Duration::minutes(2),
    )
    .await;
    assert_eq!((again.stored, again.removed), (2, 1));
    assert_eq!(
        reminded(&store, "Q4").await,
        vec![(30001, 35000), (30003, 50000)],
        "502 is no longer in Q4, 501 has the new amount, the lettered room matches"
    );
    assert_eq!(
        reminded(&store, "Q3").await,
        vec![(30001, 10000), (30002, 20000)],
        "another period is untouched"
    );
}

#[tokio::test]
async fn importing_a_period_replaces_only_that_period_on_both_databases() {
    on_both!(importing_a_period_replaces_only_that_period);
}

async fn paid_rows_get_no_reminder(store: Store) {
    confirmed_owners(&store, &["3-2-501", "3-2-502", "5-1-1203"]).await;
    let with_paid = "楼栋,单元,房号,金额,账期,截止日期,已缴\n\
                     3,2,501,100,Q4,2026-12-31,否\n\
                     3,2,502,200,Q4,2026-12-31,是\n\
                     5,1,1203,300,Q4,2026-12-31,未缴\n";
    let r = import(&store, with_paid, t0()).await;
    assert_eq!(r.paid, 1);
    assert_eq!(
        reminded(&store, "Q4").await,
        vec![(30001, 10000), (30003, 30000)]
    );

    // `guanjia fees paid 5栋 1 1203 Q4`, in whatever spelling.
    assert!(
        store
            .mark_fee_paid("", ("5", Some("1"), "1203"), "Q4", true, t0())
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_fee_paid("", ("5", Some("1"), "1204"), "Q4", true, t0())
            .await
            .unwrap(),
        "no such row"
    );
    assert_eq!(reminded(&store, "Q4").await, vec![(30001, 10000)]);

    // A re-export without a paid column keeps the marks made since.
    let without = "楼栋,单元,房号,金额,账期,截止日期\n\
                   3,2,501,100,Q4,2026-12-31\n\
                   3,2,502,200,Q4,2026-12-31\n\
                   5,1,1203,300,Q4,2026-12-31\n";
    let r = import(&store, without, t0()).await;
    assert_eq!(r.paid, 2);
    assert_eq!(reminded(&store, "Q4").await, vec![(30001, 10000)]);

    // A paid column is the file's word; and a mark can be undone.
    import(&store, with_paid, t0()).await;
    assert_eq!(
        reminded(&store, "Q4").await,
        vec![(30001, 10000), (30003, 30000)]
    );
    store
        .mark_fee_paid("", ("3", Some("2"), "502"), "Q4", false, t0())
        .await
        .unwrap();
    assert_eq!(
        reminded(&store, "Q4").await,
        vec![(30001, 10000), (30002, 20000), (30003, 30000)]
    );
}

#[tokio::test]
async fn paid_rows_get_no_reminder_on_both_databases() {
    on_both!(paid_rows_get_no_reminder);
}

async fn a_migrated_group_keeps_its_building_and_tickets(store: Store) {
    store
        .bind_building(-1003, "", "3栋", "command", Some(1), t0())
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    let id = tx.insert_ticket(&new_ticket(9)).await.unwrap().unwrap();
    tx.enqueue(&Outgoing::send(-1003, "待发"), t0())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    store.migrate_chat(-1003, -1009003).await.unwrap();
    assert_eq!(
        store.building_of(-1009003).await.unwrap().as_deref(),
        Some("3栋")
    );
    assert_eq!(store.building_of(-1003).await.unwrap(), None);
    assert_eq!(
        store.ticket(id).await.unwrap().unwrap().source_chat,
        -1009003
    );
    assert_eq!(
        store
            .claim_outbox(t0(), Duration::seconds(30), 10)
            .await
            .unwrap()[0]
            .chat_id,
        -1009003
    );
}

#[tokio::test]
async fn a_migrated_group_keeps_its_building_and_tickets_on_both_databases() {
    on_both!(a_migrated_group_keeps_its_building_and_tickets);
}

/// Queue `m` at `at`, lease it and record it delivered as `message` at `at`.
async fn deliver(store: &Store, m: Outgoing, at: DateTime<Utc>, message: i64) -> i64 {
    let mut tx = store.begin().await.unwrap();
    tx.enqueue(&m, at).await.unwrap();
    tx.commit().await.unwrap();
    let rows = store
        .claim_outbox(at, Duration::seconds(30), 1)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    store
        .outbox_sent(rows[0].id, Some(message), at)
        .await
        .unwrap();
    rows[0].id
}

async fn finished_rows_past_the_retention_go_and_what_later_work_reads_stays(store: Store) {
    let day = Duration::days(1);
    let mut tx = store.begin().await.unwrap();
    let b = tx
        .insert_broadcast(
            &NewBroadcast {
                kind: BroadcastKind::Notice,
                sender_id: Some(1),
                text: "周六清洗水箱",
                targets: &Targets::All,
                dedupe_key: "cmd:1:7",
                outage_id: None,
                report_chat: None,
                pin: false,
                estate: "",
            },
            t0(),
        )
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    deliver(
        &store,
        Outgoing::send(-2001, "周六清洗水箱")
            .tag(format!("b{b}:-2001"))
            .broadcast(b),
        t0(),
        11,
    )
    .await;
    deliver(
        &store,
        Outgoing::send(-2002, "周六清洗水箱")
            .tag(format!("b{b}:-2002"))
            .broadcast(b),
        t0(),
        12,
    )
    .await;
    let mut tx = store.begin().await.unwrap();
    tx.enqueue(
        &Outgoing::send(-2003, "周六清洗水箱")
            .tag(format!("b{b}:-2003"))
            .broadcast(b),
        t0(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let failed = store
        .claim_outbox(t0(), Duration::seconds(30), 1)
        .await
        .unwrap();
    store
        .outbox_failed(failed[0].id, "bot was kicked", t0())
        .await
        .unwrap();
    deliver(
        &store,
        Outgoing::send(-1003, "已收到").tag("t1:ack"),
        t0(),
        77,
    )
    .await;
    deliver(&store, Outgoing::send(1001, "没有标签的回复"), t0(), 78).await;
    // Still to go (scheduled far ahead), and a recent delivery: both stay.
    let mut tx = store.begin().await.unwrap();
    tx.enqueue(
        &Outgoing::send(-1003, "下个月的通知")
            .tag("later")
            .not_before(t0() + day * 60),
        t0(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    deliver(
        &store,
        Outgoing::send(-1003, "昨天的回复").tag("recent"),
        t0() + day * 40,
        90,
    )
    .await;
    // Handled and unhandled updates.
    store
        .inbox_accept(&[(1, "{}".into()), (2, "{}".into())], t0())
        .await
        .unwrap();
    store.inbox_done(1, t0()).await.unwrap();

    // Thirty days of retention, forty-one days on.
    let before = t0() + day * 11;
    assert_eq!(store.outbox_prune(before).await.unwrap(), 5);
    assert_eq!(store.outbox_prune(before).await.unwrap(), 0);
    assert_eq!(store.inbox_prune(before).await.unwrap(), 1);
    assert_eq!(
        store.inbox_pending().await.unwrap(),
        vec![(2, "{}".to_string(), 0)],
        "an update not yet handled is never pruned"
    );
    assert_eq!(store.outbox_backlog().await.unwrap(), 1, "queued rows stay");
    assert_eq!(
        store.outbox_target("recent").await.unwrap(),
        Some(("sent".into(), Some(90)))
    );

    // What later work reads survives the rows.
    assert_eq!(
        store.outbox_target("t1:ack").await.unwrap(),
        Some(("sent".into(), Some(77)))
    );
    let stats = store.broadcast_stats(b).await.unwrap();
    assert_eq!(
        (stats.sent, stats.failed, stats.pending, stats.cancelled),
        (2, 1, 0, 0),
        "/broadcasts still says how it went"
    );
    let mut tx = store.begin().await.unwrap();
    assert!(tx.mark_recalled(b, 1, t0() + day * 41).await.unwrap());
    let mut reached = tx.recall_broadcast(b, t0() + day * 41).await.unwrap();
    tx.commit().await.unwrap();
    reached.sort();
    assert_eq!(
        reached,
        vec![
            (-2002, format!("b{b}:-2002")),
            (-2001, format!("b{b}:-2001"))
        ],
        "/recall still finds the copies it delivered"
    );
}

#[tokio::test]
async fn finished_rows_past_the_retention_go_and_what_later_work_reads_stays_on_both_databases() {
    on_both!(finished_rows_past_the_retention_go_and_what_later_work_reads_stays);
}

async fn a_ticket_ack_is_edited_after_its_row_passed_the_retention(store: Store) {
    deliver(
        &store,
        Outgoing::send(-1003, "已收到,工单号 #1").tag("t1:ack"),
        t0(),
        55,
    )
    .await;
    let later = t0() + Duration::days(45);
    assert_eq!(
        store
            .outbox_prune(later - Duration::days(30))
            .await
            .unwrap(),
        1
    );
    // Weeks later the ticket is finished and its acknowledgement edited.
    let mut tx = store.begin().await.unwrap();
    tx.enqueue(&Outgoing::edit(-1003, "t1:ack", "工单 #1 已完成"), later)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let edit = store
        .claim_outbox(later, Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(edit.len(), 1);
    assert_eq!(edit[0].ref_tag.as_deref(), Some("t1:ack"));
    assert_eq!(
        store.outbox_target("t1:ack").await.unwrap(),
        Some(("sent".into(), Some(55))),
        "the edit finds the message it changes"
    );
}

#[tokio::test]
async fn a_ticket_ack_is_edited_after_its_row_passed_the_retention_on_both_databases() {
    on_both!(a_ticket_ack_is_edited_after_its_row_passed_the_retention);
}

async fn a_held_chat_is_not_leased_until_its_hold_ends(store: Store) {
    let mut tx = store.begin().await.unwrap();
    for (chat, text) in [(-1, "甲"), (-2, "乙"), (-1, "丙")] {
        tx.enqueue(&Outgoing::send(chat, text), t0()).await.unwrap();
    }
    tx.commit().await.unwrap();
    let until = t0() + Duration::seconds(5);
    store.hold_chat(-1, until).await.unwrap();
    store
        .hold_chat(-1, t0() + Duration::seconds(2))
        .await
        .unwrap();
    assert_eq!(
        store.chat_holds(t0()).await.unwrap(),
        vec![(-1, until)],
        "a shorter hold does not cut a longer one"
    );
    let rows = store
        .claim_outbox(t0(), Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].chat_id, -2);
    store.outbox_sent(rows[0].id, Some(1), t0()).await.unwrap();
    assert_eq!(store.next_outbox_due().await.unwrap(), Some(until));
    assert!(
        store
            .claim_outbox(until - Duration::milliseconds(1), Duration::seconds(30), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let rows = store
        .claim_outbox(until, Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| r.text.clone().unwrap())
            .collect::<Vec<_>>(),
        ["甲", "丙"]
    );
    assert_eq!(store.chat_holds_prune(until).await.unwrap(), 1);
    assert!(store.chat_holds(t0()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_held_chat_is_not_leased_until_its_hold_ends_on_both_databases() {
    on_both!(a_held_chat_is_not_leased_until_its_hold_ends);
}

async fn the_desk_remembers_a_setting_and_a_new_value_replaces_it(store: Store) {
    assert_eq!(store.desk_state("staff_chat").await.unwrap(), None);
    let mut tx = store.begin().await.unwrap();
    tx.set_desk_state("staff_chat", "-100900", Some(9001), t0())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.set_desk_state("staff_chat", "-100901", None, t0())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.desk_state("staff_chat").await.unwrap().as_deref(),
        Some("-100901")
    );
}

#[tokio::test]
async fn the_desk_remembers_a_setting_and_a_new_value_replaces_it_on_both_databases() {
    on_both!(the_desk_remembers_a_setting_and_a_new_value_replaces_it);
}

/// `/room 3-2-501`, then `/room 3-2-502`: the ✅ under the 501 post confirms
/// nothing, so no reminder ever carries the neighbour's arrears.
async fn a_button_confirms_only_the_request_it_was_shown_with(store: Store) {
    let owner = Actor::new(20001, "王");
    let mut tx = store.begin().await.unwrap();
    let first = tx
        .request_room(&owner, "", &"3-2-501".parse().unwrap(), t0())
        .await
        .unwrap();
    let second = tx
        .request_room(&owner, "", &"3-2-502".parse().unwrap(), t0())
        .await
        .unwrap();
    assert!(matches!(
        tx.decide_room(first, true, 1, t0()).await.unwrap(),
        RoomDecision::Superseded(_)
    ));
    tx.commit().await.unwrap();
    assert!(
        store
            .owner(20001)
            .await
            .unwrap()
            .and_then(|o| o.confirmed_location().cloned())
            .is_none(),
        "the superseded button confirmed nothing"
    );
    let mut tx = store.begin().await.unwrap();
    let RoomDecision::Decided(r) = tx.decide_room(second, true, 1, t0()).await.unwrap() else {
        panic!("the current request is decided");
    };
    tx.commit().await.unwrap();
    assert_eq!(r.location.unwrap().room.as_deref(), Some("502"));
    let confirmed = store.owner(20001).await.unwrap().unwrap();
    assert_eq!(
        confirmed.confirmed_location().unwrap().room.as_deref(),
        Some("502")
    );
}

#[tokio::test]
async fn a_button_confirms_only_the_request_it_was_shown_with_on_both_databases() {
    on_both!(a_button_confirms_only_the_request_it_was_shown_with);
}

/// A use case reads and writes in one transaction: on SQLite the transaction holds
/// the only connection, so these reads would wait for themselves if they went
/// through the pool; through the `Tx` they run at once and see its own changes.
async fn a_transaction_reads_what_it_wrote_without_waiting_for_itself(store: Store) {
    let owner = Actor::new(20001, "王");
    store
        .bind_building(-1003, "", "3栋", "command", Some(1), t0())
        .await
        .unwrap();
    store.add_staff(1, Some("李师傅"), 1, t0()).await.unwrap();
    store.remember_private_chat(20001, t0()).await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.building_of(-1003).await.unwrap().as_deref(), Some("3栋"));
    assert_eq!(tx.building_of(-1004).await.unwrap(), None);
    assert!(tx.is_staff(1).await.unwrap());
    assert!(!tx.is_staff(20001).await.unwrap());
    assert_eq!(tx.display_name(1).await.unwrap().as_deref(), Some("李师傅"));
    assert!(tx.has_private_chat(20001).await.unwrap());
    assert!(!tx.has_private_chat(1).await.unwrap());

    let id = tx
        .insert_ticket(&new_ticket(8))
        .await
        .unwrap()
        .expect("a new ticket");
    let seen = tx.ticket(id).await.unwrap().expect("its own new ticket");
    assert_eq!(seen.status, Status::Open);
    assert_eq!(seen, new_ticket(8).opened(id));

    assert_eq!(tx.owner(20001).await.unwrap(), None);
    let request = tx
        .request_room(&owner, "", &"3-2-501".parse().unwrap(), t0())
        .await
        .unwrap();
    tx.decide_room(request, true, 1, t0()).await.unwrap();
    let confirmed = tx.owner(20001).await.unwrap().expect("the confirmed owner");
    assert_eq!(
        confirmed.confirmed_location().unwrap().room.as_deref(),
        Some("501")
    );
    drop(tx);

    assert_eq!(
        store.ticket(id).await.unwrap(),
        None,
        "what a dropped transaction wrote is gone"
    );
    assert_eq!(store.owner(20001).await.unwrap(), None);
}

#[tokio::test]
async fn a_transaction_reads_what_it_wrote_without_waiting_for_itself_on_both_databases() {
    on_both!(a_transaction_reads_what_it_wrote_without_waiting_for_itself);
}

/// Three tickets whose figures are counted by hand: the manager's report, as
/// the database groups them, on both databases.
async fn the_report_matches_a_hand_count(store: Store) {
    let li = Actor::new(1, "李师傅");
    let elevator = NewTicket {
        category: Some("elevator".into()),
        location: Location::new(Some("5".into()), None, None),
        ..new_ticket(3)
    };
    let mut tx = store.begin().await.unwrap();
    let mut ids = Vec::new();
    for t in [new_ticket(1), new_ticket(2), elevator] {
        ids.push(tx.insert_ticket(&t).await.unwrap().unwrap());
    }
    let at = |m: i64| t0() + Duration::minutes(m);
    // #1: claimed after 10 minutes, done after 60, rated 5 (all in time).
    tx.add_event(ids[0], Some(&li), &EventKind::Claimed, at(10))
        .await
        .unwrap();
    tx.add_event(
        ids[0],
        Some(&li),
        &EventKind::Done { summary: None },
        at(60),
    )
    .await
    .unwrap();
    // #2: claimed after 20 (late), done after 30 hours (late), reopened.
    tx.add_event(ids[1], Some(&li), &EventKind::Claimed, at(20))
        .await
        .unwrap();
    tx.add_event(
        ids[1],
        Some(&li),
        &EventKind::Done { summary: None },
        at(1800),
    )
    .await
    .unwrap();
    tx.add_event(
        ids[1],
        None,
        &EventKind::Reopened {
            reason: "2 星".into(),
        },
        at(1900),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    for (id, stars) in [(ids[0], 5), (ids[1], 2)] {
        let mut t = store.ticket(id).await.unwrap().unwrap();
        t.assignee = Some(li.clone());
        t.rating = Some(guanjia::domain::ticket::Rating::new(stars).unwrap());
        let mut tx = store.begin().await.unwrap();
        assert!(tx.save_ticket(&t, at(2000)).await.unwrap());
        tx.commit().await.unwrap();
    }

    let tz = chrono_tz::Asia::Shanghai;
    let r = store
        .report(
            t0() - Duration::days(1),
            t0() + Duration::days(1),
            t0() + Duration::days(2),
            tz,
        )
        .await
        .unwrap();
    assert_eq!(r.tickets, 3);
    assert_eq!(
        (r.by_category["plumbing"], r.by_category["elevator"]),
        (2, 1)
    );
    assert_eq!((r.by_building["3"], r.by_building["5"]), (2, 1));
    // Claimed after 10 and 20 minutes: median 10, P90 20; in time 1 of 3 (the
    // unclaimed one is long past its deadline).
    assert_eq!(
        (r.claim_median_minutes, r.claim_p90_minutes),
        (Some(10), Some(20))
    );
    assert_eq!((r.claimed_in_time.part, r.claimed_in_time.whole), (1, 3));
    assert_eq!(
        (r.finish_median_minutes, r.finish_p90_minutes),
        (Some(60), Some(1800))
    );
    assert_eq!((r.finished_in_time.part, r.finished_in_time.whole), (1, 3));
    assert_eq!((r.rated, r.unhappy, r.rating_average), (2, 1, Some(3.5)));
    assert_eq!((r.reopened.part, r.reopened.whole), (1, 3));
    // 2026-11-23 10:00 in Shanghai, a Monday of ISO week 48.
    assert_eq!(r.per_day["2026-11-23"]["plumbing"], 2);
    assert_eq!(r.recurring.len(), 1);
    assert_eq!(
        (
            r.recurring[0].category.as_str(),
            r.recurring[0].building.as_str(),
            r.recurring[0].week.as_str(),
            r.recurring[0].tickets
        ),
        ("plumbing", "3", "2026-W48", 2)
    );
    assert_eq!(
        (
            r.staff[0].name.as_str(),
            r.staff[0].tickets,
            r.staff[0].finished
        ),
        ("李师傅", 2, 2)
    );
}

#[tokio::test]
async fn the_report_matches_a_hand_count_on_both_databases() {
    on_both!(the_report_matches_a_hand_count);
}

/// The report keeps each whole day's tally and counts a day again when one of
/// its tickets changes or a deadline it counted on passes: what it says is
/// always what counting every ticket would say.
async fn the_report_counts_a_day_again_when_it_changed(store: Store) {
    let tz = chrono_tz::Asia::Shanghai;
    let at = |m: i64| t0() + Duration::minutes(m);
    // Whole days around t0 (2026-11-23 10:00 in Shanghai), ending in the future.
    let report = |now| {
        let store = store.clone();
        async move {
            store
                .report(t0() - Duration::days(2), t0() + Duration::days(3), now, tz)
                .await
                .unwrap()
        }
    };
    let mut tx = store.begin().await.unwrap();
    let id = tx.insert_ticket(&new_ticket(1)).await.unwrap().unwrap();
    tx.commit().await.unwrap();

    // Five minutes in: not claimed, not yet late.
    let r = report(at(5)).await;
    assert_eq!(r.tickets, 1);
    assert_eq!(r.claimed_in_time.whole, 0, "not late before its deadline");
    // Its 15-minute deadline passes with nothing else changing.
    let r = report(at(16)).await;
    assert_eq!(
        (r.claimed_in_time.part, r.claimed_in_time.whole),
        (0, 1),
        "late once the deadline has passed"
    );
    // Nothing changed since: nothing to count again in the background.
    assert_eq!(store.refresh_report_days(at(3000), tz).await.unwrap(), 0);

    // The ticket is claimed late and finished; its day is counted again.
    let li = Actor::new(1, "李师傅");
    let mut tx = store.begin().await.unwrap();
    tx.add_event(id, Some(&li), &EventKind::Claimed, at(20))
        .await
        .unwrap();
    tx.add_event(id, Some(&li), &EventKind::Done { summary: None }, at(90))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.refresh_report_days(at(3000), tz).await.unwrap(),
        1,
        "the changed day, counted again by the clock"
    );
    assert_eq!(store.refresh_report_days(at(3000), tz).await.unwrap(), 0);
    let r = report(at(3000)).await;
    assert_eq!(r.claim_median_minutes, Some(20));
    assert_eq!(r.finish_median_minutes, Some(90));
    assert_eq!((r.finished_in_time.part, r.finished_in_time.whole), (1, 1));

    // Rated afterwards (no event: the ticket row alone changes).
    let mut t = store.ticket(id).await.unwrap().unwrap();
    t.rating = Some(guanjia::domain::ticket::Rating::new(4).unwrap());
    let mut tx = store.begin().await.unwrap();
    assert!(tx.save_ticket(&t, at(3001)).await.unwrap());
    tx.commit().await.unwrap();
    let r = report(at(3002)).await;
    assert_eq!((r.rated, r.rating_average), (1, Some(4.0)));

    // A second ticket on the same day, opened after the day was counted.
    let mut tx = store.begin().await.unwrap();
    tx.insert_ticket(&new_ticket(2)).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    let r = report(at(3003)).await;
    assert_eq!(r.tickets, 2);

    // The same tickets cut into days of another timezone.
    let utc = store
        .report(
            t0() - Duration::days(2),
            t0() + Duration::days(3),
            at(3003),
            chrono_tz::UTC,
        )
        .await
        .unwrap();
    assert_eq!(utc.tickets, 2);
    assert_eq!(utc.per_day["2026-11-23"]["plumbing"], 2);
}

#[tokio::test]
async fn the_report_counts_a_day_again_when_it_changed_on_both_databases() {
    on_both!(the_report_counts_a_day_again_when_it_changed);
}

/// Two estates with a 1栋 each: a report's estate is its group's (or, in private,
/// the reporter's latest ticket's), lists and figures filter by estate, and
/// estates declared later take over what the implicit estate held.
async fn tickets_and_figures_are_kept_per_estate(store: Store) {
    store
        .bind_building(-1101, "翠湖苑", "1栋", "config", None, t0())
        .await
        .unwrap();
    store
        .bind_building(-2101, "金桂园", "1栋", "config", None, t0())
        .await
        .unwrap();
    assert_eq!(
        store.estate_for_report(-2101, 20001).await.unwrap(),
        "金桂园"
    );
    assert_eq!(store.estate_for_report(20001, 20001).await.unwrap(), "");
    let mut tx = store.begin().await.unwrap();
    for (chat, message, estate) in [
        (-1101, 1, "翠湖苑"),
        (-2101, 2, "金桂园"),
        (-2101, 3, "金桂园"),
    ] {
        let t = NewTicket {
            source_chat: chat,
            estate: estate.into(),
            ..new_ticket(message)
        };
        tx.insert_ticket(&t).await.unwrap().unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(
        store.estate_for_report(20001, 20001).await.unwrap(),
        "金桂园",
        "in private: the reporter's latest ticket's estate"
    );
    let tz = chrono_tz::Asia::Shanghai;
    let (since, until) = (t0() - Duration::days(1), t0() + Duration::days(1));
    let b = ["金桂园".to_string()];
    let both = ["翠湖苑".to_string(), "金桂园".to_string()];
    for (estates, tickets) in [
        (None, 3),
        (Some(&b[..]), 2),
        (Some(&both[..]), 3),
        (Some(&[][..]), 0),
    ] {
        let r = store
            .report_in(estates, since, until, t0(), tz)
            .await
            .unwrap();
        assert_eq!(r.tickets, tickets, "{estates:?}");
        let listed = store
            .tickets_in(estates, TicketFilter::Active, t0(), 30)
            .await
            .unwrap();
        assert_eq!(listed.len() as u64, tickets, "{estates:?}");
        let listed = store
            .tickets_in(estates, TicketFilter::ReportedBy(20001), t0(), 30)
            .await
            .unwrap();
        assert_eq!(
            listed.len() as u64,
            tickets,
            "{estates:?}, with a $1 before"
        );
    }
    let t = store
        .tickets_in(Some(&b[..]), TicketFilter::Active, t0(), 30)
        .await
        .unwrap();
    assert!(
        t.iter()
            .all(|t| t.estate == "金桂园" && t.source_chat == -2101)
    );

    // A group of the implicit estate, then estates are declared.
    store
        .bind_building(-3101, "", "3栋", "command", Some(1), t0())
        .await
        .unwrap();
    store.adopt_implicit_estate("翠湖苑").await.unwrap();
    let g = store.building_group(-3101).await.unwrap().unwrap();
    assert_eq!((g.estate.as_str(), g.name.as_str()), ("翠湖苑", "3栋"));
    assert_eq!(
        store.building_group(-2101).await.unwrap().unwrap().estate,
        "金桂园",
        "a named estate is left alone"
    );
}

#[tokio::test]
async fn tickets_and_figures_are_kept_per_estate_on_both_databases() {
    on_both!(tickets_and_figures_are_kept_per_estate);
}

/// Two instances (two stores, as two daemons would open them) on one database.
async fn two_instances_share_one_database(a: Store, b: Store) {
    let s = Duration::seconds(1);
    assert_ne!(a.instance(), b.instance(), "each start is its own instance");

    // The sender lease: one holder until it lapses unless renewed.
    assert!(a.hold_lease("sender", t0(), t0() + s * 5).await.unwrap());
    assert!(
        !b.hold_lease("sender", t0() + s, t0() + s * 6)
            .await
            .unwrap()
    );
    assert!(
        a.hold_lease("sender", t0() + s * 2, t0() + s * 7)
            .await
            .unwrap(),
        "the holder renews"
    );
    assert!(
        !b.hold_lease("sender", t0() + s * 6, t0() + s * 11)
            .await
            .unwrap(),
        "a renewed lease has not lapsed"
    );
    assert!(
        b.hold_lease("sender", t0() + s * 8, t0() + s * 13)
            .await
            .unwrap(),
        "a lapsed lease is taken over"
    );
    assert!(
        !a.hold_lease("sender", t0() + s * 9, t0() + s * 14)
            .await
            .unwrap()
    );
    assert_eq!(
        a.lease_holder("sender").await.unwrap().map(|(h, _)| h),
        Some(b.instance().to_string())
    );

    // Updates belong to the instance that stored them while it is alive.
    a.heartbeat(t0()).await.unwrap();
    b.heartbeat(t0()).await.unwrap();
    assert_eq!(
        a.inbox_accept(&[(1, "{}".into()), (2, "{}".into())], t0())
            .await
            .unwrap(),
        vec![1, 2]
    );
    assert!(
        b.inbox_accept(&[(1, "{}".into())], t0())
            .await
            .unwrap()
            .is_empty(),
        "an update re-delivered to another instance is not stored twice"
    );
    assert!(
        b.inbox_take_over(t0() - s * 5).await.unwrap().is_empty(),
        "a live instance's updates are its own"
    );
    // a stops renewing; b goes on.
    b.heartbeat(t0() + s * 10).await.unwrap();
    assert_eq!(
        b.inbox_take_over(t0() + s * 5).await.unwrap(),
        vec![(1, "{}".to_string(), 0), (2, "{}".to_string(), 0)],
        "a dead instance's pending updates are taken over"
    );
    assert!(
        a.inbox_take_over(t0() + s * 5).await.unwrap().is_empty(),
        "taken once: they are the live instance's now"
    );
    b.leave("sender").await.unwrap();
    assert_eq!(
        a.lease_holder("sender").await.unwrap(),
        None,
        "given up at a stop"
    );
    assert_eq!(
        a.live_instances(t0() - s * 5).await.unwrap(),
        vec![a.instance().to_string()]
    );

    // Two senders leasing at once never take the same row.
    let mut tx = a.begin().await.unwrap();
    for i in 0..20 {
        tx.enqueue(
            &Outgoing::send(-1003 - i, "通知").tag(format!("n{i}")),
            t0(),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let lease = Duration::seconds(30);
    let (x, y) = tokio::join!(
        a.claim_outbox(t0(), lease, 12),
        b.claim_outbox(t0(), lease, 12)
    );
    let mut ids: Vec<i64> = x.unwrap().iter().chain(&y.unwrap()).map(|r| r.id).collect();
    let leased = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), leased, "no row leased twice");
    assert!(leased <= 20);
    let rest = a.claim_outbox(t0(), lease, 20).await.unwrap();
    assert_eq!(leased + rest.len(), 20, "every row leased once");
}

#[tokio::test]
async fn two_instances_share_one_database_on_both_databases() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let a = Store::connect(&url).await.unwrap();
    let b = Store::connect(&url).await.unwrap();
    two_instances_share_one_database(a, b).await;
    if let Some(url) = postgres_url().await {
        let a = Store::connect(&url).await.unwrap();
        let b = Store::connect(&url).await.unwrap();
        two_instances_share_one_database(a, b).await;
    }
}

async fn deliveries_recorded_together_each_keep_their_own_message(store: Store) {
    let mut tx = store.begin().await.unwrap();
    for (chat, tag) in [(-1003, "a:ack"), (-1004, "b:ack"), (-1005, "c:ack")] {
        tx.enqueue(&Outgoing::send(chat, "收到").tag(tag), t0())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let rows = store
        .claim_outbox(t0(), Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    let by_chat = |chat: i64| rows.iter().find(|r| r.chat_id == chat).unwrap().id;
    // Recorded in one write, out of order, one of them without a message id
    // (an edit or a pin gives none back).
    store
        .outbox_sent_many(
            &[
                (by_chat(-1005), Some(705)),
                (by_chat(-1003), Some(703)),
                (by_chat(-1004), None),
            ],
            t0(),
        )
        .await
        .unwrap();
    for (tag, expected) in [("a:ack", Some(703)), ("b:ack", None), ("c:ack", Some(705))] {
        assert_eq!(
            store.outbox_target(tag).await.unwrap(),
            Some(("sent".into(), expected)),
            "{tag}"
        );
    }
    assert!(
        store
            .claim_outbox(t0() + Duration::seconds(31), Duration::seconds(30), 10)
            .await
            .unwrap()
            .is_empty(),
        "recorded rows are not sent again when their lease would have run out"
    );
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
}

#[tokio::test]
async fn deliveries_recorded_together_each_keep_their_own_message_on_both_databases() {
    on_both!(deliveries_recorded_together_each_keep_their_own_message);
}

async fn updates_stored_together_come_back_new_once_and_in_order(store: Store) {
    assert_eq!(
        store.inbox_accept(&[(4, "{}".into())], t0()).await.unwrap(),
        vec![4]
    );
    // A burst of posts stored in one write: one of them a re-delivery of an
    // update stored before, one posted twice within the burst.
    let fresh = store
        .inbox_accept(
            &[
                (9, r#"{"n":9}"#.into()),
                (3, r#"{"n":3}"#.into()),
                (9, r#"{"n":9}"#.into()),
                (4, "{}".into()),
                (7, r#"{"n":7}"#.into()),
            ],
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        fresh,
        vec![9, 3, 7],
        "new ones, once each, in arrival order"
    );
    let pending: Vec<(i64, String)> = store
        .inbox_pending()
        .await
        .unwrap()
        .into_iter()
        .map(|(id, payload, _)| (id, payload))
        .collect();
    assert_eq!(
        pending,
        vec![
            (3, r#"{"n":3}"#.to_string()),
            (4, "{}".to_string()),
            (7, r#"{"n":7}"#.to_string()),
            (9, r#"{"n":9}"#.to_string()),
        ]
    );
}

#[tokio::test]
async fn updates_stored_together_come_back_new_once_and_in_order_on_both_databases() {
    on_both!(updates_stored_together_come_back_new_once_and_in_order);
}

/// A day tally kept by an earlier version (one for the whole desk, no estates)
/// is not trusted: the day is counted again from its tickets.
async fn a_day_tally_of_an_earlier_version_is_counted_again(store: Store) {
    let tz = chrono_tz::Asia::Shanghai;
    let mut tx = store.begin().await.unwrap();
    tx.insert_ticket(&new_ticket(1)).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    // t0's day, as an earlier version kept it: a whole-desk tally, here an
    // empty one, counted long after every deadline (so it would still hold).
    let old = serde_json::to_string(&guanjia::domain::stats::Tally::default()).unwrap();
    sqlx::query(
        "INSERT INTO report_days (tz, day, tally, computed_at, stable_until)
         VALUES ($1, '2026-11-23', $2, 0, NULL)",
    )
    .bind(tz.name())
    .bind(old)
    .execute(store.raw_pool())
    .await
    .unwrap();
    sqlx::query("DELETE FROM report_dirty")
        .execute(store.raw_pool())
        .await
        .unwrap();
    let later = t0() + Duration::days(5);
    let r = store
        .report(
            t0() - Duration::days(2),
            t0() + Duration::days(3),
            later,
            tz,
        )
        .await
        .unwrap();
    assert_eq!(r.tickets, 1);
    let estate = ["".to_string()];
    let r = store
        .report_in(
            Some(&estate),
            t0() - Duration::days(2),
            t0() + Duration::days(3),
            later,
            tz,
        )
        .await
        .unwrap();
    assert_eq!(r.tickets, 1, "and counted for its estate");
}

#[tokio::test]
async fn a_day_tally_of_an_earlier_version_is_counted_again_on_both_databases() {
    on_both!(a_day_tally_of_an_earlier_version_is_counted_again);
}
