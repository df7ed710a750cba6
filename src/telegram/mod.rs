//! The Telegram edge: one dptree schema that routes updates to the desk, and the
//! outbox transport that sends what the desk queued.
//!
//! Handlers are thin: turn the update into the desk's terms, call the desk. They
//! never send replies themselves (the outbox does), except answering a pressed
//! button, which Telegram wants within seconds and which carries no state, and
//! setting "/" menus, which are Telegram-only and safe to set again.

pub mod commands;
pub mod intake;
pub mod transport;

use teloxide::dispatching::{HandlerExt, UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{BotCommand, BotCommandScope, ChatMemberUpdated, Me, Recipient};
use teloxide::utils::command::BotCommands;

pub use commands::{OwnerCommand, StaffCommand};
pub use transport::TelegramTransport;

use crate::desk::{CallbackAnswer, ChatKind, Desk, DeskError, Incoming};
use crate::domain::Actor;

type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The routes, as a table:
/// - a group turning into a supergroup → rebind
/// - owner commands (`/start`, `/help`, `/mytickets`, `/room`) → the owner side
/// - staff commands → the staff side if the sender is staff, else a polite refusal
/// - any other text → classify and act (or stay silent)
/// - pressed buttons → claim / finish / rate / confirm a room
/// - the bot removed from a group → unbind it; added to an unknown one → tell staff
pub fn schema() -> UpdateHandler<Box<dyn std::error::Error + Send + Sync + 'static>> {
    let messages = Update::filter_message()
        .branch(
            dptree::filter_map(|m: Message| m.migrate_to_chat_id().map(|id| (m.chat.id.0, id.0)))
                .endpoint(on_migrated),
        )
        .branch(
            dptree::filter_map(to_incoming).branch(
                dptree::entry()
                    .branch(
                        dptree::entry()
                            .filter_command::<OwnerCommand>()
                            .endpoint(on_owner_command),
                    )
                    .branch(
                        dptree::entry()
                            .filter_command::<StaffCommand>()
                            .branch(
                                dptree::filter_async(sender_is_staff).endpoint(on_staff_command),
                            )
                            .endpoint(on_refused),
                    )
                    .endpoint(on_text),
            ),
        );
    dptree::entry()
        .branch(messages)
        .branch(Update::filter_callback_query().endpoint(on_callback))
        .branch(Update::filter_my_chat_member().endpoint(on_my_chat_member))
}

/// The desk's view of a message; `None` (ignored) for messages without a human
/// sender or without text, photo, voice, video or file, such as channel posts,
/// other bots, stickers and service messages.
fn to_incoming(m: Message, me: Me) -> Option<Incoming> {
    use crate::domain::{Media, MediaKind};
    let from = m.from.as_ref().filter(|u| !u.is_bot)?;
    // A photo comes in several sizes; the largest is last.
    let media = if let Some(sizes) = m.photo() {
        sizes
            .last()
            .and_then(|p| Media::new(MediaKind::Photo, p.file.id.0.clone()))
    } else if let Some(v) = m.voice() {
        Media::new(MediaKind::Voice, v.file.id.0.clone())
    } else if let Some(a) = m.audio() {
        Media::new(MediaKind::Voice, a.file.id.0.clone())
    } else if let Some(v) = m.video() {
        Media::new(MediaKind::Video, v.file.id.0.clone())
    } else if let Some(d) = m.document() {
        Media::new(MediaKind::Document, d.file.id.0.clone())
    } else {
        None
    };
    let text = m.text().or(m.caption());
    if text.is_none() && media.is_none() {
        return None;
    }
    Some(Incoming {
        chat_id: m.chat.id.0,
        chat_kind: if m.chat.is_private() {
            ChatKind::Private
        } else {
            ChatKind::Group
        },
        message_id: i64::from(m.id.0),
        from: Actor::new(
            i64::try_from(from.id.0).unwrap_or(i64::MAX),
            crate::domain::ticket::person_name(&from.first_name, from.last_name.as_deref()),
        ),
        username: from.username.clone(),
        text: text.unwrap_or_default().to_string(),
        media,
        album: m.media_group_id().map(|g| g.0.clone()),
        addressed: addresses_the_bot(&m, &me),
    })
}

