package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"kyso/dossier"
	"kyso/problem"
	"kyso/verifier"
	"kyso/verifier/report"
	"kyso/web"
)

// ResultCheckArea serves the public verification of a sealed e-result, the
// address its QR code encodes: GET /verify/r/{id} (page) and
// GET /v1/verify/r/{id} (JSON) give the verification report of the stored
// original; POST to either compares a file, or a SHA-256 typed from a
// copy, with the original. Nothing else about the dossier is shown, and
// the original itself is not handed out.
type ResultCheckArea struct {
	svc  *dossier.Service
	v    *verifier.Verifier
	log  *slog.Logger
	page *template.Template
	// MaxDocument bounds compared files (default verifier.MaxInput).
	MaxDocument int64

	slots chan struct{}
	mu    sync.Mutex
	cache map[string]cachedReport
	now   func() time.Time
}

type cachedReport struct {
	rep *report.Report
	at  time.Time
}

// Reports of stored e-results are kept for reportTTL, at most
// maxCachedReports of them, so that scanning a QR code costs one
// verification every few minutes, not one per visit.
const (
	reportTTL        = 10 * time.Minute
	maxCachedReports = 256
)

// NewResultCheckArea returns the e-result verification area.
func NewResultCheckArea(svc *dossier.Service, v *verifier.Verifier, log *slog.Logger) (*ResultCheckArea, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t, err := report.HTMLTemplate()
	if err != nil {
		return nil, fmt.Errorf("e-result page: %w", err)
	}
	if t, err = t.ParseFS(web.Verify, "verify/*.html"); err != nil {
		return nil, fmt.Errorf("e-result page: %w", err)
	}
	return &ResultCheckArea{svc: svc, v: v, log: log, page: t, MaxDocument: verifier.MaxInput,
		slots: make(chan struct{}, verifySlots), cache: map[string]cachedReport{}, now: time.Now}, nil
}

// Routes registers the routes.
func (a *ResultCheckArea) Routes(r *Router) {
	limit := MaxBody(a.MaxDocument + 1<<20)
	r.Handle(http.MethodGet, "/verify/r/{id}", Public, a.showPage)
	r.Handle(http.MethodPost, "/verify/r/{id}", Public, a.comparePage, limit)
	r.Handle(http.MethodGet, "/v1/verify/r/{id}", Public, a.getJSON)
	r.Handle(http.MethodPost, "/v1/verify/r/{id}", Public, a.compareJSON, limit)
}

// resultCheck is the JSON body of GET /v1/verify/r/{id}.
type resultCheck struct {
	ID     string         `json:"id"`
	Number string         `json:"number,omitempty"`
	SHA256 string         `json:"sha256"`
	Report *report.Report `json:"report"`
}

// comparison is the outcome of comparing a file with the original.
type comparison struct {
	Matches        bool   `json:"matches"`
	SHA256         string `json:"sha256"`
	OriginalSHA256 string `json:"original_sha256"`
}

// check loads the stored e-result and its (cached) verification report.
func (a *ResultCheckArea) check(r *http.Request) (*resultCheck, error) {
	res, err := a.svc.PublicResult(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	c, ok := a.cache[res.SHA256]
	a.mu.Unlock()
	if ok && a.now().Sub(c.at) < reportTTL {
		return &resultCheck{ID: res.ID, Number: res.Number, SHA256: res.SHA256, Report: c.rep}, nil
	}
	select {
	case a.slots <- struct{}{}:
		defer func() { <-a.slots }()
	case <-r.Context().Done():
		return nil, problem.New(http.StatusServiceUnavailable, "busy", "too many verifications in progress; try again")
	}
	rep, err := a.v.Verify(r.Context(), verifier.Input{Data: res.PDF})
	if err != nil {
		return nil, fmt.Errorf("verify stored e-result %s: %w", res.ID, err)
	}
	a.mu.Lock()
	if len(a.cache) >= maxCachedReports {
		for k, v := range a.cache {
			if a.now().Sub(v.at) >= reportTTL || len(a.cache) >= maxCachedReports {
				delete(a.cache, k)
			}
		}
	}
	a.cache[res.SHA256] = cachedReport{rep: rep, at: a.now()}
	a.mu.Unlock()
	a.log.InfoContext(r.Context(), "e-result verified", "request_id", RequestID(r.Context()), "dossier", res.ID,
		"indication", rep.Status.MainIndication)
	return &resultCheck{ID: res.ID, Number: res.Number, SHA256: res.SHA256, Report: rep}, nil
}

// candidate reads what to compare: a raw body, or a multipart form with a
// "file" or a "sha256" field. It returns the candidate's SHA-256 (hex).
func (a *ResultCheckArea) candidate(r *http.Request) (string, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return a.digest(r.Body)
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	sum := ""
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", BodyError(err)
		}
		switch part.FormName() {
		case "file":
			d, n, err := a.digestN(part)
			if err != nil {
				return "", err
			}
			if n > 0 {
				sum = d
			}
		case "sha256":
			b, err := io.ReadAll(io.LimitReader(part, 200))
			if err != nil {
				return "", BodyError(err)
			}
			if v := strings.ToLower(strings.TrimSpace(string(b))); v != "" && sum == "" {
				if raw, err := hex.DecodeString(v); err != nil || len(raw) != sha256.Size {
					return "", problem.New(http.StatusBadRequest, "bad-digest", "sha256 must be 64 hexadecimal digits")
				}
				sum = v
			}
		}
		part.Close()
	}
	if sum == "" {
		return "", problem.New(http.StatusBadRequest, "missing-file", "send a file (field \"file\") or a SHA-256 (field \"sha256\")")
	}
	return sum, nil
}

