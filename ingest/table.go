package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Encoding is a CSV file's text encoding: EncodingUTF8, EncodingGBK
// (read as GB18030, its superset), or EncodingAuto to detect it.
type Encoding string

// The encodings of CSV files.
const (
	EncodingAuto Encoding = ""
	EncodingUTF8 Encoding = "utf8"
	EncodingGBK  Encoding = "gbk"
)

// ParseEncoding reads an --encoding flag: "", auto, utf8, utf-8, gbk,
// gb18030.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return EncodingAuto, nil
	case "utf8", "utf-8":
		return EncodingUTF8, nil
	case "gbk", "gb18030", "gb2312":
		return EncodingGBK, nil
	}
	return "", fmt.Errorf("ingest: unknown encoding %q: want utf8 or gbk", s)
}

// Table is a file read row by row: a CSV or the first sheet of an xlsx.
type Table interface {
	// Header is the first row.
	Header() []string
	// Next returns the next row and its 1-based row number in the file
	// (the header is row 1), or io.EOF. The slice is reused by the next
	// call.
	Next() (row []string, line int, err error)
	// Encoding is what the file was read as (utf8 for xlsx).
	Encoding() Encoding
	Close() error
}

// sniffLen is how much of a CSV decides its encoding.
const sniffLen = 64 << 10

// OpenTable reads r as xlsx when it starts like a zip (PK\x03\x04) and as
// CSV otherwise, in enc (detected when EncodingAuto: valid UTF-8 in the
// first 64 KiB is UTF-8, anything else GBK). A UTF-8 byte-order mark is
// dropped. ra and size are needed for xlsx (a zip is read from its end);
// a CSV is streamed from r.
func OpenTable(r io.Reader, enc Encoding) (Table, error) {
	br := bufio.NewReaderSize(r, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("ingest: read: %w", err)
	}
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		return openXLSX(br)
	}
	return openCSV(br, head, enc)
}

type csvTable struct {
	r      *csv.Reader
	header []string
	enc    Encoding
	line   int
}

func openCSV(br *bufio.Reader, head []byte, enc Encoding) (Table, error) {
	if enc == EncodingAuto {
		enc = EncodingGBK
		if validUTF8Prefix(head) {
			enc = EncodingUTF8
		}
	}
	var src io.Reader = br
	if enc == EncodingGBK {
		src = transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())
	} else if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(src)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	t := &csvTable{r: cr, enc: enc}
	h, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("ingest: the file is empty: no header row")
	}
	if err != nil {
		return nil, fmt.Errorf("ingest: the header row cannot be read: %w", err)
	}
	t.header = cleanHeader(h)
	t.line = 1
	return t, nil
}

// validUTF8Prefix: b is UTF-8 but perhaps for a rune cut at its end.
func validUTF8Prefix(b []byte) bool {
	for i := 0; i < 4 && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return true
		}
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

func cleanHeader(h []string) []string {
	out := make([]string, len(h))
	for i, s := range h {
		out[i] = strings.TrimSpace(strings.TrimPrefix(s, "\ufeff"))
	}
	return out
}

func (t *csvTable) Header() []string   { return t.header }
func (t *csvTable) Encoding() Encoding { return t.enc }
func (t *csvTable) Close() error       { return nil }

func (t *csvTable) Next() ([]string, int, error) {
	row, err := t.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, t.line, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			t.line = pe.StartLine
			return nil, pe.StartLine, fmt.Errorf("ingest: CSV row %d: %w", pe.StartLine, pe.Err)
		}
		return nil, t.line, fmt.Errorf("ingest: CSV: %w", err)
	}
	t.line, _ = t.r.FieldPos(0)
	return row, t.line, nil
}

type xlsxTable struct {
	f      *excelize.File
	rows   *excelize.Rows
	header []string
	line   int
}

// openXLSX reads the first sheet with excelize's streaming rows reader
// (the sheet's XML is not held whole in memory).
func openXLSX(r io.Reader) (Table, error) {
	f, err := excelize.OpenReader(r)
	if err != nil {
		return nil, fmt.Errorf("ingest: the xlsx cannot be read: %w", err)
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		f.Close()
		return nil, errors.New("ingest: the xlsx has no sheet")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("ingest: the xlsx sheet %q cannot be read: %w", sheets[0], err)
	}
	t := &xlsxTable{f: f, rows: rows}
	for {
		if !rows.Next() {
			err := rows.Error()
			t.Close()
			if err != nil {
				return nil, fmt.Errorf("ingest: the xlsx cannot be read: %w", err)
			}
			return nil, errors.New("ingest: the file is empty: no header row")
		}
		t.line++
		h, err := rows.Columns()
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("ingest: the xlsx header row cannot be read: %w", err)
		}
		if len(h) > 0 {
			t.header = cleanHeader(h)
			return t, nil
		}
	}
}

func (t *xlsxTable) Header() []string   { return t.header }
func (t *xlsxTable) Encoding() Encoding { return EncodingUTF8 }

func (t *xlsxTable) Close() error {
	if t.rows != nil {
		_ = t.rows.Close()
	}
	return t.f.Close()
}

func (t *xlsxTable) Next() ([]string, int, error) {
	for t.rows.Next() {
		t.line++
		row, err := t.rows.Columns()
		if err != nil {
			return nil, t.line, fmt.Errorf("ingest: xlsx row %d: %w", t.line, err)
		}
		if len(row) == 0 {
			continue // an empty row in the sheet
		}
		return row, t.line, nil
	}
	if err := t.rows.Error(); err != nil {
		return nil, t.line, fmt.Errorf("ingest: xlsx: %w", err)
	}
	return nil, t.line, io.EOF
}
