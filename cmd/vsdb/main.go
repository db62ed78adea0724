// Command vsdb is the command line and shell of vsdb, an embedded database
// for neural-network parameters. It holds flags and wiring only.
//
// Exit status: 0 success, 1 an error (message on stderr), 2 bad usage, 70
// the store cannot go on (damaged files, failed disk), 130 cancelled by Ctrl-C.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/alecthomas/kong"
	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/internal/progress"
	"github.com/vsdb/vsdb/lsm"
	"github.com/vsdb/vsdb/planner"
	"github.com/vsdb/vsdb/query"
	"github.com/vsdb/vsdb/repl"
)

type cli struct {
	DB      string `name:"db" help:"Store folder (default: $VSDB_DB, else $XDG_DATA_HOME/vsdb, else ~/.local/share/vsdb)." placeholder:"DIR"`
	Store   string `name:"store" env:"VSDB_STORE" help:"Keep tensor chunks in an S3-compatible object store shared with other vsdb nodes (see docs/SCALE.md); the store remembers it. Endpoint, region and path-style from the URL's parameters or AWS_ENDPOINT_URL/AWS_REGION/VSDB_S3_PATH_STYLE, credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials." placeholder:"s3://BUCKET/PREFIX"`
	Verbose int    `short:"v" type:"counter" help:"Log to stderr (log/slog, key=value): -v each statement with its time, -vv also the store's internals."`

	Shell   shellCmd   `cmd:"" default:"1" help:"Open the interactive shell (the default; .help inside). Example: vsdb --db ./store"`
	Ingest  ingestCmd  `cmd:"" help:"Store a checkpoint as a new model. Example: vsdb ingest model.safetensors --as minilm"`
	Query   queryCmd   `cmd:"" help:"Run one statement. Example: vsdb query --json \"SHOW MODELS\""`
	Export  exportCmd  `cmd:"" help:"Write a model to a safetensors file. Example: vsdb export minilm out.safetensors"`
	Check   checkCmd   `cmd:"" help:"Verify indexes and checksums. Example: vsdb check"`
	Delete  deleteCmd  `cmd:"" help:"Delete a model. Example: vsdb delete minilm"`
	Reindex reindexCmd `cmd:"" help:"Rebuild every index from the tensor records. Example: vsdb reindex"`
	Stats   statsCmd   `cmd:"" help:"Sizes, ratios and errors per codec; --plot draws them per layer. Example: vsdb stats minilm --plot minilm.png"`
	Serve   serveCmd   `cmd:"" help:"Serve the store over HTTP for notebooks and programs (see docs/SERVER.md). Example: vsdb serve --root ~/models"`
	Plot    plotCmd    `cmd:"" help:"Draw a model as a PNG: layers, diff or hist (see docs/PLOTS.md). Example: vsdb plot layers minilm -o layers.png"`
}

type statsCmd struct {
	Model string `arg:"" optional:"" help:"Model (default: all)."`
	Plot  string `help:"Write a PNG of the per-layer compression ratio and error (needs a model)." placeholder:"FILE.png"`
	JSON  bool   `name:"json" help:"Print rows as a JSON array of objects."`
}

type reindexCmd struct{}

type deleteCmd struct {
	Model    string `arg:"" help:"Model to delete."`
	IfExists bool   `name:"if-exists" help:"Succeed quietly when the model does not exist."`
}

type shellCmd struct{}

type ingestCmd struct {
	Path        string  `arg:"" help:"Checkpoint: .safetensors, PyTorch .bin/.pt/.pth (never unpickled as code), .npy, .npz, .gguf, a sharded *.index.json, or a model folder."`
	As          string  `help:"Model name (default: from the file name)." placeholder:"NAME"`
	Codec       string  `help:"Codec: lossless (default), raw, f16, bf16, q8, q4 (lossy: float tensors only; the error is recorded per tensor), lowrank (matrices; with --rank or --error-budget), or auto." placeholder:"CODEC"`
	ErrorBudget float64 `name:"error-budget" help:"With --codec auto or lowrank: the largest relative error a tensor may get (0: lossless only)." placeholder:"E"`
	Rank        int     `help:"With --codec lowrank: store every matrix at this rank (where that is smaller than the raw tensor)." placeholder:"K"`
	Base        string  `help:"Store as deltas against this model (a fine-tune against its base): much smaller when close. Example: vsdb ingest ft.safetensors --as ft --base base" placeholder:"MODEL"`
}

