//! The routes, for every chat edge: Telegram and the console both hand a message
//! to [`route`] and a pressed button to [`press`], so they cannot drift apart and
//! another chat platform is only a new edge that builds an [`Incoming`].
//!
//! As a table:
//! - owner commands (`/start`, `/help`, `/mytickets`, `/room`, `/id`) → the owner side
//! - staff commands → a polite refusal unless the sender is staff; then, except
//!   for binding a group, only in the staff group or in private; then arguments
//!   the command cannot use are answered with what to write instead
//! - any other text → classify and act (or stay silent)
//! - star buttons → the owner side; other buttons → staff only

use super::wording::stale_answer;
use super::{CallbackAnswer, Desk, Incoming, Result};
use crate::domain::Actor;
use crate::domain::action::{Action, Audience};
use crate::domain::command::{Command, OwnerCommand, StaffCommand};

/// What [`route`] did with a message, for an edge that follows up in its own
/// terms (Telegram keeps its "/" menus in step with staff changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// An owner command ran.
    Owner(OwnerCommand),
    /// A staff command from staff reached the desk: it ran, or was answered
    /// with where or how to ask.
    Staff(StaffCommand),
    /// Staff typed a staff command whose arguments it cannot use, and were told.
    Misused,
    /// Someone who is not staff typed a staff command, and was refused.
    Refused,
    /// Not a command: the desk read it as an owner's message.
    Text,
}

/// Everything a message can be, in order: an owner command, a staff command,
/// then free text.
pub async fn route(desk: &Desk, msg: &Incoming) -> Result<Routed> {
    match Command::parse(&msg.text, desk.bot_username()) {
        Some(Command::Owner(cmd)) => {
            run_owner(desk, msg, &cmd).await?;
            Ok(Routed::Owner(cmd))
        }
        Some(Command::Staff(cmd)) => {
            if !sender_is_staff(desk, msg).await {
                desk.refuse(msg).await?;
                return Ok(Routed::Refused);
            }
            desk.store()
                .seen(&msg.from, msg.username.as_deref(), desk.now())
                .await?;
            // Staff commands show and carry private details (rooms, names, notes):
            // they run only in the staff group or in private, whoever types them
            // where. Only binding a group happens inside it.
            let in_the_group = cmd.as_ref().is_ok_and(StaffCommand::belongs_in_the_group);
            if !in_the_group && !desk.is_staff_place(msg) {
                desk.not_here(msg).await?;
                return Ok(match cmd {
                    Ok(cmd) => Routed::Staff(cmd),
                    Err(_) => Routed::Misused,
                });
            }
            match cmd {
                Ok(cmd) => {
                    run_staff(desk, msg, &cmd).await?;
                    Ok(Routed::Staff(cmd))
                }
                Err(e) => {
                    desk.refuse_arguments(msg, &e).await?;
                    Ok(Routed::Misused)
                }
            }
        }
        None => {
            desk.intake().on_message(msg).await?;
            Ok(Routed::Text)
        }
    }
}

/// A failure to check is a refusal: staff commands are never run on a guess.
async fn sender_is_staff(desk: &Desk, msg: &Incoming) -> bool {
    match desk.is_staff(msg.from.id).await {
        Ok(yes) => yes,
        Err(e) => {
            tracing::error!(error = %e, "could not check staff; refusing");
            false
        }
    }
}

async fn run_owner(desk: &Desk, msg: &Incoming, cmd: &OwnerCommand) -> Result<()> {
    match cmd {
        OwnerCommand::Start(payload) => desk.intake().start(msg, payload).await,
        OwnerCommand::Help => {
            let staff = desk.is_staff(msg.from.id).await.unwrap_or(false);
            desk.reply(msg, desk.t().help(staff)).await
        }
        OwnerCommand::MyTickets => desk.intake().my_tickets(msg).await,
        OwnerCommand::Room(arg) => desk.intake().request_room(msg, arg).await,
        OwnerCommand::Id => desk.admin().show_ids(msg).await,
    }
}

async fn run_staff(desk: &Desk, msg: &Incoming, cmd: &StaffCommand) -> Result<()> {
    use StaffCommand as S;
    // Another estate's ticket is, for this staff group, no ticket at all.
    if let Some(id) = cmd.ticket()
        && !desk.serves_ticket(msg, id).await?
    {
        let text = desk.ticket_error(&crate::domain::ticket::TicketError::NotFound(id));
        return desk.reply(msg, format!("⚠️ {text}")).await;
    }
    match cmd {
        S::Claim(id) => desk.workflow().claim(msg, *id).await,
        S::Done { ticket, summary } => desk.workflow().finish(msg, *ticket, summary.clone()).await,
        S::Transfer { ticket, to } => desk.workflow().transfer(msg, *ticket, to.as_deref()).await,
        S::Note { ticket, text } => desk.workflow().note(msg, *ticket, text.as_deref()).await,
        S::Reopen(id) => desk.workflow().reopen(msg, *id).await,
        S::Reclassify { ticket, words } => desk.workflow().reclassify(msg, *ticket, words).await,
        S::Ticket(id) => desk.workflow().show_ticket(msg, *id).await,
        S::Tickets(kind) => desk.workflow().list_tickets(msg, *kind).await,
        S::Followup { ticket, outcome } => {
            desk.workflow()
                .followed_up(msg, *ticket, outcome.as_deref())
                .await
        }
        S::Split { ticket, who } => desk.workflow().split(msg, *ticket, who.as_deref()).await,
        S::Survey(args) => desk.notices().survey(msg, args).await,
        S::StaffAdd { user, name } => desk.admin().staff_add(msg, *user, name.as_deref()).await,
        S::StaffRemove(user) => desk.admin().staff_remove(msg, *user).await,
        S::Bind(name) => desk.admin().bind(msg, name).await,
        S::Unbind => desk.admin().unbind(msg).await,
        S::Groups => desk.admin().groups(msg).await,
        S::Notice(args) => desk.notices().notice(msg, args).await,
        S::Outage(args) => desk.notices().outage(msg, args).await,
        S::Outages => desk.notices().outages(msg).await,
        S::OutageCancel(id) => desk.notices().outage_cancel(msg, *id).await,
        S::RemindFees(args) => desk.notices().remind_fees(msg, args).await,
        S::Recall(id) => desk.notices().recall(msg, *id).await,
        S::Broadcasts => desk.notices().broadcast_log(msg).await,
        S::Stats(days, estate) => {
            desk.workflow()
                .stats(msg, days.unwrap_or(7), estate.as_deref())
                .await
        }
        S::SetStaffGroup => desk.admin().set_staff_group(msg).await,
    }
}

/// A pressed button's data, from whoever pressed it. Star buttons are the
/// owners'; every other button, readable or not, is for staff only.
pub async fn press(desk: &Desk, from: &Actor, data: &str) -> Result<CallbackAnswer> {
    let action = data.parse::<Action>();
    let audience = match &action {
        Ok(a) => a.audience(),
        Err(stale) => stale.audience(),
    };
    if audience == Audience::Staff && !desk.is_staff(from.id).await? {
        return Ok(CallbackAnswer::alert(desk.t().label("button_staff_only")));
    }
    match action {
        Ok(action) => desk.press(from, action).await,
        Err(stale) => Ok(stale_answer(desk.t(), stale)),
    }
}
