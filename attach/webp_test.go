package attach_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"whistlegrid/attach"
	"whistlegrid/internal/testimage"
)

// webp1x1 is a 1×1 lossless WebP (VP8L) in the extended format (VP8X)
// with an EXIF chunk holding GPS and an XMP chunk.
func webp1x1(t *testing.T) []byte {
	t.Helper()
	chunk := func(fourcc string, data []byte) []byte {
		var b bytes.Buffer
		b.WriteString(fourcc)
		_ = binary.Write(&b, binary.LittleEndian, uint32(len(data)))
		b.Write(data)
		if len(data)%2 == 1 {
			b.WriteByte(0)
		}
		return b.Bytes()
	}
	vp8l := []byte{0x2f, 0x00, 0x00, 0x00, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe, 0x07, 0x00}
	vp8x := []byte{0x08 | 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	var body bytes.Buffer
	body.WriteString("WEBP")
	body.Write(chunk("VP8X", vp8x))
	body.Write(chunk("VP8L", vp8l))
	body.Write(chunk("EXIF", testimage.EXIF(116.05, 40.47, true, 0)))
	body.Write(chunk("XMP ", []byte("<x:xmpmeta>TestCam</x:xmpmeta>")))
	var out bytes.Buffer
	out.WriteString("RIFF")
	_ = binary.Write(&out, binary.LittleEndian, uint32(body.Len()))
	out.Write(body.Bytes())
	return out.Bytes()
}

func TestPrepareWebP(t *testing.T) {
	p, err := attach.Prepare(webp1x1(t))
	if err != nil {
		t.Fatal(err)
	}
	if p.ContentType != attach.WebP || bytes.Contains(p.Data, []byte("EXIF")) || bytes.Contains(p.Data, []byte("TestCam")) {
		t.Errorf("metadata survived: %q", p.Data)
	}
	if p.Data[20]&(0x08|0x04) != 0 {
		t.Errorf("VP8X flags still say EXIF/XMP: %#x", p.Data[20])
	}
	if n := binary.LittleEndian.Uint32(p.Data[4:]); int(n) != len(p.Data)-8 {
		t.Errorf("RIFF size %d, file %d", n, len(p.Data))
	}
	if p.GPS == nil || math.Abs(p.GPS.Lon-116.05) > 1e-6 || math.Abs(p.GPS.Lat-40.47) > 1e-6 {
		t.Errorf("GPS %+v", p.GPS)
	}
	if len(p.Thumb) == 0 {
		t.Error("no thumbnail")
	}
}
