package jetstream

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/eventstore"
)

var (
	crashSeed = flag.Uint64("seed", 1, "seed of TestCrashRecovery's kill schedule")
	soakKills = flag.Int("soak.kills", 0, "SIGKILLs for a long TestCrashRecovery (0: the short version)")
)

// Crash test shape.
const (
	crashChildEnv       = "LEDGER_CRASH_CHILD_DIR" // set: the test binary is the child
	crashRunEnv         = "LEDGER_CRASH_RUN"       // the child's run number, for unique command ids
	crashShortKills     = 30
	crashAppenders      = 8                      // child goroutines calling Append
	crashMinRun         = 20 * time.Millisecond  // shortest life of a child after it is ready
	crashMaxRun         = 600 * time.Millisecond // longest
	crashReadyTimeout   = 60 * time.Second
	crashFullCheckEvery = 10 // kills between checks of the whole log
)

// crashChild appends under concurrent load until it is killed, printing
// "ack COMMAND FIRST LAST" for every acknowledged commit. The number of
// events of a commit is the last part of its command id, so the parent can
// tell a whole commit from a half one.
func crashChild(dir string) int {
	s, err := OpenEmbedded(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	var out sync.Mutex
	ack := func(id string, r eventstore.Result) {
		out.Lock()
		defer out.Unlock()
		fmt.Fprintf(os.Stdout, "ack %s %d %d\n", id, r.First, r.Last)
	}
	fmt.Fprintln(os.Stdout, "ready")
	run := os.Getenv(crashRunEnv)
	var wg sync.WaitGroup
	for g := range crashAppenders {
		wg.Go(func() { crashAppend(s, run, g, ack) })
	}
	wg.Go(func() { crashAppendBatches(s, run, ack) })
	wg.Wait()
	return 1
}

func crashCommit(id string, events int) eventstore.Commit {
	c := newTestCommit(fmt.Sprintf("%s-n%d", id, events))
	for i := range events {
		c.Events = append(c.Events, eventstore.Event{
			Stream: fmt.Sprintf("s-%s-%d", id, i), Type: "crash.tested.v1",
			Data: fmt.Appendf(nil, `{"i":%d}`, i), Meta: eventstore.Meta{BusinessDate: "2017-03-01"},
		})
	}
	return c
}

func newTestCommit(id string) eventstore.Commit {
	return eventstore.Commit{CommandID: id, Fingerprint: "fp-" + id}
}

func crashAppend(s *Store, run string, g int, ack func(string, eventstore.Result)) {
	for i := 0; ; i++ {
		c := crashCommit(fmt.Sprintf("r%s-g%d-%d", run, g, i), 1+i%3)
		r, err := s.Append(context.Background(), c)
		if err != nil {
			fmt.Fprintln(os.Stderr, "append:", err)
			os.Exit(1)
		}
		ack(c.CommandID, r)
	}
}

// crashAppendBatches appends like the sequencer: AppendBatch at the head it
// last saw, catching up on a conflict.
func crashAppendBatches(s *Store, run string, ack func(string, eventstore.Result)) {
	ctx := context.Background()
	for i := 0; ; i++ {
		commits := []eventstore.Commit{
			crashCommit(fmt.Sprintf("r%s-b%d-a", run, i), 2),
			crashCommit(fmt.Sprintf("r%s-b%d-b", run, i), 3),
		}
		for {
			head, err := s.Head(ctx)
			if err != nil {
				fmt.Fprintln(os.Stderr, "head:", err)
				os.Exit(1)
			}
			rs, err := s.AppendBatch(ctx, head, commits)
			if errors.Is(err, eventstore.ErrConflict) {
				continue
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "append batch:", err)
				os.Exit(1)
			}
			for j, c := range commits {
				ack(c.CommandID, rs[j])
			}
			break
		}
	}
}

// crashStats counts what a crash test saw.
type crashStats struct {
	kills, acked, ackedEvents, losses int
}

