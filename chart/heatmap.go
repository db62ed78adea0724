package chart

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Grid is a heat map's data: Z[r][c] is the value of row Rows[r] in
// column Cols[c]. Values are non-negative magnitudes; NaN marks a missing
// cell (left blank), and an infinite or negative value is drawn in a
// colour of its own as "not finite".
type Grid struct {
	Rows, Cols []string
	Z          [][]float64
}

// The colours of the heat map: viridis-like control colours of rising
// luminance for the scale, and the cells off the scale.
var (
	scaleColors    = []color.Color{color.RGBA{68, 1, 84, 255}, color.RGBA{49, 104, 142, 255}, color.RGBA{53, 183, 121, 255}, color.RGBA{253, 231, 37, 255}}
	zeroColor      = color.RGBA{200, 200, 200, 255}
	notFiniteColor = color.RGBA{230, 0, 120, 255}
)

// cellSize is the side of one cell of a heat map.
const cellSize = 0.42 * vg.Inch

// stripWidth is the width of the strip right of the heat map holding the
// colour bar and the legend.
const stripWidth = 1.7 * vg.Inch

// margin is left free at the left edge: gonum measures text a little
// narrower than it draws it.
const margin = 0.1 * vg.Inch

// HeatMap writes a PNG of g: one coloured cell per value on a log scale,
// the first row at the top, with a colour bar titled scale and a legend
// for the cells that are 0, not finite or missing.
func HeatMap(title, scale string, g Grid, path string) error {
	if err := g.check(); err != nil {
		return err
	}
	lo, hi := logRange(g.Z)
	cm, err := moreland.NewLuminance(scaleColors)
	if err != nil {
		return fmt.Errorf("vsdb: chart: %v", err)
	}
	cm.SetMin(lo)
	cm.SetMax(hi)
	p := heatPlot(title, g, cm.Palette(256), lo, hi)
	img := vgimg.New(heatSize(p, title, g))
	dc := draw.New(img)
	left := draw.Crop(dc, margin, -stripWidth, 0, 0)
	p.Draw(left)
	data := p.DataCanvas(left)
	colorBar(cm, scale).Draw(area(dc, left.Max.X+0.25*vg.Inch, data.Min.Y, left.Max.X+1.3*vg.Inch, data.Max.Y))
	l := offScaleLegend(g.Z)
	l.Draw(area(dc, left.Max.X+0.1*vg.Inch, dc.Min.Y, dc.Max.X-0.1*vg.Inch, data.Min.Y-0.3*vg.Inch))
	return savePNG(img, path)
}

// check refuses an empty grid or one whose Z does not match its names.
func (g Grid) check() error {
	if len(g.Rows) == 0 || len(g.Cols) == 0 {
		return ErrNothing
	}
	if len(g.Z) != len(g.Rows) {
		return fmt.Errorf("vsdb: chart: %d rows of values for %d row names", len(g.Z), len(g.Rows))
	}
	for i, row := range g.Z {
		if len(row) != len(g.Cols) {
			return fmt.Errorf("vsdb: chart: row %q has %d values for %d columns", g.Rows[i], len(row), len(g.Cols))
		}
	}
	return nil
}

// heatPlot is the heat map itself with its row and column names.
func heatPlot(title string, g Grid, pal palette.Palette, lo, hi float64) *plot.Plot {
	h := plotter.NewHeatMap(logGrid(g.Z), pal)
	h.Min, h.Max = lo, hi
	h.Underflow, h.Overflow = zeroColor, notFiniteColor
	p := plot.New()
	p.Title.Text = title
	p.Title.Padding = 0.1 * vg.Inch
	p.Add(h)
	p.NominalX(g.Cols...)
	slant(&p.X)
	rows := slices.Clone(g.Rows)
	slices.Reverse(rows)
	p.NominalY(rows...)
	p.Y.Padding = 0 // NominalX pads for an upright first column name
	return p
}

// heatSize is the canvas size that gives every cell cellSize and room for
// the names, the title and the strip.
func heatSize(p *plot.Plot, title string, g Grid) (vg.Length, vg.Length) {
	widest := func(names []string) vg.Length {
		w := vg.Length(0)
		for _, n := range names {
			w = max(w, p.X.Tick.Label.Width(n))
		}
		return w
	}
	w := margin + widest(g.Rows) + 0.4*vg.Inch + cellSize*vg.Length(len(g.Cols))
	w = max(w, p.Title.TextStyle.Width(title)+0.4*vg.Inch, 3*vg.Inch)
	h := 0.6*vg.Inch + cellSize*vg.Length(len(g.Rows)) + max(widest(g.Cols)*vg.Length(math.Sin(math.Pi/3))+0.3*vg.Inch, 1.2*vg.Inch)
	return w + stripWidth, max(h, 2.5*vg.Inch)
}

