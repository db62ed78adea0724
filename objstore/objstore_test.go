package objstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("VSDB_S3_PATH_STYLE", "")
	cases := []struct {
		in, want, endpoint, region, err string
		pathStyle                       bool
		opts                            string
	}{
		{in: "s3://zoo", want: "s3://zoo", endpoint: "s3.amazonaws.com"},
		{in: "s3://zoo/team/a/", want: "s3://zoo/team/a", endpoint: "s3.amazonaws.com"},
		{in: "s3://zoo/p?endpoint=http://127.0.0.1:8333&region=eu-west-1&path_style=true&cache=1GiB",
			want: "s3://zoo/p", endpoint: "http://127.0.0.1:8333", region: "eu-west-1", pathStyle: true, opts: "cache=1GiB"},
		{in: "http://zoo/p", err: "is not an object store address"},
		{in: "s3:///p", err: "is not an object store address"},
		{in: "s3://key:secret@zoo/p", err: "carries credentials"},
		{in: "s3://zoo?path_style=maybe", err: `path_style="maybe"`},
		{in: "s3://zoo?endpoint=http://AKIA:secret@127.0.0.1:8333", err: "carries credentials"},
		{in: "http://k:secret@zoo/p", err: "is not an object store address"},
		{in: "s3://zoo?endpoint=", err: "endpoint= is empty"},
		{in: "s3://zoo?endpoint=127.0.0.1:99999", err: `port "99999"`},
		{in: "s3://zoo?endpoint=http%3A%2F%2F127.0.0.1%3A8333%3Fx%3Dsecret", err: "has a path or parameters"},
		{in: "s3://zoo?endpoint=http://127.0.0.1:8333/some/path", err: "has a path"},
		{in: "s3://zoo?endpoint=ftp://host", err: "expected host:port"},
		{in: "s3://zoo?region=a&region=b", err: `parameter "region" is given 2 times`},
		{in: "s3://Zoo_Bad!/p", err: "lower-case letters"},
		{in: "s3://Zoo/p", err: "lower-case letters"},
		{in: "s3://zo/p", err: "3 to 63 characters"},
		{in: "s3://zoo/../x", err: "segments of a prefix"},
		{in: "s3://zoo/a//b", err: "segments of a prefix"},
		{in: "s3://zoo/p#frag", err: "fragment"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseURL(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.HasPrefix(err.Error(), "vsdb: ") {
					t.Fatalf("err = %v, want one containing %q", err, c.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("error leaks the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != c.want || got.Endpoint != c.endpoint || got.Region != c.region || got.PathStyle != c.pathStyle || got.Options.Encode() != c.opts {
				t.Fatalf("got %s endpoint %q region %q path_style %v opts %q", got, got.Endpoint, got.Region, got.PathStyle, got.Options.Encode())
			}
		})
	}
}

func TestParseURLEnvironment(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_ENDPOINT_URL", "https://minio.internal:9000")
	t.Setenv("AWS_REGION", "us-east-2")
	t.Setenv("VSDB_S3_PATH_STYLE", "1")
	c, err := ParseURL("s3://zoo/p")
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint != "https://minio.internal:9000" || c.Region != "us-east-2" || !c.PathStyle {
		t.Fatalf("environment ignored: %+v", c)
	}
	c, err = ParseURL("s3://zoo/p?endpoint=http://other:1&path_style=false")
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint != "http://other:1" || c.PathStyle {
		t.Fatalf("URL should override the environment: %+v", c)
	}
}

var quick = Policy{Attempts: 4, Base: time.Millisecond, Max: 4 * time.Millisecond, Deadline: 5 * time.Second}

func TestRetryRidesOutTransientFailures(t *testing.T) {
	m := NewMem()
	b := Retry(m, quick)
	ctx := context.Background()
	m.FailNext(3)
	if err := b.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatalf("3 failures within 4 attempts should succeed: %v", err)
	}
	if got := m.Requests("PUT"); got != 4 {
		t.Fatalf("PUT requests = %d, want 4", got)
	}
	got, err := b.Get(ctx, "k")
	if err != nil || string(got) != "v" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

func TestRetryGivesUpWithAClearError(t *testing.T) {
	m := NewMem()
	b := Retry(m, quick)
	m.SetDown(true)
	err := b.Put(context.Background(), "chunks/ab/cd", []byte("v"))
	if err == nil {
		t.Fatal("Put on a down bucket succeeded")
	}
	for _, want := range []string{"PUT chunks/ab/cd", "down", "gave up after 4 attempts"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q lacks %q", err, want)
		}
	}
	if !errors.Is(err, ErrDown) {
		t.Fatalf("error does not wrap the cause: %v", err)
	}
}

func TestRetryDeadline(t *testing.T) {
	m := NewMem()
	m.SetDown(true)
	b := Retry(m, Policy{Attempts: 1000, Base: 10 * time.Millisecond, Max: 20 * time.Millisecond, Deadline: 100 * time.Millisecond})
	start := time.Now()
	if err := b.Delete(context.Background(), "k"); err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("err = %v", err)
	}
	// Generous bound: the point is that 1000 attempts are not made.
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("deadline ignored: took %s", el)
	}
	if n := m.Requests("DELETE"); n >= 1000 {
		t.Fatalf("%d attempts: deadline ignored", n)
	}
}

func TestRetryDoesNotRetryPermanentOrMissing(t *testing.T) {
	m := NewMem()
	b := Retry(m, quick)
	ctx := context.Background()
	if _, err := b.Get(ctx, "absent"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get absent = %v, want ErrNotFound", err)
	}
	if n := m.Requests("GET"); n != 1 {
		t.Fatalf("a missing object was asked for %d times", n)
	}
	calls := 0
	boom := errors.New("boom")
	err := b.List(ctx, "", func(Info) error { calls++; return boom })
	if err != nil && !errors.Is(err, boom) {
		t.Fatalf("List err = %v", err)
	}
	if err := b.Put(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	err = b.List(ctx, "", func(Info) error { calls++; return boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("List: err %v after %d calls; a callback error must stop the listing unretried", err, calls)
	}
}

func TestMemRanges(t *testing.T) {
	m := NewMem()
	ctx := context.Background()
	if err := m.Put(ctx, "k", []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	got, err := m.GetRange(ctx, "k", 3, 4)
	if err != nil || string(got) != "3456" {
		t.Fatalf("GetRange = %q, %v", got, err)
	}
	info, err := m.Stat(ctx, "k")
	if err != nil || info.Size != 10 {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	m.Corrupt("k", 0)
	got, _ = m.Get(ctx, "k")
	if got[0] == '0' {
		t.Fatal("Corrupt changed nothing")
	}
}
