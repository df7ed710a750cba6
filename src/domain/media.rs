//! Photos, voice messages and the like, as the desk keeps them: the chat
//! platform's own file id, which shows the file again wherever the bot writes,
//! so the desk never downloads or stores an owner's photo itself.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Photo,
    Voice,
    Video,
    Document,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Photo => "photo",
            MediaKind::Voice => "voice",
            MediaKind::Video => "video",
            MediaKind::Document => "document",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "photo" => MediaKind::Photo,
            "voice" => MediaKind::Voice,
            "video" => MediaKind::Video,
            "document" => MediaKind::Document,
            _ => return None,
        })
    }

    /// The word staff and owners read: 照片, 语音, ...
    pub fn label(self) -> &'static str {
        match self {
            MediaKind::Photo => "照片",
            MediaKind::Voice => "语音",
            MediaKind::Video => "视频",
            MediaKind::Document => "文件",
        }
    }

    /// Something to listen to rather than to look at: the desk cannot read it.
    pub fn is_spoken(self) -> bool {
        self == MediaKind::Voice
    }
}

/// One file on the chat platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub kind: MediaKind,
    /// The platform's id for the file; never empty.
    file_id: String,
}

impl Media {
    /// `None` for an empty id (nothing could show it).
    pub fn new(kind: MediaKind, file_id: impl Into<String>) -> Option<Self> {
        let file_id = file_id.into();
        (!file_id.trim().is_empty()).then_some(Self { kind, file_id })
    }

    pub fn file_id(&self) -> &str {
        &self.file_id
    }
}

impl fmt::Display for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_an_empty_file_id_is_no_media() {
        for k in [
            MediaKind::Photo,
            MediaKind::Voice,
            MediaKind::Video,
            MediaKind::Document,
        ] {
            assert_eq!(MediaKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(MediaKind::parse("sticker"), None);
        assert!(Media::new(MediaKind::Photo, " ").is_none());
        assert_eq!(
            Media::new(MediaKind::Voice, "AwAD").unwrap().file_id(),
            "AwAD"
        );
    }
}
