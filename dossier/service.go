package dossier

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"kyso/audit"
	"kyso/auth"
	"kyso/problem"
	"kyso/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate applies the dossier tables to db.
func Migrate(ctx context.Context, db *store.DB) error { return migrate(ctx, db) }

func migrate(ctx context.Context, db *store.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx, "dossier", sub); err != nil {
		return fmt.Errorf("dossier: %w", err)
	}
	return nil
}

// Config holds what the service needs.
type Config struct {
	DB    *store.DB
	Audit AuditLog
	// EventKey is the service key that seals every event.
	EventKey crypto.Signer
	Sealer   Sealer
	Forms    FormVerifier
	// Activity gives citizens' certificates and signatures to the
	// reports; nil leaves those figures out.
	Activity CitizenActivity
	// Limits; zero fields take DefaultLimits.
	Limits Limits
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
	// ResultTitle heads generated result documents.
	ResultTitle string
	// PublicURL is the service's public base URL; generated e-results
	// carry a QR code to PublicURL/verify/r/<dossier id>. None when empty.
	PublicURL string
}

// AuditLog is what the service needs of the audit log (*audit.Log): each
// step's entry is written in the step's transaction.
type AuditLog interface {
	AppendTx(ctx context.Context, tx *sql.Tx, ev audit.Event) error
	Append(ctx context.Context, ev audit.Event) error
	LatestID(ctx context.Context, object, action string) (string, error)
}

// isNilLog reports a nil *audit.Log inside the interface.
func isNilLog(a AuditLog) bool {
	l, ok := a.(*audit.Log)
	return ok && l == nil
}

// Service runs the five-step process.
type Service struct {
	db       *store.DB
	audit    AuditLog
	key      crypto.Signer
	sealer   Sealer
	forms    FormVerifier
	limits   Limits
	now      func() time.Time
	log      *slog.Logger
	agencies *Agencies
	title    string
	public   string
	activity CitizenActivity
}

// New applies the migrations and returns the service.
func New(ctx context.Context, cfg Config) (*Service, error) {
	switch {
	case cfg.DB == nil:
		return nil, errors.New("dossier: no database")
	case cfg.Audit == nil, isNilLog(cfg.Audit):
		return nil, errors.New("dossier: no audit log")
	case cfg.EventKey == nil:
		return nil, errors.New("dossier: no event sealing key")
	case cfg.Sealer == nil:
		return nil, errors.New("dossier: no sealer")
	case cfg.Forms == nil:
		return nil, errors.New("dossier: no form verifier")
	}
	if _, err := KeyID(cfg.EventKey.Public()); err != nil {
		return nil, err
	}
	ags, err := NewAgencies(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	d := DefaultLimits()
	l := cfg.Limits
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = d.MaxFiles
	}
	if l.MaxResultBytes <= 0 {
		l.MaxResultBytes = d.MaxResultBytes
	}
	if l.MaxNoteBytes <= 0 {
		l.MaxNoteBytes = d.MaxNoteBytes
	}
	s := &Service{db: cfg.DB, audit: cfg.Audit, key: cfg.EventKey, sealer: cfg.Sealer, forms: cfg.Forms,
		limits: l, now: cfg.Now, log: cfg.Log, agencies: ags, title: cfg.ResultTitle,
		public: strings.TrimRight(cfg.PublicURL, "/"), activity: cfg.Activity}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.title == "" {
		s.title = "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
	}
	ags.now = s.now
	return s, nil
}

// Agencies returns the agency store.
func (s *Service) Agencies() *Agencies { return s.agencies }

// Limits returns the limits in force.
func (s *Service) Limits() Limits { return s.limits }

// EventPublicKey is the key that verifies event seals.
func (s *Service) EventPublicKey() crypto.PublicKey { return s.key.Public() }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// SubmitRequest is a citizen's application.
type SubmitRequest struct {
	ProcedureCode string
	AgencyCode    string
	Form          Form
	Attachments   []FileInput
}

