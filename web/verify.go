// Package web embeds the few pages people use in a browser (agency
// verification, officer console, citizen signing) into the binary.
package web

import "embed"

// Verify holds the templates of the agency verification page at /verify:
// verify/page.html defines "verify-page", which expects the report
// templates of kyso/verifier/report ("style", "report-body") to be parsed
// into the same template set.
//
//go:embed verify/*.html
var Verify embed.FS

// Dashboard holds the templates of the programme dashboard at /dashboard:
// dashboard/page.html defines "dashboard-page" and dashboard/login.html
// "dashboard-login".
//
//go:embed dashboard/*.html
var Dashboard embed.FS
