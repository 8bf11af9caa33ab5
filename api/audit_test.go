package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
	"github.com/hrss-ledger/ledger/eventstore/memory"
)

// treeAudit is the real audit package behind the Audit interface, as
// cmd/ledger wires it, over a real in-memory log.
type treeAudit struct {
	log    *memory.Store
	tree   *audit.Tree
	signer *audit.Signer
	pem    []byte // audit.pub
}

// mirror re-reads an audit value as its API mirror, refusing any field the
// mirror lacks, so that a drift between the two fails here.
func mirror[T any](v any) (T, error) {
	var out T
	data, err := json.Marshal(v)
	if err != nil {
		return out, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return out, dec.Decode(&out)
}

func (a treeAudit) Size() uint64 { return a.tree.Size() }

func (a treeAudit) Verify(ctx context.Context) (AuditReport, error) {
	report, _, err := audit.VerifyLog(ctx, a.log, audit.VerifyOptions{PublicKey: a.signer.PublicKey()})
	if err != nil && !errors.Is(err, audit.ErrBroken) {
		return AuditReport{}, err
	}
	return mirror[AuditReport](report)
}

func (a treeAudit) Checkpoints(ctx context.Context) ([]RecordedCheckpoint, error) {
	events, err := a.log.ReadStream(ctx, audit.CheckpointStream)
	if err != nil {
		return nil, err
	}
	var out []RecordedCheckpoint
	for _, e := range events {
		var body audit.CheckpointBody
		if err := json.Unmarshal(e.Data, &body); err != nil {
			return nil, err
		}
		cp, err := mirror[RecordedCheckpoint](body)
		if err != nil {
			return nil, err
		}
		cp.Position = e.Position
		out = append(out, cp)
	}
	return out, nil
}

func (a treeAudit) InclusionProof(ctx context.Context, position, size uint64) (InclusionProof, error) {
	p, err := a.tree.InclusionProof(position, size)
	if err != nil {
		return InclusionProof{}, fmt.Errorf("%w: %v", ErrProofRange, err)
	}
	events, err := audit.ReadRange(ctx, a.log, position, position)
	if err != nil {
		return InclusionProof{}, err
	}
	record := audit.Record(events[0])
	p.Event = &record
	return mirror[InclusionProof](p)
}

func (a treeAudit) ConsistencyProof(_ context.Context, from, to uint64) (ConsistencyProof, error) {
	p, err := a.tree.ConsistencyProof(from, to)
	if err != nil {
		return ConsistencyProof{}, fmt.Errorf("%w: %v", ErrProofRange, err)
	}
	return mirror[ConsistencyProof](p)
}

func (a treeAudit) PublicKey() []byte { return a.pem }

// auditFixture is a log of 12 events with checkpoints recorded at sizes 5
// (position 6) and 9 (position 10), and a server over it.
type auditFixture struct {
	srv    *httptest.Server
	doc    *Server
	audit  treeAudit
	first  audit.Checkpoint
	second audit.Checkpoint
}

func newAuditFixture(t *testing.T) *auditFixture {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	log := memory.New()
	a := treeAudit{log: log, tree: audit.NewTree(log), signer: audit.NewSigner(key)}
	pub := filepath.Join(t.TempDir(), audit.PublicKeyFile)
	if err := audit.WritePublicKey(pub, a.signer.PublicKey()); err != nil {
		t.Fatal(err)
	}
	if a.pem, err = os.ReadFile(pub); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.log.Close() })
	f := &auditFixture{audit: a}
	appendRegions(t, a, 0, 5)
	f.first = recordCheckpoint(t, a, "2017-03-01")
	appendRegions(t, a, 5, 3)
	f.second = recordCheckpoint(t, a, "2017-03-31")
	appendRegions(t, a, 8, 2)
	s, _ := newDocServer(t)
	f.doc = NewServer(Config{Tokens: s.tokens, Personal: s.personal, Log: a.log, Audit: a})
	f.srv = httptest.NewServer(f.doc.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

func appendRegions(t *testing.T, a treeAudit, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		appendDomainEvent(t, a, domain.RegionDefined{Code: fmt.Sprintf("61%04d", i), Name: "区", Date: domain.MustDate("2017-03-01")})
	}
}