// Submit files a new dossier for the calling citizen after checking the
// form's signature.
func (s *Service) Submit(ctx context.Context, p *auth.Principal, req SubmitRequest) (*Dossier, error) {
	if p == nil || p.Role != auth.RoleCitizen {
		return nil, auth.ErrForbidden
	}
	if !citizenIDPattern.MatchString(p.Subject) {
		return nil, invalid("the applicant's ID must be 12 digits")
	}
	if !procedurePattern.MatchString(req.ProcedureCode) {
		return nil, invalid("procedure_code must be 1-64 letters, digits, '.', '_' or '-'")
	}
	if _, err := s.agencies.Get(ctx, req.AgencyCode); err != nil {
		if errors.Is(err, ErrAgencyNotFound) {
			return nil, ErrUnknownAgency
		}
		return nil, err
	}
	var form []byte
	kind := ""
	switch {
	case req.Form.JWS != "" && len(req.Form.PDF) > 0:
		return nil, invalid("form holds either jws or pdf, not both")
	case req.Form.JWS != "":
		kind, form = FormJWS, []byte(req.Form.JWS)
	case len(req.Form.PDF) > 0:
		kind, form = FormPDF, req.Form.PDF
	default:
		return nil, invalid("form must hold a signed jws or pdf")
	}
	if int64(len(form)) > s.limits.MaxFileBytes {
		return nil, tooLarge("form", s.limits.MaxFileBytes)
	}
	files, err := s.checkFiles(req.Attachments)
	if err != nil {
		return nil, err
	}
	check, err := s.forms.VerifyForm(ctx, p.Subject, req.Form)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	fsum := sha256.Sum256(form)
	d := &Dossier{
		ID: newID(), ProcedureCode: req.ProcedureCode, Applicant: p.Subject, AgencyCode: req.AgencyCode,
		ApplicantName: applicantName(p),
		State:         StateSubmitted, Version: 1, FormKind: kind, FormSHA256: hex.EncodeToString(fsum[:]),
		FormSigner: check.Signer, SubmittedAt: now, UpdatedAt: now,
	}
	details := map[string]any{"procedure_code": d.ProcedureCode, "agency_code": d.AgencyCode,
		"form": map[string]any{"kind": kind, "sha256": d.FormSHA256, "signer": check.Signer}}
	if len(files) > 0 {
		details["attachments"] = fileDigests(files)
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO dossiers (id, procedure_code, applicant, agency_code, state, version,
			form_kind, form, form_sha256, form_signer, decision, decision_note, decided_by, has_digitized, result, result_sha256,
			submitted_at, received_at, processed_at, result_signed_at, returned_at, acknowledged_at, closed_at, updated_at, applicant_name)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '', '', '', 0, NULL, '', $11, 0, 0, 0, 0, 0, 0, $11, $12)`,
			d.ID, d.ProcedureCode, d.Applicant, d.AgencyCode, string(d.State), d.Version, d.FormKind, form, d.FormSHA256, d.FormSigner, now.UnixMilli(),
			d.ApplicantName)
		if err != nil {
			return fmt.Errorf("dossier: insert: %w", err)
		}
		if err := s.insertFiles(ctx, tx, d.ID, FileAttachment, files, p, now, nil); err != nil {
			return err
		}
		return s.record(ctx, tx, p, d, ActSubmit, "", StateSubmitted, now, details)
	})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "dossier submitted", "dossier", d.ID, "procedure", d.ProcedureCode, "agency", d.AgencyCode)
	return d, nil
}

// Receive accepts a submitted dossier, attaching digitized paper inputs,
// each hashed and sealed with the agency key.
func (s *Service) Receive(ctx context.Context, p *auth.Principal, id string, digitized []FileInput, note string) (*Dossier, error) {
	d, err := s.precheck(ctx, p, id, ActReceive)
	if err != nil {
		return nil, err
	}
	if err := s.checkNote(note, false); err != nil {
		return nil, err
	}
	files, err := s.checkFiles(digitized)
	if err != nil {
		return nil, err
	}
	seals := make([]sealed, len(files))
	for i, f := range files {
		sum := sha256.Sum256(f.Data)
		sig, cert, err := s.sealer.SealDigest(ctx, d.AgencyCode, sum[:])
		if err != nil {
			return nil, fmt.Errorf("dossier: seal %s: %w", f.Name, err)
		}
		seals[i] = sealed{sig, cert}
	}
	return s.transition(ctx, p, id, ActReceive, d.Version, func(tx *sql.Tx, d *Dossier, now time.Time, details map[string]any) error {
		if err := s.insertFiles(ctx, tx, d.ID, FileDigitized, files, p, now, seals); err != nil {
			return err
		}
		if len(files) > 0 {
			d.HasDigitized = true
			details["digitized"] = fileDigests(files)
		}
		if note != "" {
			details["note"] = note
		}
		if d.ReceivedAt.IsZero() {
			d.ReceivedAt = now
		}
		return nil
	})
}

// RequestSupplement asks the citizen for more documents.
func (s *Service) RequestSupplement(ctx context.Context, p *auth.Principal, id, note string) (*Dossier, error) {
	if err := s.checkNote(note, true); err != nil {
		return nil, err
	}
	return s.transition(ctx, p, id, ActRequestSupplement, 0, func(tx *sql.Tx, d *Dossier, now time.Time, details map[string]any) error {
		details["note"] = note
		return nil
	})
}

// Supplement adds the documents the agency asked for and returns the
// dossier to received.
func (s *Service) Supplement(ctx context.Context, p *auth.Principal, id string, files []FileInput, note string) (*Dossier, error) {
	if err := s.checkNote(note, false); err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, invalid("a supplement needs at least one file")
	}
	d, err := s.precheck(ctx, p, id, ActSupplement)
	if err != nil {
		return nil, err
	}
	files, err = s.checkFiles(files)
	if err != nil {
		return nil, err
	}
	return s.transition(ctx, p, id, ActSupplement, d.Version, func(tx *sql.Tx, d *Dossier, now time.Time, details map[string]any) error {
		if err := s.insertFiles(ctx, tx, d.ID, FileSupplement, files, p, now, nil); err != nil {
			return err
		}
		details["supplement"] = fileDigests(files)
		if note != "" {
			details["note"] = note
		}
		if d.ReceivedAt.IsZero() {
			d.ReceivedAt = now
		}
		return nil
	})
}

// Reject closes the dossier without a result.
func (s *Service) Reject(ctx context.Context, p *auth.Principal, id, reason string) (*Dossier, error) {
	if err := s.checkNote(reason, true); err != nil {
		return nil, err
	}
	return s.transition(ctx, p, id, ActReject, 0, func(tx *sql.Tx, d *Dossier, now time.Time, details map[string]any) error {
		details["reason"] = reason
		d.ClosedAt = now
		return nil
	})
}

// Decide records an appraisal decision by the acting principal, named on
// the e-result by its principal name. See DecideAs.
func (s *Service) Decide(ctx context.Context, p *auth.Principal, id, decision, note string) (*Dossier, error) {
	var o Officer
	if p != nil {
		o.Name = p.Name
	}
	return s.DecideAs(ctx, p, id, decision, note, o)
}

// Officer is the person who takes a decision for the agency: full name
// and position ("Chủ tịch"), printed on the e-result.
type Officer struct {
	Name, Title string
}

// maxOfficerField bounds an officer's name and title (bytes).
const maxOfficerField = 200

// DecideAs records an appraisal decision taken by officer for the acting
// agency. Approve and deny move the dossier to processed (the last one
// counts for the result); a note is recorded and keeps the state.
func (s *Service) DecideAs(ctx context.Context, p *auth.Principal, id, decision, note string, officer Officer) (*Dossier, error) {
	switch decision {
	case DecisionApprove, DecisionDeny:
		if err := s.checkNote(note, false); err != nil {
			return nil, err
		}
	case DecisionNote:
		if err := s.checkNote(note, true); err != nil {
			return nil, err
		}
	default:
		return nil, invalid("decision must be approve, deny or note")
	}
	officer.Name, officer.Title = cleanText(officer.Name), cleanText(officer.Title)
	if len(officer.Name) > maxOfficerField || len(officer.Title) > maxOfficerField {
		return nil, invalid("officer_name and officer_title are limited to %d bytes", maxOfficerField)
	}
	return s.transition(ctx, p, id, ActDecide, 0, func(tx *sql.Tx, d *Dossier, now time.Time, details map[string]any) error {
		details["decision"] = decision
		if note != "" {
			details["note"] = note
		}
		details["officer"] = actorName(p)
		if officer.Name != "" {
			details["officer_name"] = officer.Name
		}
		if officer.Title != "" {
			details["officer_title"] = officer.Title
		}
		if decision == DecisionNote {
			return nil
		}
		d.State = StateProcessed
		d.Decision, d.DecisionNote, d.DecidedBy = decision, note, actorName(p)
		d.DecidedByName, d.DecidedByTitle = officer.Name, officer.Title
		if d.ProcessedAt.IsZero() {
			d.ProcessedAt = now
		}
		return nil
	})
}

// SignResult seals the result document with the agency key: pdf when
// given (with an invisible seal), else a document generated from the
// recorded decision (with the seal's stamp in its signature block).
func (s *Service) SignResult(ctx context.Context, p *auth.Principal, id string, pdf []byte) (*Dossier, error) {
	return s.SignResultWith(ctx, p, id, ResultOptions{PDF: pdf})
}

// ResultOptions says what SignResultWith seals and where its stamp goes.
type ResultOptions struct {
	// PDF is the agency's own result document; empty means generate one
	// from the recorded decision.
	PDF []byte
	// Stamp places the seal's visible signature. When nil, a generated
	// document gets it in its signature block and an uploaded one none.
	Stamp *Stamp
	// Invisible seals without a visible signature.
	Invisible bool
}

// SignResultWith seals the result document with the agency key.
func (s *Service) SignResultWith(ctx context.Context, p *auth.Principal, id string, o ResultOptions) (*Dossier, error) {
	pdf := o.PDF
	if int64(len(pdf)) > s.limits.MaxResultBytes {
		return nil, tooLarge("result", s.limits.MaxResultBytes)
	}
	if st := o.Stamp; st != nil && (st.Page < 1 || st.Width <= 0 || st.Height <= 0 || st.X < 0 || st.Y < 0 ||
		st.Width > 2000 || st.Height > 2000 || st.X > 20000 || st.Y > 20000) {
		return nil, problem.New(http.StatusBadRequest, "bad-appearance", "the stamp needs a page from 1 and a positive width and height within the page")
	}
	d, err := s.precheck(ctx, p, id, ActSignResult)
	if err != nil {
		return nil, err
	}
	stamp := o.Stamp
	generated := len(pdf) == 0
	number := ""
	if generated {
		if d.Decision != DecisionApprove && d.Decision != DecisionDeny {
			return nil, ErrNoDecision.With("state", string(d.State))
		}
		if number, err = s.nextNumber(ctx, d.AgencyCode); err != nil {
			return nil, err
		}
		var box *Stamp
		if pdf, box, err = s.renderResult(ctx, d, number); err != nil {
			return nil, err
		}
		if stamp == nil {
			stamp = box
		}
	} else if !looksLikePDF(pdf) {
		return nil, invalid("the result must be a PDF document")
	}
	if o.Invisible {
		stamp = nil
	}
	sealedPDF, err := s.sealer.SealPDF(ctx, d.AgencyCode, pdf, stamp)
	if err != nil {
		return nil, fmt.Errorf("dossier: seal result of %s: %w", d.ID, err)
	}
	if int64(len(sealedPDF)) > s.limits.MaxResultBytes+(1<<20) {
		return nil, fmt.Errorf("dossier: sealed result of %s is %d bytes", d.ID, len(sealedPDF))
	}
	sum := sha256.Sum256(sealedPDF)
	return s.transition(ctx, p, id, ActSignResult, d.Version, func(tx *sql.Tx, d *Dossier, now time.Time, details map[string]any) error {
		d.ResultSHA256 = hex.EncodeToString(sum[:])
		d.ResultSignedAt = now
		d.ResultNumber = number
		res := map[string]any{"sha256": d.ResultSHA256, "size": len(sealedPDF), "generated": generated}
		if number != "" {
			res["number"] = number
		}
		details["result"] = res
		if _, err := tx.ExecContext(ctx, "UPDATE dossiers SET result = $1, result_number = $2 WHERE id = $3", sealedPDF, number, d.ID); err != nil {
			return fmt.Errorf("dossier: store result: %w", err)
		}
		return nil
	})
}

// nextNumber allocates the agency's next e-result number of the year (in
// Vietnam time) and returns it with the agency's symbol ("15/KQ-UBND-HN").
// A number whose sealing then fails is skipped, as a register allows.
func (s *Service) nextNumber(ctx context.Context, agency string) (string, error) {
	year := s.clock().In(vietnamTime).Year()
	var n int64
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO result_numbers (agency_code, year, last) VALUES ($1, $2, 1)
			ON CONFLICT (agency_code, year) DO UPDATE SET last = result_numbers.last + 1 RETURNING last`, agency, year).Scan(&n)
	})
	if err != nil {
		return "", fmt.Errorf("dossier: allocate result number: %w", err)
	}
	return fmt.Sprintf("%d/KQ-%s", n, agency), nil
}

