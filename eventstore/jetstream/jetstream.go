// Package jetstream is the ledger's default event store: a NATS JetStream
// stream, either served by a nats-server embedded in the process
// (OpenEmbedded) or by an external server or cluster (Connect).
//
// # Design
//
// The whole log is one JetStream stream with one subject. One message holds
// one batch: the events of one AppendBatch, or of all the Append calls that
// arrived while the previous batch was being made durable (group commit), in
// a compact binary encoding (codec.go). So one fsync carries many events, a
// commit is atomic (it lives in one message), and replay reads many events
// per message.
//
// Every message is published with Nats-Expected-Last-Sequence set to the
// sequence of the last message this store knows. A second writer on the same
// stream is thereby fenced: its publish fails, it catches up from the stream
// and decides again. The store keeps in memory the head position and hash,
// every stream's version and newest event, every command id with its result
// (forever: the idempotency of a command does not expire with JetStream's
// duplicate window), a back-link from each event to its stream's event
// before it, and the index from message sequence to first position. It
// rebuilds all of it at open by reading the log and verifying the hash chain
// (load.go: on every core, with the indexes sorted once at the end), or,
// when Close saved the state beside the cache, by verifying the chain up to
// the saved head and folding in only the events after it.
//
// Appends are group-committed by one goroutine (committer.go): it takes
// every Append already queued, waits up to groupLinger for the callers of
// the previous batch to come back, decides the commits against its state
// (a commit failing its expectation is refused alone), publishes one
// message and answers each caller after the acknowledgement. One batch is
// in flight at a time: the server fsyncs each message on its own, so two in
// flight only halve the batches.
//
// Reads (Read, Subscribe, ReadStream) never wait for the committer. They
// read from a local cache of the log (cache.go: one append-only file,
// verified through the hash chain at open) and, past it, from the stream
// through direct gets or an ordered consumer, decoding on one goroutine and
// delivering on the caller's.
//
// # Durability
//
// An append is acknowledged only after JetStream acknowledged the message,
// and the server acknowledges only after fsync when it runs with sync
// always: OpenEmbedded sets SyncAlways; an external server must be configured
// with `jetstream { sync_interval: always }` (a client cannot see this
// setting, so Connect cannot check it). If a publish's outcome is uncertain
// (timeout, lost connection), the store reads the stream to learn whether the
// message landed before it answers; it never publishes the same batch twice.
//
// # Immutability
//
// The stream is created with file storage, DenyDelete, DenyPurge and no
// limits. At every open the store checks the stream's configuration and
// refuses (ErrUnsafeStream) a stream that could drop messages: limits,
// interest or work-queue retention, rollups, message TTLs, memory storage,
// asynchronous persistence, or deletes and purges allowed.
package jetstream

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hrss-ledger/ledger/eventstore"
)

var _ eventstore.Store = (*Store)(nil)

// Named limits and timeouts.
const (
	serverReadyTimeout  = 30 * time.Second
	requestTimeout      = 10 * time.Second // one JetStream API call
	publishTimeout      = 10 * time.Second // one batch's publish, fsync included
	resolveTimeout      = 60 * time.Second // learning a timed-out publish's outcome
	maxFenceRetries     = 16               // rebuilds of a group of Appends after another writer wrote
	maxQueuedAppends    = 4096             // Append calls waiting for the committer
	duplicateWindow     = 2 * time.Second  // unused by the store (no Nats-Msg-Id); kept small
	minServerPayloadLen = 1 << 20          // a batch at the contract's limits fits in 1 MiB
)

// Defaults for Option.
const (
	DefaultStream  = "LEDGER"
	DefaultSubject = "ledger.events"
)

type config struct {
	stream, subject string
	replicas        int
	port            int
	cacheDir        string
	natsOptions     []nats.Option
}

// Option configures OpenEmbedded and Connect.
type Option func(*config)

// WithStream names the JetStream stream and its one subject.
func WithStream(stream, subject string) Option {
	return func(c *config) { c.stream, c.subject = stream, subject }
}

// WithReplicas sets the stream's replica count when the store creates it
// (a cluster wants 3); the default is 1.
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

// WithPort makes the embedded server listen on the loopback interface at
// port (-1 for a random port), for other processes or tests; by default it
// does not listen at all.
func WithPort(port int) Option { return func(c *config) { c.port = port } }

// WithCacheDir keeps a local copy of the log in dir for fast replay (see
// cache.go). OpenEmbedded keeps one under its data directory by default.
func WithCacheDir(dir string) Option { return func(c *config) { c.cacheDir = dir } }

// WithNATSOptions adds connection options (credentials, TLS, name).
func WithNATSOptions(opts ...nats.Option) Option {
	return func(c *config) { c.natsOptions = append(c.natsOptions, opts...) }
}

