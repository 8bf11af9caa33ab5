package kurrentdb

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/hrss-ledger/ledger/eventstore"
)

// DefaultStream is the log stream when Config.Stream is empty.
const DefaultStream = "ledger-log"

// Limits.
const (
	// DefaultMaxAppendBytes is the largest append request sent, in bytes of
	// event data plus metadata. The server must accept at least this much:
	// run it with --max-append-size=4194304 (its default is 1 MiB, too small
	// for a full batch of eventstore.MaxBatchEvents with their envelopes).
	DefaultMaxAppendBytes = 4 << 20
	maxReadEvents         = 4096             // events per read request
	maxGroupCommits       = 256              // Append calls merged into one append
	maxFenceAttempts      = 8                // catch-ups when another writer appended first
	groupAppendTimeout    = 30 * time.Second // one group append, retries included
)

// Config says where the log lives.
type Config struct {
	// URL is a KurrentDB connection string, e.g.
	// "esdb://127.0.0.1:2113?tls=false"; kurrentdb:// is accepted too.
	URL string
	// Stream is the log stream; DefaultStream when empty. Two ledgers on one
	// server use two streams.
	Stream string
	// MaxAppendBytes; DefaultMaxAppendBytes when 0.
	MaxAppendBytes int
}

// Store is the ledger's log on KurrentDB. See the package documentation.
type Store struct {
	conn           *esdb.Configuration
	stream         string
	maxAppendBytes int
	retry          retryPolicy
	now            func() time.Time

	clientMu sync.Mutex
	client   *esdb.Client // replaced when it shuts itself down
	closed   bool

	mu  sync.Mutex // serializes appends and catch-ups; guards idx
	idx *index

	appends chan *appendRequest
	quit    chan struct{}
	flushed chan struct{} // closed when the group-commit loop has ended
}

var _ eventstore.Store = (*Store)(nil)

// Open connects, refuses a log stream that can lose events, and reads the
// whole log once to rebuild the index (verifying the hash chain).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	conn, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	client, err := esdb.NewClient(conn)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: client: %w", err)
	}
	s := &Store{
		conn: conn, stream: cmp.Or(cfg.Stream, DefaultStream),
		maxAppendBytes: cmp.Or(cfg.MaxAppendBytes, DefaultMaxAppendBytes),
		retry:          defaultRetry(), now: time.Now, client: client, idx: newIndex(),
		appends: make(chan *appendRequest), quit: make(chan struct{}), flushed: make(chan struct{}),
	}
	if err := s.checkStream(ctx); err != nil {
		client.Close()
		return nil, err
	}
	if err := s.catchUp(ctx); err != nil {
		client.Close()
		return nil, fmt.Errorf("kurrentdb: open %s: %w", s.stream, err)
	}
	go s.groupCommits()
	return s, nil
}

// schemes maps KurrentDB's names for the connection string scheme to the
// ones client v4.2.0 knows (it predates the rename).
var schemes = []struct{ from, to string }{
	{"kurrentdb+discover://", "esdb+discover://"},
	{"kurrentdb://", "esdb://"},
	{"kdb+discover://", "esdb+discover://"},
	{"kdb://", "esdb://"},
}

// parseURL parses a connection string.
func parseURL(url string) (*esdb.Configuration, error) {
	for _, s := range schemes {
		if rest, ok := strings.CutPrefix(url, s.from); ok {
			url = s.to + rest
			break
		}
	}
	conn, err := esdb.ParseConnectionString(url)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: connection string: %w", err)
	}
	return conn, nil
}

// Stream returns the name of the log stream.
func (s *Store) Stream() string { return s.stream }
