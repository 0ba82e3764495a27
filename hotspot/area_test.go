package hotspot

import (
	"slices"
	"strings"
	"testing"

	"github.com/uber/h3-go/v4"
)

func TestNewArea(t *testing.T) {
	disc := h3.GridDisk(yanqing, 3) // 37 cells
	tests := []struct {
		name    string
		cells   []h3.Cell
		k       int
		wantErr string
		wantN   int
	}{
		{"disc", disc, 1, "", 37},
		{"duplicates dropped", append(slices.Clone(disc), disc[:10]...), 1, "", 37},
		{"k 0", disc, 0, "k-ring radius 0", 0},
		{"k too big", disc, MaxK + 1, "k-ring radius", 0},
		{"one cell", disc[:1], 1, "at least 2 cells", 0},
		{"two resolutions", append(slices.Clone(disc), yanqing.Parent(8)), 1, "one resolution", 0},
		{"not a cell", append(slices.Clone(disc), h3.Cell(int64(yanqing)+1)), 1, "not a valid H3 cell", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewArea(tc.cells, tc.k)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "hotspot: ") {
					t.Fatalf("err = %v, want a hotspot error about %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Len() != tc.wantN || a.Resolution() != 9 || a.K() != tc.k || !slices.IsSorted(a.Cells()) {
				t.Errorf("area of %d cells, resolution %d, k %d", a.Len(), a.Resolution(), a.K())
			}
		})
	}
}

func TestNeighbours(t *testing.T) {
	tests := []struct {
		name string
		k    int
		// cell at grid distance d from the centre → neighbourhood size
		want map[int]int
	}{
		// in a disc of radius 3: the centre and ring 1 and 2 see all 7,
		// ring 3 (the edge) sees 4 or 5.
		{"k=1", 1, map[int]int{0: 7, 1: 7, 2: 7}},
		{"k=2", 2, map[int]int{0: 19, 1: 19}},
	}
	a1, err := NewArea(h3.GridDisk(yanqing, 3), 1)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := NewArea(h3.GridDisk(yanqing, 3), 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := map[int]*Area{1: a1, 2: a2}[tc.k]
			for i, c := range a.cells {
				nb := a.Neighbours(i)
				if !slices.IsSorted(nb) || !slices.Contains(nb, int32(i)) {
					t.Fatalf("cell %v: neighbours %v unsorted or without itself", c, nb)
				}
				for _, j := range nb {
					if d := h3.GridDistance(c, a.cells[j]); d > tc.k {
						t.Fatalf("cell %v: neighbour %v at distance %d > k", c, a.cells[j], d)
					}
				}
				if want, ok := tc.want[h3.GridDistance(yanqing, c)]; ok && len(nb) != want {
					t.Errorf("cell %v: %d neighbours, want %d", c, len(nb), want)
				}
			}
		})
	}
}

func TestAreaAround(t *testing.T) {
	data := []h3.Cell{yanqing, cellOf(116.0, 40.5, 9)}
	a, err := AreaAround(data, 2)
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != 2*19 {
		t.Errorf("%d cells, want 2 discs of 19", a.Len())
	}
	for _, c := range data {
		for _, d := range h3.GridDisk(c, 2) {
			if _, ok := a.Index(d); !ok {
				t.Errorf("cell %v within 2 of %v is missing", d, c)
			}
		}
	}
	if _, err := AreaAround([]h3.Cell{0}, 1); err == nil {
		t.Error("AreaAround accepted cell 0")
	}
}
