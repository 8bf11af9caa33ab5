package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hrss-ledger/ledger/api"
	"github.com/hrss-ledger/ledger/api/vault"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
	"github.com/hrss-ledger/ledger/eventstore/jetstream"
	"github.com/hrss-ledger/ledger/eventstore/kurrentdb"
	"github.com/hrss-ledger/ledger/eventstore/replay"
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
	Security   SecurityConfig // TLS, four eyes, rate limits, NATS credentials (security.go)
}

func runServe(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("serve")
	var cfg Config
	fs.StringVar(&cfg.DataDir, "data", "./data", "data directory (embedded store, keys, view snapshots)")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "HTTP listen address")
	fs.StringVar(&cfg.TokensFile, "tokens", envOr("LEDGER_TOKENS_FILE", ""),
		"tokens file: one `ROLE TOKEN|sha256:HEX [NAME] [expires=YYYY-MM-DD]` per line; SIGHUP reloads it")
	fs.StringVar(&cfg.NATSURL, "nats", "", "external NATS server or cluster URL(s), comma-separated (default: embedded)")
	fs.IntVar(&cfg.Replicas, "replicas", 1, "with --nats: replicas of the stream when the ledger creates it (3 on a three-node cluster)")
	fs.StringVar(&cfg.KurrentURL, "kurrentdb", "", "KurrentDB connection string (instead of NATS)")
	fs.BoolVar(&cfg.Demo, "demo", false, "load the demo city once")
	addSecurityFlags(fs, &cfg.Security)
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
	tokens     []api.GeneratedToken // printed on start when generated
	reloader   *reloader            // SIGHUP: tokens and certificate
	tls        bool
	viewsCtx   context.Context // ends when the views are stopped
	stopViews  context.CancelFunc
	viewsDone  chan struct{} // closed when the views' runner returns
	viewsErr   error
	tokensPath string
}

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
	start := time.Now()
	if m.store, err = openStore(openCtx, m.cfg); err != nil {
		m.store = nil // not a typed nil that Close would call
		return err
	}
	head, err := m.store.Head(openCtx)
	if err != nil {
		return err
	}
	slog.Info("start: store open", "head", head, "took", since(start))
	if m.vault, err = vault.Open(filepath.Join(m.cfg.DataDir, "keys")); err != nil {
		return err
	}
	// The views, the writer's state and the audit tree each replay the log,
	// side by side. The writer and the views share one read, decoded on
	// every core (replay.Feed), each applying it on a goroutine of its own.
	// The tree reads on its own: sharing the read would pace it (and the
	// start of the write side, which waits for it) by the views' rebuild.
	feed := replay.NewFeed(m.store)
	viewsShare, writerShare := feed.Join(projections.Reads), feed.Join(nil)
	if err := m.startViews(viewsShare); err != nil {
		viewsShare.Leave()
		return err
	}
	go m.logViewsReady(head, start)
	built := make(chan builtTree, 1)
	go func() {
		tree, err := audit.Build(openCtx, m.store)
		if err == nil {
			slog.Info("start: audit tree built", "size", tree.Size(), "took", since(start))
		}
		built <- builtTree{tree, err}
	}()
	m.writer, err = writer.Open(openCtx, m.store, writer.WithSnapshotDir(filepath.Join(m.cfg.DataDir, "writer")),
		writer.WithReplay(writerShare))
	tree := <-built
	if err != nil {
		return err
	}
	slog.Info("start: write side ready", "head", m.writer.Head(), "took", since(start))
	if tree.err != nil {
		return tree.err
	}
	if m.audit, err = openAuditOn(openCtx, m.cfg.DataDir, m.store, m.writer, tree.tree); err != nil {
		return err
	}
	if m.cfg.Demo {
		if err := loadDemo(openCtx, m.writer, m.vault); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	return m.listen()
}

type builtTree struct {
	tree *audit.Tree
	err  error
}

// openStore picks the backend: KurrentDB, an external NATS, or embedded NATS.
func openStore(ctx context.Context, cfg Config) (eventstore.Store, error) {
	switch {
	case cfg.KurrentURL != "":
		return kurrentdb.Open(ctx, kurrentdb.Config{URL: cfg.KurrentURL})
	case cfg.NATSURL != "":
		secured, err := cfg.Security.natsOptions()
		if err != nil {
			return nil, err
		}
		// Reconnect for ever: on a cluster a node's loss moves the
		// connection to another node, however long the outage lasts.
		return jetstream.Connect(ctx, cfg.NATSURL, jetstream.WithReplicas(max(cfg.Replicas, 1)),
			jetstream.WithNATSOptions(nats.MaxReconnects(-1), nats.Name("ledger serve")), jetstream.WithNATSOptions(secured...))
	default:
		return jetstream.OpenEmbedded(ctx, filepath.Join(cfg.DataDir, "nats"))
	}
}

