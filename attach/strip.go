package attach

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"math"

	"whistlegrid/fault"
)

// strip removes the metadata that may say where and by whom a picture was
// taken, after reading the GPS position from its EXIF: in a JPEG the APP1
// (EXIF, XMP), APP13 (IPTC) and comment segments; in a PNG the eXIf and
// text chunks; in a WebP the EXIF and XMP chunks. A PDF is kept as it is.
// A JPEG whose EXIF orientation turns or mirrors it is decoded, turned and
// encoded again, so that it shows the same without the tag.
func strip(ct string, data []byte) ([]byte, *Point, error) {
	switch ct {
	case JPEG:
		return stripJPEG(data)
	case PNG:
		return stripPNG(data)
	case WebP:
		return stripWebP(data)
	}
	return data, nil, nil
}

func unreadable(format string, a ...any) error {
	return fault.FieldErrorf(ErrUnreadable, "file", format, a...)
}

// stripJPEG walks the segments up to the start of scan.
func stripJPEG(data []byte) ([]byte, *Point, error) {
	out := bytes.NewBuffer(make([]byte, 0, len(data)))
	out.Write(data[:2]) // SOI
	var gps *Point
	orientation := 1
	i := 2
	for {
		if i+4 > len(data) || data[i] != 0xFF {
			return nil, nil, unreadable("the JPEG is damaged (a segment breaks off)")
		}
		m := data[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m == 0xDA || m == 0xD9 { // start of scan, or end: the rest as it is
			out.Write(data[i:])
			break
		}
		if m == 0x01 || (m >= 0xD0 && m <= 0xD7) { // no length
			out.Write(data[i : i+2])
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return nil, nil, unreadable("the JPEG is damaged (a segment breaks off)")
		}
		seg := data[i : i+2+n]
		payload := seg[4:]
		switch {
		case m == 0xE1 && bytes.HasPrefix(payload, []byte("Exif\x00\x00")):
			g, o := readEXIF(payload[6:])
			if g != nil {
				gps = g
			}
			if o != 0 {
				orientation = o
			}
		case m == 0xE1, m == 0xED, m == 0xFE: // XMP, IPTC, comment
		default:
			out.Write(seg)
		}
		i += 2 + n
	}
	if orientation < 2 || orientation > 8 {
		return out.Bytes(), gps, nil
	}
	img, err := jpeg.Decode(bytes.NewReader(out.Bytes()))
	if err != nil {
		return nil, nil, unreadable("the JPEG cannot be decoded: %v", err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, orient(img, orientation), &jpeg.Options{Quality: 92}); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), gps, nil
}

// orient applies EXIF orientation o (2–8) to img.
func orient(img image.Image, o int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-x, y
			case 3:
				dx, dy = w-1-x, h-1-y
			case 4:
				dx, dy = x, h-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8:
				dx, dy = y, w-1-x
			}
			dst.Set(dx, dy, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return dst
}

// readEXIF reads a TIFF structure (an EXIF block after its "Exif\0\0"):
// the GPS position (nil when absent or off the globe) and the
// orientation (0 when absent). A damaged block reads as neither.
func readEXIF(t []byte) (*Point, int) {
	if len(t) < 8 {
		return nil, 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return nil, 0
	}
	type entry struct {
		typ   uint16
		count uint32
		value []byte // the 4 bytes of the value or offset
	}
	ifd := func(off uint32) map[uint16]entry {
		out := map[uint16]entry{}
		if off < 8 || int(off)+2 > len(t) {
			return out
		}
		n := int(bo.Uint16(t[off:]))
		for k := 0; k < n && k < 512; k++ {
			p := int(off) + 2 + 12*k
			if p+12 > len(t) {
				break
			}
			out[bo.Uint16(t[p:])] = entry{bo.Uint16(t[p+2:]), bo.Uint32(t[p+4:]), t[p+8 : p+12]}
		}
		return out
	}
	ifd0 := ifd(bo.Uint32(t[4:]))
	orientation := 0
	if e, ok := ifd0[0x0112]; ok && e.typ == 3 {
		orientation = int(bo.Uint16(e.value))
	}
	g, ok := ifd0[0x8825]
	if !ok {
		return nil, orientation
	}
	gps := ifd(bo.Uint32(g.value))
	coord := func(refTag, tag uint16, neg byte) (float64, bool) {
		ref, ok1 := gps[refTag]
		e, ok2 := gps[tag]
		if !ok1 || !ok2 || e.typ != 5 || e.count != 3 {
			return 0, false
		}
		off := int(bo.Uint32(e.value))
		if off+24 > len(t) {
			return 0, false
		}
		v := 0.0
		for k, div := range []float64{1, 60, 3600} {
			num, den := bo.Uint32(t[off+8*k:]), bo.Uint32(t[off+8*k+4:])
			if den == 0 {
				return 0, false
			}
			v += float64(num) / float64(den) / div
		}
		if ref.value[0] == neg {
			v = -v
		}
		return v, true
	}
	lat, ok1 := coord(1, 2, 'S')
	lon, ok2 := coord(3, 4, 'W')
	if !ok1 || !ok2 || math.Abs(lat) > 90 || math.Abs(lon) > 180 || (lat == 0 && lon == 0) {
		return nil, orientation
	}
	return &Point{Lon: math.Round(lon*1e7) / 1e7, Lat: math.Round(lat*1e7) / 1e7}, orientation
}

// stripPNG drops the eXIf and text chunks, reading the GPS from eXIf.
func stripPNG(data []byte) ([]byte, *Point, error) {
	out := bytes.NewBuffer(make([]byte, 0, len(data)))
	out.Write(data[:8])
	var gps *Point
	for i := 8; i < len(data); {
		if i+12 > len(data) {
			return nil, nil, unreadable("the PNG is damaged (a chunk breaks off)")
		}
		n := int(binary.BigEndian.Uint32(data[i:]))
		if n < 0 || i+12+n > len(data) {
			return nil, nil, unreadable("the PNG is damaged (a chunk breaks off)")
		}
		typ := string(data[i+4 : i+8])
		switch typ {
		case "eXIf":
			gps, _ = readEXIF(data[i+8 : i+8+n])
		case "tEXt", "zTXt", "iTXt":
		default:
			out.Write(data[i : i+12+n])
		}
		i += 12 + n
		if typ == "IEND" {
			break
		}
	}
	return out.Bytes(), gps, nil
}

// stripWebP drops the EXIF and XMP chunks of a RIFF WebP, clears their
// flags in VP8X and fixes the RIFF size.
func stripWebP(data []byte) ([]byte, *Point, error) {
	out := bytes.NewBuffer(make([]byte, 0, len(data)))
	out.Write(data[:12])
	var gps *Point
	for i := 12; i < len(data); {
		if i+8 > len(data) {
			return nil, nil, unreadable("the WebP is damaged (a chunk breaks off)")
		}
		n := int(binary.LittleEndian.Uint32(data[i+4:]))
		end := i + 8 + n + n%2
		if n < 0 || i+8+n > len(data) {
			return nil, nil, unreadable("the WebP is damaged (a chunk breaks off)")
		}
		end = min(end, len(data))
		switch string(data[i : i+4]) {
		case "EXIF":
			e := data[i+8 : i+8+n]
			gps, _ = readEXIF(bytes.TrimPrefix(e, []byte("Exif\x00\x00")))
		case "XMP ":
		case "VP8X":
			c := bytes.Clone(data[i:end])
			if len(c) > 8 {
				c[8] &^= 0x08 | 0x04
			}
			out.Write(c)
		default:
			out.Write(data[i:end])
		}
		i = end
	}
	b := out.Bytes()
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b, gps, nil
}
