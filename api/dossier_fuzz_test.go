package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kyso/dossier"
)

func FuzzReadMultipart(f *testing.F) {
	f.Add("--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--B\r\nContent-Disposition: form-data; name=\"digitized\"; filename=\"../../a.png\"\r\nContent-Type: image/png\r\n\r\nPNG\r\n--B--\r\n")
	f.Add("--B\r\n\r\n--B--")
	f.Add("")
	lim := dossier.Limits{MaxFileBytes: 64, MaxFiles: 3, MaxResultBytes: 64}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/v1/dossiers", strings.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary=B")
		mp, err := readMultipart(r, lim)
		if err != nil {
			return
		}
		n := 0
		for _, fs := range mp.files {
			for _, f := range fs {
				n++
				if int64(len(f.Data)) > 64 || strings.ContainsAny(f.Name, "/\\") {
					t.Fatalf("file %q of %d bytes passed", f.Name, len(f.Data))
				}
			}
		}
		if n > lim.MaxFiles+2 {
			t.Fatalf("%d files passed", n)
		}
	})
}
