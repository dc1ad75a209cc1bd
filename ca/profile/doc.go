// Package profile defines Kyso's certificate profiles (citizen signing,
// agency seal, officer, TLS server, OCSP responder, time-stamping) as
// go.step.sm/crypto/x509util JSON templates, and the subject rules each
// profile enforces.
//
// Object identifiers. The certificate-policies arc used here is
// 1.3.6.1.4.1.59595.1 ("kyso-policy"), a private-enterprise-style arc held
// as a placeholder until the operator registers its own IANA enterprise
// number; PolicyArc in the configuration of package ca replaces it:
//
//	<arc>.1  citizen signing certificate
//	<arc>.2  agency seal
//	<arc>.3  officer
//	<arc>.4  TLS server of the service itself
//	<arc>.5  OCSP responder
//	<arc>.6  time-stamping unit
//
// Issuing CA certificates assert the explicit policies of what they issue
// (never anyPolicy): the citizen CA <arc>.1, the agency CA <arc>.2 to
// <arc>.6, and both <arc>.5 for the delegated OCSP responder each
// certifies; the root asserts none.
//
// The subject's unique identifier uses the userId attribute
// (0.9.2342.19200300.100.1.1, "UID") with a scheme prefix, as Vietnamese
// CAs do: "CCCD:<12 digits>" for citizens and officers, "MNS:<code>" (budget
// relationship code) or "MST:<tax code>" for agencies.
//
// An agency seal names the agency (CN), the organisation it belongs to (O,
// the province or ministry) and, optionally, the agency's official email
// as the one rfc822Name of the subject alternative name, which visible
// signature stamps show as Vietnamese e-government stamps do. No other
// profile carries an email address.
package profile
