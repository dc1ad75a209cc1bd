package dossier

import (
	"context"
	"net/http"
	"regexp"
	"time"

	"kyso/auth"
	"kyso/problem"
)

// State is where a dossier stands in the five-step process.
type State string

// The states. Submitted, received, processed, result_signed and returned are
// the five steps; supplement_requested is the agency waiting for the citizen,
// acknowledged closes a returned dossier once the citizen confirms receipt,
// rejected closes it without a result.
const (
	StateSubmitted           State = "submitted"
	StateReceived            State = "received"
	StateSupplementRequested State = "supplement_requested"
	StateProcessed           State = "processed"
	StateResultSigned        State = "result_signed"
	StateReturned            State = "returned"
	StateAcknowledged        State = "acknowledged"
	StateRejected            State = "rejected"
)

// States lists every state in process order.
func States() []State {
	return []State{StateSubmitted, StateReceived, StateSupplementRequested, StateProcessed,
		StateResultSigned, StateReturned, StateAcknowledged, StateRejected}
}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, v := range States() {
		if v == s {
			return true
		}
	}
	return false
}

// Action is a transition (or, for a note, a recorded step that keeps the
// state).
type Action string

// The actions.
const (
	ActSubmit            Action = "submit"
	ActReceive           Action = "receive"
	ActRequestSupplement Action = "request-supplement"
	ActSupplement        Action = "supplement"
	ActReject            Action = "reject"
	ActDecide            Action = "decide"
	ActSignResult        Action = "sign-result"
	ActReturn            Action = "return"
	ActAcknowledge       Action = "acknowledge"
)

// rule says who may take an action and from which states.
type rule struct {
	role auth.Role
	from []State
	to   State
}

// rules is the state machine. A rule without a target state leaves the
// state to the step: ActDecide goes to processed for approve and deny, a
// note keeps the state (see Service.Decide).
var rules = map[Action]rule{
	ActReceive:           {auth.RoleAgency, []State{StateSubmitted}, StateReceived},
	ActRequestSupplement: {auth.RoleAgency, []State{StateSubmitted, StateReceived, StateProcessed}, StateSupplementRequested},
	ActSupplement:        {auth.RoleCitizen, []State{StateSupplementRequested}, StateReceived},
	ActReject:            {auth.RoleAgency, []State{StateSubmitted, StateReceived, StateSupplementRequested, StateProcessed}, StateRejected},
	ActDecide:            {auth.RoleAgency, []State{StateReceived, StateProcessed}, ""},
	ActSignResult:        {auth.RoleAgency, []State{StateProcessed}, StateResultSigned},
	ActReturn:            {auth.RoleAgency, []State{StateResultSigned}, StateReturned},
	ActAcknowledge:       {auth.RoleCitizen, []State{StateReturned}, StateAcknowledged},
}

// Allowed reports whether action may be taken from state.
func Allowed(action Action, from State) bool {
	r, ok := rules[action]
	if !ok {
		return false
	}
	for _, s := range r.from {
		if s == from {
			return true
		}
	}
	return false
}

// Decision values.
const (
	DecisionApprove = "approve"
	DecisionDeny    = "deny"
	DecisionNote    = "note"
)

// File kinds.
const (
	FileAttachment = "attachment"
	FileDigitized  = "digitized"
	FileSupplement = "supplement"
)

// Form kinds.
const (
	FormJWS = "jws"
	FormPDF = "pdf"
)

// Dossier is one application moving through the process. Zero times are
// steps not reached yet.
type Dossier struct {
	ID            string
	ProcedureCode string
	Applicant     string
	// ApplicantName is the applicant's full name from the verified
	// identity, as the e-result prints it.
	ApplicantName string
	AgencyCode    string
	State         State
	Version       int64

	FormKind   string
	FormSHA256 string
	FormSigner string

	Decision     string
	DecisionNote string
	DecidedBy    string
	// DecidedByName and DecidedByTitle are the deciding officer's full
	// name and position, printed on the e-result.
	DecidedByName  string
	DecidedByTitle string

	HasDigitized bool
	ResultSHA256 string
	// ResultNumber is the generated e-result's number and symbol
	// ("15/KQ-UBND-HN").
	ResultNumber string

	// AuditEntry is the id of the audit log entry of the step that returned
	// this dossier (of its result's signing, for Result); GET
	// /v1/audit/receipts/{id} proves it is in the log. Not stored.
	AuditEntry string

	SubmittedAt    time.Time
	ReceivedAt     time.Time
	ProcessedAt    time.Time
	ResultSignedAt time.Time
	ReturnedAt     time.Time
	AcknowledgedAt time.Time
	ClosedAt       time.Time
	UpdatedAt      time.Time

	// Files and Events are filled by Get.
	Files  []FileInfo
	Events []Event
}

