package objstore

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned (wrapped) for an object that does not exist.
var ErrNotFound = errors.New("no such object")

// Info describes one object.
type Info struct {
	Key      string // relative to the bucket's prefix
	Size     int64
	Modified time.Time
}

// Bucket is a bucket and a key prefix. Keys are relative to the prefix and
// use '/' as separator. Implementations are safe for concurrent use.
type Bucket interface {
	// Put writes the whole object key (replacing any).
	Put(ctx context.Context, key string, data []byte) error
	// Get reads the whole object; ErrNotFound if absent.
	Get(ctx context.Context, key string) ([]byte, error)
	// GetRange reads n bytes from offset off.
	GetRange(ctx context.Context, key string, off, n int64) ([]byte, error)
	// Stat describes an object; ErrNotFound if absent.
	Stat(ctx context.Context, key string) (Info, error)
	// List calls fn for every object whose key starts with prefix.
	List(ctx context.Context, prefix string, fn func(Info) error) error
	// Delete removes an object; deleting an absent object is no error.
	Delete(ctx context.Context, key string) error
	// String names the bucket and prefix, e.g. s3://models/zoo.
	String() string
}

// permanent marks an error that retrying cannot cure (access denied, no
// such bucket, a bad request).
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so that Retry gives up at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was marked permanent (or is ErrNotFound,
// which retrying cannot cure either).
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p) || errors.Is(err, ErrNotFound) || errors.Is(err, context.Canceled)
}