type queryCmd struct {
	Statement string `arg:"" help:"The statement, e.g. \"FUSE m:encoder.layer.0, m:encoder.layer.1 WEIGHTS 0.5, 0.5\"."`
	JSON      bool   `name:"json" help:"Print rows as a JSON array of objects."`
	Out       string `help:"Write returned tensors (GET, FUSE without INTO) to this safetensors file." placeholder:"FILE"`
}

type exportCmd struct {
	Model     string `arg:"" help:"Model to export."`
	Out       string `arg:"" help:"Output .safetensors file (- for standard output), or a folder (ending in / or with --shard-size) for shards, model.safetensors.index.json and the kept config.json."`
	ShardSize string `name:"shard-size" help:"Write a folder of shards of at most this size, e.g. 2GB. Example: vsdb export m out/ --shard-size 2GB" placeholder:"SIZE"`
	DType     string `name:"dtype" help:"Cast float tensors to f32, f16 or bf16." placeholder:"DTYPE"`
}

type checkCmd struct {
	Model string `arg:"" optional:"" help:"Model to check (default: all)."`
}

func main() {
	var c cli
	parser, err := kong.New(&c, kong.Name("vsdb"),
		kong.Description("vsdb: an embedded database for neural-network parameters.\n\nExit status: 0 success, 1 an error (one line on stderr), 2 bad usage, 70 the store's files are damaged or the disk failed under a commit, 130 cancelled by Ctrl-C."),
		kong.Exit(func(code int) { os.Exit(code) }))
	if err != nil {
		fmt.Fprintln(os.Stderr, "vsdb:", err)
		os.Exit(2)
	}
	kctx, err := parser.Parse(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "vsdb: %v (see vsdb --help)\n", err)
		os.Exit(2)
	}
	if err := run(&c, kctx.Command()); err != nil {
		repl.PrintError(os.Stderr, err)
		if errors.Is(err, repl.ErrInterrupted) {
			os.Exit(130) // 128 + SIGINT, as shells report it
		}
		if lsm.IsCorruption(err) {
			fmt.Fprintln(os.Stderr, "vsdb: the store's files are damaged: restore them from a copy")
			os.Exit(70)
		}
		os.Exit(1)
	}
}