/// Does `m` mention the bot (`@guanjia_bot`) or reply to one of its messages?
fn addresses_the_bot(m: &Message, me: &Me) -> bool {
    let replies_to_bot = m
        .reply_to_message()
        .and_then(|r| r.from.as_ref())
        .is_some_and(|u| u.id == me.id);
    let mention = format!("@{}", me.username()).to_lowercase();
    replies_to_bot
        || m.text()
            .or(m.caption())
            .is_some_and(|t| t.to_lowercase().contains(&mention))
}

async fn sender_is_staff(desk: Desk, msg: Incoming) -> bool {
    match desk.is_staff(msg.from.id).await {
        Ok(yes) => yes,
        Err(e) => {
            tracing::error!(error = %e, "could not check staff; refusing");
            false
        }
    }
}

/// A desk failure goes back to the intake as an error: the update stays in the
/// inbox and is tried again with backoff (nothing accepted is dropped with a
/// generic apology); after the last attempt staff are told and the sender gets an
/// apology (see `intake`).
fn internal(chat: i64, e: DeskError) -> HandlerResult {
    tracing::warn!(error = %e, chat, "handling failed");
    Err(Box::new(e))
}

async fn on_text(desk: Desk, msg: Incoming) -> HandlerResult {
    match desk.on_message(&msg).await {
        Ok(()) => Ok(()),
        Err(e) => internal(msg.chat_id, e),
    }
}

async fn on_owner_command(desk: Desk, msg: Incoming, cmd: OwnerCommand) -> HandlerResult {
    let result = match cmd {
        OwnerCommand::Start(payload) => desk.start(&msg, &payload).await,
        OwnerCommand::Help => {
            let mut text = OwnerCommand::descriptions().to_string();
            if desk.is_staff(msg.from.id).await.unwrap_or(false) {
                text.push_str("\n\n");
                text.push_str(&StaffCommand::descriptions().to_string());
            }
            desk.reply(&msg, text).await
        }
        OwnerCommand::MyTickets => desk.my_tickets(&msg).await,
        OwnerCommand::Room(arg) => desk.request_room(&msg, &arg).await,
        OwnerCommand::Id => desk.show_ids(&msg).await,
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) => internal(msg.chat_id, e),
    }
}

async fn on_staff_command(bot: Bot, desk: Desk, msg: Incoming, cmd: StaffCommand) -> HandlerResult {
    let menu_change = cmd.clone();
    if let Err(e) = run_staff_command(&desk, &msg, cmd).await {
        return internal(msg.chat_id, e);
    }
    follow_menus(&bot, &desk, &msg, menu_change).await;
    Ok(())
}

/// Keep the "/" menus in step with who is staff and where the staff group is.
async fn follow_menus(bot: &Bot, desk: &Desk, msg: &Incoming, cmd: StaffCommand) {
    match cmd {
        StaffCommand::SetStaffGroup if desk.staff_chat() == Some(msg.chat_id) => {
            set_menu(bot, staff_menu(), scope_chat(msg.chat_id)).await;
        }
        StaffCommand::StaffAdd(arg) | StaffCommand::StaffRemove(arg) => {
            let Some(Ok(user)) = arg.split_whitespace().next().map(str::parse::<i64>) else {
                return;
            };
            if desk.is_staff(user).await.unwrap_or(false) {
                set_menu(bot, staff_menu(), scope_chat(user)).await;
            } else if let Err(e) = bot.delete_my_commands().scope(scope_chat(user)).await {
                tracing::warn!(error = %e, user, "could not remove a staff menu");
            }
        }
        _ => {}
    }
}

