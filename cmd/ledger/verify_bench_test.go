package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/eventstore/audit"
)

// BenchmarkLedgerVerify runs what `ledger verify` runs (raw read of the
// stream, hash chain, Merkle tree, replay of every event through the
// domain and the postings) over a log of 1,000,000 realistic events
// (LEDGER_VERIFY_EVENTS to choose), built once through the writer and kept
// under the system's temporary directory for later runs.
func BenchmarkLedgerVerify(b *testing.B) {
	events := 1_000_000
	if s := os.Getenv("LEDGER_VERIFY_EVENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		events = n
	}
	data := filepath.Join(os.TempDir(), fmt.Sprintf("ledger-verify-bench-%d-v1", events))
	complete := filepath.Join(data, "complete")
	if _, err := os.Stat(complete); err != nil {
		_ = os.RemoveAll(data)
		buildScaleLog(b, data, events)
		if err := os.WriteFile(complete, nil, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	var checked uint64
	var elapsed time.Duration
	for b.Loop() {
		log, err := openVerifiable(ctx, storeFlags{dataDir: data})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		report, err := verifyLog(ctx, log, audit.VerifyOptions{})
		elapsed += time.Since(start)
		log.Close()
		if err != nil {
			b.Fatalf("verify: %v", err)
		}
		checked += report.EventsChecked
	}
	b.ReportMetric(float64(checked)/elapsed.Seconds(), "events/s")
}
