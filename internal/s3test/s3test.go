// Package s3test starts a real S3-compatible object server for tests and
// benchmarks: SeaweedFS's `weed server -s3` on loopback, on free ports,
// with its data in a folder that survives Stop so that Start brings the
// same bucket back (tests stop and restart it mid-run).
//
// The weed binary is found through $VSDB_WEED (scripts/weed.sh builds it
// from the Go module proxy and exports it). Without it, Require skips the
// test, unless $VSDB_REQUIRE_WEED is set (as the test run does), when it
// fails.
package s3test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Server is a running (or stopped) weed server.
type Server struct {
	bin, dir string
	ports    [4]int // master, volume, filer, s3
	cmd      *exec.Cmd
	exited   chan struct{}
	log      *os.File
}

// Binary returns the weed binary, or "" when there is none.
func Binary() string {
	b := os.Getenv("VSDB_WEED")
	if b == "" {
		return ""
	}
	if _, err := os.Stat(b); err != nil {
		return ""
	}
	return b
}

// Require starts a server for t (stopped at cleanup), or skips t when no
// weed binary is available and $VSDB_REQUIRE_WEED is unset.
func Require(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		if os.Getenv("VSDB_REQUIRE_WEED") != "" {
			t.Fatal("VSDB_REQUIRE_WEED is set but $VSDB_WEED names no weed binary (run: source scripts/weed.sh)")
		}
		t.Skip("no weed binary ($VSDB_WEED; scripts/weed.sh builds one)")
	}
	s, err := New(bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// New prepares a server keeping its data in dir, on free ports.
func New(bin, dir string) (*Server, error) {
	s := &Server{bin: bin, dir: dir}
	for i := range s.ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		s.ports[i] = p
	}
	return s, nil
}

// freePort finds a free loopback port whose gRPC twin (port+10000, which
// weed also opens) is free too.
func freePort() (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p+10000 > 65535 {
			continue
		}
		if l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000)); err == nil {
			l2.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("s3test: no free port pair found")
}

// Endpoint is the S3 endpoint URL, e.g. http://127.0.0.1:8333.
func (s *Server) Endpoint() string { return "http://127.0.0.1:" + strconv.Itoa(s.ports[3]) }

// URL is a vsdb store address for bucket/prefix on this server.
func (s *Server) URL(bucket, prefix string, params string) string {
	u := "s3://" + bucket + "/" + prefix + "?endpoint=" + s.Endpoint() + "&path_style=true"
	if params != "" {
		u += "&" + params
	}
	return u
}

// Start runs the server and waits until it answers S3 requests.
func (s *Server) Start() error {
	data := filepath.Join(s.dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	log, err := os.OpenFile(filepath.Join(s.dir, "weed.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	s.log = log
	s.cmd = exec.Command(s.bin, "server", "-s3", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir="+data,
		"-master.port="+strconv.Itoa(s.ports[0]), "-volume.port="+strconv.Itoa(s.ports[1]),
		"-filer.port="+strconv.Itoa(s.ports[2]), "-s3.port="+strconv.Itoa(s.ports[3]),
		// Every bucket is a collection that takes several volume slots
		// at once: leave room for many.
		"-master.volumeSizeLimitMB=128", "-volume.max=200")
	s.cmd.Stdout, s.cmd.Stderr = log, log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("s3test: starting weed: %v", err)
	}
	s.exited = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); close(done) }(s.cmd, s.exited)
	return s.waitReady(90 * time.Second)
}

// waitReady creates a probe bucket, writes and reads an object.
func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("s3test: weed exited during start-up (log: %s)", filepath.Join(s.dir, "weed.log"))
		default:
		}
		if last = s.probe(); last == nil {
			return nil
		}
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("s3test: weed not ready after %s: %v (log: %s)", limit, last, filepath.Join(s.dir, "weed.log"))
}

func (s *Server) probe() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, req := range []struct{ method, path, body string }{
		{"PUT", "/s3test-probe", ""}, {"PUT", "/s3test-probe/ready", "ok"}, {"GET", "/s3test-probe/ready", ""},
	} {
		r, _ := http.NewRequestWithContext(ctx, req.method, s.Endpoint()+req.path, bytes.NewReader([]byte(req.body)))
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 && !(req.path == "/s3test-probe" && resp.StatusCode == http.StatusConflict) {
			return fmt.Errorf("%s %s: %s", req.method, req.path, resp.Status)
		}
	}
	return nil
}

// CreateBucket creates a bucket.
func (s *Server) CreateBucket(name string) error {
	r, _ := http.NewRequest("PUT", s.Endpoint()+"/"+name, nil)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusConflict {
		return fmt.Errorf("s3test: create bucket %s: %s", name, resp.Status)
	}
	return nil
}

// Stop kills the server (all its processes) and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
	}
	s.cmd = nil
	if s.log != nil {
		s.log.Close()
	}
}
