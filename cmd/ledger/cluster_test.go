package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/hrss-ledger/ledger/eventstore/jetstream"
)

// Shape and bounds of the cluster test.
const (
	clusterNodes        = 3
	clusterLedgers      = 2
	clusterClients      = 8
	clusterReadyTimeout = 30 * time.Second
	clusterLoadPhase    = 1500 * time.Millisecond // load between two faults
	// clusterResumeBound is how soon writes must resume after the stream
	// leader is killed: JetStream's election (about 2-5 s) plus the client's
	// reconnect and the store's catch-up, with room for a loaded 2-core CI.
	clusterResumeBound = 20 * time.Second
	clusterProbeEvery  = 25 * time.Millisecond
)

// natsCluster is three nats-server nodes on loopback, embedded in this
// process, each with its own store directory and fsync on every write.
type natsCluster struct {
	t            *testing.T
	dirs         []string
	clientAddrs  []string // host:port, fixed so that a restarted node takes its place
	clusterAddrs []string
	nodes        []*server.Server
}

func startNATSCluster(t *testing.T) *natsCluster {
	t.Helper()
	c := &natsCluster{t: t, nodes: make([]*server.Server, clusterNodes)}
	for range clusterNodes {
		c.dirs = append(c.dirs, t.TempDir())
		c.clientAddrs = append(c.clientAddrs, freeAddr(t))
		c.clusterAddrs = append(c.clusterAddrs, freeAddr(t))
	}
	for i := range clusterNodes {
		c.start(i)
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.stop(i)
		}
	})
	return c
}

// URL is the comma-separated list of the nodes' client URLs.
func (c *natsCluster) URL() string {
	urls := make([]string, len(c.clientAddrs))
	for i, a := range c.clientAddrs {
		urls[i] = "nats://" + a
	}
	return strings.Join(urls, ",")
}

func (c *natsCluster) start(i int) {
	c.t.Helper()
	host, port := splitAddr(c.t, c.clientAddrs[i])
	_, clusterPort := splitAddr(c.t, c.clusterAddrs[i])
	var routes []string
	for j, a := range c.clusterAddrs {
		if j != i {
			routes = append(routes, "nats://"+a)
		}
	}
	opts := &server.Options{
		ServerName: fmt.Sprintf("n%d", i), Host: host, Port: port,
		JetStream: true, StoreDir: filepath.Join(c.dirs[i], "jetstream"), SyncAlways: true,
		Cluster: server.ClusterOpts{Name: "ledger", Host: host, Port: clusterPort},
		Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		NoSigs:  true, NoLog: true,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		c.t.Fatalf("node %d: %v", i, err)
	}
	s.Start()
	if !s.ReadyForConnections(clusterReadyTimeout) {
		c.t.Fatalf("node %d not ready", i)
	}
	c.nodes[i] = s
}

// stop shuts node i down; its data stays for a restart.
func (c *natsCluster) stop(i int) {
	if s := c.nodes[i]; s != nil {
		s.Shutdown()
		s.WaitForShutdown()
		c.nodes[i] = nil
	}
}

