package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/highwayhash"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
	natsstore "github.com/hrss-ledger/ledger/eventstore/jetstream"
	"github.com/hrss-ledger/ledger/eventstore/memory"
	"github.com/hrss-ledger/ledger/projections"
)

// tamperTimeout bounds one tampering of a data directory.
const tamperTimeout = 30 * time.Second

// storedMessage is one message of the stream as stored: its sequence, its
// payload and the events it claims.
type storedMessage struct {
	seq     uint64
	payload []byte
	events  []eventstore.Event
}

func (m storedMessage) first() eventstore.Position { return m.events[0].Position }

// TestTamperedDataDirectoryFailsVerify writes a history through a real
// server, stops it, and tampers with copies of its data directory the way
// someone with access to the disk or to the NATS server could: `ledger
// verify` must fail each time naming the first bad position, and pass on
// the untouched directory.
func TestTamperedDataDirectoryFailsVerify(t *testing.T) {
	pristine := t.TempDir()
	s := startServer(t, pristine)
	paid := recordHistory(s, seedCity(s))
	s.stop()

	stored := readStored(t, pristine)
	k := messageHolding(t, stored, paid)
	if k+2 >= len(stored) || len(stored[k].events) != 1 {
		t.Fatalf("the payment at %d is in message %d of %d with %d events; the cases want it alone and in the middle", paid, k+1, len(stored), len(stored[k].events))
	}
	last := stored[len(stored)-1]
	head := last.events[len(last.events)-1].Position
	// The shutdown checkpoint, as an auditor would have exported it.
	if last.events[len(last.events)-1].Type != audit.CheckpointEventType {
		t.Fatalf("the log does not end with the shutdown checkpoint")
	}
	trusted := saveFile(t, t.TempDir(), "checkpoint.json", last.events[len(last.events)-1].Data)

	t.Run("the untouched directory verifies and its live views match the rebuilt ones", func(t *testing.T) {
		code, stdout, stderr := ledgerRun(t, "verify", "--data", copyData(t, pristine))
		report := parseVerifyReport(t, stdout)
		if code != 0 || !report.OK || report.EventsChecked != head {
			t.Fatalf("exit %d, report %+v, stderr %s; want exit 0, ok, %d events", code, report.ChainReport, stderr, head)
		}
		if v := report.Views; v == nil || !v.Compared || v.Queries == 0 || len(v.Mismatches) != 0 {
			t.Errorf("views: got %+v, want compared with no mismatch", v)
		}
	})

	edit := func(fix, dropIndex bool) func(t *testing.T, data string) {
		return func(t *testing.T, data string) { editStoredByte(t, data, stored[k].events[0].Data, fix, dropIndex) }
	}
	cases := []struct {
		name      string
		tamper    func(t *testing.T, data string)
		keepCache bool
		args      []string
		at        eventstore.Position
		fault     audit.Fault
	}{
		{name: "one byte of a stored event edited in the block file, its record checksum fixed",
			tamper: edit(true, false), at: paid, fault: audit.FaultHash},
		{name: "the same edit with the local cache left in place",
			tamper: edit(true, false), keepCache: true, at: paid, fault: audit.FaultHash},
		{name: "one byte edited without fixing the checksum: the server no longer serves that message",
			tamper: edit(false, false), at: paid, fault: audit.FaultPosition},
		{name: "the same edit with the server's index removed: the server cuts the log there, and a checkpoint kept outside catches the cut",
			tamper: edit(false, true), args: []string{"--checkpoint", trusted}, at: paid, fault: audit.FaultCheckpoint},
		{name: "one event dropped by rewriting the stream without its message",
			tamper: func(t *testing.T, data string) {
				rewriteStream(t, data, func(p [][]byte) [][]byte { return append(p[:k:k], p[k+1:]...) })
			},
			at: paid, fault: audit.FaultPosition},
		{name: "two events swapped by rewriting the stream with their messages swapped",
			tamper: func(t *testing.T, data string) {
				rewriteStream(t, data, func(p [][]byte) [][]byte { p[k], p[k+1] = p[k+1], p[k]; return p })
			},
			at: paid, fault: audit.FaultPosition},
		{name: "an old batch replayed into the middle of the stream",
			tamper: func(t *testing.T, data string) {
				rewriteStream(t, data, func(p [][]byte) [][]byte { return append(p[:k+1:k+1], append([][]byte{p[k]}, p[k+1:]...)...) })
			},
			at: stored[k+1].first(), fault: audit.FaultPosition},
		{name: "a well-formed batch with a forged hash published on the stream around the ledger",
			tamper: func(t *testing.T, data string) { publishAround(t, data, forgedBatch(stored[k], head+1)) },
			at:     head + 1, fault: audit.FaultHash},
		{name: "a message that is no batch published on the stream around the ledger",
			tamper: func(t *testing.T, data string) { publishAround(t, data, []byte(`{"amount":"5000"}`)) },
			at:     head + 1, fault: faultUndecodable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := copyData(t, pristine)
			tc.tamper(t, data)
			if !tc.keepCache {
				removeCache(t, data)
			}
			code, stdout, stderr := ledgerRun(t, append([]string{"verify", "--data", data}, tc.args...)...)
			report := parseVerifyReport(t, stdout)
			if code != 1 || report.OK {
				t.Fatalf("exit %d, ok %v; want exit 1, not ok\n%s%s", code, report.OK, stdout, stderr)
			}
			if report.FirstBadPosition != tc.at || report.Fault != tc.fault {
				t.Errorf("got first bad position %d (%s): %s; want %d (%s)", report.FirstBadPosition, report.Fault, report.Detail, tc.at, tc.fault)
			}
			if want := fmt.Sprintf("first bad position %d (%s)", tc.at, tc.fault); !strings.Contains(stderr, want) {
				t.Errorf("stderr %q does not say %q", stderr, want)
			}
		})
	}

	t.Run("a log cut short with no checkpoint kept outside still fails: the live views are ahead of it", func(t *testing.T) {
		data := copyData(t, pristine)
		edit(false, true)(t, data)
		removeCache(t, data)
		code, stdout, stderr := ledgerRun(t, "verify", "--data", data)
		report := parseVerifyReport(t, stdout)
		if code != 1 || report.EventsChecked != paid-1 || report.Views == nil || len(report.Views.Mismatches) == 0 {
			t.Fatalf("exit %d, report %+v; want exit 1, %d events, the views ahead\n%s%s", code, report, paid-1, stdout, stderr)
		}
		if want := fmt.Sprintf("the log read ends at %d", paid-1); !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not say %q", stderr, want)
		}
	})
}

