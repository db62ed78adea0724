package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// With a Logger, each statement is one structured record (and failures
// carry the error); without one, nothing is logged.
func TestStatementLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db, err := Open(t.TempDir(), Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	db.Query(ctx, "SHOW MODELS")
	db.Query(ctx, "SHOW MODLES")
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not a JSON record: %q", line)
		}
		recs = append(recs, r)
	}
	if len(recs) != 3 || recs[0]["msg"] != "store opened" {
		t.Fatalf("records: %v", recs)
	}
	if r := recs[1]; r["msg"] != "statement" || r["statement"] != "SHOW MODELS" || r["rows"] != 0.0 || r["took"] == nil {
		t.Errorf("statement record: %v", r)
	}
	if r := recs[2]; r["msg"] != "statement failed" || !strings.Contains(r["error"].(string), "MODLES") {
		t.Errorf("failure record: %v", r)
	}
}

func TestSlogWriterSplitsLines(t *testing.T) {
	var buf bytes.Buffer
	w := &slogWriter{log: slog.New(slog.NewTextHandler(&buf, nil))}
	w.Write([]byte("first line\nsecond "))
	w.Write([]byte("line\npartial"))
	out := buf.String()
	if strings.Count(out, "level=WARN") != 2 || !strings.Contains(out, `message="first line"`) || !strings.Contains(out, `message="second line"`) || strings.Contains(out, "partial") {
		t.Errorf("logged %q", out)
	}
}
