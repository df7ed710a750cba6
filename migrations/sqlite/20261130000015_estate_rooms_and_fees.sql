-- Owners' rooms and the fee ledger belong to an estate (issue 14): one estate's
-- 3栋2单元501 is not another's, so a fee reminder matches a ledger row to an
-- owner only within one estate. '' is the implicit estate of a config without
-- [[estate]] (see 20261130000013); the desk hands '' rows to the first estate
-- when estates are first declared. SQLite cannot change a UNIQUE constraint,
-- so the ledger is rebuilt with the estate in its key. The PostgreSQL flavour
-- in ../postgres does the same with ALTER TABLE.
ALTER TABLE owners ADD COLUMN estate TEXT NOT NULL DEFAULT '';
ALTER TABLE room_requests ADD COLUMN estate TEXT NOT NULL DEFAULT '';

CREATE TABLE fees_by_estate (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    estate      TEXT NOT NULL DEFAULT '',
    building    TEXT NOT NULL,
    unit        TEXT,
    room        TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    period      TEXT NOT NULL,
    due_date    TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    paid_at     BIGINT,
    UNIQUE (estate, building, unit, room, period)
);
INSERT INTO fees_by_estate (id, estate, building, unit, room, amount_cents, period, due_date, imported_at, paid_at)
    SELECT id, '', building, unit, room, amount_cents, period, due_date, imported_at, paid_at FROM fees;
DROP TABLE fees;
ALTER TABLE fees_by_estate RENAME TO fees;
CREATE INDEX fees_by_period ON fees (estate, period, imported_at);
