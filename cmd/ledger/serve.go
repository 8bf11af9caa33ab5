package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hrss-ledger/ledger/api"
	"github.com/hrss-ledger/ledger/api/vault"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/jetstream"
	"github.com/hrss-ledger/ledger/eventstore/kurrentdb"
	"github.com/hrss-ledger/ledger/eventstore/writer"
	"github.com/hrss-ledger/ledger/projections"
)

// Limits of the server process.
const (
	shutdownTimeout = 30 * time.Second // in-flight requests finish within it
	openTimeout     = 2 * time.Minute  // opening the store and rebuilding state
)

// Config is what `ledger serve` runs with.
type Config struct {
	DataDir    string
	Listen     string
	TokensFile string
	NATSURL    string
	Replicas   int // replicas of the stream when the ledger creates it on an external cluster (0: 1)
	KurrentURL string
	Demo       bool
}

func runServe(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("serve")
	var cfg Config
	fs.StringVar(&cfg.DataDir, "data", "./data", "data directory (embedded store, keys, view snapshots)")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "HTTP listen address")
	fs.StringVar(&cfg.TokensFile, "tokens", envOr("LEDGER_TOKENS_FILE", ""), "tokens file: one `ROLE TOKEN [NAME]` per line")
	fs.StringVar(&cfg.NATSURL, "nats", "", "external NATS server or cluster URL(s), comma-separated (default: embedded)")
	fs.IntVar(&cfg.Replicas, "replicas", 1, "with --nats: replicas of the stream when the ledger creates it (3 on a three-node cluster)")
	fs.StringVar(&cfg.KurrentURL, "kurrentdb", "", "KurrentDB connection string (instead of NATS)")
	fs.BoolVar(&cfg.Demo, "demo", false, "load the demo city once")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	m, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer m.Close()
	m.printWelcome(stdout)
	return m.Run(ctx)
}

// Main is one running ledger server: store, writer, views and HTTP.
type Main struct {
	cfg        Config
	store      eventstore.Store
	writer     *writer.Writer
	views      *projections.Projector
	vault      *vault.Vault
	audit      *auditService
	listener   net.Listener
	http       *http.Server
	tokens     []tokenLine // printed on start when generated
	stopViews  context.CancelFunc
	viewsDone  chan struct{} // closed when the views' runner returns
	viewsErr   error
	tokensPath string
}

type tokenLine struct{ role, token, name string }

