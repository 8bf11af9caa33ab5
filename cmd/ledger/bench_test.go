package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHTTPCommands64 drives the real server over loopback HTTP from 64
// concurrent clients, every command acknowledged only after its events are
// fsynced: half fund allocations, half placements.
func BenchmarkHTTPCommands64(b *testing.B) {
	const clients = 64
	tokens := filepath.Join(b.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte(testTokens), 0o600); err != nil {
		b.Fatal(err)
	}
	quietLogs(b)
	m, err := Open(context.Background(), Config{DataDir: b.TempDir(), Listen: "127.0.0.1:0", TokensFile: tokens})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done; m.Close() }()
	persons := benchSeed(b, m.URL())

	transport := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	var next atomic.Int64
	var mu sync.Mutex
	latencies := make([]time.Duration, 0, 1<<16)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			var mine []time.Duration
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					break
				}
				t0 := time.Now()
				if err := benchCommand(client, m.URL(), persons, n); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(latencies)
	if len(latencies) > 0 {
		b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "commands/s")
		b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	}
}

func benchSeed(b *testing.B, url string) []string {
	post := func(path, body string) []byte {
		req, _ := http.NewRequest("POST", url+path, bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+officer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		if resp.StatusCode >= 300 {
			b.Fatalf("%s: %d %s", path, resp.StatusCode, buf.Bytes())
		}
		return buf.Bytes()
	}
	post("/v1/regions", `{"code":"610000","name":"陕西省"}`)
	post("/v1/regions", `{"code":"610900","name":"安康市","parent_code":"610000"}`)
	post("/v1/funds", `{"fund_id":"F","name":"就业补助资金","kind":"employment_subsidy","region_code":"610900"}`)
	var persons []string
	for i := range benchPersons {
		out := post("/v1/beneficiaries", fmt.Sprintf(`{"kind":"person","id_number":%q,"name":"张三","region_code":"610900"}`, benchIDNumber(i)))
		var answer struct {
			BeneficiaryID string `json:"beneficiary_id"`
		}
		if err := json.Unmarshal(out, &answer); err != nil {
			b.Fatal(err)
		}
		persons = append(persons, answer.BeneficiaryID)
	}
	return persons
}

// benchPersons spreads placements over many people, as real placements are.
const benchPersons = 256

// benchIDNumber makes the i-th valid resident ID number (GB 11643 checksum).
func benchIDNumber(i int) string {
	first17 := fmt.Sprintf("610902%s%03d", time.Date(1970, 1, 1+i, 0, 0, 0, 0, time.UTC).Format("20060102"), i%1000)
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for k, w := range weights {
		sum += int(first17[k]-'0') * w
	}
	return first17 + string("10X98765432"[sum%11])
}

func benchCommand(client *http.Client, url string, persons []string, n int64) error {
	path, body := "/v1/funds/F/allocations", `{"amount":"1.00","date":"2026-01-05","document":"bench"}`
	if n%2 == 1 {
		path = "/v1/placements"
		body = fmt.Sprintf(`{"placement_id":"P%d","beneficiary_id":%q,"kind":"urban_job","region_code":"610900","date":"2026-03-01"}`, n, persons[n%benchPersons])
	}
	req, err := http.NewRequest("POST", url+path, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+officer)
	req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d", n))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("%s: %d %s", path, resp.StatusCode, buf.Bytes())
	}
	return nil
}

// quietLogs sends the in-process server's logs nowhere for the benchmark:
// printed on stderr they would split the benchmark's result line, which
// scripts read.
func quietLogs(b *testing.B) {
	previous := slog.Default()
	slog.SetDefault(slog.New(slog.DiscardHandler))
	b.Cleanup(func() { slog.SetDefault(previous) })
}
