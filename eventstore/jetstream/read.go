package jetstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hrss-ledger/ledger/eventstore"
)

// Read-path limits.
const (
	// directGetMaxMsgs: ranges up to this many messages are fetched one by
	// one with direct get, which is quicker to start than a consumer.
	directGetMaxMsgs = 16
	// scanBufferedBatches bounds the decoded messages waiting for delivery.
	scanBufferedBatches = 256
	// consumerPendingMsgs and consumerPendingBytes bound what the client
	// buffers for one consumer before flow control holds the server back.
	consumerPendingMsgs  = 1 << 16
	consumerPendingBytes = 256 << 20
)

// Head returns the position of the last event in the stream, including
// events other writers appended.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	last, err := s.streamLast(ctx)
	if err != nil {
		return 0, err
	}
	s.mu.RLock()
	known, _ := s.state.Head()
	knownSeq := s.lastSeq
	s.mu.RUnlock()
	if last <= knownSeq {
		return known, nil
	}
	b, err := s.get(ctx, newDecoder(), last)
	if err != nil {
		return 0, err
	}
	return b.header.first + eventstore.Position(b.header.count) - 1, nil
}

// streamLast asks the stream for its last sequence.
func (s *Store) streamLast(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	info, err := s.stream.Info(ctx)
	if err != nil {
		// No answer from the stream (no leader during an election, no
		// connection): the log cannot be read or written now.
		return 0, fmt.Errorf("jetstream: stream info: %w: %w", eventstore.ErrUnavailable, err)
	}
	return info.State.LastSeq, nil
}

// catchUp folds into the state every message past the last one known,
// verifying positions, versions and the hash chain. Only open and the
// committer call it: they are the only ones that change the state.
func (s *Store) catchUp(ctx context.Context) error {
	last, err := s.streamLast(ctx)
	if err != nil || last <= s.lastSeq {
		return err
	}
	return s.scan(ctx, s.lastSeq+1, last, func(b batch) error {
		if b.header.writer == s.writer && s.landed != nil {
			s.landed[b.header.batch] = true
		}
		if err := s.restore(b); err != nil {
			return err
		}
		if s.cache != nil {
			s.cache.add(b.seq, b.payload)
		}
		return nil
	})
}

func (s *Store) restore(b batch) error {
	return s.restoreWith(b, s.state.Restore)
}

func (s *Store) restoreWith(b batch, fold func(eventstore.Event) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.seq != s.lastSeq+1 {
		return fmt.Errorf("jetstream: message %d after %d: %w", b.seq, s.lastSeq, eventstore.ErrCorrupt)
	}
	for _, e := range b.events {
		if err := fold(e); err != nil {
			return fmt.Errorf("jetstream: message %d: %w", b.seq, err)
		}
	}
	s.index(b.seq, b.events)
	return nil
}

// batch is one decoded message.
type batch struct {
	seq     uint64
	header  header
	events  []eventstore.Event
	payload []byte
}

// seqOf returns the sequence of the message holding position p, or the next
// sequence if p is past the head.
func (s *Store) seqOf(p eventstore.Position) uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if head, _ := s.state.Head(); p > head {
		return s.lastSeq + 1
	}
	i := sort.Search(len(s.firstPos), func(i int) bool { return s.firstPos[i] > p })
	return uint64(max(i, 1))
}

// seqsOf returns the messages holding positions (in order), each once;
// callers hold mu.
func (s *Store) seqsOf(positions []eventstore.Position) []uint64 {
	var seqs []uint64
	for _, p := range positions {
		i := sort.Search(len(s.firstPos), func(i int) bool { return s.firstPos[i] > p })
		if seq := uint64(i); len(seqs) == 0 || seqs[len(seqs)-1] != seq {
			seqs = append(seqs, seq)
		}
	}
	return seqs
}

// Read calls fn for each event after `after`, up to the head as of the call.
func (s *Store) Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	if err := s.check(); err != nil {
		return err
	}
	last, err := s.streamLast(ctx)
	if err != nil {
		return err
	}
	from := s.seqOf(after + 1)
	if from > last {
		return nil
	}
	return s.scan(ctx, from, last, deliverAfter(&after, fn))
}

// ReadBatches is Read handing over the events of one message at a time
// (eventstore.BatchReader): a message holds a whole group commit, so a
// long read makes one call per some tens of events. The slice is reused
// after fn returns; the events in it are the caller's to keep.
func (s *Store) ReadBatches(ctx context.Context, after eventstore.Position, fn func([]eventstore.Event) error) error {
	if err := s.check(); err != nil {
		return err
	}
	last, err := s.streamLast(ctx)
	if err != nil {
		return err
	}
	from := s.seqOf(after + 1)
	if from > last {
		return nil
	}
	return s.scan(ctx, from, last, batchesAfter(after, fn))
}

