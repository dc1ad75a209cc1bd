// Package resultpdf draws the e-result an agency seals when it has no PDF
// of its own, in the layout of Vietnamese administrative documents (Decree
// 30/2020/NĐ-CP): the issuing agency and the document number and symbol on
// the left, the national title and motto on the right, place and date, the
// title, the content, the signature block with the deciding officer's
// title and name, the recipients ("Nơi nhận"), and a QR code leading to the
// public verification page of the e-result.
//
// Pages are generated with codeberg.org/go-pdf/fpdf, which embeds the
// DejaVu Sans fonts of kyso/fonts as subset TrueType fonts with ToUnicode
// maps, so every Vietnamese letter is drawn and extracted exactly. Text is
// NFC-normalised first. fpdf writes a classic cross-reference table, so any
// signer can append incremental updates.
package resultpdf

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/skip2/go-qrcode"
	"golang.org/x/text/unicode/norm"

	"kyso/fonts"
)

// Field is one labelled line of the content ("Người nộp hồ sơ: …").
type Field struct {
	Label, Value string
}

// Document is what the e-result shows. Empty fields are left out.
type Document struct {
	// ParentAgency is the governing body printed above the agency's name.
	ParentAgency string
	// Agency is the issuing agency's name.
	Agency string
	// Number is the document number and symbol ("15/KQ-UBND-HN"), printed
	// after "Số: ".
	Number string
	// Place and Date print as "Hà Nội, ngày 03 tháng 12 năm 2026" (the
	// date in Vietnam time).
	Place string
	Date  time.Time
	// Title heads the content in capitals; Subject follows it ("Về việc…").
	Title, Subject string
	Fields         []Field
	Paragraphs     []string
	// SignerCapacity ("TM. ỦY BAN NHÂN DÂN"), SignerTitle ("CHỦ TỊCH") and
	// SignerName make the signature block.
	SignerCapacity, SignerTitle, SignerName string
	// Recipients are listed under "Nơi nhận:".
	Recipients []string
	// VerifyURL, when set, is encoded in a QR code with its caption.
	VerifyURL string
}

// Stamp is where the agency's visible signature goes: page (1-based) and
// rectangle in PDF points from the bottom-left corner.
type Stamp struct {
	Page                int
	X, Y, Width, Height float64
}

// National title and motto of every administrative document.
const (
	NationalTitle = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
	Motto         = "Độc lập - Tự do - Hạnh phúc"
)

// vietnam is UTC+7 all year.
var vietnam = time.FixedZone("ICT", 7*3600)

// Page geometry in millimetres (A4, the decree's margins).
const (
	pageW, pageH           = 210.0, 297.0
	left, right, top, foot = 30.0, 15.0, 20.0, 20.0
	textW                  = pageW - left - right
	ptPerMM                = 72 / 25.4
)

// ErrRender is returned when the document cannot be drawn.
var ErrRender = errors.New("resultpdf: cannot render")

