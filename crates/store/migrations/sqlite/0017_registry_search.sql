-- The search index of each server follows the registry's studies in the order they were
-- last stored, from where it stopped (`Store::registry_studies_since`).
CREATE INDEX registry_studies_updated ON registry_studies (updated_at, nct_id);
