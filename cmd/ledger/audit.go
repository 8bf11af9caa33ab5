package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hrss-ledger/ledger/api"
	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
	"github.com/hrss-ledger/ledger/eventstore/jetstream"
	"github.com/hrss-ledger/ledger/eventstore/writer"
	"github.com/hrss-ledger/ledger/projections"
)

// Limits and settings of the audit wiring.
const (
	// checkpointTick is how often the server looks whether the business day
	// changed; a day close is signed at most this late.
	checkpointTick = time.Minute
	// treeCatchUpTimeout bounds the wait for the tree to reach the log head
	// before a checkpoint that should cover everything (shutdown, CLI).
	treeCatchUpTimeout = 10 * time.Second
	treeCatchUpPoll    = 10 * time.Millisecond
	// checkpointActor is the actor recorded with checkpoints.
	checkpointActor = "ledger"
)

// businessZone is the zone of business days: China Standard Time, which has
// no daylight saving, so a fixed offset is exact and needs no tz database.
var businessZone = time.FixedZone("CST", 8*60*60)

// sequencer is the part of the writer that records checkpoints.
type sequencer interface {
	Execute(ctx context.Context, req writer.Request) (writer.Outcome, error)
	Head() eventstore.Position
}

// auditService is the server's audit: the Merkle tree following the log,
// the deployment's signer, and the day-close checkpoints.
type auditService struct {
	store  eventstore.Store
	tree   *audit.Tree
	signer *audit.Signer
	pem    []byte // the public key file, as auditors get it
	cp     *checkpointer

	stopFollow context.CancelFunc
	followDone chan struct{}
	runDone    chan struct{} // closed when the day-close loop returns
	verifyMu   sync.Mutex    // one whole-log verification at a time
}

// openAudit loads (or creates) the deployment key, builds the tree over the
// log and keeps it following the log.
func openAudit(ctx context.Context, dataDir string, store eventstore.Store, w sequencer) (*auditService, error) {
	tree, err := audit.Build(ctx, store)
	if err != nil {
		return nil, err
	}
	return openAuditOn(ctx, dataDir, store, w, tree)
}

// openAuditOn is openAudit with a tree already built over the log (the
// server builds it while the writer replays the log).
func openAuditOn(ctx context.Context, dataDir string, store eventstore.Store, w sequencer, tree *audit.Tree) (*auditService, error) {
	signer, err := audit.LoadOrCreateSigner(dataDir)
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(filepath.Join(dataDir, audit.PublicKeyFile))
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	cp, err := newCheckpointer(ctx, store, tree, signer, w, time.Now)
	if err != nil {
		return nil, err
	}
	followCtx, cancel := context.WithCancel(context.Background())
	a := &auditService{store: store, tree: tree, signer: signer, pem: pem, cp: cp,
		stopFollow: cancel, followDone: make(chan struct{}), runDone: make(chan struct{})}
	go func() {
		defer close(a.followDone)
		if err := tree.Follow(followCtx, store); err != nil && !errors.Is(err, context.Canceled) {
			slog.Error("audit tree stopped following the log", "err", err)
		}
	}()
	return a, nil
}

// run records a checkpoint at each day close until ctx ends.
func (a *auditService) run(ctx context.Context) {
	defer close(a.runDone)
	tick := time.NewTicker(checkpointTick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := a.cp.closeDayIfChanged(ctx); err != nil && ctx.Err() == nil {
				slog.Error("day-close checkpoint", "err", err)
			}
		}
	}
}

// shutdown records a last checkpoint when the log grew since the last one.
// It runs after the HTTP server stopped, before the writer closes.
func (a *auditService) shutdown(ctx context.Context) error {
	<-a.runDone
	return a.cp.recordIfGrown(ctx)
}

// close stops the tree following the log; call it before closing the store.
func (a *auditService) close() {
	a.stopFollow()
	<-a.followDone
}

// checkpointer decides when to sign: at each change of the business day, and
// at shutdown, when the log grew since the last checkpoint.
type checkpointer struct {
	tree   *audit.Tree
	signer *audit.Signer
	writer sequencer
	now    func() time.Time
	mu     sync.Mutex
	day    domain.Date         // the business day in progress
	last   eventstore.Position // position of the last checkpoint event: the log has not grown while the tree ends there
}

