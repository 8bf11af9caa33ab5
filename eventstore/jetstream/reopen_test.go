package jetstream

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/eventstore"
)

// TestReopenWithoutCacheFeedsTheCacheWhileCatchingUp reopens a store whose
// read cache was lost, with more messages than the cache writer's queue
// holds: opening must rebuild the cache, not wait for it forever.
func TestReopenWithoutCacheFeedsTheCacheWhileCatchingUp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := OpenEmbedded(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	messages := cacheQueuedMsgs + 200
	for i := range messages { // one Append at a time: one message each
		_, err := store.Append(ctx, eventstore.Commit{CommandID: fmt.Sprintf("c-%d", i),
			Events: []eventstore.Event{{Stream: "fund-F", Type: "test.v1", Data: []byte(`{}`)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "cache", cacheFileName)); err != nil {
		t.Fatal(err)
	}

	opened := make(chan error, 1)
	go func() {
		reopened, err := OpenEmbedded(ctx, dir)
		if err == nil {
			head, herr := reopened.Head(ctx)
			if herr == nil && head != eventstore.Position(messages) {
				herr = fmt.Errorf("head %d, want %d", head, messages)
			}
			err = herr
			reopened.Close()
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("reopening a store whose cache was lost did not finish within 60s")
	}
}