// recordCheckpoint signs the tree at its size and records the checkpoint
// through the domain, as the server does at a day close.
func recordCheckpoint(t *testing.T, a treeAudit, date string) audit.Checkpoint {
	t.Helper()
	cp := a.signer.Checkpoint(a.tree, time.Date(2017, 4, 1, 0, 0, 5, 0, time.UTC))
	d := domain.MustDate(date)
	appendDomainEvent(t, a, domain.CheckpointRecorded{LogSize: cp.LogSize, RootHash: cp.RootHash.String(), Time: cp.Time,
		KeyID: cp.KeyID, Signature: cp.Signature, Period: domain.PeriodClosedBy(d), Date: d})
	return cp
}

func appendDomainEvent(t *testing.T, a treeAudit, e domain.Event) {
	t.Helper()
	eventType, data, err := domain.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	res, err := a.log.Append(context.Background(), eventstore.Commit{CommandID: id, Fingerprint: id, Events: []eventstore.Event{{
		ID: uuid.Must(uuid.NewV7()), Stream: e.StreamID(), Type: eventType, Data: data,
		Meta: eventstore.Meta{BusinessDate: e.BusinessDate().String(), Actor: "ledger", CommandID: id},
	}}})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	events, err := audit.ReadRange(context.Background(), a.log, res.First, res.Last)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.tree.Append(events[0]); err != nil {
		t.Fatal(err)
	}
}

// get asks as the auditor and returns the status and the body.
func (f *auditFixture) get(t *testing.T, path, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body.Bytes()
}