func newCheckpointer(ctx context.Context, store eventstore.Store, tree *audit.Tree, signer *audit.Signer, w sequencer, now func() time.Time) (*checkpointer, error) {
	recorded, err := store.ReadStream(ctx, audit.CheckpointStream)
	if err != nil {
		return nil, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	c := &checkpointer{tree: tree, signer: signer, writer: w, now: now, day: businessDay(now())}
	if n := len(recorded); n > 0 {
		c.last = recorded[n-1].Position
	}
	return c, nil
}

func businessDay(t time.Time) domain.Date { return domain.DateOf(t.In(businessZone)) }

// closeDayIfChanged signs the tree when the business day changed since the
// last look, for the day that closed, if the log grew.
func (c *checkpointer) closeDayIfChanged(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	today := businessDay(c.now())
	if !today.After(c.day) {
		return nil
	}
	closed := c.day
	c.day = today
	if !c.grown() {
		return nil
	}
	_, err := c.record(ctx, closed, domain.PeriodClosedBy(closed))
	return err
}

// recordIfGrown signs the whole log (waiting, boundedly, for the tree to
// reach the writer's head) when it grew since the last checkpoint. The
// checkpoint is dated today, as a day checkpoint: the day so far.
func (c *checkpointer) recordIfGrown(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := waitForTree(ctx, c.tree, c.writer.Head()); err != nil {
		return err
	}
	if !c.grown() {
		return nil
	}
	_, err := c.record(ctx, businessDay(c.now()), domain.PeriodDay)
	return err
}

func (c *checkpointer) grown() bool { return c.tree.Size() > c.last }

// record signs the tree at its size and records the checkpoint through the
// writer, so that the domain checks its order and the log holds it.
func (c *checkpointer) record(ctx context.Context, date domain.Date, period domain.Period) (audit.Checkpoint, error) {
	cp := c.signer.Checkpoint(c.tree, c.now())
	if cp.LogSize == 0 {
		return cp, nil
	}
	out, err := c.writer.Execute(ctx, writer.Request{
		Command: domain.RecordCheckpoint{LogSize: cp.LogSize, RootHash: cp.RootHash.String(), Time: cp.Time,
			KeyID: cp.KeyID, Signature: cp.Signature, Period: period, Date: date},
		CommandID:   fmt.Sprintf("checkpoint/%s/%d", date, cp.LogSize),
		Fingerprint: cp.RootHash.String(),
		Actor:       checkpointActor,
	})
	if err != nil {
		return cp, fmt.Errorf("audit: record checkpoint of size %d: %w", cp.LogSize, err)
	}
	if out.Duplicate {
		// Recorded before (by this or another server): that one stands.
		return recordedCheckpoint(out.Events)
	}
	c.last = max(c.last, out.Last)
	slog.Info("checkpoint recorded", "size", cp.LogSize, "root", cp.RootHash, "date", date, "period", period, "position", out.Last)
	return cp, nil
}

// recordedCheckpoint returns the checkpoint an earlier command recorded.
func recordedCheckpoint(events []domain.Event) (audit.Checkpoint, error) {
	for _, e := range events {
		if rec, ok := e.(domain.CheckpointRecorded); ok {
			root, err := audit.ParseHash(rec.RootHash)
			return audit.Checkpoint{LogSize: rec.LogSize, RootHash: root, Time: rec.Time, KeyID: rec.KeyID, Signature: rec.Signature}, err
		}
	}
	return audit.Checkpoint{}, errors.New("audit: the checkpoint command recorded no checkpoint")
}

// waitForTree waits until the tree covers size.
func waitForTree(ctx context.Context, tree *audit.Tree, size uint64) error {
	ctx, cancel := context.WithTimeout(ctx, treeCatchUpTimeout)
	defer cancel()
	for tree.Size() < size {
		select {
		case <-ctx.Done():
			return fmt.Errorf("audit: tree at %d, log at %d: %w", tree.Size(), size, ctx.Err())
		case <-time.After(treeCatchUpPoll):
		}
	}
	return nil
}

// api returns the audit as the API sees it.
func (a *auditService) api() api.Audit { return auditAPI{a} }

// verifiable is what the server's verification reads: a JetStream stream
// raw, as `ledger verify` reads it (not through the store's checks or its
// cache, a copy that could hide an edit of the stream); other stores as
// they are.
func (a *auditService) verifiable() (verifiable, error) {
	if js, ok := a.store.(*jetstream.Store); ok {
		raw, err := js.Raw()
		if err != nil {
			return nil, err
		}
		return rawLog{raw}, nil
	}
	return unclosed{a.store}, nil
}

// unclosed lends a store to a reader whose Close must not close it.
type unclosed struct{ eventstore.Store }

func (unclosed) Close() error { return nil }

// auditAPI adapts the audit package to api.Audit: its values are re-read as
// their API mirrors through their JSON, which the mirrors match field for field.
type auditAPI struct{ a *auditService }

func (x auditAPI) Size() uint64 { return x.a.tree.Size() }

func (x auditAPI) PublicKey() []byte { return x.a.pem }

func (x auditAPI) Verify(ctx context.Context) (api.AuditReport, error) {
	x.a.verifyMu.Lock()
	defer x.a.verifyMu.Unlock()
	log, err := x.a.verifiable()
	if err != nil {
		return api.AuditReport{}, err
	}
	defer log.Close()
	report, _, err := audit.VerifyLog(ctx, log, audit.VerifyOptions{PublicKey: x.a.signer.PublicKey()})
	if err != nil && !errors.Is(err, audit.ErrBroken) {
		return api.AuditReport{}, err
	}
	return mirror[api.AuditReport](report)
}

func (x auditAPI) Checkpoints(ctx context.Context) ([]api.RecordedCheckpoint, error) {
	events, err := x.a.store.ReadStream(ctx, audit.CheckpointStream)
	if err != nil {
		return nil, err
	}
	out := make([]api.RecordedCheckpoint, 0, len(events))
	for _, e := range events {
		var body audit.CheckpointBody
		if err := json.Unmarshal(e.Data, &body); err != nil {
			return nil, fmt.Errorf("audit: checkpoint at position %d: %w", e.Position, err)
		}
		cp, err := mirror[api.RecordedCheckpoint](body)
		if err != nil {
			return nil, err
		}
		cp.Position = e.Position
		out = append(out, cp)
	}
	return out, nil
}

func (x auditAPI) InclusionProof(ctx context.Context, position, size uint64) (api.InclusionProof, error) {
	p, err := x.a.tree.InclusionProof(position, size)
	if err != nil {
		return api.InclusionProof{}, proofRange(err)
	}
	events, err := audit.ReadRange(ctx, x.a.store, position, position)
	if err != nil {
		return api.InclusionProof{}, err
	}
	record := audit.Record(events[0])
	p.Event = &record
	return mirror[api.InclusionProof](p)
}

func (x auditAPI) ConsistencyProof(_ context.Context, from, to uint64) (api.ConsistencyProof, error) {
	p, err := x.a.tree.ConsistencyProof(from, to)
	if err != nil {
		return api.ConsistencyProof{}, proofRange(err)
	}
	return mirror[api.ConsistencyProof](p)
}

// proofRange maps the tree's errors to the API's: a size outside the tree
// (400) and a log that no longer matches the tree (an alarm for auditors).
func proofRange(err error) error {
	switch {
	case errors.Is(err, audit.ErrTreeSize):
		return fmt.Errorf("%w: %v", api.ErrProofRange, err)
	case errors.Is(err, audit.ErrLogChanged):
		return fmt.Errorf("%w: %w", api.ErrLogAltered, err)
	}
	return err
}

// mirror re-reads a value as another type with the same JSON, refusing a
// field the target lacks, so that a drift between audit and api is an error.
func mirror[T any](v any) (T, error) {
	var out T
	data, err := json.Marshal(v)
	if err != nil {
		return out, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return out, fmt.Errorf("audit: %T as %T: %w", v, out, err)
	}
	return out, nil
}

// runAudit is `ledger audit <subcommand>`.
func runAudit(ctx context.Context, args []string, stdout io.Writer) error {
	subcommands := map[string]func(context.Context, []string, io.Writer) error{
		"verify-proof":    runVerifyProof,
		"verify-evidence": runVerifyEvidence,
		"export":          runExport,
		"checkpoint":      runCheckpoint,
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, auditUsage)
	}
	sub, ok := subcommands[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown audit command %q\n%s", errUsage, args[0], auditUsage)
	}
	return sub(ctx, args[1:], stdout)
}

