-- How many alerts a monitoring entry raised. NULL for entries written before it was kept:
-- those count as needing a look, so no alert is silent for want of a number.
ALTER TABLE monitoring ADD COLUMN alerts INTEGER;

-- Who acknowledged a monitoring entry's alerts, once per entry (append-only: an
-- acknowledgement is not taken back).
CREATE TABLE monitoring_acks (
    monitoring_id TEXT PRIMARY KEY REFERENCES monitoring(id),
    case_id TEXT NOT NULL REFERENCES cases(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    at TEXT NOT NULL
);
CREATE INDEX monitoring_acks_case ON monitoring_acks (case_id);

-- The work queue lists a person's cases by membership.
CREATE INDEX case_members_user ON case_members (user_id, case_id);
-- The queue orders by state and last change: read from this index, never from the rows
-- (whose record, stored before these columns, can be long).
CREATE INDEX cases_queue ON cases (id, state, updated_at);
CREATE INDEX notifications_user_case ON notifications (user_id, case_id, kind);
CREATE INDEX mdt_opinions_case ON mdt_opinions (case_id, author_id);

CREATE TRIGGER monitoring_acks_no_update BEFORE UPDATE ON monitoring_acks
BEGIN
    SELECT RAISE(ABORT, 'an acknowledgement is never changed');
END;
CREATE TRIGGER monitoring_acks_no_delete BEFORE DELETE ON monitoring_acks
BEGIN
    SELECT RAISE(ABORT, 'an acknowledgement is never changed');
END;

-- A specialist's opinion while it is written: one draft per specialist and case, replaced
-- on each save and kept after submission for nobody (the submitted opinion is the record).
CREATE TABLE mdt_drafts (
    case_id TEXT NOT NULL REFERENCES cases(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    PRIMARY KEY (case_id, user_id)
);

-- The specialist's reason for a supportive-care decision in Chinese beside the English one.
ALTER TABLE supportive_requests ADD COLUMN note_zh TEXT;

-- The record version each specialist was assigned on (unknown for older assignments).
ALTER TABLE mdt_assignments ADD COLUMN record_version INTEGER;
