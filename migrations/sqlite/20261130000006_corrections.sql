-- Staff correct the desk: a ticket reclassified, or a 待分类 message sorted.
-- The PostgreSQL flavour in ../postgres differs only in how ids are generated.
-- Each row is a labelled example (the message text and the answer staff gave),
-- exported by `guanjia intents export` for the classifier to learn from.
CREATE TABLE corrections (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    text        TEXT NOT NULL,
    intent      TEXT NOT NULL,          -- 'emergency' | 'complaint' | 'repair' | 'inquiry' | 'suggestion' | 'other'
    category    TEXT,
    was_intent  TEXT,                   -- what the desk had said, if anything
    was_category TEXT,
    source      TEXT NOT NULL,          -- 'ticket:<id>' | 'unsorted:<id>'
    decided_by  BIGINT NOT NULL,
    decided_at  BIGINT NOT NULL,
    UNIQUE (source, intent)
);
