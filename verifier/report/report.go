// Package report holds the validation report of a signed document and
// renders it as JSON (element names after ETSI TS 119 102-2), plain text and
// a printable HTML page (html/template, no external assets).
package report

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// Indication is an ETSI EN 319 102-1 main indication.
type Indication string

// Main indications.
const (
	TotalPassed   Indication = "TOTAL-PASSED"
	TotalFailed   Indication = "TOTAL-FAILED"
	Indeterminate Indication = "INDETERMINATE"
)

// SubIndication is an ETSI EN 319 102-1 sub-indication.
type SubIndication string

// Sub-indications.
const (
	FormatFailure                  SubIndication = "FORMAT_FAILURE"
	HashFailure                    SubIndication = "HASH_FAILURE"
	SigCryptoFailure               SubIndication = "SIG_CRYPTO_FAILURE"
	Revoked                        SubIndication = "REVOKED"
	Expired                        SubIndication = "EXPIRED"
	NotYetValid                    SubIndication = "NOT_YET_VALID"
	NoCertificateChainFound        SubIndication = "NO_CERTIFICATE_CHAIN_FOUND"
	NoSigningCertificateFound      SubIndication = "NO_SIGNING_CERTIFICATE_FOUND"
	CertificateChainGeneralFailure SubIndication = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
	CryptoConstraintsFailure       SubIndication = "CRYPTO_CONSTRAINTS_FAILURE"
	CryptoConstraintsFailureNoPOE  SubIndication = "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"
	ChainConstraintsFailure        SubIndication = "CHAIN_CONSTRAINTS_FAILURE"
	OutOfBoundsNoPOE               SubIndication = "OUT_OF_BOUNDS_NO_POE"
	RevokedNoPOE                   SubIndication = "REVOKED_NO_POE"
	RevokedCANoPOE                 SubIndication = "REVOKED_CA_NO_POE"
	NoPOE                          SubIndication = "NO_POE"
	TryLater                       SubIndication = "TRY_LATER"
	SignedDataNotFound             SubIndication = "SIGNED_DATA_NOT_FOUND"
	SigConstraintsFailure          SubIndication = "SIG_CONSTRAINTS_FAILURE"
)

// Severity orders main indications: a document takes its worst signature's.
func Severity(i Indication) int {
	switch i {
	case TotalPassed:
		return 0
	case Indeterminate:
		return 1
	}
	return 2
}

// Status is a main indication with its sub-indication.
type Status struct {
	MainIndication Indication    `json:"MainIndication"`
	SubIndication  SubIndication `json:"SubIndication,omitempty"`
	Detail         string        `json:"Detail,omitempty"`
}

// Report is the validation report of one document.
type Report struct {
	ValidationTime time.Time   `json:"ValidationTime"`
	Document       Document    `json:"SignersDocument"`
	Status         Status      `json:"ValidationStatus"`
	Signatures     []Signature `json:"SignatureValidationReport"`
	Changes        []Change    `json:"ChangesAfterSigning,omitempty"`
	Warnings       []string    `json:"Warnings,omitempty"`
}

// Document describes the validated input.
type Document struct {
	Name      string `json:"Name,omitempty"`
	Format    string `json:"Format"` // PDF, CMS, JWS
	Size      int64  `json:"Size"`
	SHA256    string `json:"DigestSHA256"`
	Revisions int    `json:"Revisions,omitempty"`
}

// Signature is the report for one signature or document time-stamp.
type Signature struct {
	ID          string        `json:"SignatureIdentifier"`
	Format      string        `json:"SignatureFormat"`
	Status      Status        `json:"SignatureValidationStatus"`
	Level       string        `json:"SignatureLevel,omitempty"`
	Signer      *Signer       `json:"SignerInformation,omitempty"`
	Chain       []Certificate `json:"CertificateChain,omitempty"`
	SigningTime SigningTime   `json:"SigningTime"`
	TimeStamps  []TimeStamp   `json:"TimeStamps,omitempty"`
	Revocation  []Revocation  `json:"RevocationStatus,omitempty"`
	Scope       *Scope        `json:"SignatureScope,omitempty"`
	Reason      string        `json:"Reason,omitempty"`
	Location    string        `json:"Location,omitempty"`
	Checks      []Check       `json:"ValidationChecks"`
	// CounterSignature marks a counter-signature (of the signature whose
	// identifier starts its own): it is judged and reported on its own
	// and does not change the document's indication, as in EU DSS.
	CounterSignature bool `json:"CounterSignature,omitempty"`
}

// Signer identifies the signer from the signing certificate.
type Signer struct {
	Name    string `json:"Name"`
	UID     string `json:"UID,omitempty"` // e.g. CCCD:001234567890, MST:…, MNS:…
	Subject string `json:"Subject"`
	Issuer  string `json:"Issuer"`
}

