package identity

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"kyso/store"
)

// RegistryRecord is what the population registry holds about a citizen.
type RegistryRecord struct {
	ID        string `json:"id"`
	FullName  string `json:"full_name"`
	BirthDate string `json:"birth_date"` // YYYY-MM-DD
	Sex       string `json:"sex"`        // "M" or "F"
}

// ErrNotInRegistry is returned by Registry.Lookup for unknown IDs.
var ErrNotInRegistry = errors.New("identity: not in the population registry")

// Registry looks citizens up in the population registry.
type Registry interface {
	Lookup(ctx context.Context, id string) (*RegistryRecord, error)
}

// Levels of assurance.
const (
	LoASubstantial = "substantial"
	LoAHigh        = "high"
)

// registryLoA compares the card with the registry: no entry gives
// substantial, a match gives high, a contradiction is refused.
func registryLoA(ctx context.Context, reg Registry, card *Card) (string, bool, error) {
	rec, err := reg.Lookup(ctx, card.IDNumber)
	if errors.Is(err, ErrNotInRegistry) {
		return LoASubstantial, false, nil
	}
	if err != nil {
		return "", false, refuse(CodeRegistryUnavailable, err)
	}
	var diffs []string
	if normName(rec.FullName) != normName(card.FullName) {
		diffs = append(diffs, "name")
	}
	if rec.BirthDate != card.BirthDate {
		diffs = append(diffs, "birth date")
	}
	if rec.Sex != "" && card.Sex != "" && rec.Sex != card.Sex {
		diffs = append(diffs, "sex")
	}
	if len(diffs) > 0 {
		return "", false, refusef(CodeRegistryMismatch, "the population registry disagrees on %s", strings.Join(diffs, ", "))
	}
	return LoAHigh, true, nil
}

func normName(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(norm.NFC.String(s))), " ")
}

// StoreRegistry is the embedded registry: a table in the store.
type StoreRegistry struct{ db *store.DB }

// NewStoreRegistry returns the embedded registry (migrations must have been
// applied, see Migrate).
func NewStoreRegistry(db *store.DB) *StoreRegistry { return &StoreRegistry{db: db} }

// Lookup implements Registry.
func (r *StoreRegistry) Lookup(ctx context.Context, id string) (*RegistryRecord, error) {
	rec := &RegistryRecord{ID: id}
	err := r.db.QueryRowContext(ctx, `SELECT full_name, birth_date, sex FROM identity_registry WHERE id = $1`, id).
		Scan(&rec.FullName, &rec.BirthDate, &rec.Sex)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotInRegistry
	}
	if err != nil {
		return nil, fmt.Errorf("identity: registry lookup: %w", err)
	}
	return rec, nil
}

// ImportRegistryCSV loads citizens into the embedded registry from CSV with
// the header `id,full_name,birth_date,sex` (birth_date YYYY-MM-DD, sex M or
// F; columns in any order, extra columns ignored). Existing IDs are
// replaced. The import is one transaction: a bad row imports nothing. It
// returns the number of rows imported.
func ImportRegistryCSV(ctx context.Context, db *store.DB, r io.Reader) (int, error) {
	if err := Migrate(ctx, db); err != nil {
		return 0, err
	}
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return 0, fmt.Errorf("identity: registry CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, need := range []string{"id", "full_name", "birth_date", "sex"} {
		if _, ok := col[need]; !ok {
			return 0, fmt.Errorf("identity: registry CSV lacks column %q", need)
		}
	}
	n := 0
	now := time.Now().UnixMilli()
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		for line := 2; ; line++ {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("identity: registry CSV line %d: %w", line, err)
			}
			get := func(k string) string {
				if i := col[k]; i < len(rec) {
					return strings.TrimSpace(rec[i])
				}
				return ""
			}
			id, name, birth, sex := get("id"), norm.NFC.String(get("full_name")), get("birth_date"), strings.ToUpper(get("sex"))
			if !isID(id) {
				return fmt.Errorf("identity: registry CSV line %d: id %q is not 12 digits", line, id)
			}
			if _, err := time.Parse(time.DateOnly, birth); err != nil {
				return fmt.Errorf("identity: registry CSV line %d: birth_date %q is not YYYY-MM-DD", line, birth)
			}
			if sex != "M" && sex != "F" && sex != "" {
				return fmt.Errorf("identity: registry CSV line %d: sex %q is not M or F", line, sex)
			}
			if name == "" {
				return fmt.Errorf("identity: registry CSV line %d: empty full_name", line)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM identity_registry WHERE id = $1`, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO identity_registry (id, full_name, birth_date, sex, updated_ms) VALUES ($1, $2, $3, $4, $5)`,
				id, name, birth, sex, now); err != nil {
				return err
			}
			n++
		}
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// HTTPRegistry asks a remote registry service: GET {BaseURL}/citizens/{id}
// answers 200 with a RegistryRecord as JSON, or 404.
type HTTPRegistry struct {
	BaseURL string
	Client  *http.Client
	// Header is added to every request (e.g. an API key).
	Header http.Header
}

// NewHTTPRegistry returns an HTTPRegistry with a client timing out after
// timeout (default 5 s).
func NewHTTPRegistry(baseURL string, timeout time.Duration) *HTTPRegistry {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &HTTPRegistry{BaseURL: strings.TrimRight(baseURL, "/"), Client: &http.Client{Timeout: timeout}}
}

// Lookup implements Registry.
func (h *HTTPRegistry) Lookup(ctx context.Context, id string) (*RegistryRecord, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.BaseURL+"/citizens/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, fmt.Errorf("identity: registry request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range h.Header {
		req.Header[k] = v
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("identity: registry: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, ErrNotInRegistry
	default:
		return nil, fmt.Errorf("identity: registry answered %s", resp.Status)
	}
	var rec RegistryRecord
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&rec); err != nil {
		return nil, fmt.Errorf("identity: registry answer: %w", err)
	}
	if rec.ID != "" && rec.ID != id {
		return nil, fmt.Errorf("identity: registry answered for %s instead of %s", rec.ID, id)
	}
	rec.ID = id
	rec.Sex = strings.ToUpper(rec.Sex)
	return &rec, nil
}
