package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/api"
	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore/audit"
	"github.com/hrss-ledger/ledger/eventstore/memory"
	"github.com/hrss-ledger/ledger/eventstore/writer"
)

// inChina is a wall-clock time in the business zone.
func inChina(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, businessZone)
	if err != nil {
		panic(err)
	}
	return t
}

// setBusinessClock makes the checkpointer's clock read at, starting the
// business day there when start is set (as if the server opened then).
func setBusinessClock(c *checkpointer, at time.Time, start bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = func() time.Time { return at }
	if start {
		c.day = businessDay(at)
	}
}

// ledgerRun runs the binary's run and returns its exit status and output.
func ledgerRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := ledgerRun(t, args...)
	if code != 0 {
		t.Fatalf("ledger %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

func saveFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// auditCheckpoints returns the recorded checkpoints as the API lists them, raw.
func auditCheckpoints(t *testing.T, s *testServer) []json.RawMessage {
	t.Helper()
	var list struct {
		Checkpoints []json.RawMessage `json:"checkpoints"`
	}
	if err := json.Unmarshal(s.must(200, "GET", "/v1/audit/checkpoints", auditor, nil).raw, &list); err != nil {
		t.Fatal(err)
	}
	return list.Checkpoints
}

func checkpointOf(t *testing.T, raw json.RawMessage) audit.Checkpoint {
	t.Helper()
	var cp audit.Checkpoint
	if err := json.Unmarshal(raw, &cp); err != nil {
		t.Fatal(err)
	}
	return cp
}

// asOfDates are the dates at which the API and the offline replay must agree.
var asOfDates = []string{"2017-01-31", "2017-02-28", "2017-03-10", "2017-12-31"}

// recordHistory adds allocations and a payment on several dates to seedCity's
// city and returns the payment's log position.
func recordHistory(s *testServer, person string) uint64 {
	s.must(201, "POST", "/v1/funds/AK-EMP/allocations", officer, map[string]any{"amount": "20000.00", "date": "2017-02-10", "document": "安财社〔2017〕9号"})
	paid := s.must(201, "POST", "/v1/subsidies", officer, map[string]any{"program_id": "P-STARTUP", "beneficiary_id": person,
		"fund_id": "AK-EMP", "amount": "5000", "date": "2017-03-01", "document": "安人社发〔2017〕8号"})
	s.must(201, "POST", "/v1/funds/AK-EMP/allocations", officer, map[string]any{"amount": "30000.50", "date": "2017-03-15", "document": "安财社〔2017〕12号"})
	return uint64(paid.body["position"].(float64))
}

// asOfAnswers fetches the fund and the progress of the city from the API at each date.
func asOfAnswers(s *testServer) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, date := range asOfDates {
		out["funds "+date] = s.must(200, "GET", "/v1/funds/AK-EMP?as_of="+date, auditor, nil).body
		out["progress "+date] = s.must(200, "GET", "/v1/progress?region=610900&year=2017&as_of="+date, auditor, nil).body
	}
	return out
}

// withoutPosition drops the log position a report was read at: the replay
// reads a log that grew by the shutdown checkpoint, which moves no figure.
func withoutPosition(v any) string {
	m, _ := v.(map[string]any)
	delete(m, "position")
	data, _ := json.Marshal(m)
	return string(data)
}

// TestAuditEndToEnd runs the audit on a real server and data directory:
// day-close checkpoints through the writer, proofs over HTTP checked offline
// by the CLI, a shutdown checkpoint, `ledger verify` with the deployment key,
// replay against the as-of API answers, and an evidence package.
func TestAuditEndToEnd(t *testing.T) {
	data, files := t.TempDir(), t.TempDir()
	s := startServer(t, data)
	cp := s.m.audit.cp
	setBusinessClock(cp, inChina("2017-03-30 09:00"), true)
	person := seedCity(s)
	paid := recordHistory(s, person)

	setBusinessClock(cp, inChina("2017-03-31 00:01"), false)
	if err := waitThen(cp, cp.closeDayIfChanged); err != nil {
		t.Fatalf("first day close: %v", err)
	}
	s.must(201, "POST", "/v1/funds/AK-EMP/allocations", officer, map[string]any{"amount": "1.00", "date": "2017-03-31", "document": "安财社〔2017〕13号"})
	setBusinessClock(cp, inChina("2017-04-01 00:01"), false)
	if err := waitThen(cp, cp.closeDayIfChanged); err != nil {
		t.Fatalf("second day close: %v", err)
	}
	listed := auditCheckpoints(t, s)
	if len(listed) != 2 {
		t.Fatalf("got %d checkpoints, want 2", len(listed))
	}
	older, newer := checkpointOf(t, listed[0]), checkpointOf(t, listed[1])
	key := saveFile(t, files, "audit.pub", s.must(200, "GET", "/v1/audit/public-key", auditor, nil).raw)
	oldFile, newFile := saveFile(t, files, "old.json", listed[0]), saveFile(t, files, "new.json", listed[1])

	t.Run("each day close is recorded with the period it closes", func(t *testing.T) {
		var got []string
		for _, raw := range listed {
			var c struct{ Period, Date string }
			_ = json.Unmarshal(raw, &c)
			got = append(got, c.Period+" "+c.Date)
		}
		if want := "[day 2017-03-30 quarter 2017-03-31]"; fmt.Sprint(got) != want {
			t.Errorf("got %v, want %s", got, want)
		}
	})

	inclusion := s.must(200, "GET", fmt.Sprintf("/v1/audit/proof/inclusion?position=%d&size=%d", paid, newer.LogSize), auditor, nil).raw
	proofFile := saveFile(t, files, "inclusion.json", inclusion)
	t.Run("an inclusion proof from the server verifies offline", func(t *testing.T) {
		out := mustRun(t, "audit", "verify-proof", "--key", key, "--checkpoint", newFile, "--proof", proofFile)
		if !strings.Contains(out, fmt.Sprintf("position %d", paid)) {
			t.Errorf("got %q, want it to name position %d", out, paid)
		}
	})

	t.Run("a proof for an altered event does not verify", func(t *testing.T) {
		altered := bytes.Replace(inclusion, []byte(`\"amount\":\"5000\"`), []byte(`\"amount\":\"50000\"`), 1)
		if bytes.Equal(altered, inclusion) {
			t.Fatalf("the proof does not carry the payment's amount: %s", inclusion)
		}
		if code, _, _ := ledgerRun(t, "audit", "verify-proof", "--key", key, "--checkpoint", newFile,
			"--proof", saveFile(t, files, "altered.json", altered)); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
	})

	t.Run("a proof checked against another checkpoint does not verify", func(t *testing.T) {
		if code, _, _ := ledgerRun(t, "audit", "verify-proof", "--key", key, "--checkpoint", oldFile, "--proof", proofFile); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
	})

	consistency := saveFile(t, files, "consistency.json", s.must(200, "GET",
		fmt.Sprintf("/v1/audit/proof/consistency?from=%d&to=%d", older.LogSize, newer.LogSize), auditor, nil).raw)
	t.Run("a consistency proof between the two checkpoints verifies offline", func(t *testing.T) {
		mustRun(t, "audit", "verify-proof", "--key", key, "--checkpoint", newFile, "--old-checkpoint", oldFile, "--proof", consistency)
	})

	t.Run("a consistency proof with the checkpoints swapped does not verify", func(t *testing.T) {
		if code, _, _ := ledgerRun(t, "audit", "verify-proof", "--key", key, "--checkpoint", oldFile, "--old-checkpoint", newFile, "--proof", consistency); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
	})

	t.Run("the server verifies its log and both checkpoints", func(t *testing.T) {
		report := s.must(200, "GET", "/v1/audit/verify", auditor, nil).body
		if report["ok"] != true || report["checkpoints_checked"] != float64(2) {
			t.Errorf("got %v, want ok with 2 checkpoints checked", report)
		}
	})

	// The last command after the second checkpoint makes shutdown sign again.
	s.must(201, "POST", "/v1/funds/AK-EMP/allocations", officer, map[string]any{"amount": "2.00", "date": "2017-04-01", "document": "安财社〔2017〕14号"})
	answers := asOfAnswers(s)
	head := s.m.writer.Head()
	s.stop()

	t.Run("shutdown recorded a checkpoint of the whole log and verify checks all three", func(t *testing.T) {
		var report verifyReport
		if err := json.Unmarshal([]byte(mustRun(t, "verify", "--data", data, "--key", key)), &report); err != nil {
			t.Fatal(err)
		}
		if !report.OK || report.Checkpoints != 3 || report.EventsChecked != head+1 || report.TrialBalance != "0.00" {
			t.Errorf("got %+v, want ok, 3 checkpoints, %d events, balance 0.00", report, head+1)
		}
	})

	t.Run("replay --as-of equals the as-of API answers", func(t *testing.T) {
		for _, date := range asOfDates {
			var funds []any
			if err := json.Unmarshal([]byte(mustRun(t, "replay", "--data", data, "--view", "funds", "--as-of", date)), &funds); err != nil || len(funds) != 1 {
				t.Fatalf("replay funds at %s: %v (%d funds)", date, err, len(funds))
			}
			if got, want := withoutPosition(funds[0]), withoutPosition(answers["funds "+date]); got != want {
				t.Errorf("funds at %s:\n got %s\nwant %s", date, got, want)
			}
			var progress any
			if err := json.Unmarshal([]byte(mustRun(t, "replay", "--data", data, "--view", "progress", "--region", "610900", "--as-of", date)), &progress); err != nil {
				t.Fatal(err)
			}
			if got, want := withoutPosition(progress), withoutPosition(answers["progress "+date]); got != want {
				t.Errorf("progress at %s:\n got %s\nwant %s", date, got, want)
			}
		}
	})

	evidence := filepath.Join(files, "evidence")
	t.Run("an evidence package of the fund verifies with the CLI alone", func(t *testing.T) {
		mustRun(t, "audit", "export", "--data", data, "--account", "fund:AK-EMP", "--out", evidence)
		var report audit.EvidenceReport
		if err := json.Unmarshal([]byte(mustRun(t, "audit", "verify-evidence", "--key", key, evidence)), &report); err != nil {
			t.Fatal(err)
		}
		if report.Account != "fund:AK-EMP" || report.Entries != 6 || report.Checkpoint.LogSize != head+1 {
			t.Errorf("got %+v, want 6 entries of fund:AK-EMP under a checkpoint of %d events", report, head+1)
		}
	})

	t.Run("an evidence package with an altered history does not verify", func(t *testing.T) {
		csv := filepath.Join(evidence, audit.HistoryCSVFile)
		raw, err := os.ReadFile(csv)
		if err != nil {
			t.Fatal(err)
		}
		saveFile(t, evidence, audit.HistoryCSVFile, bytes.Replace(raw, []byte("5000"), []byte("500"), 1))
		if code, _, _ := ledgerRun(t, "audit", "verify-evidence", "--key", key, evidence); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
	})

	t.Run("a checkpoint on demand covers the log and is recorded in it", func(t *testing.T) {
		got := checkpointOf(t, json.RawMessage(mustRun(t, "audit", "checkpoint", "--data", data)))
		if got.LogSize != head+2 {
			t.Errorf("got a checkpoint of %d events, want %d", got.LogSize, head+2)
		}
		var report verifyReport
		_ = json.Unmarshal([]byte(mustRun(t, "verify", "--data", data)), &report)
		if report.Checkpoints != 5 {
			t.Errorf("verify checked %d checkpoints, want 5", report.Checkpoints)
		}
	})
}

// TestCheckpointerSignsEachDayCloseOnlyWhenTheLogGrew drives the schedule
// with an injected clock over a real writer and log.
func TestCheckpointerSignsEachDayCloseOnlyWhenTheLogGrew(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	defer store.Close()
	w, err := writer.Open(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	a, err := openAudit(ctx, t.TempDir(), store, w)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	c := a.cp
	setBusinessClock(c, inChina("2017-03-30 09:00"), true)
	region := 0
	record := func(n int) {
		for range n {
			region++
			cmd := domain.DefineRegion{Code: fmt.Sprintf("61%04d", region), Name: "区", Date: domain.MustDate("2017-03-30")}
			if _, err := w.Execute(ctx, writer.Request{Command: cmd, CommandID: cmd.Code, Fingerprint: cmd.Code, Actor: "t"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	steps := []struct {
		name  string
		do    func() error
		want  string // the checkpoints recorded so far: size@date
		grows int    // commands recorded before the step
	}{
		{name: "nothing is signed while the day lasts", grows: 2,
			do: func() error { setBusinessClock(c, inChina("2017-03-30 23:59"), false); return c.closeDayIfChanged(ctx) }},
		{name: "the day closes at midnight in China, not in UTC", want: "2@2017-03-30",
			do: func() error {
				setBusinessClock(c, time.Date(2017, 3, 30, 16, 1, 0, 0, time.UTC), false)
				return waitThen(c, c.closeDayIfChanged)
			}},
		{name: "the same day is not closed twice", want: "2@2017-03-30",
			do: func() error { setBusinessClock(c, inChina("2017-03-31 12:00"), false); return c.closeDayIfChanged(ctx) }},
		{name: "a day with no new events is not signed", want: "2@2017-03-30",
			do: func() error { setBusinessClock(c, inChina("2017-04-01 00:01"), false); return c.closeDayIfChanged(ctx) }},
		{name: "a day with new events is signed, its own checkpoint included", grows: 1, want: "2@2017-03-30 4@2017-04-01",
			do: func() error {
				setBusinessClock(c, inChina("2017-04-02 00:01"), false)
				return waitThen(c, c.closeDayIfChanged)
			}},
		{name: "shutdown signs nothing when nothing was added", want: "2@2017-03-30 4@2017-04-01",
			do: func() error { return c.recordIfGrown(ctx) }},
		{name: "shutdown signs the whole log when it grew", grows: 1, want: "2@2017-03-30 4@2017-04-01 6@2017-04-02",
			do: func() error { return c.recordIfGrown(ctx) }},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			record(step.grows)
			if err := step.do(); err != nil {
				t.Fatal(err)
			}
			if got := recordedSizes(t, store); got != step.want {
				t.Errorf("got checkpoints %q, want %q", got, step.want)
			}
		})
	}
	t.Run("a restarted server knows the log has not grown since", func(t *testing.T) {
		again, err := newCheckpointer(ctx, store, a.tree, a.signer, w, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		if err := waitForTree(ctx, a.tree, w.Head()); err != nil {
			t.Fatal(err)
		}
		if again.grown() {
			t.Errorf("got grown at tree size %d, last checkpoint at %d", a.tree.Size(), again.last)
		}
	})
}

// waitThen lets the tree reach the writer's head before a day close, so
// that the checkpoint's size is the one the test names.
func waitThen(c *checkpointer, step func(context.Context) error) error {
	if err := waitForTree(context.Background(), c.tree, c.writer.Head()); err != nil {
		return err
	}
	return step(context.Background())
}

func recordedSizes(t *testing.T, store *memory.Store) string {
	t.Helper()
	events, err := store.ReadStream(context.Background(), audit.CheckpointStream)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		var body audit.CheckpointBody
		if err := json.Unmarshal(e.Data, &body); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d@%s", body.LogSize, body.Date))
	}
	return strings.Join(out, " ")
}

// TestProofErrorsMapToTheAPIs checks the tree's errors as the API sees them.
func TestProofErrorsMapToTheAPIs(t *testing.T) {
	other := errors.New("read failed")
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"a size outside the tree is a range error", fmt.Errorf("proof: %w", audit.ErrTreeSize), api.ErrProofRange},
		{"a log that no longer matches its tree is an altered log", fmt.Errorf("proof: %w", audit.ErrLogChanged), api.ErrLogAltered},
		{"any other error passes through", other, other},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := proofRange(c.err); !errors.Is(got, c.want) {
				t.Errorf("got %v, want it to wrap %v", got, c.want)
			}
		})
	}
}
