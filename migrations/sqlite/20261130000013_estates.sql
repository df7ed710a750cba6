-- Several estates (小区) in one desk: '1栋' of one estate is not '1栋' of another.
-- A building group, a ticket, a broadcast and an outage each belong to one
-- estate, named by its [[estate]] name. '' is the implicit estate of a config
-- without [[estate]], so every database made before keeps working unchanged;
-- when estates are first declared, the desk hands '' rows to the first one.
-- The PostgreSQL flavour in ../postgres is the same.
ALTER TABLE buildings ADD COLUMN estate TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN estate TEXT NOT NULL DEFAULT '';
ALTER TABLE broadcasts ADD COLUMN estate TEXT NOT NULL DEFAULT '';
ALTER TABLE outages ADD COLUMN estate TEXT NOT NULL DEFAULT '';
CREATE INDEX tickets_estate_created ON tickets (estate, created_at);
