package appenv

import (
	"errors"
	"testing"

	"kyso/config"
)

// The citizen-key token and the audit log key are reached through
// hsm.module unless citizen_module or audit_module name another library;
// production never falls back to SoftHSM for any of them.
func TestModulesPerToken(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		module, citizen, audit   string
		wantCitizen, wantAudit   string
		separateAudit, wantNoMod bool
	}{
		{name: "one module", module: "/opt/hsm/lib.so", wantCitizen: "/opt/hsm/lib.so", wantAudit: "/opt/hsm/lib.so"},
		{name: "own modules", module: "/usr/lib/p11-kit-client.so", citizen: "/opt/hsm/full.so", audit: "/opt/hsm/full.so",
			wantCitizen: "/opt/hsm/full.so", wantAudit: "/opt/hsm/full.so", separateAudit: true},
		{name: "audit module equal to module", module: "/opt/hsm/lib.so", audit: "/opt/hsm/lib.so",
			wantCitizen: "/opt/hsm/lib.so", wantAudit: "/opt/hsm/lib.so"},
		{name: "no module in production", wantNoMod: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.HSM.Module, cfg.HSM.CitizenModule, cfg.HSM.AuditModule = tc.module, tc.citizen, tc.audit
			c, cerr := CitizenModule(cfg)
			a, aerr := AuditModule(cfg)
			if tc.wantNoMod {
				if !errors.Is(cerr, ErrNoModule) || !errors.Is(aerr, ErrNoModule) {
					t.Fatalf("citizen %q %v, audit %q %v: want ErrNoModule", c, cerr, a, aerr)
				}
				return
			}
			if cerr != nil || aerr != nil || c != tc.wantCitizen || a != tc.wantAudit {
				t.Fatalf("citizen %q %v, audit %q %v", c, cerr, a, aerr)
			}
			if got := SeparateAuditModule(cfg); got != tc.separateAudit {
				t.Fatalf("SeparateAuditModule = %v", got)
			}
		})
	}
}
