package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"whistlegrid/geo"
	"whistlegrid/grid"
)

// PlaceRow is one named place as a places file gives it.
type PlaceRow struct {
	Line     int
	Name     string
	Kind     string // compound, road, landmark (or 小区, 道路, 地标)
	Township string
	Aliases  []string
	Point    orb.Point // WGS-84
}

// placeKinds maps the kinds as written to the stored ones.
var placeKinds = map[string]string{"compound": "compound", "小区": "compound", "road": "road", "道路": "road", "路": "road",
	"landmark": "landmark", "地标": "landmark", "": "landmark"}

// PlacesOptions tune ImportPlaces.
type PlacesOptions struct {
	DryRun   bool
	Encoding Encoding
	FileName string
	By       string
	ImportID int64
}

// ImportPlaces reads a places file, CSV (名称, 类型, 所属街乡, 经度, 纬度,
// 坐标系, 别名 separated by 、 or ;) or GeoJSON (Point features with
// properties name, kind, township, aliases, datum), and upserts each place
// by township and name; its village is the one its point lies in. The
// gazetteer is reloaded after.
func (im *Importer) ImportPlaces(ctx context.Context, r io.Reader, opts PlacesOptions) (rep *Report, err error) {
	start := time.Now()
	br := bufio.NewReader(r)
	head, _ := br.Peek(512)
	var rows []PlaceRow
	rep = &Report{Kind: "places", DryRun: opts.DryRun, File: opts.FileName, Precisions: map[Precision]int64{}, Rejects: []Reject{}}
	if bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n\ufeff"), []byte("{")) {
		rows, err = readPlacesGeoJSON(br, rep)
	} else {
		rows, err = readPlacesCSV(br, opts.Encoding, rep)
	}
	if err != nil {
		return nil, invalid("file", "%v", err)
	}
	g, err := im.Gazetteer(ctx)
	if err != nil {
		return nil, err
	}
	if !opts.DryRun && opts.ImportID == 0 {
		if opts.ImportID, err = im.Begin(ctx, "places", opts.FileName, "", opts.By); err != nil {
			return nil, err
		}
		defer func() { im.End(context.WithoutCancel(ctx), opts.ImportID, rep, err) }()
	}
	rep.ID = opts.ImportID
	tx, err := im.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("ingest: places: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	for _, p := range rows {
		t := g.Township(p.Township)
		if t == nil {
			rep.reject(Reject{Line: p.Line, Column: "所属街乡", Reason: fmt.Sprintf("%q is not a township of the district", p.Township)}, nil)
			continue
		}
		pl, perr := im.placer.Place(p.Point)
		if perr != nil || len(pl.Chain) < 2 || pl.Chain[1].Level != grid.LevelVillage {
			rep.reject(Reject{Line: p.Line, Column: "经度", Reason: fmt.Sprintf("the point %.6f,%.6f is outside the district's grids", p.Point[0], p.Point[1])}, nil)
			continue
		}
		if linkAt(pl.Chain, grid.LevelTownship).ID != t.ID {
			rep.reject(Reject{Line: p.Line, Column: "经度", Reason: fmt.Sprintf("the point lies in %s, not in %s", linkAt(pl.Chain, grid.LevelTownship).Name, t.Name)}, nil)
			continue
		}
		if p.Aliases == nil {
			p.Aliases = []string{}
		}
		var changed bool
		err = tx.QueryRow(ctx, upsertPlace, p.Name, placeKinds[p.Kind], p.Aliases, t.ID, pl.Chain[1].ID, p.Point[0], p.Point[1]).Scan(&changed)
		if err != nil {
			return nil, fmt.Errorf("ingest: places: %w", err)
		}
		if changed {
			rep.Imported++
		} else {
			rep.Duplicates++
		}
	}
	if !opts.DryRun {
		if err = tx.Commit(ctx); err != nil {
			return nil, fmt.Errorf("ingest: places: %w", err)
		}
		im.Forget()
	}
	rep.finish(start)
	return rep, nil
}

// upsertPlace answers whether the place is new or changed.
const upsertPlace = `
WITH old AS (SELECT kind, aliases, village_id, location FROM places WHERE township_id = $4 AND name = $1),
up AS (
    INSERT INTO places (name, kind, aliases, township_id, village_id, location)
    VALUES ($1, $2, $3, $4, $5, ST_SetSRID(ST_MakePoint($6, $7), 4326))
    ON CONFLICT (township_id, name) DO UPDATE SET kind = EXCLUDED.kind, aliases = EXCLUDED.aliases,
        village_id = EXCLUDED.village_id, location = EXCLUDED.location
    RETURNING 1
)
SELECT NOT EXISTS (SELECT 1 FROM old WHERE kind = $2 AND aliases = $3 AND village_id = $5
    AND ST_Equals(location, ST_SetSRID(ST_MakePoint($6, $7), 4326))) FROM up`

