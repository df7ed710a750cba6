-- What the desk learns at run time and must remember across restarts, such as the
-- staff group an admin chose with /set_staff_group. Key/value, so the next such
-- setting needs no schema change. A value here overrides the config's default.
CREATE TABLE desk_state (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    set_by      BIGINT,
    set_at      BIGINT NOT NULL
);
