// Command ledger is the event-sourced ledger of employment subsidies and
// guaranteed startup loans: one binary that serves the API, replays and
// verifies the log offline, and imports CSV files.
//
//	ledger serve   [--data DIR] [--listen ADDR] [--tokens FILE] [--nats URL,URL,... [--replicas N]] [--kurrentdb URL] [--demo]
//	ledger replay  [--data DIR] [--as-of DATE] [--view progress|portfolio|funds] [--region CODE] [--year YYYY]
//	ledger verify  [--data DIR]
//	ledger import  [--data DIR] --kind loans|subsidies|placements FILE.csv
//	ledger forget  [--data DIR] --beneficiary ID
//	ledger audit   verify-proof|export|verify-evidence|checkpoint ...
//	ledger loadgen --url URL --token TOKEN --audit-token TOKEN [--clients N] [--rate R] [--duration D] [--count C]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// errUsage marks a command line that could not be understood (exit 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(code)
}

// run executes one subcommand and returns the process exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	commands := map[string]func(context.Context, []string, io.Writer) error{
		"serve":   runServe,
		"replay":  runReplay,
		"verify":  runVerify,
		"import":  runImport,
		"forget":  runForget,
		"audit":   runAudit,
		"loadgen": runLoadgen,
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ledger: unknown command %q\n%s\n", args[0], usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdout)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "ledger %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "ledger %s: %v\n", args[0], err)
		return 1
	}
}

const usage = `usage: ledger <command> [flags]

commands:
  serve    run the HTTP API on the event store (embedded NATS by default)
  replay   rebuild the views from the log alone, offline, and print them
  verify   check the whole log: hash chain, double entry, invariants
  import   load a CSV file through the same rules as the API
  forget   destroy a person's key: their identity becomes unrecoverable
  audit    checkpoints, proofs and evidence packages an auditor verifies offline
  loadgen  drive a local server with a realistic mix and check the log after

run 'ledger <command> -h' for its flags`

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("ledger "+name, flag.ContinueOnError)
	return fs
}

// envOr returns the environment variable's value, or def.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
