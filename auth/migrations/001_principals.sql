CREATE TABLE principals (
	id TEXT PRIMARY KEY,
	role TEXT NOT NULL,
	name TEXT NOT NULL,
	agency_code TEXT NOT NULL DEFAULT '',
	token_hash BLOB NOT NULL,
	cert_sha256 TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	disabled_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX principals_cert ON principals (cert_sha256);
CREATE TABLE used_assertions (
	jti TEXT NOT NULL,
	purpose TEXT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT NOT NULL,
	PRIMARY KEY (jti, purpose)
);
CREATE INDEX used_assertions_exp ON used_assertions (expires_at);
