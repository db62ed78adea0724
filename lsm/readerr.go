package lsm

import (
	"errors"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// readError is a failed read of the store (an I/O error, a damaged
// file), as the one line every vsdb error is: Pebble's own messages may
// repeat themselves over several lines.
type readError struct {
	err    error
	nested bool // inside another vsdb message: no "vsdb: " of its own
}

func (e *readError) Error() string {
	msg := strings.TrimPrefix(e.err.Error(), "vsdb: ")
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if e.nested {
		return "read: " + msg
	}
	return "vsdb: read: " + msg
}

func (e *readError) Unwrap() error { return e.err }

// readErr wraps a storage error as a readError (nil stays nil).
func readErr(err error) error {
	var re *readError
	if err == nil || errors.As(err, &re) {
		return err
	}
	return &readError{err: err}
}

// closeIter closes it and returns the first of its error and the close's.
func closeIter(it *pebble.Iterator) error {
	err := it.Error()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return readErr(err)
}
