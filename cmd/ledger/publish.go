package main

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hrss-ledger/ledger/eventstore"
	natsstore "github.com/hrss-ledger/ledger/eventstore/jetstream"
	"github.com/hrss-ledger/ledger/projections"
)

// Where dashboards find the views on NATS: changes on the subjects
// ledger.views.<view>.<key>, latest values in this key-value bucket.
const (
	viewsBucket    = "ledger_views"
	kvPutTimeout   = 5 * time.Second
	kvSetupTimeout = 10 * time.Second
)

// natsLatest keeps the latest value of each view in a JetStream KV bucket,
// for dashboards that join late.
type natsLatest struct{ kv jetstream.KeyValue }

func (l natsLatest) Put(key string, value []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), kvPutTimeout)
	defer cancel()
	_, err := l.kv.Put(ctx, key, value)
	return err
}

// viewPublication returns where the views publish their changes: over the
// store's own NATS connection when the log is on NATS; nowhere (only SSE)
// on other backends.
func viewPublication(ctx context.Context, store eventstore.Store) (projections.Publisher, projections.LatestStore, error) {
	js, ok := store.(*natsstore.Store)
	if !ok {
		return nil, nil, nil
	}
	nc := js.Conn()
	kv, err := viewsKV(ctx, nc)
	if err != nil {
		return nil, nil, err
	}
	return nc, natsLatest{kv}, nil
}

func viewsKV(ctx context.Context, nc *nats.Conn) (jetstream.KeyValue, error) {
	ctx, cancel := context.WithTimeout(ctx, kvSetupTimeout)
	defer cancel()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("views bucket: %w", err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      viewsBucket,
		Description: "latest value of each ledger view (rebuildable from the log)",
		History:     1,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("views bucket: %w", err)
	}
	return kv, nil
}
