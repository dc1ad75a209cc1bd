package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/digitorus/pdf"

	"kyso/signer/cades"
	"kyso/signer/pdfincr"
)

// Level is a PAdES baseline conformance level.
type Level int

// PAdES baseline levels.
const (
	BB Level = iota + 1
	BT
	BLT
	BLTA
)

func (l Level) String() string {
	switch l {
	case BB:
		return "B-B"
	case BT:
		return "B-T"
	case BLT:
		return "B-LT"
	case BLTA:
		return "B-LTA"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel accepts "B-B", "B-T", "B-LT", "B-LTA" (also with an "AdES-"
// or "PAdES-" prefix, case-insensitive).
func ParseLevel(s string) (Level, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	u = strings.TrimPrefix(u, "PADES-")
	u = strings.TrimPrefix(u, "ADES-")
	switch u {
	case "B-B", "":
		return BB, nil
	case "B-T":
		return BT, nil
	case "B-LT":
		return BLT, nil
	case "B-LTA":
		return BLTA, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrBadLevel, s)
}

// Errors callers branch on.
var (
	ErrBadLevel      = errors.New("pades: unknown level")
	ErrAlreadySigned = errors.New("pades: a certification signature must be the first signature")
	ErrNoChanges     = errors.New("pades: the document is certified with no changes allowed (DocMDP P=1)")
	ErrNeedStamper   = errors.New("pades: level B-T or higher needs a time-stamp source")
	ErrNeedRevoc     = errors.New("pades: level B-LT or higher needs a revocation source")
	ErrBadPage       = errors.New("pades: page not found")
	ErrBadAppearance = errors.New("pades: bad appearance rectangle")
)

// Stamper returns RFC 3161 time-stamp tokens.
type Stamper = cades.Stamper

// RevocationSource gives current revocation information.
type RevocationSource interface {
	OCSP(ctx context.Context, cert, issuer *x509.Certificate) ([]byte, error)
	CRLs(ctx context.Context, cert *x509.Certificate) ([][]byte, error)
}

// Appearance places a visible signature.
type Appearance struct {
	Page                int // 1-based
	X, Y, Width, Height float64
}

// Options describes one PDF signature.
type Options struct {
	Level  Level
	Signer crypto.Signer
	Cert   *x509.Certificate
	// Chain holds the issuing CAs, leaf and root excluded.
	Chain []*x509.Certificate
	// Root, when set, is added to the DSS and used to look up revocation
	// information for the top of the chain.
	Root *x509.Certificate
	Hash crypto.Hash

	Name, Reason, Location, Contact string
	// Time is the claimed signing time (/M); now when zero.
	Time time.Time

	// Certify makes a certification (DocMDP) signature with permission
	// DocMDPPerm (1, 2 or 3; 2 when zero).
	Certify    bool
	DocMDPPerm int

	// Appearance, when set, makes the signature visible.
	Appearance *Appearance

	Stamper    Stamper
	Revocation RevocationSource
}

// Sign reads the PDF in src (size bytes) and writes it to dst with a new
// signature at opts.Level.
func Sign(ctx context.Context, src io.ReaderAt, size int64, dst io.Writer, opts Options) (err error) {
	// The PDF parser may panic on hostile input in places it does not
	// guard itself; a malformed document is an error, never a crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: malformed PDF: %v", pdfincr.ErrUnsupported, r)
		}
	}()
	if opts.Level == 0 {
		opts.Level = BB
	}
	if opts.Level < BB || opts.Level > BLTA {
		return ErrBadLevel
	}
	if opts.Hash == 0 {
		opts.Hash = crypto.SHA256
	}
	if opts.Time.IsZero() {
		opts.Time = time.Now()
	}
	if opts.Signer == nil || opts.Cert == nil {
		return errors.New("pades: signer and certificate are required")
	}
	if opts.Level >= BT && opts.Stamper == nil {
		return ErrNeedStamper
	}
	if opts.Level >= BLT && opts.Revocation == nil {
		return ErrNeedRevoc
	}
	doc, err := pdfincr.Open(src, size)
	if err != nil {
		return err
	}
	built, cms, err := signatureRevision(ctx, doc, opts)
	if err != nil {
		return err
	}
	if opts.Level < BLT {
		_, err = built.WriteTo(doc, dst)
		return err
	}
	cat := pdfincr.NewConcat(doc.Source(), doc.Size(), built.Data)
	doc, err = pdfincr.Open(cat, cat.Size())
	if err != nil {
		return fmt.Errorf("pades: reopen signed revision: %w", err)
	}
	vd, err := collectValidationData(ctx, opts, cms)
	if err != nil {
		return err
	}
	built, err = dssRevision(doc, vd)
	if err != nil {
		return err
	}
	if opts.Level == BLTA {
		cat = pdfincr.NewConcat(doc.Source(), doc.Size(), built.Data)
		doc, err = pdfincr.Open(cat, cat.Size())
		if err != nil {
			return fmt.Errorf("pades: reopen DSS revision: %w", err)
		}
		built, err = docTimeStampRevision(ctx, doc, opts.Stamper, opts.Hash)
		if err != nil {
			return err
		}
	}
	_, err = built.WriteTo(doc, dst)
	return err
}

// AddDocTimeStamp appends a document time-stamp (/DocTimeStamp) to a PDF.
func AddDocTimeStamp(ctx context.Context, src io.ReaderAt, size int64, dst io.Writer, stamper Stamper, h crypto.Hash) error {
	if h == 0 {
		h = crypto.SHA256
	}
	doc, err := pdfincr.Open(src, size)
	if err != nil {
		return err
	}
	built, err := docTimeStampRevision(ctx, doc, stamper, h)
	if err != nil {
		return err
	}
	_, err = built.WriteTo(doc, dst)
	return err
}

// formInfo describes the existing AcroForm.
type formInfo struct {
	names  map[string]bool
	signed int
}

func readForm(cat pdf.Value) formInfo {
	fi := formInfo{names: map[string]bool{}}
	fields := cat.Key("AcroForm").Key("Fields")
	for i := 0; i < fields.Len() && i < 100000; i++ {
		f := fields.Index(i)
		fi.names[f.Key("T").Text()] = true
		if f.Key("FT").Name() == "Sig" && !f.Key("V").IsNull() {
			fi.signed++
		}
	}
	return fi
}

func (fi formInfo) freshName(prefix string) string {
	for i := 1; ; i++ {
		n := fmt.Sprintf("%s%d", prefix, i)
		if !fi.names[n] {
			return n
		}
	}
}

// docMDPPerm returns the P value of the document's certification
// signature, 0 when it has none.
func docMDPPerm(cat pdf.Value) int {
	refs := cat.Key("Perms").Key("DocMDP").Key("Reference")
	for i := 0; i < refs.Len() && i < 16; i++ {
		r := refs.Index(i)
		if r.Key("TransformMethod").Name() != "DocMDP" {
			continue
		}
		p := r.Key("TransformParams").Key("P")
		if p.Kind() == pdf.Integer {
			return int(p.Int64())
		}
		return 2 // the default
	}
	return 0
}

// findPage returns page n (1-based) of the page tree.
func findPage(cat pdf.Value, n int) (pdf.Value, error) {
	node := cat.Key("Pages")
	for depth := 0; depth < 64; depth++ {
		kids := node.Key("Kids")
		found := false
		for i := 0; i < kids.Len(); i++ {
			k := kids.Index(i)
			count := 1
			if k.Key("Type").Name() == "Pages" || !k.Key("Kids").IsNull() {
				count = int(k.Key("Count").Int64())
			}
			if n <= count {
				if count == 1 && k.Key("Kids").IsNull() {
					return k, nil
				}
				node, found = k, true
				break
			}
			n -= count
		}
		if !found {
			return pdf.Value{}, ErrBadPage
		}
	}
	return pdf.Value{}, ErrBadPage
}

func pdfDate(t time.Time) string {
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("(D:%s%c%02d'%02d')", t.Format("20060102150405"), sign, off/3600, (off%3600)/60)
}

// fieldKind distinguishes signatures from document time-stamps.
type fieldKind int

const (
	approval fieldKind = iota
	docTimeStamp
)

// sigUpdate writes the field, page and AcroForm/catalog changes for a new
// signature field whose value is sigRef. extraCatalog is appended to the
// catalog dictionary; skipCatalog keys are dropped from it.
func sigUpdate(doc *pdfincr.Doc, u *pdfincr.Update, sigRef pdfincr.Ref, name string, app *Appearance, apRef pdfincr.Ref, extraCatalog string, skipCatalog ...string) error {
	cat := doc.Catalog()
	pageNo := 1
	if app != nil {
		pageNo = app.Page
	}
	page, err := findPage(cat, pageNo)
	if err != nil {
		return fmt.Errorf("%w: %d", ErrBadPage, pageNo)
	}
	pageRef := pdfincr.RefOf(page)
	fieldRef := u.Alloc()
	var f bytes.Buffer
	fmt.Fprintf(&f, "<< /Type /Annot /Subtype /Widget /FT /Sig /T %s /V %s /P %s", pdfincr.TextString(name), sigRef, pageRef)
	if app != nil {
		fmt.Fprintf(&f, " /F 4 /Rect [%s %s %s %s] /AP << /N %s >>", num(app.X), num(app.Y), num(app.X+app.Width), num(app.Y+app.Height), apRef)
	} else {
		f.WriteString(" /F 132 /Rect [0 0 0 0]")
	}
	f.WriteString(" >>")
	u.Set(fieldRef, f.Bytes())

	// Page: add the widget to /Annots.
	var p bytes.Buffer
	if err := pdfincr.WriteDictExcept(&p, page, pageRef, "Annots"); err != nil {
		return err
	}
	p.WriteString("/Annots [")
	annots := page.Key("Annots")
	for i := 0; i < annots.Len(); i++ {
		if err := pdfincr.WriteValue(&p, annots.Index(i), pdfincr.RefOf(annots)); err != nil {
			return err
		}
		p.WriteByte(' ')
	}
	fmt.Fprintf(&p, "%s] >>", fieldRef)
	u.Set(pageRef, p.Bytes())

	// AcroForm: add the field, SigFlags 3.
	acro := cat.Key("AcroForm")
	acroRef := pdfincr.RefOf(acro)
	if acro.Kind() != pdf.Dict || acroRef == doc.Root() || acroRef.IsZero() {
		acroRef = u.Alloc()
	}
	var a bytes.Buffer
	if acro.Kind() == pdf.Dict {
		if err := pdfincr.WriteDictExcept(&a, acro, pdfincr.RefOf(acro), "Fields", "SigFlags"); err != nil {
			return err
		}
	} else {
		a.WriteString("<<")
	}
	a.WriteString("/Fields [")
	fields := acro.Key("Fields")
	for i := 0; i < fields.Len(); i++ {
		if err := pdfincr.WriteValue(&a, fields.Index(i), pdfincr.RefOf(fields)); err != nil {
			return err
		}
		a.WriteByte(' ')
	}
	fmt.Fprintf(&a, "%s] /SigFlags 3 >>", fieldRef)
	u.Set(acroRef, a.Bytes())

	var c bytes.Buffer
	if err := pdfincr.WriteDictExcept(&c, cat, doc.Root(), append([]string{"AcroForm"}, skipCatalog...)...); err != nil {
		return err
	}
	fmt.Fprintf(&c, "/AcroForm %s %s>>", acroRef, extraCatalog)
	u.Set(doc.Root(), c.Bytes())
	return nil
}

func num(f float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".")
}

