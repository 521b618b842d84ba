-- Registry syncs: where each sync stands (its next page), so that a broken one resumes; a
-- finished sync's start is where the next one reads changes from.
CREATE TABLE registry_syncs (
    id TEXT PRIMARY KEY,
    query TEXT NOT NULL,
    since TEXT,
    page_token TEXT,
    pages BIGINT NOT NULL,
    studies BIGINT NOT NULL,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX registry_syncs_query ON registry_syncs (query, started_at);

-- A catalogue programme whose registry study changed in what its criteria rest on (status,
-- eligibility text, sites): flagged for review with the difference.
CREATE TABLE programme_flags (
    id TEXT PRIMARY KEY,
    programme_id TEXT NOT NULL,
    nct_id TEXT NOT NULL,
    study_version BIGINT NOT NULL,
    changes TEXT NOT NULL,
    closes INTEGER NOT NULL,
    raised_at TEXT NOT NULL,
    reviewed_at TEXT,
    reviewed_by TEXT,
    review_note TEXT
);
CREATE INDEX programme_flags_programme ON programme_flags (programme_id, raised_at);
