package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
)

// errNotIntact makes `ledger verify` exit non-zero after printing its report.
var errNotIntact = errors.New("the log is not intact")

// verifyReport is what `ledger verify` prints (JSON).
type verifyReport struct {
	audit.ChainReport
	TrialBalance   string       `json:"trial_balance"` // sum of every account's balance: always 0.00
	Accounts       int          `json:"accounts"`
	InvariantsOK   bool         `json:"invariants_ok"`
	InvariantError string       `json:"invariant_error,omitempty"`
	Views          *viewsReport `json:"views,omitempty"`
}

func runVerify(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("verify")
	var sf storeFlags
	sf.register(fs)
	keyFile := fs.String("key", "", "the deployment's audit.pub, to check checkpoint signatures (default: DIR/audit.pub when present)")
	var trusted []audit.Checkpoint
	fs.Func("checkpoint", "a checkpoint kept outside the log (JSON file, repeatable): the log must hold its events with its root; catches a log cut short", func(path string) error {
		cp, err := readCheckpointFile(path)
		trusted = append(trusted, cp)
		return err
	})
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	pub, err := verifyKey(*keyFile, sf.dataDir)
	if err != nil {
		return err
	}
	log, err := openVerifiable(ctx, sf)
	if err != nil {
		return err
	}
	defer log.Close()
	report, err := verifyLog(ctx, log, audit.VerifyOptions{PublicKey: pub, Trusted: trusted})
	if err == nil {
		var views viewsReport
		views, err = compareViews(ctx, log, viewsDir(sf.dataDir))
		report.Views = &views
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if encErr := enc.Encode(report); encErr != nil {
		return encErr
	}
	return err
}

// verifyLog checks the hash chain and the Merkle checkpoints, then replays
// every event through the domain's evolve (whose assertions re-check the
// invariants) and the double-entry postings.
func verifyLog(ctx context.Context, log verifiable, opts audit.VerifyOptions) (verifyReport, error) {
	head, err := log.Head(ctx)
	if err != nil {
		return verifyReport{}, err
	}
	bar := newProgressBar(int64(head), "verifying")
	opts.Progress = func(p eventstore.Position) {
		if p%4096 == 0 {
			bar.Set(int64(p))
		}
	}
	chain, _, err := audit.VerifyLog(ctx, log, opts)
	bar.Finish()
	report := verifyReport{ChainReport: chain}
	if err != nil {
		if errors.Is(err, audit.ErrBroken) {
			return report, fmt.Errorf("%w: first bad position %d (%s): %s", errNotIntact, chain.FirstBadPosition, chain.Fault, chain.Detail)
		}
		return report, err
	}
	balances, err := replayInvariants(ctx, log)
	report.Accounts = len(balances)
	report.TrialBalance = sumBalances(balances).StringFixed(2)
	if err != nil {
		report.InvariantError = err.Error()
		return report, fmt.Errorf("%w: %v", errNotIntact, err)
	}
	report.InvariantsOK = true
	return report, nil
}

// readCheckpointFile reads a checkpoint as the API lists it or `ledger
// audit checkpoint --out` writes it.
func readCheckpointFile(path string) (audit.Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return audit.Checkpoint{}, err
	}
	var cp audit.Checkpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return audit.Checkpoint{}, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return cp, nil
}

// replayInvariants folds the log through domain.Evolve and the postings,
// naming the first position at which an invariant fails.
func replayInvariants(ctx context.Context, log verifiable) (map[string]decimal.Decimal, error) {
	ledger := domain.NewLedger()
	balances := map[string]decimal.Decimal{}
	err := log.Read(ctx, 0, func(e eventstore.Event) error {
		if e.Type == audit.CheckpointEventType {
			return nil
		}
		ev, err := domain.Decode(e.Type, e.Data)
		if err != nil {
			return fmt.Errorf("position %d: %w", e.Position, err)
		}
		if err := evolveChecked(ledger, ev); err != nil {
			return fmt.Errorf("position %d: %w", e.Position, err)
		}
		if err := post(balances, domain.Postings(ev)); err != nil {
			return fmt.Errorf("position %d: %w", e.Position, err)
		}
		return nil
	})
	return balances, err
}

// evolveChecked applies an event, turning a failed domain assertion (an
// event the rules could never have produced) into an error.
func evolveChecked(ledger *domain.Ledger, ev domain.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invariant broken by %s: %v", ev.EventType(), r)
		}
	}()
	ledger.Evolve(ev)
	return nil
}

// post applies double-entry postings: each moves a positive amount, to the
// fen, between two different accounts, and no fund goes below zero.
func post(balances map[string]decimal.Decimal, postings []domain.Posting) error {
	for _, p := range postings {
		if !p.Amount.IsPositive() || !p.Amount.Equal(p.Amount.Round(2)) || p.From == p.To {
			return fmt.Errorf("malformed posting %s -> %s %s", p.From, p.To, p.Amount)
		}
		balances[p.From] = balances[p.From].Sub(p.Amount)
		balances[p.To] = balances[p.To].Add(p.Amount)
		if strings.HasPrefix(p.From, "fund:") && balances[p.From].IsNegative() {
			return fmt.Errorf("fund %s below zero: %s", p.From, balances[p.From].StringFixed(2))
		}
	}
	return nil
}

func sumBalances(balances map[string]decimal.Decimal) decimal.Decimal {
	total := decimal.Zero
	for _, b := range balances {
		total = total.Add(b)
	}
	return total
}
