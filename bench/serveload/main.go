// Command serveload measures `vsdb serve` under concurrent small queries:
// it ingests a real checkpoint into a temporary store, serves it on a
// loopback port (the same server.Server `vsdb serve` runs), and has -clients
// goroutines send statements in a loop for -duration, each over its own
// keep-alive HTTP connection. It prints throughput and latency percentiles
// per statement kind.
//
//	go run ./bench/serveload -file model.safetensors [-clients 16] [-duration 10s]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/server"
)

var statements = []struct{ kind, stmt string }{
	{"SHOW MODELS", "SHOW MODELS"},
	{"SHOW TENSORS (bitmap lookup)", "SHOW TENSORS WHERE model = 'm' AND layer = 'encoder.layer.3' AND param = 'attention.self.query.bias'"},
	{"GET a 1.5 KiB tensor", "GET m:encoder.layer.3.attention.self.query.bias"},
	{"FUSE two 1.5 KiB tensors", "FUSE m:encoder.layer.0.attention.self.query.bias, m:encoder.layer.1.attention.self.query.bias WEIGHTS 0.5, 0.5"},
}

func main() {
	file := flag.String("file", "", "safetensors checkpoint to serve (as model m)")
	clients := flag.Int("clients", 16, "concurrent clients")
	duration := flag.Duration("duration", 10*time.Second, "how long to run")
	only := flag.String("only", "", "run only the statement kinds containing this text")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the load to this file")
	flag.Parse()
	if *file == "" {
		log.Fatal("vsdb: -file is required")
	}
	dir, err := os.MkdirTemp("", "vsdb-serveload")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := engine.Open(filepath.Join(dir, "db"), engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Ingest(context.Background(), *file, engine.IngestOptions{Name: "m"}); err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: server.New(db, server.Options{})}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/v1/query"

	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s; clients %d, duration %s, %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), *clients, *duration, time.Now().UTC().Format(time.RFC1123))
	fmt.Println("| statement | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	for _, s := range statements {
		if !strings.Contains(s.kind, *only) {
			continue
		}
		lat, errs, took := load(url, s.stmt, *clients, *duration)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		p := func(q float64) float64 {
			if len(lat) == 0 {
				return 0
			}
			return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
		}
		fmt.Printf("| %s | %.0f | %.2f | %.2f | %.2f | %.2f | %d |\n", s.kind, float64(len(lat))/took.Seconds(), p(0.5), p(0.9), p(0.99), p(1), errs)
	}
}

// load runs clients goroutines posting stmt until d has passed.
func load(url, stmt string, clients int, d time.Duration) ([]time.Duration, int, time.Duration) {
	body, _ := json.Marshal(map[string]string{"statement": stmt})
	var mu sync.Mutex
	var all []time.Duration
	errs := 0
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			var mine []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				t0 := time.Now()
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, errs, time.Since(start)
}
