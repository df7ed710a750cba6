//! Deploying on a real Telegram, as someone who has never done it would: the real
//! daemon against the fake Bot API. A bot still in privacy mode is told about,
//! each person's "/" menu shows what they may use, nobody hunts for ids, and a
//! first config with only a token and one admin id is enough.

mod support;

use support::daemon::*;
use support::fake_bot_api::{FakeBotApi, FakeChat, Options};

/// Texts the bot sent to `chat` that contain `needle`.
fn sent_with(fake: &FakeBotApi, chat: i64, needle: &str) -> usize {
    fake.texts_to(chat)
        .iter()
        .filter(|t| t.contains(needle))
        .count()
}

fn commands(list: &[(String, String)]) -> Vec<&str> {
    list.iter().map(|(c, _)| c.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bot_in_privacy_mode_tells_staff_how_to_fix_it_at_every_start() {
    let fake = FakeBotApi::start_with(Options {
        can_read_all_group_messages: false,
        ..Options::default()
    })
    .await;
    let home = Home::new(&fake, "");
    let mut daemon = home.start(&fake).await;
    let warning = fake
        .wait_for_text(STAFF_CHAT, "/setprivacy", SOON)
        .await
        .expect("staff are told about privacy mode");
    assert!(warning.text.contains("Disable"), "{}", warning.text);
    assert!(
        warning.text.contains(&format!("@{}", fake.bot_username())),
        "names the bot to pick in BotFather: {}",
        warning.text
    );
    assert!(
        warning.text.contains("重新拉进") || warning.text.contains("管理员"),
        "says to re-add the bot: {}",
        warning.text
    );
    daemon.stop();

    let _daemon = home.start(&fake).await;
    fake.wait_for(
        |s| {
            s.iter()
                .filter(|m| m.chat_id == STAFF_CHAT && m.text.contains("/setprivacy"))
                .count()
                == 2
        },
        SOON,
    )
    .await
    .expect("said again at the next start");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bot_with_privacy_mode_off_says_nothing_about_it() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _daemon = home.start(&fake).await;
    let m = fake.push_text(&staff_chat(), &admin(), "/id");
    wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    assert_eq!(sent_with(&fake, STAFF_CHAT, "setprivacy"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn owners_menus_hold_no_staff_command_and_staff_menus_hold_claim() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _daemon = home.start(&fake).await;

    let default = fake.my_commands();
    let private = fake.commands_in(&serde_json::json!({"type": "all_private_chats"}));
    for menu in [&default, &private] {
        let names = commands(menu);
        for owner in ["start", "help", "mytickets", "room", "id"] {
            assert!(names.contains(&owner), "{owner} in {names:?}");
        }
        for staff in ["claim", "done", "notice", "bind", "set_staff_group"] {
            assert!(!names.contains(&staff), "owners see {staff}: {names:?}");
        }
    }
    let staff_group = fake.commands_for_chat(STAFF_CHAT);
    let names = commands(&staff_group);
    for cmd in ["claim", "done", "tickets", "help", "id", "set_staff_group"] {
        assert!(names.contains(&cmd), "{cmd} in the staff group: {names:?}");
    }
    for person in [ADMIN, LI, WANG] {
        assert!(
            commands(&fake.commands_for_chat(person)).contains(&"claim"),
            "staff member {person} sees the staff commands in private"
        );
    }
    assert!(fake.commands_for_chat(owner().id).is_empty());
    assert!(
        fake.commands_for_chat(GROUP_3).is_empty(),
        "building groups get the default"
    );

    // Staff added and removed at run time get and lose their menu.
    let id = neighbour().id;
    let m = fake.push_text(&staff_chat(), &admin(), &format!("/staff_add {id}"));
    wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    fake.wait_for(
        |_| commands(&fake.commands_for_chat(id)).contains(&"claim"),
        SOON,
    )
    .await
    .expect("a new staff member gets the staff menu");
    let m = fake.push_text(&staff_chat(), &admin(), &format!("/staff_remove {id}"));
    wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    fake.wait_for(|_| fake.commands_for_chat(id).is_empty(), SOON)
        .await
        .expect("a removed staff member is back to the owners' menu");
}

#[tokio::test(flavor = "multi_thread")]
async fn id_answers_with_the_chat_id_and_the_senders_user_id() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _daemon = home.start(&fake).await;

    let m = fake.push_text(&group3(), &owner(), "/id");
    let reply = wait_reply(&fake, GROUP_3, m.message_id).await;
    assert!(reply.text.contains(&GROUP_3.to_string()), "{}", reply.text);
    assert!(
        reply.text.contains(&owner().id.to_string()),
        "{}",
        reply.text
    );

    let private = FakeChat::private(&neighbour());
    let m = fake.push_text(&private, &neighbour(), "/id");
    let reply = wait_reply(&fake, private.id, m.message_id).await;
    assert!(
        reply.text.contains(&neighbour().id.to_string()),
        "{}",
        reply.text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_the_bot_joins_is_announced_to_staff_with_its_id_and_how_to_bind_it() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _daemon = home.start(&fake).await;

    // A building the desk already knows: nothing to say.
    fake.push_my_chat_member(&group3(), &admin(), "member");
    let new_group = FakeChat::supergroup(-100_777, "幸福里7栋业主群");
    fake.push_my_chat_member(&new_group, &admin(), "member");
    let note = fake
        .wait_for_text(STAFF_CHAT, "-100777", SOON)
        .await
        .expect("staff are told the new group's id");
    assert!(note.text.contains("幸福里7栋业主群"), "{}", note.text);
    assert!(note.text.contains("/bind 3栋"), "{}", note.text);

    // Made admin there afterwards: not a new group.
    fake.push_my_chat_member(&new_group, &admin(), "administrator");
    let m = fake.push_text(&staff_chat(), &admin(), "/id");
    wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    assert_eq!(sent_with(&fake, STAFF_CHAT, "-100777"), 1);
    assert_eq!(sent_with(&fake, STAFF_CHAT, &GROUP_3.to_string()), 0);
}

/// The first config a new user writes: the token and one admin id. No rule
/// files, no staff group, no buildings; a relative database path.
fn first_config(fake: &FakeBotApi) -> Home {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        dir.path().join("guanjia.toml"),
        format!(
            "[telegram]\ntoken = \"{}\"\napi_url = \"{}\"\npoll_timeout_secs = 1\n\n[database]\nurl = \"sqlite://guanjia.db\"\n\n[desk]\nadmins = [{ADMIN}]\n",
            fake.token(),
            fake.api_url()
        ),
    )
    .unwrap();
    Home { dir }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_and_one_admin_id_are_enough_the_rest_is_set_up_from_the_chat() {
    let fake = FakeBotApi::start().await;
    let home = first_config(&fake);
    let mut daemon = home.start(&fake).await;
    assert!(
        home.dir.path().join("guanjia.db").exists(),
        "a relative database path is beside the config, not in the daemon's directory"
    );

    // The bot is added to what will be the staff group: the admin hears its id.
    fake.push_my_chat_member(&staff_chat(), &admin(), "member");
    let note = fake
        .wait_for_text(ADMIN, &STAFF_CHAT.to_string(), SOON)
        .await
        .expect("with no staff group yet, the admin is told in private");
    assert!(note.text.contains("/set_staff_group"), "{}", note.text);

    // An owner cannot make a group the staff group; the admin can.
    let m = fake.push_text(&staff_chat(), &owner(), "/set_staff_group");
    let refused = wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    assert!(!refused.text.contains("已设为员工群"), "{}", refused.text);
    let m = fake.push_text(&staff_chat(), &admin(), "/set_staff_group");
    let set = wait_reply(&fake, STAFF_CHAT, m.message_id).await;
    assert!(set.text.contains("已设为员工群"), "{}", set.text);
    fake.wait_for(
        |_| commands(&fake.commands_for_chat(STAFF_CHAT)).contains(&"claim"),
        SOON,
    )
    .await
    .expect("the new staff group gets the staff menu");

    // A building group is bound from the chat, and reports reach the staff group,
    // classified by the rules built into the binary.
    let m = fake.push_text(&group3(), &admin(), "/bind 3栋");
    wait_reply(&fake, GROUP_3, m.message_id).await;
    fake.push_text(&group3(), &owner(), "3栋2单元501 厨房水管漏水了");
    fake.wait_for_text(STAFF_CHAT, "工单 #1", SOON)
        .await
        .expect("the ticket reaches the staff group set from the chat");

    // The staff group is remembered across a restart.
    daemon.stop();
    let _daemon = home.start(&fake).await;
    fake.push_text(&group3(), &neighbour(), "3栋1单元302 卫生间灯不亮了");
    fake.wait_for_text(STAFF_CHAT, "工单 #2", SOON)
        .await
        .expect("after a restart, tickets still go to the staff group");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_building_group_cannot_become_the_staff_group() {
    let fake = FakeBotApi::start().await;
    let home = Home::new(&fake, "");
    let _daemon = home.start(&fake).await;
    let m = fake.push_text(&group3(), &admin(), "/set_staff_group");
    let reply = wait_reply(&fake, GROUP_3, m.message_id).await;
    assert!(reply.text.contains("3栋"), "{}", reply.text);
    assert!(!reply.text.contains("已设为员工群"), "{}", reply.text);
    // Tickets still go to the configured staff group.
    fake.push_text(&group3(), &owner(), "3栋2单元501 厨房水管漏水了");
    fake.wait_for_text(STAFF_CHAT, "工单 #1", SOON)
        .await
        .expect("the staff group is unchanged");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_and_check_refuse_a_config_that_would_leak_or_panic() {
    let fake = FakeBotApi::start().await;
    for (extra, key) in [
        (
            format!("[[building]]\nname = \"9栋\"\nchat = {STAFF_CHAT}\n"),
            "desk.staff_chat",
        ),
        (
            "[[building]]\nname = \"3栋\"\nchat = -100999\n".to_string(),
            "building.name",
        ),
        (
            "[service]\nrespond_minutes = 9223372036854775807\n".to_string(),
            "service.respond_minutes",
        ),
    ] {
        let home = Home::new(&fake, &extra);
        for cmd in ["check", "run"] {
            let out = home.cli(&[cmd]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{cmd} accepted {extra}");
            assert!(err.contains(key), "{cmd}: {err}");
        }
    }
    assert!(
        fake.calls_to("getupdates").is_empty(),
        "a bad config never starts polling"
    );
}
