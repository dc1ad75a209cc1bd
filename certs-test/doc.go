// Package certstest generates test fixtures: synthetic Vietnamese chip ID
// cards (CCCD) signed by a test CSCA and Document Signer, optionally
// tampered in a named way, and the card's side of Active Authentication.
//
// WriteChip writes a card into a directory:
//
//	sod.bin     EF.SOD (CMS SignedData over the LDSSecurityObject, tag 0x77)
//	dg1.bin     EF.DG1 (TD1 MRZ: IDVNM, last 9 ID digits, full ID in optional data)
//	dg13.bin    EF.DG13 (Vietnamese personal data)
//	dg15.bin    EF.DG15 (Active Authentication public key)
//	dg14.bin    EF.DG14 (ActiveAuthenticationInfo; only for EC AA keys)
//	csca.pem    the test CSCA certificate to configure as trust anchor
//	aa_key.pem  the simulated chip's private AA key (TEST ONLY)
//	card.json   what was generated: ID, name, algorithm, tamper case, the
//	            reason code a verifier must answer, file list
//
// AnswerChallenge signs a verifier nonce with aa_key.pem the way the chip
// does (ISO/IEC 9796-2 scheme 1 for RSA, plain r‖s ECDSA for EC).
//
// Algorithms (--alg): rsa (RSA-2048, sha256WithRSAEncryption), rsa-pss
// (RSA-2048, RSASSA-PSS SHA-256), p256, p384, brainpool (CSCA on
// brainpoolP384r1 and DSC on brainpoolP256r1, both with explicit curve
// parameters, as several countries issue them; signed with package
// kyso/identity/ecc because crypto/ecdsa has no brainpool curves).
//
// Output is deterministic for a given Seed and Now: keys are derived from
// the seed (our own prime search for RSA, since crypto/rsa ignores the
// random source) and ECDSA and ISO 9796-2 signatures use a seeded stream.
// RSASSA-PSS salts come from crypto/rand, so rsa-pss SODs differ per run.
// None of this is suitable for real keys.
package certstest
