// Package testimage makes small pictures for the tests of attachments:
// JPEGs with an EXIF block holding a GPS position and an orientation,
// PNGs with an eXIf chunk, as phones and cameras write them.
package testimage

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
)

// Picture is a w×h picture, red on its left half and blue on its right,
// so a test can tell whether it was turned.
func Picture(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{0xe0, 0x20, 0x20, 0xff}
			if x >= w/2 {
				c = color.RGBA{0x20, 0x20, 0xe0, 0xff}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// EXIF is a TIFF block (as after "Exif\0\0") with the orientation (0:
// none) and, when gps is true, GPSLatitude/Longitude of lon, lat, plus a
// camera make "TestCam" that must not survive stripping.
func EXIF(lon, lat float64, gps bool, orientation int) []byte {
	bo := binary.LittleEndian
	var b bytes.Buffer
	b.WriteString("II")
	_ = binary.Write(&b, bo, uint16(42))
	_ = binary.Write(&b, bo, uint32(8))
	// IFD0 at 8: Make (ASCII, offset), Orientation, GPS pointer
	entries := 3
	ifd0 := 8
	ifd0Len := 2 + 12*entries + 4
	makeOff := ifd0 + ifd0Len
	makeStr := []byte("TestCam\x00")
	gpsOff := makeOff + len(makeStr)
	gpsEntries := 4
	gpsLen := 2 + 12*gpsEntries + 4
	ratOff := gpsOff + gpsLen
	ent := func(tag, typ uint16, count, value uint32) {
		_ = binary.Write(&b, bo, tag)
		_ = binary.Write(&b, bo, typ)
		_ = binary.Write(&b, bo, count)
		_ = binary.Write(&b, bo, value)
	}
	_ = binary.Write(&b, bo, uint16(entries))
	ent(0x010F, 2, uint32(len(makeStr)), uint32(makeOff))
	o := orientation
	if o == 0 {
		o = 1
	}
	ent(0x0112, 3, 1, uint32(o))
	if gps {
		ent(0x8825, 4, 1, uint32(gpsOff))
	} else {
		ent(0x9999, 4, 1, 0)
	}
	_ = binary.Write(&b, bo, uint32(0))
	b.Write(makeStr)
	ref := func(c byte) uint32 { return uint32(c) }
	latRef, lonRef := byte('N'), byte('E')
	if lat < 0 {
		latRef, lat = 'S', -lat
	}
	if lon < 0 {
		lonRef, lon = 'W', -lon
	}
	_ = binary.Write(&b, bo, uint16(gpsEntries))
	ent(1, 2, 2, ref(latRef))
	ent(2, 5, 3, uint32(ratOff))
	ent(3, 2, 2, ref(lonRef))
	ent(4, 5, 3, uint32(ratOff+24))
	_ = binary.Write(&b, bo, uint32(0))
	for _, v := range []float64{lat, lon} {
		d := math.Floor(v)
		m := math.Floor((v - d) * 60)
		s := ((v-d)*60 - m) * 60
		for _, r := range [][2]uint32{{uint32(d), 1}, {uint32(m), 1}, {uint32(math.Round(s * 1e6)), 1e6}} {
			_ = binary.Write(&b, bo, r[0])
			_ = binary.Write(&b, bo, r[1])
		}
	}
	return b.Bytes()
}

// JPEG is a w×h Picture as a JPEG with an APP1 EXIF block (EXIF) right
// after its SOI, and a comment segment.
func JPEG(w, h int, lon, lat float64, gps bool, orientation int) []byte {
	var plain bytes.Buffer
	_ = jpeg.Encode(&plain, Picture(w, h), &jpeg.Options{Quality: 90})
	p := plain.Bytes()
	app1 := append([]byte("Exif\x00\x00"), EXIF(lon, lat, gps, orientation)...)
	var out bytes.Buffer
	out.Write(p[:2])
	out.Write([]byte{0xFF, 0xE1})
	_ = binary.Write(&out, binary.BigEndian, uint16(len(app1)+2))
	out.Write(app1)
	com := []byte("secret comment")
	out.Write([]byte{0xFF, 0xFE})
	_ = binary.Write(&out, binary.BigEndian, uint16(len(com)+2))
	out.Write(com)
	out.Write(p[2:])
	return out.Bytes()
}

// PNG is a w×h Picture as a PNG with an eXIf chunk (EXIF with GPS) and a
// tEXt chunk, before its IEND.
func PNG(w, h int, lon, lat float64) []byte {
	var plain bytes.Buffer
	_ = png.Encode(&plain, Picture(w, h))
	p := plain.Bytes()
	iend := len(p) - 12
	chunk := func(typ string, data []byte) []byte {
		var c bytes.Buffer
		_ = binary.Write(&c, binary.BigEndian, uint32(len(data)))
		c.WriteString(typ)
		c.Write(data)
		_ = binary.Write(&c, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
		return c.Bytes()
	}
	var out bytes.Buffer
	out.Write(p[:iend])
	out.Write(chunk("eXIf", EXIF(lon, lat, true, 0)))
	out.Write(chunk("tEXt", []byte("Author\x00TestCam")))
	out.Write(p[iend:])
	return out.Bytes()
}
