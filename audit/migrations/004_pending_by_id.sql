-- Receipts are public (GET /v1/audit/receipts/{id}) and tell a pending
-- entry from an unknown id: that look-up must not scan the pending table,
-- which grows while no sequencer runs. A plain index on the id costs an
-- insert one page (SQLite) or one index entry (PostgreSQL) less than the
-- unique index and AUTOINCREMENT counter the table had before.
CREATE INDEX audit_pending_by_id ON audit_pending (id);
