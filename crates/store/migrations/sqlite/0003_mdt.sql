-- The MDT second opinion: assignments with due dates, opinions, consensus versions and
-- signatures. Consensus and signatures are append-only: an amendment is a new version.
CREATE TABLE mdt_assignments (
    case_id TEXT NOT NULL REFERENCES cases(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    due TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    PRIMARY KEY (case_id, user_id)
);

CREATE TABLE mdt_opinions (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    author_id TEXT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    submitted_at TEXT NOT NULL
);

CREATE TABLE mdt_consensus (
    case_id TEXT NOT NULL REFERENCES cases(id),
    version INTEGER NOT NULL,
    lead_id TEXT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (case_id, version)
);

CREATE TABLE mdt_signatures (
    case_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    signed_at TEXT NOT NULL,
    PRIMARY KEY (case_id, version, user_id)
);

CREATE TRIGGER mdt_consensus_no_update BEFORE UPDATE ON mdt_consensus
BEGIN SELECT RAISE(ABORT, 'a consensus is never changed: amend with a new version'); END;
CREATE TRIGGER mdt_consensus_no_delete BEFORE DELETE ON mdt_consensus
BEGIN SELECT RAISE(ABORT, 'a consensus is never deleted'); END;
CREATE TRIGGER mdt_signatures_no_update BEFORE UPDATE ON mdt_signatures
BEGIN SELECT RAISE(ABORT, 'signatures are append-only'); END;
CREATE TRIGGER mdt_signatures_no_delete BEFORE DELETE ON mdt_signatures
BEGIN SELECT RAISE(ABORT, 'signatures are append-only'); END;
