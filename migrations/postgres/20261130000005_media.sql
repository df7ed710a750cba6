-- What owners send besides text: photos of the leak, voice messages.
-- The SQLite flavour in ../sqlite differs only in how ids are generated.

-- A photo or voice message kept with a ticket: the platform's file id is enough
-- to show it again anywhere the bot writes (the file stays on the platform).
-- 'report' is the owner's (with the report or just after it), 'finished' is the
-- photo staff send of the finished job. One row per message, however often the
-- message is delivered.
CREATE TABLE ticket_media (
    id              BIGSERIAL PRIMARY KEY,
    ticket_id       BIGINT NOT NULL REFERENCES tickets (id),
    kind            TEXT NOT NULL,      -- 'photo' | 'voice' | 'video' | 'document'
    file_id         TEXT NOT NULL,
    role            TEXT NOT NULL,      -- 'report' | 'finished'
    source_chat_id  BIGINT NOT NULL,
    source_message_id BIGINT NOT NULL,
    album           TEXT,               -- the platform's album id (several photos sent at once)
    added_by        BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (source_chat_id, source_message_id)
);
CREATE INDEX ticket_media_ticket ON ticket_media (ticket_id);

-- A message the desk could not sort by itself (a voice message): staff listen and
-- decide with a button (a repair, a complaint, an emergency, answered, ignore).
-- Decided once; a second press changes nothing.
CREATE TABLE unsorted (
    id              BIGSERIAL PRIMARY KEY,
    source_chat_id  BIGINT NOT NULL,
    source_message_id BIGINT NOT NULL,
    sender_id       BIGINT NOT NULL,
    sender_name     TEXT NOT NULL,
    text            TEXT NOT NULL,
    kind            TEXT NOT NULL,      -- 'voice' | 'text'
    file_id         TEXT,
    state           TEXT NOT NULL,      -- 'open' | 'ticket' | 'answered' | 'ignored'
    ticket_id       BIGINT,
    decided_by      BIGINT,
    created_at      BIGINT NOT NULL,
    decided_at      BIGINT,
    UNIQUE (source_chat_id, source_message_id)
);
CREATE INDEX unsorted_sender ON unsorted (sender_id, state, created_at);

-- A send may carry a photo or voice message by file id; the text is its caption.
ALTER TABLE outbox ADD COLUMN media_kind TEXT;
ALTER TABLE outbox ADD COLUMN media_file_id TEXT;
