-- The manager's report over a long history reads one tally per local day
-- instead of every ticket (a year of a busy group is a million tickets).
-- report_days keeps each day's counts (domain::stats::Tally as JSON) as they
-- were when counted; report_dirty holds the quarter hours (of tickets'
-- created_at: unix milliseconds / 900,000; every timezone's offset is a whole
-- number of quarters, so each lies in one local day) whose tickets were opened or changed since, so
-- their days are counted again. The marks are made by triggers, in the same
-- transaction as the change, so no code path can forget one.
CREATE TABLE report_days (
    tz            TEXT NOT NULL,     -- the desk's timezone the days are cut in
    day           TEXT NOT NULL,     -- 2026-11-30
    tally         TEXT NOT NULL,
    computed_at   BIGINT NOT NULL,   -- the report's "now" it was counted for
    stable_until  BIGINT,            -- from then a deadline has passed: count again
    PRIMARY KEY (tz, day)
);
CREATE TABLE report_dirty (
    quarter       BIGINT PRIMARY KEY
);
CREATE TRIGGER tickets_report_opened AFTER INSERT ON tickets
BEGIN
    INSERT OR IGNORE INTO report_dirty (quarter) VALUES (NEW.created_at / 900000);
END;
-- Only the columns the report reads: a status change or a version bump alone
-- does not cost a write.
CREATE TRIGGER tickets_report_changed
AFTER UPDATE OF intent, category, building, respond_by, resolve_by, rating, assignee_name,
                claimed_at, finished_at, reopens, escalation, overdue, upset ON tickets
BEGIN
    INSERT OR IGNORE INTO report_dirty (quarter) VALUES (NEW.created_at / 900000);
END;