// Certificate is one certificate of the chain.
type Certificate struct {
	Subject   string    `json:"Subject"`
	Issuer    string    `json:"Issuer"`
	Serial    string    `json:"SerialNumber"`
	NotBefore time.Time `json:"NotBefore"`
	NotAfter  time.Time `json:"NotAfter"`
	SHA256    string    `json:"DigestSHA256"`
	Trusted   bool      `json:"TrustAnchor,omitempty"`
}

// SigningTime says when the signature was made and what proves it.
type SigningTime struct {
	Claimed *time.Time `json:"ClaimedSigningTime,omitempty"`
	Best    time.Time  `json:"BestSignatureTime"`
	// Proof: "signature-time-stamp", "document-time-stamp",
	// "archive-time-stamp" or "validation-time" (nothing proves an
	// earlier time).
	Proof string `json:"TypeOfProof"`
}

// TimeStamp reports one RFC 3161 token.
type TimeStamp struct {
	Type    string    `json:"Type"` // "signature", "document" or "archive"
	GenTime time.Time `json:"ProductionTime"`
	TSA     string    `json:"TSA,omitempty"`
	Status  Status    `json:"Status"`
}

// Revocation reports one certificate's revocation status at signing time.
type Revocation struct {
	Subject   string     `json:"Subject"`
	Status    string     `json:"Status"`
	RevokedAt *time.Time `json:"RevocationTime,omitempty"`
	Source    string     `json:"Source,omitempty"`
	Issued    *time.Time `json:"IssuedAt,omitempty"`
	Detail    string     `json:"Detail,omitempty"`
}

// Scope says what a PDF signature covers.
type Scope struct {
	ByteRange      []int64 `json:"ByteRange"`
	Revision       int     `json:"Revision"`
	CoversRevision bool    `json:"CoversWholeRevision"`
	LaterRevisions int     `json:"LaterRevisions"`
}

// Check is one validation step.
type Check struct {
	Name   string `json:"Name"`
	Result string `json:"Result"` // passed, failed, warning, skipped
	Detail string `json:"Detail,omitempty"`
}

// Change is one later incremental update and its classification.
type Change struct {
	Revision int    `json:"Revision"`
	Allowed  bool   `json:"Allowed"`
	Kind     string `json:"Kind"`
	Detail   string `json:"Detail"`
}