// area is the part of c between two corners.
func area(c draw.Canvas, x0, y0, x1, y1 vg.Length) draw.Canvas {
	c.Rectangle = vg.Rectangle{Min: vg.Point{X: x0, Y: y0}, Max: vg.Point{X: x1, Y: y1}}
	return c
}

// colorBar is a vertical colour bar of cm, labelled with values (not their
// logarithms).
func colorBar(cm palette.ColorMap, scale string) *plot.Plot {
	p := plot.New()
	p.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	p.HideX()
	p.X.Padding, p.Y.Padding = 0, 0
	p.Y.Label.Text = scale
	p.Y.Tick.Marker = powerTicks{}
	return p
}

// offScaleLegend names the colours of the cells off the scale that g has.
func offScaleLegend(z [][]float64) plot.Legend {
	l := plot.NewLegend()
	l.Top, l.Left = true, true
	var zero, notFinite, missing bool
	for _, row := range z {
		for _, v := range row {
			zero = zero || v == 0
			notFinite = notFinite || math.IsInf(v, 0) || v < 0
			missing = missing || math.IsNaN(v)
		}
	}
	for _, e := range []struct {
		show  bool
		label string
		c     color.Color
	}{{zero, "0", zeroColor}, {notFinite, "not finite", notFiniteColor}, {missing, "blank: missing", color.White}} {
		if e.show {
			l.Add(e.label, &plotter.Histogram{FillColor: e.c, LineStyle: plotter.DefaultLineStyle})
		}
	}
	return l
}

// logGrid shows values as their base-10 logarithms, the first row at the
// top: 0 becomes -Inf (below the scale), an infinite or negative value
// +Inf (above it), NaN stays NaN (not drawn).
type logGrid [][]float64

// Dims is the number of columns and rows.
func (g logGrid) Dims() (int, int) { return len(g[0]), len(g) }

// Z is the logarithm of the value at column c, row r counted from the
// bottom.
func (g logGrid) Z(c, r int) float64 {
	if v := g[len(g)-1-r][c]; !math.IsInf(v, 0) && !(v < 0) {
		return math.Log10(v) // -Inf for 0, NaN for NaN
	}
	return math.Inf(1)
}

// X is the position of column c.
func (g logGrid) X(c int) float64 { return float64(c) }

// Y is the position of row r counted from the bottom.
func (g logGrid) Y(r int) float64 { return float64(r) }

// logRange is the range of the base-10 logarithms of the positive finite
// values of z, widened to a decade around a single value and 10⁻³ to 1
// when there are none.
func logRange(z [][]float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, row := range z {
		for _, v := range row {
			if v > 0 && !math.IsInf(v, 0) {
				lo, hi = min(lo, math.Log10(v)), max(hi, math.Log10(v))
			}
		}
	}
	switch {
	case lo > hi:
		return -3, 0
	case hi-lo < 1e-9:
		return lo - 0.5, hi + 0.5
	}
	return lo, hi
}

// powerTicks ticks an axis of base-10 logarithms at every 1·10ᵏ … 9·10ᵏ
// and labels the values themselves: at 1, 2 and 5·10ᵏ, or only at 10ᵏ
// when the axis spans more than three decades. An axis too short for two
// such labels gets plot.DefaultTicks' places, labelled with values too.
type powerTicks struct{}

// Ticks returns the ticks between lo and hi.
func (powerTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	labels := 0
	for k := math.Floor(lo); k <= math.Ceil(hi); k++ {
		for m := 1.0; m <= 9; m++ {
			v := k + math.Log10(m)
			if v < lo-1e-9 || v > hi+1e-9 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || (hi-lo <= 3 && (m == 2 || m == 5)) {
				t.Label = power(v)
				labels++
			}
			ticks = append(ticks, t)
		}
	}
	if labels < 2 {
		return labelTicks(power).Ticks(lo, hi)
	}
	return ticks
}

// power labels the logarithm v with 10^v in two significant digits.
func power(v float64) string { return strconv.FormatFloat(math.Pow(10, v), 'g', 2, 64) }

// labelTicks places ticks as plot.DefaultTicks does and labels them with
// the function of their value.
type labelTicks func(float64) string

// Ticks returns the ticks between lo and hi.
func (f labelTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = f(t.Value)
		}
	}
	return ticks
}
