package pdfscan

import (
	"bytes"
	"compress/lzw"
	"compress/zlib"
	"encoding/ascii85"
	"errors"
	"fmt"
	"io"

	tifflzw "golang.org/x/image/tiff/lzw"
)

// ErrUnsupportedFilter is returned for a stream filter the scanner does not
// decode. Callers must treat such a stream as not understood, never skip it.
var ErrUnsupportedFilter = errors.New("unsupported stream filter")

// Decode returns the decoded stream data, bounded by MaxStreamSize per
// stream and MaxDecoded per file. It applies the standard filters readers
// apply to cross-reference, object and data streams — FlateDecode,
// LZWDecode (both with PNG and TIFF predictors), ASCIIHexDecode,
// ASCII85Decode and RunLengthDecode, alone or chained, under their full or
// abbreviated names — and fails with ErrUnsupportedFilter for any other.
func (f *File) Decode(o Object) ([]byte, error) { return f.decode(o) }

func (f *File) decode(o Object) ([]byte, error) { return f.decodeLimit(o, f.lim.MaxStreamSize) }

// decodeLimit decodes o, failing when a stage yields more than limit bytes.
func (f *File) decodeLimit(o Object, limit int64) ([]byte, error) {
	limit = min(limit, f.lim.MaxStreamSize)
	if o.Kind != Stream {
		return nil, fmt.Errorf("not a stream")
	}
	if o.Dict.Has("F") {
		return nil, fmt.Errorf("%w: stream data in an external file", ErrUnsupportedFilter)
	}
	filters, parms, err := filterChain(o.Dict)
	if err != nil {
		return nil, err
	}
	data := f.Raw(o)
	for i, name := range filters {
		out, err := f.applyFilter(name, parms[i], data, limit)
		if err != nil {
			return nil, err
		}
		f.decoded += int64(len(out))
		if f.decoded > f.lim.MaxDecoded {
			return nil, fmt.Errorf("more than %d decoded bytes in the file", f.lim.MaxDecoded)
		}
		data = out
	}
	return data, nil
}

// filterChain returns the stream's filters in order with their parameters.
func filterChain(d *Dict) ([]string, []*Dict, error) {
	fo, po := d.Get("Filter"), d.Get("DecodeParms")
	var names []string
	switch fo.Kind {
	case Null:
		return nil, nil, nil
	case Name:
		names = []string{fo.Str}
	case Array:
		if len(fo.Array) > 8 {
			return nil, nil, fmt.Errorf("%w: more than 8 filters", ErrUnsupportedFilter)
		}
		for _, x := range fo.Array {
			if x.Kind != Name {
				return nil, nil, fmt.Errorf("%w: /Filter entry is not a name", ErrUnsupportedFilter)
			}
			names = append(names, x.Str)
		}
	default:
		return nil, nil, fmt.Errorf("%w: /Filter is not a name or an array", ErrUnsupportedFilter)
	}
	parms := make([]*Dict, len(names))
	switch po.Kind {
	case Null:
	case Dictionary:
		if len(names) != 1 {
			return nil, nil, fmt.Errorf("%w: one /DecodeParms for %d filters", ErrUnsupportedFilter, len(names))
		}
		parms[0] = po.Dict
	case Array:
		if len(po.Array) != len(names) {
			return nil, nil, fmt.Errorf("%w: %d /DecodeParms for %d filters", ErrUnsupportedFilter, len(po.Array), len(names))
		}
		for i, x := range po.Array {
			switch x.Kind {
			case Dictionary:
				parms[i] = x.Dict
			case Null:
			default:
				return nil, nil, fmt.Errorf("%w: /DecodeParms entry is not a dictionary", ErrUnsupportedFilter)
			}
		}
	default:
		return nil, nil, fmt.Errorf("%w: /DecodeParms is not a dictionary or an array", ErrUnsupportedFilter)
	}
	return names, parms, nil
}

func (f *File) applyFilter(name string, parms *Dict, data []byte, limit int64) ([]byte, error) {
	switch name {
	case "FlateDecode", "Fl":
		zr, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("flate: %w", err)
		}
		out, err := readBounded(zr, limit)
		if err != nil {
			return nil, fmt.Errorf("flate: %w", err)
		}
		return unpredict(out, parms, limit)
	case "LZWDecode", "LZW":
		early := int64(1)
		if e := parms.Get("EarlyChange"); e.Kind == Int {
			early = e.Int
		}
		var r io.ReadCloser
		switch early {
		case 1:
			r = tifflzw.NewReader(bytes.NewReader(data), tifflzw.MSB, 8)
		case 0:
			r = lzw.NewReader(bytes.NewReader(data), lzw.MSB, 8)
		default:
			return nil, fmt.Errorf("%w: LZW /EarlyChange %d", ErrUnsupportedFilter, early)
		}
		defer r.Close()
		out, err := readBounded(r, limit)
		if err != nil {
			return nil, fmt.Errorf("lzw: %w", err)
		}
		return unpredict(out, parms, limit)
	case "ASCIIHexDecode", "AHx":
		return asciiHex(data, limit)
	case "ASCII85Decode", "A85":
		return ascii85Decode(data, limit)
	case "RunLengthDecode", "RL":
		return runLength(data, limit)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupportedFilter, name)
}

