//! What the desk wants said, before any chat platform sees it.
//!
//! Handlers never send: they describe messages as [`Outgoing`] values, which are
//! stored in the outbox in the same transaction as the change they report, and a
//! worker delivers them. So an owner is only told what the database already holds,
//! and nothing queued is lost to a crash.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::action::Action;
use super::media::Media;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub text: String,
    #[serde(flatten)]
    pub action: ButtonAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ButtonAction {
    /// Pressing it sends this data back to the bot.
    Callback(String),
    /// Pressing it opens a link (a deep link into a private chat with the bot).
    Url(String),
}

impl Button {
    pub fn callback(text: impl Into<String>, data: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            action: ButtonAction::Callback(data.into()),
        }
    }

    /// A button that asks the desk for `action` when pressed.
    pub fn action(text: impl Into<String>, action: Action) -> Self {
        Self::callback(text, action.to_string())
    }

    pub fn url(text: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            action: ButtonAction::Url(url.into()),
        }
    }
}

/// Rows of inline buttons under a message.
pub type Keyboard = Vec<Vec<Button>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Send,
    /// Replace the text (and buttons) of the message sent by the row tagged `ref_tag`.
    Edit,
    Delete,
    Pin,
    Unpin,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Send => "send",
            Op::Edit => "edit",
            Op::Delete => "delete",
            Op::Pin => "pin",
            Op::Unpin => "unpin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "send" => Op::Send,
            "edit" => Op::Edit,
            "delete" => Op::Delete,
            "pin" => Op::Pin,
            "unpin" => Op::Unpin,
            _ => return None,
        })
    }
}

/// Which queue a message waits in. Lower goes first, so an emergency alert or an
/// owner's reply never waits behind a 500-group broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lane {
    Emergency = 0,
    Interactive = 1,
    Broadcast = 2,
}

impl Lane {
    pub fn from_i64(n: i64) -> Self {
        match n {
            0 => Lane::Emergency,
            1 => Lane::Interactive,
            _ => Lane::Broadcast,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub chat_id: i64,
    pub op: Op,
    pub text: Option<String>,
    /// A photo or voice message to send (by its file id); `text` is its caption.
    pub media: Option<Media>,
    /// A poll to send instead of a text (a satisfaction survey).
    pub poll: Option<super::survey::Poll>,
    pub reply_to: Option<i64>,
    pub keyboard: Option<Keyboard>,
    /// For edit/delete/pin/unpin: the tag of the message to act on.
    pub ref_tag: Option<String>,
    /// ... or the message itself, when it is known (a message to delete).
    pub target_message: Option<i64>,
    /// A unique name: queuing the same tag twice queues it once. This is what makes
    /// handlers safe to run twice on a re-delivered update.
    pub tag: Option<String>,
    pub lane: Lane,
    pub broadcast_id: Option<i64>,
    /// Not before this time (scheduled notices); `None` is now.
    pub not_before: Option<DateTime<Utc>>,
}

impl Outgoing {
    pub fn send(chat_id: i64, text: impl Into<String>) -> Self {
        Self {
            chat_id,
            op: Op::Send,
            text: Some(text.into()),
            media: None,
            poll: None,
            reply_to: None,
            keyboard: None,
            ref_tag: None,
            target_message: None,
            tag: None,
            lane: Lane::Interactive,
            broadcast_id: None,
            not_before: None,
        }
    }

    /// Replace the text of the message tagged `ref_tag` (in `chat_id`).
    pub fn edit(chat_id: i64, ref_tag: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            op: Op::Edit,
            ref_tag: Some(ref_tag.into()),
            ..Self::send(chat_id, text)
        }
    }

    /// Delete, pin or unpin the message tagged `ref_tag`.
    pub fn act(chat_id: i64, op: Op, ref_tag: impl Into<String>) -> Self {
        Self {
            op,
            text: None,
            ref_tag: Some(ref_tag.into()),
            ..Self::send(chat_id, "")
        }
    }

    /// Delete a known message (one that should not have been posted where it was).
    pub fn delete_message(chat_id: i64, message_id: i64) -> Self {
        Self {
            op: Op::Delete,
            text: None,
            target_message: Some(message_id),
            ..Self::send(chat_id, "")
        }
    }

    /// Send `media` with `caption` under it.
    pub fn send_media(chat_id: i64, media: Media, caption: impl Into<String>) -> Self {
        Self {
            media: Some(media),
            ..Self::send(chat_id, caption)
        }
    }

    /// Send `poll` (anonymous) to `chat_id`.
    pub fn poll(chat_id: i64, poll: super::survey::Poll) -> Self {
        Self {
            text: None,
            poll: Some(poll),
            ..Self::send(chat_id, "")
        }
    }

    pub fn reply_to(mut self, message_id: i64) -> Self {
        self.reply_to = Some(message_id);
        self
    }

    pub fn keyboard(mut self, keyboard: Keyboard) -> Self {
        self.keyboard = if keyboard.is_empty() {
            None
        } else {
            Some(keyboard)
        };
        self
    }

    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    pub fn lane(mut self, lane: Lane) -> Self {
        self.lane = lane;
        self
    }

    pub fn broadcast(mut self, id: i64) -> Self {
        self.broadcast_id = Some(id);
        self.lane = Lane::Broadcast;
        self
    }

    pub fn not_before(mut self, at: DateTime<Utc>) -> Self {
        self.not_before = Some(at);
        self
    }
}