// Render draws d and returns the PDF and the rectangle reserved for the
// agency's stamp in the signature block.
func Render(d Document) (pdf []byte, stamp Stamp, err error) {
	// fpdf reports most failures through Err, but not all of them.
	defer func() {
		if r := recover(); r != nil {
			pdf, stamp, err = nil, Stamp{}, fmt.Errorf("%w: %v", ErrRender, r)
		}
	}()
	nfc := clean
	d.VerifyURL = clean(d.VerifyURL)
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCompression(true)
	p.SetMargins(left, top, right)
	p.SetAutoPageBreak(true, foot)
	for _, f := range faces {
		p.AddUTF8FontFromBytes(f.family, "", f.ttf())
	}
	p.SetTitle(nfc(d.Title), true)
	p.SetProducer("Kyso", true)
	p.SetCreator("Kyso", true)
	if !d.Date.IsZero() {
		p.SetCreationDate(d.Date)
		p.SetModificationDate(d.Date)
	}
	p.SetCatalogSort(true)
	p.AddPage()

	// Header: agency on the left, national title on the right.
	const leftX, leftW, rightX = left - 10, 82.0, left + 74.0
	rightW := pageW - right - rightX
	y := top
	p.SetXY(leftX, y)
	setFont(p, "", 12)
	if d.ParentAgency != "" {
		fitCell(p, leftW, 6, strings.ToUpper(nfc(d.ParentAgency)))
		p.Ln(6)
	}
	p.SetX(leftX)
	setFont(p, "B", 11.5)
	agency := strings.ToUpper(nfc(d.Agency))
	if w := p.GetStringWidth(agency) + 2; w > leftW {
		p.SetFontSize(max(10, 11.5*leftW/w))
	}
	for _, l := range p.SplitText(agency, leftW) {
		p.SetX(leftX)
		p.CellFormat(leftW, 6, l, "", 1, "C", false, 0, "")
	}
	underline(p, leftX+leftW/2, p.GetY()+1, 24)
	p.SetXY(leftX, p.GetY()+3)
	setFont(p, "", 12)
	if d.Number != "" {
		p.CellFormat(leftW, 6, "Số: "+nfc(d.Number), "", 1, "C", false, 0, "")
	}
	leftEnd := p.GetY()

	p.SetXY(rightX, top)
	setFont(p, "B", 11.5)
	fitCell(p, rightW, 6, NationalTitle)
	p.SetXY(rightX, top+6)
	setFont(p, "B", 12.5)
	p.CellFormat(rightW, 6, Motto, "", 1, "C", false, 0, "")
	mw := p.GetStringWidth(Motto)
	underline(p, rightX+rightW/2, top+12.5, mw)
	p.SetXY(rightX, top+15)
	setFont(p, "", 12)
	if !d.Date.IsZero() {
		t := d.Date.In(vietnam)
		when := fmt.Sprintf("ngày %02d tháng %02d năm %d", t.Day(), int(t.Month()), t.Year())
		if d.Place != "" {
			when = nfc(d.Place) + ", " + when
		}
		fitCell(p, rightW, 6, when)
	}
	y = max(leftEnd, p.GetY()) + 10

	// Title and subject.
	p.SetXY(left, y)
	setFont(p, "B", 14)
	for _, l := range p.SplitText(strings.ToUpper(nfc(d.Title)), textW) {
		p.CellFormat(textW, 7.5, l, "", 1, "C", false, 0, "")
	}
	if d.Subject != "" {
		setFont(p, "", 12.5)
		p.MultiCell(textW, 6.5, nfc(d.Subject), "", "C", false)
	}
	p.Ln(5)

	// Content.
	for _, f := range d.Fields {
		setFont(p, "B", 12.5)
		label := nfc(f.Label) + ": "
		lw := p.GetStringWidth(label)
		p.CellFormat(lw, 7, label, "", 0, "L", false, 0, "")
		setFont(p, "", 12.5)
		p.MultiCell(textW-lw, 7, nfc(f.Value), "", "L", false)
	}
	setFont(p, "", 12.5)
	for _, para := range d.Paragraphs {
		p.Ln(1.5)
		p.MultiCell(textW, 7, nfc(para), "", "J", false)
	}
	p.Ln(6)

	// Signature block on the right, recipients on the left; both must fit
	// on the page with the stamp box.
	const stampW, stampH = 78.0, 26.0
	blockH := 7.0*3 + stampH + 8
	if p.GetY()+blockH > pageH-foot {
		p.AddPage()
	}
	blockY := p.GetY()
	sigX := left + textW - 85.0
	p.SetXY(sigX, blockY)
	setFont(p, "B", 12.5)
	for _, l := range []string{d.SignerCapacity, d.SignerTitle} {
		if l != "" {
			p.SetX(sigX)
			fitCell(p, 85, 6.5, strings.ToUpper(nfc(l)))
			p.Ln(6.5)
		}
	}
	stampY := p.GetY() + 2
	stamp = Stamp{Page: p.PageNo(), X: (sigX + (85-stampW)/2) * ptPerMM, Y: (pageH - stampY - stampH) * ptPerMM,
		Width: stampW * ptPerMM, Height: stampH * ptPerMM}
	p.SetXY(sigX, stampY+stampH+3)
	if d.SignerName != "" {
		fitCell(p, 85, 6.5, nfc(d.SignerName))
	}
	sigEnd := p.GetY() + 6.5

	p.SetXY(left, blockY)
	setFont(p, "B", 11)
	if len(d.Recipients) > 0 {
		p.CellFormat(70, 5.5, "Nơi nhận:", "", 1, "L", false, 0, "")
		setFont(p, "", 10.5)
		for _, r := range d.Recipients {
			p.SetX(left)
			p.MultiCell(textW-90, 5, "- "+nfc(r), "", "L", false)
		}
	}
	y = max(p.GetY(), sigEnd) + 6

	// QR code to the public verification page.
	if d.VerifyURL != "" {
		const size = 30.0
		if y+size > pageH-foot {
			p.AddPage()
			y = top
		}
		if err := drawQR(p, d.VerifyURL, left, y, size); err != nil {
			return nil, Stamp{}, err
		}
		p.SetXY(left+size+4, y+4)
		setFont(p, "", 9.5)
		p.MultiCell(textW-size-4, 5, "Quét mã QR hoặc truy cập địa chỉ dưới đây để kiểm tra tính xác thực của văn bản điện tử này:\n"+d.VerifyURL, "", "L", false)
	}

	if p.Err() {
		return nil, Stamp{}, fmt.Errorf("%w: %v", ErrRender, p.Error())
	}
	var out bytes.Buffer
	if err := p.Output(&out); err != nil {
		return nil, Stamp{}, fmt.Errorf("%w: %v", ErrRender, err)
	}
	pdf = out.Bytes()
	if err := tagSubsets(pdf); err != nil {
		return nil, Stamp{}, err
	}
	return pdf, stamp, nil
}

