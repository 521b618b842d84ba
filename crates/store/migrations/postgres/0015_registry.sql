-- The trials registry: each ClinicalTrials.gov study as last imported, and every version of
-- it with what changed from the version before (append-only).
CREATE TABLE registry_studies (
    nct_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    status TEXT,
    last_update TEXT,
    study TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE registry_versions (
    nct_id TEXT NOT NULL REFERENCES registry_studies(nct_id),
    version BIGINT NOT NULL,
    study TEXT NOT NULL,
    changes TEXT NOT NULL,
    source TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (nct_id, version)
);
CREATE FUNCTION registry_versions_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a study version is never changed or deleted';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER registry_versions_append_only BEFORE UPDATE OR DELETE ON registry_versions
    FOR EACH ROW EXECUTE FUNCTION registry_versions_append_only();
