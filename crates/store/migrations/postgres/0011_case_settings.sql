-- What the patient allows on their case: whether caregivers with `act` access may remove
-- members for them.
CREATE TABLE case_settings (
    case_id TEXT PRIMARY KEY REFERENCES cases(id),
    caregivers_manage_members INTEGER NOT NULL DEFAULT 0
);
