-- The fee ledger, issue 9: rows can be marked paid, and reminders go only for the
-- current period's unpaid rows.
--
-- `paid_at` is when a row was marked paid (by a `paid` column in the ledger or by
-- `guanjia fees paid`); NULL is unpaid. Importing a period replaces that period's
-- rows, so the period is looked up on every import and every reminder run.
-- Buildings, units and rooms are stored in the canonical spelling from this
-- release on (`B`, not `B座`; `A01`, not `a01`); rows imported earlier match again
-- once their period is imported anew.
ALTER TABLE fees ADD COLUMN paid_at BIGINT;
CREATE INDEX fees_by_period ON fees (period, imported_at);
