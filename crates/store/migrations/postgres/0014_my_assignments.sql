-- A specialist's own assignments, across cases (the "My assignments" list).
CREATE INDEX mdt_assignments_user ON mdt_assignments (user_id, due);
