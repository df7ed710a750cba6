-- Guanjia schema, PostgreSQL flavour. The SQLite flavour in ../sqlite must stay
-- column-for-column identical: the storage module runs the same SQL on both.
-- Times are unix milliseconds (BIGINT) so the SQL stays portable and the Any driver
-- needs no date types.

-- Building group chats. Rows come from config ([[building]]) or from /bind.
CREATE TABLE buildings (
    chat_id     BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,
    source      TEXT NOT NULL,          -- 'config' | 'command'
    bound_by    BIGINT,
    bound_at    BIGINT NOT NULL
);
CREATE INDEX buildings_name ON buildings (name);

-- Staff added at run time (/staff_add). Config staff and admins are not copied here:
-- the config stays the source of truth for them.
CREATE TABLE staff (
    user_id     BIGINT PRIMARY KEY,
    name        TEXT,
    added_by    BIGINT NOT NULL,
    added_at    BIGINT NOT NULL
);

-- Every update the chat platform delivered, stored before it is acknowledged: a
-- crash between receipt and handling replays it on the next start instead of losing it.
CREATE TABLE inbox (
    update_id    BIGINT PRIMARY KEY,
    payload      TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    done_at      BIGINT
);
CREATE INDEX inbox_pending ON inbox (done_at, update_id);

-- People the bot has seen give staff commands, so /transfer can take @username.
CREATE TABLE people (
    user_id     BIGINT PRIMARY KEY,
    username    TEXT,
    name        TEXT NOT NULL,
    seen_at     BIGINT NOT NULL
);
CREATE INDEX people_username ON people (username);

-- An owner's registered room. Only status 'confirmed' (a staff member approved it)
-- is trusted for ticket locations and private fee reminders.
CREATE TABLE owners (
    user_id       BIGINT PRIMARY KEY,
    name          TEXT NOT NULL,
    building      TEXT,
    unit          TEXT,
    room          TEXT,
    status        TEXT NOT NULL,        -- 'pending' | 'confirmed' | 'rejected'
    requested_at  BIGINT NOT NULL,
    decided_by    BIGINT,
    decided_at    BIGINT,
    -- the ticket an owner is adding private details to after /start t<N>
    context_ticket BIGINT,
    context_until  BIGINT
);

CREATE TABLE tickets (
    id                 BIGSERIAL PRIMARY KEY,
    source_chat_id     BIGINT NOT NULL,
    source_message_id  BIGINT NOT NULL,
    reporter_id        BIGINT NOT NULL,
    reporter_name      TEXT NOT NULL,
    text               TEXT NOT NULL,
    intent             TEXT NOT NULL,     -- 'emergency' | 'complaint' | 'repair'
    category           TEXT,
    building           TEXT,
    unit               TEXT,
    room               TEXT,
    location_source    TEXT,              -- 'message' | 'owner' | 'group' | 'follow_up'
    priority           TEXT NOT NULL,     -- 'urgent' | 'normal'
    status             TEXT NOT NULL,     -- see domain::ticket::Status
    assignee_id        BIGINT,
    assignee_name      TEXT,
    rating             BIGINT,
    follow_up          BIGINT NOT NULL DEFAULT 0,  -- 1: a supervisor must call the owner back
    respond_by         BIGINT NOT NULL,   -- service clock: claim before this
    resolve_by         BIGINT NOT NULL,   -- service clock: finish before this
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    -- optimistic concurrency: every update checks and bumps it, so two staff
    -- claiming at once cannot both win, whichever instance serves them
    version            BIGINT NOT NULL DEFAULT 0,
    UNIQUE (source_chat_id, source_message_id)
);
CREATE INDEX tickets_status ON tickets (status);
CREATE INDEX tickets_reporter ON tickets (reporter_id, created_at);
CREATE INDEX tickets_assignee ON tickets (assignee_id, status);

-- The audit log: every state change of a ticket, who, what, when.
CREATE TABLE ticket_events (
    id          BIGSERIAL PRIMARY KEY,
    ticket_id   BIGINT NOT NULL REFERENCES tickets (id),
    at          BIGINT NOT NULL,
    actor_id    BIGINT,
    actor_name  TEXT,
    kind        TEXT NOT NULL,
    detail      TEXT
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);

