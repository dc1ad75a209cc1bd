-- Browser sign-ins in progress with an OpenID provider: the state's
-- SHA-256, the PKCE verifier and nonce, and where the assertion goes.
CREATE TABLE oidc_states (
	state_sha256 TEXT PRIMARY KEY,
	provider TEXT NOT NULL,
	redirect_uri TEXT NOT NULL,
	nonce TEXT NOT NULL,
	verifier TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_states_expires ON oidc_states (expires_at);
