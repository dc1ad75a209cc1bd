package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"

	"kyso/dossier"
	"kyso/problem"
)

// multipartBody is a parsed multipart/form-data request: text fields and
// files by part name.
type multipartBody struct {
	fields map[string]string
	files  map[string][]dossier.FileInput
}

func (m *multipartBody) first(names ...string) *dossier.FileInput {
	for _, n := range names {
		if fs := m.files[n]; len(fs) > 0 {
			return &fs[0]
		}
	}
	return nil
}

func isMultipart(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

// maxField bounds a text field of a multipart body.
const maxField = 1 << 20

// readMultipart streams the parts of a multipart/form-data body, holding
// each file to the dossier limits (the route's body limit bounds the
// total).
func readMultipart(r *http.Request, lim dossier.Limits) (*multipartBody, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, problem.Newf(http.StatusBadRequest, "malformed-body", "the multipart body cannot be read: %v", err)
	}
	out := &multipartBody{fields: map[string]string{}, files: map[string][]dossier.FileInput{}}
	nfiles := 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, multipartError(err)
		}
		name := part.FormName()
		if name == "" {
			part.Close()
			continue
		}
		if part.FileName() == "" {
			b, err := io.ReadAll(io.LimitReader(part, maxField+1))
			part.Close()
			if err != nil {
				return nil, multipartError(err)
			}
			if len(b) > maxField {
				return nil, problem.Newf(http.StatusRequestEntityTooLarge, "body-too-large", "field %q is larger than %d bytes", name, maxField)
			}
			out.fields[name] = string(b)
			continue
		}
		nfiles++
		if nfiles > lim.MaxFiles+2 {
			part.Close()
			return nil, problem.Newf(http.StatusRequestEntityTooLarge, "too-many-files", "at most %d files per request", lim.MaxFiles)
		}
		max := lim.MaxFileBytes
		if lim.MaxResultBytes > max {
			max = lim.MaxResultBytes
		}
		data, err := io.ReadAll(io.LimitReader(part, max+1))
		part.Close()
		if err != nil {
			return nil, multipartError(err)
		}
		if int64(len(data)) > max {
			return nil, problem.Newf(http.StatusRequestEntityTooLarge, "file-too-large", "file %q is larger than %d bytes", part.FileName(), max)
		}
		fname := path.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
		out.files[name] = append(out.files[name], dossier.FileInput{Name: fname, ContentType: part.Header.Get("Content-Type"), Data: data})
	}
}

func multipartError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return BodyError(err)
	}
	return problem.Newf(http.StatusBadRequest, "malformed-body", "the multipart body cannot be read: %v", err)
}

// readLimited reads a raw body of at most max bytes.
func readLimited(r *http.Request, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, BodyError(err)
	}
	if int64(len(b)) > max {
		return nil, problem.Newf(http.StatusRequestEntityTooLarge, "file-too-large", "the document is larger than %d bytes", max)
	}
	return b, nil
}
