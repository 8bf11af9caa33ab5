package kurrentdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/hrss-ledger/ledger/eventstore"
)

// call runs one client operation with the retry policy; every error it
// returns has been through mapError.
func (s *Store) call(ctx context.Context, op string, fn func(*esdb.Client) error) error {
	return s.retry.do(ctx, func() error {
		client, err := s.currentClient()
		if err != nil {
			return err
		}
		return mapError(ctx, op, fn(client))
	}, s.renewClient)
}

// currentClient returns the live client, or ErrClosed after Close.
func (s *Store) currentClient() (*esdb.Client, error) {
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	if s.closed {
		return nil, eventstore.ErrClosed
	}
	return s.client, nil
}

// renewClient replaces a client that shut itself down: client v4.2.0 closes
// itself for good when node discovery fails (for example while the server
// restarts), and answers every later call with ErrorCodeConnectionClosed.
func (s *Store) renewClient(cause error) error {
	if !errors.Is(cause, errClientClosed) {
		return nil
	}
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	if s.closed {
		return eventstore.ErrClosed
	}
	client, err := esdb.NewClient(s.conn)
	if err != nil {
		return fmt.Errorf("kurrentdb: renew client: %w", err)
	}
	s.client.Close()
	s.client = client
	return nil
}

// checkStream refuses a log stream whose metadata lets the server drop
// events: a maximum count or age, or a truncation point (a soft delete sets
// one). A tombstoned (hard-deleted) stream is refused through mapError.
func (s *Store) checkStream(ctx context.Context) error {
	var meta *esdb.StreamMetadata
	err := s.call(ctx, "stream metadata", func(c *esdb.Client) error {
		var err error
		meta, err = c.GetStreamMetadata(ctx, s.stream, esdb.ReadStreamOptions{})
		return err
	})
	if errors.Is(err, errNoStream) {
		return nil
	}
	if err != nil {
		return err
	}
	return unsafeMetadata(s.stream, meta)
}

// unsafeMetadata is ErrUnsafeStream when the metadata can lose events.
func unsafeMetadata(stream string, meta *esdb.StreamMetadata) error {
	switch {
	case meta.MaxCount() != nil:
		return fmt.Errorf("kurrentdb: %s has $maxCount %d: %w", stream, *meta.MaxCount(), eventstore.ErrUnsafeStream)
	case meta.MaxAge() != nil:
		return fmt.Errorf("kurrentdb: %s has $maxAge %s: %w", stream, *meta.MaxAge(), eventstore.ErrUnsafeStream)
	case meta.TruncateBefore() != nil:
		return fmt.Errorf("kurrentdb: %s has $tb %d (deleted or truncated): %w", stream, *meta.TruncateBefore(), eventstore.ErrUnsafeStream)
	}
	return nil
}

// Close stops the group-commit loop and releases the connection; later calls
// fail with ErrClosed.
func (s *Store) Close() error {
	s.clientMu.Lock()
	if s.closed {
		s.clientMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.quit)
	s.clientMu.Unlock()
	<-s.flushed
	return s.client.Close()
}
