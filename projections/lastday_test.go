package projections

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/domain"
)

func TestRecordsOfNoBusinessFactDateNoView(t *testing.T) {
	later := date("2018-09-01")
	others := []struct {
		name string
		ev   domain.Event
	}{
		{"a signed checkpoint", domain.CheckpointRecorded{LogSize: 3, RootHash: "00", Time: later.Time(), KeyID: "k", Date: later}},
		{"an audited read", domain.ReadAudited{Reader: "auditor", Role: "auditor", Path: "/v1/progress", Time: later.Time().Add(time.Hour)}},
		{"an approval request", domain.ApprovalRequested{RequestID: "R1", Maker: "m", CommandType: "pay_subsidy", Command: json.RawMessage(`{}`), Date: later}},
		{"an approval", domain.ApprovalGranted{RequestID: "R1", Maker: "m", Approver: "a", CommandType: "pay_subsidy", Date: later}},
		{"a rejection", domain.ApprovalRejected{RequestID: "R2", Maker: "m", Approver: "a", CommandType: "pay_subsidy", Reason: "no", Date: later}},
	}
	for _, tt := range others {
		t.Run(tt.name+" leaves the views dated by the latest business event", func(t *testing.T) {
			b := newLogBuilder(t)
			seedTree(b)
			b.events(placement("P1", "person-1", "610902", "2018-03-01", domain.NewUrbanJobs))
			b.events(tt.ev)
			rep, err := project(t, b.store).Progress("610900", 2018, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if rep.AsOf != "2018-03-01" {
				t.Errorf("got as_of %s, want 2018-03-01", rep.AsOf)
			}
		})
	}
	t.Run("a business event after them moves the date", func(t *testing.T) {
		b := newLogBuilder(t)
		seedTree(b)
		b.events(others[0].ev)
		b.events(placement("P1", "person-1", "610902", "2018-04-01", domain.NewUrbanJobs))
		rep, err := project(t, b.store).Progress("610900", 2018, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if rep.AsOf != "2018-04-01" {
			t.Errorf("got as_of %s, want 2018-04-01", rep.AsOf)
		}
	})
}
