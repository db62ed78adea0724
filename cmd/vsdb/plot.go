package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/vsdb/vsdb/chart"
	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/planner"
	"github.com/vsdb/vsdb/query"
)

// plotCmd is `vsdb plot`: pictures of what a store holds (docs/PLOTS.md).
type plotCmd struct {
	Layers plotLayersCmd `cmd:"" help:"Per layer: stored size and largest relative error, one bar per codec. Example: vsdb plot layers minilm_q8 -o layers.png"`
	Diff   plotDiffCmd   `cmd:"" help:"Heat map of the relative change ||A-B||/||B|| of every tensor, layers by parameter kinds. Example: vsdb plot diff minilm_q8 minilm -o diff.png"`
	Hist   plotHistCmd   `cmd:"" help:"Histogram of a float tensor's values. Example: vsdb plot hist minilm encoder.layer.0.attention.self.query.weight -o hist.png --bins 100"`
}

// plotOut is the output flag every picture takes.
type plotOut struct {
	Out string `short:"o" required:"" help:"PNG file to write (through a temporary file in its folder: it appears whole or not at all)." placeholder:"FILE.png"`
}

// plotLayersCmd is `vsdb plot layers MODEL -o FILE.png`.
type plotLayersCmd struct {
	Model string `arg:"" help:"Model to draw."`
	plotOut
}

// plotDiffCmd is `vsdb plot diff A B -o FILE.png`.
type plotDiffCmd struct {
	A string `arg:"" help:"Model A (the changed one)."`
	B string `arg:"" help:"Model B (the reference: the change is relative to B)."`
	plotOut
}

// plotHistCmd is `vsdb plot hist MODEL TENSOR -o FILE.png [--bins N]`.
type plotHistCmd struct {
	Model  string `arg:"" help:"Model holding the tensor."`
	Tensor string `arg:"" help:"Tensor name, e.g. encoder.layer.0.attention.self.query.weight (see SHOW TENSORS)."`
	Bins   int    `default:"100" help:"Number of bins, 1 to 10000 (default: ${default})." placeholder:"N"`
	plotOut
}

// The commands of `vsdb plot` as kong names them, for dispatch.
const (
	plotLayersCommand = "plot layers <model>"
	plotDiffCommand   = "plot diff <a> <b>"
	plotHistCommand   = "plot hist <model> <tensor>"
)

// maxBins bounds --bins: more bins than pixels draw nothing more.
const maxBins = 10000

// runPlot draws the picture command names.
func runPlot(ctx context.Context, db *engine.DB, p *plotCmd, command string) error {
	switch command {
	case plotLayersCommand:
		return plotLayers(db, p.Layers.Model, p.Layers.Out)
	case plotDiffCommand:
		return plotDiff(ctx, db, p.Diff.A, p.Diff.B, p.Diff.Out)
	case plotHistCommand:
		return plotHist(db, p.Hist)
	}
	return fmt.Errorf("vsdb: unknown plot %q", command)
}

// plotLayers draws a model's stored size and largest error per layer and
// codec.
func plotLayers(db *engine.DB, model, out string) error {
	if err := chart.Writable(out); err != nil {
		return err
	}
	ts, err := db.Tensors(model)
	if err != nil {
		return err
	}
	if len(ts) == 0 {
		return fmt.Errorf("vsdb: model %q has no tensors to plot", model)
	}
	parts := make([]chart.LayerCodec, len(ts))
	for i, t := range ts {
		parts[i] = chart.LayerCodec{Layer: layerOf(t), Codec: t.Codec, StoredBytes: t.StoredBytes, MaxRelError: t.RelError}
	}
	slices.SortStableFunc(parts, func(a, b chart.LayerCodec) int { return cmp.Compare(naturalKey(a.Layer), naturalKey(b.Layer)) })
	return chart.LayerCodecs(model, parts, out)
}

// layerOf is the name a tensor's layer is drawn under.
func layerOf(t engine.TensorInfo) string {
	if t.Layer == "" {
		return "(none)"
	}
	return t.Layer
}

// digits matches the numbers inside a name.
var digits = regexp.MustCompile(`[0-9]+`)

// naturalKey sorts names with their numbers by value: encoder.layer.2
// before encoder.layer.10.
func naturalKey(name string) string {
	return digits.ReplaceAllStringFunc(name, func(n string) string { return fmt.Sprintf("%020s", n) })
}

