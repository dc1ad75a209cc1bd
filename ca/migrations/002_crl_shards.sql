CREATE TABLE ca_crl_shards (
	issuer TEXT PRIMARY KEY,
	shards INTEGER NOT NULL
);
