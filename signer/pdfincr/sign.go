package pdfincr

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

const byteRangeMarker = "0 ********** ********** **********"

// SignaturePlaceholder returns the /ByteRange and /Contents entries of a
// signature dictionary reserving room for a signature of up to
// contentsBytes bytes.
func SignaturePlaceholder(contentsBytes int) string {
	return "/ByteRange [" + byteRangeMarker + "] /Contents <" + strings.Repeat("0", 2*contentsBytes) + ">"
}

// TooSmallError reports that the reserved /Contents was too small.
type TooSmallError struct{ Need int }

func (e *TooSmallError) Error() string {
	return fmt.Sprintf("pdfincr: signature needs %d bytes, more than reserved", e.Need)
}

// SignFunc signs the digest of the signed byte ranges and returns the
// /Contents value (a CMS SignedData or a time-stamp token, DER).
type SignFunc func(digest []byte) ([]byte, error)

var errNoPlaceholder = errors.New("pdfincr: signature placeholder not found")

// Sign fills in the signature dictionary sig of the built update: it sets
// /ByteRange to everything but /Contents, hashes those ranges with h
// (streaming the original document), calls sign and writes the result into
// /Contents.
func (b *Built) Sign(d *Doc, sig Ref, h crypto.Hash, sign SignFunc) error {
	off, ok := b.offsets[sig.Num]
	if !ok {
		return errNoPlaceholder
	}
	obj := b.Data[off:]
	end := bytes.Index(obj, []byte("\nendobj"))
	if end < 0 {
		return errNoPlaceholder
	}
	obj = obj[:end]
	br := bytes.Index(obj, []byte(byteRangeMarker))
	ct := bytes.Index(obj, []byte("/Contents <"))
	if br < 0 || ct < 0 {
		return errNoPlaceholder
	}
	start := int(off) + ct + len("/Contents ")
	close := bytes.IndexByte(b.Data[start:], '>')
	if close < 0 {
		return errNoPlaceholder
	}
	stop := start + close + 1
	total := b.Base + int64(len(b.Data))
	c0, c1 := b.Base+int64(start), b.Base+int64(stop)
	ranges := fmt.Sprintf("0 %d %d %d", c0, c1, total-c1)
	if len(ranges) > len(byteRangeMarker) {
		return fmt.Errorf("%w: document too large", ErrUnsupported)
	}
	copy(b.Data[int(off)+br:], ranges+strings.Repeat(" ", len(byteRangeMarker)-len(ranges)))

	hh := h.New()
	if _, err := io.Copy(hh, io.NewSectionReader(d.src, 0, d.size)); err != nil {
		return fmt.Errorf("pdfincr: hash document: %w", err)
	}
	hh.Write(b.Data[:start])
	hh.Write(b.Data[stop:])
	value, err := sign(hh.Sum(nil))
	if err != nil {
		return err
	}
	room := (stop - start - 2) / 2
	if len(value) > room {
		return &TooSmallError{Need: len(value)}
	}
	hex.Encode(b.Data[start+1:], value)
	for i := start + 1 + 2*len(value); i < stop-1; i++ {
		b.Data[i] = '0'
	}
	return nil
}
