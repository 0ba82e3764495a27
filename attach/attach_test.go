package attach_test

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"whistlegrid/attach"
	"whistlegrid/fault"
	"whistlegrid/internal/testimage"
)

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"jpeg", testimage.JPEG(8, 8, 0, 0, false, 0), attach.JPEG},
		{"png", testimage.PNG(8, 8, 116, 40), attach.PNG},
		{"webp", []byte("RIFF\x10\x00\x00\x00WEBPVP8 "), attach.WebP},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\n"), attach.PDF},
		{"gif", []byte("GIF89a\x01\x00"), ""},
		{"text named .jpg", []byte("hello, I am a photo"), ""},
		{"html", []byte("<html><script>"), ""},
		{"empty", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := attach.Sniff(tc.data); got != tc.want {
				t.Errorf("Sniff = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPrepareJPEGStripsEXIFAndReadsGPS(t *testing.T) {
	in := testimage.JPEG(64, 32, 115.974512, 40.456789, true, 0)
	if !bytes.Contains(in, []byte("TestCam")) || !bytes.Contains(in, []byte("secret comment")) {
		t.Fatal("the test picture lacks its metadata")
	}
	p, err := attach.Prepare(in)
	if err != nil {
		t.Fatal(err)
	}
	if p.ContentType != attach.JPEG {
		t.Errorf("type %q", p.ContentType)
	}
	for _, s := range []string{"Exif", "TestCam", "secret comment"} {
		if bytes.Contains(p.Data, []byte(s)) {
			t.Errorf("%q survived", s)
		}
	}
	if p.GPS == nil || math.Abs(p.GPS.Lon-115.974512) > 1e-6 || math.Abs(p.GPS.Lat-40.456789) > 1e-6 {
		t.Errorf("GPS = %+v, want 115.974512, 40.456789", p.GPS)
	}
	img, err := jpeg.Decode(bytes.NewReader(p.Data))
	if err != nil || img.Bounds().Dx() != 64 || img.Bounds().Dy() != 32 {
		t.Fatalf("stripped JPEG: %v %v", err, img.Bounds())
	}
	if len(p.SHA256) != 64 {
		t.Errorf("sha %q", p.SHA256)
	}
}

func TestPrepareTurnsByOrientation(t *testing.T) {
	// 6: the camera was turned right; shown upright the picture is 32×64
	// with its red half (left in the sensor's frame) on top.
	p, err := attach.Prepare(testimage.JPEG(64, 32, 0, 0, false, 6))
	if err != nil {
		t.Fatal(err)
	}
	if p.GPS != nil {
		t.Errorf("GPS %+v from a picture without one", p.GPS)
	}
	img, err := jpeg.Decode(bytes.NewReader(p.Data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 32 || b.Dy() != 64 {
		t.Fatalf("turned picture is %v, want 32×64", b)
	}
	r, _, bl, _ := img.At(16, 8).RGBA()
	if r < bl {
		t.Errorf("top of the turned picture is not red: r %d b %d", r>>8, bl>>8)
	}
	if bytes.Contains(p.Data, []byte("Exif")) {
		t.Error("EXIF survived")
	}
}

func TestPreparePNG(t *testing.T) {
	p, err := attach.Prepare(testimage.PNG(40, 20, 116.1, 40.5))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(p.Data, []byte("eXIf")) || bytes.Contains(p.Data, []byte("TestCam")) {
		t.Error("metadata survived")
	}
	if p.GPS == nil || math.Abs(p.GPS.Lon-116.1) > 1e-6 {
		t.Errorf("GPS %+v", p.GPS)
	}
	if _, err := jpeg.Decode(bytes.NewReader(p.Thumb)); err != nil {
		t.Errorf("thumbnail: %v", err)
	}
}

func TestPrepareRefuses(t *testing.T) {
	big := append(testimage.JPEG(8, 8, 0, 0, false, 0), make([]byte, 11<<20)...)
	for _, tc := range []struct {
		name string
		data []byte
		kind fault.Kind
		msg  string
	}{
		{"11 MiB", big, fault.TooLarge, "at most 10 MiB"},
		{"text", []byte("just text in a .jpg"), fault.UnsupportedMedia, "not a JPEG, PNG, WebP or PDF"},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), fault.UnsupportedMedia, "not a JPEG"},
		{"jpeg that breaks off", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00}, fault.Invalid, "damaged"},
		{"empty", []byte{}, fault.Invalid, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := attach.Prepare(tc.data)
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Kind != tc.kind || !strings.Contains(fe.Message, tc.msg) {
				t.Errorf("err = %v, want %v with %q", err, tc.kind, tc.msg)
			}
		})
	}
}

func TestThumbnail(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		w, h int
	}{
		{"wide photo scaled", testimage.JPEG(1600, 800, 0, 0, false, 0), 320, 160},
		{"small kept", testimage.JPEG(100, 50, 0, 0, false, 0), 100, 50},
		{"pdf icon", []byte("%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF"), 240, 320},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := attach.Prepare(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			img, err := jpeg.Decode(bytes.NewReader(p.Thumb))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Errorf("thumbnail %v, want %d×%d", b, tc.w, tc.h)
			}
		})
	}
}

func TestDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := attach.NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := attach.Prepare(testimage.JPEG(20, 20, 0, 0, false, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := attach.Save(ctx, d, p); err != nil {
		t.Fatal(err)
	}
	if err := attach.Save(ctx, d, p); err != nil { // the same again
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, p.SHA256[:2], p.SHA256[2:4], p.SHA256)); err != nil {
		t.Errorf("not content-addressed on disk: %v", err)
	}
	n, err := d.Stat(ctx, p.SHA256)
	if err != nil || n != int64(len(p.Data)) {
		t.Errorf("Stat = %d, %v", n, err)
	}
	rc, err := d.Open(ctx, attach.ThumbKey(p.SHA256))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, p.Thumb) {
		t.Error("thumbnail read back differs")
	}
	if err := d.Delete(ctx, p.SHA256); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(ctx, p.SHA256); !errors.Is(err, fault.NotFound) {
		t.Errorf("open after delete: %v", err)
	}
	if err := d.Put(ctx, "../../etc/passwd", []byte("x")); err == nil {
		t.Error("a key naming a path was taken")
	}
}