// contentsRoom estimates the DER size of the CMS for opts.
func contentsRoom(opts Options) int {
	n := 4096 + len(opts.Cert.Raw)
	for _, c := range opts.Chain {
		n += len(c.Raw)
	}
	if opts.Level >= BT {
		n += 8192
	}
	return n
}

func signatureRevision(ctx context.Context, doc *pdfincr.Doc, opts Options) (*pdfincr.Built, []byte, error) {
	cat := doc.Catalog()
	fi := readForm(cat)
	if opts.Certify && fi.signed > 0 {
		return nil, nil, ErrAlreadySigned
	}
	if docMDPPerm(cat) == 1 {
		return nil, nil, ErrNoChanges
	}
	if opts.Appearance != nil && (opts.Appearance.Width <= 0 || opts.Appearance.Height <= 0 || opts.Appearance.Page < 1) {
		return nil, nil, ErrBadAppearance
	}
	name := opts.Name
	if name == "" {
		name = opts.Cert.Subject.CommonName
	}
	room := contentsRoom(opts)
	for attempt := 0; attempt < 2; attempt++ {
		u := doc.NewUpdate()
		sigRef := u.Alloc()
		var s bytes.Buffer
		fmt.Fprintf(&s, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M %s", pdfDate(opts.Time))
		if name != "" {
			fmt.Fprintf(&s, " /Name %s", pdfincr.TextString(name))
		}
		if opts.Reason != "" {
			fmt.Fprintf(&s, " /Reason %s", pdfincr.TextString(opts.Reason))
		}
		if opts.Location != "" {
			fmt.Fprintf(&s, " /Location %s", pdfincr.TextString(opts.Location))
		}
		if opts.Contact != "" {
			fmt.Fprintf(&s, " /ContactInfo %s", pdfincr.TextString(opts.Contact))
		}
		extraCatalog := ""
		var skip []string
		if opts.Certify {
			p := opts.DocMDPPerm
			if p < 1 || p > 3 {
				p = 2
			}
			fmt.Fprintf(&s, " /Reference [<< /Type /SigRef /TransformMethod /DocMDP /TransformParams << /Type /TransformParams /P %d /V /1.2 >> >>]", p)
			extraCatalog = fmt.Sprintf("/Perms << /DocMDP %s >> ", sigRef)
			skip = append(skip, "Perms")
		}
		fmt.Fprintf(&s, " %s >>", pdfincr.SignaturePlaceholder(room))
		u.Set(sigRef, s.Bytes())
		var apRef pdfincr.Ref
		if opts.Appearance != nil {
			lines := stampLines(name, opts.Cert, opts.Time, opts.Reason, opts.Location)
			var err error
			if apRef, err = appearance(u, opts.Appearance.Width, opts.Appearance.Height, lines); err != nil {
				return nil, nil, err
			}
		}
		if err := sigUpdate(doc, u, sigRef, fi.freshName("Signature"), opts.Appearance, apRef, extraCatalog, skip...); err != nil {
			return nil, nil, err
		}
		built, err := u.Build()
		if err != nil {
			return nil, nil, err
		}
		var cms []byte
		err = built.Sign(doc, sigRef, opts.Hash, func(digest []byte) ([]byte, error) {
			var err error
			cms, err = cades.Sign(ctx, digest, cades.Params{
				Signer: opts.Signer, Cert: opts.Cert, Chain: opts.Chain, Hash: opts.Hash, Stamper: stamperFor(opts),
			})
			return cms, err
		})
		var tooSmall *pdfincr.TooSmallError
		if errors.As(err, &tooSmall) {
			room = tooSmall.Need + 1024
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		return built, cms, nil
	}
	return nil, nil, errors.New("pades: signature does not fit")
}

func stamperFor(opts Options) cades.Stamper {
	if opts.Level >= BT {
		return opts.Stamper
	}
	return nil
}

func docTimeStampRevision(ctx context.Context, doc *pdfincr.Doc, stamper Stamper, h crypto.Hash) (*pdfincr.Built, error) {
	if stamper == nil {
		return nil, ErrNeedStamper
	}
	fi := readForm(doc.Catalog())
	room := 12288
	for attempt := 0; attempt < 2; attempt++ {
		u := doc.NewUpdate()
		sigRef := u.Alloc()
		u.Set(sigRef, []byte(fmt.Sprintf("<< /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161 %s >>", pdfincr.SignaturePlaceholder(room))))
		if err := sigUpdate(doc, u, sigRef, fi.freshName("DocTimeStamp"), nil, pdfincr.Ref{}, ""); err != nil {
			return nil, err
		}
		built, err := u.Build()
		if err != nil {
			return nil, err
		}
		err = built.Sign(doc, sigRef, h, func(digest []byte) ([]byte, error) {
			return stamper.Stamp(ctx, digest, h)
		})
		var tooSmall *pdfincr.TooSmallError
		if errors.As(err, &tooSmall) {
			room = tooSmall.Need + 1024
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("pades: document time-stamp: %w", err)
		}
		return built, nil
	}
	return nil, errors.New("pades: time-stamp does not fit")
}
