package auth_test

import (
	"errors"
	"testing"

	"kyso/auth"
)

func TestAssurance(t *testing.T) {
	a := auth.DefaultAssurance()
	for _, tc := range []struct {
		op   string
		as   *auth.Assertion
		want bool
	}{
		{auth.OpEnrolRemote, &auth.Assertion{LoA: "low", AMR: []string{"pa", "aa"}}, true},                  // chip PA+AA
		{auth.OpEnrolRemote, &auth.Assertion{LoA: "low", AMR: []string{"pa"}}, false},                       // passive only
		{auth.OpEnrolRemote, &auth.Assertion{LoA: "low", AMR: []string{"oidc:vneid"}}, false},               // VNeID level 1
		{auth.OpEnrolRemote, &auth.Assertion{LoA: "substantial", AMR: []string{"oidc:vneid"}}, true},        // VNeID level 2
		{auth.OpEnrolCSR, &auth.Assertion{LoA: "substantial", AMR: []string{"pa", "aa", "registry"}}, true}, // chip and registry
		{auth.OpSign, &auth.Assertion{LoA: "low", AMR: []string{"oidc:vneid"}}, true},
		{"unknown-op", &auth.Assertion{LoA: "substantial"}, false},
		{auth.OpSign, &auth.Assertion{LoA: "bogus"}, false},
		{auth.OpSign, nil, false},
	} {
		err := a.Check(tc.op, tc.as)
		if (err == nil) != tc.want || (err != nil && !errors.Is(err, auth.ErrInsufficientAssurance)) {
			t.Errorf("%s %+v: %v, want allowed=%v", tc.op, tc.as, err, tc.want)
		}
	}
}
