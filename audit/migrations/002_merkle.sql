-- The hash chain of version 1 becomes a read-only prefix: its rows are kept
-- (renamed) so that its own verification stays available, and copied, in
-- order, as the first leaves of the Merkle log.
ALTER TABLE audit_log RENAME TO audit_chain;
ALTER TABLE audit_head RENAME TO audit_chain_head;
ALTER TABLE audit_checkpoints RENAME TO audit_chain_checkpoints;
-- Entries written by state changes, in the changes' own transactions.
CREATE TABLE audit_pending (
	pid AUTOID,
	id TEXT NOT NULL UNIQUE,
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	role TEXT NOT NULL,
	action TEXT NOT NULL,
	object TEXT NOT NULL,
	data BLOB NOT NULL
);
-- Sequenced entries: idx is the leaf index, data the exact leaf bytes.
CREATE TABLE audit_log (
	idx BIGINT PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	role TEXT NOT NULL,
	action TEXT NOT NULL,
	object TEXT NOT NULL,
	data BLOB NOT NULL
);
CREATE INDEX audit_log_by_object ON audit_log (object, idx);
CREATE INDEX audit_log_by_actor ON audit_log (actor, idx);
-- The tree's stored hashes (golang.org/x/mod/sumdb/tlog numbering).
CREATE TABLE audit_hashes (
	n BIGINT PRIMARY KEY,
	hash BLOB NOT NULL
);
-- Signed checkpoints (C2SP tlog-checkpoint notes), one per integrated batch.
CREATE TABLE audit_checkpoints (
	size BIGINT PRIMARY KEY,
	root BLOB NOT NULL,
	at BIGINT NOT NULL,
	note TEXT NOT NULL
);
CREATE TABLE audit_tree (
	id INTEGER PRIMARY KEY,
	size BIGINT NOT NULL,
	root BLOB NOT NULL
);
CREATE TABLE audit_lease (
	id INTEGER PRIMARY KEY,
	holder TEXT NOT NULL,
	expires BIGINT NOT NULL
);
INSERT INTO audit_tree (id, size, root) VALUES (1, 0, '');
INSERT INTO audit_lease (id, holder, expires) VALUES (1, '', 0);
