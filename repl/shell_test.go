package repl

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/tensor"
)

// withModel ingests a two-layer model as "minilm".
func withModel(t *testing.T, sh *Shell) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.safetensors")
	names := []string{"encoder.layer.0.attention.self.query.weight", "encoder.layer.0.output.dense.bias", "encoder.layer.1.output.dense.bias"}
	entries := make([]format.Entry, len(names))
	for i, n := range names {
		entries[i] = format.Entry{Name: n, DType: tensor.F32, Shape: tensor.Shape{2}, Size: 8}
	}
	err := safetensors.WriteFile(path, entries, nil, func(int) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(strings.Repeat("\x00\x00\x80\x3f", 2))), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sh.DB.Query(context.Background(), "INGEST '"+path+"' AS minilm"); err != nil {
		t.Fatal(err)
	}
}

func complete(sh *Shell, line string) []string {
	cands, n := completer{db: sh.DB}.Do([]rune(line), len([]rune(line)))
	var out []string
	for _, c := range cands {
		out = append(out, line[len(line)-n:]+string(c))
	}
	return out
}

func TestCompletion(t *testing.T) {
	sh, _, _ := newShell(t)
	withModel(t, sh)
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"FU", []string{"FUSE"}},
		{"show mo", []string{"model", "models"}},
		{"SHOW TENSORS FROM min", []string{"minilm"}},
		{"FUSE minilm:encoder.layer.1", []string{"minilm:encoder.layer.1.output.dense.bias"}},
		{"FUSE minilm:encoder.layer.0.", []string{"minilm:encoder.layer.0.attention.self.query.weight", "minilm:encoder.layer.0.output.dense.bias"}},
		{"FUSE a, minilm:encoder.l", []string{"minilm:encoder.layer.0", "minilm:encoder.layer.0.attention.self.query.weight", "minilm:encoder.layer.0.output.dense.bias", "minilm:encoder.layer.1", "minilm:encoder.layer.1.output.dense.bias"}},
		{".ti", []string{".timing"}},
		{"FUSE .ti", nil},
		{"nosuch:x", nil},
	} {
		if got := complete(sh, tc.line); !slices.Equal(got, tc.want) {
			t.Errorf("complete(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestModesTimingAndOutput(t *testing.T) {
	sh, out, errs := newShell(t)
	withModel(t, sh)
	sh.meta(".mode json")
	sh.Exec("SHOW MODELS;")
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 1 || rows[0]["model"] != "minilm" {
		t.Fatalf(".mode json printed %q (%v)", out.String(), err)
	}
	out.Reset()
	sh.meta(".mode csv")
	sh.Exec("SHOW TENSORS FROM minilm;")
	recs, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil || len(recs) != 4 || recs[0][0] != "model" || recs[1][0] != "minilm" {
		t.Fatalf(".mode csv printed %q (%v)", out.String(), err)
	}
	out.Reset()
	sh.meta(".timing on")
	sh.Exec("SHOW MODELS;")
	if !strings.Contains(errs.String(), "time: ") {
		t.Errorf(".timing on printed no time: %q", errs.String())
	}
	errs.Reset()
	sh.meta(".timing off")
	sh.Exec("SHOW MODELS;")
	if errs.Len() != 0 {
		t.Errorf(".timing off still prints: %q", errs.String())
	}
	file := filepath.Join(t.TempDir(), "out.csv")
	out.Reset()
	sh.meta(".output " + file)
	sh.Exec("SHOW MODELS;")
	sh.meta(".output")
	sh.Exec("SHOW MODELS;")
	b, _ := os.ReadFile(file)
	if !strings.HasPrefix(string(b), "model,") || !strings.HasPrefix(out.String(), "model,") {
		t.Errorf(".output file got %q, terminal got %q", b, out.String())
	}
	for _, bad := range []string{".mode xml", ".timing maybe", ".output a b", ".read", ".output /nonexistent/dir/x"} {
		errs.Reset()
		sh.meta(bad)
		if !strings.HasPrefix(errs.String(), "vsdb: ") || strings.Count(errs.String(), "\n") != 1 {
			t.Errorf("%s: %q", bad, errs.String())
		}
	}
}

func TestReadAndHelp(t *testing.T) {
	sh, out, errs := newShell(t)
	withModel(t, sh)
	dir := t.TempDir()
	script := filepath.Join(dir, "s.vsdb")
	os.WriteFile(script, []byte(".mode csv\nSHOW\n  MODELS; SHOW MODELS;\n.read "+script+"\n\nDESCRIBE nope;\n"), 0o644)
	sh.meta(".read " + script)
	if strings.Count(out.String(), "minilm") != 2 || !strings.Contains(errs.String(), "being read already") {
		t.Errorf(".read of a self-reading file: out %q err %q", out.String(), errs.String())
	}
	if want := "vsdb: " + script + ":6:10: no model \"nope\""; !strings.Contains(errs.String(), want) {
		t.Errorf(".read error position: %q, want %q", errs.String(), want)
	}
	bin := filepath.Join(dir, "model.bin")
	os.WriteFile(bin, []byte("SHOW MODELS;\n\x1b[2J\x00\x01binary;\nSHOW MODELS;\n"), 0o644)
	out.Reset()
	errs.Reset()
	sh.meta(".read " + bin)
	if want := "vsdb: " + bin + ":2: not text"; !strings.HasPrefix(errs.String(), want) || strings.Count(errs.String(), "\n") != 1 || strings.Count(out.String(), "minilm") != 1 {
		t.Errorf(".read of a binary file: out %q err %q", out.String(), errs.String())
	}
	out.Reset()
	errs.Reset()
	sh.meta(".help show tensors")
	if !strings.Contains(out.String(), "SHOW TENSORS [FROM model] [WHERE expr]") || !strings.Contains(out.String(), "example: SHOW TENSORS") || strings.Contains(out.String(), "](#") {
		t.Errorf(".help show tensors: %q", out.String())
	}
	out.Reset()
	sh.meta(".help")
	for _, want := range []string{"COMPRESS model", ".timing on|off", ".read FILE"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf(".help lacks %q", want)
		}
	}
	sh.meta(".help frobnicate")
	if !strings.Contains(errs.String(), "vsdb: no statement frobnicate") {
		t.Errorf(".help frobnicate: %q", errs.String())
	}
}