// ReadRange is ReadBatches stopped at position last (audit.RangeReader):
// an audit proof reads back one block of a few dozen events, and a read up
// to the head would decode every message the scan reads ahead. The last
// run may go past last.
func (s *Store) ReadRange(ctx context.Context, after, last eventstore.Position, fn func([]eventstore.Event) error) error {
	if err := s.check(); err != nil {
		return err
	}
	from, to := s.seqOf(after+1), s.seqOf(last)
	s.mu.RLock()
	known := s.lastSeq
	s.mu.RUnlock()
	if to > known {
		// last is past the head this store knows: the stream may hold it.
		var err error
		if to, err = s.streamLast(ctx); err != nil {
			return err
		}
	}
	if from > to {
		return nil
	}
	return s.scan(ctx, from, to, batchesAfter(after, fn))
}

// batchesAfter hands fn each message's events past after, checking that
// they follow on without a gap.
func batchesAfter(after eventstore.Position, fn func([]eventstore.Event) error) func(batch) error {
	return func(b batch) error {
		events := b.events
		for len(events) > 0 && events[0].Position <= after {
			events = events[1:]
		}
		if len(events) == 0 {
			return nil
		}
		if events[0].Position != after+1 {
			return fmt.Errorf("jetstream: position %d after %d: %w", events[0].Position, after, eventstore.ErrCorrupt)
		}
		if err := fn(events); err != nil {
			return err
		}
		after = events[len(events)-1].Position
		return nil
	}
}

// deliverAfter passes a batch's events past *after to fn, advancing *after,
// and fails on a gap: ordered delivery must not skip a position.
func deliverAfter(after *eventstore.Position, fn func(eventstore.Event) error) func(batch) error {
	return func(b batch) error {
		for _, e := range b.events {
			if e.Position <= *after {
				continue
			}
			if e.Position != *after+1 {
				return fmt.Errorf("jetstream: position %d after %d: %w", e.Position, *after, eventstore.ErrCorrupt)
			}
			if err := fn(e); err != nil {
				return err
			}
			*after = e.Position
		}
		return nil
	}
}

// Subscribe delivers the events after `after`, then new ones as they are
// appended, until ctx ends, fn fails or the store closes.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.scan(ctx, s.seqOf(after+1), 0, deliverAfter(&after, fn))
}

