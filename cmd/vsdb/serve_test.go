package main

import (
	"bufio"
	"context"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeRefusesOpenAddressWithoutToken: a non-loopback address needs a
// token; the process exits 1 with the reason.
func TestServeRefusesOpenAddressWithoutToken(t *testing.T) {
	bin := buildVsdb(t)
	cmd := exec.Command(bin, "--db", t.TempDir(), "serve", "--addr", "0.0.0.0:0")
	cmd.Env = append(cmd.Environ(), "VSDB_TOKEN=")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "without a token") {
		t.Fatalf("err %v, output %q", err, out)
	}
}

// TestServeShutsDownOnSIGTERM: the server answers, then on SIGTERM stops
// and exits 0.
func TestServeShutsDownOnSIGTERM(t *testing.T) {
	bin := buildVsdb(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--db", t.TempDir(), "serve", "--addr", "127.0.0.1:0")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stderr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url := regexp.MustCompile(`serving on (http://\S+)`).FindStringSubmatch(line)
	if url == nil {
		t.Fatalf("ready line %q", line)
	}
	resp, err := http.Get(url[1] + "/v1/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", err, resp)
	}
	resp.Body.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}
