// Package pades signs PDF documents at the PAdES baseline levels of
// ETSI EN 319 142-1:
//
//   - B-B: an /ETSI.CAdES.detached signature whose CMS carries
//     signing-certificate-v2 and no signing-time (the claimed time is /M);
//   - B-T: plus a signature time-stamp (unsigned attribute) from a Stamper;
//   - B-LT: plus an incremental update adding a Document Security Store
//     (/DSS) with the certificates, OCSP responses and CRLs needed to
//     validate the signature and its time-stamp later;
//   - B-LTA: plus a /DocTimeStamp signature (/ETSI.RFC3161) over the
//     revision holding the DSS.
//
// Signatures may be approval signatures (invisible, or with a visible
// appearance showing name, time, reason and location) or certification
// signatures (DocMDP, P=2 by default) for agency e-results. Adding a
// signature never rewrites earlier revisions, so earlier signatures stay
// valid.
//
// The PDF revisions are written with kyso/signer/pdfincr (see its package
// comment for why not github.com/digitorus/pdfsign: no DSS, HTTP-only
// time-stamping and whole-file buffering) and the CMS with
// kyso/signer/cades. Memory use is bounded by the size of the appended
// revisions, not by the size of the document: the document is read through
// an io.ReaderAt and hashed as a stream.
package pades
