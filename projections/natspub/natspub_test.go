package natspub_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/shopspring/decimal"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/memory"
	"github.com/hrss-ledger/ledger/projections"
	"github.com/hrss-ledger/ledger/projections/natspub"
)

func embedded(t *testing.T) *nats.Conn {
	t.Helper()
	srv, err := server.NewServer(&server.Options{JetStream: true, StoreDir: t.TempDir(), DontListen: true, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func appendEvents(t *testing.T, s eventstore.Store, id string, evs ...domain.Event) {
	t.Helper()
	c := eventstore.Commit{CommandID: id, Fingerprint: id}
	for _, e := range evs {
		typ, data, err := domain.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		c.Events = append(c.Events, eventstore.Event{ID: uuid.Must(uuid.NewV7()), Stream: e.StreamID(), Type: typ, Data: data,
			Meta: eventstore.Meta{BusinessDate: e.BusinessDate().String(), Actor: "test", CommandID: id}})
	}
	if _, err := s.Append(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

func TestViewsReachNATSAndTheBucket(t *testing.T) {
	nc := embedded(t)
	latest, err := natspub.OpenLatest(context.Background(), nc, natspub.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := nc.SubscribeSync("ledger.views.funds.>")
	if err != nil {
		t.Fatal(err)
	}
	store := memory.New()
	d := domain.MustDate("2017-01-01")
	appendEvents(t, store, "c1", domain.RegionDefined{Code: "610900", Name: "安康市", Date: d})
	appendEvents(t, store, "c2", domain.FundOpened{FundID: "EMP", Name: "就业补助资金", Kind: domain.FundEmploymentSubsidy, RegionCode: "610900", Date: d})
	p, err := projections.New(projections.Config{Publisher: natspub.New(nc), Latest: latest})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, store) }()
	defer func() { cancel(); <-done }()
	appendEvents(t, store, "c3", domain.FundAllocated{FundID: "EMP", RegionCode: "610900", Amount: decimal.RequireFromString("1000.50"), Date: d, Document: "doc"})

	deadline := time.Now().Add(5 * time.Second)
	for {
		msg, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			t.Fatalf("no fund change with the allocation on NATS: %v", err)
		}
		var f domain.FundReport
		if err := json.Unmarshal(msg.Data, &f); err != nil {
			t.Fatal(err)
		}
		if msg.Subject == "ledger.views.funds.EMP" && f.Balance == "1000.50" {
			break
		}
	}
	t.Run("a late joiner finds the latest value in the bucket", func(t *testing.T) {
		// The subject and the bucket are written one after the other:
		// the bucket may trail the message just received by a moment.
		var data []byte
		var f domain.FundReport
		for until := time.Now().Add(5 * time.Second); time.Now().Before(until); time.Sleep(10 * time.Millisecond) {
			data, err = latest.Get(context.Background(), "funds.EMP")
			if err == nil && json.Unmarshal(data, &f) == nil && f.Balance == "1000.50" {
				return
			}
		}
		t.Errorf("got %s (%v), want the fund with balance 1000.50", data, err)
	})
}
