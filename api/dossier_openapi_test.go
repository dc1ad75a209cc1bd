package api_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kyso/api"
)

// dossier/openapi-paths.json describes every dossier and report route.
func TestDossierOpenAPIPaths(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "dossier", "openapi-paths.json"))
	if err != nil {
		t.Fatal(err)
	}
	var paths map[string]map[string]any
	if err := json.Unmarshal(b, &paths); err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Deps{}, api.NewDossierArea(nil, nil))
	n := 0
	for _, rt := range srv.Routes() {
		if !strings.HasPrefix(rt.Path, "/v1/dossiers") && !strings.HasPrefix(rt.Path, "/v1/reports") {
			continue
		}
		n++
		if _, ok := paths[rt.Path][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("%s %s is not in dossier/openapi-paths.json", rt.Method, rt.Path)
		}
	}
	if n != 14 {
		t.Errorf("%d dossier routes", n)
	}
}
