-- Who may open a case in a patient's name: a caregiver or coordinator the patient invited
-- (or who asked and the patient accepted), or a coordinator an admin approved.
CREATE TABLE care_relations (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES users(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    -- requested | active | revoked
    status TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    decided_at TEXT
);
CREATE INDEX care_relations_patient ON care_relations (patient_id);
CREATE INDEX care_relations_user ON care_relations (user_id);
