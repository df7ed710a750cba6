//! The outbox worker's Telegram side: teloxide requests, and Telegram's answers
//! sorted into "wait", "try again" and "never".

use std::time::Duration;
use teloxide::ApiError;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{
    ChatId, FileId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageId,
    ReplyParameters,
};

use crate::domain::media::{Media, MediaKind};
use crate::domain::outgoing::{ButtonAction, Keyboard};
use crate::worker::{SendError, Transport};

/// Telegram refuses longer texts.
const MAX_TEXT_CHARS: usize = 4096;
/// ... and longer captions under a photo or voice message.
const MAX_CAPTION_CHARS: usize = 1024;

pub struct TelegramTransport {
    bot: Bot,
}

impl TelegramTransport {
    pub fn new(bot: Bot) -> Self {
        Self { bot }
    }
}

fn markup(keyboard: &Keyboard) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(keyboard.iter().map(|row| {
        row.iter()
            .filter_map(|b| match &b.action {
                ButtonAction::Callback(data) => {
                    Some(InlineKeyboardButton::callback(b.text.clone(), data.clone()))
                }
                ButtonAction::Url(url) => url
                    .parse()
                    .ok()
                    .map(|u| InlineKeyboardButton::url(b.text.clone(), u)),
            })
            .collect::<Vec<_>>()
    }))
}

/// Telegram's message ids are 32-bit; ours are stored as 64-bit.
fn message_id(message: i64) -> Result<MessageId, SendError> {
    i32::try_from(message)
        .map(MessageId)
        .map_err(|_| SendError::Permanent(format!("message id {message} is out of range")))
}

fn clip(text: &str) -> String {
    crate::desk::excerpt(text, MAX_TEXT_CHARS - 1)
}

fn classify(e: RequestError) -> SendError {
    // Any answer, even a refusal, means the Bot API is reachable.
    crate::metrics::metrics()
        .bot_api_reached(!matches!(e, RequestError::Network(_) | RequestError::Io(_)));
    match e {
        RequestError::RetryAfter(secs) => {
            SendError::RetryAfter(secs.duration().max(Duration::from_secs(1)))
        }
        RequestError::Network(e) => SendError::Transient(format!("network: {e}")),
        RequestError::Io(e) => SendError::Transient(format!("io: {e}")),
        RequestError::InvalidJson { source, .. } => {
            SendError::Transient(format!("bad answer: {source}"))
        }
        RequestError::MigrateToChatId(id) => SendError::Migrated(id.0),
        RequestError::Api(ApiError::Unknown(text)) => {
            // Telegram's own trouble (5xx, gateway) is worth retrying; an unknown
            // refusal of what we sent is not.
            let lower = text.to_lowercase();
            if [
                "internal",
                "gateway",
                "unavailable",
                "timeout",
                "too many",
                "server",
            ]
            .iter()
            .any(|w| lower.contains(w))
            {
                SendError::Transient(text)
            } else {
                SendError::Permanent(text)
            }
        }
        RequestError::Api(api) => SendError::Permanent(api.to_string()),
    }
}

/// An edit that changes nothing, or a delete of what is gone, has done its job.
fn settled(result: Result<(), RequestError>) -> Result<(), SendError> {
    match result {
        Ok(()) => Ok(()),
        Err(RequestError::Api(
            ApiError::MessageNotModified | ApiError::MessageToDeleteNotFound,
        )) => Ok(()),
        Err(e) => Err(classify(e)),
    }
}

impl Transport for TelegramTransport {
    async fn send(
        &self,
        chat: i64,
        text: &str,
        reply_to: Option<i64>,
        keyboard: Option<&Keyboard>,
    ) -> Result<i64, SendError> {
        let mut req = self.bot.send_message(ChatId(chat), clip(text));
        if let Some(id) = reply_to.and_then(|m| i32::try_from(m).ok()) {
            req = req.reply_parameters(
                ReplyParameters::new(MessageId(id)).allow_sending_without_reply(),
            );
        }
        if let Some(k) = keyboard {
            req = req.reply_markup(markup(k));
        }
        req.await.map(|m| i64::from(m.id.0)).map_err(classify)
    }

    async fn send_poll(
        &self,
        chat: i64,
        poll: &crate::domain::survey::Poll,
    ) -> Result<(i64, String), SendError> {
        let options = poll
            .options
            .iter()
            .map(|o| teloxide::types::InputPollOption::new(o.clone()));
        let sent = self
            .bot
            .send_poll(ChatId(chat), poll.question.clone(), options)
            .is_anonymous(true)
            .await
            .map_err(classify)?;
        let poll_id = sent
            .poll()
            .map(|p| p.id.0.clone())
            .ok_or_else(|| SendError::Permanent("the sent poll came back without an id".into()))?;
        Ok((i64::from(sent.id.0), poll_id))
    }

    async fn send_media(
        &self,
        chat: i64,
        media: &Media,
        caption: &str,
        reply_to: Option<i64>,
        keyboard: Option<&Keyboard>,
    ) -> Result<i64, SendError> {
        let file = InputFile::file_id(FileId(media.file_id().to_string()));
        let caption = crate::desk::excerpt(caption, MAX_CAPTION_CHARS - 1);
        let reply = reply_to
            .and_then(|m| i32::try_from(m).ok())
            .map(|id| ReplyParameters::new(MessageId(id)).allow_sending_without_reply());
        let markup = keyboard.map(markup);
        let chat = ChatId(chat);
        // Each kind is its own request type in teloxide; the same three options
        // go on each.
        macro_rules! with_options {
            ($req:expr) => {{
                let mut req = $req;
                if !caption.is_empty() {
                    req = req.caption(caption.clone());
                }
                if let Some(r) = reply.clone() {
                    req = req.reply_parameters(r);
                }
                if let Some(k) = markup.clone() {
                    req = req.reply_markup(k);
                }
                req.await
            }};
        }
        let sent = match media.kind {
            MediaKind::Photo => with_options!(self.bot.send_photo(chat, file)),
            MediaKind::Voice => with_options!(self.bot.send_voice(chat, file)),
            MediaKind::Video => with_options!(self.bot.send_video(chat, file)),
            MediaKind::Document => with_options!(self.bot.send_document(chat, file)),
        };
        sent.map(|m| i64::from(m.id.0)).map_err(classify)
    }

    async fn edit(
        &self,
        chat: i64,
        message: i64,
        text: &str,
        keyboard: Option<&Keyboard>,
    ) -> Result<(), SendError> {
        let id = message_id(message)?;
        let mut req = self.bot.edit_message_text(ChatId(chat), id, clip(text));
        // No keyboard given means none: an edit without markup removes it.
        let none = Keyboard::new();
        req = req.reply_markup(markup(keyboard.unwrap_or(&none)));
        settled(req.await.map(|_| ()))
    }

    async fn delete(&self, chat: i64, message: i64) -> Result<(), SendError> {
        let id = message_id(message)?;
        settled(self.bot.delete_message(ChatId(chat), id).await.map(|_| ()))
    }

    async fn pin(&self, chat: i64, message: i64) -> Result<(), SendError> {
        let id = message_id(message)?;
        settled(
            self.bot
                .pin_chat_message(ChatId(chat), id)
                .disable_notification(true)
                .await
                .map(|_| ()),
        )
    }

    async fn unpin(&self, chat: i64, message: i64) -> Result<(), SendError> {
        let id = message_id(message)?;
        settled(
            self.bot
                .unpin_chat_message(ChatId(chat))
                .message_id(id)
                .await
                .map(|_| ()),
        )
    }
}
