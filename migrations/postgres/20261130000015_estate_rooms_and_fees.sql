-- Owners' rooms and the fee ledger belong to an estate (issue 14): one estate's
-- 3栋2单元501 is not another's, so a fee reminder matches a ledger row to an
-- owner only within one estate. '' is the implicit estate of a config without
-- [[estate]] (see 20261130000013); the desk hands '' rows to the first estate
-- when estates are first declared. The SQLite flavour in ../sqlite rebuilds the
-- table instead (it cannot change a UNIQUE constraint).
ALTER TABLE owners ADD COLUMN estate TEXT NOT NULL DEFAULT '';
ALTER TABLE room_requests ADD COLUMN estate TEXT NOT NULL DEFAULT '';

ALTER TABLE fees ADD COLUMN estate TEXT NOT NULL DEFAULT '';
ALTER TABLE fees DROP CONSTRAINT fees_building_unit_room_period_key;
ALTER TABLE fees ADD CONSTRAINT fees_estate_key UNIQUE (estate, building, unit, room, period);
DROP INDEX fees_by_period;
CREATE INDEX fees_by_period ON fees (estate, period, imported_at);
