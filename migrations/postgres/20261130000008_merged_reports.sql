-- The same problem reported by several owners is one ticket with several
-- reporters (issue 13). The first owner is the ticket's reporter; the others are
-- kept here, told the ticket's number, and told when it is done.
-- The SQLite flavour in ../sqlite is the same.
CREATE TABLE ticket_reporters (
    ticket_id   BIGINT NOT NULL REFERENCES tickets (id),
    user_id     BIGINT NOT NULL,
    name        TEXT NOT NULL,
    chat_id     BIGINT NOT NULL,
    message_id  BIGINT,                 -- their report; NULL when they pressed 我也有这个问题
    joined_at   BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);
CREATE INDEX tickets_shared ON tickets (building, category, status, created_at);

-- Follow-up of finished work nobody rated: 0 none, 1 the owner asked again,
-- 2 waiting for a staff member's call (/tickets followup, /followup N).
ALTER TABLE tickets ADD COLUMN revisit BIGINT NOT NULL DEFAULT 0;
