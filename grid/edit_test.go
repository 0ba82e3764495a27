package grid_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"whistlegrid/access"
	"whistlegrid/grid"
)

func TestParseOutline(t *testing.T) {
	square := `[[115.9,40.4],[115.91,40.4],[115.91,40.41],[115.9,40.41],[115.9,40.4]]`
	hole := `[[115.902,40.402],[115.902,40.404],[115.904,40.404],[115.902,40.402]]`
	tests := []struct {
		name, in string
		polys    int    // polygons parsed; 0 when refused
		rings    int    // rings of the first polygon
		refusal  string // part of the reason
	}{
		{"polygon", `{"type":"Polygon","coordinates":[` + square + `]}`, 1, 1, ""},
		{"polygon with a hole", `{"type":"Polygon","coordinates":[` + square + `,` + hole + `]}`, 1, 2, ""},
		{"multipolygon", `{"type":"MultiPolygon","coordinates":[[` + square + `],[` + hole + `]]}`, 2, 1, ""},
		{"altitude dropped", `{"type":"Polygon","coordinates":[[[115.9,40.4,10],[115.91,40.4,10],[115.91,40.41,10],[115.9,40.4,10]]]}`, 1, 1, ""},
		{"missing", ``, 0, 0, "required"},
		{"null", `null`, 0, 0, "required"},
		{"not an object", `5`, 0, 0, "GeoJSON object"},
		{"point", `{"type":"Point","coordinates":[115.9,40.4]}`, 0, 0, "Polygon or MultiPolygon"},
		{"feature", `{"type":"Feature","geometry":null}`, 0, 0, "Polygon or MultiPolygon"},
		{"no polygon", `{"type":"MultiPolygon","coordinates":[]}`, 0, 0, "no polygon"},
		{"no ring", `{"type":"MultiPolygon","coordinates":[[]]}`, 0, 0, "no ring"},
		{"three positions", `{"type":"Polygon","coordinates":[[[115.9,40.4],[115.91,40.4],[115.9,40.4]]]}`, 0, 0, "at least 4"},
		{"not closed", `{"type":"Polygon","coordinates":[[[115.9,40.4],[115.91,40.4],[115.91,40.41],[115.9,40.41]]]}`, 0, 0, "not closed"},
		{"one number", `{"type":"Polygon","coordinates":[[[115.9],[115.91,40.4],[115.91,40.41],[115.9,40.4]]]}`, 0, 0, "must be [lon, lat]"},
		{"string coordinate", `{"type":"Polygon","coordinates":[[["115.9",40.4],[115.91,40.4],[115.91,40.41],[115.9,40.4]]]}`, 0, 0, "coordinates must be"},
		{"latitude out of range", `{"type":"Polygon","coordinates":[[[115.9,95],[115.91,40.4],[115.91,40.41],[115.9,95]]]}`, 0, 0, "outside lon"},
		{"longitude out of range", `{"type":"Polygon","coordinates":[[[-181,40],[115.91,40.4],[115.91,40.41],[-181,40]]]}`, 0, 0, "outside lon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp, err := grid.ParseOutline(json.RawMessage(tt.in))
			if tt.refusal != "" {
				var r *grid.Refusal
				if !errors.As(err, &r) || r.Rule != grid.RuleGeoJSON || !strings.Contains(r.Reason, tt.refusal) || !errors.Is(err, grid.ErrInvalid) {
					t.Fatalf("err %v, want a geojson refusal mentioning %q", err, tt.refusal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(mp) != tt.polys || len(mp[0]) != tt.rings {
				t.Fatalf("parsed %v", mp)
			}
			if r := mp[0][0]; r[0] != (orb.Point{115.9, 40.4}) || r[0] != r[len(r)-1] {
				t.Errorf("first ring %v", r)
			}
		})
	}
}

func TestEditIsForTheCommandCenterOnly(t *testing.T) {
	s := grid.NewStore(nil) // refused before any query
	outline := orb.MultiPolygon{{{{115.9, 40.4}, {115.91, 40.4}, {115.91, 40.41}, {115.9, 40.4}}}}
	for _, r := range []access.Role{access.RoleScreen, access.RoleTownship, access.RoleGridWorker, access.RolePartyMember, access.RoleUnit} {
		if _, err := s.Edit(context.Background(), access.Scope{Role: r, GridCode: "110119"}, "110119101", outline, ""); !errors.Is(err, grid.ErrForbidden) {
			t.Errorf("%s: err %v, want ErrForbidden", r, err)
		}
	}
}
