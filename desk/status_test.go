package desk

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/temporalio/sqlparser"
)

// visibilityValues parses a visibility query the way Temporal's server does
// (go.temporal.io/server common/persistence/visibility/store/sql/query_converter.go: the query
// behind "select * from table1 where", parsed by github.com/temporalio/sqlparser, a string
// value taken from SQLVal.Val and passed through sqlquery.ParseValue, which trims quotes) and
// returns each compared column's value.
func visibilityValues(t *testing.T, query string) map[string]string {
	t.Helper()
	stmt, err := sqlparser.Parse("select * from table1 where " + query)
	if err != nil {
		t.Fatalf("Temporal's parser refuses %q: %v", query, err)
	}
	out := map[string]string{}
	var walk func(e sqlparser.Expr)
	walk = func(e sqlparser.Expr) {
		switch e := e.(type) {
		case *sqlparser.AndExpr:
			walk(e.Left)
			walk(e.Right)
		case *sqlparser.ComparisonExpr:
			col, okc := e.Left.(*sqlparser.ColName)
			val, okv := e.Right.(*sqlparser.SQLVal)
			if !okc || !okv || val.Type != sqlparser.StrVal {
				t.Fatalf("unexpected comparison %s in %q", sqlparser.String(e), query)
			}
			out[col.Name.String()] = strings.Trim(fmt.Sprintf(`'%s'`, val.Val), "'")
		default:
			t.Fatalf("unexpected expression %T in %q", e, query)
		}
	}
	walk(stmt.(*sqlparser.Select).Where.Expr)
	return out
}

// TestAgentLoadQueryParsesToTheID: the load query names exactly the agent's ID once Temporal's
// parser has read it, for every kind of UserID Tencent accepts — emoji joined with U+200D
// (which strconv.Quote wrote as \u200d, read back as "u200d"), other invisible format
// characters, CJK, and the quoting characters themselves.
func TestAgentLoadQueryParsesToTheID(t *testing.T) {
	for _, id := range []string{
		"agent_emma",
		"👩\u200d💻",      // woman technologist: woman, ZWJ, laptop
		"客服\u200b李",     // zero-width space
		"agent\u00adli", // soft hyphen
		"\u202eagent",   // right-to-left override
		"客服_李", "エージェント", "وكيل",
		`a"b`, `a\b`, `a\u200db`, `a\"`, "a'b", `\`,
		strings.Repeat("😺", 8),
	} {
		t.Run(id, func(t *testing.T) {
			got := visibilityValues(t, AgentLoadQuery(id))
			want := map[string]string{StatusAttribute: StatusHuman, AgentAttribute: id, "ExecutionStatus": "Running"}
			if len(got) != len(want) {
				t.Fatalf("query %q compares %v, want %v", AgentLoadQuery(id), got, want)
			}
			for col, v := range want {
				if got[col] != v {
					t.Errorf("query %q: %s = %q after parsing, want %q", AgentLoadQuery(id), col, got[col], v)
				}
			}
		})
	}
}

func TestQueuedQueriesParse(t *testing.T) {
	since := time.Date(2026, 12, 5, 15, 4, 5, 123456789, time.FixedZone("CST", 8*3600))
	for _, self := range []string{"", "consultation/客户_王", "consultation/👩\u200d💻"} {
		got := visibilityValues(t, QueuedAheadQuery(since, self))
		if got[StatusAttribute] != StatusQueued || got["ExecutionStatus"] != "Running" || got[QueuedSinceAttribute] != "2026-12-05T07:04:05.123456789Z" ||
			got["WorkflowId"] != self || len(got) != 3+min(len(self), 1) {
			t.Errorf("QueuedAheadQuery(%q) parses to %v", self, got)
		}
	}
}
