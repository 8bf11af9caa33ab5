package jetstream

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hrss-ledger/ledger/eventstore"
)

const testTimeout = 30 * time.Second

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// embeddedHarness opens stores on an in-process server without a listener.
type embeddedHarness struct {
	dirs map[eventstore.Store]string
}

func (h *embeddedHarness) Open(t *testing.T) eventstore.Store {
	return h.open(t, t.TempDir())
}

func (h *embeddedHarness) open(t *testing.T, dir string) eventstore.Store {
	t.Helper()
	s, err := OpenEmbedded(testContext(t), dir)
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	h.dirs[s] = dir
	return s
}

func (h *embeddedHarness) Reopen(t *testing.T, closed eventstore.Store) (eventstore.Store, error) {
	dir := h.dirs[closed]
	s, err := OpenEmbedded(testContext(t), dir)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { s.Close() })
	h.dirs[s] = dir
	return s, nil
}

func (h *embeddedHarness) DeleteEvent(t *testing.T, s eventstore.Store, p eventstore.Position) error {
	js := s.(*Store)
	return js.stream.DeleteMsg(testContext(t), js.seqOf(p))
}

func (h *embeddedHarness) Purge(t *testing.T, s eventstore.Store) error {
	return s.(*Store).stream.Purge(testContext(t))
}

func (h *embeddedHarness) LowerLimits(t *testing.T, s eventstore.Store) {
	js := s.(*Store)
	cfg := js.streamConfig()
	cfg.MaxMsgs = 1_000_000 // above the log's length: nothing is lost yet, but it could be
	if _, err := js.js.UpdateStream(testContext(t), cfg); err != nil {
		t.Fatalf("UpdateStream: %v", err)
	}
}

func TestConformanceEmbedded(t *testing.T) {
	eventstore.RunConformance(t, &embeddedHarness{dirs: map[eventstore.Store]string{}})
}

// externalHarness runs a standalone nats-server (in this process, listening
// on a loopback port) and connects to it by URL, as to a remote server.
// Reopen restarts the server too.
type externalHarness struct {
	embeddedHarness
	servers map[eventstore.Store]*server.Server
}

func startServer(t *testing.T, dir string) *server.Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir,
		SyncAlways: true, NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatalf("nats-server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(serverReadyTimeout) {
		t.Fatalf("nats-server not ready")
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

func connectRaw(t testing.TB, srv *server.Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

func (h *externalHarness) Open(t *testing.T) eventstore.Store {
	return h.connect(t, t.TempDir())
}

func (h *externalHarness) connect(t *testing.T, dir string) eventstore.Store {
	t.Helper()
	s, err := h.reconnect(t, dir)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return s
}

func (h *externalHarness) reconnect(t *testing.T, dir string) (eventstore.Store, error) {
	srv := startServer(t, dir)
	s, err := Connect(testContext(t), srv.ClientURL())
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { s.Close() })
	h.dirs[s] = dir
	h.servers[s] = srv
	return s, nil
}

func (h *externalHarness) Reopen(t *testing.T, closed eventstore.Store) (eventstore.Store, error) {
	srv := h.servers[closed]
	srv.Shutdown()
	srv.WaitForShutdown()
	return h.reconnect(t, h.dirs[closed])
}

func TestConformanceExternal(t *testing.T) {
	h := &externalHarness{embeddedHarness: embeddedHarness{dirs: map[eventstore.Store]string{}}}
	h.servers = map[eventstore.Store]*server.Server{}
	eventstore.RunConformance(t, h)
}

func TestUnsafeStreamConfigurationsAreRefused(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *jetstream.StreamConfig)
	}{
		{"a stream that allows deletes", func(c *jetstream.StreamConfig) { c.DenyDelete = false }},
		{"a stream that allows purges", func(c *jetstream.StreamConfig) { c.DenyPurge = false }},
		{"a stream with a maximum age", func(c *jetstream.StreamConfig) { c.MaxAge = time.Hour }},
		{"a stream with a byte limit", func(c *jetstream.StreamConfig) { c.MaxBytes = 1 << 30 }},
		{"a stream with a per-subject limit", func(c *jetstream.StreamConfig) { c.MaxMsgsPerSubject = 10 }},
		{"a work-queue stream", func(c *jetstream.StreamConfig) { c.Retention = jetstream.WorkQueuePolicy }},
		{"a stream in memory", func(c *jetstream.StreamConfig) { c.Storage = jetstream.MemoryStorage }},
		{"a stream that allows rollups", func(c *jetstream.StreamConfig) { c.AllowRollup, c.DenyPurge = true, false }},
		{"a stream that allows message TTLs", func(c *jetstream.StreamConfig) { c.AllowMsgTTL = true }},
		{"a stream with asynchronous persistence", func(c *jetstream.StreamConfig) { c.PersistMode = jetstream.AsyncPersistMode }},
		{"a stream that takes other subjects too", func(c *jetstream.StreamConfig) { c.Subjects = append(c.Subjects, "other.>") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, t.TempDir())
			ctx := testContext(t)
			cfg := (&Store{cfg: newConfig(nil)}).streamConfig()
			tt.change(&cfg)
			nc, js := connectRaw(t, srv)
			defer nc.Close()
			if _, err := js.CreateStream(ctx, cfg); err != nil {
				t.Fatalf("CreateStream: %v", err)
			}
			s, err := Connect(ctx, srv.ClientURL())
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, eventstore.ErrUnsafeStream) {
				t.Errorf("Connect: error %v, want ErrUnsafeStream", err)
			}
		})
	}
}
