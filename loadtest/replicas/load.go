// Package replicas is the load and the checks of the replica fault test
// (make replicas-test): citizens with synthetic chip cards and an agency
// drive a mixed load through a load balancer in front of several kyso
// serve replicas while the test script kills a replica and restarts the
// network HSM; every acknowledged record (certificate, revocation,
// signature, dossier step) is noted from the client's side, then looked up
// in the database, and every revoked certificate is checked in OCSP and in
// its CRL shard on each replica directly.
//
// It reaches the server only through kyso/apiclient and links the test
// fixtures (synthetic cards), so it belongs to the development binary.
package replicas

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"kyso/apiclient"
	certstest "kyso/certs-test"
	"kyso/loadtest/scenario"
)

// Record kinds: what the service acknowledged and the check looks up.
const (
	KindCertificate = "certificates"
	KindRevocation  = "revocations"
	KindSignature   = "signatures"
	KindDossierStep = "dossier_steps"
)

// Kinds are the record kinds, in report order.
var Kinds = []string{KindCertificate, KindRevocation, KindSignature, KindDossierStep}

// Record is one acknowledged record.
type Record struct {
	Kind string `json:"kind"`
	// ID is the certificate serial, the signature's audit log entry or
	// the dossier id.
	ID string `json:"id"`
	// Certificate is the issued certificate (PEM) of a certificate or a
	// revocation, for the OCSP and CRL checks.
	Certificate string `json:"certificate,omitempty"`
	// State is a dossier's state after the step.
	State string `json:"state,omitempty"`
}

