package pdfscan

import (
	"bytes"
	"compress/lzw"
	"compress/zlib"
	"encoding/ascii85"
	"errors"
	"fmt"
	"testing"
)

func streamObj(dict string, raw []byte) (*File, Object) {
	f, o, err := tryStreamObj(dict, raw)
	if err != nil {
		panic(err)
	}
	return f, o
}

func tryStreamObj(dict string, raw []byte) (*File, Object, error) {
	src := []byte(fmt.Sprintf("%%PDF-1.7\n1 0 obj\n<<%s /Length %d>>\nstream\n", dict, len(raw)))
	src = append(src, raw...)
	src = append(src, "\nendstream\nendobj\n"...)
	f := &File{Data: src, lim: DefaultLimits(), values: 1000, sections: map[int64]*Section{}, secErrs: map[int64]error{}, objCache: map[int64]cached{}, objStm: map[int64]*objStream{}}
	f.lim.MaxDecoded = 4 * f.lim.MaxStreamSize
	_, o, err := f.parseIndirectAt(9, nil)
	if err == nil && o.Kind != Stream {
		err = fmt.Errorf("not a stream")
	}
	return f, o, err
}

func TestFilters(t *testing.T) {
	plain := []byte("-----A---B 0 1 2 3 the quick brown fox jumps over the lazy dog")
	var fl bytes.Buffer
	zw := zlib.NewWriter(&fl)
	zw.Write(plain)
	zw.Close()
	var lz bytes.Buffer
	lw := lzw.NewWriter(&lz, lzw.MSB, 8)
	lw.Write(plain)
	lw.Close()
	a85 := make([]byte, ascii85.MaxEncodedLen(len(plain)))
	a85 = append(a85[:ascii85.Encode(a85, plain)], "~>"...)
	hex := []byte(fmt.Sprintf("%X>", plain))
	// RunLength: a literal run of the whole text, then a repeat of 'x' ×5.
	rl := append([]byte{byte(len(plain) - 1)}, plain...)
	rl = append(rl, 257-5, 'x', 128)
	// PNG Up predictor over 2 rows of 3 columns.
	var png bytes.Buffer
	zw = zlib.NewWriter(&png)
	zw.Write([]byte{2, 1, 2, 3, 2, 1, 1, 1})
	zw.Close()
	// AHx then Flate, applied in order.
	chain := []byte(fmt.Sprintf("%X>", fl.Bytes()))
	for _, tc := range []struct {
		name, dict string
		raw, want  []byte
		err        error
	}{
		{"none", "", plain, plain, nil},
		{"flate", "/Filter /FlateDecode", fl.Bytes(), plain, nil},
		{"flate array", "/Filter [/FlateDecode]", fl.Bytes(), plain, nil},
		// ISO 32000-1 §7.4.4.2 example: EarlyChange 1 (the default).
		{"lzw early", "/Filter /LZWDecode", []byte{0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01}, []byte("-----A---B"), nil},
		{"lzw late", "/Filter /LZWDecode /DecodeParms <</EarlyChange 0>>", lz.Bytes(), plain, nil},
		{"ascii85", "/Filter /ASCII85Decode", a85, plain, nil},
		{"asciihex", "/Filter /ASCIIHexDecode", hex, plain, nil},
		{"asciihex abbreviated", "/Filter /AHx", hex, plain, nil},
		{"runlength", "/Filter /RunLengthDecode", rl, append(bytes.Clone(plain), "xxxxx"...), nil},
		{"png up", "/Filter /FlateDecode /DecodeParms <</Predictor 12 /Columns 3>>", png.Bytes(), []byte{1, 2, 3, 2, 3, 4}, nil},
		{"tiff", "/DecodeParms <</Predictor 2 /Columns 3>> /Filter /FlateDecode", func() []byte {
			var b bytes.Buffer
			w := zlib.NewWriter(&b)
			w.Write([]byte{1, 1, 1, 5, 1, 1})
			w.Close()
			return b.Bytes()
		}(), []byte{1, 2, 3, 5, 6, 7}, nil},
		{"chain", "/Filter [/ASCIIHexDecode /FlateDecode]", chain, plain, nil},
		{"dct refused", "/Filter /DCTDecode", plain, nil, ErrUnsupportedFilter},
		{"crypt refused", "/Filter /Crypt", plain, nil, ErrUnsupportedFilter},
		{"parms mismatch refused", "/Filter [/AHx /Fl] /DecodeParms <<>>", chain, nil, ErrUnsupportedFilter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, o := streamObj(tc.dict, tc.raw)
			got, err := f.Decode(o)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Fatalf("Decode = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// A filter bomb stops at the stream limit.
func TestFilterBound(t *testing.T) {
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	f, o := streamObj("/Filter /FlateDecode", b.Bytes())
	f.lim.MaxStreamSize = 1 << 16
	if _, err := f.Decode(o); err == nil {
		t.Fatal("a stream beyond MaxStreamSize was decoded")
	}
}
