-- The handbook's satisfaction survey (issue 13): an anonymous 1-5 poll sent to
-- building groups; Telegram reports only the counts, which are kept per group.
-- The SQLite flavour in ../sqlite differs only in how ids are generated.
CREATE TABLE surveys (
    id          BIGSERIAL PRIMARY KEY,
    question    TEXT NOT NULL,
    created_by  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    -- the command that asked for it: a re-delivered update cannot send it twice
    dedupe_key  TEXT NOT NULL UNIQUE
);
CREATE TABLE survey_polls (
    survey_id   BIGINT NOT NULL REFERENCES surveys (id),
    chat_id     BIGINT NOT NULL,
    building    TEXT NOT NULL,
    tag         TEXT NOT NULL UNIQUE,   -- the outbox row that sends it
    poll_id     TEXT UNIQUE,            -- the platform's id, once sent
    votes       TEXT NOT NULL DEFAULT '[0,0,0,0,0]',
    updated_at  BIGINT,
    PRIMARY KEY (survey_id, chat_id)
);
-- A poll to send (JSON: question and options) instead of a text.
ALTER TABLE outbox ADD COLUMN poll TEXT;