// readBounded reads r to its end, failing beyond limit bytes. A truncated
// compressed stream keeps what was decoded, as readers do.
func readBounded(r io.Reader, limit int64) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("stream larger than %d bytes", limit)
	}
	return out, nil
}

func asciiHex(data []byte, limit int64) ([]byte, error) {
	out := make([]byte, 0, min(int64(len(data)/2+1), limit))
	var hi byte
	half := false
	for _, c := range data {
		if c == '>' {
			break
		}
		if isWhite(c) {
			continue
		}
		v, ok := unhex(c)
		if !ok {
			return nil, fmt.Errorf("asciihex: bad digit %q", c)
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		out = append(out, hi<<4)
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("stream larger than %d bytes", limit)
	}
	return out, nil
}

func ascii85Decode(data []byte, limit int64) ([]byte, error) {
	data = bytes.TrimLeft(data, "\x00\t\n\f\r ")
	data = bytes.TrimPrefix(data, []byte("<~"))
	if i := bytes.Index(data, []byte("~>")); i >= 0 {
		data = data[:i]
	}
	// Every 'z' expands to four bytes; bound the output before decoding.
	if int64(bytes.Count(data, []byte("z")))*4+int64(len(data)) > 4*limit {
		return nil, fmt.Errorf("stream larger than %d bytes", limit)
	}
	out := make([]byte, 4*len(data)/5+4+3*bytes.Count(data, []byte("z")))
	n, _, err := ascii85.Decode(out, data, true)
	if err != nil {
		return nil, fmt.Errorf("ascii85: %w", err)
	}
	if int64(n) > limit {
		return nil, fmt.Errorf("stream larger than %d bytes", limit)
	}
	return out[:n], nil
}

func runLength(data []byte, limit int64) ([]byte, error) {
	var out []byte
	for i := 0; i < len(data); {
		n := int(data[i])
		i++
		switch {
		case n == 128:
			return out, nil
		case n < 128:
			if i+n+1 > len(data) {
				return nil, fmt.Errorf("runlength: truncated run")
			}
			out = append(out, data[i:i+n+1]...)
			i += n + 1
		default:
			if i >= len(data) {
				return nil, fmt.Errorf("runlength: truncated run")
			}
			for range 257 - n {
				out = append(out, data[i])
			}
			i++
		}
		if int64(len(out)) > limit {
			return nil, fmt.Errorf("stream larger than %d bytes", limit)
		}
	}
	return out, nil
}

// unpredict undoes a PNG (≥ 10) or TIFF (2) predictor.
func unpredict(data []byte, parms *Dict, limit int64) ([]byte, error) {
	pr := parms.Get("Predictor")
	if pr.Kind == Null || pr.Kind == Int && pr.Int == 1 {
		return data, nil
	}
	if pr.Kind != Int || (pr.Int != 2 && (pr.Int < 10 || pr.Int > 15)) {
		return nil, fmt.Errorf("%w: predictor %v", ErrUnsupportedFilter, pr.Int)
	}
	cols, colors, bpc := int64(1), int64(1), int64(8)
	if c := parms.Get("Columns"); c.Kind == Int {
		cols = c.Int
	}
	if c := parms.Get("Colors"); c.Kind == Int {
		colors = c.Int
	}
	if c := parms.Get("BitsPerComponent"); c.Kind == Int {
		bpc = c.Int
	}
	if cols <= 0 || cols > 1<<20 || colors <= 0 || colors > 32 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) {
		return nil, fmt.Errorf("bad predictor parameters")
	}
	bpp := int((colors*bpc + 7) / 8)
	rowLen := int((cols*colors*bpc + 7) / 8)
	if pr.Int == 2 {
		if bpc != 8 {
			return nil, fmt.Errorf("%w: TIFF predictor with %d bits per component", ErrUnsupportedFilter, bpc)
		}
		out := bytes.Clone(data)
		for r := 0; r+rowLen <= len(out); r += rowLen {
			row := out[r : r+rowLen]
			for j := bpp; j < len(row); j++ {
				row[j] += row[j-bpp]
			}
		}
		return out, nil
	}
	out := make([]byte, 0, min(int64(len(data)), limit))
	prev := make([]byte, rowLen)
	for i := 0; i+1 <= len(data); i += rowLen + 1 {
		kind := data[i]
		end := min(i+1+rowLen, len(data))
		row := make([]byte, rowLen)
		copy(row, data[i+1:end])
		for j := range row {
			var left, ul byte
			if j >= bpp {
				left = row[j-bpp]
				ul = prev[j-bpp]
			}
			up := prev[j]
			switch kind {
			case 0:
			case 1:
				row[j] += left
			case 2:
				row[j] += up
			case 3:
				row[j] += byte((int(left) + int(up)) / 2)
			case 4:
				row[j] += paeth(left, up, ul)
			default:
				return nil, fmt.Errorf("bad PNG predictor %d", kind)
			}
		}
		out = append(out, row[:end-i-1]...)
		prev = row
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
