-- cellpath initial schema (SQLite). Ids, timestamps (RFC 3339 UTC) and JSON are TEXT so
-- that one SQL path serves SQLite and PostgreSQL; booleans are INTEGER.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    specialty TEXT,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL REFERENCES users(id),
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    record TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE case_members (
    case_id TEXT NOT NULL REFERENCES cases(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    access TEXT NOT NULL,
    PRIMARY KEY (case_id, user_id)
);

CREATE TABLE screenings (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    case_version INTEGER NOT NULL,
    catalogue_version TEXT NOT NULL,
    as_of TEXT NOT NULL,
    results TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    case_id TEXT,
    request_id TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- The audit log is append-only: the database itself refuses changes.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;
