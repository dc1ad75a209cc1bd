package verifier

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"time"

	"kyso/cms"
	"kyso/docformat"
	"kyso/verifier/pdfscan"
	"kyso/verifier/policy"
	"kyso/verifier/report"
	"kyso/verifier/revocation"
)

// oidSignedDataDER is the DER encoding of 1.2.840.113549.1.7.2.
const oidSignedDataDER = "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"

// ErrUnreadable marks input that is not a PDF, CMS or JWS document at all.
var ErrUnreadable = errors.New("unreadable input")

// Options configure a Verifier.
type Options struct {
	// Roots are the trust anchors (e.g. the National Root CA and the
	// Government CA); several may be given.
	Roots []*x509.Certificate
	// At fixes the validation time; zero means Now().
	At time.Time
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Revocation checks revocation; nil means offline (document data only).
	Revocation *revocation.Checker
	// Policy is the validation policy (algorithms, signer certificate
	// constraints); nil means policy.Default().
	Policy *policy.Policy
	// Limits bound PDF parsing; zero means pdfscan.DefaultLimits().
	Limits pdfscan.Limits
	Logger *slog.Logger
}

// Verifier validates signed documents. It is safe for concurrent use.
type Verifier struct {
	opts  Options
	roots *x509.CertPool
	// onContentHash, when set (by tests), is called for every pass of a
	// hash over a document's signed content.
	onContentHash func()
}

// Bounds on the work one document may ask for (POST /v1/verify is public).
const (
	// maxSignatures is the most PDF signature fields validated in one
	// document; later ones are reported as not validated.
	maxSignatures = 100
	// maxSigners is the most SignerInfos one CMS SignedData, the most
	// signatures one JWS, and the most counter-signatures one document may
	// carry; a document (or PDF signature) with more is INDETERMINATE
	// without being validated.
	maxSigners = 20
)

// tooManySigners is the status of a document or PDF signature with more
// than maxSigners signers.
func tooManySigners(n int, what string) report.Status {
	return report.Status{MainIndication: report.Indeterminate, Detail: fmt.Sprintf("%d %s; at most %d are validated in one document", n, what, maxSigners)}
}

// counterBudget counts the counter-signatures a document may still have
// validated: maxSigners in all, at every depth.
type counterBudget struct{ left int }

type counterBudgetKey struct{}

// spendCounters takes n counter-signatures from the document's budget and
// says whether they may be validated.
func spendCounters(ctx context.Context, n int) bool {
	b, _ := ctx.Value(counterBudgetKey{}).(*counterBudget)
	if b == nil || n == 0 {
		return true
	}
	if n > b.left {
		return false
	}
	b.left -= n
	return true
}

// contentDigests hashes a document's signed content once per digest
// algorithm, however many SignerInfos name it.
type contentDigests struct {
	write  func(hash.Hash)
	sums   map[string][]byte
	onPass func()
}

func (v *Verifier) newContentDigests(write func(hash.Hash)) *contentDigests {
	return &contentDigests{write: write, sums: map[string][]byte{}, onPass: v.onContentHash}
}

// forSigner returns the signerCheck.digest of si.
func (d *contentDigests) forSigner(si *cms.SignerInfo) func(func() hash.Hash) ([]byte, error) {
	key := si.DigestAlgorithm.Algorithm.String()
	if h, err := si.Hash(); err == nil {
		key = h.String() // parameters (absent or NULL) do not change it
	}
	return func(newHash func() hash.Hash) ([]byte, error) {
		if sum, ok := d.sums[key]; ok {
			return sum, nil
		}
		h := newHash()
		d.write(h)
		if d.onPass != nil {
			d.onPass()
		}
		sum := h.Sum(nil)
		d.sums[key] = sum
		return sum, nil
	}
}

