package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// drawChart writes a PNG with two panels, one line per input kind: the
// overall relative Frobenius error against the rank, and against the
// compression ratio versus dense float32 (with the 10×, 20× and 30× marks).
func drawChart(path string, rows []row, kinds []string, ranks []int) error {
	type series struct {
		kind        string
		byRank, byX plotter.XYs
	}
	var all []series
	lo, hi := math.Inf(1), 0.0
	for _, kind := range kinds {
		s := series{kind: kind}
		for _, k := range ranks {
			sm, ok := summarize(rows, kind, k)
			if !ok {
				continue
			}
			e := math.Max(sm.overall, 1e-6) // log axis
			s.byRank = append(s.byRank, plotter.XY{X: float64(k), Y: e})
			s.byX = append(s.byX, plotter.XY{X: sm.ratioF32, Y: e})
			lo, hi = math.Min(lo, e), math.Max(hi, e)
		}
		if len(s.byRank) > 0 {
			all = append(all, s)
		}
	}
	if len(all) == 0 {
		return fmt.Errorf("nothing to plot")
	}
	// One decade of room below the lowest point for the legend.
	ymin := math.Pow(10, math.Floor(math.Log10(lo))-1)
	ymax := math.Pow(10, math.Ceil(math.Log10(hi*1.01)))

	left := plot.New()
	// No Y label: gonum/plot places it at the linear middle of the range,
	// which on a log axis is near the top, and reserves room above for it.
	left.Title.Text = "relative Frobenius error (all tensors) by rank, EncodeLowRank (16-bit factors)"
	left.X.Label.Text = "rank k"
	right := plot.New()
	right.Title.Text = "the same error by compression ratio vs dense float32"
	right.X.Label.Text = "compression ratio vs float32 (× smaller); dashed: 10×, 20×, 30×"
	for _, p := range []*plot.Plot{left, right} {
		p.X.Scale = plot.LogScale{}
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Min, p.Y.Max = ymin, ymax
		p.Add(plotter.NewGrid())
	}
	var rankTicks []plot.Tick
	for _, k := range ranks {
		rankTicks = append(rankTicks, plot.Tick{Value: float64(k), Label: strconv.Itoa(k)})
	}
	left.X.Tick.Marker = plot.ConstantTicks(rankTicks)
	left.X.Min, left.X.Max = float64(ranks[0])/1.2, float64(ranks[len(ranks)-1])*1.2
	var ratioTicks []plot.Tick
	for _, v := range []float64{2, 3, 5, 10, 20, 30, 50, 100, 200} {
		ratioTicks = append(ratioTicks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64) + "×"})
	}
	right.X.Tick.Marker = plot.ConstantTicks(ratioTicks)
	// Points beyond the axis range would still claim room for their glyphs.
	xmax := 0.0
	for _, s := range all {
		for _, p := range s.byX {
			xmax = math.Max(xmax, p.X)
		}
	}
	right.X.Min, right.X.Max = 2, math.Max(200, xmax*1.1)
	for _, mark := range []float64{10, 20, 30} {
		l, err := plotter.NewLine(plotter.XYs{{X: mark, Y: ymin}, {X: mark, Y: ymax}})
		if err != nil {
			return err
		}
		l.Color = color.Gray{Y: 110}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		right.Add(l)
	}
	for i, s := range all {
		for j, p := range []*plot.Plot{left, right} {
			xy := s.byRank
			if j == 1 {
				xy = s.byX
			}
			l, pts, err := plotter.NewLinePoints(xy)
			if err != nil {
				return err
			}
			l.Color = plotutil.Color(i)
			l.Width = vg.Points(1.5)
			l.Dashes = plotutil.Dashes(i)
			pts.Color = plotutil.Color(i)
			pts.Shape = plotutil.Shape(i)
			p.Add(l, pts)
			if j == 0 {
				p.Legend.Add(s.kind, l, pts)
			}
		}
	}
	left.Legend.Top = false
	left.Legend.Left = true
	left.Legend.XOffs = vg.Points(8)
	left.Legend.YOffs = vg.Points(8)
	left.Legend.TextStyle.Font.Size = vg.Points(9)

	img := vgimg.New(13*vg.Inch, 5.5*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(10), PadX: vg.Points(24)}
	canvases := plot.Align([][]*plot.Plot{{left, right}}, tiles, dc)
	left.Draw(canvases[0][0])
	right.Draw(canvases[0][1])

	tmp, err := os.CreateTemp(filepath.Dir(path), ".lowrank-*.png")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
