-- Issue 13, the rest of the service standard.
-- The PostgreSQL flavour in ../postgres is the same.
-- An owner at the end of their patience (情绪): 1 once the desk or staff saw it,
-- so a supervisor is told once and statistics can count it.
ALTER TABLE tickets ADD COLUMN upset BIGINT NOT NULL DEFAULT 0;
-- A merged reporter's own words, so /split can open their own ticket from them.
ALTER TABLE ticket_reporters ADD COLUMN text TEXT;
-- Finished, unrated work the clock follows up (tickets.revisit, added in 0008).
CREATE INDEX tickets_revisit ON tickets (status, revisit);
