package ingest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"whistlegrid/geo"
)

// Column is a field of a hotline export, by its canonical Chinese header.
type Column string

// The columns of a 12345 hotline export. Required: ColOrderNo,
// ColReceived, ColContent, ColCategory1, and ColAddress or both ColLon and
// ColLat.
const (
	ColOrderNo   Column = "工单编号"
	ColReceived  Column = "受理时间"
	ColCaller    Column = "诉求人"
	ColPhone     Column = "联系电话"
	ColAddress   Column = "诉求地址"
	ColContent   Column = "诉求内容"
	ColCategory1 Column = "问题分类"
	ColCategory2 Column = "二级分类"
	ColCategory3 Column = "三级分类"
	ColTownship  Column = "所属街乡"
	ColVillage   Column = "所属社区(村)"
	ColHandler   Column = "承办单位"
	ColDue       Column = "办理时限"
	ColResolved  Column = "是否解决"
	ColSatisfied Column = "是否满意"
	ColLon       Column = "经度"
	ColLat       Column = "纬度"
	ColDatum     Column = "坐标系"
)

// columnSynonyms are the headers exports use for each column (compared
// after NormalizeHeader).
var columnSynonyms = map[Column][]string{
	ColOrderNo:   {"工单编号", "工单号", "受理编号", "编号", "工单编码"},
	ColReceived:  {"受理时间", "来电时间", "登记时间", "接单时间", "创建时间"},
	ColCaller:    {"诉求人", "来电人", "联系人", "反映人", "姓名"},
	ColPhone:     {"联系电话", "来电号码", "联系方式", "电话", "手机号"},
	ColAddress:   {"诉求地址", "事发地址", "问题地址", "地址", "发生地址"},
	ColContent:   {"诉求内容", "来电内容", "问题描述", "内容", "反映内容"},
	ColCategory1: {"问题分类", "问题分类1", "问题分类一", "一级分类", "问题分类(一级)", "诉求分类"},
	ColCategory2: {"问题分类2", "问题分类二", "二级分类", "问题分类(二级)"},
	ColCategory3: {"问题分类3", "问题分类三", "三级分类", "问题分类(三级)"},
	ColTownship:  {"所属街乡", "街乡", "街乡镇", "所属乡镇", "所属街道", "街道乡镇"},
	ColVillage:   {"所属社区(村)", "社区(村)", "所属社区", "所属村", "村居", "所属村居"},
	ColHandler:   {"承办单位", "主办单位", "办理单位"},
	ColDue:       {"办理时限", "时限", "办结时限"},
	ColResolved:  {"是否解决", "解决情况", "解决状态"},
	ColSatisfied: {"是否满意", "满意度", "满意情况"},
	ColLon:       {"经度", "lon", "lng", "longitude"},
	ColLat:       {"纬度", "lat", "latitude"},
	ColDatum:     {"坐标系", "坐标系统", "datum"},
}

// NormalizeHeader is a header as compared: half-width, no spaces, lower
// case, with full-width brackets made ASCII.
func NormalizeHeader(s string) string {
	s = NormalizeAddressWidth(s)
	return strings.ToLower(strings.Join(strings.Fields(s), ""))
}

var brackets = strings.NewReplacer("（", "(", "）", ")")

// NormalizeAddressWidth folds full-width forms (（）、ＡＢ１２) to half-width.
func NormalizeAddressWidth(s string) string {
	return brackets.Replace(widthFold(s))
}

// Mapping is a mapping file (JSON): Columns renames an export's headers
// to the canonical ones (or to any synonym), Categories maps its category
// text (the levels joined with "/", or the last level alone) to a
// platform category code, Datum is the datum of coordinates without a
// 坐标系 column (default wgs84).
//
//	{"columns": {"单号": "工单编号"}, "categories": {"城乡建设/供暖": "HL.01"}, "datum": "gcj02"}
type Mapping struct {
	Columns    map[string]string `json:"columns"`
	Categories map[string]string `json:"categories"`
	Datum      string            `json:"datum"`
}

// ReadMapping reads a mapping file; unknown keys are refused.
func ReadMapping(r io.Reader) (*Mapping, error) {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	var m Mapping
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("ingest: mapping file: %w", err)
	}
	if _, err := geo.ParseDatum(m.Datum); err != nil {
		return nil, fmt.Errorf("ingest: mapping file: %w", err)
	}
	return &m, nil
}

// headerSynonyms maps each synonym, normalised, to its column.
var headerSynonyms = sync.OnceValue(func() map[string]Column {
	syn := map[string]Column{}
	for c, names := range columnSynonyms {
		for _, n := range names {
			syn[NormalizeHeader(n)] = c
		}
	}
	return syn
})

