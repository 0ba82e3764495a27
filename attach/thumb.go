package attach

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// ThumbSize is the longest side of a thumbnail, in pixels.
const ThumbSize = 320

// MaxPixels bounds the images decoded (40 megapixels), so that a small
// file claiming a huge picture cannot take the server's memory.
const MaxPixels = 40_000_000

// thumbnail is a JPEG of at most ThumbSize pixels a side: the picture
// scaled down (never up) over white, or for a PDF a page with a red band.
func thumbnail(ct string, data []byte) ([]byte, error) {
	var img image.Image
	if ct == PDF {
		img = pdfIcon()
	} else {
		var err error
		if img, err = decode(ct, data); err != nil {
			return nil, err
		}
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > ThumbSize || h > ThumbSize {
		if w >= h {
			w, h = ThumbSize, max(1, h*ThumbSize/b.Dx())
		} else {
			w, h = max(1, w*ThumbSize/b.Dy()), ThumbSize
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, xdraw.Src)
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, xdraw.Over, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 80}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decode decodes a JPEG, PNG or WebP after checking its size.
func decode(ct string, data []byte) (image.Image, error) {
	var cfg image.Config
	var err error
	switch ct {
	case JPEG:
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	case PNG:
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	case WebP:
		cfg, err = webp.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil {
		return nil, unreadable("the image cannot be read: %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPixels {
		return nil, unreadable("the image is %d×%d pixels; at most %d megapixels", cfg.Width, cfg.Height, MaxPixels/1_000_000)
	}
	var img image.Image
	switch ct {
	case JPEG:
		img, err = jpeg.Decode(bytes.NewReader(data))
	case PNG:
		img, err = png.Decode(bytes.NewReader(data))
	case WebP:
		img, err = webp.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, unreadable("the image cannot be decoded: %v", err)
	}
	return img, nil
}

// pdfIcon is the thumbnail of a PDF: a white page with a red band.
func pdfIcon() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 240, ThumbSize))
	xdraw.Draw(img, img.Bounds(), image.NewUniform(color.RGBA{0xf4, 0xf4, 0xf0, 0xff}), image.Point{}, xdraw.Src)
	xdraw.Draw(img, image.Rect(0, 40, 240, 110), image.NewUniform(color.RGBA{0xc6, 0x28, 0x28, 0xff}), image.Point{}, xdraw.Src)
	for y := 150; y < 290; y += 20 {
		xdraw.Draw(img, image.Rect(30, y, 210, y+6), image.NewUniform(color.RGBA{0xbb, 0xbb, 0xbb, 0xff}), image.Point{}, xdraw.Src)
	}
	return img
}
