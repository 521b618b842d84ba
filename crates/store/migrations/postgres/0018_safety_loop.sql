-- The safety loop: a warning the family reports at home becomes a safety alert for the
-- case's on-call team, acknowledged once, escalated until it is; the coordinator's on-call
-- rota; e-mail as a second channel, through an outbox; the centre's settings per case.

-- A safety alert raised by something the family reported (the diary). What was reported is
-- kept as the answer's codes and readings (JSON), read in each reader's language.
CREATE TABLE safety_alerts (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    reported TEXT NOT NULL,
    raised_by TEXT NOT NULL REFERENCES users(id),
    raised_at TEXT NOT NULL,
    -- How far it has escalated: 0 the first on call, 1 the next, 2 every treating member.
    level INTEGER NOT NULL,
    -- Everyone told so far (JSON array of user ids).
    notified TEXT NOT NULL,
    -- When it escalates if nobody has acknowledged it; NULL once everyone was told.
    next_escalation_at TEXT,
    -- The time the family is told to call themselves if nobody has called them back.
    call_by TEXT NOT NULL
);
CREATE INDEX safety_alerts_case ON safety_alerts (case_id, raised_at);
CREATE INDEX safety_alerts_due ON safety_alerts (next_escalation_at);

-- Who acknowledged a safety alert and what they did, once per alert (append-only).
CREATE TABLE safety_alert_acks (
    alert_id TEXT PRIMARY KEY REFERENCES safety_alerts(id),
    case_id TEXT NOT NULL REFERENCES cases(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    action TEXT NOT NULL,
    note TEXT,
    at TEXT NOT NULL
);
CREATE INDEX safety_alert_acks_case ON safety_alert_acks (case_id);
CREATE FUNCTION safety_alert_acks_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'an acknowledgement is never changed';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER safety_alert_acks_append_only BEFORE UPDATE OR DELETE ON safety_alert_acks
    FOR EACH ROW EXECUTE FUNCTION safety_alert_acks_append_only();

-- The case's on-call rota as the coordinator sets it: who answers alerts when, in order.
CREATE TABLE on_call (
    case_id TEXT NOT NULL REFERENCES cases(id),
    position INTEGER NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    PRIMARY KEY (case_id, position)
);

-- A notification about a safety alert points at it (its words are made from the alert,
-- in the reader's language, when read).
ALTER TABLE notifications ADD COLUMN alert_id TEXT;

-- E-mail waiting to be sent: written in the change that calls for it, sent after the
-- commit by the server, retried. It carries a link and a kind, never clinical text.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    case_id TEXT,
    link TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    sent_at TEXT,
    given_up_at TEXT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (sent_at, given_up_at, next_attempt_at);

-- Whether an account wants its notifications by e-mail too (it chooses; on by default so
-- that an alert reaches a person who is not looking at the site).
ALTER TABLE users ADD COLUMN email_notifications INTEGER NOT NULL DEFAULT 1;

-- Why a record version was written so, when someone said: an import that went on although
-- the bundle's patient differed from the case's keeps its reason here.
ALTER TABLE record_versions ADD COLUMN note TEXT;
