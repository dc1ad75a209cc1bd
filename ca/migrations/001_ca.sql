CREATE TABLE ca_authorities (
	name TEXT PRIMARY KEY,
	role TEXT NOT NULL,
	key_label TEXT NOT NULL,
	issuer TEXT NOT NULL,
	cert_der BLOB NOT NULL,
	fingerprint TEXT NOT NULL,
	not_before BIGINT NOT NULL,
	not_after BIGINT NOT NULL,
	activate_at BIGINT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE TABLE ca_certificates (
	serial TEXT PRIMARY KEY,
	issuer TEXT NOT NULL,
	profile TEXT NOT NULL,
	subject TEXT NOT NULL,
	subject_id TEXT NOT NULL,
	credential_id TEXT NOT NULL,
	shard INTEGER NOT NULL,
	not_before BIGINT NOT NULL,
	not_after BIGINT NOT NULL,
	status TEXT NOT NULL,
	reason INTEGER NOT NULL,
	revoked_at BIGINT NOT NULL,
	der BLOB NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX ca_certificates_revoked ON ca_certificates (issuer, shard, status);
CREATE INDEX ca_certificates_subject_id ON ca_certificates (subject_id, created_at);
CREATE INDEX ca_certificates_listing ON ca_certificates (created_at, serial);
CREATE INDEX ca_certificates_status ON ca_certificates (status, created_at);
CREATE TABLE ca_crls (
	issuer TEXT NOT NULL,
	shard INTEGER NOT NULL,
	number BIGINT NOT NULL,
	this_update BIGINT NOT NULL,
	next_update BIGINT NOT NULL,
	der BLOB NOT NULL,
	PRIMARY KEY (issuer, shard)
);
CREATE TABLE ca_ocsp (
	serial TEXT PRIMARY KEY,
	issuer TEXT NOT NULL,
	this_update BIGINT NOT NULL,
	next_update BIGINT NOT NULL,
	der BLOB NOT NULL
);
CREATE INDEX ca_ocsp_next_update ON ca_ocsp (next_update);
CREATE TABLE ca_used_tokens (
	id TEXT PRIMARY KEY,
	used_at BIGINT NOT NULL
);
