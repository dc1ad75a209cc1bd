package dossier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"golang.org/x/text/unicode/norm"

	"kyso/problem"
	"kyso/store"
)

// Level is an agency's administrative level.
type Level string

// The levels, from the top.
const (
	LevelProvince Level = "province"
	LevelDistrict Level = "district"
	LevelCommune  Level = "commune"
)

// Levels lists the levels from the top down.
func Levels() []Level { return []Level{LevelProvince, LevelDistrict, LevelCommune} }

func (l Level) rank() int {
	switch l {
	case LevelProvince:
		return 1
	case LevelDistrict:
		return 2
	case LevelCommune:
		return 3
	}
	return 0
}

// Agency is an administrative body in charge of procedures. A province has
// no parent; a district's parent is a province, a commune's a district (or a
// province for communes directly under it).
type Agency struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Level      Level  `json:"level"`
	ParentCode string `json:"parent_code,omitempty"`
	// Place is where the agency dates its documents ("Hà Nội").
	Place string `json:"place,omitempty"`
}

// Agencies is the store of agencies.
type Agencies struct {
	db  *store.DB
	now func() time.Time
}

// NewAgencies applies the dossier migrations and returns the agency store.
func NewAgencies(ctx context.Context, db *store.DB) (*Agencies, error) {
	if err := migrate(ctx, db); err != nil {
		return nil, err
	}
	return &Agencies{db: db, now: time.Now}, nil
}

// ErrAgencyNotFound is returned by Get for an unknown code.
var ErrAgencyNotFound = problem.New(http.StatusNotFound, "not-found", "no such agency")

var agencyCodePattern = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,31}$`)

// Upsert creates or updates an agency. The parent must exist and be at a
// higher level, so the tree has no cycles.
func (a *Agencies) Upsert(ctx context.Context, ag Agency) error {
	if !agencyCodePattern.MatchString(ag.Code) {
		return invalid("agency code %q must be 1-32 upper-case letters, digits or '-'", ag.Code)
	}
	if ag.Name == "" || len(ag.Name) > 200 {
		return invalid("agency name must be 1-200 bytes")
	}
	if len(ag.Place) > 100 {
		return invalid("agency place must be at most 100 bytes")
	}
	if ag.Level.rank() == 0 {
		return invalid("agency level must be province, district or commune")
	}
	switch {
	case ag.Level == LevelProvince && ag.ParentCode != "":
		return invalid("a province has no parent agency")
	case ag.Level != LevelProvince && ag.ParentCode == "":
		return invalid("a %s needs a parent agency", ag.Level)
	}
	if ag.ParentCode != "" {
		parent, err := a.Get(ctx, ag.ParentCode)
		if err != nil {
			return fmt.Errorf("dossier: parent of %s: %w", ag.Code, err)
		}
		if parent.Level.rank() >= ag.Level.rank() {
			return invalid("the parent of a %s cannot be a %s", ag.Level, parent.Level)
		}
	}
	_, err := a.db.ExecContext(ctx, `INSERT INTO agencies (code, name, level, parent_code, updated_at, place) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, parent_code = excluded.parent_code,
		updated_at = excluded.updated_at, place = excluded.place`,
		ag.Code, norm.NFC.String(ag.Name), string(ag.Level), ag.ParentCode, a.now().UnixMilli(), norm.NFC.String(ag.Place))
	if err != nil {
		return fmt.Errorf("dossier: upsert agency %s: %w", ag.Code, err)
	}
	return nil
}

// Get returns the agency with code.
func (a *Agencies) Get(ctx context.Context, code string) (*Agency, error) {
	var ag Agency
	var level string
	err := a.db.QueryRowContext(ctx, "SELECT code, name, level, parent_code, place FROM agencies WHERE code = $1", code).
		Scan(&ag.Code, &ag.Name, &level, &ag.ParentCode, &ag.Place)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrAgencyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("dossier: get agency %s: %w", code, err)
	}
	ag.Level = Level(level)
	return &ag, nil
}

// List returns every agency ordered by code.
func (a *Agencies) List(ctx context.Context) ([]Agency, error) {
	rows, err := a.db.QueryContext(ctx, "SELECT code, name, level, parent_code, place FROM agencies ORDER BY code")
	if err != nil {
		return nil, fmt.Errorf("dossier: list agencies: %w", err)
	}
	defer rows.Close()
	var out []Agency
	for rows.Next() {
		var ag Agency
		var level string
		if err := rows.Scan(&ag.Code, &ag.Name, &level, &ag.ParentCode, &ag.Place); err != nil {
			return nil, fmt.Errorf("dossier: list agencies: %w", err)
		}
		ag.Level = Level(level)
		out = append(out, ag)
	}
	return out, rows.Err()
}

// Subtree returns the agencies in list whose chain of parents reaches root
// (root included), in list order.
func Subtree(list []Agency, root string) []Agency {
	parent := make(map[string]string, len(list))
	for _, ag := range list {
		parent[ag.Code] = ag.ParentCode
	}
	var out []Agency
	for _, ag := range list {
		c := ag.Code
		for depth := 0; c != "" && depth < 8; depth++ {
			if c == root {
				out = append(out, ag)
				break
			}
			c = parent[c]
		}
	}
	return out
}

// DemoAgencies are the agencies the development setup creates: the Hà Nội
// people's committee (province) and one of its districts.
func DemoAgencies() []Agency {
	return []Agency{
		{Code: "UBND-HN", Name: "Ủy ban nhân dân thành phố Hà Nội", Level: LevelProvince, Place: "Hà Nội"},
		{Code: "UBND-HN-BD", Name: "Ủy ban nhân dân quận Ba Đình", Level: LevelDistrict, ParentCode: "UBND-HN", Place: "Hà Nội"},
	}
}

// SeedDemoAgencies upserts DemoAgencies (idempotent).
func SeedDemoAgencies(ctx context.Context, a *Agencies) error {
	for _, ag := range DemoAgencies() {
		if err := a.Upsert(ctx, ag); err != nil {
			return err
		}
	}
	return nil
}
