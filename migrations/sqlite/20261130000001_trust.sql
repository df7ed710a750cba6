-- Trust (issue 9). Released migrations never change: later schema changes are new
-- files like this one (tests/migrations.rs fails when a released file is edited).
-- The PostgreSQL flavour in ../postgres differs only in how ids are generated.

-- A handler that fails leaves its update in the inbox, tried again with backoff;
-- `attempts` survives a restart so a poison update cannot loop forever.
ALTER TABLE inbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN last_error TEXT;

-- Updates that failed every attempt. Never dropped: staff are told once, list them
-- with `guanjia inbox` and replay them with `guanjia inbox retry`.
CREATE TABLE dead_letters (
    update_id   BIGINT PRIMARY KEY,
    payload     TEXT NOT NULL,
    chat_id     BIGINT,
    attempts    BIGINT NOT NULL,
    error       TEXT NOT NULL,
    failed_at   BIGINT NOT NULL
);

-- One row per room registration (/room). A staff button names the request it was
-- shown with, so pressing ✅ under an old request never confirms a newer one.
CREATE TABLE room_requests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       BIGINT NOT NULL,
    name          TEXT NOT NULL,
    building      TEXT,
    unit          TEXT,
    room          TEXT,
    status        TEXT NOT NULL,        -- 'pending' | 'confirmed' | 'rejected' | 'superseded'
    requested_at  BIGINT NOT NULL,
    decided_by    BIGINT,
    decided_at    BIGINT
);
CREATE INDEX room_requests_user ON room_requests (user_id, status);

-- Each time a ticket is finished a new round of work begins for the owner to rate:
-- rating buttons carry the round they were sent for.
ALTER TABLE tickets ADD COLUMN round BIGINT NOT NULL DEFAULT 0;

-- An event caused by one owner message carries that message's key, so handling
-- the message twice (a replay after a crash) records it once.
ALTER TABLE ticket_events ADD COLUMN source_key TEXT;
CREATE UNIQUE INDEX ticket_events_source ON ticket_events (source_key);

-- Flood limits count a group's recent tickets.
CREATE INDEX tickets_source_time ON tickets (source_chat_id, created_at);

-- People who have a private chat with the bot (they wrote to it there): only they
-- can be sent private details such as a finished job's summary.
CREATE TABLE private_chats (
    user_id     BIGINT PRIMARY KEY,
    since       BIGINT NOT NULL
);
