-- Record history: every write of a case's record keeps the record it wrote, numbered by the
-- case version it produced, with who, when and through which use case. Append-only.
ALTER TABLE cases ADD COLUMN record_version INTEGER NOT NULL DEFAULT 1;
UPDATE cases SET record_version = version;

CREATE TABLE record_versions (
    case_id TEXT NOT NULL REFERENCES cases(id),
    version INTEGER NOT NULL,
    record TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    use_case TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (case_id, version)
);
-- Cases written before history existed: their current record is the one version known.
INSERT INTO record_versions (case_id, version, record, actor_id, use_case, at)
    SELECT id, version, record, created_by, 'history.start', updated_at FROM cases;

CREATE TRIGGER record_versions_no_update BEFORE UPDATE ON record_versions
BEGIN SELECT RAISE(ABORT, 'a record version is never changed'); END;
CREATE TRIGGER record_versions_no_delete BEFORE DELETE ON record_versions
BEGIN SELECT RAISE(ABORT, 'a record version is never deleted'); END;

-- The record version each opinion and consensus was made on (unknown for older rows).
ALTER TABLE mdt_opinions ADD COLUMN record_version INTEGER;
ALTER TABLE mdt_consensus ADD COLUMN record_version INTEGER;

-- The account's language for pages, errors and notifications.
ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';

-- Encrypted document bytes kept in the database (PostgreSQL's default, so that every
-- replica reads them), in chunks.
CREATE TABLE document_chunks (
    document_id TEXT NOT NULL REFERENCES documents(id),
    seq INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (document_id, seq)
);
