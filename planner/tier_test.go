package planner

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/query"
)

// runStmt parses, plans and runs one statement against st.
func runStmt(t *testing.T, st Storage, src string) (*Result, error) {
	t.Helper()
	stmt, err := query.Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	p, err := Build(src, stmt, st)
	if err != nil {
		return nil, err
	}
	return Run(context.Background(), p, st)
}

// An error of the object store reaches the caller as the Storage returned
// it: the same value, not wrapped or reworded.
func TestTierErrorsPassThrough(t *testing.T) {
	st := tierFixture()
	st.tier.err = errors.New("vsdb: ATTACH: listing models in s3://models/zoo: connection refused")
	for _, src := range []string{
		"ATTACH ALL",
		"ATTACH MODEL llama FROM 's3://models/zoo'",
		"DETACH MODEL bert",
		"VACUUM",
		"EXPLAIN ANALYZE VACUUM",
		"STATS",
	} {
		res, err := runStmt(t, st, src)
		if err != st.tier.err {
			t.Errorf("%s: got %v, %v; want the storage's error %q", src, res, err, st.tier.err)
		}
	}
	// STATS of one model does not ask for the tier.
	if _, err := runStmt(t, st, "STATS bert"); err != nil {
		t.Errorf("STATS bert: %v", err)
	}
}

// Without an object store the three statements fail with the storage's
// error, and STATS adds no tier rows.
func TestTierStatementsNeedObjectStore(t *testing.T) {
	st := fixture()
	for src, what := range map[string]string{
		"ATTACH ALL":       "ATTACH",
		"ATTACH MODEL zzz": "ATTACH",
		"DETACH MODEL a":   "DETACH",
		"VACUUM":           "VACUUM",
	} {
		_, err := runStmt(t, st, src)
		want := "vsdb: " + what + " needs an object store; open the store with --store s3://bucket/prefix"
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %q", src, err, want)
		}
	}
	res, err := runStmt(t, st, "STATS")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range res.Rows {
		if row[0] == tierModel {
			t.Fatalf("STATS of a store without an object store has a tier row: %v", row)
		}
	}
}

// A failure partway through ATTACH (a delta model whose base the bucket
// lacks) is an error.
func TestAttachPartialFailure(t *testing.T) {
	st := tierFixture()
	delete(st.tier.bucket, "llama") // llama-ft's base is gone from the bucket
	_, err := runStmt(t, st, "ATTACH MODEL llama-ft")
	if err == nil || !strings.Contains(err.Error(), `no model "llama" in s3://models/zoo`) {
		t.Fatalf("got %v", err)
	}
}
