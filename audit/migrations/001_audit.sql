CREATE TABLE audit_head (
	id INTEGER PRIMARY KEY,
	seq BIGINT NOT NULL,
	hash BLOB NOT NULL
);
CREATE TABLE audit_log (
	seq BIGINT PRIMARY KEY,
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	role TEXT NOT NULL,
	action TEXT NOT NULL,
	object TEXT NOT NULL,
	details TEXT NOT NULL,
	prev_hash BLOB NOT NULL,
	hash BLOB NOT NULL
);
CREATE INDEX audit_log_object ON audit_log (object);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE TABLE audit_checkpoints (
	seq BIGINT PRIMARY KEY,
	hash BLOB NOT NULL,
	at BIGINT NOT NULL,
	algorithm TEXT NOT NULL,
	public_key BLOB NOT NULL,
	signature BLOB NOT NULL
);
