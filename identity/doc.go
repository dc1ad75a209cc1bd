// Package identity proves a citizen's identity from the chip of the
// Vietnamese citizen identity card (CCCD) and issues short-lived identity
// assertions.
//
// A verification takes EF.SOD, DG1, DG13, DG15 (DG14 when present) and the
// chip's Active Authentication signature over a single-use server nonce,
// and checks, in order: the challenge (unknown, reused, expired); passive
// authentication (package pa: SOD signature, DSC → CSCA chain at
// verification time, every data-group hash, no data group outside the
// SOD); the MRZ check digits; the document profile (TD1 citizen card
// issued by VNM; TD3 passports only when configured); DG1 ⇄ DG13
// consistency (ID number, birth date, sex, expiry); card expiry; Active
// Authentication over our nonce (package aa); the population registry.
// Every refusal is a *problem.Error with a stable code (see Code*
// constants).
//
// The result is a JWT signed with the identity key (a crypto.Signer, in
// production an HSM key) through go-jose's OpaqueSigner: ES256/ES384 for
// EC keys, RS256 or PS256 for RSA. Its claims carry the 12-digit ID as
// sub, name, birth date, sex, acr/amr, the level of assurance, the SOD
// hash and DSC fingerprint for audit, and never the photo, residence or
// family data. Service implements auth.AssertionVerifier; JWKS publishes
// the keys.
//
// Nonces are 8 random bytes (the size of ICAO RND.IFD) and travel as
// standard base64 with padding (RFC 4648 section 4).
//
// The eMRTD parsers (packages lds, pki, ecc, aa) are our own; their
// package documentation says why no library was used.
package identity
