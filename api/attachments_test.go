package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path/filepath"
	"strings"
	"testing"

	"whistlegrid/internal/testenv"
	"whistlegrid/internal/testimage"
)

// uploaded is the answer of POST /api/v1/attachments.
type uploaded struct {
	ID          int64  `json:"id"`
	SHA256      string `json:"sha256"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	URL         string `json:"url"`
	ThumbURL    string `json:"thumb_url"`
	GPS         *struct{ Lon, Lat float64 }
}

// upload posts data as the multipart field file named name, declared as
// ctype, and returns the status and body.
func upload(t *testing.T, env *testenv.Env, token, name, ctype string, data []byte) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, name))
	h.Set("Content-Type", ctype)
	part, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	w.Close()
	req, _ := http.NewRequest("POST", env.URL+"/api/v1/attachments", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// fetch GETs path with token (as a bearer, or in the query when query is
// true) and returns the answer with its body read.
func fetch(t *testing.T, env *testenv.Env, path, token string, query bool) (*http.Response, []byte) {
	t.Helper()
	u := env.URL + path
	if query {
		u += "?token=" + token
	}
	req, _ := http.NewRequest("GET", u, nil)
	if !query && token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// storedFiles counts the objects in the test server's attachment store.
func storedFiles(t *testing.T, env *testenv.Env) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(env.Blobs.Dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestAttachmentRefusals(t *testing.T) {
	t.Parallel() // its own database
	f := newEdgeFixture(t)
	worker := f.env.Login(t, "w"+f.grid[:12])
	jpg := testimage.JPEG(16, 16, 0, 0, false, 0)
	for _, tc := range []struct {
		name, file, ctype string
		data              []byte
		status            int
		code, msg         string
	}{
		{"a GIF", "a.gif", "image/gif", []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00"), 415, "unsupported_media_type", "not a JPEG, PNG, WebP or PDF"},
		{"text with a forged .jpg name and type", "photo.jpg", "image/jpeg", []byte("<html><script>alert(1)</script>"), 415, "unsupported_media_type", "not a JPEG"},
		{"an executable named .pdf", "doc.pdf", "application/pdf", []byte("\x7fELF\x02\x01\x01"), 415, "unsupported_media_type", "not a JPEG"},
		{"11 MiB", "big.jpg", "image/jpeg", append(bytes.Clone(jpg), make([]byte, 11<<20)...), 413, "too_large", "at most 10 MiB"},
		{"10 MiB and a bit", "big.jpg", "image/jpeg", append(bytes.Clone(jpg), make([]byte, 10<<20)...), 413, "too_large", "at most 10 MiB"},
		{"a JPEG that breaks off", "x.jpg", "image/jpeg", jpg[:40], 422, "invalid", "damaged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := upload(t, f.env, worker, tc.file, tc.ctype, tc.data)
			e := decode[map[string]map[string]string](t, body)
			if status != tc.status || e["error"]["code"] != tc.code || !strings.Contains(e["error"]["message"], tc.msg) {
				t.Errorf("status %d %s, want %d %s with %q", status, body, tc.status, tc.code, tc.msg)
			}
		})
	}
	// no file field, and the wall screen
	req, _ := http.NewRequest("POST", f.env.URL+"/api/v1/attachments", strings.NewReader("x=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+worker)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 400 {
		t.Errorf("no file: %v %v", res.StatusCode, err)
	}
	if status, body := upload(t, f.env, f.env.Login(t, "screen"), "a.jpg", "image/jpeg", jpg); status != 403 {
		t.Errorf("the wall screen uploads: %d %s", status, body)
	}
	var rows int
	scan(t, f.env, `SELECT count(*) FROM attachments`, nil, &rows)
	if rows != 0 || storedFiles(t, f.env) != 0 {
		t.Errorf("after refusals: %d rows, %d files stored, want none", rows, storedFiles(t, f.env))
	}
}

func TestAttachmentsOnClueAndStep(t *testing.T) {
	t.Parallel() // its own database
	f := newEdgeFixture(t)
	ctx := context.Background()
	village := f.grid[:12]
	worker := f.env.Login(t, "w"+village)
	township := f.env.Login(t, "t"+f.grid[:9])
	var otherWorker, otherTownship string
	scan(t, f.env, `SELECT username FROM users WHERE role = 'grid_worker' AND username <> $1 ORDER BY username LIMIT 1`, []any{"w" + village}, &otherWorker)
	scan(t, f.env, `SELECT username FROM users WHERE role = 'township' AND username <> $1 ORDER BY username LIMIT 1`, []any{"t" + f.grid[:9]}, &otherTownship)
	other := f.env.Login(t, otherWorker)
	otherT := f.env.Login(t, otherTownship)

	// a phone photo with its EXIF: GPS and camera
	status, body := upload(t, f.env, worker, "IMG_0001.JPG", "image/jpeg", testimage.JPEG(1200, 900, 115.9871234, 40.4563456, true, 0))
	if status != 201 {
		t.Fatalf("upload: %d %s", status, body)
	}
	up := decode[uploaded](t, body)
	if up.ID == 0 || len(up.SHA256) != 64 || up.ContentType != "image/jpeg" || up.Size == 0 ||
		up.URL != fmt.Sprintf("/api/v1/attachments/%d", up.ID) || up.ThumbURL != up.URL+"/thumb" {
		t.Errorf("answer %s", body)
	}
	if up.GPS == nil || up.GPS.Lon < 115.98712 || up.GPS.Lon > 115.98713 || up.GPS.Lat < 40.45634 || up.GPS.Lat > 40.45635 {
		t.Errorf("gps hint %+v", up.GPS)
	}
	stored, err := f.env.Blobs.Open(ctx, up.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	onDisk, _ := io.ReadAll(stored)
	stored.Close()
	if bytes.Contains(onDisk, []byte("Exif")) || bytes.Contains(onDisk, []byte("TestCam")) || bytes.Contains(onDisk, []byte("secret comment")) {
		t.Error("EXIF stored")
	}

	// loose: its uploader only
	if res, _ := fetch(t, f.env, up.URL, worker, false); res.StatusCode != 200 {
		t.Errorf("uploader reads the loose upload: %d", res.StatusCode)
	}
	for _, tok := range []string{township, other} {
		if res, b := fetch(t, f.env, up.URL, tok, false); res.StatusCode != 404 {
			t.Errorf("another user reads a loose upload: %d %s", res.StatusCode, b)
		}
	}

	// the report with its photo; posted twice (a retry), attached once
	clue := f.clue(map[string]any{"external_id": "device-abc-1", "attachments": []int64{up.ID}})
	status, body = edgeSend(t, f.env, "POST", "/api/v1/clues", worker, jsonType, clue)
	type clueOut struct {
		Clue struct {
			ID          int64
			WhistleID   *int64 `json:"whistle_id"`
			Attachments []struct {
				ID          int64
				URL         string
				ThumbURL    string `json:"thumb_url"`
				ContentType string `json:"content_type"`
			}
		}
	}
	c1 := decode[clueOut](t, body)
	if status != 201 || len(c1.Clue.Attachments) != 1 || c1.Clue.Attachments[0].ID != up.ID || c1.Clue.Attachments[0].ThumbURL != up.ThumbURL {
		t.Fatalf("clue with a photo: %d %s", status, body)
	}
	status, body = edgeSend(t, f.env, "POST", "/api/v1/clues", worker, jsonType, clue)
	if c2 := decode[clueOut](t, body); status != 200 || c2.Clue.ID != c1.Clue.ID || len(c2.Clue.Attachments) != 1 {
		t.Errorf("the same report again: %d %s", status, body)
	}
	var n int
	scan(t, f.env, `SELECT count(*) FROM attachments WHERE clue_id = $1`, []any{c1.Clue.ID}, &n)
	if n != 1 {
		t.Errorf("%d attachments on the clue, want 1", n)
	}
	// another clue may not take it
	status, body = edgeSend(t, f.env, "POST", "/api/v1/clues", worker, jsonType, f.clue(map[string]any{"attachments": []int64{up.ID}}))
	if e := decode[map[string]map[string]string](t, body); status != 422 || e["error"]["field"] != "attachments" {
		t.Errorf("an attached upload on another clue: %d %s", status, body)
	}
	scan(t, f.env, `SELECT count(*) FROM clues WHERE reported_by = (SELECT id FROM users WHERE username = $1)`, []any{"w" + village}, &n)
	if n != 1 {
		t.Errorf("%d clues after a refused one, want 1", n)
	}

	// on the clue: whoever sees the clue
	for _, tc := range []struct {
		who, token string
		query      bool
		status     int
	}{
		{"its township", township, false, 200},
		{"its township by ?token=", township, true, 200},
		{"the command center", f.command, false, 200},
		{"another village's worker", other, false, 404},
		{"another township", otherT, true, 404},
		{"nobody", "", false, 401},
	} {
		t.Run(tc.who, func(t *testing.T) {
			res, b := fetch(t, f.env, up.URL, tc.token, tc.query)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d %s, want %d", res.StatusCode, b, tc.status)
			}
			if tc.status != 200 {
				return
			}
			h := res.Header
			if h.Get("Content-Type") != "image/jpeg" || h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Cache-Control"), "private") ||
				!bytes.Equal(b, onDisk) {
				t.Errorf("headers %v, %d bytes", h, len(b))
			}
		})
	}
	res, thumb := fetch(t, f.env, up.ThumbURL, township, true)
	img, err := jpeg.Decode(bytes.NewReader(thumb))
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" || err != nil || img.Bounds().Dx() != 320 || img.Bounds().Dy() != 240 {
		t.Errorf("thumbnail: %d %v %v", res.StatusCode, err, res.Header)
	}
	if res, _ := fetch(t, f.env, up.ThumbURL, other, true); res.StatusCode != 404 {
		t.Errorf("thumbnail to another village: %d", res.StatusCode)
	}

	// 我的上报
	status, body = edgeSend(t, f.env, "GET", "/api/v1/clues/mine", worker, "", "")
	mine := decode[struct {
		Reports []struct {
			ID          int64
			ExternalID  string `json:"external_id"`
			State       string
			WhistleID   *int64 `json:"whistle_id"`
			Attachments []struct{ ID int64 }
		}
	}](t, body)
	if status != 200 || len(mine.Reports) != 1 || mine.Reports[0].ID != c1.Clue.ID || mine.Reports[0].ExternalID != "device-abc-1" ||
		len(mine.Reports[0].Attachments) != 1 || (mine.Reports[0].State == "village") != (mine.Reports[0].WhistleID == nil) {
		t.Errorf("mine: %d %s", status, body)
	}
	if _, body := edgeSend(t, f.env, "GET", "/api/v1/clues/mine", other, "", ""); strings.Contains(string(body), "device-abc-1") {
		t.Errorf("another worker's list holds the report: %s", body)
	}

	// a resolution with a PDF and a photo, by the summoned unit
	unit := f.env.Login(t, "u"+f.unit)
	step := fmt.Sprintf("/api/v1/whistles/%d/", f.whistle)
	if status, body := edgeSend(t, f.env, "POST", step+"report-in", unit, jsonType, `{"person":"李四","phone":"13800001111"}`); status != 200 {
		t.Fatalf("report in: %d %s", status, body)
	}
	status, body = upload(t, f.env, unit, "after.png", "image/png", testimage.PNG(50, 40, 115.99, 40.45))
	photo := decode[uploaded](t, body)
	status2, body2 := upload(t, f.env, unit, "report.pdf", "application/pdf", []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"))
	pdf := decode[uploaded](t, body2)
	if status != 201 || status2 != 201 || photo.ContentType != "image/png" || pdf.ContentType != "application/pdf" {
		t.Fatalf("unit uploads: %d %s / %d %s", status, body, status2, body2)
	}
	// someone else's upload is refused, and the step with it
	if status, body := edgeSend(t, f.env, "POST", step+"resolve", unit, jsonType, fmt.Sprintf(`{"outcome":"resolved","attachments":[%d,%d]}`, photo.ID, up.ID)); status != 422 {
		t.Errorf("a step with another's attachment: %d %s", status, body)
	}
	status, body = edgeSend(t, f.env, "POST", step+"resolve", unit, jsonType, fmt.Sprintf(`{"outcome":"resolved","note":"已清理","attachments":[%d,%d]}`, photo.ID, pdf.ID))
	if status != 200 {
		t.Fatalf("resolve with attachments: %d %s", status, body)
	}
	type trail struct {
		Trail []struct {
			Action      string
			Attachments []struct {
				ID          int64
				ContentType string `json:"content_type"`
			}
		}
	}
	var resolved int
	for _, e := range decode[trail](t, body).Trail {
		if e.Action == "resolve" {
			resolved++
			if len(e.Attachments) != 2 || e.Attachments[0].ID != photo.ID || e.Attachments[1].ContentType != "application/pdf" {
				t.Errorf("resolve step attachments %+v", e.Attachments)
			}
		} else if len(e.Attachments) != 0 {
			t.Errorf("step %s has attachments %+v", e.Action, e.Attachments)
		}
	}
	if resolved != 1 {
		t.Errorf("%d resolve steps in %s", resolved, body)
	}
	for _, tc := range []struct {
		who, token string
		status     int
	}{{"the township", township, 200}, {"the command center", f.command, 200}, {"the unit", unit, 200}, {"another township", otherT, 404}, {"a worker", other, 404}} {
		res, b := fetch(t, f.env, pdf.URL, tc.token, false)
		if res.StatusCode != tc.status {
			t.Errorf("%s reads the resolution's PDF: %d %s", tc.who, res.StatusCode, b)
		}
		if tc.status == 200 && (res.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(b), "%PDF-")) {
			t.Errorf("%s: PDF served as %v", tc.who, res.Header)
		}
	}
	// the unit, summoned to the whistle the report joined (if it did), sees
	// the report's photo through the whistle's clues
	_, body = edgeSend(t, f.env, "GET", fmt.Sprintf("/api/v1/whistles/%d", f.whistle), f.command, "", "")
	var det struct {
		Clues []struct {
			ID          int64
			Attachments []struct{ ID int64 }
		}
	}
	_ = json.Unmarshal(body, &det)
	for _, c := range det.Clues {
		if c.ID == c1.Clue.ID && (len(c.Attachments) != 1 || c.Attachments[0].ID != up.ID) {
			t.Errorf("the whistle's clue lacks its photo: %+v", c)
		}
	}
}
