-- The service standard's clocks (issue 13): how far each ticket has been escalated.
-- The SQLite flavour in ../sqlite is the same.
-- A tier fires once: the clock raises the number with a guarded UPDATE, so a
-- restart or a second instance never fires it again.
ALTER TABLE tickets ADD COLUMN escalation BIGINT NOT NULL DEFAULT 0;   -- unclaimed: 0..3
ALTER TABLE tickets ADD COLUMN overdue BIGINT NOT NULL DEFAULT 0;      -- claimed past its deadline: 0..2
CREATE INDEX tickets_clocks ON tickets (status, respond_by);
