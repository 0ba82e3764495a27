package demo

import (
	"embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

//go:embed data
var embedded embed.FS

// Files returns the reference data the demo ships with, read-only:
// yanqing/district.geojson, yanqing/divisions.csv, beijing/districts.geojson,
// beijing/divisions.csv and README.md (sources and MIT attribution, which
// must travel with any copy). Outlines are lon/lat, treated as WGS-84
// (SRID 4326), and invalid as shipped: repair them before use.
func Files() fs.FS {
	sub, err := fs.Sub(embedded, "data")
	if err != nil {
		panic("demo: embedded data: " + err.Error()) // the folder is compiled in
	}
	return sub
}

// Division is one row of a divisions.csv: an official 统计用区划代码 with
// its name. Level is district, township or village; a child's Code starts
// with its ParentCode.
type Division struct {
	Code       string
	Name       string
	Level      string
	ParentCode string
}

// ReadDivisions parses a divisions.csv (UTF-8, header
// code,name,level,parent_code).
func ReadDivisions(r io.Reader) ([]Division, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 4
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("demo: divisions: %w", err)
	}
	if strings.Join(head, ",") != "code,name,level,parent_code" {
		return nil, fmt.Errorf("demo: divisions: unexpected header %q", strings.Join(head, ","))
	}
	var out []Division
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("demo: divisions: %w", err)
		}
		d := Division{Code: rec[0], Name: rec[1], Level: rec[2], ParentCode: rec[3]}
		switch {
		case d.Level != "district" && d.Level != "township" && d.Level != "village":
			return nil, fmt.Errorf("demo: divisions: %s: unknown level %q", d.Code, d.Level)
		case !strings.HasPrefix(d.Code, d.ParentCode):
			return nil, fmt.Errorf("demo: divisions: %s does not start with its parent code %s", d.Code, d.ParentCode)
		}
		out = append(out, d)
	}
}

// ReadOutlines parses a GeoJSON FeatureCollection whose features carry a
// "code" property and returns each feature's geometry, as GeoJSON text, by
// code. The geometry is passed through untouched (and may be invalid).
func ReadOutlines(r io.Reader) (map[string]json.RawMessage, error) {
	var fc struct {
		Features []struct {
			Properties struct {
				Code string `json:"code"`
			} `json:"properties"`
			Geometry json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	if err := json.NewDecoder(r).Decode(&fc); err != nil {
		return nil, fmt.Errorf("demo: outlines: %w", err)
	}
	out := make(map[string]json.RawMessage, len(fc.Features))
	for _, f := range fc.Features {
		if f.Properties.Code == "" || len(f.Geometry) == 0 {
			return nil, errors.New("demo: outlines: feature without code or geometry")
		}
		out[f.Properties.Code] = f.Geometry
	}
	return out, nil
}

// readFile opens name in fsys and parses it with parse.
func readFile[T any](fsys fs.FS, name string, parse func(io.Reader) (T, error)) (T, error) {
	f, err := fsys.Open(name)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("demo: %w", err)
	}
	defer f.Close()
	return parse(f)
}
