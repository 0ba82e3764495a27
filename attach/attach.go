// Package attach keeps the photos and documents attached to clues and to
// the steps of a whistle (办结 with photos): it reads an upload's type from
// its magic bytes (JPEG, PNG, WebP or PDF, nothing else), strips its EXIF
// after reading the GPS position in it as a location hint, makes a
// thumbnail, and stores the bytes content-addressed (by SHA-256) in a
// Blobs store: a folder on disk by default (Disk), any S3-compatible
// store behind the same four methods.
//
// Who may see an attachment is not decided here: the rows that tie an
// upload to its uploader, a clue or a whistle step live in the database
// (migrations/00011_attachments.sql) and are read by package whistle
// under the clue's and the whistle's jurisdiction rule. This package
// imports no project package but fault.
//
//	p, err := attach.Prepare(body) // sniff, strip, GPS, thumbnail
//	err = attach.Save(ctx, blobs, p)
//	rc, err := blobs.Open(ctx, p.SHA256)
package attach

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"

	"whistlegrid/fault"
)

// MaxSize is the largest upload, in bytes (10 MiB): a bigger one is a
// fault.TooLarge (413) and nothing is stored.
const MaxSize = 10 << 20

// The content types an attachment may have, as its magic bytes say.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
	WebP = "image/webp"
	PDF  = "application/pdf"
)

// Errors: the sentinels of the fault.Errors the package returns.
var (
	ErrUnsupported = fault.New(fault.UnsupportedMedia, "attach: unsupported media type")
	ErrTooLarge    = fault.New(fault.TooLarge, "attach: too large")
	ErrUnreadable  = fault.New(fault.Invalid, "attach: unreadable")
	ErrNotExist    = fault.New(fault.NotFound, "attach: no such object")
)

// Sniff returns the content type of data read from its first bytes: JPEG
// (FF D8 FF), PNG (its 8-byte signature), WebP (RIFF....WEBP) or PDF
// (%PDF-); "" for anything else. The name and the declared type of an
// upload are never asked.
func Sniff(data []byte) string {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return JPEG
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return PNG
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return WebP
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return PDF
	}
	return ""
}

// Point is a WGS-84 position (degrees), lon first.
type Point struct {
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
}

// Prepared is an upload ready to store: its bytes with the metadata
// stripped, their SHA-256 (hex, the key in Blobs), the GPS position the
// EXIF held (nil when none), and a JPEG thumbnail of at most ThumbSize
// pixels a side.
type Prepared struct {
	ContentType string
	Data        []byte
	SHA256      string
	GPS         *Point
	Thumb       []byte
}

// Prepare checks an upload and makes it ready to store: its type from
// its magic bytes (ErrUnsupported otherwise, 415), its size (ErrTooLarge
// past MaxSize, 413), EXIF, XMP and text metadata stripped (a JPEG whose
// EXIF turned it is turned for good, so it still shows upright), and a
// thumbnail (an image that cannot be decoded is ErrUnreadable, 422).
func Prepare(data []byte) (*Prepared, error) {
	if len(data) > MaxSize {
		return nil, fault.Errorf(ErrTooLarge, "the file is %.1f MiB; an attachment is at most 10 MiB", float64(len(data))/(1<<20))
	}
	if len(data) == 0 {
		return nil, fault.FieldErrorf(ErrUnreadable, "file", "the file is empty")
	}
	ct := Sniff(data)
	if ct == "" {
		return nil, fault.Errorf(ErrUnsupported, "the file is not a JPEG, PNG, WebP or PDF (its content was read, not its name)")
	}
	p := &Prepared{ContentType: ct}
	var err error
	p.Data, p.GPS, err = strip(ct, data)
	if err != nil {
		return nil, err
	}
	if p.Thumb, err = thumbnail(ct, p.Data); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(p.Data)
	p.SHA256 = hex.EncodeToString(sum[:])
	return p, nil
}

// ThumbKey is the Blobs key of the thumbnail of the object sha.
func ThumbKey(sha string) string { return sha + ".thumb.jpg" }

// Save puts p's bytes and its thumbnail into b under p.SHA256 and
// ThumbKey(p.SHA256). The same content again finds them there.
func Save(ctx context.Context, b Blobs, p *Prepared) error {
	if err := b.Put(ctx, p.SHA256, p.Data); err != nil {
		return err
	}
	return b.Put(ctx, ThumbKey(p.SHA256), p.Thumb)
}