// streamLeader returns the index of the node leading the ledger's stream.
func (c *natsCluster) streamLeader(ctx context.Context) int {
	c.t.Helper()
	deadline := time.Now().Add(clusterReadyTimeout)
	for time.Now().Before(deadline) {
		for i, s := range c.nodes {
			if s != nil && s.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, jetstream.DefaultStream) {
				return i
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatal("no stream leader")
	return -1
}

func splitAddr(t *testing.T, addr string) (string, int) {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	var port int
	if _, err := fmt.Sscan(addr[i+1:], &port); err != nil {
		t.Fatal(err)
	}
	return addr[:i], port
}

// waitJetStream waits until the cluster has a JetStream meta leader.
func (c *natsCluster) waitJetStream() {
	c.t.Helper()
	nc, err := nats.Connect(c.URL())
	if err != nil {
		c.t.Fatal(err)
	}
	defer nc.Close()
	deadline := time.Now().Add(clusterReadyTimeout)
	for {
		js, err := nc.JetStream()
		if err == nil {
			if _, err = js.AccountInfo(); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("JetStream cluster not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startLedger runs `ledger serve --nats URL --replicas N` in this process.
func startLedger(t *testing.T, natsURL string, replicas int, tokens string) *Main {
	t.Helper()
	m, err := Open(context.Background(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", TokensFile: tokens,
		NATSURL: natsURL, Replicas: replicas})
	if err != nil {
		t.Fatalf("open ledger on the cluster: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		m.Close()
	})
	return m
}

// TestClusterFailover runs two ledger servers side by side on a three-node
// NATS cluster with the stream at R3, under load from loadgen clients that
// spread commands over both. It kills a follower node and restarts it, then
// kills the stream leader: writes resume within the election time, and in
// the end every acknowledged command is in the log exactly once, and each
// server answers queries that reflect writes made through the other.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a three-node cluster with faults takes about 20 s")
	}
	cluster := startNATSCluster(t)
	cluster.waitJetStream()
	tokens := writeTokens(t)
	var ledgers []*Main
	var urls []string
	for range clusterLedgers {
		m := startLedger(t, cluster.URL(), clusterNodes, tokens)
		ledgers = append(ledgers, m)
		urls = append(urls, m.URL())
	}
	assertReplicas(t, cluster)
	g, err := newLoadgen(loadgenConfig{URLs: urls, Token: officer, AuditToken: auditor, Clients: clusterClients, Count: maxLoadgenOps})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := g.setup(ctx); err != nil {
		t.Fatal(err)
	}
	load, stopLoad := context.WithCancel(ctx)
	loaded := make(chan struct{})
	go func() { defer close(loaded); g.drive(load) }()

	time.Sleep(clusterLoadPhase)
	leader := cluster.streamLeader(ctx)
	follower := (leader + 1) % clusterNodes
	t.Logf("killing follower node n%d under load (%d acknowledged)", follower, g.ackedCount())
	cluster.stop(follower)
	time.Sleep(clusterLoadPhase)
	cluster.start(follower)
	time.Sleep(clusterLoadPhase)

	leader = cluster.streamLeader(ctx)
	t.Logf("killing stream leader n%d under load (%d acknowledged)", leader, g.ackedCount())
	killed := time.Now()
	cluster.stop(leader)
	resumed := probeWrites(t, g, urls)
	t.Logf("writes resumed %v after the leader was killed", resumed.Sub(killed).Round(time.Millisecond))
	if took := resumed.Sub(killed); took > clusterResumeBound {
		t.Errorf("writes resumed after %v, want within %v", took, clusterResumeBound)
	}
	time.Sleep(clusterLoadPhase)
	cluster.start(leader)
	time.Sleep(clusterLoadPhase)
	stopLoad()
	<-loaded
	var report strings.Builder
	g.report(&report, time.Since(g.started))
	t.Log(report.String())

	v, err := g.verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(v)
	if err := v.err(); err != nil {
		t.Error(err)
	}
	assertReadYourWrites(t, g, urls)
}

// assertReplicas checks that the ledger created its stream at R3.
func assertReplicas(t *testing.T, cluster *natsCluster) {
	t.Helper()
	nc, err := nats.Connect(cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := nc.JetStream()
	info, err := js.StreamInfo(jetstream.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != clusterNodes || info.Config.Storage != nats.FileStorage {
		t.Fatalf("stream: got %d replicas on %v, want %d on file", info.Config.Replicas, info.Config.Storage, clusterNodes)
	}
}

// probeWrites posts a command every clusterProbeEvery, alternating between
// the servers, until one is acknowledged, and returns when.
func probeWrites(t *testing.T, g *loadgen, urls []string) time.Time {
	t.Helper()
	deadline := time.Now().Add(2 * clusterResumeBound)
	for n := 0; time.Now().Before(deadline); n++ {
		ctx, cancel := context.WithTimeout(context.Background(), clusterProbeEvery*4)
		body := map[string]any{"amount": "1.00", "date": "2026-06-01", "document": "probe"}
		_, err := g.command(ctx, urls[n%len(urls)], "/v1/funds/"+g.guarantee+"/allocations", g.key("probe", n), body)
		cancel()
		if err == nil {
			return time.Now()
		}
		time.Sleep(clusterProbeEvery)
	}
	t.Fatalf("no write acknowledged within %v of the leader's loss", 2*clusterResumeBound)
	return time.Time{}
}

// assertReadYourWrites writes through each server and reads through both:
// a server answers with every command it acknowledged, and the other one
// too when the client names the position (X-Min-Position).
func assertReadYourWrites(t *testing.T, g *loadgen, urls []string) {
	t.Helper()
	ctx := context.Background()
	for i, writeURL := range urls {
		body := map[string]any{"amount": "7.00", "date": "2026-06-02", "document": "read your writes"}
		answer, err := g.command(ctx, writeURL, "/v1/funds/"+g.guarantee+"/allocations", g.key("ryw", i), body)
		if err != nil {
			t.Fatalf("write through server %d: %v", i, err)
		}
		position := uint64(answer["position"].(float64))
		for j, readURL := range urls {
			status, out, err := g.send(ctx, http.MethodGet, readURL+"/v1/funds/"+g.guarantee, viewer, nil,
				"X-Min-Position", fmt.Sprint(position))
			var fund struct {
				Position uint64 `json:"position"`
			}
			if err == nil && status == http.StatusOK {
				err = json.Unmarshal(out, &fund)
			}
			if err != nil || status != http.StatusOK || fund.Position < position {
				t.Errorf("write through %d at %d, read through %d: status %d, views at %d (%v)", i, position, j, status, fund.Position, err)
			}
		}
	}
}