// New returns a Verifier.
func New(opts Options) *Verifier {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Revocation == nil {
		opts.Revocation = revocation.New(revocation.Config{Offline: true})
	}
	if opts.Policy == nil {
		opts.Policy = policy.Default()
	}
	if opts.Limits.MaxRevisions == 0 {
		opts.Limits = pdfscan.DefaultLimits()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	pool := x509.NewCertPool()
	for _, c := range opts.Roots {
		pool.AddCert(c)
	}
	return &Verifier{opts: opts, roots: pool}
}

// Input is a document to validate.
type Input struct {
	Name string
	Data []byte
	// Detached is the signed content of a detached CMS or JWS signature.
	Detached []byte
}

// Format names of inputs.
const (
	FormatPDF = docformat.PDF
	FormatCMS = docformat.CMS
	FormatJWS = docformat.JWS
)

func (v *Verifier) validationTime() time.Time {
	if !v.opts.At.IsZero() {
		return v.opts.At.UTC()
	}
	return v.opts.Now().UTC()
}

// Verify validates every signature in the input. The error is non-nil
// only when the input is unreadable (errors.Is(err, ErrUnreadable)).
func (v *Verifier) Verify(ctx context.Context, in Input) (*report.Report, error) {
	sum := sha256.Sum256(in.Data)
	rep := &report.Report{
		ValidationTime: v.validationTime(),
		Document:       report.Document{Name: in.Name, Size: int64(len(in.Data)), SHA256: hex.EncodeToString(sum[:])},
	}
	ctx = context.WithValue(ctx, counterBudgetKey{}, &counterBudget{left: maxSigners})
	switch docformat.Detect(in.Data) {
	case FormatPDF:
		rep.Document.Format = FormatPDF
		v.verifyPDF(ctx, in.Data, rep)
	case FormatCMS:
		rep.Document.Format = FormatCMS
		der := in.Data
		if bytes.HasPrefix(bytes.TrimLeft(in.Data, "\t\n\r "), []byte("-----BEGIN")) {
			b, _ := pem.Decode(bytes.TrimLeft(in.Data, "\t\n\r "))
			if b == nil || (b.Type != "PKCS7" && b.Type != "CMS") {
				return nil, fmt.Errorf("%w: PEM input is not a PKCS7 or CMS block", ErrUnreadable)
			}
			der = b.Bytes
		}
		if !bytes.Contains(der[:min(len(der), 24)], []byte(oidSignedDataDER)) {
			return nil, fmt.Errorf("%w: not a CMS SignedData", ErrUnreadable)
		}
		if err := v.verifyCMS(ctx, der, in.Detached, rep); err != nil {
			return nil, err
		}
	case FormatJWS:
		rep.Document.Format = FormatJWS
		if err := v.verifyJWS(ctx, bytes.TrimSpace(in.Data), in.Detached, rep); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: not a PDF, CMS or JWS document", ErrUnreadable)
	}
	summarize(rep)
	return rep, nil
}

// summarize sets the document status to the worst status of its
// signatures. Counter-signatures are judged and reported on their own and
// do not count (as in EU DSS): anyone can add one, valid or not, to a
// signature without changing what it signed.
func summarize(rep *report.Report) {
	var worst *report.Status
	for i := range rep.Signatures {
		s := &rep.Signatures[i]
		if s.CounterSignature {
			continue
		}
		if worst == nil || report.Severity(s.Status.MainIndication) > report.Severity(worst.MainIndication) {
			worst = &s.Status
		}
	}
	if worst == nil {
		if rep.Status.MainIndication == "" {
			rep.Status = report.Status{MainIndication: report.Indeterminate, SubIndication: report.SignedDataNotFound, Detail: "no signature found"}
		}
		return
	}
	rep.Status = report.Status{MainIndication: worst.MainIndication, SubIndication: worst.SubIndication}
}

// outcome accumulates a signature's status, keeping the most severe.
type outcome struct {
	sig *report.Signature
	set bool
}

func (o *outcome) fail(ind report.Indication, sub report.SubIndication, detail string) {
	if o.set && report.Severity(ind) <= report.Severity(o.sig.Status.MainIndication) {
		return
	}
	o.sig.Status = report.Status{MainIndication: ind, SubIndication: sub, Detail: detail}
	o.set = true
}

func (o *outcome) check(name string, err error) bool {
	if err != nil {
		o.sig.Checks = append(o.sig.Checks, report.Check{Name: name, Result: "failed", Detail: err.Error()})
		return false
	}
	o.sig.Checks = append(o.sig.Checks, report.Check{Name: name, Result: "passed"})
	return true
}

func (o *outcome) note(name, result, detail string) {
	o.sig.Checks = append(o.sig.Checks, report.Check{Name: name, Result: result, Detail: detail})
}

func (o *outcome) finish() {
	if !o.set {
		o.sig.Status = report.Status{MainIndication: report.TotalPassed}
		o.set = true
	}
}
