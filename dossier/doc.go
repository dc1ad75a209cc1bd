// Package dossier runs the five-step electronic process for administrative
// procedures:
//
//  1. submitted: a citizen files a dossier (procedure code, their 12-digit
//     ID as applicant, the agency in charge) with an application form signed
//     as a JWS or a PDF, and attachments; the form is validated by
//     kyso/verifier like any document (chain to the trust anchors,
//     revocation, algorithm policy) and must be TOTAL-PASSED with a
//     signature whose UID=CCCD:<id> is the caller's — the dossier parses no
//     signature itself;
//  2. received: the agency accepts it and attaches digitized paper inputs,
//     each hashed (SHA-256) and its digest sealed with the agency key;
//  3. processed: appraisal decisions (approve, deny, note) are recorded
//     with the acting officer;
//  4. result_signed: the result document — uploaded, or generated from the
//     last approve/deny decision by package resultpdf — is sealed by the
//     agency at PAdES B-LT or better (through the Sealer);
//  5. returned: the e-result is delivered for download, and acknowledged
//     by the citizen (acknowledged).
//
// At its steps the agency may reject (rejected) or ask for more documents
// (supplement_requested); the citizen's supplement brings the dossier back
// to received. Any other move is a 409 problem "illegal-transition" with the
// current state in its "state" member.
//
// Authorization is part of the domain: a citizen acts on their own
// dossiers, agency principals on their agency's, officers and admins read
// everything; a dossier outside what the caller may see is not found (404),
// one they see but may not act on is forbidden (403).
//
// Every step runs in one database transaction that re-reads the dossier
// (FOR UPDATE on PostgreSQL; SQLite transactions take the write lock at
// BEGIN), checks the state and, for steps that did slow work first (sealing),
// the version read before; bumps the version with a compare-and-set; stores
// the event sealed by the service key (ECDSA or RSA over SHA-256 of the
// canonical encoding, see Event.Canonical); and writes its audit log entry
// in the same transaction (audit.Log.AppendTx, sequenced into the Merkle
// log afterwards). So two concurrent transitions never both succeed, and
// nothing acknowledged to a client is missing from the history or the audit
// log after a crash.
//
// Files and results are stored in the database as BLOBs within Limits.
//
// The five-step report (FiveStepReport) counts, per agency, per
// administrative level and in total, the dossiers submitted online in a
// period, the shares with digitized inputs and with an electronically
// signed result (over those received), the share of signed e-results
// returned, and the median seconds of each step. Agencies form a tree
// (province, district, commune) kept in the agencies table.
package dossier