/// Staff commands, for any edge that has parsed one (the console uses it too).
pub async fn run_staff_command(
    desk: &Desk,
    msg: &Incoming,
    cmd: StaffCommand,
) -> Result<(), DeskError> {
    desk.store()
        .seen(&msg.from, msg.username.as_deref(), desk.now())
        .await?;
    // Staff commands show and carry private details (rooms, names, notes): they
    // run only in the staff group or in private, whoever types them where. Only
    // binding a group (a building's, or the staff group itself) happens inside it.
    let belongs_in_the_group = matches!(
        cmd,
        StaffCommand::Bind(_) | StaffCommand::Unbind | StaffCommand::SetStaffGroup
    );
    if !belongs_in_the_group && !desk.is_staff_place(msg) {
        return desk.not_here(msg).await;
    }
    match cmd {
        StaffCommand::Claim(a) => desk.claim(msg, &a).await,
        StaffCommand::Done(a) => desk.finish(msg, &a).await,
        StaffCommand::Transfer(a) => desk.transfer(msg, &a).await,
        StaffCommand::Note(a) => desk.note(msg, &a).await,
        StaffCommand::Reopen(a) => desk.reopen(msg, &a).await,
        StaffCommand::Reclassify(a) => desk.reclassify(msg, &a).await,
        StaffCommand::Ticket(a) => desk.show_ticket(msg, &a).await,
        StaffCommand::Tickets(a) => desk.list_tickets(msg, &a).await,
        StaffCommand::StaffAdd(a) => desk.staff_add(msg, &a).await,
        StaffCommand::StaffRemove(a) => desk.staff_remove(msg, &a).await,
        StaffCommand::Bind(a) => desk.bind(msg, &a).await,
        StaffCommand::Unbind => desk.unbind(msg).await,
        StaffCommand::Groups => desk.groups(msg).await,
        StaffCommand::Notice(a) => desk.notice(msg, &a).await,
        StaffCommand::Outage(a) => desk.outage(msg, &a).await,
        StaffCommand::Outages => desk.outages(msg).await,
        StaffCommand::OutageCancel(a) => desk.outage_cancel(msg, &a).await,
        StaffCommand::RemindFees(a) => desk.remind_fees(msg, &a).await,
        StaffCommand::Recall(a) => desk.recall(msg, &a).await,
        StaffCommand::Broadcasts => desk.broadcast_log(msg).await,
        StaffCommand::SetStaffGroup => desk.set_staff_group(msg).await,
    }
}

async fn on_refused(desk: Desk, msg: Incoming) -> HandlerResult {
    match desk.refuse(&msg).await {
        Ok(()) => Ok(()),
        Err(e) => internal(msg.chat_id, e),
    }
}

async fn on_callback(bot: Bot, desk: Desk, q: CallbackQuery) -> HandlerResult {
    let from = Actor::new(
        i64::try_from(q.from.id.0).unwrap_or(i64::MAX),
        crate::domain::ticket::person_name(&q.from.first_name, q.from.last_name.as_deref()),
    );
    let data = q.data.clone().unwrap_or_default();
    // A press that failed changed nothing (its transaction rolled back): the
    // presser is asked to press again rather than the press being replayed later,
    // when Telegram would no longer take an answer to it.
    let answer = match route_button(&desk, &from, &data).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "button failed");
            CallbackAnswer {
                text: "抱歉,系统繁忙,刚才的操作没有生效,请稍后再按一次。".into(),
                alert: true,
            }
        }
    };
    if let Err(e) = bot
        .answer_callback_query(q.id.clone())
        .text(answer.text)
        .show_alert(answer.alert)
        .await
    {
        tracing::warn!(error = %e, "could not answer a button press");
    }
    Ok(())
}

