// Package natspub publishes the ledger's views on NATS: every change on the
// subject ledger.views.<view>.<key> (core NATS, for live dashboards) and the
// latest value of every view in a JetStream key-value bucket (for late
// joiners). It adapts nats.go to projections.Publisher and
// projections.LatestStore.
package natspub

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the default key-value bucket of the latest view values.
const Bucket = "ledger_views"

// putTimeout bounds one write of a latest value.
const putTimeout = 5 * time.Second

// Publisher publishes view changes with core NATS.
type Publisher struct {
	nc *nats.Conn
}

// New returns a Publisher on a connection.
func New(nc *nats.Conn) *Publisher { return &Publisher{nc: nc} }

// Publish sends one view value.
func (p *Publisher) Publish(subject string, data []byte) error {
	if err := p.nc.Publish(subject, data); err != nil {
		return fmt.Errorf("natspub: publish %s: %w", subject, err)
	}
	return nil
}

// Latest keeps the latest value of each view in a key-value bucket.
type Latest struct {
	kv jetstream.KeyValue
}

// OpenLatest creates (or opens) the bucket, keeping one value per key.
func OpenLatest(ctx context.Context, nc *nats.Conn, bucket string) (*Latest, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("natspub: jetstream: %w", err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, History: 1, Storage: jetstream.FileStorage,
		Description: "latest value of each ledger view (ledger.views.<view>.<key>)"})
	if err != nil {
		return nil, fmt.Errorf("natspub: bucket %s: %w", bucket, err)
	}
	return &Latest{kv: kv}, nil
}

// Put stores a view's latest value.
func (l *Latest) Put(key string, value []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), putTimeout)
	defer cancel()
	if _, err := l.kv.Put(ctx, key, value); err != nil {
		return fmt.Errorf("natspub: put %s: %w", key, err)
	}
	return nil
}

// Get returns a view's latest value.
func (l *Latest) Get(ctx context.Context, key string) ([]byte, error) {
	e, err := l.kv.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("natspub: get %s: %w", key, err)
	}
	return e.Value(), nil
}