// Return delivers the sealed e-result to the citizen.
func (s *Service) Return(ctx context.Context, p *auth.Principal, id string) (*Dossier, error) {
	return s.transition(ctx, p, id, ActReturn, 0, func(tx *sql.Tx, d *Dossier, now time.Time, details map[string]any) error {
		d.ReturnedAt = now
		details["result_sha256"] = d.ResultSHA256
		return nil
	})
}

// Acknowledge records that the citizen received the e-result.
func (s *Service) Acknowledge(ctx context.Context, p *auth.Principal, id string) (*Dossier, error) {
	return s.transition(ctx, p, id, ActAcknowledge, 0, func(tx *sql.Tx, d *Dossier, now time.Time, details map[string]any) error {
		d.AcknowledgedAt, d.ClosedAt = now, now
		details["result_sha256"] = d.ResultSHA256
		return nil
	})
}

// Get returns a dossier visible to p with its files and events.
func (s *Service) Get(ctx context.Context, p *auth.Principal, id string) (*Dossier, error) {
	d, err := s.load(ctx, s.db.DB, id, false)
	if err != nil {
		return nil, err
	}
	if !visible(p, d) {
		return nil, ErrNotFound
	}
	if d.Files, err = s.files(ctx, id); err != nil {
		return nil, err
	}
	if d.Events, err = s.Events(ctx, id); err != nil {
		return nil, err
	}
	return d, nil
}

