package objstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Policy says how Retry retries: Attempts at most, waiting Base, 2·Base,
// 4·Base ... (at most Max, each with full jitter) in between, and giving up
// when Deadline has passed since the first attempt.
type Policy struct {
	Attempts int
	Base     time.Duration
	Max      time.Duration
	Deadline time.Duration
}

// DefaultPolicy retries for up to a minute: enough to ride out an object
// server restart, short enough that a store that is down fails clearly.
var DefaultPolicy = Policy{Attempts: 12, Base: 100 * time.Millisecond, Max: 5 * time.Second, Deadline: time.Minute}

// Retry wraps b so that every call is retried under p. Errors that
// retrying cannot cure (IsPermanent) return at once.
func Retry(b Bucket, p Policy) Bucket {
	if p.Attempts <= 0 {
		p.Attempts = 1
	}
	return &retrying{b: b, p: p}
}

type retrying struct {
	b Bucket
	p Policy
}

func (r *retrying) String() string { return r.b.String() }

// do runs fn until it succeeds, fails permanently, or the policy gives up;
// the error then says what was tried and for how long.
func (r *retrying) do(ctx context.Context, what string, fn func(context.Context) error) error {
	start := time.Now()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, r.p.Deadline)
	defer cancel()
	var err error
	attempt := 0
	for attempt = 1; ; attempt++ {
		err = fn(ctx)
		if err == nil || IsPermanent(err) || attempt >= r.p.Attempts {
			break
		}
		wait := r.p.Base << (attempt - 1)
		if wait > r.p.Max || wait <= 0 {
			wait = r.p.Max
		}
		wait = time.Duration(rand.Int64N(int64(wait)) + 1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return err
	case parent.Err() != nil:
		// The caller gave up (Ctrl-C, a statement timeout), not the policy.
		return fmt.Errorf("%s: %w (after %d attempts: %v)", what, context.Cause(parent), attempt, err)
	case attempt > 1:
		return fmt.Errorf("%s: %w (gave up after %d attempts in %s)", what, err, attempt, time.Since(start).Round(time.Millisecond))
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (r *retrying) Put(ctx context.Context, key string, data []byte) error {
	return r.do(ctx, "PUT "+key, func(ctx context.Context) error { return r.b.Put(ctx, key, data) })
}

func (r *retrying) Get(ctx context.Context, key string) (out []byte, err error) {
	err = r.do(ctx, "GET "+key, func(ctx context.Context) error {
		out, err = r.b.Get(ctx, key)
		return err
	})
	return out, err
}

func (r *retrying) GetRange(ctx context.Context, key string, off, n int64) (out []byte, err error) {
	err = r.do(ctx, fmt.Sprintf("GET %s [%d, %d)", key, off, off+n), func(ctx context.Context) error {
		out, err = r.b.GetRange(ctx, key, off, n)
		return err
	})
	return out, err
}

func (r *retrying) Stat(ctx context.Context, key string) (info Info, err error) {
	err = r.do(ctx, "HEAD "+key, func(ctx context.Context) error {
		info, err = r.b.Stat(ctx, key)
		return err
	})
	return info, err
}

// List retries the whole listing; fn may therefore see an object twice
// when a listing broke off and was restarted, which callers that build
// sets or counts by key tolerate.
func (r *retrying) List(ctx context.Context, prefix string, fn func(Info) error) error {
	seen := map[string]bool{}
	var fnErr error
	err := r.do(ctx, "LIST "+prefix, func(ctx context.Context) error {
		return r.b.List(ctx, prefix, func(i Info) error {
			if seen[i.Key] {
				return nil
			}
			seen[i.Key] = true
			if fnErr = fn(i); fnErr != nil {
				return Permanent(fnErr)
			}
			return nil
		})
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

func (r *retrying) Delete(ctx context.Context, key string) error {
	return r.do(ctx, "DELETE "+key, func(ctx context.Context) error { return r.b.Delete(ctx, key) })
}