// columns maps each known column to its index in the header.
type columns map[Column]int

// resolveColumns finds the columns in header (through the mapping's
// renames and the synonyms) and refuses, naming them, a header without
// the required ones.
func resolveColumns(header []string, m *Mapping) (columns, error) {
	syn := headerSynonyms()
	rename := map[string]string{}
	if m != nil {
		for from, to := range m.Columns {
			rename[NormalizeHeader(from)] = NormalizeHeader(to)
		}
	}
	cols := columns{}
	for i, h := range header {
		n := NormalizeHeader(h)
		if to, ok := rename[n]; ok {
			n = to
		}
		if c, ok := syn[n]; ok {
			if _, dup := cols[c]; !dup {
				cols[c] = i
			}
		}
	}
	var missing []string
	for _, c := range []Column{ColOrderNo, ColReceived, ColContent, ColCategory1} {
		if _, ok := cols[c]; !ok {
			missing = append(missing, string(c))
		}
	}
	_, addr := cols[ColAddress]
	_, lon := cols[ColLon]
	_, lat := cols[ColLat]
	if !addr && !(lon && lat) {
		missing = append(missing, string(ColAddress)+" (or "+string(ColLon)+" and "+string(ColLat)+")")
	}
	if len(missing) > 0 {
		return nil, &MissingColumnsError{Missing: missing, Header: header}
	}
	return cols, nil
}

// MissingColumnsError refuses a file without its required columns,
// before any row is read.
type MissingColumnsError struct {
	Missing []string
	Header  []string
}

func (e *MissingColumnsError) Error() string {
	return fmt.Sprintf("ingest: required columns missing: %s (the header has: %s)", strings.Join(e.Missing, ", "), strings.Join(e.Header, ", "))
}

func (c columns) get(row []string, col Column) string {
	i, ok := c[col]
	if !ok || i >= len(row) {
		return ""
	}
	return strings.TrimSpace(row[i])
}

// Order is one hotline work order as read from a row, before placement.
type Order struct {
	Line         int
	OrderNo      string
	Received     time.Time
	Caller       string
	Phone        string
	Address      string
	Content      string
	CategoryText string
	Category     string // the platform's category code
	Township     string // 所属街乡 as written
	Village      string // 所属社区(村) as written
	Handler      string
	Due          *time.Time
	Resolved     *bool
	Satisfaction string
	Coords       *[2]float64 // as written, in Datum
	Datum        geo.Datum
}