func splitAliases(s string) []string {
	var out []string
	for _, a := range strings.FieldsFunc(s, func(r rune) bool { return r == '、' || r == ';' || r == '；' || r == '|' }) {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func readPlacesCSV(r io.Reader, enc Encoding, rep *Report) ([]PlaceRow, error) {
	t, err := OpenTable(r, enc)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	rep.Encoding = string(t.Encoding())
	idx := map[string]int{}
	syn := map[string]string{"名称": "名称", "地名": "名称", "name": "名称", "类型": "类型", "kind": "类型", "所属街乡": "所属街乡", "街乡": "所属街乡",
		"township": "所属街乡", "经度": "经度", "lon": "经度", "纬度": "纬度", "lat": "纬度", "坐标系": "坐标系", "datum": "坐标系", "别名": "别名", "aliases": "别名"}
	for i, h := range t.Header() {
		if c, ok := syn[NormalizeHeader(h)]; ok {
			idx[c] = i
		}
	}
	var missing []string
	for _, c := range []string{"名称", "所属街乡", "经度", "纬度"} {
		if _, ok := idx[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("required columns missing: %s", strings.Join(missing, ", "))
	}
	get := func(row []string, c string) string {
		if i, ok := idx[c]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	var out []PlaceRow
	for {
		row, line, err := t.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		rep.Read++
		if err != nil {
			rep.reject(Reject{Line: line, Reason: err.Error()}, nil)
			continue
		}
		p := PlaceRow{Line: line, Name: get(row, "名称"), Kind: get(row, "类型"), Township: get(row, "所属街乡"), Aliases: splitAliases(get(row, "别名"))}
		if pr := checkPlace(&p, get(row, "经度"), get(row, "纬度"), get(row, "坐标系")); pr != nil {
			rep.reject(*pr, nil)
			continue
		}
		out = append(out, p)
	}
}

func checkPlace(p *PlaceRow, lon, lat, datum string) *Reject {
	if p.Name == "" {
		return &Reject{Line: p.Line, Column: "名称", Reason: "名称 is empty"}
	}
	if _, ok := placeKinds[p.Kind]; !ok {
		return &Reject{Line: p.Line, Column: "类型", Reason: fmt.Sprintf("类型 %q is not 小区, 道路 or 地标", p.Kind)}
	}
	x, err1 := strconv.ParseFloat(lon, 64)
	y, err2 := strconv.ParseFloat(lat, 64)
	if err1 != nil || err2 != nil || geo.ValidLonLat(x, y) != nil {
		return &Reject{Line: p.Line, Column: "经度", Reason: fmt.Sprintf("%q, %q is not a longitude and latitude", lon, lat)}
	}
	d := geo.WGS84
	if datum != "" {
		var err error
		if d, err = parseDatumName(datum); err != nil {
			return &Reject{Line: p.Line, Column: "坐标系", Reason: err.Error()}
		}
	}
	pt, err := geo.WGS84Point(x, y, d)
	if err != nil {
		return &Reject{Line: p.Line, Column: "经度", Reason: err.Error()}
	}
	p.Point = pt
	return nil
}

func readPlacesGeoJSON(r io.Reader, rep *Report) ([]PlaceRow, error) {
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, err
	}
	fc, err := geojson.UnmarshalFeatureCollection(data)
	if err != nil {
		return nil, fmt.Errorf("not a GeoJSON FeatureCollection: %w", err)
	}
	rep.Encoding = "utf8"
	var out []PlaceRow
	for i, f := range fc.Features {
		rep.Read++
		line := i + 1
		pt, ok := f.Geometry.(orb.Point)
		if !ok {
			rep.reject(Reject{Line: line, Column: "geometry", Reason: "a place is a Point"}, nil)
			continue
		}
		str := func(k string) string { s, _ := f.Properties[k].(string); return strings.TrimSpace(s) }
		p := PlaceRow{Line: line, Name: str("name"), Kind: str("kind"), Township: str("township")}
		switch a := f.Properties["aliases"].(type) {
		case string:
			p.Aliases = splitAliases(a)
		case []any:
			for _, s := range a {
				if s, ok := s.(string); ok && s != "" {
					p.Aliases = append(p.Aliases, s)
				}
			}
		}
		if pr := checkPlace(&p, strconv.FormatFloat(pt[0], 'f', -1, 64), strconv.FormatFloat(pt[1], 'f', -1, 64), str("datum")); pr != nil {
			rep.reject(*pr, nil)
			continue
		}
		out = append(out, p)
	}
	return out, nil
}
