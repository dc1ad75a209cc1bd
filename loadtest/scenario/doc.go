// Package scenario is the load test of a running Kyso server over its
// public HTTP API: chip identity verification (synthetic cards from
// kyso/certs-test answer the Active Authentication challenge), certificate
// issuance with the assertions obtained, PDF sealing as agencies with
// RSA-2048 and P-256 seals at PAdES B-B and B-T, and verification of the
// sealed documents. Each scenario is bounded by kyso/loadtest in time and
// in requests and names the raw HSM benchmark it is compared with.
//
// It speaks HTTP only and imports no domain package, so it measures what a
// client sees. SamplePDF writes its own tiny document because the PDF
// libraries in use read and sign PDFs but do not create them.
package scenario
