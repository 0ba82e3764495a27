// Package xlsx writes the Excel exports (the statistics, the assessment,
// the whistle and clue lists) one way: one sheet, a bold header row in
// Chinese frozen at the top, column widths fitted to the header and the
// first rows, real numbers and dates (Beijing wall-clock time, since a cell
// has no zone), and codes stored as text with the text format "@", so that
// 2026-01 and 110119001 stay what they are. Rows are streamed through
// excelize's StreamWriter, which spills to a temporary file past a few MiB,
// so an export of 100,000 rows holds little in memory.
//
//	w, _ := xlsx.New("吹哨", []xlsx.Column{{Header: "编号", Kind: xlsx.Int}, ...})
//	defer w.Close()
//	w.Row(id, ...)
//	w.WriteTo(httpWriter)
package xlsx

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// MaxRows is the most data rows an export holds; Row refuses more (the
// caller turns that into a 413 before it starts, from its count).
const MaxRows = 100_000

// ErrTooManyRows is Row's error past MaxRows.
var ErrTooManyRows = errors.New("xlsx: more than 100,000 rows")

// Kind is how a column's cells are stored.
type Kind int

// The kinds of column.
const (
	Text     Kind = iota // a string stored as text, format "@" (codes, names)
	Int                  // a whole number
	Float                // a number shown with 2 decimals
	Percent              // a fraction 0–1 shown as a percentage with 1 decimal
	Date                 // a day, yyyy-mm-dd
	DateTime             // a moment, yyyy-mm-dd hh:mm, in Beijing time
)

// Column is one column: its Chinese header and its kind.
type Column struct {
	Header string
	Kind   Kind
}

// fitRows is how many first rows the column widths are fitted to; they are
// held until then, since a stream's widths must precede its rows.
const fitRows = 500

// Writer streams one sheet. It is not safe for concurrent use.
type Writer struct {
	f       *excelize.File
	sw      *excelize.StreamWriter
	cols    []Column
	styles  []int
	widths  []float64
	pending [][]any
	rows    int // data rows written or pending
	zone    *time.Location
}

// New starts a workbook of one sheet with the columns' header row. Times
// are written as wall-clock time in zone (nil: Asia/Shanghai, fixed +8).
func New(sheet string, cols []Column, zone *time.Location) (*Writer, error) {
	if zone == nil {
		zone = time.FixedZone("CST", 8*3600)
	}
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	w := &Writer{f: f, zone: zone}
	if err := w.start(sheet, cols); err != nil {
		_ = f.Close()
		return nil, err
	}
	return w, nil
}

// Sheet finishes the current sheet and starts another, named sheet, with
// its own columns; later rows go to it.
func (w *Writer) Sheet(sheet string, cols []Column) error {
	if err := w.finish(); err != nil {
		return err
	}
	if _, err := w.f.NewSheet(sheet); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	return w.start(sheet, cols)
}

// start begins a sheet: its stream, styles, frozen bold header.
func (w *Writer) start(sheet string, cols []Column) error {
	f := w.f
	w.cols, w.rows = cols, 0
	w.styles, w.widths = make([]int, len(cols)), make([]float64, len(cols))
	fail := func(err error) error { return fmt.Errorf("xlsx: %w", err) }
	var err error
	if w.sw, err = f.NewStreamWriter(sheet); err != nil {
		return fail(err)
	}
	formats := map[Kind]*excelize.Style{
		Text:     {NumFmt: 49}, // "@"
		Int:      {NumFmt: 1},  // "0"
		Float:    {NumFmt: 2},  // "0.00"
		Percent:  {NumFmt: 10}, // "0.00%"
		Date:     {CustomNumFmt: ptr("yyyy-mm-dd")},
		DateTime: {CustomNumFmt: ptr("yyyy-mm-dd hh:mm")},
	}
	for i, c := range cols {
		if w.styles[i], err = f.NewStyle(formats[c.Kind]); err != nil {
			return fail(err)
		}
		w.widths[i] = width(c.Header) + 2
		switch c.Kind {
		case Date:
			w.widths[i] = max(w.widths[i], 12)
		case DateTime:
			w.widths[i] = max(w.widths[i], 18)
		}
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Alignment: &excelize.Alignment{Vertical: "center"}})
	if err != nil {
		return fail(err)
	}
	if err := w.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return fail(err)
	}
	header := make([]any, len(cols))
	for i, c := range cols {
		header[i] = excelize.Cell{StyleID: bold, Value: c.Header}
	}
	w.pending = [][]any{header} // written with the widths
	return nil
}

