package pades

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"kyso/fonts"
	"kyso/signer/pdfincr"
)

// vietnamTime is the zone shown on appearances: Vietnam keeps UTC+7 all
// year, so a fixed zone needs no time-zone database.
var vietnamTime = time.FixedZone("ICT", 7*3600)

// stampLines is what a visible signature shows, in Vietnamese as the
// country's e-government stamps do: the signer, for an organisation's
// certificate the organisation and its email, the signing time in Vietnam
// time, the reason and the location.
func stampLines(name string, cert *x509.Certificate, t time.Time, reason, location string) []string {
	lines := []string{"Ký bởi: " + name}
	if cert != nil {
		if org := strings.Join(cert.Subject.Organization, ", "); org != "" && org != name {
			lines = append(lines, "Cơ quan: "+org)
		}
		if len(cert.Subject.Organization) > 0 && len(cert.EmailAddresses) > 0 {
			lines = append(lines, "Email: "+cert.EmailAddresses[0])
		}
	}
	lines = append(lines, "Thời gian ký: "+t.In(vietnamTime).Format("02/01/2006 15:04:05 -07:00"))
	if reason != "" {
		lines = append(lines, "Lý do: "+reason)
	}
	if location != "" {
		lines = append(lines, "Nơi ký: "+location)
	}
	return lines
}

// appearance writes the appearance stream of a visible signature and its
// embedded subset font into u, and returns the stream's reference.
func appearance(u *pdfincr.Update, w, h float64, lines []string) (pdfincr.Ref, error) {
	face, err := fonts.Regular()
	if err != nil {
		return pdfincr.Ref{}, fmt.Errorf("pades: appearance font: %w", err)
	}
	sub := face.NewSubset()
	fs := 10.0
	if byHeight := (h - 4) / (float64(len(lines)) * 1.25); byHeight < fs {
		fs = byHeight
	}
	for _, l := range lines {
		if lw := face.Width(l, fs); lw > w-6 {
			fs *= (w - 6) / lw
		}
	}
	if fs < 1 {
		fs = 1
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "q 0.93 0.96 1 rg 0 0 %s %s re f Q\n", num(w), num(h))
	fmt.Fprintf(&b, "q 0.75 0.05 0.05 RG 1 w 0.5 0.5 %s %s re S Q\n", num(w-1), num(h-1))
	fmt.Fprintf(&b, "BT 0.75 0.05 0.05 rg /F1 %s Tf %s TL 3 %s Td\n", num(fs), num(fs*1.25), num(h-2-fs))
	for i, l := range lines {
		if i > 0 {
			b.WriteString("T* ")
		}
		b.WriteString(sub.Hex(l) + " Tj\n")
	}
	b.WriteString("ET\n")

	apRef, fontRef := u.Alloc(), u.Alloc()
	cid, desc, file, tu := u.Alloc(), u.Alloc(), u.Alloc(), u.Alloc()
	objs, err := sub.Objects(cid.String(), desc.String(), file.String(), tu.String())
	if err != nil {
		return pdfincr.Ref{}, fmt.Errorf("pades: appearance font: %w", err)
	}
	u.Set(fontRef, objs.Font)
	u.Set(cid, objs.CIDFont)
	u.Set(desc, objs.Descriptor)
	u.Set(file, objs.FontFile)
	u.Set(tu, objs.ToUnicode)
	u.Set(apRef, pdfincr.StreamBody(fmt.Sprintf(" /Type /XObject /Subtype /Form /BBox [0 0 %s %s] /Resources << /Font << /F1 %s >> >>",
		num(w), num(h), fontRef), b.Bytes()))
	return apRef, nil
}