-- Broadcasts: notices, outage announcements, fee reminders. One row per broadcast;
-- its deliveries are outbox rows with broadcast_id set.
CREATE TABLE broadcasts (
    id                 BIGSERIAL PRIMARY KEY,
    kind               TEXT NOT NULL,     -- 'notice' | 'outage' | 'outage_reminder' | 'outage_end' | 'outage_cancel' | 'fee'
    sender_id          BIGINT,
    text               TEXT NOT NULL,
    targets            TEXT NOT NULL,     -- 'all' or comma-separated building names, as asked
    -- the command that asked for it, so a re-delivered update cannot broadcast twice
    dedupe_key         TEXT NOT NULL UNIQUE,
    outage_id          BIGINT,
    -- where the sender is told how many groups it reached
    report_chat        BIGINT,
    pin                BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    recalled_at        BIGINT,
    recalled_by        BIGINT
);

CREATE TABLE outages (
    id            BIGSERIAL PRIMARY KEY,
    utility       TEXT NOT NULL,         -- 'water' | 'power' | 'gas'
    buildings     TEXT NOT NULL,         -- '*' for all, else ',3栋,5栋,' (commas around every name)
    starts_at     BIGINT NOT NULL,
    ends_at       BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    status        TEXT NOT NULL,         -- 'planned' | 'cancelled'
    created_by    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    reminded_at   BIGINT,                -- the "starts soon" notice was queued
    ended_at      BIGINT                 -- the "restored" notice was queued
);
CREATE INDEX outages_window ON outages (status, ends_at);

-- The fee ledger, replaced per period by `guanjia fees import`.
CREATE TABLE fees (
    id          BIGSERIAL PRIMARY KEY,
    building    TEXT NOT NULL,
    unit        TEXT,
    room        TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    period      TEXT NOT NULL,
    due_date    TEXT NOT NULL,           -- YYYY-MM-DD
    imported_at BIGINT NOT NULL,
    UNIQUE (building, unit, room, period)
);

-- Scheduled jobs that already fired, one row per (job, slot). A reminder missed while
-- the daemon was down fires once for its latest slot, never once per missed slot.
CREATE TABLE job_runs (
    job         TEXT NOT NULL,
    slot        BIGINT NOT NULL,
    fired_at    BIGINT NOT NULL,
    PRIMARY KEY (job, slot)
);

-- The durable outbox: every message the bot sends, edits, pins or deletes is a row
-- here first. A worker sends rows under Telegram's limits and marks them; after a
-- crash it resumes from this table.
CREATE TABLE outbox (
    id                 BIGSERIAL PRIMARY KEY,
    chat_id            BIGINT NOT NULL,
    op                 TEXT NOT NULL,     -- 'send' | 'edit' | 'delete' | 'pin' | 'unpin'
    text               TEXT,
    reply_to           BIGINT,            -- message to reply to (send)
    buttons            TEXT,              -- JSON inline keyboard (send, edit)
    -- for edit/delete/pin/unpin: the tag of the row whose sent message is the target
    ref_tag            TEXT,
    -- or the message itself, when the desk knows it (a pressed button's message)
    target_message_id  BIGINT,
    -- a unique name for this row, so the same logical message is never queued twice
    tag                TEXT UNIQUE,
    priority           BIGINT NOT NULL,   -- 0 emergency, 1 interactive, 2 broadcast
    broadcast_id       BIGINT,
    state              TEXT NOT NULL,     -- 'pending' | 'sending' | 'sent' | 'failed' | 'cancelled'
    attempts           BIGINT NOT NULL DEFAULT 0,
    due_at             BIGINT NOT NULL,
    lease_until        BIGINT,
    sent_message_id    BIGINT,
    last_error         TEXT,
    created_at         BIGINT NOT NULL,
    done_at            BIGINT
);
CREATE INDEX outbox_queue ON outbox (state, priority, due_at);
CREATE INDEX outbox_broadcast ON outbox (broadcast_id, state);
CREATE INDEX outbox_sent ON outbox (done_at);
CREATE INDEX outbox_ref ON outbox (ref_tag);
