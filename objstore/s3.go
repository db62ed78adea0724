package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Config says where a bucket is and how to reach it.
type Config struct {
	Bucket string
	Prefix string // without leading or trailing '/'
	// Endpoint is host[:port] or a URL (http:// means no TLS).
	Endpoint  string
	Region    string
	PathStyle bool
	// Options holds the URL's other query parameters (for the caller).
	Options url.Values
}

// ParseURL reads s3://bucket[/prefix][?endpoint=...&region=...&path_style=true].
// Left unset, the endpoint comes from AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL (else AWS S3 itself), the region from AWS_REGION or
// AWS_DEFAULT_REGION, path-style addressing from VSDB_S3_PATH_STYLE.
// Credentials never come from the URL (they would end up in shell
// histories): see Open.
func ParseURL(s string) (Config, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Config{}, fmt.Errorf("vsdb: %q is not an object store address; expected s3://bucket/prefix", strings.SplitN(s, "?", 2)[0])
	}
	if u.Scheme != "s3" || u.Host == "" {
		return Config{}, fmt.Errorf("vsdb: %q is not an object store address; expected s3://bucket/prefix", redact(u))
	}
	if u.User != nil {
		return Config{}, fmt.Errorf("vsdb: %q carries credentials; give them in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials instead", redact(u))
	}
	if u.Fragment != "" || u.RawFragment != "" || strings.Contains(s, "#") {
		return Config{}, fmt.Errorf("vsdb: %q has a fragment (#...); an object store address is s3://bucket/prefix?params", redact(u))
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Config{}, fmt.Errorf("vsdb: the parameters of %s do not parse: %v", redact(u), err)
	}
	for k, v := range q {
		if len(v) > 1 {
			return Config{}, fmt.Errorf("vsdb: parameter %q is given %d times in %s", k, len(v), redact(u))
		}
	}
	c := Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), Options: url.Values{}}
	if err := checkBucket(c.Bucket); err != nil {
		return Config{}, fmt.Errorf("vsdb: bucket %q in %s: %v", c.Bucket, redact(u), err)
	}
	if err := checkPrefix(c.Prefix); err != nil {
		return Config{}, fmt.Errorf("vsdb: prefix %q in %s: %v", c.Prefix, redact(u), err)
	}
	if v, ok := q["endpoint"]; ok && v[0] == "" {
		return Config{}, fmt.Errorf("vsdb: endpoint= is empty in %s", redact(u))
	}
	c.Endpoint = first(q.Get("endpoint"), os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL"), "s3.amazonaws.com")
	if err := checkEndpoint(c.Endpoint); err != nil {
		return Config{}, fmt.Errorf("vsdb: endpoint in %s: %v", redact(u), err)
	}
	c.Region = first(q.Get("region"), os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))
	ps := first(q.Get("path_style"), os.Getenv("VSDB_S3_PATH_STYLE"), "false")
	switch ps {
	case "true", "1", "yes":
		c.PathStyle = true
	case "false", "0", "no":
	default:
		return Config{}, fmt.Errorf("vsdb: path_style=%q in %s: expected true or false", ps, redact(u))
	}
	for k, v := range q {
		switch k {
		case "endpoint", "region", "path_style":
		default:
			c.Options[k] = v
		}
	}
	return c, nil
}

// checkBucket applies S3's bucket naming rules (3 to 63 lower-case
// letters, digits, dots and hyphens, starting and ending with a letter or
// digit), with underscores allowed as some S3-compatible servers do.
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("a bucket name has 3 to 63 characters")
	}
	for i, r := range b {
		alnum := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || i == len(b)-1 || !strings.ContainsRune(".-_", r)) {
			return fmt.Errorf("a bucket name has lower-case letters, digits, '.', '-' and '_', and starts and ends with a letter or digit")
		}
	}
	if strings.Contains(b, "..") {
		return fmt.Errorf("a bucket name has no '..'")
	}
	return nil
}

// checkPrefix refuses empty, "." and ".." segments, which servers
// normalize differently.
func checkPrefix(p string) error {
	if p == "" {
		return nil
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("segments of a prefix are not empty, '.' or '..'")
		}
	}
	return nil
}

// checkEndpoint accepts host[:port] or http(s)://host[:port], nothing
// more: a path would be dropped, credentials leak into logs.
func checkEndpoint(e string) error {
	raw := e
	if !strings.Contains(e, "://") {
		raw = "https://" + e
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("it does not parse as host:port or http(s)://host:port")
	}
	// Messages name only the host: the rest may carry a secret.
	switch {
	case u.User != nil:
		return fmt.Errorf("it carries credentials; give them in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials instead")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("scheme %q: expected host:port, http://host:port or https://host:port", u.Scheme)
	case u.Hostname() == "":
		return fmt.Errorf("it names no host")
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%s has a path or parameters; expected host:port, http://host:port or https://host:port", u.Host)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q of %s is not a port number", p, u.Hostname())
		}
	}
	return nil
}

