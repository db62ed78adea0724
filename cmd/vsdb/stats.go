package main

import (
	"context"
	"fmt"
	"os"

	"github.com/vsdb/vsdb/chart"
	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/query"
	"github.com/vsdb/vsdb/repl"
)

// runStats prints STATS and, with --plot, draws the model's layers.
func runStats(ctx context.Context, db *engine.DB, s statsCmd) error {
	stmt := "STATS"
	if s.Model != "" {
		stmt += " " + query.QuoteModel(s.Model)
	}
	res, err := db.Query(ctx, stmt)
	if err != nil {
		return err
	}
	if s.JSON {
		err = repl.WriteJSON(os.Stdout, res)
	} else {
		err = repl.WriteTable(os.Stdout, res)
	}
	if err != nil || s.Plot == "" {
		return err
	}
	if s.Model == "" {
		return fmt.Errorf("vsdb: --plot draws one model's layers: name the model")
	}
	layers, err := layerStats(db, s.Model)
	if err != nil {
		return err
	}
	return chart.LayerStats(s.Model, layers, s.Plot)
}

// layerStats sums a model's tensors per layer, in the model's order.
func layerStats(db *engine.DB, model string) ([]chart.Layer, error) {
	ts, err := db.Tensors(model)
	if err != nil {
		return nil, err
	}
	var out []chart.Layer
	index := map[string]int{}
	for _, t := range ts {
		name := t.Layer
		if name == "" {
			name = "(none)"
		}
		i, ok := index[name]
		if !ok {
			i = len(out)
			index[name] = i
			out = append(out, chart.Layer{Name: name})
		}
		out[i].RawBytes += t.RawBytes
		out[i].StoredBytes += t.StoredBytes
		out[i].MaxRelError = max(out[i].MaxRelError, t.RelError)
	}
	return out, nil
}