const auditUsage = `ledger audit verify-proof --key audit.pub --checkpoint cp.json --proof p.json [--event e.json] [--old-checkpoint old.json]
ledger audit export [--data DIR] --account ACCOUNT [--from DATE] [--to DATE] --out DIR
ledger audit verify-evidence --key audit.pub DIR
ledger audit checkpoint [--data DIR] [--out cp.json]`

// required refuses missing flags.
func required(flags map[string]string) error {
	for name, value := range flags {
		if value == "" {
			return fmt.Errorf("%w: --%s is required", errUsage, name)
		}
	}
	return nil
}

func runVerifyProof(_ context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("audit verify-proof")
	var f audit.ProofFiles
	fs.StringVar(&f.PublicKey, "key", "", "the deployment's public key (audit.pub), obtained out of band")
	fs.StringVar(&f.Checkpoint, "checkpoint", "", "the checkpoint the proof leads to (the newer one, for consistency)")
	fs.StringVar(&f.Proof, "proof", "", "an inclusion or a consistency proof")
	fs.StringVar(&f.Event, "event", "", "the event an inclusion proof is about (default: the one the proof carries)")
	fs.StringVar(&f.OldCheckpoint, "old-checkpoint", "", "the older checkpoint of a consistency proof")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := required(map[string]string{"key": f.PublicKey, "checkpoint": f.Checkpoint, "proof": f.Proof}); err != nil {
		return err
	}
	said, err := audit.VerifyProofFiles(f)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "verified:", said)
	return nil
}