func redact(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return v.String()
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// String is s3://bucket/prefix.
func (c Config) String() string {
	if c.Prefix == "" {
		return "s3://" + c.Bucket
	}
	return "s3://" + c.Bucket + "/" + c.Prefix
}

// S3 is a Bucket on an S3-compatible server, through minio-go.
type S3 struct {
	cfg    Config
	client *minio.Client
}

// Open connects to the bucket of c. Credentials come, in this order, from
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN),
// MINIO_ACCESS_KEY/MINIO_SECRET_KEY, the shared credentials file
// (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile
// AWS_PROFILE), else anonymous. The client itself does not retry (wrap it
// in Retry), so that one policy with one deadline governs every call.
func Open(c Config) (*S3, error) {
	host, secure := c.Endpoint, true
	if u, err := url.Parse(c.Endpoint); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		host, secure = u.Host, u.Scheme == "https"
	}
	lookup := minio.BucketLookupAuto
	if c.PathStyle {
		lookup = minio.BucketLookupPath
	}
	creds := credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.EnvMinio{},
		&credentials.FileAWSCredentials{Filename: sharedCredentials()},
	})
	cl, err := minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: c.Region, BucketLookup: lookup, MaxRetries: 1})
	if err != nil {
		return nil, fmt.Errorf("vsdb: object store %s at %s: %v", c, c.Endpoint, err)
	}
	return &S3{cfg: c, client: cl}, nil
}

func sharedCredentials() string {
	if f := os.Getenv("AWS_SHARED_CREDENTIALS_FILE"); f != "" {
		return f
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".aws", "credentials")
}

// Client is the underlying minio-go client (tests use it to create buckets).
func (s *S3) Client() *minio.Client { return s.client }

func (s *S3) String() string { return s.cfg.String() }

func (s *S3) key(k string) string {
	if s.cfg.Prefix == "" {
		return k
	}
	return s.cfg.Prefix + "/" + k
}

// partSize is the part size of multipart uploads: objects larger than this
// are streamed up in parts of this size (S3's minimum is 5 MiB).
const partSize = 16 << 20

func (s *S3) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.client.PutObject(ctx, s.cfg.Bucket, s.key(key), bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream", PartSize: partSize, DisableContentSha256: true})
	return s.classify(err)
}

// Get reads the whole object. A body that breaks off part way is resumed
// with ranged GETs from the first byte not yet received, so a long
// transfer is not restarted from zero.
func (s *S3) Get(ctx context.Context, key string) ([]byte, error) {
	obj, err := s.client.GetObject(ctx, s.cfg.Bucket, s.key(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, s.classify(err)
	}
	defer obj.Close()
	info, err := obj.Stat()
	if err != nil {
		return nil, s.classify(err)
	}
	buf := make([]byte, info.Size)
	n, err := io.ReadFull(obj, buf)
	for resumes := 0; err != nil && resumes < 3 && n > 0 && int64(n) < info.Size; resumes++ {
		var rest []byte
		rest, err = s.GetRange(ctx, key, int64(n), info.Size-int64(n))
		n += copy(buf[n:], rest)
	}
	if err != nil {
		return nil, s.classify(err)
	}
	return buf, nil
}

func (s *S3) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	var o minio.GetObjectOptions
	if err := o.SetRange(off, off+n-1); err != nil {
		return nil, Permanent(err)
	}
	obj, err := s.client.GetObject(ctx, s.cfg.Bucket, s.key(key), o)
	if err != nil {
		return nil, s.classify(err)
	}
	defer obj.Close()
	buf := make([]byte, n)
	if _, err := io.ReadFull(obj, buf); err != nil {
		return nil, s.classify(err)
	}
	return buf, nil
}

func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	oi, err := s.client.StatObject(ctx, s.cfg.Bucket, s.key(key), minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.classify(err)
	}
	return Info{Key: key, Size: oi.Size, Modified: oi.LastModified}, nil
}

func (s *S3) List(ctx context.Context, prefix string, fn func(Info) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the lister's goroutine when fn fails
	strip := s.key("")
	for oi := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.key(prefix), Recursive: true}) {
		if oi.Err != nil {
			return s.classify(oi.Err)
		}
		if err := fn(Info{Key: strings.TrimPrefix(oi.Key, strip), Size: oi.Size, Modified: oi.LastModified}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *S3) Delete(ctx context.Context, key string) error {
	return s.classify(s.client.RemoveObject(ctx, s.cfg.Bucket, s.key(key), minio.RemoveObjectOptions{}))
}

// EnsureBucket creates the bucket if it does not exist.
func (s *S3) EnsureBucket(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return s.classify(err)
	}
	if ok {
		return nil
	}
	return s.classify(s.client.MakeBucket(ctx, s.cfg.Bucket, minio.MakeBucketOptions{Region: s.cfg.Region}))
}

// classify maps minio-go errors onto ErrNotFound, permanent errors (the
// request itself is wrong: retrying cannot help) and transient ones
// (network, 5xx, throttling, timeouts), which Retry retries.
func (s *S3) classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchKey" || (resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket"):
		return fmt.Errorf("%w", ErrNotFound)
	case resp.Code == "NoSuchBucket":
		return Permanent(fmt.Errorf("bucket %q does not exist at %s", s.cfg.Bucket, s.cfg.Endpoint))
	case resp.StatusCode == http.StatusForbidden || resp.Code == "AccessDenied" || resp.Code == "InvalidAccessKeyId" || resp.Code == "SignatureDoesNotMatch":
		return Permanent(fmt.Errorf("access denied to %s (%s): check the credentials", s, resp.Code))
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return Permanent(err)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return fmt.Errorf("%s unreachable: %w", s.cfg.Endpoint, err)
	}
	return err
}