// TestCrashRecovery kills a child process appending under load with
// SIGKILL at random moments, restarts it, and checks after every kill that
// each acknowledged commit is in the log exactly once and whole, and that no
// commit is half there.
func TestCrashRecovery(t *testing.T) {
	kills := crashShortKills
	if *soakKills > 0 {
		kills = *soakKills
	}
	if testing.Short() {
		kills = 3
	}
	rng := rand.New(rand.NewPCG(*crashSeed, 0))
	dir := t.TempDir()
	acked := map[string]eventstore.Result{}
	var stats crashStats
	for run := range kills {
		from := eventstore.Position(1<<63 - 1)
		fresh := map[string]eventstore.Result{}
		for _, a := range runChildUntilKilled(t, dir, run, rng) {
			acked[a.id] = a.result
			fresh[a.id] = a.result
			from = min(from, a.result.First)
			stats.acked++
			stats.ackedEvents += int(a.result.Last - a.result.First + 1)
		}
		stats.kills++
		// Opening verifies the whole chain; the whole log is compared with
		// every acknowledgement now and then, the last run's after each kill.
		if run%crashFullCheckEvery == crashFullCheckEvery-1 || run == kills-1 {
			stats.losses += verifyCrashLog(t, dir, acked, 1)
		} else if len(fresh) > 0 {
			stats.losses += verifyCrashLog(t, dir, fresh, from)
		}
		if t.Failed() {
			break
		}
	}
	t.Logf("seed %d: kills %d, acknowledged commits %d, acknowledged events %d, losses %d",
		*crashSeed, stats.kills, stats.acked, stats.ackedEvents, stats.losses)
	if *soakKills > 0 {
		fmt.Printf("soak: seed %d kills %d acknowledged_events %d losses %d\n",
			*crashSeed, stats.kills, stats.ackedEvents, stats.losses)
	}
}

type crashAck struct {
	id     string
	result eventstore.Result
}

// runChildUntilKilled starts the child, lets it run for a random time after
// it is ready, kills it and returns the commits it acknowledged.
func runChildUntilKilled(t *testing.T, dir string, run int, rng *rand.Rand) []crashAck {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashRunEnv+"="+strconv.Itoa(run))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	acks := make(chan []crashAck, 1)
	go func() { acks <- readAcks(stdout, ready) }()
	select {
	case <-ready:
	case <-time.After(crashReadyTimeout):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("run %d: child not ready: %s", run, stderr.String())
	}
	time.Sleep(crashMinRun + time.Duration(rng.Int64N(int64(crashMaxRun-crashMinRun))))
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("run %d: kill: %v", run, err)
	}
	got := <-acks
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("run %d: child ended by itself (%v): %s", run, err, stderr.String())
	}
	return got
}

func readAcks(stdout interface{ Read([]byte) (int, error) }, ready chan<- struct{}) []crashAck {
	var acks []crashAck
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var a crashAck
		if sc.Text() == "ready" {
			close(ready)
			continue
		}
		if _, err := fmt.Sscanf(sc.Text(), "ack %s %d %d", &a.id, &a.result.First, &a.result.Last); err == nil {
			acks = append(acks, a)
		}
	}
	return acks
}

// verifyCrashLog opens the log and checks it, from position from (the first
// event of a commit), against the acknowledged commits; it returns the number
// of acknowledged events missing.
func verifyCrashLog(t *testing.T, dir string, acked map[string]eventstore.Result, from eventstore.Position) int {
	t.Helper()
	s, err := OpenEmbedded(testContext(t), dir)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	commits := map[string]eventstore.Result{}
	var prev [32]byte
	err = s.Read(testContext(t), from-1, func(e eventstore.Event) error {
		if e.Position > from && e.Hash != eventstore.ChainHash(prev, e) {
			return fmt.Errorf("position %d: hash does not chain", e.Position)
		}
		prev = e.Hash
		r, seen := commits[e.Meta.CommandID]
		if seen && r.Last+1 != e.Position {
			return fmt.Errorf("position %d: command %s not contiguous", e.Position, e.Meta.CommandID)
		}
		if !seen {
			r.First = e.Position
		}
		r.Last = e.Position
		commits[e.Meta.CommandID] = r
		return nil
	})
	if err != nil {
		t.Fatalf("read after kill: %v", err)
	}
	for id, r := range commits {
		var n uint64
		fmt.Sscanf(id[strings.LastIndex(id, "-n")+2:], "%d", &n)
		if r.Last-r.First+1 != n {
			t.Errorf("command %s has %d of its %d events", id, r.Last-r.First+1, n)
		}
	}
	losses := 0
	for id, want := range acked {
		if got, ok := commits[id]; !ok || got != want {
			t.Errorf("acknowledged command %s at %+v, found at %+v (present %v)", id, want, got, ok)
			losses += int(want.Last - want.First + 1)
		}
	}
	return losses
}
