package engine

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// discardLogger logs nothing: the default, so vsdb is quiet unless asked.
var discardLogger = slog.New(slog.DiscardHandler)

// logger returns the DB's logger (never nil).
func (db *DB) logger() *slog.Logger {
	if db.opts.Logger == nil {
		return discardLogger
	}
	return db.opts.Logger
}

// logStatement records one statement: its text, time, rows and error.
func (db *DB) logStatement(ctx context.Context, src string, start time.Time, res *Result, err error) {
	log := db.logger()
	if err != nil {
		log.LogAttrs(ctx, slog.LevelInfo, "statement failed", slog.String("statement", src),
			slog.Duration("took", time.Since(start)), slog.String("error", err.Error()))
		return
	}
	attrs := []slog.Attr{slog.String("statement", src), slog.Duration("took", time.Since(start))}
	if res != nil {
		attrs = append(attrs, slog.Int("rows", len(res.Rows)), slog.Int("tensors", len(res.Tensors)))
	}
	log.LogAttrs(ctx, slog.LevelInfo, "statement", attrs...)
}

// slogWriter turns the lines Pebble writes (its error log) into warnings.
type slogWriter struct {
	log *slog.Logger
	mu  sync.Mutex
	buf []byte
}

var _ io.Writer = (*slogWriter)(nil)

func (w *slogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.log.Warn("pebble", slog.String("message", string(w.buf[:i])))
		w.buf = w.buf[i+1:]
	}
}
