-- One row per citizen who enrolled: the issuance transaction takes it
-- (an upsert) before counting the citizen's certificates, so concurrent
-- enrolments of one citizen are counted one after the other.
CREATE TABLE ca_enrol_subjects (
	subject_id TEXT PRIMARY KEY,
	updated_at BIGINT NOT NULL
);