// File returns a file of a dossier visible to p.
func (s *Service) File(ctx context.Context, p *auth.Principal, id, name string) (*File, error) {
	d, err := s.load(ctx, s.db.DB, id, false)
	if err != nil {
		return nil, err
	}
	if !visible(p, d) {
		return nil, ErrNotFound
	}
	var f File
	var at int64
	err = s.db.QueryRowContext(ctx, `SELECT name, kind, content_type, size, sha256, seal, seal_cert, added_by, added_at, data
		FROM dossier_files WHERE dossier_id = $1 AND name = $2`, id, name).
		Scan(&f.Name, &f.Kind, &f.ContentType, &f.Size, &f.SHA256, &f.Seal, &f.SealCert, &f.AddedBy, &at, &f.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrFileNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("dossier: read file: %w", err)
	}
	f.AddedAt = time.UnixMilli(at).UTC()
	return &f, nil
}

// Result returns the sealed e-result. The citizen sees it once it has
// been returned; the agency and overseers once it is signed.
func (s *Service) Result(ctx context.Context, p *auth.Principal, id string) ([]byte, *Dossier, error) {
	d, err := s.load(ctx, s.db.DB, id, false)
	if err != nil {
		return nil, nil, err
	}
	if !visible(p, d) {
		return nil, nil, ErrNotFound
	}
	if d.ResultSHA256 == "" || (p.Role == auth.RoleCitizen && d.ReturnedAt.IsZero()) {
		return nil, nil, ErrNoResult.With("state", string(d.State))
	}
	var pdf []byte
	if err := s.db.QueryRowContext(ctx, "SELECT result FROM dossiers WHERE id = $1", id).Scan(&pdf); err != nil {
		return nil, nil, fmt.Errorf("dossier: read result: %w", err)
	}
	if p.Role == auth.RoleCitizen {
		// Delivery evidence: the applicant fetched the e-result.
		if err := s.audit.Append(ctx, audit.Event{Actor: actorName(p), Role: string(p.Role), Action: "dossier.result-downloaded",
			Object: "dossier/" + d.ID, Details: map[string]any{"result_sha256": d.ResultSHA256}}); err != nil {
			return nil, nil, err
		}
	}
	if d.AuditEntry, err = s.audit.LatestID(ctx, "dossier/"+d.ID, "dossier."+string(ActSignResult)); err != nil {
		return nil, nil, err
	}
	return pdf, d, nil
}

