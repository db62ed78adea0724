// Package chart draws vsdb's pictures with gonum/plot. It takes plain data
// (per-layer figures, a grid of values, a tensor's values) and imports no
// other vsdb package. Every picture is a PNG written whole or not at all.
package chart

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// ErrNothing is returned (or wrapped) when there is no picture to draw:
// empty input, or no finite value.
var ErrNothing = errors.New("vsdb: nothing to plot")

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
		return ErrNothing
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
	top, err := groupedBars(title+": compression ratio (raw / stored)", "ratio", names, nil, []plotter.Values{ratios})
	if err != nil {
		return err
	}
	bottom, err := groupedBars("largest relative error of a tensor", "relative error", names, nil, []plotter.Values{errs})
	if err != nil {
		return err
	}
	width := vg.Length(math.Max(6, 0.35*float64(len(layers)))) * vg.Inch
	return savePanels(width, path, top, bottom)
}

// savePanels draws plots one above the other, their axes aligned, on a
// canvas of the given width (3.5 inches of height each), and saves it.
func savePanels(width vg.Length, path string, panels ...*plot.Plot) error {
	img := vgimg.New(width, vg.Length(3.5*float64(len(panels)))*vg.Inch)
	rows := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		rows[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(12), PadX: vg.Points(6), PadY: vg.Points(12)}
	canvases := plot.Align(rows, tiles, draw.New(img))
	for i, p := range panels {
		p.Draw(canvases[i][0])
	}
	return savePNG(img, path)
}

// nominalPlot is a plot with a title, a Y label and one named X position
// per name, the names slanted so that long ones do not overlap.
func nominalPlot(title, ylabel string, names []string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.NominalX(names...)
	slant(&p.X)
	return p
}

// slant turns an axis's tick labels by 60° and hangs them from their tick.
func slant(a *plot.Axis) {
	a.Tick.Label.Rotation = math.Pi / 3
	a.Tick.Label.XAlign = draw.XRight
	a.Tick.Label.YAlign = draw.YCenter
}

// capInfinite draws an infinite error (a lossy delta that cannot give back
// a zeroed tensor) or a NaN one (a tensor holding NaN) as a bar a tenth
// taller than the largest finite one of every series (1 if none) and marks
// its layer's name with the value, since such a bar cannot be drawn.
func capInfinite(names []string, series ...plotter.Values) {
	top := 0.0
	for _, errs := range series {
		for _, e := range errs {
			if finite(e) {
				top = max(top, e)
			}
		}
	}
	if top == 0 {
		top = 1 / 1.1
	}
	for _, errs := range series {
		for i, e := range errs {
			if !finite(e) {
				errs[i], names[i] = 1.1*top, fmt.Sprintf("%s (error %g)", names[i], e)
			}
		}
	}
}

// finite reports whether v is neither infinite nor NaN.
func finite(v float64) bool { return !math.IsInf(v, 0) && !math.IsNaN(v) }
