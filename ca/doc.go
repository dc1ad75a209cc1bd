// Package ca is Kyso's certificate authority.
//
// Issuance runs on github.com/smallstep/certificates' authority, embedded
// in-process: one authority.NewEmbedded per issuing CA, with the CA's HSM
// key as signer (authority.WithX509SignerChain), our store as its database
// (authority.WithDatabase with an implementation of smallstep's db.AuthDB
// over the ca_* tables: certificates, revocations, used tokens) and the
// lint-before-sign check as an authority-wide enforcer. Certificate
// contents come from the go.step.sm/crypto/x509util templates of package
// profile; the CA decides serial (random 127 bits), validity (never past
// the issuer) and CRL shard (serial modulo the shard count, fixed at
// issuance and named in the certificate's CRL distribution point).
//
// What smallstep does not do is ours: revocation with RFC 5280 reasons and
// certificateHold/release (smallstep's Revoke is token-bound and has no
// hold), partitioned CRLs with an issuing-distribution-point extension
// (package crl; smallstep builds one CRL per authority) and an RFC 6960
// responder with delegated responder certificates, nonces in
// responseExtensions, one answer per CertID of a request and pre-signed
// responses per serial (package ocspresp and revocation.go).
//
// Key ceremonies (package ceremony) create the keys in the HSM and store
// the resulting certificates in ca_authorities; Load reads them back.
// Certificates are stored durably before Issue returns. Every state change
// (issuance, remote credential creation, revocation, hold, release) writes
// its rows and its audit events (audit.Log.AppendTx) in one transaction:
// when the audit append fails, the change is rolled back and the operation
// fails. Smallstep's AuthDB therefore only stages a signed leaf; Issue
// commits it with its event (see pending in stepca.go). Pre-signed OCSP
// responses and CRLs are caches written after commit: a status change
// drops the certificate's response and marks its CRL stale inside its
// transaction, and look-ups sign on demand what is missing. Every status
// change increments the certificate's status version; a pre-signed
// response is stored by compare-and-set only while the version it was
// signed for is current (and never over a newer one) and served only while
// it still is, so a replica that read "valid" before another replica's
// revocation committed cannot bring "good" back. A CRL's number
// is allocated by the database (an upsert on the shard's row) in the
// transaction that stores it, so replicas sharing a PostgreSQL database
// never sign two CRLs of one shard with the same number.
//
// The certificate-policies arc is documented in package profile; the
// applied and excluded lints in package lint.
package ca
