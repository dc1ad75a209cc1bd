CREATE TABLE csc_sad (
    sad_hash TEXT PRIMARY KEY,
    credential_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    role TEXT NOT NULL,
    hash_alg TEXT NOT NULL,
    hashes TEXT NOT NULL,
    num_signatures INTEGER NOT NULL,
    client TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    used_ms BIGINT
);
