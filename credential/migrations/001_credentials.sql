CREATE TABLE credentials (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	subject TEXT NOT NULL,
	agency_code TEXT NOT NULL,
	profile TEXT NOT NULL,
	key_label TEXT NOT NULL,
	key_type TEXT NOT NULL,
	cert_serial TEXT NOT NULL,
	cert_der BLOB NOT NULL,
	chain_der BLOB NOT NULL,
	status TEXT NOT NULL,
	failed_pins INTEGER NOT NULL,
	pin_hash BLOB NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX credentials_subject ON credentials (kind, subject);
CREATE INDEX credentials_serial ON credentials (cert_serial);
CREATE UNIQUE INDEX credentials_one_citizen_active ON credentials (subject, profile) WHERE kind = 'citizen' AND status <> 'revoked';