func run(c *cli, command string) error {
	dir := c.DB
	if dir == "" {
		dir = engine.DefaultDir()
	}
	// Only the shell and ingest create a store; the other commands read or
	// change one that exists.
	// A node joining a shared object store starts with an empty folder
	// and a statement (ATTACH); a mistyped --db for the other commands
	// still says there is no store.
	create := command == "shell" || command == "ingest <path>" || command == "serve" ||
		(c.Store != "" && command == "query <statement>")
	if command == "delete <model>" && c.Delete.IfExists {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return nil // nothing to delete
		}
	}
	db, err := engine.Open(dir, engine.Options{MustExist: !create, Logger: newLogger(c.Verbose), Store: c.Store})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err = dispatch(ctx, c, command, db)
	if err != nil && ctx.Err() != nil && command != "shell" {
		err = repl.ErrInterrupted
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

func dispatch(ctx context.Context, c *cli, command string, db *engine.DB) error {
	switch command {
	case "ingest <path>":
		bar := progress.Start(os.Stderr, "ingest")
		m, err := db.Ingest(ctx, c.Ingest.Path, engine.IngestOptions{Name: c.Ingest.As, Codec: c.Ingest.Codec, ErrorBudget: c.Ingest.ErrorBudget, Rank: c.Ingest.Rank, Base: c.Ingest.Base, Progress: bar.Update})
		bar.Done()
		if err != nil {
			return err
		}
		fmt.Printf("ingested %s: %d tensors, %s raw, %s stored\n", m.Name, m.Tensors, human(m.RawBytes), human(m.StoredBytes))
		return nil
	case "query <statement>":
		return runQuery(ctx, db, &c.Query)
	case "serve":
		return runServe(db, &c.Serve)
	case "export <model> <out>":
		return runExport(ctx, db, &c.Export)
	case "check", "check <model>":
		return runCheck(db, c.Check.Model)
	case "delete <model>":
		return runDelete(db, c.Delete)
	case "stats", "stats <model>":
		return runStats(ctx, db, c.Stats)
	case plotLayersCommand, plotDiffCommand, plotHistCommand:
		return runPlot(ctx, db, &c.Plot, command)
	case "reindex":
		if err := db.RebuildIndexes(); err != nil {
			return err
		}
		return runCheck(db, "")
	}
	sh := &repl.Shell{DB: db, Out: os.Stdout, Err: os.Stderr}
	return sh.Run()
}

func runQuery(ctx context.Context, db *engine.DB, q *queryCmd) error {
	if q.Out != "" {
		if err := returnsTensors(q.Statement); err != nil {
			return err
		}
	}
	ctx, done := progress.ForStatement(ctx, os.Stderr, planner.WithProgress)
	res, err := db.Query(ctx, q.Statement)
	done()
	if err != nil {
		return err
	}
	if q.Out != "" {
		if err := writeTensors(q.Out, res); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if q.JSON {
		err = repl.WriteJSON(&buf, res)
	} else {
		err = repl.WriteTable(&buf, res)
	}
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(buf.Bytes())
	return err
}

// returnsTensors refuses --out for statements that return no tensors, before
// anything runs (FUSE ... INTO would otherwise store a model and then fail).
func returnsTensors(src string) error {
	stmt, err := query.Parse(src)
	if err != nil {
		return err
	}
	switch s := stmt.(type) {
	case *query.Get:
		return nil
	case *query.Fuse:
		if s.Into == "" {
			return nil
		}
		return fmt.Errorf("vsdb: --out takes the tensors a statement returns; FUSE ... INTO %s stores them instead (export it with: vsdb export %s FILE)", s.Into, s.Into)
	}
	return fmt.Errorf("vsdb: --out takes the tensors of GET or FUSE without INTO; this statement returns none")
}

func writeTensors(path string, res *engine.Result) error {
	if len(res.Tensors) == 0 {
		return fmt.Errorf("vsdb: --out: the statement returned no tensors")
	}
	entries := make([]format.Entry, len(res.Tensors))
	for i, t := range res.Tensors {
		entries[i] = format.Entry{Name: t.Name, DType: t.DType, Shape: t.Shape, Size: int64(len(t.Data))}
	}
	return safetensors.WriteFile(filepath.Clean(path), entries, nil, func(i int) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(res.Tensors[i].Data)), nil
	})
}

func runCheck(db *engine.DB, model string) error {
	problems, err := db.Check(model)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("vsdb: check found %d problems", len(problems))
	}
	fmt.Println("ok")
	return nil
}

func runDelete(db *engine.DB, d deleteCmd) error {
	if d.IfExists {
		models, err := db.Models()
		if err != nil {
			return err
		}
		found := false
		for _, m := range models {
			found = found || m.Name == d.Model
		}
		if !found {
			return nil
		}
	}
	return db.DeleteModel(d.Model)
}

// newLogger returns the logger -v asks for: none, Info (-v) or Debug (-vv
// and more), as key=value lines on stderr.
func newLogger(verbose int) *slog.Logger {
	if verbose == 0 {
		return nil
	}
	level := slog.LevelInfo
	if verbose > 1 {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
