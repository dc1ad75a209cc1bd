package pdfscan

import (
	"os"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/small.pdf"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\nxref\n0 2\n0000000000 65535 f \n0000000009 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R >>\nstartxref\n48\n%%EOF\n"))
	f.Add([]byte("%PDF-1.5\n1 0 obj\n<< /Type /XRef /W [1 2 1] /Size 2 /Length 8 >>\nstream\n\x01\x00\x09\x00\x01\x00\x09\x00\nendstream\nendobj\nstartxref\n9\n%%EOF"))
	lim := Limits{MaxRevisions: 16, MaxObjects: 4096, MaxDepth: 32, MaxValues: 1 << 16, MaxChain: 16, MaxStreamSize: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := Parse(data, lim)
		if err != nil {
			return
		}
		for r := range pf.Revisions {
			pf.Root(r)
			n := 0
			for num := range pf.Revisions[r].Section.Entries {
				if n++; n > 64 {
					break
				}
				o, err := pf.Get(r, num)
				if err != nil {
					continue
				}
				if o.Kind == Stream {
					pf.Decode(o)
				}
				if o.Kind == Dictionary {
					for _, k := range o.Dict.Keys {
						pf.Resolve(r, o.Dict.Vals[k])
					}
				}
			}
			pf.Introduced(r)
		}
	})
}

// FuzzDecode runs every filter chain over arbitrary stream data.
func FuzzDecode(f *testing.F) {
	f.Add("/Filter /FlateDecode /DecodeParms <</Predictor 12 /Columns 4>>", []byte("x\x9c\x03\x00\x00\x00\x00\x01"))
	f.Add("/Filter [/AHx /A85]", []byte("3C7E3837637E3E>"))
	f.Add("/Filter /LZWDecode", []byte{0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01})
	f.Add("/Filter /RunLengthDecode", []byte{2, 'a', 'b', 'c', 254, 'x', 128})
	f.Add("/Filter /LZW /DecodeParms <</EarlyChange 0 /Predictor 2 /Columns 3>>", []byte{0x80, 0x0B})
	f.Fuzz(func(t *testing.T, dict string, raw []byte) {
		if strings.Contains(dict, "endstream") || strings.Contains(dict, "Length") {
			return
		}
		pf, o, err := tryStreamObj(dict, raw)
		if err != nil {
			return
		}
		pf.lim.MaxStreamSize = 1 << 20
		out, err := pf.Decode(o)
		if err == nil && int64(len(out)) > pf.lim.MaxStreamSize {
			t.Fatalf("decoded %d bytes beyond the limit", len(out))
		}
	})
}
