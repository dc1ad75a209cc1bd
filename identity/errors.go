package identity

import (
	"fmt"
	"net/http"

	"kyso/problem"
)

// Reason codes of refused verifications (the `code` member of the problem
// document). They are part of the public API.
const (
	CodeSODSignatureInvalid = "sod-signature-invalid"
	CodeDSCUntrusted        = "dsc-untrusted"
	CodeDGHashMismatch      = "dg-hash-mismatch"
	CodeDGNotInSOD          = "dg-not-in-sod"
	CodeMRZCheckDigit       = "mrz-check-digit"
	CodeDG1DG13Mismatch     = "dg1-dg13-mismatch"
	CodeCardExpired         = "card-expired"
	CodeAAFailed            = "aa-failed"
	CodeChallengeExpired    = "challenge-expired"
	CodeChallengeReused     = "challenge-reused"
	CodeChallengeUnknown    = "challenge-unknown"
	CodeRegistryMismatch    = "registry-mismatch"
	CodeMalformedInput      = "malformed-input"
	CodeIssuingStateRefused = "issuing-state-refused"
	CodeRegistryUnavailable = "registry-unavailable"
	CodeAssertionInvalid    = "assertion-invalid"

	// Certificate profile and algorithm refusals (ICAO Doc 9303-12, BSI
	// TR-03105-5), one code per rule.
	CodeSignerCountryMismatch = "signer-country-mismatch"
	CodeDSCKeyUsage           = "dsc-key-usage"
	CodeDSCIsCA               = "dsc-is-ca"
	CodeCSCANotCA             = "csca-not-ca"
	CodeSignerNotValidAtIssue = "signer-not-valid-at-issue"
	CodeSODAlgorithmRefused   = "sod-algorithm-refused"
	CodeAAAlgorithmRefused    = "aa-algorithm-refused"
)

func statusOf(code string) int {
	switch code {
	case CodeMalformedInput:
		return http.StatusBadRequest
	case CodeChallengeUnknown:
		return http.StatusNotFound
	case CodeChallengeReused:
		return http.StatusConflict
	case CodeChallengeExpired:
		return http.StatusGone
	case CodeRegistryUnavailable:
		return http.StatusServiceUnavailable
	case CodeAssertionInvalid:
		return http.StatusUnauthorized
	}
	return http.StatusUnprocessableEntity
}

// refuse builds the problem for a refused verification.
func refuse(code string, err error) *problem.Error {
	return problem.Wrap(statusOf(code), code, err)
}

func refusef(code, format string, args ...any) *problem.Error {
	return refuse(code, fmt.Errorf(format, args...))
}
