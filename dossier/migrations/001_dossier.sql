-- Agencies and their administrative tree.
CREATE TABLE agencies (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    parent_code TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row per dossier; version is bumped by every transition.
CREATE TABLE dossiers (
    id TEXT PRIMARY KEY,
    procedure_code TEXT NOT NULL,
    applicant TEXT NOT NULL,
    agency_code TEXT NOT NULL,
    state TEXT NOT NULL,
    version BIGINT NOT NULL,
    form_kind TEXT NOT NULL,
    form BLOB NOT NULL,
    form_sha256 TEXT NOT NULL,
    form_signer TEXT NOT NULL,
    decision TEXT NOT NULL,
    decision_note TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    has_digitized INTEGER NOT NULL,
    result BLOB,
    result_sha256 TEXT NOT NULL,
    submitted_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    processed_at BIGINT NOT NULL,
    result_signed_at BIGINT NOT NULL,
    returned_at BIGINT NOT NULL,
    acknowledged_at BIGINT NOT NULL,
    closed_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX dossiers_applicant ON dossiers (applicant, submitted_at, id);
CREATE INDEX dossiers_agency ON dossiers (agency_code, submitted_at, id);
CREATE INDEX dossiers_submitted ON dossiers (submitted_at, id);

-- Files of a dossier: the citizen's attachments and supplements, and the
-- agency's digitized paper inputs (hashed and sealed).
CREATE TABLE dossier_files (
    dossier_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    seal BLOB,
    seal_cert BLOB,
    data BLOB NOT NULL,
    added_by TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (dossier_id, name)
);

-- Sealed history of every transition.
CREATE TABLE dossier_events (
    dossier_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    details TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (dossier_id, seq)
);
