package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/server"
)

type serveCmd struct {
	Addr      string        `default:"127.0.0.1:7070" help:"Address to listen on. Anything but a loopback address needs a token." placeholder:"HOST:PORT"`
	Token     string        `env:"VSDB_TOKEN" help:"Require \"Authorization: Bearer TOKEN\" on every request." placeholder:"TOKEN"`
	Root      string        `help:"Folder that INGEST and EXPORT paths are confined to (default: none, and those statements are refused)." placeholder:"DIR"`
	Timeout   time.Duration `default:"10m" help:"Longest a statement may run."`
	MaxResult int64         `name:"max-result" default:"4294967296" help:"Most bytes of tensors one response may return." placeholder:"BYTES"`
}

// runServe serves db until SIGINT or SIGTERM, then stops accepting
// requests, lets the running ones finish (committed writes are kept) and
// returns.
func runServe(db *engine.DB, c *serveCmd) error {
	root, err := server.CleanRoot(c.Root)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("vsdb: listen on %s: %v", c.Addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		if c.Token == "" {
			ln.Close()
			return fmt.Errorf("vsdb: refusing to serve on %s, which is not a loopback address, without a token (set --token or VSDB_TOKEN)", ln.Addr())
		}
	}
	s := server.New(db, server.Options{Token: c.Token, Root: root, Timeout: c.Timeout, MaxResult: c.MaxResult})
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "vsdb: serving on http://%s (store %s)\n", ln.Addr(), db.Dir())
	select {
	case err := <-errc:
		return fmt.Errorf("vsdb: serve: %v", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(os.Stderr, "vsdb: shutting down: waiting for running requests")
	s.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), c.Timeout+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("vsdb: shutdown: %v", err)
	}
	return nil
}
