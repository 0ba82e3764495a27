package ingest

import "testing"

func TestNormalizeAddress(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"北京市延庆区旧县镇常家营村 125号", "旧县镇常家营村125号"},
		{"集贤社区 26号楼1单元201室", "集贤社区26号楼1单元201室"},
		{"集贤社区２６栋１单元２０１", "集贤社区26号楼1单元201室"},
		{"集贤社区二十六号楼一单元二〇一室", "集贤社区26号楼1单元201室"},
		{"集贤社区26-1-201", "集贤社区26号楼1单元201室"},
		{"集贤社区26楼1门201", "集贤社区26号楼1单元201室"},
		{"常家营村一百二十五号", "常家营村125号"},
		{"延庆镇三里河村", "延庆镇三里河村"},
		{"八达岭镇", "八达岭镇"},
	} {
		if got := NormalizeAddress(tt.in); got != tt.want {
			t.Errorf("NormalizeAddress(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMatchAmbiguousAndTownship(t *testing.T) {
	g := NewGazetteer()
	a := &Area{ID: 1, Code: "110119104", Name: "永宁镇"}
	b := &Area{ID: 2, Code: "110119109", Name: "千家店镇"}
	g.AddTownship(a)
	g.AddTownship(b)
	va := &Area{ID: 3, Code: "110119104201", Name: "东沟村", Township: a}
	vb := &Area{ID: 4, Code: "110119109201", Name: "东沟村", Township: b}
	g.AddVillage(va)
	g.AddVillage(vb)
	g.AddHousehold(va, "永宁镇东沟村 12号", [2]float64{116, 40.5})
	for _, tt := range []struct {
		addr, town string
		want       Precision
		village    *Area
	}{
		{"东沟村口", "", PrecisionNone, nil},
		{"东沟村口", "永宁镇", PrecisionVillage, va},
		{"千家店东沟村", "", PrecisionVillage, vb},
		{"永宁镇东沟村十二号", "", PrecisionHousehold, va},
		{"永宁镇东沟村13号", "", PrecisionVillage, va},
		{"永宁镇西沟村", "", PrecisionTownship, nil},
		{"不详", "", PrecisionNone, nil},
	} {
		m := g.Match(tt.addr, tt.town, "")
		if m.Precision != tt.want || m.Village != tt.village {
			t.Errorf("Match(%q, %q) = %s %v (%s), want %s %v", tt.addr, tt.town, m.Precision, m.Village, m.Reason, tt.want, tt.village)
		}
		if tt.want == PrecisionNone && m.Reason == "" {
			t.Errorf("Match(%q): none without a reason", tt.addr)
		}
	}
}