func (a *ResultCheckArea) digest(rd io.Reader) (string, error) {
	d, n, err := a.digestN(rd)
	if err == nil && n == 0 {
		err = problem.New(http.StatusBadRequest, "missing-file", "the body is empty")
	}
	return d, err
}

func (a *ResultCheckArea) digestN(rd io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(rd, a.MaxDocument+1))
	if err != nil {
		return "", 0, BodyError(err)
	}
	if n > a.MaxDocument {
		return "", 0, problem.Newf(http.StatusRequestEntityTooLarge, "body-too-large", "the file is larger than %d bytes", a.MaxDocument)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func (a *ResultCheckArea) getJSON(w http.ResponseWriter, r *http.Request) {
	c, err := a.check(r)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, c)
}

func (a *ResultCheckArea) compareJSON(w http.ResponseWriter, r *http.Request) {
	res, err := a.svc.PublicResult(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	sum, err := a.candidate(r)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, comparison{Matches: sum == res.SHA256, SHA256: sum, OriginalSHA256: res.SHA256})
}

type resultPage struct {
	Action  string
	ID      string
	Number  string
	SHA256  string
	Report  *report.Report
	Compare *comparison
	Error   string
}

func (a *ResultCheckArea) showPage(w http.ResponseWriter, r *http.Request) {
	c, err := a.check(r)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	a.render(w, http.StatusOK, resultPage{Action: dossier.VerifyPath + c.ID, ID: c.ID, Number: c.Number, SHA256: c.SHA256, Report: c.Report})
}

func (a *ResultCheckArea) comparePage(w http.ResponseWriter, r *http.Request) {
	sum, cerr := a.candidate(r)
	c, err := a.check(r)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	p := resultPage{Action: dossier.VerifyPath + c.ID, ID: c.ID, Number: c.Number, SHA256: c.SHA256, Report: c.Report}
	status := http.StatusOK
	if cerr != nil {
		status, p.Error = http.StatusBadRequest, "Không so sánh được / Nothing to compare."
		if pe, ok := problem.As(cerr); ok {
			status, p.Error = pe.Status, "Không so sánh được / Cannot compare: "+pe.Detail
		}
	} else {
		p.Compare = &comparison{Matches: sum == c.SHA256, SHA256: sum, OriginalSHA256: c.SHA256}
	}
	a.render(w, status, p)
}

func (a *ResultCheckArea) pageError(w http.ResponseWriter, r *http.Request, err error) {
	if pe, ok := problem.As(err); ok && pe.Status < 500 {
		a.render(w, pe.Status, resultPage{Error: "Không tìm thấy kết quả điện tử này. No such e-result."})
		return
	}
	a.log.ErrorContext(r.Context(), "e-result page", "err", err)
	a.render(w, http.StatusInternalServerError, resultPage{Error: "Không kiểm tra được lúc này. The e-result cannot be verified now."})
}

func (a *ResultCheckArea) render(w http.ResponseWriter, status int, p resultPage) {
	htmlPage(w, a.log, a.page, "verify-result-page", p, status,
		"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'", "Referrer-Policy", "no-referrer")
}
