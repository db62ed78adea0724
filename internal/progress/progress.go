// Package progress draws a progress bar for long work: bytes done and
// total, rate and time left, on standard error when it is a terminal and
// only once the work has run for about a second (VSDB_PROGRESS_DELAY, a Go
// duration such as 0s or 500ms, changes that). Piped or redirected output,
// and TERM=dumb, get nothing at all.
//
// Work reports through a plain func(done, total int64) (Bar.Update), so
// the code doing it imports no user-interface code; the planner carries
// that function in a context (planner.WithProgress). Update costs two
// atomic stores: one goroutine per bar samples them and draws
// (github.com/schollz/progressbar/v3), so reporting per chunk from a hot
// loop takes no lock.
//
// This package imports no vsdb package.
package progress

import (
	"context"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// DelayEnv names the environment variable holding how long work must run
// before its bar appears (a Go duration; default DefaultDelay).
const DelayEnv = "VSDB_PROGRESS_DELAY"

// DefaultDelay is how long work runs before its bar appears: shorter work
// prints nothing.
const DefaultDelay = time.Second

// refresh is how often a visible bar is redrawn.
const refresh = 150 * time.Millisecond

// Bar is the progress of one piece of work. Its methods may be called from
// any goroutine; a Bar whose writer is not a terminal draws nothing.
type Bar struct {
	done, total atomic.Int64
	stop        chan struct{} // closed by Done; nil when nothing is drawn
	exited      chan struct{} // closed when the drawing goroutine returns
	once        sync.Once
}

// options are what Start takes from the environment; tests set them.
type options struct {
	terminal bool
	delay    time.Duration
	width    int // columns of the terminal, 0 if unknown
}

// Start begins a bar on w (standard error) for work named label (may be
// ""). Call Update as the work goes, and Done when it ends, whatever the
// outcome: Done clears the bar, so what is printed next starts a line.
func Start(w io.Writer, label string) *Bar {
	o := options{delay: envDelay()}
	if IsTerminal(w) {
		o.terminal = true
		o.width, _, _ = term.GetSize(int(w.(*os.File).Fd()))
	}
	return start(w, label, o)
}

// IsTerminal reports whether w is a terminal that can take a bar or colour:
// an *os.File on a terminal, with TERM not "dumb". Files and pipes are not.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && os.Getenv("TERM") != "dumb" && term.IsTerminal(int(f.Fd()))
}

func start(w io.Writer, label string, o options) *Bar {
	b := &Bar{}
	if !o.terminal {
		return b
	}
	b.stop, b.exited = make(chan struct{}), make(chan struct{})
	g := &gate{w: w, at: time.Now().Add(o.delay)}
	go b.draw(g, label, o.width)
	return b
}

// envDelay reads DelayEnv; an unset or malformed value gives DefaultDelay.
func envDelay() time.Duration {
	if d, err := time.ParseDuration(os.Getenv(DelayEnv)); err == nil && d >= 0 {
		return d
	}
	return DefaultDelay
}

// Update records that done of total bytes are done. It only stores them:
// it is cheap enough to call per chunk. A total of 0 or less draws nothing.
func (b *Bar) Update(done, total int64) {
	b.done.Store(done)
	b.total.Store(total)
}

// Done ends the bar: a bar on the screen is cleared. It waits for the
// drawing to stop, and may be called more than once.
func (b *Bar) Done() {
	if b.stop == nil {
		return
	}
	b.once.Do(func() { close(b.stop) })
	<-b.exited
}

// draw samples the counters every refresh and redraws, through g, which
// drops everything until the delay ends. The bar's clock starts with the
// work, so its rate and time left are right from the first frame; it is
// drawn once a report gave it a total.
func (b *Bar) draw(g *gate, label string, width int) {
	defer close(b.exited)
	pb := newBar(g, label, width)
	pb.StartWithoutRender()
	known := false // pb has the total
	tick := time.NewTicker(refresh)
	defer tick.Stop()
	for {
		stopped := false
		select {
		case <-b.stop:
			stopped = true
		case <-tick.C:
		}
		if stopped && !g.open() {
			return // over before the bar was due: nothing was drawn
		}
		if total := b.total.Load(); total > 0 {
			if total != pb.GetMax64() || !known {
				pb.ChangeMax64(total)
				known = true
			}
			pb.Set64(min(max(b.done.Load(), 0), total))
		}
		if stopped {
			if known {
				pb.Finish() // clears the line (OptionClearOnFinish)
			}
			return
		}
	}
}

// newBar makes the bar: "label  45% |█████     | (4.5/10 MB, 20 MB/s) [0s:1s]",
// with a total to be set.
func newBar(w io.Writer, label string, width int) *progressbar.ProgressBar {
	if label != "" {
		label += " "
	}
	barWidth := 30
	if width > 0 {
		// Leave room for the label, percentage, byte counts, rate and times.
		barWidth = max(8, min(barWidth, width-len(label)-50))
	}
	return progressbar.NewOptions64(1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionSetWidth(barWidth),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetSpinnerChangeInterval(0),
		progressbar.OptionUseANSICodes(true),
		progressbar.OptionClearOnFinish(),
	)
}

// gate passes writes to w from time at on, and drops them before: the bar
// keeps its counts (and so its rate) from the start but shows only late.
// Only the drawing goroutine writes through it.
type gate struct {
	w  io.Writer
	at time.Time
}

func (g *gate) open() bool { return !time.Now().Before(g.at) }

func (g *gate) Write(p []byte) (int, error) {
	if !g.open() {
		return len(p), nil
	}
	return g.w.Write(p)
}

// Attach makes a context carry a progress function, as planner.WithProgress
// does; ForStatement takes one so that this package imports no vsdb code.
type Attach func(ctx context.Context, report func(done, total int64)) context.Context

// ForStatement starts a bar on stderr for one statement and returns ctx
// carrying its Update through attach, and the function to call when the
// statement has ended (before printing its result). Statements that report
// nothing (all but INGEST, EXPORT, COMPRESS and FUSE) never show a bar.
//
//	ctx, done := progress.ForStatement(ctx, os.Stderr, planner.WithProgress)
//	res, err := db.Query(ctx, stmt)
//	done()
func ForStatement(ctx context.Context, stderr io.Writer, attach Attach) (context.Context, func()) {
	b := Start(stderr, "")
	return attach(ctx, b.Update), b.Done
}
