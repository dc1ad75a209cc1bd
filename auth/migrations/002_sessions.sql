-- Browser sessions of the dashboard: the cookie holds a random secret, the
-- table only its SHA-256.
CREATE TABLE sessions (
	secret_sha256 TEXT PRIMARY KEY,
	principal_id TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