// Op is one operation of the load, timed from the client.
type Op struct {
	Worker  int       `json:"worker"`
	Name    string    `json:"op"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Err     string    `json:"error,omitempty"`
	Records []Record  `json:"records,omitempty"`
}

// Credentials is what the load needs of the dev credentials file written
// by kyso-dev dev setup: the agency that receives dossiers and seals.
type Credentials struct {
	Agency struct {
		Agency string `json:"agency"`
		Token  string `json:"token"`
	} `json:"agency"`
}

// LoadCredentials reads the dev credentials file.
func LoadCredentials(path string, read func(string) ([]byte, error)) (*Credentials, error) {
	b, err := read(path)
	if err != nil {
		return nil, fmt.Errorf("replicas: credentials: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("replicas: credentials %s: %w", path, err)
	}
	if c.Agency.Agency == "" || c.Agency.Token == "" {
		return nil, fmt.Errorf("replicas: credentials %s: no agency code or token", path)
	}
	return &c, nil
}

// LoadOptions shape the load.
type LoadOptions struct {
	// URL is the load balancer.
	URL string
	// Credentials are the agency's.
	Credentials *Credentials
	// Workers are concurrent citizens (default 2).
	Workers int
	// Duration bounds the load: no iteration starts after it, but every
	// worker walks one at least (default 30 s).
	Duration time.Duration
	// IssuerSeed derives the cards' test CSCA that the server trusts
	// (default "kyso-dev").
	IssuerSeed string
	// HTTP is the client (default: 60 s timeout, no connection reuse
	// across a killed replica is needed: the balancer redispatches).
	HTTP *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// ProcedureCode is the procedure of the load's dossiers (birth
// registration).
const ProcedureCode = "1.001612"

// citizenPIN protects every load citizen's remote key.
const citizenPIN = "731905"

// es256 is the CSC signAlgo of ECDSA with SHA-256.
const es256 = "1.2.840.10045.4.3.2"

// Load runs the mixed load until the duration passes and returns every
// operation with its outcome and the records it acknowledged. Each worker
// is one citizen with a synthetic card: it enrols a remote key once, then
// loops over chip identity, CSR enrolment, revocation of that certificate,
// a CSC signHash and a JWS with its remote key, a PDF sealed by the agency
// and the five dossier steps of an application it files and acknowledges.
func Load(ctx context.Context, o LoadOptions) ([]Op, error) {
	if o.Workers < 1 {
		o.Workers = 2
	}
	if o.Duration <= 0 {
		o.Duration = 30 * time.Second
	}
	if o.IssuerSeed == "" {
		o.IssuerSeed = "kyso-dev"
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 60 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Credentials == nil {
		return nil, errors.New("replicas: no credentials")
	}
	chips, err := scenario.NewCitizens(o.Workers, o.IssuerSeed, 50000+int(o.Now().Unix()%40000))
	if err != nil {
		return nil, err
	}
	api := apiclient.New(o.URL, o.HTTP)
	deadline := o.Now().Add(o.Duration)
	var (
		mu  sync.Mutex
		ops []Op
		wg  sync.WaitGroup
	)
	for w := range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &citizen{o: o, api: api, chip: chips[w], worker: w + 1}
			// Every worker walks at least one iteration.
			for first := true; first || (o.Now().Before(deadline) && ctx.Err() == nil); first = false {
				n := len(c.ops)
				c.iterate(ctx)
				if c.failedSince(n) {
					// A client pauses before trying again.
					select {
					case <-ctx.Done():
					case <-time.After(retryPause):
					}
				}
			}
			mu.Lock()
			ops = append(ops, c.ops...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return ops, nil
}

type citizen struct {
	o          LoadOptions
	api        *apiclient.Client
	chip       *certstest.Chip
	worker     int
	credential string
	assertion  string
	// held is a certificate for a key of the citizen's own that is not yet
	// revoked: its revocation did not happen (an identity check before it
	// failed) or failed, or its enrolment's answer was lost. The server
	// issues no other such certificate while it is valid, so the next
	// iteration revokes it before enrolling again.
	held *heldCert
	// enrolUnanswered is set while the last CSR enrolment failed without
	// the server's answer (a transport error or a 5xx): it may have been
	// stored. revoked holds the serials whose revocation was acknowledged.
	enrolUnanswered bool
	revoked         map[string]bool
	ops             []Op
}

type heldCert struct {
	apiclient.Enrolled
	// revokeFailed: a revocation was tried and failed, so it may have
	// been stored without its answer.
	revokeFailed bool
}

// unanswered reports whether err leaves the outcome open: no answer from
// the server, or a 5xx one.
func unanswered(err error) bool {
	var pe *apiclient.ProblemError
	return !errors.As(err, &pe) || pe.Status >= 500
}

// retryPause is how long a worker waits after a failed operation.
const retryPause = 250 * time.Millisecond

// failedSince reports whether an operation from the n-th on failed.
func (c *citizen) failedSince(n int) bool {
	for _, op := range c.ops[n:] {
		if op.Err != "" {
			return true
		}
	}
	return false
}

// do runs one operation and notes it.
func (c *citizen) do(name string, fn func() ([]Record, error)) error {
	op := Op{Worker: c.worker, Name: name, Start: c.o.Now()}
	recs, err := fn()
	op.End = c.o.Now()
	if err != nil {
		op.Err = err.Error()
	} else {
		op.Records = recs
	}
	c.ops = append(c.ops, op)
	return err
}

// revokeHeld revokes the certificate in c.held and forgets it.
func (c *citizen) revokeHeld(ctx context.Context) error {
	h := c.held
	return c.do("revoke", func() ([]Record, error) {
		err := c.api.Revoke(ctx, c.assertion, h.Serial, "superseded")
		// already-revoked after a failed attempt: that attempt was stored
		// but its answer lost, and the server confirms it now.
		if err != nil && !(h.revokeFailed && apiclient.Code(err) == "already-revoked") {
			h.revokeFailed = true
			return nil, err
		}
		c.held = nil
		if c.revoked == nil {
			c.revoked = map[string]bool{}
		}
		c.revoked[h.Serial] = true
		return []Record{{Kind: KindRevocation, ID: h.Serial, Certificate: h.Certificate}}, nil
	})
}

// identify proves the citizen's identity with the chip and keeps the
// assertion.
func (c *citizen) identify(ctx context.Context) error {
	return c.do("identity", func() ([]Record, error) {
		a, err := scenario.VerifyChip(ctx, c.api, c.chip)
		if err == nil {
			c.assertion = a
		}
		return nil, err
	})
}

func (c *citizen) iterate(ctx context.Context) {
	if c.identify(ctx) != nil {
		return
	}
	if c.credential == "" {
		err := c.do("enrol-remote", func() ([]Record, error) {
			e, err := c.api.EnrollRemote(ctx, c.assertion, citizenPIN)
			if err != nil {
				return nil, err
			}
			c.credential = e.CredentialID
			return []Record{{Kind: KindCertificate, ID: e.Serial, Certificate: e.Certificate}}, nil
		})
		if apiclient.Code(err) == "credential-exists" {
			// An earlier attempt was stored but its answer lost.
			if ids, lerr := c.api.Credentials(ctx, c.assertion); lerr == nil && len(ids) > 0 {
				c.credential = ids[0]
			}
		}
		if c.identify(ctx) != nil {
			return
		}
	}
	// CSR enrolment (the assertion is single-use for it), then revocation
	// of that certificate.
	if c.held != nil && c.revokeHeld(ctx) != nil {
		return
	}
	csr, err := scenario.NewCSR()
	if err != nil {
		return
	}
	if err := c.do("enrol-csr", func() ([]Record, error) {
		enrolled, err := c.api.Enroll(ctx, c.assertion, csr)
		if err != nil {
			return nil, err
		}
		c.held = &heldCert{Enrolled: enrolled}
		return []Record{{Kind: KindCertificate, ID: enrolled.Serial, Certificate: enrolled.Certificate}}, nil
	}); err != nil {
		serial := apiclient.Member(err, "serial")
		// The enrolment before this one went unanswered and was stored:
		// revoke what it issued. A serial whose revocation was
		// acknowledged is not revoked again: the server lost it, and the
		// check reports it.
		if apiclient.Code(err) == "certificate-exists" && serial != "" && c.enrolUnanswered && !c.revoked[serial] {
			c.held = &heldCert{Enrolled: apiclient.Enrolled{Serial: serial}}
		}
		c.enrolUnanswered = unanswered(err)
		return
	}
	c.enrolUnanswered = false
	if c.identify(ctx) != nil {
		return
	}
	_ = c.revokeHeld(ctx)
	if c.credential != "" {
		_ = c.do("csc-sign-hash", func() ([]Record, error) {
			h := sha256.Sum256([]byte(rand.Text()))
			_, entries, err := c.api.SignHash(ctx, apiclient.Signer{Token: c.assertion, CredentialID: c.credential, PIN: citizenPIN}, es256, [][]byte{h[:]})
			if err != nil {
				return nil, err
			}
			return signatures(entries)
		})
	}
	ag := c.o.Credentials.Agency
	_ = c.do("pdf-seal", func() ([]Record, error) {
		seals, err := c.api.Credentials(ctx, ag.Token)
		if err != nil {
			return nil, err
		}
		if len(seals) == 0 {
			return nil, errors.New("the agency has no seal")
		}
		_, entries, err := c.api.SignFileEntries(ctx, "pdf", apiclient.Signer{Token: ag.Token, SealID: seals[0]},
			map[string]string{"level": "B-T"}, "document.pdf", bytes.NewReader(scenario.SamplePDF(2)))
		if err != nil {
			return nil, err
		}
		return signatures(entries)
	})
	if c.credential != "" {
		c.dossier(ctx)
	}
}

// signatures are the records of the signatures whose audit entries an
// answer named; an answer naming none is an error.
func signatures(entries []string) ([]Record, error) {
	if len(entries) == 0 {
		return nil, errors.New("the answer names no audit log entry of the signature")
	}
	recs := make([]Record, len(entries))
	for i, id := range entries {
		recs[i] = Record{Kind: KindSignature, ID: id}
	}
	return recs, nil
}

type dossierView struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// dossier files an application signed with the citizen's remote key and
// walks it through the agency's steps to the citizen's acknowledgement.
func (c *citizen) dossier(ctx context.Context) {
	ag := c.o.Credentials.Agency
	var jws []byte
	if c.do("jws-sign", func() ([]Record, error) {
		payload, err := json.Marshal(map[string]any{"procedure_code": ProcedureCode, "agency_code": ag.Agency, "applicant": c.chip.Card.ID,
			"request": "birth registration (replica load)", "submitted_at": c.o.Now().UTC().Format(time.RFC3339)})
		if err != nil {
			return nil, err
		}
		b, h, err := c.api.DoHeader(ctx, jwsRequest(c.assertion, c.credential, payload), http.StatusOK)
		if err != nil {
			return nil, err
		}
		jws = bytes.TrimSpace(b)
		return signatures(apiclient.AuditEntries(h))
	}) != nil {
		return
	}
	var d dossierView
	step := func(name, method, path, token string, body any, want int) error {
		return c.do(name, func() ([]Record, error) {
			d = dossierView{}
			if err := c.api.JSON(ctx, method, path, token, body, want, &d); err != nil {
				return nil, err
			}
			if d.ID == "" || d.State == "" {
				return nil, errors.New("the answer names no dossier or state")
			}
			return []Record{{Kind: KindDossierStep, ID: d.ID, State: d.State}}, nil
		})
	}
	if step("dossier-submit", "POST", "/v1/dossiers", c.assertion, map[string]any{
		"procedure_code": ProcedureCode, "agency_code": ag.Agency, "form": map[string]string{"jws": string(jws)},
		"attachments": []map[string]any{{"name": "giay-chung-sinh.txt", "content_type": "text/plain", "data": []byte("birth certificate (replica load)\n")}},
	}, http.StatusCreated) != nil {
		return
	}
	path := "/v1/dossiers/" + d.ID
	for _, s := range []struct {
		name, path, token string
		body              any
	}{
		{"dossier-receive", path + "/receive", ag.Token, map[string]any{"note": "received (replica load)"}},
		{"dossier-decide", path + "/decisions", ag.Token, map[string]string{"decision": "approve", "note": "Hồ sơ hợp lệ.",
			"officer_name": "Trần Văn Bình", "officer_title": "Phó Chủ tịch"}},
		{"dossier-result", path + "/result", ag.Token, nil},
		{"dossier-return", path + "/return", ag.Token, nil},
		{"dossier-acknowledge", path + "/acknowledge", c.assertion, nil},
	} {
		if step(s.name, "POST", s.path, s.token, s.body, http.StatusOK) != nil {
			return
		}
	}
}

func jwsRequest(token, credential string, payload []byte) apiclient.Request {
	b, _ := json.Marshal(map[string]any{"payload": json.RawMessage(payload), "credential_id": credential, "pin": citizenPIN})
	return apiclient.Request{Method: http.MethodPost, Path: "/v1/sign/jws", Token: token, ContentType: "application/json", Body: bytes.NewReader(b)}
}