// Events returns a dossier's events in order (no visibility check; callers
// go through Get).
func (s *Service) Events(ctx context.Context, id string) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, at, actor, role, action, from_state, to_state, details, key_id, signature
		FROM dossier_events WHERE dossier_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("dossier: read events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e := Event{DossierID: id}
		var at int64
		var action, from, to, details string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Role, &action, &from, &to, &details, &e.KeyID, &e.Signature); err != nil {
			return nil, fmt.Errorf("dossier: read events: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
		e.Action, e.From, e.To, e.Details = Action(action), State(from), State(to), json.RawMessage(details)
		out = append(out, e)
	}
	return out, rows.Err()
}

// VerifyEvents checks the seal of every event of a dossier with pub and
// that the sequence has no gaps.
func (s *Service) VerifyEvents(ctx context.Context, id string, pub crypto.PublicKey) error {
	evs, err := s.Events(ctx, id)
	if err != nil {
		return err
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			return fmt.Errorf("%w: event %d of %s is missing", ErrBadEventSeal, i+1, id)
		}
		if err := e.VerifySeal(pub); err != nil {
			return err
		}
	}
	return nil
}

// precheck loads the dossier outside a transaction and checks that p may
// take action now, before slow work (sealing) happens; transition checks
// again, with the version, under the lock.
func (s *Service) precheck(ctx context.Context, p *auth.Principal, id string, act Action) (*Dossier, error) {
	d, err := s.load(ctx, s.db.DB, id, false)
	if err != nil {
		return nil, err
	}
	if err := authorize(p, d, act); err != nil {
		return nil, err
	}
	return d, nil
}

