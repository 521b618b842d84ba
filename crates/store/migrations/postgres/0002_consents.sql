-- A patient's acceptance of a consent text version, and its withdrawal.
CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    withdrawn_at TEXT
);
CREATE INDEX consents_user_kind ON consents (user_id, kind);
