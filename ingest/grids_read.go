package ingest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"whistlegrid/fault"
)

// ErrGridFile is the error of a grid file that cannot be read as a whole
// (a bad archive, an unknown CRS, no features); Invalid.
var ErrGridFile = fault.New(fault.Invalid, "ingest: grid file")

// RawGrid is one feature of a grid file as read: its position (1-based),
// properties and GeoJSON geometry, before any check.
type RawGrid struct {
	N          int
	Code       string
	Name       string
	Level      string
	Kind       string
	ParentCode string
	Geometry   json.RawMessage
}

// Datums a grid file may be in.
const (
	DatumWGS84    = "wgs84"
	DatumCGCS2000 = "cgcs2000"
	DatumGCJ02    = "gcj02"
)

// MaxGridFileBytes is the largest grid file (GeoJSON, or the zip) read.
const MaxGridFileBytes = 512 << 20

// ParseGridGeoJSON reads a GeoJSON FeatureCollection of grids: properties
// code (or 编码 / 网格编码), name (名称 / 网格名称), optional level, kind and
// parent_code (上级编码). A legacy "crs" member names the datum: EPSG:4326
// or CRS84 is wgs84, EPSG:4490 cgcs2000; any other is refused with its
// name. crs is "" when the file names none (RFC 7946: WGS-84).
func ParseGridGeoJSON(data []byte) (grids []RawGrid, crs string, err error) {
	return parseGridGeoJSON(data, false)
}

