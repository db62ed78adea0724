package planner

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/vsdb/vsdb/query"
	"github.com/vsdb/vsdb/tensor"
)

// TestFuseReportsProgress: FUSE, streamed, whole-tensor or in factored
// space, returned or INTO, reports (0, total) first, never goes back, ends
// at (total, total) with total the output's bytes, and returns what it
// returns without a progress function.
func TestFuseReportsProgress(t *testing.T) {
	m := lowRankFixture()
	for k, model := range []string{"x", "y"} {
		m.add(model, "layers.0.w", tensor.F32, tensor.Shape{300}, ramp(300, float32(1-3*k), 0.01*float32(1+k)))
		m.add(model, "layers.1.w", tensor.F16, tensor.Shape{10, 7}, ramp(70, float32(k), -0.03))
	}
	const xy = 300*4 + 70*2
	cases := []struct {
		stmt  string
		total int64
	}{
		{"FUSE x, y WEIGHTS 0.3, 0.7", xy},
		{"FUSE x, y WEIGHTS 0.3, 0.7 INTO s", xy},
		{"FUSE x, y USING slerp(t = 0.3) INTO w", xy},
		{"FUSE ft1, ft2 WEIGHTS 0.5, 0.5 INTO f", 8*6*4 + 3*4},
	}
	for _, c := range cases {
		plain := runStatement(t, m, context.Background(), c.stmt)
		var reports [][2]int64
		ctx := WithProgress(context.Background(), func(done, total int64) {
			reports = append(reports, [2]int64{done, total})
		})
		got := runStatement(t, m, ctx, c.stmt)
		if !reflect.DeepEqual(got, plain) {
			t.Errorf("%s: the result changed with a progress function", c.stmt)
		}
		if err := checkReports(reports, c.total); err != nil {
			t.Errorf("%s: %v", c.stmt, err)
		}
	}
}

// runStatement runs stmt on m; a model it makes is dropped again.
func runStatement(t *testing.T, m *memStorage, ctx context.Context, src string) *Result {
	t.Helper()
	stmt, err := query.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(src, stmt, m)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, p, m)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	if into := p.Root.(*FuseNode).Into; into != "" {
		if err := m.DeleteModel(into); err != nil {
			t.Fatal(err)
		}
	}
	return res
}

func checkReports(reports [][2]int64, total int64) error {
	if len(reports) < 2 || reports[0] != [2]int64{0, total} || reports[len(reports)-1] != [2]int64{total, total} {
		return fmt.Errorf("reports %v: want (0, %d) first and (%d, %d) last", reports, total, total, total)
	}
	for i := 1; i < len(reports); i++ {
		if reports[i][0] < reports[i-1][0] || reports[i][1] != total {
			return fmt.Errorf("report %d is %v after %v", i, reports[i], reports[i-1])
		}
	}
	return nil
}
