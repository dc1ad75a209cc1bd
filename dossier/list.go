package dossier

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"kyso/auth"
)

// ListQuery filters and pages a dossier list. Times bound the submission
// time: From inclusive, To exclusive.
type ListQuery struct {
	State         State
	ProcedureCode string
	AgencyCode    string
	From, To      time.Time
	PageSize      int
	PageToken     string
}

// Page is one page of a list, newest first.
type Page struct {
	Dossiers      []Dossier
	NextPageToken string
}

// MaxPageSize bounds ListQuery.PageSize; DefaultPageSize is used for 0.
const (
	MaxPageSize     = 200
	DefaultPageSize = 50
)

// List returns the dossiers p may see: a citizen's own, an agency's queue,
// everything for officers and admins.
func (s *Service) List(ctx context.Context, p *auth.Principal, q ListQuery) (*Page, error) {
	if p == nil {
		return nil, auth.ErrForbidden
	}
	if q.PageSize < 0 || q.PageSize > MaxPageSize {
		return nil, invalid("page_size must be between 1 and %d", MaxPageSize)
	}
	if q.PageSize == 0 {
		q.PageSize = DefaultPageSize
	}
	if q.State != "" && !q.State.Valid() {
		return nil, invalid("unknown state %q", q.State)
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	switch p.Role {
	case auth.RoleCitizen:
		add("applicant = $%d", p.Subject)
	case auth.RoleAgency:
		if p.AgencyCode == "" {
			return &Page{}, nil
		}
		add("agency_code = $%d", p.AgencyCode)
	case auth.RoleOfficer, auth.RoleAdmin:
	default:
		return nil, auth.ErrForbidden
	}
	if q.AgencyCode != "" {
		add("agency_code = $%d", q.AgencyCode)
	}
	if q.State != "" {
		add("state = $%d", string(q.State))
	}
	if q.ProcedureCode != "" {
		add("procedure_code = $%d", q.ProcedureCode)
	}
	if !q.From.IsZero() {
		add("submitted_at >= $%d", q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		add("submitted_at < $%d", q.To.UnixMilli())
	}
	if q.PageToken != "" {
		at, id, err := decodePageToken(q.PageToken)
		if err != nil {
			return nil, err
		}
		args = append(args, at, id)
		where = append(where, fmt.Sprintf("(submitted_at < $%d OR (submitted_at = $%d AND id < $%d))", len(args)-1, len(args)-1, len(args)))
	}
	query := "SELECT " + dossierColumns + " FROM dossiers"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, q.PageSize+1)
	query += fmt.Sprintf(" ORDER BY submitted_at DESC, id DESC LIMIT $%d", len(args))
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("dossier: list: %w", err)
	}
	defer rows.Close()
	page := &Page{}
	for rows.Next() {
		d, err := scanDossier(rows)
		if err != nil {
			return nil, fmt.Errorf("dossier: list: %w", err)
		}
		page.Dossiers = append(page.Dossiers, *d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dossier: list: %w", err)
	}
	if len(page.Dossiers) > q.PageSize {
		page.Dossiers = page.Dossiers[:q.PageSize]
		last := page.Dossiers[q.PageSize-1]
		page.NextPageToken = encodePageToken(last.SubmittedAt.UnixMilli(), last.ID)
	}
	return page, nil
}

func encodePageToken(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + "." + id))
}

func decodePageToken(tok string) (int64, string, error) {
	bad := invalid("page_token is not one this service issued")
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, "", bad
	}
	a, id, ok := strings.Cut(string(raw), ".")
	if !ok || !ValidID(id) {
		return 0, "", bad
	}
	at, err := strconv.ParseInt(a, 10, 64)
	if err != nil || at < 0 {
		return 0, "", bad
	}
	return at, id, nil
}

func wrap(s string, width int) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			if line != "" && len(line)+1+len(w) > width {
				out = append(out, line)
				line = ""
			}
			if line != "" {
				line += " "
			}
			line += w
		}
		out = append(out, line)
	}
	return out
}
