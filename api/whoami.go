package api

import (
	"net/http"

	"kyso/auth"
)

var allRoles = []auth.Role{auth.RoleCitizen, auth.RoleAgency, auth.RoleOfficer, auth.RoleAdmin}

// whoami tells a caller how the service sees them.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	out := map[string]any{"role": p.Role, "subject": p.Subject, "name": p.Name}
	if p.AgencyCode != "" {
		out["agency"] = p.AgencyCode
	}
	if p.Assertion != nil {
		out["loa"] = p.Assertion.LoA
		out["expires_at"] = p.Assertion.Expiry
	}
	WriteJSON(w, http.StatusOK, out)
}
