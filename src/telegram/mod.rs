//! The Telegram edge: one dptree schema that turns updates into the desk's terms
//! and hands them to the platform-neutral router (`desk::router`, which the
//! console uses too), and the outbox transport that sends what the desk queued.
//!
//! Handlers are thin: turn the update into the desk's terms, call the router. They
//! never send replies themselves (the outbox does), except answering a pressed
//! button, which Telegram wants within seconds and which carries no state, and
//! setting "/" menus, which are Telegram-only and safe to set again.

pub mod intake;
pub mod transport;
pub mod webhook;

use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{BotCommand, BotCommandScope, ChatMemberUpdated, Me, Recipient};

pub use transport::TelegramTransport;

use crate::desk::{CallbackAnswer, ChatKind, Desk, DeskError, Incoming, Routed};
use crate::domain::Actor;
use crate::domain::command::{CommandHelp, OWNER_COMMANDS, STAFF_COMMANDS, StaffCommand};
use crate::domain::templates::Templates;

type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The routes, as a table:
/// - a group turning into a supergroup → rebind
/// - a message from a person → the router (commands, then free text)
/// - pressed buttons → the router (claim / finish / rate / confirm a room / sort)
/// - the bot removed from a group → unbind it; added to an unknown one → tell staff
/// - a survey's poll changed → its counts
pub fn schema() -> UpdateHandler<Box<dyn std::error::Error + Send + Sync + 'static>> {
    let messages = Update::filter_message()
        .branch(
            dptree::filter_map(|m: Message| m.migrate_to_chat_id().map(|id| (m.chat.id.0, id.0)))
                .endpoint(on_migrated),
        )
        .branch(dptree::filter_map(to_incoming).endpoint(on_message));
    dptree::entry()
        .branch(messages)
        .branch(Update::filter_callback_query().endpoint(on_callback))
        .branch(Update::filter_my_chat_member().endpoint(on_my_chat_member))
        .branch(Update::filter_poll().endpoint(on_poll))
}

/// Anonymous polls report only counts, which is all a survey keeps.
async fn on_poll(desk: Desk, poll: teloxide::types::Poll) -> HandlerResult {
    let counts: Vec<u64> = poll
        .options
        .iter()
        .map(|o| u64::from(o.voter_count))
        .collect();
    desk.on_poll(&poll.id.0, &counts)
        .await
        .or_else(|e| internal(0, e))
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

/// A desk failure goes back to the intake as an error: the update stays in the
/// inbox and is tried again with backoff (nothing accepted is dropped with a
/// generic apology); after the last attempt staff are told and the sender gets an
/// apology (see `intake`).
fn internal(chat: i64, e: DeskError) -> HandlerResult {
    tracing::warn!(error = %e, chat, "handling failed");
    Err(Box::new(e))
}

async fn on_message(bot: Bot, desk: Desk, msg: Incoming) -> HandlerResult {
    match crate::desk::route(&desk, &msg).await {
        Ok(Routed::Staff(cmd)) => {
            follow_menus(&bot, &desk, &msg, cmd).await;
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) => internal(msg.chat_id, e),
    }
}

/// Keep the "/" menus in step with who is staff and where the staff group is.
async fn follow_menus(bot: &Bot, desk: &Desk, msg: &Incoming, cmd: StaffCommand) {
    match cmd {
        StaffCommand::SetStaffGroup if desk.staff_chat() == Some(msg.chat_id) => {
            set_menu(bot, staff_menu(desk.t()), scope_chat(msg.chat_id)).await;
        }
        StaffCommand::StaffAdd {
            user: Some(user), ..
        }
        | StaffCommand::StaffRemove(Some(user)) => {
            if desk.is_staff(user).await.unwrap_or(false) {
                set_menu(bot, staff_menu(desk.t()), scope_chat(user)).await;
            } else if let Err(e) = bot.delete_my_commands().scope(scope_chat(user)).await {
                tracing::warn!(error = %e, user, "could not remove a staff menu");
            }
        }
        _ => {}
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
    let answer = match crate::desk::press(&desk, &from, &data).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "button failed");
            CallbackAnswer {
                text: desk.t().label("button_failed"),
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
pub async fn set_command_menus(bot: &Bot, t: &Templates, staff_chat: Option<i64>, staff: &[i64]) {
    set_menu(bot, owner_menu(t), BotCommandScope::Default).await;
    set_menu(bot, owner_menu(t), BotCommandScope::AllPrivateChats).await;
    for chat in staff_chat.into_iter().chain(staff.iter().copied()) {
        set_menu(bot, staff_menu(t), scope_chat(chat)).await;
    }
}

fn owner_menu(t: &Templates) -> Vec<BotCommand> {
    menu(t, OWNER_COMMANDS)
}

/// Staff see their own commands and the owners' ones.
fn staff_menu(t: &Templates) -> Vec<BotCommand> {
    let mut all = owner_menu(t);
    all.extend(menu(t, STAFF_COMMANDS));
    all
}

/// Telegram wants the bare command name in a menu, without the `/`.
fn menu(t: &Templates, commands: &[CommandHelp]) -> Vec<BotCommand> {
    commands
        .iter()
        .map(|c| BotCommand::new(c.name, t.command(c.name)))
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
