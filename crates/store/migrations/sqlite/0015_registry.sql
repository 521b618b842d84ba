-- The trials registry: each ClinicalTrials.gov study as last imported, and every version of
-- it with what changed from the version before (append-only).
CREATE TABLE registry_studies (
    nct_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    status TEXT,
    last_update TEXT,
    study TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE registry_versions (
    nct_id TEXT NOT NULL REFERENCES registry_studies(nct_id),
    version INTEGER NOT NULL,
    study TEXT NOT NULL,
    changes TEXT NOT NULL,
    source TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (nct_id, version)
);
CREATE TRIGGER registry_versions_no_update BEFORE UPDATE ON registry_versions
BEGIN SELECT RAISE(ABORT, 'a study version is never changed'); END;
CREATE TRIGGER registry_versions_no_delete BEFORE DELETE ON registry_versions
BEGIN SELECT RAISE(ABORT, 'a study version is never deleted'); END;
