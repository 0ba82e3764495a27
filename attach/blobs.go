package attach

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"whistlegrid/fault"
)

// Blobs stores immutable objects by key: a SHA-256 in hex, optionally
// with a suffix (ThumbKey). Disk is the default; an S3-compatible store
// implements the same four methods (Put as PutObject, Open as GetObject,
// Stat as HeadObject, Delete as DeleteObject).
type Blobs interface {
	// Put stores data under key; a key already stored is left as it is
	// (the content is the same: the key is its hash).
	Put(ctx context.Context, key string, data []byte) error
	// Open reads the object; ErrNotExist when there is none.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat says whether the object exists and its size in bytes;
	// ErrNotExist when there is none.
	Stat(ctx context.Context, key string) (int64, error)
	// Delete removes the object; none is not an error.
	Delete(ctx context.Context, key string) error
}

// validKey is a key Blobs accept: 64 hex digits and an optional suffix of
// letters, digits and dots, so that no key names a path outside the
// store.
var validKey = regexp.MustCompile(`^[0-9a-f]{64}(\.[a-z0-9]+)*$`)

// Disk is a Blobs in a folder: key k at Dir/k[0:2]/k[2:4]/k, written to a
// temporary file, synced and renamed, so an object is there whole or not
// at all.
type Disk struct{ Dir string }

// NewDisk returns the Disk store in dir, creating the folder.
func NewDisk(dir string) (*Disk, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("attach: %w", err)
	}
	return &Disk{Dir: dir}, nil
}

func (d *Disk) path(key string) (string, error) {
	if !validKey.MatchString(key) {
		return "", fmt.Errorf("attach: bad key %q", key)
	}
	return filepath.Join(d.Dir, key[0:2], key[2:4], key), nil
}

// Put implements Blobs.
func (d *Disk) Put(_ context.Context, key string, data []byte) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("attach: %w", err)
	}
	return nil
}

// Open implements Blobs.
func (d *Disk) Open(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fault.Errorf(ErrNotExist, "no stored object %s", key)
	}
	if err != nil {
		return nil, fmt.Errorf("attach: %w", err)
	}
	return f, nil
}

// Stat implements Blobs.
func (d *Disk) Stat(_ context.Context, key string) (int64, error) {
	p, err := d.path(key)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fault.Errorf(ErrNotExist, "no stored object %s", key)
	}
	if err != nil {
		return 0, fmt.Errorf("attach: %w", err)
	}
	return fi.Size(), nil
}

// Delete implements Blobs.
func (d *Disk) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("attach: %w", err)
	}
	return nil
}
