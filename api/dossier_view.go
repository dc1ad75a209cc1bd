package api

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"time"

	"kyso/dossier"
)

type dossierView struct {
	ID              string        `json:"id"`
	ProcedureCode   string        `json:"procedure_code"`
	Applicant       string        `json:"applicant"`
	ApplicantName   string        `json:"applicant_name,omitempty"`
	AgencyCode      string        `json:"agency_code"`
	State           string        `json:"state"`
	Version         int64         `json:"version"`
	AuditEntry      string        `json:"audit_entry,omitempty"`
	Form            formView      `json:"form"`
	Decision        *decisionView `json:"decision,omitempty"`
	DigitizedInputs bool          `json:"digitized_inputs"`
	Result          *resultView   `json:"result,omitempty"`
	SubmittedAt     time.Time     `json:"submitted_at"`
	ReceivedAt      *time.Time    `json:"received_at,omitempty"`
	ProcessedAt     *time.Time    `json:"processed_at,omitempty"`
	ResultSignedAt  *time.Time    `json:"result_signed_at,omitempty"`
	ReturnedAt      *time.Time    `json:"returned_at,omitempty"`
	AcknowledgedAt  *time.Time    `json:"acknowledged_at,omitempty"`
	ClosedAt        *time.Time    `json:"closed_at,omitempty"`
	UpdatedAt       time.Time     `json:"updated_at"`
	Files           []fileView    `json:"files,omitempty"`
	Events          []eventView   `json:"events,omitempty"`
}

type formView struct {
	Kind   string `json:"kind"`
	SHA256 string `json:"sha256"`
	Signer string `json:"signer"`
}

type decisionView struct {
	Decision  string `json:"decision"`
	Note      string `json:"note,omitempty"`
	DecidedBy string `json:"decided_by"`
	// OfficerName and OfficerTitle are the deciding officer as printed
	// on the e-result.
	OfficerName  string `json:"officer_name,omitempty"`
	OfficerTitle string `json:"officer_title,omitempty"`
}

type resultView struct {
	SHA256 string `json:"sha256"`
	Href   string `json:"href"`
	// Number is a generated e-result's number and symbol.
	Number string `json:"number,omitempty"`
	// VerifyHref is the public verification page the QR code leads to.
	VerifyHref string `json:"verify_href"`
}

type fileView struct {
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Seal        []byte    `json:"seal,omitempty"`
	SealCert    []byte    `json:"seal_cert,omitempty"`
	AddedBy     string    `json:"added_by"`
	AddedAt     time.Time `json:"added_at"`
	Href        string    `json:"href"`
}

type eventView struct {
	Seq       int64           `json:"seq"`
	At        time.Time       `json:"at"`
	Actor     string          `json:"actor"`
	Role      string          `json:"role"`
	Action    string          `json:"action"`
	From      string          `json:"from,omitempty"`
	To        string          `json:"to"`
	Details   json.RawMessage `json:"details"`
	KeyID     string          `json:"key_id"`
	Signature []byte          `json:"signature"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func viewDossier(d *dossier.Dossier) dossierView {
	v := dossierView{
		ID: d.ID, ProcedureCode: d.ProcedureCode, Applicant: d.Applicant, ApplicantName: d.ApplicantName, AgencyCode: d.AgencyCode,
		State: string(d.State), Version: d.Version, AuditEntry: d.AuditEntry,
		Form:            formView{Kind: d.FormKind, SHA256: d.FormSHA256, Signer: d.FormSigner},
		DigitizedInputs: d.HasDigitized,
		SubmittedAt:     d.SubmittedAt, ReceivedAt: optTime(d.ReceivedAt), ProcessedAt: optTime(d.ProcessedAt),
		ResultSignedAt: optTime(d.ResultSignedAt), ReturnedAt: optTime(d.ReturnedAt),
		AcknowledgedAt: optTime(d.AcknowledgedAt), ClosedAt: optTime(d.ClosedAt), UpdatedAt: d.UpdatedAt,
	}
	if d.Decision != "" {
		v.Decision = &decisionView{Decision: d.Decision, Note: d.DecisionNote, DecidedBy: d.DecidedBy,
			OfficerName: d.DecidedByName, OfficerTitle: d.DecidedByTitle}
	}
	if d.ResultSHA256 != "" {
		v.Result = &resultView{SHA256: d.ResultSHA256, Href: "/v1/dossiers/" + d.ID + "/result", Number: d.ResultNumber,
			VerifyHref: dossier.VerifyPath + d.ID}
	}
	for _, f := range d.Files {
		v.Files = append(v.Files, fileView{Name: f.Name, Kind: f.Kind, ContentType: f.ContentType, Size: f.Size, SHA256: f.SHA256,
			Seal: f.Seal, SealCert: f.SealCert, AddedBy: f.AddedBy, AddedAt: f.AddedAt,
			Href: "/v1/dossiers/" + d.ID + "/attachments/" + url.PathEscape(f.Name)})
	}
	for _, e := range d.Events {
		v.Events = append(v.Events, eventView{Seq: e.Seq, At: e.At, Actor: e.Actor, Role: e.Role, Action: string(e.Action),
			From: string(e.From), To: string(e.To), Details: e.Details, KeyID: e.KeyID, Signature: e.Signature})
	}
	return v
}

func hexToB64(h string) string {
	b, err := hex.DecodeString(h)
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b)
}
