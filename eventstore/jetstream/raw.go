package jetstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/hrss-ledger/ledger/eventstore"
)

// The raw reader is for auditors. The Store refuses a log whose hash chain,
// positions or messages are wrong (ErrCorrupt, ErrMalformed): right for the
// ledger, which must not run on a broken log, but an auditor wants to be
// shown where the log breaks. Raw reads every message of the stream as it
// is stored, with no verification and without the local cache (a copy that
// could hide what the stream holds), and leaves the judging to the caller
// (audit.VerifyChain and the like).

// ErrMalformed marks a message that is not a well-formed batch: something
// published around the store, or a payload altered past decoding.
var ErrMalformed = errBadPayload

// ErrMissing marks stream sequences that hold no message: deleted, purged
// or lost by the server (a block that failed its checksum).
var ErrMissing = errors.New("jetstream: stream messages missing")

// Raw is an unverified read-only view of the ledger's stream.
type Raw struct {
	cfg      config
	srv      *server.Server // nil when connected to an external server
	nc       *nats.Conn
	js       nats.JetStreamContext
	borrowed bool // nc belongs to a Store: Close leaves it open
}

// OpenRaw starts a nats-server on the data directory of OpenEmbedded (dir,
// the same argument) without opening the Store on it: nothing is verified,
// rebuilt or cached, and nothing is written to the stream.
func OpenRaw(dir string, opts ...Option) (*Raw, error) {
	cfg := newConfig(opts)
	srv, nc, err := startEmbedded(dir, "ledger-raw", cfg)
	if err != nil {
		return nil, err
	}
	return newRaw(cfg, srv, nc)
}

// ConnectRaw reads the ledger's stream on an external server or cluster.
func ConnectRaw(url string, opts ...Option) (*Raw, error) {
	cfg := newConfig(opts)
	nc, err := nats.Connect(url, cfg.natsOptions...)
	if err != nil {
		return nil, fmt.Errorf("jetstream: connect %s: %w", url, err)
	}
	return newRaw(cfg, nil, nc)
}

