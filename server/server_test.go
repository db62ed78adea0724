package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/tensor"
)

// fixture writes a small checkpoint into a root folder, opens a store and
// serves it; the store's consistency is checked at the end.
type fixture struct {
	t    *testing.T
	db   *engine.DB
	root string
	srv  *Server
	http *httptest.Server
	// want holds the checkpoint's raw tensor bytes by name.
	want map[string][]byte
}

func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{t: t, root: root, want: map[string][]byte{}}
	f.writeCheckpoint("ckpt.safetensors", 0)
	db, err := engine.Open(t.TempDir(), engine.Options{ChunkBytes: 256})
	if err != nil {
		t.Fatal(err)
	}
	f.db = db
	if o.Root == "" {
		o.Root, _ = CleanRoot(root)
	} else if o.Root == "-" {
		o.Root = ""
	}
	f.srv = New(db, o)
	f.http = httptest.NewServer(f.srv)
	t.Cleanup(func() {
		f.http.Close()
		problems, err := db.Check("")
		if err != nil || len(problems) > 0 {
			t.Errorf("consistency check: %v %v", err, problems)
		}
		db.Close()
	})
	return f
}

// writeCheckpoint writes layers.N.w (F32 8×4), layers.N.b (BF16 4) and ids
// (I64 3) for N = 0, 1, offset by shift.
func (f *fixture) writeCheckpoint(name string, shift float32) {
	var entries []format.Entry
	var datas [][]byte
	add := func(n string, dt tensor.DType, shape tensor.Shape, vals []float32) {
		raw := make([]byte, len(vals)*dt.Size())
		if err := tensor.FromFloat32(dt, vals, raw); err != nil {
			f.t.Fatal(err)
		}
		entries = append(entries, format.Entry{Name: n, DType: dt, Shape: shape, Size: int64(len(raw))})
		datas = append(datas, raw)
		f.want[n] = raw
	}
	for l := 0; l < 2; l++ {
		w := make([]float32, 32)
		for i := range w {
			w[i] = float32(math.Sin(float64(i+l*32))) + shift
		}
		add(fmt.Sprintf("layers.%d.w", l), tensor.F32, tensor.Shape{8, 4}, w)
		add(fmt.Sprintf("layers.%d.b", l), tensor.BF16, tensor.Shape{4}, []float32{1.5, -2, 0.25, float32(l)})
	}
	add("ids", tensor.I64, tensor.Shape{3}, []float32{7, 8, 9})
	err := safetensors.WriteFile(filepath.Join(f.root, name), entries, nil, func(i int) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(datas[i])), nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// post runs a statement and returns the status, content type and body.
func (f *fixture) post(stmt string, header ...string) (int, string, []byte) {
	f.t.Helper()
	body, _ := json.Marshal(queryRequest{Statement: stmt})
	req, _ := http.NewRequest("POST", f.http.URL+"/v1/query", bytes.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return f.do(req)
}

func (f *fixture) do(req *http.Request) (int, string, []byte) {
	f.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func (f *fixture) mustPost(stmt string) []byte {
	f.t.Helper()
	status, _, b := f.post(stmt)
	if status != http.StatusOK {
		f.t.Fatalf("%s: status %d: %s", stmt, status, b)
	}
	return b
}

// tensors parses a safetensors response.
func tensors(t *testing.T, b []byte) (map[string][]byte, map[string]string, []format.Entry) {
	t.Helper()
	st, err := safetensors.Parse(bytes.NewReader(b), int64(len(b)), "response")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for i, e := range st.Entries() {
		r, _ := st.Open(i)
		out[e.Name], _ = io.ReadAll(r)
		r.Close()
	}
	return out, st.Metadata(), st.Entries()
}

func TestQueryTablesAndTensors(t *testing.T) {
	f := newFixture(t, Options{})
	f.mustPost("INGEST 'ckpt.safetensors' AS m")
	var tab table
	if err := json.Unmarshal(f.mustPost("SHOW MODELS"), &tab); err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 1 || tab.Rows[0][0] != "m" || tab.Columns[0] != "model" {
		t.Fatalf("SHOW MODELS = %+v", tab)
	}
	// GET: the stored bytes, bit for bit, with the table in the metadata.
	status, ctype, b := f.post("GET m:layers.1.b")
	if status != 200 || ctype != ContentTypeTensors {
		t.Fatalf("GET: %d %s %s", status, ctype, b)
	}
	got, meta, entries := tensors(t, b)
	if !bytes.Equal(got["layers.1.b"], f.want["layers.1.b"]) || entries[0].DType != tensor.BF16 {
		t.Errorf("GET returned %v %x, want BF16 %x", entries[0].DType, got["layers.1.b"], f.want["layers.1.b"])
	}
	if meta["vsdb.order"] != `["layers.1.b"]` || !strings.Contains(meta["vsdb.columns"], "dtype") {
		t.Errorf("metadata %v", meta)
	}
	// FUSE: the weighted sum, computed here from the originals.
	_, _, b = f.post("FUSE m:layers.0, m:layers.1 WEIGHTS 0.5, 0.5")
	got, meta, _ = tensors(t, b)
	var order []string
	json.Unmarshal([]byte(meta["vsdb.order"]), &order)
	if len(order) != 2 || order[0] != "layers.0.w" {
		t.Fatalf("FUSE order %v", order)
	}
	a, c := f32(f.want["layers.0.w"]), f32(f.want["layers.1.w"])
	for i, v := range f32(got["layers.0.w"]) {
		if want := 0.5*a[i] + 0.5*c[i]; math.Abs(float64(v-want)) > 1e-6 {
			t.Fatalf("FUSE[%d] = %g, want %g", i, v, want)
		}
	}
	// GET /v1/tensor streams one tensor.
	req, _ := http.NewRequest("GET", f.http.URL+"/v1/tensor?model=m&name=ids", nil)
	status, ctype, b = f.do(req)
	got, _, _ = tensors(t, b)
	if status != 200 || ctype != ContentTypeTensors || !bytes.Equal(got["ids"], f.want["ids"]) {
		t.Errorf("/v1/tensor: %d %s %x", status, ctype, got["ids"])
	}
	// EXPORT under the root, then the exported file holds the same bytes.
	f.mustPost("EXPORT m TO 'm.safetensors'")
	st, err := safetensors.Open(filepath.Join(f.root, "m.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
}

func f32(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	tensor.ToFloat32(tensor.F32, b, v)
	return v
}

// TestErrors: every failure is a JSON error with the right status, and
// statement errors carry their line and column.
func TestErrors(t *testing.T) {
	f := newFixture(t, Options{MaxStatement: 200, MaxResult: 64})
	f.mustPost("INGEST 'ckpt.safetensors' AS m")
	outside := t.TempDir()
	os.Symlink(outside, filepath.Join(f.root, "escape"))
	cases := []struct {
		stmt   string
		status int
		want   string
		line   int
		col    int
	}{
		{"SHOW MODELZ", 400, "unexpected token", 1, 6},
		{"SHOW MODELS\nWHERE", 400, "", 2, 1},
		{"GET nope:x", 400, "no model", 1, 5},
		{"INGEST '/etc/passwd' AS x", 403, "outside the server's root", 0, 0},
		{"INGEST '../x.safetensors' AS x", 403, "outside", 0, 0},
		{"EXPORT m TO 'escape/m.safetensors'", 403, "outside", 0, 0},
		{"EXPLAIN ANALYZE INGEST '/etc/passwd' AS x", 403, "outside", 0, 0},
		{"INGEST 'missing.safetensors' AS x", 400, "missing.safetensors", 0, 0},
		{"INGEST   'ckpt.safetensors'   AS m", 400, "already exists", 1, 34},
		{"INGEST 'ckpt.safetensors' AS m", 400, "already exists", 1, 30},
		{"FUSE m:layers.0, m:layers.1 WEIGHTS 0.5, 0.5", 413, "over the server's limit of 64", 0, 0},
		{"SHOW TENSORS WHERE name = '" + strings.Repeat("x", 300) + "'", 413, "limit of 200", 0, 0},
	}
	for _, c := range cases {
		status, ctype, b := f.post(c.stmt)
		var e errorBody
		if err := json.Unmarshal(b, &e); err != nil || ctype != "application/json" {
			t.Errorf("%q: not a JSON error (%s): %s", c.stmt, ctype, b)
			continue
		}
		if status != c.status || !strings.HasPrefix(e.Error, "vsdb: ") || !strings.Contains(e.Error, c.want) || e.Line != c.line || e.Column != c.col || strings.Contains(e.Error, "\n") {
			t.Errorf("%q: status %d %+v; want %d, %q at %d:%d", c.stmt, status, e, c.status, c.want, c.line, c.col)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "m.safetensors")); err == nil {
		t.Error("EXPORT wrote through a link out of the root")
	}
	// Messages do not reveal where the root is.
	if _, _, b := f.post("INGEST 'missing.safetensors' AS x"); strings.Contains(string(b), f.root) {
		t.Errorf("error shows the root folder: %s", b)
	}
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/v1/tensor?model=m&name=nope", "", 404},
		{"GET", "/v1/tensor?model=nope&name=x", "", 404},
		{"GET", "/v1/tensor?model=m", "", 400},
		{"GET", "/v1/tensor?model=m&name=layers.0.w", "", 413}, // 128 bytes > 64
		{"POST", "/v1/query", "{not json", 400},
		{"POST", "/v1/query", `{"statment": "SHOW MODELS"}`, 400},
		{"POST", "/v1/query", `{}`, 400},
		{"GET", "/v1/query", "", 405},
		{"GET", "/nope", "", 404},
	} {
		req, _ := http.NewRequest(c.method, f.http.URL+c.path, strings.NewReader(c.body))
		status, ctype, b := f.do(req)
		var e errorBody
		if status != c.status || ctype != "application/json" || json.Unmarshal(b, &e) != nil || !strings.HasPrefix(e.Error, "vsdb: ") {
			t.Errorf("%s %s: status %d %s (%s), want %d and a JSON error", c.method, c.path, status, ctype, b, c.status)
		}
	}
}

// TestToken: with a token, every request needs it, /metrics included.
func TestToken(t *testing.T) {
	f := newFixture(t, Options{Token: "s3cret"})
	for _, h := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "s3cret"}} {
		if status, _, b := f.post("SHOW MODELS", h...); status != 401 || !strings.Contains(string(b), "token") {
			t.Errorf("header %v: status %d %s", h, status, b)
		}
	}
	req, _ := http.NewRequest("GET", f.http.URL+"/metrics", nil)
	if status, _, _ := f.do(req); status != 401 {
		t.Errorf("/metrics without the token: %d", status)
	}
	if status, _, b := f.post("SHOW MODELS", "Authorization", "Bearer s3cret"); status != 200 {
		t.Errorf("with the token: %d %s", status, b)
	}
}

// TestNoRoot: without a root, file statements are refused.
func TestNoRoot(t *testing.T) {
	f := newFixture(t, Options{Root: "-"})
	if status, _, b := f.post("INGEST 'ckpt.safetensors' AS m"); status != 403 || !strings.Contains(string(b), "--root") {
		t.Errorf("status %d %s", status, b)
	}
}

// TestTimeoutAndDrain: a statement past the time limit is cancelled with
// 504 and leaves nothing; a draining server answers 503.
func TestTimeoutAndDrain(t *testing.T) {
	f := newFixture(t, Options{Timeout: time.Nanosecond})
	status, _, b := f.post("INGEST 'ckpt.safetensors' AS m")
	if status != 504 {
		t.Errorf("status %d %s", status, b)
	}
	if ms, _ := f.db.Models(); len(ms) != 0 {
		t.Errorf("a cancelled INGEST left %v", ms)
	}
	f.srv.Drain()
	if status, _, _ := f.post("SHOW MODELS"); status != 503 {
		t.Errorf("draining: %d", status)
	}
}

// TestConcurrentReadersAndWriter: 16 clients read while one writer ingests
// and deletes models w0..w2, each time from one of three versions of the
// checkpoint whose values all differ. Every read of a churned model either
// finds no model (404) or returns tensors that are all, bit for bit, of one
// version: a statement sees one snapshot, never a model half-written, half
// deleted or mixed from two ingests. The anchor model m, left alone, always
// reads exactly; listings show every model with all 5 of its tensors.
func TestConcurrentReadersAndWriter(t *testing.T) {
	f := newFixture(t, Options{})
	var versions []map[string][]byte
	for v := range 3 {
		f.writeCheckpoint(fmt.Sprintf("v%d.safetensors", v), float32(10*v))
		versions = append(versions, maps.Clone(f.want))
	}
	f.mustPost("INGEST 'v0.safetensors' AS m")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var reads, churnedFound, writes atomic.Int64
	errs := make(chan error, 64)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			name := fmt.Sprintf("w%d", i%3)
			ingest := fmt.Sprintf("INGEST 'v%d.safetensors' AS %s", (i/3)%3, name)
			for _, stmt := range []string{ingest, "DELETE MODEL " + name} {
				if status, _, b := f.post(stmt); status != 200 {
					errs <- fmt.Errorf("%s: %d %s", stmt, status, b)
					return
				}
				writes.Add(1)
			}
		}
	}()
	for c := 0; c < 16; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				model := fmt.Sprintf("w%d", i%3)
				if i%4 == 3 {
					model = "m"
				}
				var stmt string
				switch c % 3 {
				case 0:
					stmt = "SHOW MODELS"
				case 1:
					stmt = "GET " + model + ":layers.0.w"
				default:
					stmt = fmt.Sprintf("FUSE %s:layers.1, %s:layers.1 WEIGHTS 0.5, 0.5", model, model)
				}
				status, _, b := f.post(stmt)
				reads.Add(1)
				err := checkConcurrentRead(stmt, model, status, b, versions)
				if err == nil && status == 200 && c%3 != 0 && model != "m" {
					churnedFound.Add(1)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("16 clients + 1 writer for 2s: %d reads (%d found a churned model), %d writes", reads.Load(), churnedFound.Load(), writes.Load())
	if churnedFound.Load() == 0 {
		t.Error("no read ever found a churned model: the test checked nothing")
	}
}

// checkConcurrentRead checks one reader's response (see
// TestConcurrentReadersAndWriter).
func checkConcurrentRead(stmt, model string, status int, b []byte, versions []map[string][]byte) error {
	if stmt == "SHOW MODELS" {
		if status != 200 {
			return fmt.Errorf("%s: %d %s", stmt, status, b)
		}
		var tab table
		if err := json.Unmarshal(b, &tab); err != nil {
			return err
		}
		for _, row := range tab.Rows {
			if n := row[1].(float64); n != 5 {
				return fmt.Errorf("model %v listed with %v tensors", row[0], n)
			}
		}
		return nil
	}
	if model != "m" && (status == http.StatusBadRequest || status == http.StatusNotFound) &&
		bytes.Contains(b, []byte(`no model \"`+model+`\"`)) {
		return nil // deleted, or not yet ingested
	}
	if status != 200 {
		return fmt.Errorf("%s: %d %s", stmt, status, b)
	}
	st, err := safetensors.Parse(bytes.NewReader(b), int64(len(b)), "response")
	if err != nil {
		return fmt.Errorf("%s: %v", stmt, err)
	}
	match := []bool{true, true, true}
	for i, e := range st.Entries() {
		r, _ := st.Open(i)
		got, _ := io.ReadAll(r)
		r.Close()
		name := e.Name
		if k := strings.LastIndexByte(name, ':'); k >= 0 {
			name = name[k+1:]
		}
		for v := range versions {
			match[v] = match[v] && bytes.Equal(got, versions[v][name])
		}
	}
	switch {
	case len(st.Entries()) == 0:
		return fmt.Errorf("%s: no tensors", stmt)
	case model == "m" && !match[0]:
		return fmt.Errorf("%s: the anchor model read other bytes", stmt)
	case !slices.Contains(match, true):
		return fmt.Errorf("%s: tensors of no single version (a mixed or torn read)", stmt)
	}
	return nil
}
