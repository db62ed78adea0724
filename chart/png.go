package chart

import (
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot/vg/vgimg"
)

// savePNG writes the image through a temporary file renamed into place.
func savePNG(img *vgimg.Canvas, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".chart-*.png")
	if err != nil {
		return fmt.Errorf("vsdb: %s: %v", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("vsdb: %s: %v", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("vsdb: %s: %v", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("vsdb: %s: %v", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("vsdb: %s: %v", path, err)
	}
	return nil
}
