-- The treatment journey, its calendar subscriptions, post-infusion monitoring, the
-- caregiver's diary and supportive-care requests.
CREATE TABLE journeys (
    case_id TEXT PRIMARY KEY REFERENCES cases(id),
    input TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE calendar_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    case_id TEXT NOT NULL REFERENCES cases(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE monitoring (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    author_id TEXT NOT NULL REFERENCES users(id),
    entry TEXT NOT NULL,
    crs_grade INTEGER NOT NULL,
    icans_grade INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX monitoring_case ON monitoring (case_id, at);

CREATE TABLE diary (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    author_id TEXT NOT NULL REFERENCES users(id),
    entry TEXT NOT NULL,
    call_now INTEGER NOT NULL,
    at TEXT NOT NULL
);

CREATE TABLE supportive_requests (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    requester_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    details TEXT NOT NULL,
    requested_for TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    held_until TEXT,
    decided_by TEXT,
    decided_at TEXT,
    note TEXT,
    created_at TEXT NOT NULL
);
