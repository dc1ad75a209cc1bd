-- The pending table is written in the transaction of every state change,
-- so it keeps nothing but its rows and their key: no unique index on the
-- entry id (ids are random, and audit_log's unique index still holds
-- them once sequenced) and, on SQLite, the rowid as key rather than an
-- AUTOINCREMENT counter that every insert would update. Pending entries
-- are copied over in order.
CREATE TABLE audit_pending_queue (
	pid QUEUEID,
	id TEXT NOT NULL,
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	role TEXT NOT NULL,
	action TEXT NOT NULL,
	object TEXT NOT NULL,
	data BLOB NOT NULL
);
INSERT INTO audit_pending_queue (id, at, actor, role, action, object, data)
	SELECT id, at, actor, role, action, object, data FROM audit_pending ORDER BY pid;
DROP TABLE audit_pending;
ALTER TABLE audit_pending_queue RENAME TO audit_pending;
