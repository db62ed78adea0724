package chart

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// LayerCodec is what one layer stores with one codec.
type LayerCodec struct {
	Layer, Codec string
	StoredBytes  int64
	// MaxRelError is the largest relative error of the layer's tensors
	// stored with the codec (0 when lossless; +Inf or NaN are drawn capped,
	// as in LayerStats).
	MaxRelError float64
}

// barWidth is the width of one bar of a grouped bar chart.
const barWidth = 10

// LayerCodecs writes a PNG with two panels, per layer: the stored size
// and the largest relative error, side by side per codec, coloured by
// codec (a legend names them; a codec a layer does not use leaves its
// place empty). Layers and codecs are drawn in the order they first appear
// in parts; parts of the same layer and codec are summed.
func LayerCodecs(title string, parts []LayerCodec, path string) error {
	if len(parts) == 0 {
		return ErrNothing
	}
	layers, codecs := firstSeen(parts, func(p LayerCodec) string { return p.Layer }), firstSeen(parts, func(p LayerCodec) string { return p.Codec })
	sizes, errs := series(len(codecs), len(layers)), series(len(codecs), len(layers))
	for _, p := range parts {
		c, l := codecs[p.Codec], layers[p.Layer]
		sizes[c][l] += float64(p.StoredBytes) / (1 << 20)
		errs[c][l] = max(errs[c][l], p.MaxRelError)
	}
	names, codecNames := keys(layers), keys(codecs)
	capInfinite(names, errs...)
	top, err := groupedBars(title+": stored size per layer and codec", "stored size (MiB)", names, codecNames, sizes)
	if err != nil {
		return err
	}
	bottom, err := groupedBars("largest relative error of a tensor", "relative error", names, nil, errs)
	if err != nil {
		return err
	}
	width := vg.Length(math.Max(6, 1.5+0.2*float64(len(layers)*len(codecs)))) * vg.Inch
	return savePanels(width, path, top, bottom)
}

// firstSeen numbers the distinct keys of parts in the order they appear.
func firstSeen(parts []LayerCodec, key func(LayerCodec) string) map[string]int {
	index := map[string]int{}
	for _, p := range parts {
		if _, ok := index[key(p)]; !ok {
			index[key(p)] = len(index)
		}
	}
	return index
}

// keys lists the keys of a numbering in the order of their numbers.
func keys(index map[string]int) []string {
	out := make([]string, len(index))
	for k, i := range index {
		out[i] = k
	}
	return out
}

// series makes n series of m zeros each.
func series(n, m int) []plotter.Values {
	out := make([]plotter.Values, n)
	for i := range out {
		out[i] = make(plotter.Values, m)
	}
	return out
}

// groupedBars draws one bar chart per series side by side at each name,
// coloured in turn; labels, when given, name the series in a legend.
func groupedBars(title, ylabel string, names, labels []string, vs []plotter.Values) (*plot.Plot, error) {
	p := nominalPlot(title, ylabel, names)
	p.Legend.Top = true
	for i, v := range vs {
		b, err := plotter.NewBarChart(v, vg.Points(barWidth))
		if err != nil {
			return nil, fmt.Errorf("vsdb: chart: %v", err)
		}
		b.Color = plotutil.Color(i)
		b.LineStyle.Width = 0
		b.Offset = vg.Points(barWidth * (float64(i) - float64(len(vs)-1)/2))
		p.Add(b)
		if labels != nil {
			p.Legend.Add(labels[i], b)
		}
	}
	if labels != nil {
		p.Y.Max *= 1.05 + 0.09*float64(len(labels)) // room for the legend above the bars
	}
	return p, nil
}