// faces are the fonts the page uses. fpdf names an embedded font "utf8"
// followed by its family; the families are chosen so that this name has
// the length of the PDF name the font should have (a six-letter subset
// tag, "+", the PostScript name), see tagSubsets.
var faces = []struct {
	family, style, psName string
	ttf                   func() []byte
}{
	{"dejavusansreg", "", "DejaVuSans", fonts.RegularTTF},
	{"dejavusansboldbold", "B", "DejaVuSans-Bold", fonts.BoldTTF},
}

// tagSubsets renames fpdf's fonts in place to tagged subset names
// ("ABCDEF+DejaVuSans"). fpdf embeds only the glyphs used but leaves out
// the tag PDF 32000-1 9.6.4 requires of subset fonts, which readers and
// pdffonts rely on. The new names have the same length, so no object moves
// and the cross-reference table stays valid.
func tagSubsets(pdf []byte) error {
	sum := sha256.Sum256(pdf)
	for i, f := range faces {
		old := []byte("/utf8" + f.family)
		tag := make([]byte, 6)
		for j := range tag {
			tag[j] = 'A' + sum[i*6+j]%26
		}
		name := []byte("/" + string(tag) + "+" + f.psName)
		if len(name) != len(old) {
			return fmt.Errorf("%w: font name %s does not fit", ErrRender, name)
		}
		n := 0
		for at := 0; ; {
			k := bytes.Index(pdf[at:], old)
			if k < 0 {
				break
			}
			at += k
			if end := at + len(old); end < len(pdf) && !isDelimiter(pdf[end]) {
				at = end
				continue
			}
			copy(pdf[at:], name)
			at += len(name)
			n++
		}
		if n != 0 && n != 3 {
			return fmt.Errorf("%w: font %s named %d times", ErrRender, f.family, n)
		}
	}
	return nil
}

func isDelimiter(c byte) bool {
	return strings.IndexByte(" \t\r\n\f\x00/<>[]()%", c) >= 0
}

// clean makes s valid UTF-8 in NFC without control characters other than
// newlines, as fpdf needs.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return ' '
		}
		return r
	}, s)
	return norm.NFC.String(s)
}

func setFont(p *fpdf.Fpdf, style string, size float64) {
	family := faces[0].family
	if style == "B" {
		family = faces[1].family
	}
	p.SetFont(family, "", size)
}

// fitCell writes one centred line in width w, shrinking the font when the
// text is wider.
func fitCell(p *fpdf.Fpdf, w, h float64, s string) {
	size, _ := p.GetFontSize()
	if sw := p.GetStringWidth(s); sw > w {
		p.SetFontSize(size * w / sw)
	}
	p.CellFormat(w, h, s, "", 0, "C", false, 0, "")
	p.SetFontSize(size)
}

// underline draws the short rule under a heading, centred on cx.
func underline(p *fpdf.Fpdf, cx, y, w float64) {
	p.SetLineWidth(0.3)
	p.Line(cx-w/2, y, cx+w/2, y)
}

// drawQR draws the QR code of s as filled squares (vector, crisp at any
// resolution) at x, y with side size millimetres, quiet zone included.
func drawQR(p *fpdf.Fpdf, s string, x, y, size float64) error {
	q, err := qrcode.New(s, qrcode.Medium)
	if err != nil {
		return fmt.Errorf("%w: QR code: %v", ErrRender, err)
	}
	bm := q.Bitmap() // with a 4-module quiet zone
	n := float64(len(bm))
	m := size / n
	p.SetFillColor(0, 0, 0)
	for r, row := range bm {
		for c := 0; c < len(row); {
			if !row[c] {
				c++
				continue
			}
			start := c
			for c < len(row) && row[c] {
				c++
			}
			p.Rect(x+float64(start)*m, y+float64(r)*m, float64(c-start)*m, m, "F")
		}
	}
	return nil
}