// startViews rebuilds the views (from their snapshot and the log) and keeps
// them live from a subscription.
func (m *Main) startViews(share *replay.Member) error {
	publisher, latest, err := viewPublication(context.Background(), m.store)
	if err != nil {
		return err
	}
	views, err := projections.New(projections.Config{Dir: filepath.Join(m.cfg.DataDir, "views"),
		Publisher: publisher, Latest: latest, Replay: share})
	if err != nil {
		return err
	}
	m.views = views
	ctx, cancel := context.WithCancel(context.Background())
	m.viewsCtx, m.stopViews = ctx, cancel
	m.viewsDone = make(chan struct{})
	go func() {
		defer close(m.viewsDone)
		m.viewsErr = views.Run(ctx, m.store)
	}()
	return nil
}

// logViewsReady logs when the views have caught up with the log as it was
// at start: the last step of a start that rebuilds them.
func (m *Main) logViewsReady(head eventstore.Position, start time.Time) {
	for m.viewsCtx.Err() == nil { // WaitFor gives up after maxWaitFor: a rebuild takes longer
		if m.views.WaitFor(m.viewsCtx, head) == nil {
			slog.Info("start: views caught up", "position", head, "took", since(start))
			return
		}
	}
}

// since is the time since start, rounded for a log line.
func since(start time.Time) time.Duration { return time.Since(start).Round(time.Millisecond) }

func (m *Main) listen() error {
	tokens, err := m.loadTokens()
	if err != nil {
		return err
	}
	apiConfig, err := m.cfg.Security.apiConfig(api.Config{
		Commands: commandBus{m.writer},
		Views:    viewsAdapter{m.views},
		Tokens:   tokens,
		Personal: m.vault,
		Log:      m.store,
		Audit:    m.audit.api(),
	})
	if err != nil {
		return err
	}
	server := api.NewServer(apiConfig)
	tlsConfig, cert, err := m.cfg.Security.tlsConfig()
	if err != nil {
		return err
	}
	m.listener, err = net.Listen("tcp", m.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if tlsConfig != nil {
		m.listener, m.tls = tls.NewListener(m.listener, tlsConfig), true
	}
	m.reloader = &reloader{tokens: tokens, tokensPath: m.tokensPath, cert: cert}
	m.reloader.watch()
	m.http = server.HTTPServer(m.cfg.Listen)
	return nil
}

// loadTokens reads the tokens file; without one, it creates a file of fresh
// random tokens under the data directory, holding only their digests: the
// tokens are printed once at start and kept nowhere. Plain tokens in a
// file are replaced by their digests once loaded.
func (m *Main) loadTokens() (*api.Tokens, error) {
	path := m.cfg.TokensFile
	if path == "" {
		path = filepath.Join(m.cfg.DataDir, "tokens")
		_, err := os.Stat(path)
		// A demo prints working tokens at every start: only their digests
		// are kept, so each start of the demo mints fresh ones.
		if errors.Is(err, os.ErrNotExist) || m.cfg.Demo {
			if m.tokens, err = api.GenerateTokensFile(path); err != nil {
				return nil, err
			}
		}
	}
	m.tokensPath = path
	hashTokensFile(path)
	return api.LoadTokens(path)
}

// ReloadTokens re-reads the tokens file and the TLS certificate, as SIGHUP does.
func (m *Main) ReloadTokens() error { return m.reloader.Reload() }

// URL is the address the server answers on.
func (m *Main) URL() string {
	if m.tls {
		return "https://" + m.listener.Addr().String()
	}
	return "http://" + m.listener.Addr().String()
}

func (m *Main) printWelcome(w io.Writer) {
	fmt.Fprintf(w, "ledger: serving on %s (log head %d)\n", m.URL(), m.writer.Head())
	if len(m.tokens) > 0 {
		fmt.Fprintf(w, "tokens (shown this once; %s keeps only their digests):\n", m.tokensPath)
		for _, t := range m.tokens {
			fmt.Fprintf(w, "  %-8s %s\n", t.Role, t.Token)
		}
		fmt.Fprintf(w, "try: curl -H 'Authorization: Bearer %s' '%s/v1/progress?region=610900&year=2017'\n",
			m.tokens[len(m.tokens)-1].Token, m.URL())
		return
	}
	fmt.Fprintf(w, "tokens: as in %s (digests only; the tokens were shown when they were made)\n", m.tokensPath)
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
	if m.reloader != nil && m.reloader.stop != nil {
		m.reloader.stop()
	}
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
