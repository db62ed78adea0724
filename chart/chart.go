// Package chart draws vsdb's pictures with gonum/plot. It takes plain data
// (per-layer figures) and imports no other vsdb package.
package chart

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Layer is one layer's storage figures.
type Layer struct {
	Name        string
	RawBytes    int64
	StoredBytes int64
	// MaxRelError is the largest relative error of a tensor of the layer
	// (0 when stored losslessly).
	MaxRelError float64
}

// LayerStats writes a PNG with two panels, per layer: the compression
// ratio (raw / stored bytes) and the largest relative error.
func LayerStats(title string, layers []Layer, path string) error {
	if len(layers) == 0 {
		return fmt.Errorf("vsdb: nothing to plot")
	}
	names := make([]string, len(layers))
	ratios := make(plotter.Values, len(layers))
	errs := make(plotter.Values, len(layers))
	for i, l := range layers {
		names[i] = l.Name
		if l.StoredBytes > 0 {
			ratios[i] = float64(l.RawBytes) / float64(l.StoredBytes)
		}
		errs[i] = l.MaxRelError
	}
	capInfinite(names, errs)
	top, err := bars(title+": compression ratio (raw / stored)", "ratio", names, ratios)
	if err != nil {
		return err
	}
	bottom, err := bars("largest relative error of a tensor", "relative error", names, errs)
	if err != nil {
		return err
	}
	width := vg.Length(math.Max(6, 0.35*float64(len(layers)))) * vg.Inch
	img := vgimg.New(width, 7*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadX: vg.Points(6), PadY: vg.Points(12)}
	canvases := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	return savePNG(img, path)
}

func bars(title, ylabel string, names []string, v plotter.Values) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	b, err := plotter.NewBarChart(v, vg.Points(12))
	if err != nil {
		return nil, fmt.Errorf("vsdb: chart: %v", err)
	}
	p.Add(b)
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = math.Pi / 3
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	return p, nil
}

// capInfinite draws an infinite error (a lossy delta that cannot give back
// a zeroed tensor) or a NaN one (a tensor holding NaN) as a bar a tenth
// taller than the largest finite one (1 if none) and marks its layer's
// name with the value, since such a bar cannot be drawn.
func capInfinite(names []string, errs plotter.Values) {
	top := 0.0
	for _, e := range errs {
		if !math.IsInf(e, 0) && !math.IsNaN(e) {
			top = max(top, e)
		}
	}
	if top == 0 {
		top = 1 / 1.1
	}
	for i, e := range errs {
		if math.IsInf(e, 0) || math.IsNaN(e) {
			errs[i], names[i] = 1.1*top, fmt.Sprintf("%s (error %g)", names[i], e)
		}
	}
}
