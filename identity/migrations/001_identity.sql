-- Single-use Active Authentication challenges.
CREATE TABLE identity_challenges (
    id         TEXT PRIMARY KEY,
    nonce      BLOB NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    used_ms    BIGINT
);
CREATE INDEX identity_challenges_expires ON identity_challenges (expires_ms);

-- Embedded population registry, filled by `kyso registry import`.
CREATE TABLE identity_registry (
    id         TEXT PRIMARY KEY,
    full_name  TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    sex        TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
