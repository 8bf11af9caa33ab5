package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"testing"
	"time"
)

var (
	crashKills = flag.Int("crash.kills", 0, "SIGKILLs of TestServeCrash (0: the short version)")
	crashSeed  = flag.Uint64("crash.seed", 1, "seed of TestServeCrash's kill schedule")
)

// Shape of the crash test.
const (
	crashShortKills = 5
	crashClients    = 8
	crashMinLife    = 200 * time.Millisecond // shortest life of a server under load
	crashMaxLife    = 1500 * time.Millisecond
	crashTailLoad   = 500 * time.Millisecond // load after the last restart, before it stops
)

// TestServeCrash kills a real `ledger serve` process with SIGKILL at random
// moments while loadgen clients drive it, restarts it on the same data, and
// checks that every acknowledged command is in the log exactly once and
// whole (none half-visible), that the log verifies, and that the restarted
// server's views equal a full offline rebuild (`ledger replay`).
func TestServeCrash(t *testing.T) {
	kills := crashShortKills
	if *crashKills > 0 {
		kills = *crashKills
	}
	rng := rand.New(rand.NewPCG(*crashSeed, 0))
	data, tokens, addr := t.TempDir(), writeTokens(t), freeAddr(t)
	serve := func() *child { return startChild(t, addr, "--data", data, "--tokens", tokens) }
	server := serve()
	g, err := newLoadgen(loadgenConfig{URLs: []string{server.url}, Token: officer, AuditToken: auditor,
		Clients: crashClients, Count: maxLoadgenOps})
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
	var ackedAtKill []int
	for range kills {
		time.Sleep(crashMinLife + time.Duration(rng.Int64N(int64(crashMaxLife-crashMinLife))))
		server.kill()
		ackedAtKill = append(ackedAtKill, g.ackedCount())
		server = serve()
	}
	time.Sleep(crashTailLoad)
	stopLoad()
	<-loaded

	v, err := g.verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d, %d kills, acknowledged before each kill %v\n%v", *crashSeed, kills, ackedAtKill, v)
	if err := v.err(); err != nil {
		t.Error(err)
	}
	if ackedAtKill[len(ackedAtKill)-1] == ackedAtKill[0] || v.acked == 0 {
		t.Errorf("no load between kills: acknowledged %v, %d in all", ackedAtKill, v.acked)
	}
	live := liveViews(t, server.url, g)
	server.kill()
	assertVerifies(t, data)
	if rebuilt := replayedViews(t, data, g); !reflect.DeepEqual(live, rebuilt) {
		t.Errorf("views after restart differ from a full rebuild:\n got  %v\n want %v", live, rebuilt)
	}
}

// viewAnswers are the answers of the views the loadgen's run fed.
type viewAnswers map[string]any

// liveViews asks a server for progress, portfolio and both funds of the run.
func liveViews(t *testing.T, url string, g *loadgen) viewAnswers {
	t.Helper()
	out := viewAnswers{}
	for name, path := range map[string]string{
		"progress":  "/v1/progress?region=" + g.root + "&year=2026",
		"portfolio": "/v1/portfolio?region=" + g.root,
		"fund":      "/v1/funds/" + g.fund,
		"guarantee": "/v1/funds/" + g.guarantee,
	} {
		status, body, err := g.send(context.Background(), http.MethodGet, url+path, viewer, nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("GET %s: %d %v %s", path, status, err, body)
		}
		out[name] = decodeJSON(t, body)
	}
	return out
}

// replayedViews rebuilds the same views offline with `ledger replay`.
func replayedViews(t *testing.T, data string, g *loadgen) viewAnswers {
	t.Helper()
	replay := func(args ...string) any {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"replay", "--data", data}, args...), &stdout, &stderr); code != 0 {
			t.Fatalf("ledger replay %v: exit %d: %s", args, code, stderr.String())
		}
		return decodeJSON(t, stdout.Bytes())
	}
	out := viewAnswers{
		"progress":  replay("--view", "progress", "--region", g.root, "--year", "2026"),
		"portfolio": replay("--view", "portfolio", "--region", g.root),
	}
	funds, ok := replay("--view", "funds").([]any)
	if !ok || len(funds) != 2 {
		t.Fatalf("replay funds: got %v, want the run's two funds", funds)
	}
	for _, f := range funds { // sorted by id: "-EMP" before "-GUAR"
		if f.(map[string]any)["fund_id"] == g.fund {
			out["fund"] = f
		} else {
			out["guarantee"] = f
		}
	}
	return out
}

// assertVerifies runs `ledger verify` on the data directory.
func assertVerifies(t *testing.T, data string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"verify", "--data", data}, &stdout, &stderr); code != 0 {
		t.Errorf("ledger verify: exit %d: %s %s", code, stdout.String(), stderr.String())
	}
}

func decodeJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil && err != io.EOF {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}