// TestVerifyReportsLiveViewsTheLogDoesNotMake gives an intact log a views
// snapshot built from another history of the same length (one allocation
// differs): the chain verifies, the views comparison must not.
func TestVerifyReportsLiveViewsTheLogDoesNotMake(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	recordHistory(s, seedCity(s))
	s.stop()

	other := memory.New()
	defer other.Close()
	altered := 0
	for _, m := range readStored(t, data) {
		for _, e := range m.events {
			body := bytes.Replace(e.Data, []byte(`"amount":"20000"`), []byte(`"amount":"20001"`), 1)
			if !bytes.Equal(body, e.Data) {
				altered++
			}
			c := eventstore.Commit{CommandID: e.ID.String(), Fingerprint: e.ID.String(),
				Events: []eventstore.Event{{ID: e.ID, Stream: e.Stream, Type: e.Type, Data: body, Meta: e.Meta}}}
			if _, err := other.Append(tamperContext(t), c); err != nil {
				t.Fatal(err)
			}
		}
	}
	if altered != 1 {
		t.Fatalf("altered %d events, want the one allocation of 20000.00", altered)
	}
	if err := os.RemoveAll(viewsDir(data)); err != nil { // or New would load the server's snapshot
		t.Fatal(err)
	}
	views, err := projections.New(projections.Config{Dir: viewsDir(data)})
	if err != nil {
		t.Fatal(err)
	}
	if err := views.CatchUp(tamperContext(t), other); err != nil {
		t.Fatal(err)
	}
	if err := views.Snapshot(); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := ledgerRun(t, "verify", "--data", data)
	report := parseVerifyReport(t, stdout)
	if code != 1 || !report.OK || !strings.Contains(stderr, errViewsDiffer.Error()) {
		t.Fatalf("exit %d, chain ok %v, stderr %q; want exit 1 on an intact chain, the views differing\n%s", code, report.OK, stderr, stdout)
	}
	if v := report.Views; v == nil || len(v.Mismatches) == 0 || !strings.Contains(strings.Join(v.Mismatches, "\n"), "fund AK-EMP") {
		t.Errorf("views: got %+v, want a mismatch of fund AK-EMP", v)
	}
}

