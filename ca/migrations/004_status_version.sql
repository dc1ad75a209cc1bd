-- Every status change increments a certificate's status version; a
-- pre-signed OCSP response records the version it states, is stored only
-- while that version is current and is served only while it still is.
ALTER TABLE ca_certificates ADD COLUMN status_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ca_ocsp ADD COLUMN status_version BIGINT NOT NULL DEFAULT 0;
