-- The manager's figures read one row per ticket: when it was first claimed,
-- last finished, and how often reopened are kept on the ticket, written with
-- the event in the same transaction (the audit log stays the full history).
-- The SQLite flavour in ../sqlite is the same.
ALTER TABLE tickets ADD COLUMN claimed_at BIGINT;
ALTER TABLE tickets ADD COLUMN finished_at BIGINT;
ALTER TABLE tickets ADD COLUMN reopens BIGINT NOT NULL DEFAULT 0;
UPDATE tickets SET
    claimed_at = (SELECT MIN(e.at) FROM ticket_events e WHERE e.ticket_id = tickets.id AND e.kind = 'claimed'),
    finished_at = (SELECT MAX(e.at) FROM ticket_events e WHERE e.ticket_id = tickets.id AND e.kind = 'done'),
    reopens = (SELECT COUNT(*) FROM ticket_events e WHERE e.ticket_id = tickets.id AND e.kind = 'reopened');
CREATE INDEX tickets_created ON tickets (created_at);
