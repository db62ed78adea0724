package chart

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// summary holds the figures of a tensor's finite values.
type summary struct {
	n, nonFinite   int
	lo, hi         float64
	mean, variance float64
}

// Histogram writes a PNG of the distribution of values in the given number
// of equal bins between the smallest and the largest finite value. NaN and
// infinite values are left out and counted under the axis, next to the
// count, range, mean and standard deviation.
func Histogram(title string, values []float32, bins int, path string) error {
	if bins < 1 {
		return fmt.Errorf("vsdb: chart: %d bins: need at least one", bins)
	}
	if len(values) == 0 {
		return ErrNothing
	}
	s := summarize(values)
	if s.n == 0 {
		return fmt.Errorf("%w: all %d values are NaN or infinite", ErrNothing, s.nonFinite)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = s.String()
	p.Y.Label.Text = "count"
	p.Y.Tick.Marker = labelTicks(func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })
	p.Add(&plotter.Histogram{Bins: binValues(values, s, bins), FillColor: plotutil.Color(2)})
	img := vgimg.New(8*vg.Inch, 5*vg.Inch)
	p.Draw(draw.Crop(draw.New(img), margin, -margin, margin, -margin))
	return savePNG(img, path)
}

// summarize counts the finite values and finds their range, mean and
// variance (in float64).
func summarize(values []float32) summary {
	s := summary{lo: math.Inf(1), hi: math.Inf(-1)}
	var sum, sq float64
	for _, v := range values {
		x := float64(v)
		if !finite(x) {
			s.nonFinite++
			continue
		}
		s.n++
		s.lo, s.hi = min(s.lo, x), max(s.hi, x)
		sum += x
		sq += x * x
	}
	if s.n > 0 {
		s.mean = sum / float64(s.n)
		s.variance = max(0, sq/float64(s.n)-s.mean*s.mean)
	}
	return s
}

// String describes the values under the histogram's axis.
func (s summary) String() string {
	out := fmt.Sprintf("value (%d values from %.4g to %.4g, mean %.4g, std %.4g", s.n, s.lo, s.hi, s.mean, math.Sqrt(s.variance))
	if s.nonFinite > 0 {
		out += fmt.Sprintf("; %d NaN or infinite left out", s.nonFinite)
	}
	return out + ")"
}

// binValues counts the finite values in bins equal bins spanning s's range
// (a unit range around a single value).
func binValues(values []float32, s summary, bins int) []plotter.HistogramBin {
	lo, hi := s.lo, s.hi
	width := (hi - lo) / float64(bins)
	if width == 0 { // one value (or a range too narrow for float64)
		lo, hi = lo-0.5, hi+0.5
		width = (hi - lo) / float64(bins)
	}
	out := make([]plotter.HistogramBin, bins)
	for i := range out {
		out[i].Min, out[i].Max = lo+float64(i)*width, lo+float64(i+1)*width
	}
	for _, v := range values {
		if x := float64(v); finite(x) {
			out[binOf((x-lo)/width, bins)].Weight++
		}
	}
	return out
}

// binOf is the bin of a value f bin widths above the first bin's start,
// the largest value (f = bins) and anything past it in the last bin.
func binOf(f float64, bins int) int {
	if f < float64(bins-1) {
		return int(max(f, 0))
	}
	return bins - 1
}
