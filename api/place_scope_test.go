package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"whistlegrid/internal/testenv"
)

// TestPlaceListsOnlyPeopleInJurisdiction is issue 12, point 4: /place
// names the people on duty only where the caller could read their grid
// with GET /grids/{code} (one rule, access.Scope.Covers): a township sees
// its own people with phones and nobody of another township; a grid
// worker nobody above its village. Every person listed is one whose grid
// GET /grids/{code} shows the caller, and every person left out one whose
// grid it refuses.
func TestPlaceListsOnlyPeopleInJurisdiction(t *testing.T) {
	t.Parallel() // its own database
	env := testenv.Start(t)
	ctx := context.Background()
	point := func(prefix string) (float64, float64, string) {
		var lon, lat float64
		var village string
		if err := env.Pool.QueryRow(ctx, `SELECT ST_X(h.location), ST_Y(h.location), v.code FROM households h
			JOIN grids g ON g.id = h.grid_id JOIN grids v ON v.id = g.parent_id
			WHERE g.code LIKE $1 || '%' ORDER BY h.id LIMIT 1`, prefix).Scan(&lon, &lat, &village); err != nil {
			t.Fatal(err)
		}
		return lon, lat, village
	}
	homeLon, homeLat, village := point("110119101")
	awayLon, awayLat, _ := point("110119102")
	command := env.Login(t, "command")
	place := func(tok string, lon, lat float64) placeAnswer {
		t.Helper()
		status, body := env.Do(t, "GET", fmt.Sprintf("/api/v1/place?lon=%.8f&lat=%.8f", lon, lat), tok, nil)
		if status != 200 {
			t.Fatalf("place: %d %s", status, body)
		}
		return decode[placeAnswer](t, body)
	}
	type person struct{ Duty, Name, Phone, GridCode string }
	people := func(a placeAnswer) []person {
		var out []person
		for _, r := range a.Responsible {
			out = append(out, person{r.Duty, r.Name, r.Phone, r.GridCode})
		}
		return out
	}
	for _, tt := range []struct {
		name, user string
		lon, lat   float64
		want       int // people listed, of the 4 the command center sees
	}{
		{"township at home", "t110119101", homeLon, homeLat, 4},
		{"township in another township", "t110119101", awayLon, awayLat, 0},
		{"grid worker in its village", "w" + village, homeLon, homeLat, 3}, // not the zone's leader
		{"grid worker in another township", "w" + village, awayLon, awayLat, 0},
		{"screen anywhere", "screen", awayLon, awayLat, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			all := people(place(command, tt.lon, tt.lat))
			if len(all) != 4 {
				t.Fatalf("the command center sees %d people, want 4: %+v", len(all), all)
			}
			tok := env.Login(t, tt.user)
			got := people(place(tok, tt.lon, tt.lat))
			if len(got) != tt.want {
				t.Errorf("%d people listed, want %d: %+v", len(got), tt.want, got)
			}
			listed := map[string]bool{}
			for _, p := range got {
				listed[p.Name+p.GridCode] = true
			}
			for _, p := range all {
				status, _ := env.Do(t, "GET", "/api/v1/grids/"+p.GridCode, tok, nil)
				if listed[p.Name+p.GridCode] != (status == 200) {
					t.Errorf("%s of grid %s: listed %v, but GET /grids/%s answers %d", p.Duty, p.GridCode, listed[p.Name+p.GridCode], p.GridCode, status)
				}
			}
			if tt.user == "t110119101" {
				for i, p := range got { // who dispatches sees the phones of its own people
					if p.Phone != all[i].Phone {
						t.Errorf("%s phone %q, want %q", p.Duty, p.Phone, all[i].Phone)
					}
				}
			}
		})
	}

	// a batch is held to the same rule, point by point, and stays fast
	pts := make([]map[string]any, 10000)
	for i := range pts {
		if i%2 == 0 {
			pts[i] = map[string]any{"lon": homeLon, "lat": homeLat}
		} else {
			pts[i] = map[string]any{"lon": awayLon, "lat": awayLat}
		}
	}
	tok := env.Login(t, "t110119101")
	start := time.Now()
	status, body := env.Do(t, "POST", "/api/v1/place", tok, pts)
	t.Logf("POST /place, 10,000 points as a township: %v", time.Since(start))
	if status != 200 {
		t.Fatalf("batch: %d", status)
	}
	out := decode[struct {
		Results []placeAnswer `json:"results"`
	}](t, body)
	for i, r := range out.Results {
		if want := map[bool]int{true: 4, false: 0}[i%2 == 0]; len(r.Responsible) != want {
			t.Fatalf("point %d: %d people listed, want %d", i, len(r.Responsible), want)
		}
	}
}
