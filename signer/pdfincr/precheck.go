package pdfincr

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// errUnterminatedArray reports the shape of input that makes
// github.com/digitorus/pdf v0.2.0 loop forever: an array still open when
// the "endobj" keyword is reached (its readArray keeps receiving the
// unread "endobj" token as null). Open refuses such files before parsing.
// maxObjects bounds the object count a document may declare.
const maxObjects = 1 << 24

var errUnterminatedArray = fmt.Errorf("%w: an array is not closed before endobj", ErrUnsupported)

// precheck scans the file's top-level object syntax as a stream (bounded
// memory) and refuses documents with an array left open at "endobj".
// Stream data is skipped up to the next "endstream" keyword; strings,
// hexadecimal strings, names and comments are tokenized so that
// delimiters inside them do not count.
func precheck(src io.ReaderAt, size int64) error {
	r := bufio.NewReaderSize(io.NewSectionReader(src, 0, size), 64<<10)
	depth := 0 // open arrays in the current object
	var word []byte
	prev := ""
	flush := func() error {
		if len(word) == 0 {
			return nil
		}
		w := string(word)
		word = word[:0]
		last := prev
		prev = w
		if last == "/Size" {
			// The parser allocates its cross-reference table from /Size
			// (trailer or xref stream) before anything checks it.
			if n, err := strconv.ParseInt(w, 10, 64); err == nil && (n < 0 || n > maxObjects) {
				return fmt.Errorf("%w: /Size %d is more than %d objects", ErrUnsupported, n, maxObjects)
			}
		}
		switch w {
		case "obj":
			depth = 0
		case "endobj":
			if depth > 0 {
				return errUnterminatedArray
			}
		case "stream":
			return skipStream(r)
		}
		return nil
	}
	for {
		c, err := r.ReadByte()
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return fmt.Errorf("pdfincr: read: %w", err)
		}
		switch {
		case c == '%':
			if err := flush(); err != nil {
				return err
			}
			if _, err := r.ReadBytes('\n'); err != nil && err != io.EOF {
				return err
			}
		case c == '(':
			if err := flush(); err != nil {
				return err
			}
			if err := skipString(r); err != nil {
				return err
			}
		case c == '<':
			if err := flush(); err != nil {
				return err
			}
			next, err := r.Peek(1)
			if err == nil && next[0] == '<' {
				_, _ = r.ReadByte()
				continue
			}
			if _, err := r.ReadBytes('>'); err != nil && err != io.EOF {
				return err
			}
		case c == '[':
			if err := flush(); err != nil {
				return err
			}
			depth++
		case c == ']':
			if err := flush(); err != nil {
				return err
			}
			if depth > 0 {
				depth--
			}
		case c == '/' || c == '>' || c == '{' || c == '}' || c == ')':
			if err := flush(); err != nil {
				return err
			}
			if c == '/' {
				word = append(word[:0], '/') // names never match keywords
			}
		case c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0:
			if err := flush(); err != nil {
				return err
			}
		default:
			if len(word) < 64 {
				word = append(word, c)
			}
		}
	}
}

// skipString consumes a literal string after its "(".
func skipString(r *bufio.Reader) error {
	nest := 1
	for nest > 0 {
		c, err := r.ReadByte()
		if err != nil {
			return nil // unterminated string at end of file: the parser reports it
		}
		switch c {
		case '\\':
			if _, err := r.ReadByte(); err != nil {
				return nil
			}
		case '(':
			nest++
		case ')':
			nest--
		}
	}
	return nil
}

var endstream = []byte("endstream")

// skipStream consumes stream data up to and including "endstream".
func skipStream(r *bufio.Reader) error {
	matched := 0
	for {
		c, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		switch {
		case c == endstream[matched]:
			matched++
			if matched == len(endstream) {
				return nil
			}
		case c == endstream[0]:
			matched = 1
		default:
			matched = 0
		}
	}
}
