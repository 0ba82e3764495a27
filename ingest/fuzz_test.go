package ingest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

// drain reads every row of a table; it must never panic.
func drain(data []byte, enc Encoding) {
	t, err := OpenTable(bytes.NewReader(data), enc)
	if err != nil {
		return
	}
	defer t.Close()
	cols, _ := resolveColumns(t.Header(), nil)
	cats := &categoryResolver{byName: map[string][]string{"占道经营": {"CM.01.03"}}, mapping: map[string]string{}, known: func(string) bool { return false }}
	g := NewGazetteer()
	town := &Area{ID: 1, Code: "110119101", Name: "康庄镇"}
	g.AddTownship(town)
	g.AddVillage(&Area{ID: 2, Code: "110119101201", Name: "小丰营村", Township: town})
	for range 10000 {
		row, _, err := t.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil || cols == nil {
			continue
		}
		if o, rj := parseOrder(cols, row, 2, cats, "wgs84"); rj == nil {
			g.Match(o.Address, o.Township, o.Village)
		}
	}
}

func seeds(f *testing.F, names ...string) {
	for _, n := range names {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzCSV: no CSV, in any bytes, makes the reader, the row parser or the
// matcher panic.
func FuzzCSV(f *testing.F) {
	seeds(f, "hotline_gbk.csv", "hotline_utf8.csv", "places.csv")
	f.Add([]byte("工单编号,受理时间\n\"a,\"b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		drain(data, EncodingAuto)
		drain(data, EncodingGBK)
	})
}

// FuzzXLSX: no xlsx, in any bytes, makes the reader panic.
func FuzzXLSX(f *testing.F) {
	seeds(f, "hotline.xlsx")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		drain(data, EncodingAuto)
	})
}

// FuzzNormalizeAddress: any text normalises and matches without panic.
func FuzzNormalizeAddress(f *testing.F) {
	for _, s := range []string{"北京市延庆区旧县镇常家营村 125号", "集贤社区 26号楼1单元201室", "二十六栋一单元二〇一", "26-1-201", "ＡＢ１２３号"} {
		f.Add(s)
	}
	g := NewGazetteer()
	town := &Area{ID: 1, Code: "110119101", Name: "康庄镇"}
	g.AddTownship(town)
	g.AddVillage(&Area{ID: 2, Code: "110119101201", Name: "小丰营村", Township: town})
	f.Fuzz(func(t *testing.T, s string) {
		NormalizeAddress(s)
		g.Match(s, s, s)
	})
}
