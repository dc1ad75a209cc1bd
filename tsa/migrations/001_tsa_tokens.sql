CREATE TABLE tsa_tokens (
    serial TEXT PRIMARY KEY,
    issued_ms BIGINT NOT NULL,
    policy TEXT NOT NULL,
    hash_alg TEXT NOT NULL,
    digest TEXT NOT NULL,
    nonce TEXT NOT NULL
);