func parseGridGeoJSON(data []byte, ignoreCRS bool) (grids []RawGrid, crs string, err error) {
	var fc struct {
		Type string `json:"type"`
		CRS  *struct {
			Properties struct {
				Name string `json:"name"`
			} `json:"properties"`
		} `json:"crs"`
		Features []struct {
			Type       string                     `json:"type"`
			Properties map[string]json.RawMessage `json:"properties"`
			Geometry   json.RawMessage            `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		return nil, "", fault.Errorf(ErrGridFile, "not GeoJSON: %v", err)
	}
	if fc.Type != "FeatureCollection" {
		return nil, "", fault.Errorf(ErrGridFile, "GeoJSON must be a FeatureCollection, not %q", fc.Type)
	}
	if fc.CRS != nil && !ignoreCRS {
		crs, err = datumOfCRSName(fc.CRS.Properties.Name)
		if err != nil {
			return nil, "", err
		}
	}
	if len(fc.Features) == 0 {
		return nil, "", fault.Errorf(ErrGridFile, "the file has no features")
	}
	for i, f := range fc.Features {
		g := RawGrid{N: i + 1, Geometry: f.Geometry}
		g.Code = prop(f.Properties, "code", "编码", "网格编码", "CODE")
		g.Name = prop(f.Properties, "name", "名称", "网格名称", "NAME")
		g.Level = prop(f.Properties, "level", "层级", "LEVEL")
		g.Kind = prop(f.Properties, "kind", "类型", "KIND")
		g.ParentCode = prop(f.Properties, "parent_code", "parent", "上级编码", "PARENT")
		grids = append(grids, g)
	}
	return grids, crs, nil
}

// prop is the first of keys present, as text (a number is written as is).
func prop(p map[string]json.RawMessage, keys ...string) string {
	for _, k := range keys {
		raw, ok := p[k]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return strings.TrimSpace(s)
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String()
		}
	}
	return ""
}

var epsgRe = regexp.MustCompile(`(?i)EPSG:{1,2}(\d+)$`)

func datumOfCRSName(name string) (string, error) {
	n := strings.TrimSpace(name)
	if strings.HasSuffix(strings.ToUpper(n), "CRS84") {
		return DatumWGS84, nil
	}
	if m := epsgRe.FindStringSubmatch(n); m != nil {
		switch m[1] {
		case "4326":
			return DatumWGS84, nil
		case "4490":
			return DatumCGCS2000, nil
		}
	}
	return "", fault.Errorf(ErrGridFile, "the coordinate reference system %q is not accepted: only WGS-84 (EPSG:4326), CGCS2000 (EPSG:4490) or GCJ-02 (--datum gcj02)", n)
}

var wktNameRe = regexp.MustCompile(`^\s*(\w+)\s*\[\s*"([^"]*)"`)

// DatumOfPRJ reads a Shapefile .prj (ESRI WKT): a geographic CRS on
// WGS-84 or CGCS2000 is accepted; anything else, projected systems
// included, is refused with its name.
func DatumOfPRJ(prj string) (string, error) {
	m := wktNameRe.FindStringSubmatch(prj)
	if m == nil {
		return "", fault.Errorf(ErrGridFile, "the .prj is not a WKT coordinate reference system")
	}
	kind, name := strings.ToUpper(m[1]), m[2]
	if kind == "GEOGCS" || kind == "GEOGCRS" {
		up := strings.ToUpper(prj)
		switch {
		case strings.Contains(up, "CGCS") || strings.Contains(up, "CHINA_2000") || strings.Contains(up, "CHINA GEODETIC COORDINATE SYSTEM 2000"):
			return DatumCGCS2000, nil
		case strings.Contains(up, "WGS_1984") || strings.Contains(up, "WGS 84") || strings.Contains(up, "WGS84"):
			return DatumWGS84, nil
		}
	}
	return "", fault.Errorf(ErrGridFile, "the coordinate reference system %q (%s) is not accepted: only WGS-84, CGCS2000 (EPSG:4490) or GCJ-02 (--datum gcj02)", name, kind)
}

// ReadGridFile reads a GeoJSON file or a zipped Shapefile (.zip holding
// .shp .shx .dbf .prj, optionally .cpg) into features and the file's
// datum. A Shapefile is converted by GDAL's ogr2ogr; its .dbf text is
// read in the .cpg's encoding, or encoding (e.g. CP936, UTF-8) when the
// .cpg is missing: GBK (CP936) by default.
func ReadGridFile(ctx context.Context, file, encoding string) ([]RawGrid, string, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, "", fault.Errorf(ErrGridFile, "%v", err)
	}
	if st.Size() > MaxGridFileBytes {
		return nil, "", fault.Errorf(ErrGridFile, "the file is %d bytes; at most %d are read", st.Size(), MaxGridFileBytes)
	}
	if strings.EqualFold(path.Ext(file), ".zip") {
		return readShapeZip(ctx, file, encoding)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "", fault.Errorf(ErrGridFile, "%v", err)
	}
	return ParseGridGeoJSON(data)
}

// ReadGridData is ReadGridFile on a file's bytes (an upload): a zip
// archive (told by its magic bytes) is a zipped Shapefile, anything else
// GeoJSON.
func ReadGridData(ctx context.Context, data []byte, encoding string) ([]RawGrid, string, error) {
	if len(data) > MaxGridFileBytes {
		return nil, "", fault.Errorf(ErrGridFile, "the file is %d bytes; at most %d are read", len(data), MaxGridFileBytes)
	}
	if !bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return ParseGridGeoJSON(data)
	}
	// ogr2ogr reads the archive from a file
	f, err := os.CreateTemp("", "whistlegrid-grids-*.zip")
	if err != nil {
		return nil, "", fmt.Errorf("ingest: grids: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, "", fmt.Errorf("ingest: grids: %w", err)
	}
	return readShapeZip(ctx, f.Name(), encoding)
}

func readShapeZip(ctx context.Context, file, encoding string) ([]RawGrid, string, error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil, "", fault.Errorf(ErrGridFile, "not a zip archive: %v", err)
	}
	defer zr.Close()
	var shp, prj string
	var dbfText []byte // the .dbf records, for telling UTF-8 from GBK
	hasCPG := false
	for _, f := range zr.File {
		switch strings.ToLower(path.Ext(f.Name)) {
		case ".shp":
			if shp != "" {
				return nil, "", fault.Errorf(ErrGridFile, "the archive holds more than one .shp (%s, %s); one layer per file", shp, f.Name)
			}
			shp = f.Name
		case ".cpg":
			hasCPG = true
		case ".dbf":
			rc, err := f.Open()
			if err != nil {
				return nil, "", fault.Errorf(ErrGridFile, "%s: %v", f.Name, err)
			}
			b, err := io.ReadAll(io.LimitReader(rc, 64<<20))
			rc.Close()
			if err != nil {
				return nil, "", fault.Errorf(ErrGridFile, "%s: %v", f.Name, err)
			}
			if len(b) >= 32 {
				if h := int(binary.LittleEndian.Uint16(b[8:10])); h <= len(b) {
					dbfText = b[h:]
				}
			}
		case ".prj":
			rc, err := f.Open()
			if err != nil {
				return nil, "", fault.Errorf(ErrGridFile, "%s: %v", f.Name, err)
			}
			b, err := io.ReadAll(io.LimitReader(rc, 1<<16))
			rc.Close()
			if err != nil {
				return nil, "", fault.Errorf(ErrGridFile, "%s: %v", f.Name, err)
			}
			prj = string(b)
		}
	}
	if shp == "" {
		return nil, "", fault.Errorf(ErrGridFile, "the archive holds no .shp")
	}
	if prj == "" {
		return nil, "", fault.Errorf(ErrGridFile, "the archive holds no .prj: the coordinate reference system is unknown")
	}
	datum, err := DatumOfPRJ(prj)
	if err != nil {
		return nil, "", err
	}
	args := []string{"-f", "GeoJSON", "-lco", "RFC7946=NO", "-lco", "COORDINATE_PRECISION=8", "/vsistdout/", "/vsizip/" + file + "/" + shp}
	if !hasCPG {
		if encoding == "" {
			encoding = DBFEncoding(dbfText)
		}
		args = append([]string{"--config", "SHAPE_ENCODING", encoding}, args...)
	} else if encoding != "" {
		args = append([]string{"--config", "SHAPE_ENCODING", encoding}, args...)
	}
	cmd := exec.CommandContext(ctx, "ogr2ogr", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, "", fmt.Errorf("ingest: ogr2ogr (from gdal-bin; scripts/setup.sh installs it): %v: %s", err, strings.TrimSpace(errb.String()))
	}
	// the .prj was judged above; ogr2ogr's crs member only restates it
	grids, _, err := parseGridGeoJSON(out.Bytes(), true)
	return grids, datum, err
}

// DBFEncoding guesses the encoding of .dbf records that come with no .cpg:
// UTF-8 when they hold non-ASCII text that is valid UTF-8 (GBK text of any
// length almost never is), else CP936 (GBK), the Chinese default.
func DBFEncoding(records []byte) string {
	ascii := true
	for _, c := range records {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii && utf8.Valid(records) {
		return "UTF-8"
	}
	return "CP936"
}