/// Buttons, for any edge: staff buttons check who is pressing.
pub async fn route_button(
    desk: &Desk,
    from: &Actor,
    data: &str,
) -> Result<CallbackAnswer, DeskError> {
    if let Some(rest) = data.strip_prefix("rate:") {
        // rate:<ticket>:<round>:<stars>; buttons sent before rounds had no round.
        let parts: Vec<&str> = rest.split(':').collect();
        let (ticket, round, stars) = match parts.as_slice() {
            [t, r, s] => (
                t.parse().ok(),
                r.parse::<i64>().ok().map(Some),
                s.parse::<i64>().ok(),
            ),
            [t, s] => (t.parse().ok(), Some(None), s.parse::<i64>().ok()),
            _ => (None, None, None),
        };
        return match (ticket, round, stars) {
            (Some(t), Some(round), Some(s)) => desk.rate(t, round, s, from).await,
            _ => Ok(CallbackAnswer {
                text: "按钮已失效".into(),
                alert: true,
            }),
        };
    }
    if !desk.is_staff(from.id).await? {
        return Ok(CallbackAnswer {
            text: "抱歉,这个按钮仅限物业工作人员使用。".into(),
            alert: true,
        });
    }
    desk.staff_button(from, data).await
}

async fn on_my_chat_member(desk: Desk, update: ChatMemberUpdated) -> HandlerResult {
    let chat = &update.chat;
    if !update.new_chat_member.is_present() {
        if let Err(e) = desk.on_removed_from_chat(chat.id.0).await {
            return internal(chat.id.0, e);
        }
    } else if !update.old_chat_member.is_present()
        && !chat.is_private()
        && !chat.is_channel()
        && let Err(e) = desk
            .on_added_to_chat(chat.id.0, chat.title().unwrap_or(""), update.date)
            .await
    {
        return internal(update.chat.id.0, e);
    }
    Ok(())
}

/// The "/" menus. Owners' commands are the default everywhere and in private;
/// the staff group and each staff member's private chat get the staff commands
/// too. Telegram shows the most specific scope's list, so owners never see staff
/// commands. A failure is logged, never fatal: the commands work without a menu.
pub async fn set_command_menus(bot: &Bot, staff_chat: Option<i64>, staff: &[i64]) {
    set_menu(bot, owner_menu(), BotCommandScope::Default).await;
    set_menu(bot, owner_menu(), BotCommandScope::AllPrivateChats).await;
    for chat in staff_chat.into_iter().chain(staff.iter().copied()) {
        set_menu(bot, staff_menu(), scope_chat(chat)).await;
    }
}

fn owner_menu() -> Vec<BotCommand> {
    menu(OwnerCommand::bot_commands())
}

/// Staff see their own commands and the owners' ones.
fn staff_menu() -> Vec<BotCommand> {
    let mut all = owner_menu();
    all.extend(menu(StaffCommand::bot_commands()));
    all
}

/// Telegram wants the bare command name in a menu, without the `/`.
fn menu(commands: Vec<BotCommand>) -> Vec<BotCommand> {
    commands
        .into_iter()
        .map(|c| BotCommand::new(c.command.trim_start_matches('/'), c.description))
        .collect()
}

fn scope_chat(chat: i64) -> BotCommandScope {
    BotCommandScope::Chat {
        chat_id: Recipient::Id(ChatId(chat)),
    }
}

async fn set_menu(bot: &Bot, commands: Vec<BotCommand>, scope: BotCommandScope) {
    if let Err(e) = bot.set_my_commands(commands).scope(scope.clone()).await {
        // A staff member who never opened a private chat with the bot has none.
        tracing::warn!(error = %e, ?scope, "could not set a command menu");
    }
}

async fn on_migrated(desk: Desk, ids: (i64, i64)) -> HandlerResult {
    match desk.on_chat_migrated(ids.0, ids.1).await {
        Ok(()) => Ok(()),
        Err(e) => internal(ids.0, e),
    }
}
