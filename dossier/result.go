package dossier

import (
	"context"
	"fmt"
	"time"

	"kyso/dossier/resultpdf"
)

// vietnamTime is the zone documents are dated in (UTC+7, no DST).
var vietnamTime = time.FixedZone("ICT", 7*3600)

// VerifyPath is the public page of an e-result, after the public URL.
const VerifyPath = "/verify/r/"

// VerifyURL is the address the QR code of the dossier's e-result encodes,
// empty without a public URL.
func (s *Service) VerifyURL(id string) string {
	if s.public == "" {
		return ""
	}
	return s.public + VerifyPath + id
}

// renderResult draws the e-result of the recorded decision in the
// administrative format and returns it with the place of the seal's stamp.
func (s *Service) renderResult(ctx context.Context, d *Dossier, number string) ([]byte, *Stamp, error) {
	ag, err := s.agencies.Get(ctx, d.AgencyCode)
	if err != nil {
		return nil, nil, fmt.Errorf("dossier: agency of %s: %w", d.ID, err)
	}
	doc := resultDocument(d, ag, s.title, number, s.clock(), s.VerifyURL(d.ID))
	if ag.ParentCode != "" {
		if parent, err := s.agencies.Get(ctx, ag.ParentCode); err == nil {
			doc.ParentAgency = parent.Name
		}
	}
	pdf, box, err := resultpdf.Render(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("dossier: render result of %s: %w", d.ID, err)
	}
	return pdf, &Stamp{Page: box.Page, X: box.X, Y: box.Y, Width: box.Width, Height: box.Height}, nil
}

// resultDocument is the content of the e-result of d: the procedure, the
// applicant's full name and CCCD number, the decision with its reasons, the
// deciding officer's name and title, the recipients.
func resultDocument(d *Dossier, ag *Agency, title, number string, now time.Time, verifyURL string) resultpdf.Document {
	outcome := "Chấp thuận"
	if d.Decision == DecisionDeny {
		outcome = "Không chấp thuận"
	}
	applicant := d.ApplicantName
	if applicant == "" {
		applicant = "(không ghi nhận)"
	}
	fields := []resultpdf.Field{
		{Label: "Thủ tục hành chính", Value: d.ProcedureCode},
		{Label: "Mã hồ sơ", Value: d.ID},
		{Label: "Người nộp hồ sơ", Value: applicant},
		{Label: "Số định danh cá nhân (CCCD)", Value: d.Applicant},
		{Label: "Ngày nộp hồ sơ", Value: d.SubmittedAt.In(vietnamTime).Format("02/01/2006")},
		{Label: "Kết quả giải quyết", Value: outcome},
	}
	if !d.ProcessedAt.IsZero() {
		fields = append(fields, resultpdf.Field{Label: "Ngày quyết định", Value: d.ProcessedAt.In(vietnamTime).Format("02/01/2006")})
	}
	if d.DecidedByName != "" {
		who := d.DecidedByName
		if d.DecidedByTitle != "" {
			who += ", " + d.DecidedByTitle
		}
		fields = append(fields, resultpdf.Field{Label: "Người quyết định", Value: who})
	}
	var paras []string
	if d.DecisionNote != "" {
		paras = append(paras, "Ý kiến giải quyết: "+d.DecisionNote)
	}
	paras = append(paras, "Văn bản điện tử này được ký số bằng con dấu số của "+ag.Name+
		"; bản điện tử và bản in từ bản điện tử có giá trị như nhau.")
	return resultpdf.Document{
		Agency: ag.Name, Number: number, Place: ag.Place, Date: now,
		Title: title, Fields: fields, Paragraphs: paras,
		SignerCapacity: "TM. " + ag.Name, SignerTitle: d.DecidedByTitle, SignerName: d.DecidedByName,
		Recipients: []string{"Ông/Bà " + applicant + ";", "Lưu: VT, " + ag.Code + "."},
		VerifyURL:  verifyURL,
	}
}

// PublicResult is what the public verification page of an e-result may
// show: nothing beyond what the document itself prints.
type PublicResult struct {
	ID     string
	Number string
	SHA256 string
	PDF    []byte
}

// PublicResult returns the sealed e-result of dossier id for its public
// verification page (the address its QR code encodes). Anyone holding the
// document may ask; the unguessable dossier ID is the capability. A dossier
// without a sealed result is ErrNotFound, like an unknown one.
func (s *Service) PublicResult(ctx context.Context, id string) (*PublicResult, error) {
	d, err := s.load(ctx, s.db.DB, id, false)
	if err != nil {
		return nil, err
	}
	if d.ResultSHA256 == "" {
		return nil, ErrNotFound
	}
	var pdf []byte
	if err := s.db.QueryRowContext(ctx, "SELECT result FROM dossiers WHERE id = $1", id).Scan(&pdf); err != nil {
		return nil, fmt.Errorf("dossier: read result: %w", err)
	}
	return &PublicResult{ID: d.ID, Number: d.ResultNumber, SHA256: d.ResultSHA256, PDF: pdf}, nil
}
