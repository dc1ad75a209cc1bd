package profile

// The templates are go.step.sm/crypto/x509util JSON templates; the values
// come from Spec.Options under .Kyso. Key usage is always emitted critical
// by crypto/x509. Serial, validity and key identifiers are set by Finish.

const aia = `
	{{- if .Kyso.OCSPURL }}"ocspServer": [{{ toJson .Kyso.OCSPURL }}],{{ end }}
	{{- if .Kyso.CAIssuersURL }}"issuingCertificateURL": [{{ toJson .Kyso.CAIssuersURL }}],{{ end }}
	{{- if .Kyso.CRLURL }}"crlDistributionPoints": [{{ toJson .Kyso.CRLURL }}],{{ end }}`

const citizenTemplate = `{
	"subject": {
		"country": "VN",
		{{- if .Kyso.Province }}"province": {{ toJson .Kyso.Province }},{{ end }}
		"commonName": {{ toJson .Kyso.CommonName }},
		"extraNames": [{"type": {{ toJson .Kyso.UIDType }}, "value": {{ toJson .Kyso.UID }}}]
	},
	"keyUsage": ["digitalSignature", "contentCommitment"],
	"extKeyUsage": ["emailProtection"],
	"unknownExtKeyUsage": [{{ toJson .Kyso.DocSigning }}],
	"policyIdentifiers": [{{ toJson .Kyso.Policy }}],` + aia + `
	"basicConstraints": {"isCA": false}
}`

const sealTemplate = `{
	"subject": {
		"country": "VN",
		"organization": {{ toJson .Kyso.Organization }},
		"commonName": {{ toJson .Kyso.CommonName }},
		"extraNames": [{"type": {{ toJson .Kyso.UIDType }}, "value": {{ toJson .Kyso.UID }}}]
	},
	{{- if .Kyso.Email }}"emailAddresses": [{{ toJson .Kyso.Email }}],{{ end }}
	"keyUsage": ["digitalSignature", "contentCommitment"],
	"extKeyUsage": ["emailProtection"],
	"unknownExtKeyUsage": [{{ toJson .Kyso.DocSigning }}],
	"policyIdentifiers": [{{ toJson .Kyso.Policy }}],` + aia + `
	"basicConstraints": {"isCA": false}
}`

const officerTemplate = `{
	"subject": {
		"country": "VN",
		"organization": {{ toJson .Kyso.Organization }},
		"commonName": {{ toJson .Kyso.CommonName }},
		"extraNames": [{"type": {{ toJson .Kyso.UIDType }}, "value": {{ toJson .Kyso.UID }}}]
	},
	"keyUsage": ["digitalSignature", "contentCommitment"],
	"extKeyUsage": ["emailProtection", "clientAuth"],
	"unknownExtKeyUsage": [{{ toJson .Kyso.DocSigning }}],
	"policyIdentifiers": [{{ toJson .Kyso.Policy }}],` + aia + `
	"basicConstraints": {"isCA": false}
}`

const tlsTemplate = `{
	"subject": {
		"country": "VN",
		{{- if .Kyso.Organization }}"organization": {{ toJson .Kyso.Organization }},{{ end }}
		"commonName": {{ toJson .Kyso.CommonName }}
	},
	"dnsNames": {{ toJson .Kyso.DNSNames }},
	"ipAddresses": {{ toJson .Kyso.IPAddresses }},
	"keyUsage": ["digitalSignature"],
	"extKeyUsage": ["serverAuth"],
	"policyIdentifiers": [{{ toJson .Kyso.Policy }}],` + aia + `
	"basicConstraints": {"isCA": false}
}`

const ocspTemplate = `{
	"subject": {
		"country": "VN",
		{{- if .Kyso.Organization }}"organization": {{ toJson .Kyso.Organization }},{{ end }}
		"commonName": {{ toJson .Kyso.CommonName }}
	},
	"keyUsage": ["digitalSignature"],
	"extKeyUsage": ["ocspSigning"],
	"policyIdentifiers": [{{ toJson .Kyso.Policy }}],
	{{- if .Kyso.CAIssuersURL }}"issuingCertificateURL": [{{ toJson .Kyso.CAIssuersURL }}],{{ end }}
	"extensions": [{"id": {{ toJson .Kyso.NoCheck }}, "critical": false, "value": "BQA="}],
	"basicConstraints": {"isCA": false}
}`

const tsaTemplate = `{
	"subject": {
		"country": "VN",
		{{- if .Kyso.Organization }}"organization": {{ toJson .Kyso.Organization }},{{ end }}
		"commonName": {{ toJson .Kyso.CommonName }}
	},
	"keyUsage": ["digitalSignature", "contentCommitment"],
	"extensions": [{"id": "2.5.29.37", "critical": true, "value": {{ toJson .Kyso.TSAEKU }}}],
	"policyIdentifiers": [{{ toJson .Kyso.Policy }}],` + aia + `
	"basicConstraints": {"isCA": false}
}`