// Reject is a row refused, with the column at fault and why.
type Reject struct {
	Line   int    `json:"row"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// categoryResolver turns an export's category text into a platform code.
type categoryResolver struct {
	mapping map[string]string
	byName  map[string][]string // platform category name -> codes
	known   func(code string) bool
}

func (r *categoryResolver) resolve(levels []string) (string, bool) {
	var parts []string
	for _, l := range levels {
		if l != "" {
			parts = append(parts, l)
		}
	}
	if len(parts) == 1 && strings.Contains(parts[0], "/") {
		parts = strings.Split(parts[0], "/")
	}
	if len(parts) == 0 {
		return "", false
	}
	joined := strings.Join(parts, "/")
	for _, k := range []string{joined, parts[len(parts)-1]} {
		if c, ok := r.mapping[k]; ok {
			return c, true
		}
	}
	for i := len(parts) - 1; i >= 0; i-- {
		p := strings.TrimSpace(parts[i])
		if r.known(p) {
			return p, true
		}
		if cs := r.byName[p]; len(cs) == 1 {
			return cs[0], true
		}
	}
	return "", false
}

// columnAt names the column at index i, or its number.
func columnAt(cols columns, i int) string {
	for c, j := range cols {
		if j == i {
			return string(c)
		}
	}
	return "column " + strconv.Itoa(i+1)
}

// parseOrder reads one row; a row it cannot take is a Reject.
func parseOrder(cols columns, row []string, line int, cats *categoryResolver, defDatum geo.Datum) (Order, *Reject) {
	o := Order{Line: line, Datum: defDatum}
	rej := func(c Column, format string, a ...any) (Order, *Reject) {
		return o, &Reject{Line: line, Column: string(c), Reason: fmt.Sprintf(format, a...)}
	}
	for i, v := range row {
		if strings.ContainsRune(v, 0) || !utf8.ValidString(v) {
			return o, &Reject{Line: line, Column: columnAt(cols, i), Reason: "the cell holds a NUL character or bytes that are not text in the file's encoding"}
		}
	}
	o.OrderNo = cols.get(row, ColOrderNo)
	if o.OrderNo == "" {
		return rej(ColOrderNo, "工单编号 is empty")
	}
	if len(o.OrderNo) > 128 {
		return rej(ColOrderNo, "工单编号 is longer than 128 bytes")
	}
	var err error
	if o.Received, err = parseHotlineTime(cols.get(row, ColReceived)); err != nil {
		return rej(ColReceived, "%v", err)
	}
	o.Caller, o.Phone = cols.get(row, ColCaller), cols.get(row, ColPhone)
	o.Address, o.Content = cols.get(row, ColAddress), cols.get(row, ColContent)
	if len([]rune(o.Content)) > 4000 {
		return rej(ColContent, "诉求内容 is longer than 4000 characters")
	}
	levels := []string{cols.get(row, ColCategory1), cols.get(row, ColCategory2), cols.get(row, ColCategory3)}
	o.CategoryText = strings.Join(slices.DeleteFunc(slices.Clone(levels), func(s string) bool { return s == "" }), "/")
	var ok bool
	if o.Category, ok = cats.resolve(levels); !ok {
		return rej(ColCategory1, "category %q is not in the platform's tree nor in the mapping file", o.CategoryText)
	}
	o.Township, o.Village = cols.get(row, ColTownship), cols.get(row, ColVillage)
	o.Handler = cols.get(row, ColHandler)
	if s := cols.get(row, ColDue); s != "" {
		t, err := parseHotlineTime(s)
		if err != nil {
			return rej(ColDue, "%v", err)
		}
		o.Due = &t
	}
	switch s := cols.get(row, ColResolved); s {
	case "":
	case "是", "已解决", "解决", "Y", "y", "1", "true":
		b := true
		o.Resolved = &b
	case "否", "未解决", "N", "n", "0", "false", "部分解决":
		b := false
		o.Resolved = &b
	default:
		return rej(ColResolved, "是否解决 %q is not 是 or 否", s)
	}
	o.Satisfaction = cols.get(row, ColSatisfied)
	lon, lat := cols.get(row, ColLon), cols.get(row, ColLat)
	if lon != "" || lat != "" {
		x, err1 := strconv.ParseFloat(lon, 64)
		y, err2 := strconv.ParseFloat(lat, 64)
		switch {
		case err1 != nil || math.IsNaN(x) || math.IsInf(x, 0):
			return rej(ColLon, "经度 %q is not a number", lon)
		case err2 != nil || math.IsNaN(y) || math.IsInf(y, 0):
			return rej(ColLat, "纬度 %q is not a number", lat)
		}
		if err := geo.ValidLonLat(x, y); err != nil {
			return rej(ColLon, "%v", err)
		}
		o.Coords = &[2]float64{x, y}
	}
	if s := cols.get(row, ColDatum); s != "" {
		d, err := parseDatumName(s)
		if err != nil {
			return rej(ColDatum, "%v", err)
		}
		o.Datum = d
	}
	return o, nil
}

// parseDatumName reads a 坐标系 cell: wgs84, WGS-84, gcj02, GCJ-02, 火星坐标,
// bd09, 百度坐标, cgcs2000 (taken as WGS-84: within centimetres).
func parseDatumName(s string) (geo.Datum, error) {
	switch strings.ToLower(strings.NewReplacer("-", "", "_", "", " ", "").Replace(s)) {
	case "wgs84", "cgcs2000", "gps":
		return geo.WGS84, nil
	case "gcj02", "火星坐标", "国测局坐标":
		return geo.GCJ02, nil
	case "bd09", "bd09ll", "百度坐标":
		return geo.BD09, nil
	}
	return "", fmt.Errorf("坐标系 %q is not one of WGS-84, CGCS2000, GCJ-02, BD-09", s)
}

var hotlineTimeLayouts = []string{
	"2006-01-02 15:04:05", "2006-01-02 15:04", "2006/1/2 15:04:05", "2006/1/2 15:04", "2006-1-2 15:04:05", "2006-1-2 15:04",
	"2006年1月2日 15:04:05", "2006年1月2日 15:04", "2006年1月2日15:04", "2006-01-02", "2006/1/2", "2006年1月2日",
	"01-02-06 15:04", "1/2/06 15:04",
}

// parseHotlineTime reads a time as exports write it, in Beijing time
// unless it has an offset (RFC 3339), or an Excel serial day number.
func parseHotlineTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("the time is empty")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, l := range hotlineTimeLayouts {
		if t, err := time.ParseInLocation(l, s, geo.Beijing); err == nil {
			return t, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 30000 && f < 80000 {
		base := time.Date(1899, 12, 30, 0, 0, 0, 0, geo.Beijing)
		return base.Add(time.Duration(f * 24 * float64(time.Hour))).Round(time.Second), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time like 2026-03-01 09:30:00", s)
}
