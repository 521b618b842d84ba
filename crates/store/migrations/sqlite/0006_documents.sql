-- Documents uploaded to a case. The bytes live encrypted (AES-256-GCM) in the documents
-- folder; the database keeps what was sniffed and a hash of the plaintext.
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    uploader_id TEXT NOT NULL REFERENCES users(id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX documents_case ON documents (case_id, created_at);