// FileInfo describes a stored file without its content.
type FileInfo struct {
	Name        string
	Kind        string
	ContentType string
	Size        int64
	SHA256      string
	// Seal is the agency's signature over the SHA-256 digest (digitized
	// inputs) and SealCert the sealing certificate (DER).
	Seal     []byte
	SealCert []byte
	AddedBy  string
	AddedAt  time.Time
}

// File is a stored file with its content.
type File struct {
	FileInfo
	Data []byte
}

// FileInput is a file sent by a client.
type FileInput struct {
	Name        string
	ContentType string
	Data        []byte
}

// Form is the signed application form: exactly one of JWS (compact
// serialization) and PDF.
type Form struct {
	JWS string
	PDF []byte
}

// Limits bound what a dossier may hold.
type Limits struct {
	MaxFileBytes   int64
	MaxFiles       int
	MaxResultBytes int64
	MaxNoteBytes   int
}

// DefaultLimits are used for zero fields of Config.Limits.
func DefaultLimits() Limits {
	return Limits{MaxFileBytes: 10 << 20, MaxFiles: 20, MaxResultBytes: 20 << 20, MaxNoteBytes: 4096}
}

// Stamp places the seal's visible signature: page (1-based) and rectangle
// in PDF points from the page's bottom-left corner.
type Stamp struct {
	Page                int
	X, Y, Width, Height float64
}

// Sealer seals with an agency's key: a PDF at PAdES B-LT or better (with a
// visible stamp when stamp is not nil), and a SHA-256 digest (returning the
// signature and the sealing certificate).
type Sealer interface {
	SealPDF(ctx context.Context, agencyCode string, pdf []byte, stamp *Stamp) ([]byte, error)
	SealDigest(ctx context.Context, agencyCode string, digest []byte) (sig []byte, certDER []byte, err error)
}

// FormCheck is what a FormVerifier found out about a form.
type FormCheck struct {
	Kind string
	// Signer is the signing certificate's subject and UID its userId
	// attribute ("CCCD:<id>").
	Signer string
	UID    string
}

// FormVerifier checks the signature of an application form and that the
// applicant signed it. Failures the client must see are *problem.Error.
type FormVerifier interface {
	VerifyForm(ctx context.Context, applicant string, form Form) (*FormCheck, error)
}

// Errors callers branch on.
var (
	ErrNotFound = problem.New(http.StatusNotFound, "not-found", "no such dossier")
	// ErrIllegalTransition is returned with the current state as the
	// problem's "state" member.
	ErrIllegalTransition = problem.New(http.StatusConflict, "illegal-transition", "the dossier's state does not allow this step")
	ErrVersionConflict   = problem.New(http.StatusConflict, "version-conflict", "the dossier changed meanwhile; read it again")
	ErrFileNotFound      = problem.New(http.StatusNotFound, "not-found", "no such file in the dossier")
	ErrNoResult          = problem.New(http.StatusNotFound, "not-found", "the dossier has no e-result to download")
	ErrFileExists        = problem.New(http.StatusConflict, "file-exists", "the dossier already holds a file with this name")
	ErrUnknownAgency     = problem.New(http.StatusUnprocessableEntity, "unknown-agency", "no agency with this code")
	ErrNoDecision        = problem.New(http.StatusConflict, "no-decision", "record an approve or deny decision, or upload the result PDF")
	ErrFormSignature     = problem.New(http.StatusUnprocessableEntity, "form-signature-invalid", "the application form's signature does not verify")
	ErrFormSigner        = problem.New(http.StatusUnprocessableEntity, "form-signer-mismatch", "the application form is not signed by the applicant")
)

func invalid(format string, args ...any) error {
	return problem.Newf(http.StatusBadRequest, "invalid-request", format, args...)
}

func illegal(state State, action Action) error {
	p := problem.Newf(http.StatusConflict, ErrIllegalTransition.Code, "%s is not allowed when the dossier is %s", action, state)
	return p.With("state", string(state))
}

var (
	procedurePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	fileNamePattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	citizenIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	idPattern        = regexp.MustCompile(`^dos_[0-9a-f]{24}$`)
)

// ValidID reports whether id has the form of a dossier ID.
func ValidID(id string) bool { return idPattern.MatchString(id) }
