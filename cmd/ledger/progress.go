package main

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/hrss-ledger/ledger/eventstore"
)

// progressBar shows progress on a terminal and nothing elsewhere (pipes,
// CI logs), so that output meant for programs stays clean.
type progressBar struct{ bar *progressbar.ProgressBar }

func newProgressBar(total int64, what string) progressBar {
	if !isTerminal(os.Stderr) {
		return progressBar{}
	}
	return progressBar{bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionThrottle(100*time.Millisecond),
	)}
}

func (p progressBar) Set(n int64) {
	if p.bar != nil {
		_ = p.bar.Set64(n)
	}
}

func (p progressBar) Add(n int) {
	if p.bar != nil {
		_ = p.bar.Add(n)
	}
}

func (p progressBar) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		_, _ = io.WriteString(os.Stderr, "\n")
	}
}

func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// progressReader reads the log, moving a progress bar on the way.
type progressReader struct {
	log interface {
		Read(context.Context, eventstore.Position, func(eventstore.Event) error) error
	}
	bar progressBar
}

func (r progressReader) Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	return r.log.Read(ctx, after, func(e eventstore.Event) error {
		if e.Position%4096 == 0 {
			r.bar.Set(int64(e.Position))
		}
		return fn(e)
	})
}
