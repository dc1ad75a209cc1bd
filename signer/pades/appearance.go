package pades

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// vietnamTime is the zone shown on appearances (UTC+7, no DST).
var vietnamTime = time.FixedZone("ICT", 7*3600)

// ascii folds text to what the standard Helvetica font with WinAnsi
// encoding can show: Vietnamese diacritics are dropped (Nguyễn → Nguyen,
// Đ → D), other characters become '?'.
func ascii(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'đ':
			b.WriteByte('d')
		case r == 'Đ':
			b.WriteByte('D')
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

func literal(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	return "(" + r.Replace(s) + ")"
}

// appearanceStream draws a framed box with the signer's name, the time,
// the reason and the location.
func appearanceStream(w, h float64, name string, t time.Time, reason, location string) []byte {
	lines := []string{"Ky boi / Signed by: " + ascii(name), "Thoi gian / Date: " + t.In(vietnamTime).Format("2006-01-02 15:04:05 -07:00")}
	if reason != "" {
		lines = append(lines, "Ly do / Reason: "+ascii(reason))
	}
	if location != "" {
		lines = append(lines, "Noi ky / Location: "+ascii(location))
	}
	longest := 0
	for _, l := range lines {
		if len(l) > longest {
			longest = len(l)
		}
	}
	fs := 10.0
	if byHeight := (h - 4) / (float64(len(lines)) * 1.25); byHeight < fs {
		fs = byHeight
	}
	if byWidth := (w - 6) / (float64(longest) * 0.52); byWidth < fs {
		fs = byWidth
	}
	if fs < 1 {
		fs = 1
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "q 0.93 0.96 1 rg 0 0 %s %s re f Q\n", num(w), num(h))
	fmt.Fprintf(&b, "q 0.1 0.2 0.6 RG 1 w 0.5 0.5 %s %s re S Q\n", num(w-1), num(h-1))
	fmt.Fprintf(&b, "BT 0 0 0 rg /F1 %s Tf %s TL 3 %s Td\n", num(fs), num(fs*1.25), num(h-2-fs))
	for i, l := range lines {
		if i > 0 {
			b.WriteString("T* ")
		}
		b.WriteString(literal(l) + " Tj\n")
	}
	b.WriteString("ET\n")
	return b.Bytes()
}
