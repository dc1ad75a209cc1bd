-- What the e-result in the administrative format prints: the applicant's
-- full name, the deciding officer's name and title, the document number,
-- and the place agencies date their documents at.
ALTER TABLE dossiers ADD COLUMN applicant_name TEXT NOT NULL DEFAULT '';
ALTER TABLE dossiers ADD COLUMN decided_by_name TEXT NOT NULL DEFAULT '';
ALTER TABLE dossiers ADD COLUMN decided_by_title TEXT NOT NULL DEFAULT '';
ALTER TABLE dossiers ADD COLUMN result_number TEXT NOT NULL DEFAULT '';
ALTER TABLE agencies ADD COLUMN place TEXT NOT NULL DEFAULT '';

-- Document numbers restart every year per agency.
CREATE TABLE result_numbers (
    agency_code TEXT NOT NULL,
    year BIGINT NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (agency_code, year)
);