func ptr(s string) *string { return &s }

// width is a string's display width in Excel's character units: a CJK
// character counts two.
func width(s string) float64 {
	n := 0.0
	for _, r := range s {
		if r >= 0x2E80 {
			n += 2.1
		} else {
			n++
		}
	}
	return n
}

// Row adds one data row, one value per column: a string (Text), an int or
// int64 (Int), a float64 (Float, Percent), a time.Time (Date, DateTime),
// a pointer to one of these, or nil for an empty cell.
func (w *Writer) Row(vals ...any) error {
	if len(vals) != len(w.cols) {
		return fmt.Errorf("xlsx: a row of %d values for %d columns", len(vals), len(w.cols))
	}
	if w.rows >= MaxRows {
		return ErrTooManyRows
	}
	w.rows++
	row := make([]any, len(vals))
	for i, v := range vals {
		v = deref(v)
		if v == nil {
			row[i] = nil
			continue
		}
		if t, ok := v.(time.Time); ok {
			if t.IsZero() {
				row[i] = nil
				continue
			}
			t = t.In(w.zone)
			v = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
		}
		if s, ok := v.(string); ok && w.rows <= fitRows {
			w.widths[i] = max(w.widths[i], min(width(s)+2, 60))
		}
		if w.rows <= fitRows && w.cols[i].Kind != Text {
			w.widths[i] = max(w.widths[i], 10)
		}
		row[i] = excelize.Cell{StyleID: w.styles[i], Value: v}
	}
	if w.pending != nil {
		w.pending = append(w.pending, row)
		if len(w.pending) <= fitRows {
			return nil
		}
		return w.flushPending()
	}
	return w.sw.SetRow(cell(w.rows+1), row)
}

// deref turns a typed nil pointer into nil and a pointer into its value.
func deref(v any) any {
	switch p := v.(type) {
	case *float64:
		if p == nil {
			return nil
		}
		return *p
	case *int:
		if p == nil {
			return nil
		}
		return *p
	case *int64:
		if p == nil {
			return nil
		}
		return *p
	case *string:
		if p == nil {
			return nil
		}
		return *p
	case *time.Time:
		if p == nil {
			return nil
		}
		return *p
	}
	return v
}

func cell(row int) string { return fmt.Sprintf("A%d", row) }

// flushPending sets the widths and writes the rows held for them.
func (w *Writer) flushPending() error {
	for i, wd := range w.widths {
		if err := w.sw.SetColWidth(i+1, i+1, wd); err != nil {
			return fmt.Errorf("xlsx: %w", err)
		}
	}
	for i, r := range w.pending {
		if err := w.sw.SetRow(cell(i+1), r); err != nil {
			return fmt.Errorf("xlsx: %w", err)
		}
	}
	w.pending = nil
	return nil
}

// Rows is the number of data rows added to the current sheet.
func (w *Writer) Rows() int { return w.rows }

// finish writes what the current sheet holds back and ends its stream.
func (w *Writer) finish() error {
	if w.pending != nil {
		if err := w.flushPending(); err != nil {
			return err
		}
	}
	if err := w.sw.Flush(); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	return nil
}

// WriteTo finishes the sheet and writes the workbook to out.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	if err := w.finish(); err != nil {
		return 0, err
	}
	n, err := w.f.WriteTo(out)
	if err != nil {
		return n, fmt.Errorf("xlsx: %w", err)
	}
	return n, nil
}

// Close frees the workbook and its temporary files.
func (w *Writer) Close() error { return w.f.Close() }

// ContentType is the media type of an xlsx file.
const ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// ContentDisposition is the attachment header of a file named name
// (Chinese allowed): an ASCII fallback filename, and the name itself as
// RFC 6266 / RFC 5987 filename* in UTF-8.
func ContentDisposition(name string) string {
	var ascii strings.Builder
	for _, r := range name {
		switch {
		case r < 0x20 || r >= 0x7f || r == '"' || r == '\\' || r == '/' || r == ';':
			if !strings.HasSuffix(ascii.String(), "_") {
				ascii.WriteByte('_')
			}
		default:
			ascii.WriteRune(r)
		}
	}
	fallback := strings.Trim(ascii.String(), "_ ")
	if fallback == "" || strings.HasPrefix(fallback, ".") {
		fallback = "export" + fallback
	}
	if !utf8.ValidString(name) {
		name = fallback
	}
	return `attachment; filename="` + fallback + `"; filename*=UTF-8''` + ext5987(name)
}

// ext5987 percent-encodes every byte of s but RFC 5987's attr-chars.
func ext5987(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