// authorize checks that p may see d and take act on it, and that d's state
// allows it.
func authorize(p *auth.Principal, d *Dossier, act Action) error {
	if !visible(p, d) {
		return ErrNotFound
	}
	r := rules[act]
	if p.Role != r.role || !owns(p, d) {
		return auth.ErrForbidden
	}
	if !Allowed(act, d.State) {
		return illegal(d.State, act)
	}
	return nil
}

// visible says whether p may see d at all: the applicant, the agency in
// charge, officers and admins.
func visible(p *auth.Principal, d *Dossier) bool {
	if p == nil {
		return false
	}
	switch p.Role {
	case auth.RoleCitizen:
		return p.Subject == d.Applicant
	case auth.RoleAgency:
		return p.AgencyCode != "" && p.AgencyCode == d.AgencyCode
	case auth.RoleOfficer, auth.RoleAdmin:
		return true
	}
	return false
}

// owns says whether p acts for the party of d it claims to be.
func owns(p *auth.Principal, d *Dossier) bool {
	switch p.Role {
	case auth.RoleCitizen:
		return p.Subject == d.Applicant
	case auth.RoleAgency:
		return p.AgencyCode == d.AgencyCode
	}
	return false
}

type applyFunc func(tx *sql.Tx, d *Dossier, now time.Time, details map[string]any) error

// transition runs one step in a transaction: lock and re-read the dossier,
// authorize, check the state (and the version read by precheck, when not
// zero), apply, bump the version with a compare-and-set, seal the event and
// append it to the audit log. Either all of it is committed or none.
func (s *Service) transition(ctx context.Context, p *auth.Principal, id string, act Action, version int64, apply applyFunc) (*Dossier, error) {
	var out *Dossier
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		d, err := s.load(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := authorize(p, d, act); err != nil {
			return err
		}
		if version != 0 && d.Version != version {
			return ErrVersionConflict.With("state", string(d.State))
		}
		from := d.State
		if to := rules[act].to; to != "" {
			d.State = to
		}
		now := s.clock()
		details := map[string]any{}
		if err := apply(tx, d, now, details); err != nil {
			return err
		}
		d.UpdatedAt = now
		res, err := tx.ExecContext(ctx, `UPDATE dossiers SET state = $1, version = version + 1, decision = $2, decision_note = $3,
			decided_by = $4, has_digitized = $5, result_sha256 = $6, received_at = $7, processed_at = $8, result_signed_at = $9,
			returned_at = $10, acknowledged_at = $11, closed_at = $12, updated_at = $13, decided_by_name = $16, decided_by_title = $17
			WHERE id = $14 AND version = $15`,
			string(d.State), d.Decision, d.DecisionNote, d.DecidedBy, boolInt(d.HasDigitized), d.ResultSHA256,
			ms(d.ReceivedAt), ms(d.ProcessedAt), ms(d.ResultSignedAt), ms(d.ReturnedAt), ms(d.AcknowledgedAt), ms(d.ClosedAt),
			now.UnixMilli(), d.ID, d.Version, d.DecidedByName, d.DecidedByTitle)
		if err != nil {
			return fmt.Errorf("dossier: update %s: %w", d.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("dossier: update %s: %w", d.ID, err)
		} else if n != 1 {
			return ErrVersionConflict.With("state", string(from))
		}
		d.Version++
		if err := s.record(ctx, tx, p, d, act, from, d.State, now, details); err != nil {
			return err
		}
		out = d
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "dossier step", "dossier", out.ID, "action", string(act), "state", string(out.State), "actor", actorName(p))
	return out, nil
}

// record seals the event of a step and appends it to the dossier's history
// and to the audit log, inside tx.
func (s *Service) record(ctx context.Context, tx *sql.Tx, p *auth.Principal, d *Dossier, act Action, from, to State, now time.Time, details map[string]any) error {
	raw, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("dossier: encode event details: %w", err)
	}
	e := Event{DossierID: d.ID, Seq: d.Version, At: now, Actor: actorName(p), Role: string(p.Role), Action: act,
		From: from, To: to, Details: raw}
	if err := e.seal(s.key); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO dossier_events (dossier_id, seq, at, actor, role, action, from_state, to_state, details, key_id, signature)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, e.DossierID, e.Seq, now.UnixMilli(), e.Actor, e.Role, string(act),
		string(from), string(to), string(raw), e.KeyID, e.Signature); err != nil {
		if store.IsUniqueViolation(err) {
			return ErrVersionConflict.With("state", string(from))
		}
		return fmt.Errorf("dossier: record event: %w", err)
	}
	digest, _ := e.Digest()
	ad := map[string]any{"seq": e.Seq, "from": string(from), "to": string(to), "event_sha256": hex.EncodeToString(digest),
		"agency_code": d.AgencyCode, "procedure_code": d.ProcedureCode}
	if act == ActSignResult {
		ad["result_sha256"] = d.ResultSHA256 // the receipt names the e-result
	}
	d.AuditEntry = audit.NewID()
	return s.audit.AppendTx(ctx, tx, audit.Event{
		ID: d.AuditEntry, Actor: e.Actor, Role: e.Role, Action: "dossier." + string(act), Object: "dossier/" + d.ID, Details: ad,
	})
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const dossierColumns = `id, procedure_code, applicant, agency_code, state, version, form_kind, form_sha256, form_signer,
	decision, decision_note, decided_by, has_digitized, result_sha256, submitted_at, received_at, processed_at,
	result_signed_at, returned_at, acknowledged_at, closed_at, updated_at, applicant_name, decided_by_name,
	decided_by_title, result_number`

