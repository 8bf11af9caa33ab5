package domain_test

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"hash"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/shopspring/decimal"
)

var updateDecisions = flag.Bool("update-decisions", false, "rewrite testdata/decisions.golden from the current rules")

// The golden transcripts: always the same seeds and lengths, whatever -short,
// -seed and -steps say, so that the digests stay comparable.
const (
	decisionSeeds = propertySeeds
	decisionSteps = 500
	// decisionReplayStep is where the sequence continues on a ledger rebuilt
	// from the encoded log, as the writer's rebuild does.
	decisionReplayStep = decisionSteps / 2
)

const decisionsGolden = "testdata/decisions.golden"

// TestDecisionsAreUnchanged replays the property tests' random sequences
// and compares a digest of every decision — each accepted command's events
// as encoded for the log, each refusal's class, field and text — with the
// digests recorded in testdata/decisions.golden. They were recorded from the
// ledger that kept whole events and decimal amounts in its state, so this
// shows the compact state (symbols, int64 fen) decides exactly as that one
// did. Halfway through, each sequence continues on a ledger rebuilt by
// decoding the encoded events, so the decoders are held to the same.
// After an intended change of a rule: go test ./domain -run DecisionsAreUnchanged -update-decisions
func TestDecisionsAreUnchanged(t *testing.T) {
	var got strings.Builder
	for i := range decisionSeeds {
		seed := uint64(firstSeed + i)
		fmt.Fprintf(&got, "%d %x\n", seed, decisionDigest(t, seed))
	}
	if *updateDecisions {
		if err := os.MkdirAll(filepath.Dir(decisionsGolden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(decisionsGolden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(decisionsGolden)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("decisions differ from %s\ngot:\n%s\nwant:\n%s", decisionsGolden, got.String(), want)
	}
}

// decisionDigest runs one random sequence and hashes its transcript.
func decisionDigest(t *testing.T, seed uint64) []byte {
	l := given(t)
	g := &generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), day: domain.MustDate("2017-02-01"), ledger: l}
	history := lifeOfWorld(t, &checker{t: t, seed: seed, balances: map[string]decimal.Decimal{}})
	h := sha256.New()
	for step := range decisionSteps {
		if step == decisionReplayStep {
			l = replayed(t, history)
			g.ledger = l
		}
		cmd := g.command()
		fmt.Fprintf(h, "%d %T ", step, cmd)
		events, err := l.Decide(cmd)
		if err != nil {
			writeRefusal(h, err)
			continue
		}
		for _, e := range events {
			writeEvent(t, h, e)
			l.Evolve(e)
		}
		history = append(history, events...)
	}
	return h.Sum(nil)
}

func writeRefusal(h hash.Hash, err error) {
	var de *domain.Error
	if !errors.As(err, &de) {
		fmt.Fprintf(h, "error %v\n", err)
		return
	}
	fmt.Fprintf(h, "refused %v %s %v\n", de.Class, de.Field, err)
}

func writeEvent(t *testing.T, h hash.Hash, e domain.Event) {
	eventType, data, err := domain.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(h, "%s %s %s %s\n", eventType, e.StreamID(), e.BusinessDate(), data)
}

// replayed rebuilds a ledger from the encoded and decoded history.
func replayed(t *testing.T, history []domain.Event) *domain.Ledger {
	l := domain.NewLedger()
	for _, e := range history {
		eventType, data, err := domain.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := domain.Decode(eventType, data)
		if err != nil {
			t.Fatalf("decode %s: %v", eventType, err)
		}
		l.Evolve(back)
	}
	return l
}