func newConfig(opts []Option) config {
	c := config{stream: DefaultStream, subject: DefaultSubject, replicas: 1}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Store is the JetStream event store.
type Store struct {
	cfg    config
	srv    *server.Server // nil when connected to an external server
	nc     *nats.Conn
	js     jetstream.JetStream
	legacy nats.JetStreamContext // for push ordered consumers, the fastest read
	stream jetstream.Stream
	cache  *cache  // nil without a cache directory
	writer [8]byte // identifies this instance's messages

	// mu guards the fields below for readers; only the committer goroutine
	// (and open, before it starts) changes them, so it reads them unlocked.
	mu       sync.RWMutex
	state    *eventstore.State
	lastSeq  uint64                // sequence of the last message
	firstPos []eventstore.Position // firstPos[seq-1]: first position in message seq
	stale    bool                  // the stream may hold messages the state lacks: catch up before writing

	batch        uint64          // counter of published batches, committer only
	lastGroupLen int             // requests in the last group, committer only
	landed       map[uint64]bool // our batches found by catching up after a failure, committer only
	requests     chan *request
	closed       chan struct{}
	done         chan struct{}
	once         sync.Once
}

// OpenEmbedded starts a nats-server inside the process with its JetStream
// data under dir, fsync on every write, and opens the store on it.
func OpenEmbedded(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	cfg := newConfig(append([]Option{WithCacheDir(filepath.Join(dir, "cache"))}, opts...))
	srv, nc, err := startEmbedded(dir, "ledger", cfg)
	if err != nil {
		return nil, err
	}
	s, err := open(ctx, cfg, srv, nc)
	if err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, err
	}
	return s, nil
}

// startEmbedded starts a nats-server in this process on the JetStream data
// under dir, fsyncing every write, and connects to it in-process. It
// listens on a loopback port only when cfg asks for one.
func startEmbedded(dir, name string, cfg config) (*server.Server, *nats.Conn, error) {
	srv, err := server.NewServer(&server.Options{
		ServerName: name,
		JetStream:  true,
		StoreDir:   filepath.Join(dir, "jetstream"),
		SyncAlways: true,
		DontListen: cfg.port == 0,
		Host:       "127.0.0.1",
		Port:       cfg.port,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("jetstream: embedded server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(serverReadyTimeout) {
		srv.Shutdown()
		return nil, nil, fmt.Errorf("jetstream: embedded server not ready after %v: %w", serverReadyTimeout, eventstore.ErrUnavailable)
	}
	nc, err := nats.Connect("", append([]nats.Option{nats.InProcessServer(srv)}, cfg.natsOptions...)...)
	if err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, nil, fmt.Errorf("jetstream: connect to embedded server: %w", err)
	}
	return srv, nc, nil
}

// Connect opens the store on an external NATS server or cluster. The server
// must run JetStream with `sync_interval: always`, or an acknowledged event
// can be lost in a power failure.
func Connect(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg := newConfig(opts)
	nc, err := nats.Connect(url, cfg.natsOptions...)
	if err != nil {
		return nil, fmt.Errorf("jetstream: connect %s: %w", url, err)
	}
	return open(ctx, cfg, nil, nc)
}

func open(ctx context.Context, cfg config, srv *server.Server, nc *nats.Conn) (*Store, error) {
	s, err := newStore(cfg, srv, nc)
	if err == nil {
		err = s.openStream(ctx)
	}
	if err == nil && s.cfg.cacheDir != "" {
		s.cache, err = openCache(s.cfg.cacheDir)
	}
	if err == nil {
		err = s.load(ctx)
	}
	if err != nil {
		if s != nil && s.cache != nil {
			s.cache.close()
		}
		nc.Close()
		return nil, err
	}
	go s.commitLoop()
	return s, nil
}

func newStore(cfg config, srv *server.Server, nc *nats.Conn) (*Store, error) {
	if nc.MaxPayload() < minServerPayloadLen {
		return nil, fmt.Errorf("jetstream: server max_payload %d is below the %d a batch may need", nc.MaxPayload(), minServerPayloadLen)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(publishTimeout))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	legacy, err := nc.JetStream()
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	s := &Store{
		cfg: cfg, srv: srv, nc: nc, js: js, legacy: legacy,
		state:    eventstore.NewState(),
		requests: make(chan *request, maxQueuedAppends),
		closed:   make(chan struct{}),
		done:     make(chan struct{}),
	}
	if _, err := rand.Read(s.writer[:]); err != nil {
		return nil, fmt.Errorf("jetstream: writer id: %w", err)
	}
	return s, nil
}

// streamConfig is the configuration the store creates its stream with.
func (s *Store) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              s.cfg.stream,
		Description:       "hrss ledger event log: immutable, one batch of events per message",
		Subjects:          []string{s.cfg.subject},
		Retention:         jetstream.LimitsPolicy,
		MaxConsumers:      -1,
		MaxMsgs:           -1,
		MaxBytes:          -1,
		MaxAge:            0,
		MaxMsgsPerSubject: -1,
		MaxMsgSize:        -1,
		Discard:           jetstream.DiscardNew,
		Storage:           jetstream.FileStorage,
		Replicas:          s.cfg.replicas,
		Duplicates:        duplicateWindow,
		DenyDelete:        true,
		DenyPurge:         true,
		AllowDirect:       true,
	}
}