// Open opens the store, rebuilds the state, loads the demo if asked and
// binds the listener; Run then serves.
func Open(ctx context.Context, cfg Config) (*Main, error) {
	m := &Main{cfg: cfg}
	if err := m.open(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

func (m *Main) open(ctx context.Context) error {
	openCtx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	if err := os.MkdirAll(m.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	var err error
	if m.store, err = openStore(openCtx, m.cfg); err != nil {
		m.store = nil // not a typed nil that Close would call
		return err
	}
	if m.vault, err = vault.Open(filepath.Join(m.cfg.DataDir, "keys")); err != nil {
		return err
	}
	if m.writer, err = writer.Open(openCtx, m.store); err != nil {
		return err
	}
	if m.audit, err = openAudit(openCtx, m.cfg.DataDir, m.store, m.writer); err != nil {
		return err
	}
	if err := m.startViews(); err != nil {
		return err
	}
	if m.cfg.Demo {
		if err := loadDemo(openCtx, m.writer, m.vault); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	return m.listen()
}

// openStore picks the backend: KurrentDB, an external NATS, or embedded NATS.
func openStore(ctx context.Context, cfg Config) (eventstore.Store, error) {
	switch {
	case cfg.KurrentURL != "":
		return kurrentdb.Open(ctx, kurrentdb.Config{URL: cfg.KurrentURL})
	case cfg.NATSURL != "":
		// Reconnect for ever: on a cluster a node's loss moves the
		// connection to another node, however long the outage lasts.
		return jetstream.Connect(ctx, cfg.NATSURL, jetstream.WithReplicas(max(cfg.Replicas, 1)),
			jetstream.WithNATSOptions(nats.MaxReconnects(-1), nats.Name("ledger serve")))
	default:
		return jetstream.OpenEmbedded(ctx, filepath.Join(cfg.DataDir, "nats"))
	}
}

// startViews rebuilds the views (from their snapshot and the log) and keeps
// them live from a subscription.
func (m *Main) startViews() error {
	publisher, latest, err := viewPublication(context.Background(), m.store)
	if err != nil {
		return err
	}
	views, err := projections.New(projections.Config{Dir: filepath.Join(m.cfg.DataDir, "views"),
		Publisher: publisher, Latest: latest})
	if err != nil {
		return err
	}
	m.views = views
	ctx, cancel := context.WithCancel(context.Background())
	m.stopViews = cancel
	m.viewsDone = make(chan struct{})
	go func() {
		defer close(m.viewsDone)
		m.viewsErr = views.Run(ctx, m.store)
	}()
	return nil
}

func (m *Main) listen() error {
	tokens, err := m.loadTokens()
	if err != nil {
		return err
	}
	server := api.NewServer(api.Config{
		Commands: commandBus{m.writer},
		Views:    viewsAdapter{m.views},
		Tokens:   tokens,
		Personal: m.vault,
		Log:      m.store,
		Audit:    m.audit.api(),
	})
	m.listener, err = net.Listen("tcp", m.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	m.http = server.HTTPServer(m.cfg.Listen)
	return nil
}

// loadTokens reads the tokens file; without one, it creates a file of fresh
// random tokens under the data directory (printed at start).
func (m *Main) loadTokens() (*api.Tokens, error) {
	path := m.cfg.TokensFile
	if path == "" {
		path = filepath.Join(m.cfg.DataDir, "tokens")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if err := writeFreshTokens(path); err != nil {
				return nil, err
			}
		}
		m.tokensPath = path
		lines, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		m.tokens = parseTokenLines(string(lines))
	}
	return api.LoadTokens(path)
}

func writeFreshTokens(path string) error {
	var b strings.Builder
	b.WriteString("# ROLE TOKEN NAME: generated on first start; edit or replace with --tokens FILE\n")
	for _, role := range []string{"officer", "approver", "auditor", "viewer"} {
		var raw [16]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %s-%s demo-%s\n", role, role, hex.EncodeToString(raw[:]), role)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

func parseTokenLines(text string) []tokenLine {
	var out []tokenLine
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && !strings.HasPrefix(f[0], "#") {
			name := f[0]
			if len(f) > 2 {
				name = f[2]
			}
			out = append(out, tokenLine{role: f[0], token: f[1], name: name})
		}
	}
	return out
}

// URL is the address the server answers on.
func (m *Main) URL() string { return "http://" + m.listener.Addr().String() }

func (m *Main) printWelcome(w io.Writer) {
	fmt.Fprintf(w, "ledger: serving on %s (log head %d)\n", m.URL(), m.writer.Head())
	if len(m.tokens) > 0 {
		fmt.Fprintf(w, "tokens (from %s):\n", m.tokensPath)
		for _, t := range m.tokens {
			fmt.Fprintf(w, "  %-8s %s\n", t.role, t.token)
		}
		fmt.Fprintf(w, "try: curl -H 'Authorization: Bearer %s' '%s/v1/progress?region=610900&year=2017'\n",
			m.tokens[len(m.tokens)-1].token, m.URL())
	}
}

// Run serves until ctx ends, then shuts down gracefully: in-flight requests
// finish, queued commands are decided and flushed, views are snapshotted.
func (m *Main) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- m.http.Serve(m.listener) }()
	go m.audit.run(ctx)
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-m.viewsDone:
		return fmt.Errorf("views stopped: %w", m.viewsErr)
	case <-ctx.Done():
	}
	slog.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := m.http.Shutdown(shutdownCtx)
	return errors.Join(err, m.audit.shutdown(shutdownCtx))
}

// Close releases everything Open acquired, in reverse order.
func (m *Main) Close() error {
	var errs []error
	if m.listener != nil {
		_ = m.listener.Close() // already closed by Shutdown when Run served
	}
	if m.writer != nil {
		errs = append(errs, m.writer.Close())
	}
	if m.audit != nil {
		m.audit.close()
	}
	if m.stopViews != nil {
		m.stopViews()
		<-m.viewsDone
		errs = append(errs, m.views.Snapshot())
	}
	if m.store != nil {
		errs = append(errs, m.store.Close())
	}
	return errors.Join(errs...)
}