type scanner interface{ Scan(dest ...any) error }

func scanDossier(r scanner) (*Dossier, error) {
	var d Dossier
	var state string
	var hasDig int64
	var sub, rec, proc, signed, ret, ack, closed, upd int64
	if err := r.Scan(&d.ID, &d.ProcedureCode, &d.Applicant, &d.AgencyCode, &state, &d.Version, &d.FormKind, &d.FormSHA256,
		&d.FormSigner, &d.Decision, &d.DecisionNote, &d.DecidedBy, &hasDig, &d.ResultSHA256, &sub, &rec, &proc, &signed,
		&ret, &ack, &closed, &upd, &d.ApplicantName, &d.DecidedByName, &d.DecidedByTitle, &d.ResultNumber); err != nil {
		return nil, err
	}
	d.State, d.HasDigitized = State(state), hasDig != 0
	d.SubmittedAt, d.ReceivedAt, d.ProcessedAt, d.ResultSignedAt = tm(sub), tm(rec), tm(proc), tm(signed)
	d.ReturnedAt, d.AcknowledgedAt, d.ClosedAt, d.UpdatedAt = tm(ret), tm(ack), tm(closed), tm(upd)
	return &d, nil
}

// load reads a dossier; forUpdate locks the row on PostgreSQL (SQLite
// transactions already hold the write lock).
func (s *Service) load(ctx context.Context, q querier, id string, forUpdate bool) (*Dossier, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	query := "SELECT " + dossierColumns + " FROM dossiers WHERE id = $1"
	if forUpdate && s.db.Dialect == store.Postgres {
		query += " FOR UPDATE"
	}
	d, err := scanDossier(q.QueryRowContext(ctx, query, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("dossier: read %s: %w", id, err)
	}
	return d, nil
}

func (s *Service) files(ctx context.Context, id string) ([]FileInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, kind, content_type, size, sha256, seal, seal_cert, added_by, added_at
		FROM dossier_files WHERE dossier_id = $1 ORDER BY added_at, name`, id)
	if err != nil {
		return nil, fmt.Errorf("dossier: list files: %w", err)
	}
	defer rows.Close()
	var out []FileInfo
	for rows.Next() {
		var f FileInfo
		var at int64
		if err := rows.Scan(&f.Name, &f.Kind, &f.ContentType, &f.Size, &f.SHA256, &f.Seal, &f.SealCert, &f.AddedBy, &at); err != nil {
			return nil, fmt.Errorf("dossier: list files: %w", err)
		}
		f.AddedAt = tm(at)
		out = append(out, f)
	}
	return out, rows.Err()
}

type sealed struct{ sig, cert []byte }

func (s *Service) insertFiles(ctx context.Context, tx *sql.Tx, id, kind string, files []FileInput, p *auth.Principal, now time.Time, seals []sealed) error {
	var count int
	if len(files) > 0 {
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM dossier_files WHERE dossier_id = $1", id).Scan(&count); err != nil {
			return fmt.Errorf("dossier: count files: %w", err)
		}
		if count+len(files) > s.limits.MaxFiles*3 {
			return problem.Newf(http.StatusRequestEntityTooLarge, "too-many-files", "a dossier holds at most %d files", s.limits.MaxFiles*3)
		}
	}
	for i, f := range files {
		sum := sha256.Sum256(f.Data)
		var sig, cert []byte
		if seals != nil {
			sig, cert = seals[i].sig, seals[i].cert
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO dossier_files (dossier_id, name, kind, content_type, size, sha256, seal, seal_cert, data, added_by, added_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, id, f.Name, kind, f.ContentType, int64(len(f.Data)),
			hex.EncodeToString(sum[:]), sig, cert, f.Data, actorName(p), now.UnixMilli())
		if store.IsUniqueViolation(err) {
			return ErrFileExists.With("name", f.Name)
		}
		if err != nil {
			return fmt.Errorf("dossier: store file %s: %w", f.Name, err)
		}
	}
	return nil
}

// checkFiles validates names, types and sizes; it returns the files with
// normalised content types.
func (s *Service) checkFiles(in []FileInput) ([]FileInput, error) {
	if len(in) > s.limits.MaxFiles {
		return nil, problem.Newf(http.StatusRequestEntityTooLarge, "too-many-files", "at most %d files per request", s.limits.MaxFiles)
	}
	seen := map[string]bool{}
	out := make([]FileInput, 0, len(in))
	for _, f := range in {
		if !fileNamePattern.MatchString(f.Name) {
			return nil, invalid("file name %q must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", f.Name)
		}
		if seen[f.Name] {
			return nil, invalid("file name %q is used twice", f.Name)
		}
		seen[f.Name] = true
		if len(f.Data) == 0 {
			return nil, invalid("file %q is empty", f.Name)
		}
		if int64(len(f.Data)) > s.limits.MaxFileBytes {
			return nil, tooLarge("file "+f.Name, s.limits.MaxFileBytes)
		}
		ct := f.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, invalid("file %q: content_type %q is not a media type", f.Name, f.ContentType)
		}
		f.ContentType = mime.FormatMediaType(mt, params)
		out = append(out, f)
	}
	return out, nil
}

func (s *Service) checkNote(note string, required bool) error {
	if required && note == "" {
		return invalid("a note (reason) is required")
	}
	if len(note) > s.limits.MaxNoteBytes {
		return invalid("the note is longer than %d bytes", s.limits.MaxNoteBytes)
	}
	return nil
}

func tooLarge(what string, limit int64) error {
	return problem.Newf(http.StatusRequestEntityTooLarge, "file-too-large", "%s is larger than %d bytes", what, limit)
}

func fileDigests(files []FileInput) []map[string]any {
	out := make([]map[string]any, len(files))
	for i, f := range files {
		sum := sha256.Sum256(f.Data)
		out[i] = map[string]any{"name": f.Name, "sha256": hex.EncodeToString(sum[:]), "size": len(f.Data)}
	}
	return out
}

// applicantName is the citizen's full name from the verified identity
// assertion.
func applicantName(p *auth.Principal) string {
	if p.Assertion != nil && p.Assertion.Name != "" {
		return cleanText(p.Assertion.Name)
	}
	return cleanText(p.Name)
}

// cleanText is s in NFC with surrounding space and control characters
// removed, as documents print names.
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(norm.NFC.String(s))
}

func actorName(p *auth.Principal) string {
	if p == nil {
		return ""
	}
	return p.Subject
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "dos_" + hex.EncodeToString(b)
}

func looksLikePDF(b []byte) bool { return len(b) > 5 && string(b[:5]) == "%PDF-" }

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func tm(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.clock() }