func parseVerifyReport(t *testing.T, stdout string) verifyReport {
	t.Helper()
	var report verifyReport
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("verify printed no report (%v): %q", err, stdout)
	}
	return report
}

// copyData copies a stopped server's data directory.
func copyData(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func removeCache(t *testing.T, data string) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(data, "nats", "cache")); err != nil {
		t.Fatal(err)
	}
}

func tamperContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), tamperTimeout)
	t.Cleanup(cancel)
	return ctx
}

// readStored reads every message of a data directory's stream, unverified.
func readStored(t *testing.T, data string) []storedMessage {
	t.Helper()
	var out []storedMessage
	withRawNATS(t, data, func(ctx context.Context, js jetstream.JetStream) {
		stream, err := js.Stream(ctx, natsstore.DefaultStream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
			m, err := stream.GetMsg(ctx, seq)
			if err != nil {
				t.Fatal(err)
			}
			events, err := natsstore.DecodeMessage(m.Data)
			if err != nil {
				t.Fatalf("message %d: %v", seq, err)
			}
			out = append(out, storedMessage{seq: seq, payload: m.Data, events: events})
		}
	})
	return out
}

func messageHolding(t *testing.T, stored []storedMessage, p eventstore.Position) int {
	t.Helper()
	for i, m := range stored {
		if m.first() <= p && p < m.first()+eventstore.Position(len(m.events)) {
			return i
		}
	}
	t.Fatalf("no message holds position %d", p)
	return 0
}