func newRaw(cfg config, srv *server.Server, nc *nats.Conn) (*Raw, error) {
	js, err := nc.JetStream()
	if err != nil {
		r := &Raw{srv: srv, nc: nc}
		r.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &Raw{cfg: cfg, srv: srv, nc: nc, js: js}, nil
}

// Raw returns an unverified view of the store's own stream over the
// store's connection, for a running server's auditors: it reads what the
// stream holds, not the store's cache. Closing it leaves the store open.
func (s *Store) Raw() (*Raw, error) {
	js, err := s.nc.JetStream()
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &Raw{cfg: s.cfg, nc: s.nc, js: js, borrowed: true}, nil
}

// ClientURL returns the URL of the raw server when it listens (WithPort),
// so that a test can publish around the store.
func (r *Raw) ClientURL() string {
	if r.srv == nil || r.cfg.port == 0 {
		return ""
	}
	return r.srv.ClientURL()
}

// Close closes the connection and, when embedded, shuts the server down.
func (r *Raw) Close() error {
	if r.borrowed {
		return nil
	}
	r.nc.Close()
	if r.srv != nil {
		r.srv.Shutdown()
		r.srv.WaitForShutdown()
	}
	return nil
}

// Head returns the position the stream's last message claims for its last
// event, unverified (0 when the stream is empty or that message does not
// decode): enough to size a progress bar.
func (r *Raw) Head(ctx context.Context) uint64 {
	info, err := r.js.StreamInfo(r.cfg.stream, nats.Context(ctx))
	if err != nil || info.State.LastSeq == 0 {
		return 0
	}
	m, err := r.js.GetMsg(r.cfg.stream, info.State.LastSeq, nats.Context(ctx))
	if err != nil {
		return 0
	}
	events, err := DecodeMessage(m.Data)
	if err != nil {
		return 0
	}
	return events[len(events)-1].Position
}

// Scan calls fn once per stream sequence from 1 to the stream's last, in
// order: with the message's events as stored (their positions as the
// message claims them), or with an error wrapping ErrMalformed for a
// message that does not decode, or ErrMissing for a sequence that holds no
// message (then once per missing run, seq being its first). Messages on any
// subject of the stream are read. An error from fn stops the scan and is
// returned.
func (r *Raw) Scan(ctx context.Context, fn func(seq uint64, events []eventstore.Event, err error) error) error {
	info, err := r.js.StreamInfo(r.cfg.stream, nats.Context(ctx))
	if err != nil {
		return fmt.Errorf("jetstream: raw: stream %s: %w", r.cfg.stream, err)
	}
	st := info.State
	next := uint64(1) // the sequence expected next
	if st.Msgs > 0 {
		if next, err = r.consume(ctx, fn); err != nil {
			return err
		}
	}
	if next <= st.LastSeq { // the last messages are gone
		return fn(next, nil, missing(next, st.LastSeq))
	}
	return nil
}

func missing(from, to uint64) error {
	return fmt.Errorf("%w: sequences %d to %d", ErrMissing, from, to)
}

// rawItem is one message read by the consumer, decoded off the caller's goroutine.
type rawItem struct {
	seq, pending uint64
	events       []eventstore.Event
	err          error // decoding failed
	fatal        error // the message's metadata did not parse: the scan ends
}

// consume reads every message through an ordered consumer, reports holes
// in the sequences, and returns the sequence after the last message.
func (r *Raw) consume(ctx context.Context, fn func(uint64, []eventstore.Event, error) error) (uint64, error) {
	items := make(chan rawItem, scanBufferedBatches)
	quit := make(chan struct{})
	defer close(quit)
	dec := newDecoder()
	handler := func(m *nats.Msg) {
		item := rawDecode(dec, m)
		select {
		case items <- item:
		case <-quit:
		}
	}
	sub, err := r.js.Subscribe("", handler, nats.OrderedConsumer(), nats.DeliverAll(), nats.BindStream(r.cfg.stream))
	if err != nil {
		return 0, fmt.Errorf("jetstream: raw consume: %w", err)
	}
	defer sub.Unsubscribe()
	if err := sub.SetPendingLimits(consumerPendingMsgs, consumerPendingBytes); err != nil {
		return 0, fmt.Errorf("jetstream: raw consumer limits: %w", err)
	}
	next := uint64(1)
	for {
		var item rawItem
		select {
		case item = <-items:
		case <-ctx.Done():
			return next, ctx.Err()
		}
		if item.fatal != nil {
			return next, item.fatal
		}
		if item.seq > next {
			if err := fn(next, nil, missing(next, item.seq-1)); err != nil {
				return next, err
			}
		}
		if err := fn(item.seq, item.events, item.err); err != nil {
			return next, err
		}
		next = item.seq + 1
		if item.pending == 0 {
			return next, nil
		}
	}
}

func rawDecode(dec *decoder, m *nats.Msg) rawItem {
	meta, err := m.Metadata()
	if err != nil {
		return rawItem{fatal: fmt.Errorf("jetstream: raw message metadata: %w", err)}
	}
	item := rawItem{seq: meta.Sequence.Stream, pending: meta.NumPending}
	item.events, _, item.err = dec.decode(nil, m.Data)
	if item.err != nil {
		item.events = nil
		item.err = fmt.Errorf("jetstream: message %d: %w", item.seq, item.err)
	}
	return item
}

// ReadUnverified scans the stream of the embedded data directory dir (the
// argument of OpenEmbedded) with Raw.Scan.
func ReadUnverified(ctx context.Context, dir string, fn func(seq uint64, events []eventstore.Event, err error) error, opts ...Option) error {
	r, err := OpenRaw(dir, opts...)
	if err != nil {
		return err
	}
	defer r.Close()
	return r.Scan(ctx, fn)
}

// EncodeMessage returns the payload of one batch message holding events
// (consecutive positions, one recorded time), byte for byte what the store
// publishes. Tools that rebuild or forge a stream use it; the store itself
// trusts no message it reads.
func EncodeMessage(writer [8]byte, batch uint64, events []eventstore.Event) []byte {
	return encodeBatch(nil, writer, batch, events)
}

// DecodeMessage decodes one batch message payload without verifying it.
// The events share nothing with payload, which the caller may reuse.
func DecodeMessage(payload []byte) ([]eventstore.Event, error) {
	events, _, err := newBorrowingDecoder().decode(nil, payload)
	return events, err
}
