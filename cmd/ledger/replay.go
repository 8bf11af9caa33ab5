package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/projections"
)

// storeFlags are the flags every offline command shares to find the log.
type storeFlags struct {
	dataDir    string
	natsURL    string
	kurrentURL string
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dataDir, "data", "./data", "data directory of the embedded store")
	fs.StringVar(&f.natsURL, "nats", "", "external NATS server URL (instead of the embedded store)")
	fs.StringVar(&f.kurrentURL, "kurrentdb", "", "KurrentDB connection string")
}

func (f *storeFlags) open(ctx context.Context) (eventstore.Store, error) {
	if f.natsURL == "" && f.kurrentURL == "" {
		if _, err := os.Stat(f.dataDir); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
	}
	return openStore(ctx, Config{DataDir: f.dataDir, NATSURL: f.natsURL, KurrentURL: f.kurrentURL})
}

func runReplay(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("replay")
	var sf storeFlags
	sf.register(fs)
	asOf := fs.String("as-of", "", "business date YYYY-MM-DD: the views as they stood on that day (default: everything)")
	view := fs.String("view", "progress", "view to print: progress, portfolio or funds")
	region := fs.String("region", "", "region code (progress, portfolio; default: every root region)")
	year := fs.Int("year", 0, "year (progress: required unless as-of gives it; portfolio: optional)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *asOf != "" {
		d, err := domain.ParseDate(*asOf)
		if err != nil {
			return fmt.Errorf("%w: --as-of: %v", errUsage, err)
		}
		if *year == 0 {
			*year = d.Year()
		}
	}
	if *view == "progress" && *year == 0 {
		return fmt.Errorf("%w: --year (or --as-of) is required for the progress view", errUsage)
	}
	store, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	views, err := rebuild(ctx, store)
	if err != nil {
		return err
	}
	out, err := printView(views, *view, *region, *year, *asOf)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// rebuild builds the views from the log alone, with a progress bar on a
// terminal.
func rebuild(ctx context.Context, store eventstore.Store) (*projections.Projector, error) {
	head, err := store.Head(ctx)
	if err != nil {
		return nil, err
	}
	bar := newProgressBar(int64(head), "replaying")
	views, err := projections.New(projections.Config{})
	if err != nil {
		return nil, err
	}
	if err := views.CatchUp(ctx, progressReader{log: store, bar: bar}); err != nil {
		return nil, err
	}
	bar.Finish()
	return views, nil
}

// printView answers the view the way the HTTP API would.
func printView(views *projections.Projector, view, region string, year int, asOf string) (any, error) {
	regions := []string{region}
	if region == "" {
		regions = views.Regions() // every root of the tree
	}
	var out []any
	for _, code := range regions {
		switch view {
		case "progress":
			r, err := views.Progress(code, year, "", asOf)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		case "portfolio":
			r, err := views.Portfolio(code, year, asOf)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		case "funds":
			return fundReports(views, views.FundIDs(), asOf)
		default:
			return nil, fmt.Errorf("%w: --view is progress, portfolio or funds", errUsage)
		}
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

func fundReports(views *projections.Projector, funds []string, asOf string) ([]domain.FundReport, error) {
	out := make([]domain.FundReport, 0, len(funds))
	for _, id := range funds {
		r, err := views.Fund(id, asOf)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