// ReadStream returns one stream's events in version order.
func (s *Store) ReadStream(ctx context.Context, stream string) ([]eventstore.Event, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	last, err := s.streamLast(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	seqs := s.seqsOf(s.state.StreamPositions(stream))
	known := s.lastSeq
	s.mu.RUnlock()
	var out []eventstore.Event
	keep := func(b batch) error {
		for _, e := range b.events {
			if e.Stream == stream {
				out = append(out, e)
			}
		}
		return nil
	}
	dec := newDecoder()
	for _, seq := range seqs {
		b, err := s.get(ctx, dec, seq)
		if err != nil {
			return nil, err
		}
		keep(b)
	}
	if last > known { // appended by another writer since this store last caught up
		if err := s.scan(ctx, known+1, last, keep); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// get fetches and decodes one message, from the cache if it has it, else
// by direct get.
func (s *Store) get(ctx context.Context, dec *decoder, seq uint64) (batch, error) {
	data, err := s.fetch(ctx, seq)
	if err != nil {
		return batch{}, err
	}
	events, h, err := dec.decode(nil, data)
	if err != nil {
		return batch{}, fmt.Errorf("jetstream: message %d: %w", seq, err)
	}
	return batch{seq: seq, header: h, events: events, payload: data}, nil
}

func (s *Store) fetch(ctx context.Context, seq uint64) ([]byte, error) {
	if s.cache != nil && seq <= s.cache.lastSeq.Load() {
		return s.cache.read(seq)
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	m, err := s.stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		// Direct gets are answered by any replica of a clustered stream,
		// and one that lags (a node just restarted) has not the message
		// yet. Callers only ask for messages the stream holds: the leader
		// answers the ordinary get.
		var raw *nats.RawStreamMsg
		if raw, err = s.legacy.GetMsg(s.cfg.stream, seq, nats.Context(ctx)); err == nil {
			return raw.Data, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("jetstream: get message %d: %w", seq, err)
	}
	return m.Data, nil
}

// scan calls fn with each message from sequence `from` to `last` in order,
// or without end when last is 0. Small ranges use direct get; others an
// ordered consumer that decodes on its own goroutine while fn runs on the
// caller's. The batch's events slice is reused once fn returns: fn copies
// the events it keeps.
func (s *Store) scan(ctx context.Context, from, last uint64, fn func(batch) error) error {
	if s.cache != nil && from <= s.cache.lastSeq.Load() {
		cached := s.cache.lastSeq.Load()
		if last != 0 {
			cached = min(cached, last)
		}
		if err := s.scanCache(ctx, from, cached, fn); err != nil {
			return err
		}
		if cached == last {
			return nil
		}
		from = cached + 1
	}
	if last != 0 && last+1-from <= directGetMaxMsgs {
		dec := newDecoder()
		for seq := from; seq <= last; seq++ {
			b, err := s.get(ctx, dec, seq)
			if err == nil {
				err = fn(b)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return s.consume(ctx, from, last, fn)
}

// scanItem is a decoded message or the error that ends a scan.
type scanItem struct {
	batch
	err error
}

// eventSlices recycles the events arrays of delivered messages to the
// decoding goroutine, so that a long scan reuses a few hundred arrays
// instead of allocating one per message.
type eventSlices chan []eventstore.Event

func newEventSlices() eventSlices { return make(eventSlices, scanBufferedBatches+2) }

// get returns an empty array, reused when one is free.
func (p eventSlices) get() []eventstore.Event {
	select {
	case events := <-p:
		return events
	default:
		return nil
	}
}

// put offers a delivered message's array for reuse, first dropping its
// references to the events' data.
func (p eventSlices) put(events []eventstore.Event) {
	if cap(events) == 0 {
		return
	}
	clear(events)
	select {
	case p <- events[:0]:
	default:
	}
}

func (s *Store) consume(ctx context.Context, from, last uint64, fn func(batch) error) error {
	items := make(chan scanItem, scanBufferedBatches)
	quit := make(chan struct{})
	var stopOnce sync.Once
	stop := func() { stopOnce.Do(func() { close(quit) }) }
	dec := newDecoder()
	free := newEventSlices()
	handler := func(m *nats.Msg) {
		item := decodeMsg(dec, free.get(), m)
		select {
		case items <- item:
		case <-quit:
		}
	}
	sub, err := s.legacy.Subscribe(s.cfg.subject, handler,
		nats.OrderedConsumer(), nats.StartSequence(from), nats.BindStream(s.cfg.stream))
	if err != nil {
		return fmt.Errorf("jetstream: consume from %d: %w", from, err)
	}
	defer func() {
		stop() // first, so that a handler blocked on items returns
		sub.Unsubscribe()
	}()
	if err := sub.SetPendingLimits(consumerPendingMsgs, consumerPendingBytes); err != nil {
		return fmt.Errorf("jetstream: consumer limits: %w", err)
	}
	return s.deliverItems(ctx, items, free, from, last, fn)
}

// scanCache reads cached messages on one goroutine and delivers them on the
// caller's.
func (s *Store) scanCache(ctx context.Context, from, last uint64, fn func(batch) error) error {
	items := make(chan scanItem, scanBufferedBatches)
	quit := make(chan struct{})
	defer close(quit)
	free := newEventSlices()
	go func() {
		dec := newBorrowingDecoder() // the payload is the scan's read buffer
		err := s.cache.scan(from, last, func(seq uint64, payload []byte) error {
			events, h, err := dec.decode(free.get(), payload)
			select {
			case items <- scanItem{batch: batch{seq: seq, header: h, events: events}, err: err}:
			case <-quit:
				return errStopped
			}
			return err
		})
		if err != nil && !errors.Is(err, errStopped) {
			select {
			case items <- scanItem{err: err}:
			case <-quit:
			}
		}
	}()
	return s.deliverItems(ctx, items, free, from, last, fn)
}

var errStopped = errors.New("jetstream: scan stopped")

// deliverItems passes decoded messages from..last (or on without end when
// last is 0) to fn in order, then offers their events arrays to free.
func (s *Store) deliverItems(ctx context.Context, items <-chan scanItem, free eventSlices, from, last uint64, fn func(batch) error) error {
	for want := from; last == 0 || want <= last; want++ {
		var item scanItem
		select {
		case item = <-items:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return fmt.Errorf("jetstream: %w", eventstore.ErrClosed)
		}
		if item.err == nil && item.seq != want {
			item.err = fmt.Errorf("jetstream: message %d, want %d: %w", item.seq, want, eventstore.ErrCorrupt)
		}
		if item.err == nil {
			item.err = fn(item.batch)
		}
		if item.err != nil {
			return item.err
		}
		free.put(item.events)
	}
	return nil
}

// decodeMsg decodes a consumer's message into dst. The events alias the
// message's payload, which the client allocated for it alone.
func decodeMsg(dec *decoder, dst []eventstore.Event, m *nats.Msg) scanItem {
	meta, err := m.Metadata()
	if err != nil {
		return scanItem{err: fmt.Errorf("jetstream: message metadata: %w", err)}
	}
	events, h, err := dec.decode(dst, m.Data)
	if err != nil {
		return scanItem{err: fmt.Errorf("jetstream: message %d: %w", meta.Sequence.Stream, err)}
	}
	return scanItem{batch: batch{seq: meta.Sequence.Stream, header: h, events: events, payload: m.Data}}
}

// matchesStream checks a cached message against the stream's.
func (s *Store) matchesStream(ctx context.Context, seq uint64, payload []byte) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	m, err := s.stream.GetMsg(ctx, seq)
	if err != nil {
		return fmt.Errorf("jetstream: cache check at %d: %w", seq, err)
	}
	if !bytes.Equal(m.Data, payload) {
		return fmt.Errorf("jetstream: cached message %d differs from the stream", seq)
	}
	return nil
}
