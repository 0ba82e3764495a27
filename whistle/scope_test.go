package whistle_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// pointIn is a point inside the first household grid under prefix, with
// that grid's code and its village's.
func pointIn(t *testing.T, f *fixture, prefix string) (lon, lat float64, house, village string) {
	t.Helper()
	err := f.env.Pool.QueryRow(context.Background(), `
		SELECT ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)), g.code, v.code
		FROM grids g JOIN grids v ON v.id = g.parent_id
		WHERE g.level = 'household' AND g.valid_to IS NULL AND g.code LIKE $1 || '%' ORDER BY g.code LIMIT 1`, prefix).
		Scan(&lon, &lat, &house, &village)
	if err != nil {
		t.Fatal(err)
	}
	return lon, lat, house, village
}

// TestDuplicateKeyReplaysOnlyInJurisdiction is issue 12, point 3: the
// idempotency key (source, external_id) must not read a clue the caller
// may not see. Another township, and a grid worker of another village,
// sending a stored key get 409 with nothing of the clue; the clue's own
// township and village get the stored clue (200), as GET /clues would show
// it; nothing is stored twice.
func TestDuplicateKeyReplaysOnlyInJurisdiction(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	const (
		key   = "NSWB20261202-00003"
		text  = "门口摆摊占道"
		name  = "张三丰"
		phone = "13900001111"
	)
	post := func(user string, lon, lat float64) (int, string) {
		t.Helper()
		status, b := f.env.Do(t, "POST", "/api/v1/clues", f.env.Login(t, user), map[string]any{
			"source": "hotline", "external_id": key, "category": category, "text": text,
			"lon": lon, "lat": lat, "datum": "wgs84", "reported_at": time.Now().Format(time.RFC3339),
			"reporter": map[string]string{"name": name, "phone": phone},
		})
		return status, string(b)
	}
	status, body := post("command", f.lon, f.lat)
	if status != 201 {
		t.Fatalf("first intake: %d %s", status, body)
	}
	var first struct {
		Clue struct {
			ID int64 `json:"id"`
		} `json:"clue"`
		Whistle *struct {
			ID int64 `json:"id"`
		} `json:"whistle"`
	}
	if err := json.Unmarshal([]byte(body), &first); err != nil || first.Whistle == nil {
		t.Fatalf("first intake raised no whistle: %s", body)
	}

	// a point of 八达岭镇, and one of another village of 康庄镇
	bLon, bLat, _, _ := pointIn(t, f, badaling)
	var otherVillage string
	if err := f.env.Pool.QueryRow(ctx, `SELECT code FROM grids WHERE level = 'village' AND valid_to IS NULL
		AND code LIKE $1 || '%' AND code <> $2 ORDER BY code LIMIT 1`, kangzhuang, f.village).Scan(&otherVillage); err != nil {
		t.Fatal(err)
	}
	oLon, oLat, _, _ := pointIn(t, f, otherVillage)

	for _, tt := range []struct {
		name, user string
		lon, lat   float64
	}{
		{"another township", "t" + badaling, bLon, bLat},
		{"a grid worker of another village", "w" + otherVillage, oLon, oLat},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(tt.user, tt.lon, tt.lat)
			if status != 409 {
				t.Fatalf("status %d, want 409: %s", status, body)
			}
			for _, leak := range []string{text, name, phone, "张**", "139****1111", `"clue"`, `"whistle"`, `"id"`, kangzhuang} {
				if strings.Contains(body, leak) {
					t.Errorf("the 409 holds %q: %s", leak, body)
				}
			}
			if !strings.Contains(body, `"code":"conflict"`) || !strings.Contains(body, `"field":"external_id"`) {
				t.Errorf("not a conflict naming external_id: %s", body)
			}
		})
	}
	for _, tt := range []struct{ name, user string }{
		{"the clue's township", "t" + kangzhuang},
		{"the clue's grid worker", "w" + f.village},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(tt.user, f.lon, f.lat)
			if status != 200 {
				t.Fatalf("status %d, want 200: %s", status, body)
			}
			var got struct {
				Clue struct {
					ID       int64  `json:"id"`
					Text     string `json:"text"`
					Reporter struct{ Name, Phone string }
				} `json:"clue"`
				Whistle *struct {
					ID int64 `json:"id"`
				} `json:"whistle"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if got.Clue.ID != first.Clue.ID || got.Clue.Text != text || got.Clue.Reporter.Name != name || got.Clue.Reporter.Phone != phone {
				t.Errorf("replay %s", body)
			}
			if got.Whistle == nil || got.Whistle.ID != first.Whistle.ID {
				t.Errorf("replay without its whistle: %s", body)
			}
		})
	}
	var n int
	if err := f.env.Pool.QueryRow(ctx, `SELECT count(*) FROM clues WHERE external_id = $1`, key).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d clues under the key (%v), want 1", n, err)
	}
}

// TestReporterMaskedOutsideOwnGrids is issue 12, point 6 (REST): a whistle
// that joined clues of two villages shows a grid worker the reporter of
// its own village and masks the other village's, as GET /clues does; the
// township sees both.
func TestReporterMaskedOutsideOwnGrids(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	cmd := f.env.Login(t, "command")
	status, out := f.clue(t, cmd, 0, 0, category)
	if status != 201 {
		t.Fatalf("clue: %d %s", status, out)
	}
	var w struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(out["whistle"], &w); err != nil || w.ID == 0 {
		t.Fatalf("no whistle raised: %s", out["whistle"])
	}
	// a clue of another village of the township, joined to the whistle (a
	// whistle joins clues within its radius, across village lines)
	var otherVillage string
	if err := f.env.Pool.QueryRow(ctx, `SELECT code FROM grids WHERE level = 'village' AND valid_to IS NULL
		AND code LIKE $1 || '%' AND code <> $2 ORDER BY code LIMIT 1`, kangzhuang, f.village).Scan(&otherVillage); err != nil {
		t.Fatal(err)
	}
	oLon, oLat, _, _ := pointIn(t, f, otherVillage)
	status, b := f.env.Do(t, "POST", "/api/v1/clues", cmd, map[string]any{
		"source": "patrol", "external_id": "other-village-1", "category": "CM.01.02", "text": "占道",
		"lon": oLon, "lat": oLat, "datum": "wgs84", "reported_at": time.Now().Format(time.RFC3339),
		"reporter": map[string]string{"name": "李大伟", "phone": "13611111111"},
	})
	if status != 201 {
		t.Fatalf("second clue: %d %s", status, b)
	}
	if _, err := f.env.Pool.Exec(ctx, `UPDATE clues SET whistle_id = $1 WHERE external_id = 'other-village-1'`, w.ID); err != nil {
		t.Fatal(err)
	}
	reporters := func(user string) string {
		t.Helper()
		status, b := f.env.Do(t, "GET", fmt.Sprintf("/api/v1/whistles/%d", w.ID), f.env.Login(t, user), nil)
		if status != 200 {
			t.Fatalf("%s: GET whistle: %d %s", user, status, b)
		}
		var d struct {
			Clues []struct {
				Reporter struct{ Name, Phone string }
			}
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range d.Clues {
			got = append(got, c.Reporter.Name+" "+c.Reporter.Phone)
		}
		return strings.Join(got, ", ")
	}
	for _, tt := range []struct{ user, want string }{
		{"w" + f.village, "张三 13900001111, 李** 136****1111"},
		{"t" + kangzhuang, "张三 13900001111, 李大伟 13611111111"},
		{"screen", "张* 139****1111, 李** 136****1111"},
		{"command", "张* 139****1111, 李** 136****1111"}, // off the callback desk (issue 16 §4)
		{"callback", "张三 13900001111, 李大伟 13611111111"},
	} {
		t.Run(tt.user, func(t *testing.T) {
			got := reporters(tt.user)
			// the clues come in the order the list gives; compare as a set
			if !sameSet(got, tt.want) {
				t.Errorf("reporters %q, want %q", got, tt.want)
			}
		})
	}
}

func sameSet(a, b string) bool {
	x, y := strings.Split(a, ", "), strings.Split(b, ", ")
	if len(x) != len(y) {
		return false
	}
	seen := map[string]int{}
	for _, s := range x {
		seen[s]++
	}
	for _, s := range y {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}
