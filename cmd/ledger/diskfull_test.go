package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Bounds of the disk-full test.
const (
	fullStoreBytes    = 1 << 20  // the JetStream store's size while "full"
	roomyStoreBytes   = 64 << 20 // after space returns
	fullMaxCommands   = 20_000   // commands tried before the store must be full
	fullRecoveryBound = 30 * time.Second
)

// startLimitedNATS runs one nats-server node with fsync on every write and
// a store of at most maxStore bytes, at a fixed address and directory.
func startLimitedNATS(t *testing.T, addr, dir string, maxStore int64) *server.Server {
	t.Helper()
	host, port := splitAddr(t, addr)
	s, err := server.NewServer(&server.Options{ServerName: "full", Host: host, Port: port,
		JetStream: true, StoreDir: filepath.Join(dir, "jetstream"), SyncAlways: true, JetStreamMaxStore: maxStore,
		NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(clusterReadyTimeout) {
		t.Fatal("nats not ready")
	}
	return s
}

// TestServeDiskFull fills the event store until it has no room left: the
// commands are refused with a clear 503 (problem+json) while queries still
// answer, nothing acknowledged is lost, and once space returns (the node
// restarts with a larger store) commands are accepted again with no
// restart of the ledger.
//
// The store fills up through JetStream's storage limit (max_store), which
// nats-server enforces before it writes, on every machine and without
// privileges. A real ENOSPC needs a small filesystem (a tmpfs mount, root
// only), and nats-server then disables JetStream until it is restarted,
// which ends the same way: refusals with 503, then recovery after restart.
func TestServeDiskFull(t *testing.T) {
	addr, dir := freeAddr(t), t.TempDir()
	node := startLimitedNATS(t, addr, dir, fullStoreBytes)
	t.Cleanup(func() { node.Shutdown(); node.WaitForShutdown() })
	m := startLedger(t, "nats://"+addr, 1, writeTokens(t))
	g, err := newLoadgen(loadgenConfig{URLs: []string{m.URL()}, Token: officer, AuditToken: auditor, Clients: 1, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := g.setup(ctx); err != nil {
		t.Fatal(err)
	}

	refused := fillUntilRefused(t, g, m.URL())
	t.Logf("store full after %d acknowledged commands: %s", g.ackedCount(), refused)
	for _, path := range []string{"/v1/funds/" + g.fund, "/v1/progress?region=" + g.root + "&year=2026", "/healthz"} {
		if status, body, err := g.send(ctx, http.MethodGet, m.URL()+path, viewer, nil); err != nil || status != http.StatusOK {
			t.Errorf("query %s while full: %d %v %s", path, status, err, body)
		}
	}

	node.Shutdown()
	node.WaitForShutdown()
	node = startLimitedNATS(t, addr, dir, roomyStoreBytes)
	recovered := time.Now()
	for n := 0; ; n++ {
		status, body, err := fullCommand(g, m.URL(), fmt.Sprintf("after-%d", n))
		if err == nil && status == http.StatusCreated {
			break
		}
		if time.Since(recovered) > fullRecoveryBound {
			t.Fatalf("no command accepted %v after space returned: %d %v %s", fullRecoveryBound, status, err, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("commands accepted again %v after space returned", time.Since(recovered).Round(time.Millisecond))

	v, err := g.verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(v)
	if err := v.err(); err != nil {
		t.Error(err)
	}
}

// fillUntilRefused posts placements until the server refuses one with 503
// and returns that refusal's detail; it fails the test on any other answer.
func fillUntilRefused(t *testing.T, g *loadgen, url string) string {
	t.Helper()
	for n := range fullMaxCommands {
		status, body, err := fullCommand(g, url, fmt.Sprint(n))
		switch {
		case err != nil:
			t.Fatalf("command %d: %v", n, err)
		case status == http.StatusCreated:
			continue
		case status != http.StatusServiceUnavailable:
			t.Fatalf("command %d: got %d %s, want 201 or 503", n, status, body)
		}
		var problem struct {
			Status int    `json:"status"`
			Title  string `json:"title"`
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal(body, &problem); err != nil || problem.Status != http.StatusServiceUnavailable || problem.Detail == "" {
			t.Fatalf("refusal: got %s, want a problem+json 503 with a detail", body)
		}
		return problem.Title + ": " + problem.Detail
	}
	t.Fatalf("%d commands accepted by a store of %d bytes", fullMaxCommands, fullStoreBytes)
	return ""
}

// fullCommand posts one placement once (no retry) and records it if acknowledged.
func fullCommand(g *loadgen, url, n string) (int, []byte, error) {
	key := g.key("full", 0) + "-" + n
	body, err := json.Marshal(map[string]any{"placement_id": "LG-" + g.run + "-F" + n, "beneficiary_id": g.persons[0],
		"kind": "urban_job", "region_code": g.county, "date": "2026-04-01", "employer": "某社区工厂有限公司 一二三四五六七八九十"})
	if err != nil {
		return 0, nil, err
	}
	status, out, err := g.send(context.Background(), http.MethodPost, url+"/v1/placements", officer, body, "Idempotency-Key", key)
	if err == nil && status == http.StatusCreated {
		_, err = g.acknowledge(key, out)
	}
	return status, out, err
}