// plotHist draws the histogram of one float tensor's values.
func plotHist(db *engine.DB, h plotHistCmd) error {
	if h.Bins < 1 || h.Bins > maxBins {
		return fmt.Errorf("vsdb: --bins %d: give 1 to %d", h.Bins, maxBins)
	}
	if err := chart.Writable(h.Out); err != nil {
		return err
	}
	t, err := db.Tensor(h.Model, h.Tensor)
	if err != nil {
		return err
	}
	if !t.DType.IsFloat() {
		return fmt.Errorf("vsdb: %s:%s is %s, not a float tensor: hist draws float values only", h.Model, h.Tensor, t.DType)
	}
	values, err := t.Float32s()
	if err != nil {
		return err
	}
	err = chart.Histogram(fmt.Sprintf("%s:%s (%s %s)", h.Model, h.Tensor, t.DType, t.Shape), values, h.Bins, h.Out)
	if errors.Is(err, chart.ErrNothing) {
		return fmt.Errorf("vsdb: %s:%s: %s", h.Model, h.Tensor, strings.TrimPrefix(err.Error(), "vsdb: "))
	}
	return err
}

// plotDiff draws the relative change of every tensor A and B share, by
// layer and parameter kind.
func plotDiff(ctx context.Context, db *engine.DB, a, b, out string) error {
	if err := chart.Writable(out); err != nil {
		return err
	}
	pairs, err := commonTensors(db, a, b)
	if err != nil {
		return err
	}
	g := diffGrid(pairs)
	for _, t := range pairs {
		v, err := relChange(ctx, db, a, b, t.Name)
		if err != nil {
			return err
		}
		g.Z[slices.Index(g.Rows, layerOf(t))][slices.Index(g.Cols, t.Param)] = v
	}
	title := fmt.Sprintf("relative change of %s against %s, per tensor", a, b)
	return chart.HeatMap(title, "||A-B|| / ||B||", g, out)
}

// commonTensors lists A's float tensors that B holds under the same name
// and shape.
func commonTensors(db *engine.DB, a, b string) ([]engine.TensorInfo, error) {
	ta, err := db.Tensors(a)
	if err != nil {
		return nil, err
	}
	tb, err := db.Tensors(b)
	if err != nil {
		return nil, err
	}
	inB := make(map[string]engine.TensorInfo, len(tb))
	for _, t := range tb {
		inB[t.Name] = t
	}
	var out []engine.TensorInfo
	for _, t := range ta {
		if o, ok := inB[t.Name]; ok && t.DType.IsFloat() && o.DType.IsFloat() && t.Shape.Equal(o.Shape) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("vsdb: %s and %s have no float tensors of the same name and shape to compare", a, b)
	}
	return out, nil
}

// diffGrid lays out the tensors: one row per layer (in natural order), one
// column per parameter kind (those most layers have first), every cell
// missing until filled.
func diffGrid(ts []engine.TensorInfo) chart.Grid {
	var g chart.Grid
	count := map[string]int{}
	for _, t := range ts {
		if !slices.Contains(g.Rows, layerOf(t)) {
			g.Rows = append(g.Rows, layerOf(t))
		}
		if count[t.Param]++; count[t.Param] == 1 {
			g.Cols = append(g.Cols, t.Param)
		}
	}
	slices.SortStableFunc(g.Rows, func(x, y string) int { return cmp.Compare(naturalKey(x), naturalKey(y)) })
	slices.SortStableFunc(g.Cols, func(x, y string) int { return count[y] - count[x] })
	g.Z = make([][]float64, len(g.Rows))
	for i := range g.Z {
		g.Z[i] = slices.Repeat([]float64{math.NaN()}, len(g.Cols))
	}
	return g
}

// relChange is ‖a−b‖/‖b‖ of one tensor, from the statement DIFF B, A
// (DIFF divides by the norm of its first input): +Inf when B's tensor is
// zero and A's is not.
func relChange(ctx context.Context, db *engine.DB, a, b, name string) (float64, error) {
	stmt := (&query.Diff{Left: query.Selector{Model: b, Path: name}, Right: query.Selector{Model: a, Path: name}}).String()
	res, err := db.Query(ctx, stmt)
	if errors.Is(err, planner.ErrNonFinite) {
		return math.Inf(1), nil // NaN or ±Inf in a tensor: a "not finite" cell
	}
	if err != nil {
		return 0, err
	}
	col := slices.Index(res.Columns, "rel_l2")
	if len(res.Rows) != 1 || col < 0 {
		return 0, fmt.Errorf("vsdb: %s returned %d rows, columns %v", stmt, len(res.Rows), res.Columns)
	}
	if v, ok := res.Rows[0][col].(float64); ok {
		return v, nil
	}
	return math.Inf(1), nil
}
