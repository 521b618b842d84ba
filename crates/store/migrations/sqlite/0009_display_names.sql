-- The name a person is shown by to others (the patient's access list names people, not ids).
ALTER TABLE users ADD COLUMN display_name TEXT;
