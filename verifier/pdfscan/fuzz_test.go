package pdfscan

import (
	"os"
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
