package ca

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var hexSerial = regexp.MustCompile(`^[0-9a-f]{1,64}$`)

// normalizeSerial turns "0A:1B…" or "0a1b…" into stored form; invalid
// input becomes "" which matches nothing.
func normalizeSerial(s string) string {
	s = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	s = strings.TrimLeft(s, "0")
	if !hexSerial.MatchString(s) {
		return ""
	}
	return s
}

// ListFilter selects certificates for officers.
type ListFilter struct {
	// Subject matches the subject ID exactly (12 digits or an agency
	// code) or, otherwise, is a substring of the subject DN.
	Subject string
	// Status is "valid", "revoked", "hold" or "" for all.
	Status string
	// PageToken continues a previous listing.
	PageToken string
	// Limit is the page size (default 50, at most 500).
	Limit int
}

var citizenID = regexp.MustCompile(`^[0-9]{12}$`)
var agencyCode = regexp.MustCompile(`^[A-Z0-9][A-Z0-9\-\.]{1,31}$`)

// List returns certificates newest first, with a token for the next page
// ("" at the end).
func (c *CA) List(ctx context.Context, f ListFilter) ([]CertInfo, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > 500 {
		limit = 500
	}
	q := `SELECT ` + certColumns + ` FROM ca_certificates WHERE 1 = 1`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	switch f.Status {
	case "":
	case StatusValid, StatusRevoked, StatusHold:
		q += ` AND status = ` + arg(f.Status)
	default:
		return nil, "", ErrBadRequest.With("detail", "status must be valid, revoked or hold")
	}
	if s := strings.TrimSpace(f.Subject); s != "" {
		if citizenID.MatchString(s) || agencyCode.MatchString(s) {
			q += ` AND subject_id = ` + arg(s)
		} else {
			if len(s) > 128 {
				return nil, "", ErrBadRequest.With("detail", "subject filter too long")
			}
			esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
			q += ` AND subject LIKE ` + arg("%"+esc+"%") + ` ESCAPE '\'`
		}
	}
	if f.PageToken != "" {
		created, serial, err := decodePageToken(f.PageToken)
		if err != nil {
			return nil, "", ErrBadRequest.With("detail", "bad page_token")
		}
		a, b, c2 := arg(created), arg(created), arg(serial)
		q += ` AND (created_at < ` + a + ` OR (created_at = ` + b + ` AND serial < ` + c2 + `))`
	}
	q += ` ORDER BY created_at DESC, serial DESC LIMIT ` + arg(limit+1)
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("ca: list: %w", err)
	}
	defer rows.Close()
	var out []CertInfo
	for rows.Next() {
		ci, err := scanCert(rows)
		if err != nil {
			return nil, "", fmt.Errorf("ca: list: %w", err)
		}
		out = append(out, *ci)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("ca: list: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[len(out)-1]
		next = encodePageToken(last.CreatedAt.UnixMilli(), last.Serial)
	}
	return out, next, nil
}

func encodePageToken(created int64, serial string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(created, 10) + "." + serial))
}

func decodePageToken(tok string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, "", err
	}
	ts, serial, ok := strings.Cut(string(b), ".")
	if !ok || !hexSerial.MatchString(serial) {
		return 0, "", fmt.Errorf("bad token")
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return 0, "", err
	}
	return n, serial, nil
}
