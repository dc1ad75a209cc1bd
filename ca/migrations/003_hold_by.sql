-- Who put a certificate on hold: a citizen may release only a hold they
-- placed themselves.
ALTER TABLE ca_certificates ADD COLUMN hold_by TEXT NOT NULL DEFAULT '';
