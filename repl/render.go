package repl

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vsdb/vsdb/engine"
)

// WriteTable prints a result as an aligned table followed by a row count.
func WriteTable(w io.Writer, r *engine.Result) error {
	if len(r.Columns) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(r.Columns, "\t"))
	for _, row := range r.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = cell(r.Columns[i], v)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "(%d %s)\n", len(r.Rows), plural(len(r.Rows), "row"))
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// cell formats one value; byte counts get human units.
func cell(col string, v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case int64:
		if strings.HasSuffix(col, "bytes") {
			return humanBytes(x)
		}
	case []int64:
		parts := make([]string, len(x))
		for i, d := range x {
			parts[i] = fmt.Sprint(d)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case float64:
		return fmt.Sprintf("%.3g", x)
	}
	return printable(fmt.Sprint(v))
}

// maxCell is the widest a table cell is printed.
const maxCell = 120

// printable escapes control characters (a tensor name may hold a newline)
// and shortens very long cells so one odd name cannot wreck the table.
func printable(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		s = strconv.Quote(s)
	}
	if r := []rune(s); len(r) > maxCell {
		s = string(r[:maxCell-1]) + "…"
	}
	return s
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// WriteJSON prints a result's rows as a JSON array of objects ([] when
// empty), each with its keys in the result's column order.
func WriteJSON(w io.Writer, r *engine.Result) error {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, row := range r.JSONRows() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('{')
		for j, v := range row {
			if j > 0 {
				b.WriteByte(',')
			}
			key, err := json.Marshal(r.Columns[j])
			if err != nil {
				return err
			}
			val, err := json.Marshal(v)
			if err != nil {
				return err
			}
			b.Write(key)
			b.WriteByte(':')
			b.Write(val)
		}
		b.WriteByte('}')
	}
	b.WriteString("]\n")
	_, err := w.Write(b.Bytes())
	return err
}

// WriteCSV prints a result as CSV: a header row, then the rows (numbers in
// full, shapes as [2, 3], null as empty).
func WriteCSV(w io.Writer, r *engine.Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(r.Columns); err != nil {
		return err
	}
	for _, row := range r.JSONRows() {
		rec := make([]string, len(row))
		for i, v := range row {
			rec[i] = csvCell(v)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []int64:
		return cell("", x)
	}
	return fmt.Sprint(v)
}