// withRawNATS starts a nats-server on the data directory, listening on a
// random port, and hands fn a plain nats.go client of it: the access someone
// going around the ledger has.
func withRawNATS(t *testing.T, data string, fn func(context.Context, jetstream.JetStream)) {
	t.Helper()
	raw, err := natsstore.OpenRaw(filepath.Join(data, "nats"), natsstore.WithPort(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	nc, err := nats.Connect(raw.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	fn(tamperContext(t), js)
}

// rewriteStream replaces the stream by one with the same configuration
// holding the edited list of its messages' payloads. DenyDelete forbids
// removing one message; deleting the whole stream and publishing it again
// is what someone with the server's credentials can do instead.
func rewriteStream(t *testing.T, data string, edit func([][]byte) [][]byte) {
	t.Helper()
	var payloads [][]byte
	for _, m := range readStored(t, data) {
		payloads = append(payloads, m.payload)
	}
	withRawNATS(t, data, func(ctx context.Context, js jetstream.JetStream) {
		stream, err := js.Stream(ctx, natsstore.DefaultStream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := js.DeleteStream(ctx, natsstore.DefaultStream); err != nil {
			t.Fatal(err)
		}
		if _, err := js.CreateStream(ctx, info.Config); err != nil {
			t.Fatal(err)
		}
		for _, p := range edit(payloads) {
			if _, err := js.Publish(ctx, natsstore.DefaultSubject, p); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// publishAround publishes one message on the ledger's subject with a plain
// NATS client, as the ledger never would.
func publishAround(t *testing.T, data string, payload []byte) {
	t.Helper()
	withRawNATS(t, data, func(ctx context.Context, js jetstream.JetStream) {
		if _, err := js.Publish(ctx, natsstore.DefaultSubject, payload); err != nil {
			t.Fatal(err)
		}
	})
}

// forgedBatch is a copy of a stored batch's one event, claiming position at,
// the next version of its stream, and the hash it had: a well-formed
// message whose chain hash is not recomputed.
func forgedBatch(m storedMessage, at eventstore.Position) []byte {
	e := m.events[0]
	e.Position, e.Version, e.Meta.CommandID = at, e.Version+1, e.Meta.CommandID+"-forged"
	e.ID[15]++
	return natsstore.EncodeMessage([8]byte{'f', 'o', 'r', 'g', 'e', 'd'}, 1, []eventstore.Event{e})
}

// Layout of a nats-server file store message record (filestore.go):
// total_len(4) sequence(8) timestamp(8) subj_len(2) subject [hdr_len(4) hdr]
// msg checksum(8), little endian; the high bit of total_len marks headers.
// The checksum is highwayhash-64 of sequence, timestamp, subject, headers and
// msg, keyed with sha256("<stream>-<block index>").
const (
	blockRecordHeaderLen = 22
	blockChecksumLen     = 8
	blockHeadersBit      = 1 << 31
)

// editStoredByte changes one byte of an event's data where the server
// stores it, in its block file. With fix, it also fixes that record's
// checksum with the server's own hash, so that the server serves the edited
// message as if it had always been so. With dropIndex, it removes the
// server's index of the stream, so that the server rebuilds it from the
// blocks (and cuts a block at a record whose checksum fails).
func editStoredByte(t *testing.T, data string, eventData []byte, fix, dropIndex bool) {
	t.Helper()
	at := bytes.Index(eventData, []byte("5000"))
	if at < 0 {
		t.Fatalf("the event %s carries no amount 5000 to edit", eventData)
	}
	blocks, err := filepath.Glob(filepath.Join(data, "nats", "jetstream", "jetstream", "*", "streams", natsstore.DefaultStream, "msgs", "*.blk"))
	if err != nil || len(blocks) == 0 {
		t.Fatalf("no block files (%v)", err)
	}
	for _, path := range blocks {
		blk, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(blk, eventData)
		if i < 0 {
			continue
		}
		blk[i+at] = '6' // 5000 becomes 6000
		if fix {
			fixChecksum(t, path, blk, i)
		}
		if err := os.WriteFile(path, blk, 0o640); err != nil {
			t.Fatal(err)
		}
		if dropIndex {
			if err := os.Remove(filepath.Join(filepath.Dir(path), "index.db")); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	t.Fatalf("no block file holds the event %s", eventData)
}

// fixChecksum recomputes the checksum of the record of blk holding offset.
func fixChecksum(t *testing.T, path string, blk []byte, offset int) {
	t.Helper()
	var index uint32
	if _, err := fmt.Sscanf(filepath.Base(path), "%d.blk", &index); err != nil {
		t.Fatal(err)
	}
	key := sha256.Sum256(fmt.Appendf(nil, "%s-%d", natsstore.DefaultStream, index))
	le := binary.LittleEndian
	for start := 0; start+blockRecordHeaderLen <= len(blk); {
		total := le.Uint32(blk[start:])
		length := int(total &^ blockHeadersBit)
		if length < blockRecordHeaderLen+blockChecksumLen || start+length > len(blk) {
			t.Fatalf("%s: bad record at %d", path, start)
		}
		if offset < start+length {
			rec := blk[start : start+length]
			subjLen := int(le.Uint16(rec[20:]))
			body := rec[blockRecordHeaderLen+subjLen : length-blockChecksumLen]
			if total&blockHeadersBit != 0 {
				body = body[4:] // the headers' length is not hashed
			}
			h, err := highwayhash.New64(key[:])
			if err != nil {
				t.Fatal(err)
			}
			h.Write(rec[4:20])
			h.Write(rec[blockRecordHeaderLen : blockRecordHeaderLen+subjLen])
			h.Write(body)
			copy(rec[length-blockChecksumLen:], h.Sum(nil))
			return
		}
		start += length
	}
	t.Fatalf("%s: no record holds offset %d", path, offset)
}

// TestServerVerifyReadsTheStreamNotTheCache publishes a message around the
// ledger on the running server's own stream: the server's verification
// reads what the stream holds and names the position, as `ledger verify` does.
func TestServerVerifyReadsTheStreamNotTheCache(t *testing.T) {
	s := startServer(t, t.TempDir())
	seedCity(s)
	before := s.must(200, "GET", "/v1/audit/verify", auditor, nil)
	if before.body["ok"] != true {
		t.Fatalf("untouched log: %s", before.raw)
	}
	head := uint64(before.body["head"].(float64))
	s.runMayFail = true // its views stop on the forged message
	nc := s.m.store.(*natsstore.Store).Conn()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(natsstore.DefaultSubject, []byte(`{"forged":true}`)); err != nil {
		t.Fatal(err)
	}
	after := s.must(200, "GET", "/v1/audit/verify", auditor, nil)
	if after.body["ok"] != false || uint64(after.body["first_bad_position"].(float64)) != head+1 {
		t.Errorf("after a raw publish: got %s, want not ok at position %d", after.raw, head+1)
	}
}
