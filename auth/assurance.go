package auth

import (
	"fmt"
	"net/http"

	"kyso/problem"
)

// Operations a citizen's level of assurance gates.
const (
	// OpEnrolRemote is enrolling a signing certificate whose key Kyso
	// keeps in its HSM.
	OpEnrolRemote = "enrol_remote"
	// OpEnrolCSR is enrolling a certificate for a key the citizen holds.
	OpEnrolCSR = "enrol_csr"
	// OpSign is signing with an existing credential (which needs the
	// credential's activation data besides).
	OpSign = "sign"
)

// Levels of assurance, from the lowest.
var loaRank = map[string]int{"low": 1, "substantial": 2, "high": 3}

// ValidLoA says whether s names a level of assurance.
func ValidLoA(s string) bool { return loaRank[s] != 0 }

// Assurance maps each operation to the lowest level of assurance of the
// citizen's identity assertion that may perform it. One table, in the
// configuration (identity.assurance), for every source of identity: the
// chip flow gives "substantial" (PA+AA) or "high", an OpenID provider what
// its acr maps to.
type Assurance map[string]string

// DefaultAssurance: enrolling needs at least "substantial" (chip PA+AA,
// or a provider account the acr table maps to substantial); signing with an existing credential is open
// to any level, since the credential's PIN is required too.
func DefaultAssurance() Assurance {
	return Assurance{OpEnrolRemote: "substantial", OpEnrolCSR: "substantial", OpSign: "low"}
}

func chipVerified(as *Assertion) bool {
	var pa, aa bool
	for _, m := range as.AMR {
		pa = pa || m == "pa"
		aa = aa || m == "aa"
	}
	return pa && aa
}

// ErrInsufficientAssurance refuses an operation the assertion's level of
// assurance does not reach.
var ErrInsufficientAssurance = problem.New(http.StatusForbidden, "insufficient-assurance", "the identity's level of assurance is too low for this operation")

// Check refuses op when the assertion's level is below the table's. An
// assertion of the chip flow with passive and active authentication (amr
// pa and aa) counts as "substantial" here, whatever its own loa. An
// operation missing from the table needs "high"; an assertion without a
// known level is refused.
func (a Assurance) Check(op string, as *Assertion) error {
	if as == nil {
		return ErrInsufficientAssurance
	}
	need, ok := a[op]
	if !ok {
		need = "high"
	}
	have := loaRank[as.LoA]
	if chipVerified(as) && have < loaRank["substantial"] {
		// The chip flow's passive and active authentication prove a
		// genuine, uncloned card in the citizen's hands: enough to enrol
		// (the assertion's own loa stays what the method is worth).
		have = loaRank["substantial"]
	}
	if have == 0 || have < loaRank[need] {
		e := *ErrInsufficientAssurance
		e.Detail = fmt.Sprintf("%s needs level of assurance %s; the identity has %q", op, need, as.LoA)
		return &e
	}
	return nil
}
