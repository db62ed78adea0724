package chart

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot/vg/vgimg"
)

// Writable reports, as a one-line error naming path, why a picture could
// not be written there: its folder is missing or read-only, or path is a
// folder. It leaves nothing behind; callers check it before long work.
func Writable(path string) error {
	tmp, err := createTemp(path)
	if err != nil {
		return err
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}

// createTemp creates the temporary file a picture for path is written to,
// in path's folder so that renaming it into place is atomic.
func createTemp(path string) (*os.File, error) {
	if path == "" {
		return nil, fmt.Errorf("vsdb: no output file given (-o FILE.png)")
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("vsdb: cannot write %s: it is a folder", path)
	}
	if ext := filepath.Ext(path); !strings.EqualFold(ext, ".png") {
		return nil, fmt.Errorf("vsdb: %s: pictures are written as PNG; name the file .png", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".chart-*.png")
	if err != nil {
		return nil, cannotWrite(path, err)
	}
	return tmp, nil
}

// cannotWrite is the error for a picture that could not be written; it
// names path, not the temporary file.
func cannotWrite(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("vsdb: cannot write %s: %v", path, err)
}

// savePNG writes the image through a temporary file renamed into place,
// so that path holds the whole picture or is left as it was.
func savePNG(img *vgimg.Canvas, path string) error {
	tmp, err := createTemp(path)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(tmp); err != nil {
		tmp.Close()
		return cannotWrite(path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return cannotWrite(path, err)
	}
	if err := tmp.Close(); err != nil {
		return cannotWrite(path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return cannotWrite(path, err)
	}
	return nil
}