// JSON writes the report as indented JSON.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Text writes a plain-text report.
func (r *Report) Text(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Document: %s (%s, %d bytes, SHA-256 %s)\n", nonEmpty(r.Document.Name, "-"), r.Document.Format, r.Document.Size, r.Document.SHA256)
	if r.Document.Revisions > 0 {
		fmt.Fprintf(&b, "Revisions: %d\n", r.Document.Revisions)
	}
	fmt.Fprintf(&b, "Validation time: %s\n", ts(r.ValidationTime))
	fmt.Fprintf(&b, "Result: %s\n", statusText(r.Status))
	for _, s := range r.Signatures {
		fmt.Fprintf(&b, "\nSignature %s (%s)\n", s.ID, s.Format)
		fmt.Fprintf(&b, "  Result: %s\n", statusText(s.Status))
		if s.Level != "" {
			fmt.Fprintf(&b, "  Level: %s\n", s.Level)
		}
		if s.Signer != nil {
			fmt.Fprintf(&b, "  Signer: %s\n", s.Signer.Name)
			if s.Signer.UID != "" {
				fmt.Fprintf(&b, "  UID: %s\n", s.Signer.UID)
			}
			fmt.Fprintf(&b, "  Issuer: %s\n", s.Signer.Issuer)
		}
		if s.SigningTime.Claimed != nil {
			fmt.Fprintf(&b, "  Claimed signing time: %s\n", ts(*s.SigningTime.Claimed))
		}
		fmt.Fprintf(&b, "  Signing time: %s (proof: %s)\n", ts(s.SigningTime.Best), s.SigningTime.Proof)
		if s.Reason != "" {
			fmt.Fprintf(&b, "  Reason: %s\n", s.Reason)
		}
		if s.Scope != nil {
			fmt.Fprintf(&b, "  Covers: revision %d, byte range %v, whole revision: %t, later revisions: %d\n", s.Scope.Revision, s.Scope.ByteRange, s.Scope.CoversRevision, s.Scope.LaterRevisions)
		}
		for _, t := range s.TimeStamps {
			fmt.Fprintf(&b, "  Time-stamp (%s): %s by %s: %s\n", t.Type, ts(t.GenTime), nonEmpty(t.TSA, "-"), statusText(t.Status))
		}
		for _, rv := range s.Revocation {
			fmt.Fprintf(&b, "  Revocation of %s: %s", rv.Subject, rv.Status)
			if rv.Source != "" {
				fmt.Fprintf(&b, " (%s)", rv.Source)
			}
			if rv.RevokedAt != nil {
				fmt.Fprintf(&b, " revoked at %s", ts(*rv.RevokedAt))
			}
			if rv.Detail != "" {
				fmt.Fprintf(&b, ": %s", rv.Detail)
			}
			b.WriteString("\n")
		}
		for _, c := range s.Chain {
			mark := ""
			if c.Trusted {
				mark = " [trust anchor]"
			}
			fmt.Fprintf(&b, "  Certificate: %s%s\n", c.Subject, mark)
		}
		for _, c := range s.Checks {
			fmt.Fprintf(&b, "  [%s] %s", c.Result, c.Name)
			if c.Detail != "" {
				fmt.Fprintf(&b, ": %s", c.Detail)
			}
			b.WriteString("\n")
		}
	}
	if len(r.Changes) > 0 {
		b.WriteString("\nChanges after signing\n")
		for _, c := range r.Changes {
			verdict := "NOT ALLOWED"
			if c.Allowed {
				verdict = "allowed"
			}
			fmt.Fprintf(&b, "  revision %d: %s (%s): %s\n", c.Revision, c.Kind, verdict, c.Detail)
		}
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "Warning: %s\n", wn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func statusText(s Status) string {
	out := string(s.MainIndication)
	if s.SubIndication != "" {
		out += " / " + string(s.SubIndication)
	}
	if s.Detail != "" {
		out += " (" + s.Detail + ")"
	}
	return out
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

//go:embed templates/*.html
var templates embed.FS

// HTMLTemplate returns the report template; name "report" renders a full
// page and "report-body" only the report section, for embedding in a page.
func HTMLTemplate() (*template.Template, error) {
	return template.New("").Funcs(template.FuncMap{
		"ts":     ts,
		"status": statusText,
		"class": func(i Indication) string {
			switch i {
			case TotalPassed:
				return "passed"
			case TotalFailed:
				return "failed"
			}
			return "indeterminate"
		},
		"verdict":   Verdict,
		"verdictVI": VerdictVI,
	}).ParseFS(templates, "templates/*.html")
}

// Verdict is a one-line verdict in plain words for a clerk.
func Verdict(s Status) string {
	switch s.MainIndication {
	case TotalPassed:
		return "Valid: the signatures are valid and the document was not changed after signing."
	case TotalFailed:
		return "Invalid: " + sub(s.SubIndication)
	}
	return "Cannot be confirmed: " + sub(s.SubIndication)
}

func sub(s SubIndication) string {
	switch s {
	case HashFailure:
		return "the document was changed after it was signed."
	case SigCryptoFailure:
		return "the signature value does not match the signer's key."
	case Revoked:
		return "the signer's certificate was revoked before signing."
	case Expired:
		return "the signer's certificate had expired when signing."
	case NotYetValid:
		return "the signer's certificate was not yet valid when signing."
	case FormatFailure:
		return "the signature is malformed."
	case NoCertificateChainFound:
		return "the signer's certificate does not chain to a trusted authority."
	case TryLater:
		return "the revocation status could not be obtained; try again later."
	case OutOfBoundsNoPOE:
		return "the certificate is expired and nothing proves the signature was made before."
	case SignedDataNotFound:
		return "no signature was found."
	case NoPOE:
		return "a time-stamp the signature relies on could not be checked, so nothing proves when it existed."
	case SigConstraintsFailure:
		return "the signature carries data the verifier does not process, so it cannot vouch for it."
	}
	return "see the details (" + string(s) + ")."
}

// VerdictVI is Verdict in Vietnamese.
func VerdictVI(s Status) string {
	switch s.MainIndication {
	case TotalPassed:
		return "Hợp lệ: các chữ ký hợp lệ và tài liệu không bị thay đổi sau khi ký."
	case TotalFailed:
		switch s.SubIndication {
		case HashFailure:
			return "Không hợp lệ: tài liệu đã bị thay đổi sau khi ký."
		case Revoked:
			return "Không hợp lệ: chứng thư số của người ký đã bị thu hồi trước khi ký."
		case Expired:
			return "Không hợp lệ: chứng thư số của người ký đã hết hạn khi ký."
		}
		return "Không hợp lệ: chữ ký không đúng (" + string(s.SubIndication) + ")."
	}
	switch s.SubIndication {
	case NoCertificateChainFound:
		return "Chưa xác định: chứng thư số không thuộc tổ chức cung cấp dịch vụ tin cậy."
	case TryLater:
		return "Chưa xác định: chưa kiểm tra được tình trạng thu hồi; vui lòng thử lại sau."
	case SigConstraintsFailure:
		return "Chưa xác định: chữ ký chứa dữ liệu mà hệ thống không xử lý được nên không thể xác nhận."
	}
	return "Chưa xác định: không đủ căn cứ để kết luận (" + string(s.SubIndication) + ")."
}

// HTML writes a printable HTML page.
func (r *Report) HTML(w io.Writer) error {
	t, err := HTMLTemplate()
	if err != nil {
		return err
	}
	return t.ExecuteTemplate(w, "report", r)
}