func runVerifyEvidence(_ context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("audit verify-evidence")
	key := fs.String("key", "", "the deployment's public key (audit.pub), obtained out of band, not the package's copy")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := required(map[string]string{"key": *key}); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: name one evidence directory", errUsage)
	}
	pub, err := audit.ReadPublicKey(*key)
	if err != nil {
		return err
	}
	report, err := audit.VerifyEvidence(fs.Arg(0), pub)
	if err != nil {
		return err
	}
	return printJSON(stdout, report)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// offlineAudit is the log, writer, tree and signer of an offline command.
type offlineAudit struct {
	store  eventstore.Store
	writer *writer.Writer
	tree   *audit.Tree
	signer *audit.Signer
}

func openOfflineAudit(ctx context.Context, sf storeFlags) (*offlineAudit, error) {
	store, err := sf.open(ctx)
	if err != nil {
		return nil, err
	}
	o := &offlineAudit{store: store}
	if o.signer, err = audit.LoadOrCreateSigner(sf.dataDir); err != nil {
		o.close()
		return nil, err
	}
	if o.writer, err = writer.Open(ctx, store); err != nil {
		o.close()
		return nil, err
	}
	return o, nil
}

// checkpoint builds the tree over the whole log and records a checkpoint of
// it, for today, as a day checkpoint.
func (o *offlineAudit) checkpoint(ctx context.Context) (audit.Checkpoint, error) {
	var err error
	if o.tree, err = audit.Build(ctx, o.store); err != nil {
		return audit.Checkpoint{}, err
	}
	if o.tree.Size() == 0 {
		return audit.Checkpoint{}, errors.New("audit: the log is empty: nothing to sign")
	}
	c := &checkpointer{tree: o.tree, signer: o.signer, writer: o.writer, now: time.Now}
	return c.record(ctx, businessDay(time.Now()), domain.PeriodDay)
}

func (o *offlineAudit) close() {
	if o.writer != nil {
		_ = o.writer.Close()
	}
	_ = o.store.Close()
}

func runCheckpoint(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("audit checkpoint")
	var sf storeFlags
	sf.register(fs)
	out := fs.String("out", "", "also write the checkpoint to this file")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	o, err := openOfflineAudit(ctx, sf)
	if err != nil {
		return err
	}
	defer o.close()
	cp, err := o.checkpoint(ctx)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := audit.WriteJSONFile(*out, cp); err != nil {
			return err
		}
	}
	return printJSON(stdout, cp)
}

// exportFlags are the flags of `ledger audit export`.
type exportFlags struct {
	store                  storeFlags
	account, from, to, out string
}

func runExport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("audit export")
	var f exportFlags
	f.store.register(fs)
	fs.StringVar(&f.account, "account", "", "the account: fund:ID, beneficiary:ID, loan:ID or bank:NAME")
	fs.StringVar(&f.from, "from", "", "first business date YYYY-MM-DD (default: the account's opening)")
	fs.StringVar(&f.to, "to", "", "last business date YYYY-MM-DD (default: everything)")
	fs.StringVar(&f.out, "out", "", "directory of the evidence package")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := required(map[string]string{"account": f.account, "out": f.out}); err != nil {
		return err
	}
	o, err := openOfflineAudit(ctx, f.store)
	if err != nil {
		return err
	}
	defer o.close()
	m, err := exportEvidence(ctx, o, f)
	if err != nil {
		return err
	}
	return printJSON(stdout, m)
}

// exportEvidence rebuilds the views from the log for the account's history,
// then signs and records a checkpoint covering it, and writes the package.
func exportEvidence(ctx context.Context, o *offlineAudit, f exportFlags) (audit.Manifest, error) {
	views, err := projections.New(projections.Config{})
	if err != nil {
		return audit.Manifest{}, err
	}
	if err := views.CatchUp(ctx, o.store); err != nil {
		return audit.Manifest{}, err
	}
	history, err := views.History(f.account, f.from, f.to)
	if err != nil {
		return audit.Manifest{}, fmt.Errorf("history of %s: %w", f.account, err)
	}
	cp, err := o.checkpoint(ctx)
	if err != nil {
		return audit.Manifest{}, err
	}
	ev := audit.Evidence{Account: f.account, From: f.from, To: f.to, Entries: history.Entries}
	return audit.WriteEvidence(ctx, f.out, ev, o.store, o.tree, cp, o.signer.PublicKey())
}

// verifyKey returns the public key `ledger verify` checks checkpoint
// signatures with: --key, or else the data directory's audit.pub when there
// is one (nil: checkpoints are checked against the tree only).
func verifyKey(keyFile, dataDir string) (ed25519.PublicKey, error) {
	if keyFile != "" {
		return audit.ReadPublicKey(keyFile)
	}
	path := filepath.Join(dataDir, audit.PublicKeyFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return audit.ReadPublicKey(path)
}