// openStream creates the stream if it is missing and refuses an unsafe one.
func (s *Store) openStream(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	stream, err := s.js.Stream(ctx, s.cfg.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		stream, err = s.js.CreateStream(ctx, s.streamConfig())
	}
	if err != nil {
		return fmt.Errorf("jetstream: open stream %s: %w", s.cfg.stream, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("jetstream: stream %s info: %w", s.cfg.stream, err)
	}
	if len(info.Config.Subjects) != 1 || info.Config.Subjects[0] != s.cfg.subject {
		return fmt.Errorf("jetstream: stream %s takes subjects %v, want only %q: %w",
			s.cfg.stream, info.Config.Subjects, s.cfg.subject, eventstore.ErrUnsafeStream)
	}
	if err := checkSafe(info); err != nil {
		return fmt.Errorf("jetstream: stream %s: %w", s.cfg.stream, err)
	}
	s.stream = stream
	return nil
}

// checkSafe refuses a stream that could lose or alter messages.
func checkSafe(info *jetstream.StreamInfo) error {
	c, st := info.Config, info.State
	problems := []struct {
		bad  bool
		what string
	}{
		{c.Retention != jetstream.LimitsPolicy, "retention is not limits (messages are removed once consumed)"},
		{c.MaxMsgs > 0, "max_msgs is set"},
		{c.MaxBytes > 0, "max_bytes is set"},
		{c.MaxAge > 0, "max_age is set"},
		{c.MaxMsgsPerSubject > 0, "max_msgs_per_subject is set"},
		{c.Storage != jetstream.FileStorage, "storage is not file"},
		{!c.DenyDelete, "deletes are allowed"},
		{!c.DenyPurge, "purges are allowed"},
		{c.AllowRollup, "rollups are allowed"},
		{c.AllowMsgTTL, "message TTLs are allowed"},
		{c.NoAck, "publishes are not acknowledged"},
		{c.PersistMode != jetstream.DefaultPersistMode, "persistence is asynchronous"},
		{c.Mirror != nil, "the stream is a mirror"},
		{len(c.Sources) > 0, "the stream copies messages from other streams"},
		{c.SubjectTransform != nil, "the stream rewrites subjects"},
		{st.Msgs > 0 && st.FirstSeq != 1, "messages are missing from the start"},
		{st.NumDeleted > 0, "messages were deleted"},
	}
	for _, p := range problems {
		if p.bad {
			return fmt.Errorf("%w: %s", eventstore.ErrUnsafeStream, p.what)
		}
	}
	return nil
}

// check refuses calls on a closed store.
func (s *Store) check() error {
	select {
	case <-s.closed:
		return fmt.Errorf("jetstream: %w", eventstore.ErrClosed)
	default:
		return nil
	}
}

// Close stops the committer (failing queued appends with ErrClosed), saves
// the state beside the cache for a quick next open, closes the connection
// and, when embedded, shuts the server down.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.closed)
		<-s.done
		if s.cache != nil {
			// Both are copies for speed: failing to save them costs the
			// next open time, never an event, so Close does not fail.
			s.writeSnapshot()
			s.cache.close()
		}
		s.nc.Close()
		if s.srv != nil {
			s.srv.Shutdown()
			s.srv.WaitForShutdown()
		}
	})
	return nil
}

// ClientURL returns the URL other processes can connect to, when the
// embedded server listens (WithPort); "" otherwise.
func (s *Store) ClientURL() string {
	if s.srv == nil || s.cfg.port == 0 {
		return ""
	}
	return s.srv.ClientURL()
}

// Conn returns the store's NATS connection, for publishing on other
// subjects (the views' live updates) over the same connection. The caller
// must not close it: Close does.
func (s *Store) Conn() *nats.Conn { return s.nc }

// startCache starts the cache writer, when the store keeps a cache.
func (s *Store) startCache() {
	if s.cache != nil {
		s.cache.start()
	}
}
