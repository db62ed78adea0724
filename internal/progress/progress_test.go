package progress

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// screen collects what the drawing goroutine writes.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor polls s until it matches re.
func waitFor(t *testing.T, s *screen, re *regexp.Regexp) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if re.MatchString(s.String()) {
			return
		}
	}
	t.Fatalf("no %q on the screen: %q", re, s.String())
}

// TestBarDrawsAndClears: on a terminal with no delay the bar shows the
// label, percentage, bytes done/total and rate; Done clears the line last
// and nothing is drawn after it.
func TestBarDrawsAndClears(t *testing.T) {
	s := &screen{}
	b := start(s, "ingest", options{terminal: true, width: 100})
	b.Update(5<<20, 10<<20)
	waitFor(t, s, regexp.MustCompile(`ingest +50% \|█+ +\| \(5\.2/10 MB, [0-9.]+ [kMGT]?B/s\) \[\d+s:\d+s\]`))
	b.Done()
	out := s.String()
	if !strings.HasSuffix(out, "\x1b[2K\r") {
		t.Fatalf("the bar is not cleared at the end: %q", out)
	}
	b.Done() // again: no effect
	b.Update(10<<20, 10<<20)
	time.Sleep(2 * refresh)
	if s.String() != out {
		t.Fatalf("drawn after Done: %q", strings.TrimPrefix(s.String(), out))
	}
}

// TestDelay: work that ends before the delay draws nothing at all, not
// even the clearing sequence.
func TestDelay(t *testing.T) {
	s := &screen{}
	b := start(s, "export", options{terminal: true, delay: time.Hour})
	b.Update(1, 10)
	time.Sleep(2 * refresh)
	b.Update(10, 10)
	b.Done()
	if out := s.String(); out != "" {
		t.Fatalf("drawn before the delay: %q", out)
	}
}

// TestNoTotalNoBar: work that never reports a total draws nothing.
func TestNoTotalNoBar(t *testing.T) {
	s := &screen{}
	b := start(s, "", options{terminal: true})
	time.Sleep(2 * refresh)
	b.Done()
	if out := s.String(); out != "" {
		t.Fatalf("drawn without a total: %q", out)
	}
}

// TestNotATerminal: a buffer, a pipe or TERM=dumb get no bar; a pty gets
// one.
func TestNotATerminal(t *testing.T) {
	t.Setenv(DelayEnv, "0s")
	var buf bytes.Buffer
	b := Start(&buf, "x")
	b.Update(1, 2)
	b.Done()
	if buf.Len() != 0 || b.stop != nil {
		t.Fatalf("a bar on a buffer: %q", buf.String())
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if b := Start(w, "x"); b.stop != nil {
		b.Done()
		t.Fatal("a bar on a pipe")
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	t.Setenv("TERM", "xterm")
	b = Start(tty, "x")
	if b.stop == nil {
		t.Fatal("no bar on a terminal")
	}
	b.Done()
	t.Setenv("TERM", "dumb")
	if b := Start(tty, "x"); b.stop != nil {
		b.Done()
		t.Fatal("a bar on a dumb terminal")
	}
}

// TestEnvDelay: VSDB_PROGRESS_DELAY takes a Go duration; anything else
// leaves the default.
func TestEnvDelay(t *testing.T) {
	for v, want := range map[string]time.Duration{"0s": 0, "250ms": 250 * time.Millisecond, "": DefaultDelay, "soon": DefaultDelay, "-1s": DefaultDelay} {
		t.Setenv(DelayEnv, v)
		if got := envDelay(); got != want {
			t.Errorf("%s=%q: delay %v, want %v", DelayEnv, v, got, want)
		}
	}
}

type reportKey struct{}

// TestForStatement: the context carries the bar's Update through attach.
func TestForStatement(t *testing.T) {
	attach := func(ctx context.Context, report func(done, total int64)) context.Context {
		return context.WithValue(ctx, reportKey{}, report)
	}
	var buf bytes.Buffer
	ctx, done := ForStatement(context.Background(), &buf, attach)
	report, ok := ctx.Value(reportKey{}).(func(done, total int64))
	if !ok {
		t.Fatal("the context carries no report function")
	}
	report(1, 2)
	done()
	if buf.Len() != 0 {
		t.Fatalf("a bar on a buffer: %q", buf.String())
	}
}

// BenchmarkUpdate is the cost a report adds to the work.
func BenchmarkUpdate(b *testing.B) {
	bar := start(&screen{}, "x", options{terminal: true, delay: time.Hour})
	defer bar.Done()
	for i := range b.N {
		bar.Update(int64(i), int64(b.N))
	}
}
