-- Telegram's retry_after, kept: a chat told to wait (HTTP 429) gets nothing until
-- hold_until, whatever was already queued or leased for it, and a restart inside
-- the window waits too. One row per chat; an expired row means nothing and the
-- clock tick deletes it.
CREATE TABLE chat_holds (
    chat_id     BIGINT PRIMARY KEY,
    hold_until  BIGINT NOT NULL
);

-- The message ids of delivered tagged sends whose outbox rows the retention prune
-- removed. An edit, pin, unpin or delete weeks later (a ticket's acknowledgement
-- and staff post, an outage notice's unpin, /recall) still finds its message here.
CREATE TABLE sent_messages (
    tag           TEXT PRIMARY KEY,
    chat_id       BIGINT NOT NULL,
    message_id    BIGINT NOT NULL,
    broadcast_id  BIGINT,
    sent_at       BIGINT NOT NULL
);
CREATE INDEX sent_messages_broadcast ON sent_messages (broadcast_id);

-- Delivery counts of a broadcast's pruned copies, so /broadcasts still tells how
-- it went after its outbox rows are gone.
CREATE TABLE broadcast_tallies (
    broadcast_id  BIGINT PRIMARY KEY,
    sent          BIGINT NOT NULL DEFAULT 0,
    failed        BIGINT NOT NULL DEFAULT 0,
    cancelled     BIGINT NOT NULL DEFAULT 0
);