func (f *auditFixture) mustGet(t *testing.T, path string) []byte {
	t.Helper()
	status, body := f.get(t, path, roleTokens[RoleAuditor])
	if status != http.StatusOK {
		t.Fatalf("GET %s: got %d %s, want 200", path, status, body)
	}
	return body
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAuditEndpoints(t *testing.T) {
	f := newAuditFixture(t)
	dir := t.TempDir()
	key := writeFile(t, dir, "audit.pub", f.mustGet(t, "/v1/audit/public-key"))

	t.Run("verify reports an intact log with both checkpoints checked", func(t *testing.T) {
		var report AuditReport
		if err := json.Unmarshal(f.mustGet(t, "/v1/audit/verify"), &report); err != nil {
			t.Fatal(err)
		}
		if !report.OK || report.EventsChecked != 12 || report.Checkpoints != 2 || report.FirstBadPosition != 0 {
			t.Errorf("got %+v, want ok, 12 events, 2 checkpoints", report)
		}
	})

	t.Run("the checkpoints are listed oldest first with their positions", func(t *testing.T) {
		var list checkpointList
		if err := json.Unmarshal(f.mustGet(t, "/v1/audit/checkpoints"), &list); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, cp := range list.Checkpoints {
			got = append(got, fmt.Sprintf("%d@%d %s %s", cp.LogSize, cp.Position, cp.Period, cp.Date))
		}
		if want := []string{"5@6 day 2017-03-01", "9@10 quarter 2017-03-31"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})

	t.Run("an inclusion proof saved with a listed checkpoint verifies offline", func(t *testing.T) {
		cp := writeFile(t, dir, "cp.json", listedCheckpoint(t, f, 1))
		proof := writeFile(t, dir, "inclusion.json", f.mustGet(t, "/v1/audit/proof/inclusion?position=7&size=9"))
		said, err := audit.VerifyProofFiles(audit.ProofFiles{PublicKey: key, Checkpoint: cp, Proof: proof})
		if err != nil {
			t.Fatalf("VerifyProofFiles: %v", err)
		}
		if !strings.Contains(said, "position 7") {
			t.Errorf("got %q, want it to name position 7", said)
		}
	})

	t.Run("a consistency proof between the checkpoints verifies offline", func(t *testing.T) {
		older := writeFile(t, dir, "old.json", listedCheckpoint(t, f, 0))
		newer := writeFile(t, dir, "new.json", listedCheckpoint(t, f, 1))
		proof := writeFile(t, dir, "consistency.json", f.mustGet(t, "/v1/audit/proof/consistency?from=5&to=9"))
		if _, err := audit.VerifyProofFiles(audit.ProofFiles{PublicKey: key, Checkpoint: newer, OldCheckpoint: older, Proof: proof}); err != nil {
			t.Errorf("VerifyProofFiles: %v", err)
		}
	})

	t.Run("the public key served is the signer's", func(t *testing.T) {
		pub, err := audit.ReadPublicKey(key)
		if err != nil || !pub.Equal(f.audit.signer.PublicKey()) {
			t.Errorf("got %x, %v; want the signer's key", pub, err)
		}
	})
}

// listedCheckpoint returns the i-th checkpoint of GET /v1/audit/checkpoints, as JSON.
func listedCheckpoint(t *testing.T, f *auditFixture, i int) []byte {
	t.Helper()
	var list struct {
		Checkpoints []json.RawMessage `json:"checkpoints"`
	}
	if err := json.Unmarshal(f.mustGet(t, "/v1/audit/checkpoints"), &list); err != nil || len(list.Checkpoints) <= i {
		t.Fatalf("checkpoints: %v (%d listed)", err, len(list.Checkpoints))
	}
	return list.Checkpoints[i]
}

func TestAuditProofParametersAnswer400NamingTheParameter(t *testing.T) {
	f := newAuditFixture(t)
	cases := []struct {
		name, query, field string
	}{
		{"a missing position", "/v1/audit/proof/inclusion?size=9", "position"},
		{"a position that is not a number", "/v1/audit/proof/inclusion?position=x&size=9", "position"},
		{"position 0", "/v1/audit/proof/inclusion?position=0&size=9", "position"},
		{"a position after the size", "/v1/audit/proof/inclusion?position=10&size=9", "position"},
		{"a missing size", "/v1/audit/proof/inclusion?position=1", "size"},
		{"a size beyond the tree", "/v1/audit/proof/inclusion?position=1&size=13", "size"},
		{"a negative from", "/v1/audit/proof/consistency?from=-1&to=9", "from"},
		{"from after to", "/v1/audit/proof/consistency?from=9&to=5", "from"},
		{"a to beyond the tree", "/v1/audit/proof/consistency?from=5&to=99", "to"},
	}
	for _, c := range cases {
		t.Run(c.name+" answers 400 naming "+c.field, func(t *testing.T) {
			status, body := f.get(t, c.query, roleTokens[RoleAuditor])
			var p Problem
			_ = json.Unmarshal(body, &p)
			if status != http.StatusBadRequest || p.Field != c.field {
				t.Errorf("got %d %s, want 400 naming %s", status, body, c.field)
			}
		})
	}
}

func TestAuditAnswersMatchTheirDocumentedSchemas(t *testing.T) {
	f := newAuditFixture(t)
	doc := serverDoc(t, f.doc)
	for _, path := range []string{"/v1/audit/verify", "/v1/audit/checkpoints",
		"/v1/audit/proof/inclusion?position=1&size=12", "/v1/audit/proof/consistency?from=0&to=12"} {
		t.Run(path+" matches its schema", func(t *testing.T) {
			var answer any
			if err := json.Unmarshal(f.mustGet(t, path), &answer); err != nil {
				t.Fatal(err)
			}
			route, _, _ := strings.Cut(path, "?")
			schema := doc.Paths.Value(route).Get.Responses.Status(http.StatusOK).Value.Content.Get("application/json").Schema.Value
			if err := schema.VisitJSON(answer); err != nil {
				t.Errorf("the answer does not match the documented schema: %v", err)
			}
		})
	}
}

func TestAuditEndpointsAreForAuditorsOnly(t *testing.T) {
	f := newAuditFixture(t)
	for _, role := range []Role{RoleOfficer, RoleApprover, RoleViewer} {
		t.Run("a "+string(role)+" is refused", func(t *testing.T) {
			if status, _ := f.get(t, "/v1/audit/checkpoints", roleTokens[role]); status != http.StatusForbidden {
				t.Errorf("got %d, want 403", status)
			}
		})
	}
	t.Run("a server without the audit answers 503", func(t *testing.T) {
		s, _ := newDocServer(t)
		srv := httptest.NewServer(s.Handler())
		defer srv.Close()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/audit/verify", nil)
		req.Header.Set("Authorization", "Bearer "+roleTokens[RoleAuditor])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("got %d, want 503", resp.StatusCode)
		}
	})
}

// TestAProofOverAnAlteredLogSaysSo checks that an Audit's report of a log
// that no longer matches its tree reaches the auditor as such, not as a
// bare internal error, and that other failures stay opaque.
func TestAProofOverAnAlteredLogSaysSo(t *testing.T) {
	altered := problemFor(fmt.Errorf("inclusion proof: %w: events 65..128 changed", ErrLogAltered))
	if altered.Status != http.StatusInternalServerError || altered.Title != "Log Altered" ||
		!strings.Contains(altered.Detail, "ledger verify") {
		t.Errorf("altered log: got %d %q %q", altered.Status, altered.Title, altered.Detail)
	}
	other := problemFor(errors.New("disk on fire"))
	if other.Title == altered.Title || strings.Contains(other.Detail, "disk") {
		t.Errorf("other failure: got %q %q, want an opaque internal error", other.Title, other.Detail)
	}
}
