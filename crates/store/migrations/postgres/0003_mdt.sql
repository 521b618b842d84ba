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
    version BIGINT NOT NULL,
    lead_id TEXT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (case_id, version)
);

CREATE TABLE mdt_signatures (
    case_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    signed_at TEXT NOT NULL,
    PRIMARY KEY (case_id, version, user_id)
);

CREATE FUNCTION mdt_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a signed MDT record is never changed: amend with a new version';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER mdt_consensus_append_only BEFORE UPDATE OR DELETE ON mdt_consensus
    FOR EACH ROW EXECUTE FUNCTION mdt_append_only();
CREATE TRIGGER mdt_signatures_append_only BEFORE UPDATE OR DELETE ON mdt_signatures
    FOR EACH ROW EXECUTE FUNCTION mdt_append_only();
