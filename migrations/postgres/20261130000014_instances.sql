-- Several daemons on one database (PostgreSQL; on SQLite there is only ever one).

-- Each running daemon renews its row here every second. A row not renewed for a
-- few seconds is an instance that crashed or stopped: the updates it took are
-- taken over by a live one. Rows of long-gone instances are deleted by the clock.
CREATE TABLE instances (
    id          TEXT PRIMARY KEY,
    started_at  BIGINT NOT NULL,
    seen_at     BIGINT NOT NULL
);

-- Named leases, held by one instance until held_until unless renewed. 'sender':
-- the one instance whose outbox worker sends and whose clock ticks, so Telegram's
-- limits (30 a second, 20 a minute per chat) are kept by one limiter.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    held_until  BIGINT NOT NULL
);

-- The instance that stored (or took over) a pending update and is handling it.
-- NULL for updates stored before this migration: any instance may take them.
ALTER TABLE inbox ADD COLUMN owner TEXT;
