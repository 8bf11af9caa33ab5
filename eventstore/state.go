package eventstore

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/google/uuid"
)

// Limits every backend enforces on one Append or AppendBatch, so that a writer
// can size its batches once for all backends. A batch over a limit is refused
// with ErrInvalid.
const (
	// MaxBatchEvents bounds the events of one append (all commits together).
	MaxBatchEvents = 4096
	// MaxBatchBytes bounds the bytes of one append: the sum over its events
	// of Data and of every string of the envelope. It leaves room for the
	// backends' framing inside a 1 MiB NATS message.
	MaxBatchBytes = 512 << 10
)

// CommitError tells which commit of an AppendBatch refused the batch. It
// wraps the reason (ErrConflict, ErrIdempotencyMismatch, ErrInvalid).
type CommitError struct {
	Index     int    // the commit's index in the batch
	CommandID string // the commit's CommandID
	Err       error
}

// Error implements error.
func (e *CommitError) Error() string {
	return fmt.Sprintf("commit %d (command %q): %v", e.Index, e.CommandID, e.Err)
}

// Unwrap lets errors.Is see the reason.
func (e *CommitError) Unwrap() error { return e.Err }

// ValidateBatch refuses, with ErrInvalid, a batch that is empty, over the
// limits, or holds a malformed commit.
func ValidateBatch(commits []Commit) error {
	if len(commits) == 0 {
		return fmt.Errorf("%w: empty batch", ErrInvalid)
	}
	events, size := 0, 0
	for i, c := range commits {
		if err := ValidateCommit(c); err != nil {
			return &CommitError{Index: i, CommandID: c.CommandID, Err: err}
		}
		events += len(c.Events)
		size += CommitBytes(c)
	}
	if events > MaxBatchEvents {
		return fmt.Errorf("%w: %d events in one batch, limit %d", ErrInvalid, events, MaxBatchEvents)
	}
	if size > MaxBatchBytes {
		return fmt.Errorf("%w: %d bytes in one batch, limit %d", ErrInvalid, size, MaxBatchBytes)
	}
	return nil
}

// ValidateCommit refuses, with ErrInvalid, a commit without a CommandID,
// without events, over the limits, or with an event lacking a stream or type.
func ValidateCommit(c Commit) error {
	switch {
	case c.CommandID == "":
		return fmt.Errorf("%w: empty command id", ErrInvalid)
	case len(c.Events) == 0:
		return fmt.Errorf("%w: command %q has no events", ErrInvalid, c.CommandID)
	case len(c.Events) > MaxBatchEvents:
		return fmt.Errorf("%w: command %q has %d events, limit %d", ErrInvalid, c.CommandID, len(c.Events), MaxBatchEvents)
	case CommitBytes(c) > MaxBatchBytes:
		return fmt.Errorf("%w: command %q is over %d bytes", ErrInvalid, c.CommandID, MaxBatchBytes)
	}
	for _, x := range c.Expect {
		if x.Stream == "" {
			return fmt.Errorf("%w: command %q expects an empty stream name", ErrInvalid, c.CommandID)
		}
	}
	for i, e := range c.Events {
		if e.Stream == "" || e.Type == "" {
			return fmt.Errorf("%w: command %q event %d lacks a stream or type", ErrInvalid, c.CommandID, i)
		}
	}
	return nil
}

// CommitBytes is the size a commit counts against MaxBatchBytes.
func CommitBytes(c Commit) int {
	n := 0
	for _, e := range c.Events {
		n += len(e.Stream) + len(e.Type) + len(e.Data) + len(e.Meta.BusinessDate) +
			len(e.Meta.Actor) + len(c.CommandID) + len(c.Fingerprint) + len(e.Meta.CorrelationID)
	}
	return n
}

// State is what a backend must remember to append correctly: the head and
// its hash, every stream's version, and every CommandID with its result,
// forever; and, for reading a stream back, where its events are. Backends
// build it from their log at open (Loader, or Restore) and extend it
// through a Draft. It is not safe for concurrent use.
type State struct {
	chain    chainer
	head     Position
	hash     [32]byte
	streams  streamIndex
	links    backLinks
	commands *CommandIndex
	// lastCommand and lastKey spare the hashing of a command id on each
	// of its events when a replay restores them one by one.
	lastCommand string
	lastKey     Key
}

// streamEntry is what the state remembers of one stream.
type streamEntry struct {
	version uint64
	last    Position // position of the stream's newest event
}

// streamIndex remembers each stream's version and newest event, by the
// stream name's digest (index.go). Most streams of a long log hold a single
// event (a payment, a placement): those are kept as that event's position
// alone, 24 bytes; a stream that grows is kept with its version, 32 bytes,
// and that entry shadows its single, which stays.
type streamIndex struct {
	singles keyIndex[Position]
	grown   keyIndex[streamEntry]
}

func newStreamIndex() streamIndex {
	return streamIndex{singles: newKeyIndex[Position](), grown: newKeyIndex[streamEntry]()}
}

func (x *streamIndex) get(k Key) streamEntry {
	if e, ok := x.grown.get(k); ok {
		return e
	}
	if p, ok := x.singles.get(k); ok {
		return streamEntry{version: 1, last: p}
	}
	return streamEntry{}
}

func (x *streamIndex) set(k Key, e streamEntry) {
	if e.version == 1 {
		x.singles.set(k, e.last)
		return
	}
	x.grown.set(k, e)
}

// settle moves every entry into the sorted arrays.
func (x *streamIndex) settle() {
	if len(x.singles.recent) > 0 {
		x.singles.merge()
	}
	if len(x.grown.recent) > 0 {
		x.grown.merge()
	}
}

type commandRecord struct {
	fingerprint string
	result      Result
}

// NewState returns the state of an empty log.
func NewState() *State {
	return &State{streams: newStreamIndex(), commands: NewCommandIndex()}
}

// Head returns the position and hash of the last event.
func (s *State) Head() (Position, [32]byte) { return s.head, s.hash }

// Version returns a stream's version, 0 if it has no events.
func (s *State) Version(stream string) uint64 {
	return s.streams.get(KeyOf(stream)).version
}

// StreamPositions returns the positions of a stream's events, oldest first.
func (s *State) StreamPositions(stream string) []Position {
	e := s.streams.get(KeyOf(stream))
	out := make([]Position, e.version)
	for i, p := len(out)-1, e.last; i >= 0; i-- {
		out[i] = p
		p = s.links.before(p)
	}
	return out
}

// Commands returns the number of command ids the state remembers.
func (s *State) Commands() int { return s.commands.Len() }

// record makes e its stream's newest event.
func (s *State) record(stream Key, e Event, was streamEntry) {
	s.links.add(e.Position, was.last)
	s.streams.set(stream, streamEntry{version: e.Version, last: e.Position})
}

// ErrCorrupt reports a stored log that breaks the store's own invariants
// (gap in positions or versions, broken hash chain, a command split apart).
var ErrCorrupt = errors.New("eventstore: stored log is corrupt")

// Restore folds an event read back from storage into the state, checking
// that it continues the log: the next position, the next version of its
// stream, a hash that chains, and a command whose events are contiguous.
func (s *State) Restore(e Event) error {
	if h := s.chain.hash(s.hash, e); h != e.Hash {
		return fmt.Errorf("%w: position %d: hash does not chain", ErrCorrupt, e.Position)
	}
	return s.RestoreVerified(e)
}

// RestoreVerified is Restore for an event whose hash the caller has already
// checked, with ChainHash over the previous event's hash (on another
// goroutine, to spread the hashing of a long log): it checks everything but
// the hash.
func (s *State) RestoreVerified(e Event) error {
	if e.Position != s.head+1 {
		return fmt.Errorf("%w: position %d after %d", ErrCorrupt, e.Position, s.head)
	}
	stream := KeyOf(e.Stream)
	was := s.streams.get(stream)
	if e.Version != was.version+1 {
		return fmt.Errorf("%w: position %d: stream %q version %d after %d", ErrCorrupt, e.Position, e.Stream, e.Version, was.version)
	}
	if err := s.restoreCommand(e); err != nil {
		return err
	}
	s.record(stream, e, was)
	s.head, s.hash = e.Position, e.Hash
	return nil
}

// restoreCommand records the event's command: new, or continued by an
// event right after its last one.
func (s *State) restoreCommand(e Event) error {
	if e.Meta.CommandID != s.lastCommand || s.lastCommand == "" {
		s.lastCommand, s.lastKey = e.Meta.CommandID, KeyOf(e.Meta.CommandID)
	}
	rec, seen := s.commands.GetKey(s.lastKey)
	switch {
	case !seen:
		s.commands.PutKey(s.lastKey, e.Meta.Fingerprint, Result{First: e.Position, Last: e.Position})
		return nil
	case rec.Result().Last != s.head:
		return fmt.Errorf("%w: position %d: command %q appears twice", ErrCorrupt, e.Position, e.Meta.CommandID)
	}
	if err := s.commands.Extend(s.lastKey, e.Position); err != nil {
		return fmt.Errorf("position %d: command %q: %w", e.Position, e.Meta.CommandID, err)
	}
	return nil
}

// Draft is a tentative extension of a State: commits added to it see the
// effects of the ones added before, and the State does not change until
// Apply. A draft that is not applied is simply dropped.
type Draft struct {
	base     *State
	parent   *Draft // the draft this one continues, if any (Next)
	baseHead Position
	recorded time.Time
	head     Position
	hash     [32]byte
	versions map[string]uint64
	commands map[string]commandRecord
	events   []Event
}

// Draft starts a draft whose events are recorded at the given time.
func (s *State) Draft(recorded time.Time) *Draft {
	return &Draft{
		base: s, baseHead: s.head, recorded: recorded.UTC().Round(0),
		head: s.head, hash: s.hash,
		versions: make(map[string]uint64), commands: make(map[string]commandRecord),
	}
}

// Next starts a draft that continues d: it sees d's commits as if they
// were in the state. A backend uses it to prepare a batch while d's is
// still being made durable; it must Apply d before the new draft, and drop
// the new draft if d fails.
func (d *Draft) Next(recorded time.Time) *Draft {
	return &Draft{
		base: d.base, parent: d, baseHead: d.head, recorded: recorded.UTC().Round(0),
		head: d.head, hash: d.hash,
		versions: make(map[string]uint64), commands: make(map[string]commandRecord),
	}
}

// Head returns the position the draft would leave the log at.
func (d *Draft) Head() Position { return d.head }

// Events returns the draft's events, with positions, versions, times and
// hashes assigned.
func (d *Draft) Events() []Event { return d.events }

// Add adds a commit to the draft. A CommandID already in the state or the
// draft yields its first Result with Duplicate set (or ErrIdempotencyMismatch)
// and adds nothing; a failed expectation yields ErrConflict and adds nothing.
func (d *Draft) Add(c Commit) (Result, error) {
	if err := ValidateCommit(c); err != nil {
		return Result{}, err
	}
	if r, same, ok := d.command(c.CommandID, c.Fingerprint); ok {
		if !same {
			return Result{}, fmt.Errorf("command %q: %w", c.CommandID, ErrIdempotencyMismatch)
		}
		r.Duplicate = true
		return r, nil
	}
	for _, x := range c.Expect {
		if got := d.version(x.Stream); got != x.Version {
			return Result{}, fmt.Errorf("command %q: stream %q is at version %d, expected %d: %w",
				c.CommandID, x.Stream, got, x.Version, ErrConflict)
		}
	}
	return d.add(c)
}

func (d *Draft) add(c Commit) (Result, error) {
	r := Result{First: d.head + 1, Last: d.head + Position(len(c.Events))}
	for _, e := range c.Events {
		if e.ID == uuid.Nil {
			id, err := uuid.NewV7()
			if err != nil {
				return Result{}, fmt.Errorf("eventstore: event id: %w", err)
			}
			e.ID = id
		}
		e.Position = d.head + 1
		e.Version = d.version(e.Stream) + 1
		e.Meta.Recorded = d.recorded
		e.Meta.CommandID, e.Meta.Fingerprint = c.CommandID, c.Fingerprint
		e.Hash = d.base.chain.hash(d.hash, e)
		d.versions[e.Stream] = e.Version
		d.head, d.hash = e.Position, e.Hash
		d.events = append(d.events, e)
	}
	d.commands[c.CommandID] = commandRecord{fingerprint: c.Fingerprint, result: r}
	return r, nil
}

// command returns the result of a command id already in the draft or the
// state, and whether it was recorded with the same fingerprint.
func (d *Draft) command(id, fingerprint string) (r Result, same, ok bool) {
	for x := d; x != nil; x = x.parent {
		if rec, ok := x.commands[id]; ok {
			return rec.result, rec.fingerprint == fingerprint, true
		}
	}
	rec, ok := d.base.commands.Get(id)
	return rec.Result(), rec.Matches(fingerprint), ok
}

func (d *Draft) version(stream string) uint64 {
	for x := d; x != nil; x = x.parent {
		if v, ok := x.versions[stream]; ok {
			return v
		}
	}
	return d.base.Version(stream)
}

// Apply makes the draft part of the state, once its events are durable. It
// panics if the state moved since the draft began: that is a programmer error
// (two drafts applied over the same head would fork the log).
func (s *State) Apply(d *Draft) {
	if d.base != s || d.baseHead != s.head {
		panic("eventstore: draft applied to a state that moved")
	}
	for _, e := range d.events {
		stream := KeyOf(e.Stream)
		s.record(stream, e, s.streams.get(stream))
	}
	for id, rec := range d.commands {
		s.commands.Put(id, rec.fingerprint, rec.result)
	}
	s.head, s.hash = d.head, d.hash
	d.parent = nil // applied: its lookups are the state's now
}

// backLinks chain each stream's events: for every position, how far back
// the stream's event before it is. Four bytes an event, where a list of
// positions per stream would cost a slice header and an allocation each.
type backLinks struct {
	distance []uint32              // distance[p-1]: p minus the position before it in its stream; 0 for a stream's first
	far      map[Position]Position // the rare distance beyond uint32, by position
}

// farLink marks a distance kept in far.
const farLink = ^uint32(0)

// maxNearDistance is the longest distance kept in the array: a variable
// only so that a test can reach the far map without 2^32 positions.
var maxNearDistance = Position(farLink - 1)

// add links position p (the next one) to prev, 0 for none.
func (l *backLinks) add(p, prev Position) {
	if p != Position(len(l.distance))+1 {
		panic(fmt.Sprintf("eventstore: back-link of position %d after %d", p, len(l.distance)))
	}
	l.distance = append(l.distance, 0)
	l.set(p, prev)
}

func (l *backLinks) set(p, prev Position) {
	switch d := p - prev; {
	case prev == 0:
		l.distance[p-1] = 0
	case d <= maxNearDistance:
		l.distance[p-1] = uint32(d)
	default:
		if l.far == nil {
			l.far = make(map[Position]Position)
		}
		l.distance[p-1] = farLink
		l.far[p] = prev
	}
}

// before returns the position of the event before p in its stream, 0 for none.
func (l *backLinks) before(p Position) Position {
	switch d := l.distance[p-1]; d {
	case 0:
		return 0
	case farLink:
		return l.far[p]
	default:
		return p - Position(d)
	}
}

// Loader rebuilds a State from a whole stored log faster than Restore, for
// a backend's open: the hashing, the costly part, goes on as many
// goroutines as the backend likes (Run.Prepare, one run of events each),
// and the indexes are sorted once at the end (State) instead of growing
// event by event. It checks all that Restore does. It can resume from a
// state saved at the last close (Resume), then checking only the hash
// chain up to that state's head.
type Loader struct {
	head     Position
	hash     [32]byte
	chain    chainer
	streams  []keySlot[Position]     // one per event: its stream and position
	versions []uint64                // versions[i]: version of the i-th event loaded
	commands []keySlot[CommandEntry] // one per command
	// resumed tells that the loader continues from a saved state whose
	// head and hash are resumedHead and resumedHash (Resume).
	resumed     bool
	resumedHead Position
	resumedHash [32]byte
}

// ErrSnapshotStale reports a saved state that the log does not lead to:
// the log's hash at the state's head differs, or the log is shorter. The
// backend loads without it.
var ErrSnapshotStale = errors.New("eventstore: saved state does not match the log")

// NewLoader starts the state of an empty log; events, when known, is about
// how many the log holds, to size the loader once.
func NewLoader(events int) *Loader {
	return &Loader{
		streams:  make([]keySlot[Position], 0, events),
		versions: make([]uint64, 0, events),
		commands: make([]keySlot[CommandEntry], 0, events),
	}
}

// Resume makes the loader, still empty, continue from a saved state whose
// head and hash are given (SnapshotReader.Head): the events up to that head
// are then checked only for their positions and hash chain, which must
// reach that hash (else Add or StateFrom fail with ErrSnapshotStale); the
// events after it are folded into the saved state by StateFrom, so that
// the state may be read while the log is. events is about how many events
// follow the head.
func (l *Loader) Resume(head Position, hash [32]byte, events int) {
	l.resumed, l.resumedHead, l.resumedHash = true, head, hash
	l.streams = make([]keySlot[Position], 0, events)
	l.versions = make([]uint64, 0, events)
	l.commands = make([]keySlot[CommandEntry], 0, events)
}

// Run is a run of consecutive stored events with their digests, prepared
// for a Loader. A Run may be reused for the next run once added.
type Run struct {
	events []Event
	keys   []eventKeys
	keyed  bool    // keys holds the events' digests
	chain  chainer // reused from run to run: hashing allocates nothing
}

type eventKeys struct {
	stream, command Key
	fingerprint     uint64
}

// Prepare checks that each event but the first chains to the one before it
// (the first is checked by Loader.Add against the log so far) and computes
// the digests the loader keeps. It may run on any goroutine; the loader
// reads events until Add returns.
func (r *Run) Prepare(events []Event) error {
	if err := r.PrepareChain(events); err != nil {
		return err
	}
	r.digest()
	return nil
}

// PrepareChain is Prepare for a run that a resumed loader only checks (up
// to the head of the state it resumed from): it checks the chain and
// computes no digests.
func (r *Run) PrepareChain(events []Event) error {
	r.events, r.keyed = events, false
	for i := 1; i < len(events); i++ {
		if r.chain.hash(events[i-1].Hash, events[i]) != events[i].Hash {
			return fmt.Errorf("%w: position %d: hash does not chain", ErrCorrupt, events[i].Position)
		}
	}
	return nil
}

// digest computes the digests of the run's streams and commands.
func (r *Run) digest() {
	events := r.events
	r.keys, r.keyed = slices.Grow(r.keys[:0], len(events))[:len(events)], true
	for i, e := range events {
		k := &r.keys[i]
		k.stream = KeyOf(e.Stream)
		if i > 0 && e.Meta.CommandID == events[i-1].Meta.CommandID {
			k.command, k.fingerprint = r.keys[i-1].command, r.keys[i-1].fingerprint
			continue
		}
		k.command, k.fingerprint = KeyOf(e.Meta.CommandID), fingerprintOf(e.Meta.Fingerprint)
	}
}

// Add folds a prepared run, the next of the log, into the loader.
func (l *Loader) Add(r *Run) error {
	if len(r.events) == 0 {
		return nil
	}
	if first := r.events[0]; l.chain.hash(l.hash, first) != first.Hash {
		return fmt.Errorf("%w: position %d: hash does not chain", ErrCorrupt, first.Position)
	}
	for i, e := range r.events {
		if e.Position != l.head+1 {
			return fmt.Errorf("%w: position %d after %d", ErrCorrupt, e.Position, l.head)
		}
		l.head = e.Position
		if l.resumed && e.Position <= l.resumedHead {
			if e.Position == l.resumedHead && e.Hash != l.resumedHash {
				return fmt.Errorf("%w: hash at position %d differs", ErrSnapshotStale, e.Position)
			}
			continue
		}
		if !r.keyed { // a run across the head resumed from
			r.digest()
		}
		k := &r.keys[i]
		l.streams = append(l.streams, keySlot[Position]{k.stream, e.Position})
		l.versions = append(l.versions, e.Version)
		if err := l.addCommand(k, e.Position); err != nil {
			return err
		}
	}
	l.hash = r.events[len(r.events)-1].Hash
	return nil
}

// addCommand records the event's command: new, or continued by the event
// right after its last one. A command met again later shows when State
// sorts the commands.
func (l *Loader) addCommand(k *eventKeys, p Position) error {
	if n := len(l.commands); n > 0 && l.commands[n-1].key == k.command && l.commands[n-1].value.Result().Last == p-1 {
		c := &l.commands[n-1].value
		if first := c.first(); p-first >= MaxBatchEvents {
			return fmt.Errorf("%w: a command at position %d continues at %d", ErrCorrupt, first, p)
		}
		c.positions++
		return nil
	}
	l.commands = append(l.commands, keySlot[CommandEntry]{k.command, newCommandEntry(k.fingerprint, Result{First: p, Last: p})})
	return nil
}

// State sorts what the loader gathered into the state of the log, checking
// that each stream's versions count up from 1 and that no command appears
// twice. The loader is spent.
func (l *Loader) State() (*State, error) {
	if l.resumed {
		panic("eventstore: State of a resumed loader: call StateFrom")
	}
	s := NewState()
	s.head, s.hash = l.head, l.hash
	s.links.distance = make([]uint32, l.head)
	var streamsErr, commandsErr error
	var wg sync.WaitGroup
	wg.Go(func() { streamsErr = s.adoptStreams(l.streams, l.versionOf) })
	commandsErr = s.adoptCommands(l.commands)
	wg.Wait()
	l.streams, l.versions, l.commands = nil, nil, nil
	if err := errors.Join(streamsErr, commandsErr); err != nil {
		return nil, err
	}
	return s, nil
}

// StateFrom is State for a resumed loader: it folds the events after the
// saved head into base, the saved state, and returns it.
func (l *Loader) StateFrom(base *State) (*State, error) {
	s := base
	switch {
	case !l.resumed:
		panic("eventstore: StateFrom of a loader that did not resume")
	case s.head != l.resumedHead || s.hash != l.resumedHash:
		return nil, fmt.Errorf("%w: the state is not the one resumed from", ErrSnapshotStale)
	case l.head < s.head:
		return nil, fmt.Errorf("%w: the log ends at %d, the saved state at %d", ErrSnapshotStale, l.head, s.head)
	}
	s.head, s.hash = l.head, l.hash
	s.links.distance = append(s.links.distance, make([]uint32, l.head-Position(len(s.links.distance)))...)
	s.streams.settle() // every known key in the arrays: extendStreams finds them there
	if len(s.commands.index.recent) > 0 {
		s.commands.index.merge()
	}
	if err := s.extendStreams(l.streams, l.versionOf); err != nil {
		return nil, err
	}
	if err := s.extendCommands(l.commands); err != nil {
		return nil, err
	}
	l.streams, l.versions, l.commands = nil, nil, nil
	return s, nil
}

// versionOf returns the version of the loaded event at position p.
func (l *Loader) versionOf(p Position) uint64 {
	return l.versions[p-l.resumedHead-1] // resumedHead is 0 unless resumed
}

// extendStreams folds one slot per event after the state's indexed
// streams into them: a stream already grown is updated in place, and the
// new entries, in key order already, are merged into the arrays at once.
func (s *State) extendStreams(slots []keySlot[Position], versionOf func(Position) uint64) error {
	var singles []keySlot[Position]
	var grown []keySlot[streamEntry]
	err := s.foldStreams(slots, versionOf, s.streams.get, func(k Key, e streamEntry) {
		i, ok := s.streams.grown.find(k)
		switch {
		case e.version == 1:
			singles = append(singles, keySlot[Position]{k, e.last})
		case ok:
			s.streams.grown.sorted[i].value = e
		default:
			grown = append(grown, keySlot[streamEntry]{k, e})
		}
	})
	if err == nil {
		s.streams.singles.mergeSorted(singles)
		s.streams.grown.mergeSorted(grown)
	}
	return err
}

// extendCommands is extendStreams for the commands: one known already may
// only continue across the head resumed from.
func (s *State) extendCommands(slots []keySlot[CommandEntry]) error {
	var fresh []keySlot[CommandEntry]
	err := foldCommands(slots, func(slot keySlot[CommandEntry]) error {
		was, ok := s.commands.GetKey(slot.key)
		switch {
		case !ok:
			fresh = append(fresh, slot)
			return nil
		case was.Result().Last+1 == slot.value.first():
			return s.commands.Extend(slot.key, slot.value.Result().Last)
		}
		return fmt.Errorf("%w: a command at position %d appears again at %d", ErrCorrupt, was.first(), slot.value.first())
	})
	if err == nil {
		s.commands.index.mergeSorted(fresh)
	}
	return err
}

// adoptStreams makes the streams of slots, one per event, the state's:
// the singles stay in the slots' array, compacted in place.
func (s *State) adoptStreams(slots []keySlot[Position], versionOf func(Position) uint64) error {
	kept := 0
	var grown []keySlot[streamEntry]
	none := func(Key) streamEntry { return streamEntry{} }
	err := s.foldStreams(slots, versionOf, none, func(k Key, e streamEntry) {
		if e.version == 1 {
			slots[kept] = keySlot[Position]{k, e.last} // kept never passes the slot being read
			kept++
		} else {
			grown = append(grown, keySlot[streamEntry]{k, e})
		}
	})
	if err != nil {
		return err
	}
	singles := slots[:kept]
	if kept < cap(slots)/2 { // long streams: do not keep a slot per event
		singles = slices.Clone(singles)
	}
	s.streams.singles.adopt(singles)
	s.streams.grown.adopt(grown)
	return nil
}

// foldStreams sorts one slot per event by stream, then position, checks
// that each stream's versions count up from where before says it was,
// links each stream's events, and passes keep each stream's newest entry,
// in key order.
func (s *State) foldStreams(slots []keySlot[Position], versionOf func(Position) uint64, before func(Key) streamEntry, keep func(Key, streamEntry)) error {
	sortSlots(slots, func(a, b *keySlot[Position]) int { return cmp.Compare(a.value, b.value) })
	var was streamEntry
	for i, slot := range slots {
		if i == 0 || slots[i-1].key != slot.key {
			was = before(slot.key)
		}
		now := streamEntry{version: versionOf(slot.value), last: slot.value}
		if now.version != was.version+1 {
			return fmt.Errorf("%w: position %d: stream version %d after %d", ErrCorrupt, now.last, now.version, was.version)
		}
		s.links.set(now.last, was.last)
		was = now
		if i+1 == len(slots) || slots[i+1].key != slot.key {
			keep(slot.key, now)
		}
	}
	return nil
}

// adoptCommands makes the commands of slots the state's.
func (s *State) adoptCommands(slots []keySlot[CommandEntry]) error {
	err := foldCommands(slots, func(keySlot[CommandEntry]) error { return nil })
	if err != nil {
		return err
	}
	s.commands.index.adopt(slots)
	return nil
}

// foldCommands sorts the commands, refuses one that appears twice, and
// passes each to keep.
func foldCommands(slots []keySlot[CommandEntry], keep func(keySlot[CommandEntry]) error) error {
	sortSlots(slots, func(a, b *keySlot[CommandEntry]) int { return cmp.Compare(a.value.positions, b.value.positions) })
	for i, slot := range slots {
		if i > 0 && slot.key == slots[i-1].key {
			return fmt.Errorf("%w: a command at position %d appears again at %d", ErrCorrupt,
				slots[i-1].value.first(), slot.value.first())
		}
		if err := keep(slot); err != nil {
			return err
		}
	}
	return nil
}

// A snapshot is a State saved whole, for a backend to resume from at its
// next open (Loader.Resume) instead of digesting and sorting the whole log
// again. It is local to the machine: the slots are written as they lie in
// memory, after a header that names the layout, and the file ends with the
// SHA-256 of all before it, so that a torn or damaged snapshot is refused.
// A snapshot is trusted only as far as the log leads to it: the loader
// still checks the whole hash chain, which must reach the snapshot's hash.
const snapshotMagic = "hrss-ledger/state-snapshot/v2\n"

// snapshotHeader names the snapshot's layout and the size of its sections.
type snapshotHeader struct {
	ByteOrder                          uint64 // snapshotByteOrder, as this machine writes it
	SingleSlot, GrownSlot, CommandSlot uint64 // sizes of the slots
	Head                               Position
	Hash                               [32]byte
	Singles, Grown, Commands, Links    uint64
	FarLinks                           uint64
}

// layout returns the header of a snapshot of this build, sizes aside.
func layout() snapshotHeader {
	return snapshotHeader{
		ByteOrder:   snapshotByteOrder,
		SingleSlot:  uint64(unsafe.Sizeof(keySlot[Position]{})),
		GrownSlot:   uint64(unsafe.Sizeof(keySlot[streamEntry]{})),
		CommandSlot: uint64(unsafe.Sizeof(keySlot[CommandEntry]{})),
	}
}

const snapshotByteOrder = 0x0102030405060708

// WriteSnapshot writes the state to w.
func (s *State) WriteSnapshot(w io.Writer) error {
	s.streams.settle()
	if len(s.commands.index.recent) > 0 {
		s.commands.index.merge()
	}
	far := make([]Position, 0, 2*len(s.links.far))
	for p, prev := range s.links.far {
		far = append(far, p, prev)
	}
	h := layout()
	h.Head, h.Hash = s.head, s.hash
	h.Singles, h.Grown = uint64(len(s.streams.singles.sorted)), uint64(len(s.streams.grown.sorted))
	h.Commands, h.Links, h.FarLinks = uint64(len(s.commands.index.sorted)), uint64(len(s.links.distance)), uint64(len(far)/2)
	sections := [][]byte{bytesOf(s.streams.singles.sorted), bytesOf(s.streams.grown.sorted),
		bytesOf(s.commands.index.sorted), bytesOf(s.links.distance), bytesOf(far)}
	sum := sha256.New()
	out := io.MultiWriter(w, sum)
	if _, err := io.WriteString(out, snapshotMagic); err != nil {
		return fmt.Errorf("eventstore: write snapshot: %w", err)
	}
	if err := binary.Write(out, binary.NativeEndian, &h); err != nil {
		return fmt.Errorf("eventstore: write snapshot: %w", err)
	}
	for _, section := range sections {
		if _, err := out.Write(section); err != nil {
			return fmt.Errorf("eventstore: write snapshot: %w", err)
		}
	}
	if _, err := w.Write(sum.Sum(nil)); err != nil {
		return fmt.Errorf("eventstore: write snapshot: %w", err)
	}
	return nil
}

// ReadSnapshot reads a state that WriteSnapshot wrote, refusing one that
// is damaged, of another layout, or beyond maxHead (the log's length, as
// far as the caller knows: a damaged header must not size the arrays).
func ReadSnapshot(r io.Reader, maxHead Position) (*State, error) {
	sr, err := OpenSnapshot(r, maxHead)
	if err != nil {
		return nil, err
	}
	return sr.State()
}

// SnapshotReader reads a snapshot in two steps: its header at once, so
// that a Loader can resume from its head while the rest is read.
type SnapshotReader struct {
	r   io.Reader // the snapshot, past the header
	sum hash.Hash // of all read so far
	h   snapshotHeader
}

// OpenSnapshot reads and checks a snapshot's header, as ReadSnapshot.
func OpenSnapshot(r io.Reader, maxHead Position) (*SnapshotReader, error) {
	sr := &SnapshotReader{r: r, sum: sha256.New()}
	in := io.TeeReader(r, sr.sum)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(in, magic); err != nil || string(magic) != snapshotMagic {
		return nil, fmt.Errorf("eventstore: read snapshot: not a snapshot (%v)", err)
	}
	if err := binary.Read(in, binary.NativeEndian, &sr.h); err != nil {
		return nil, fmt.Errorf("eventstore: read snapshot: %w", err)
	}
	if err := sr.h.check(maxHead); err != nil {
		return nil, err
	}
	return sr, nil
}

// Head returns the position and hash of the saved state's last event.
func (sr *SnapshotReader) Head() (Position, [32]byte) { return sr.h.Head, sr.h.Hash }

// State reads the rest of the snapshot and checks its checksum.
func (sr *SnapshotReader) State() (*State, error) {
	h, in := sr.h, io.TeeReader(sr.r, sr.sum)
	s := NewState()
	s.head, s.hash = h.Head, h.Hash
	singles := make([]keySlot[Position], h.Singles)
	grown := make([]keySlot[streamEntry], h.Grown)
	commands := make([]keySlot[CommandEntry], h.Commands)
	s.links.distance = make([]uint32, h.Links)
	far := make([]Position, 2*h.FarLinks)
	for _, section := range [][]byte{bytesOf(singles), bytesOf(grown), bytesOf(commands), bytesOf(s.links.distance), bytesOf(far)} {
		if _, err := io.ReadFull(in, section); err != nil {
			return nil, fmt.Errorf("eventstore: read snapshot: %w", err)
		}
	}
	want := sr.sum.Sum(nil)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(sr.r, got); err != nil || !bytes.Equal(got, want) {
		return nil, fmt.Errorf("eventstore: read snapshot: checksum does not match (%v)", err)
	}
	s.streams.singles.adopt(singles)
	s.streams.grown.adopt(grown)
	s.commands.index.adopt(commands)
	for i := 0; i < len(far); i += 2 {
		if s.links.far == nil {
			s.links.far = make(map[Position]Position)
		}
		s.links.far[far[i]] = far[i+1]
	}
	return s, nil
}

// check refuses a header of another layout, or whose sizes cannot be: a
// log holds no more streams, commands or links than events.
func (h *snapshotHeader) check(maxHead Position) error {
	want := layout()
	switch {
	case h.ByteOrder != want.ByteOrder, h.SingleSlot != want.SingleSlot,
		h.GrownSlot != want.GrownSlot, h.CommandSlot != want.CommandSlot:
		return fmt.Errorf("eventstore: read snapshot: written on another layout")
	case h.Head > maxHead:
		return fmt.Errorf("%w: it ends at %d, the log at %d", ErrSnapshotStale, h.Head, maxHead)
	case h.Singles > h.Head, h.Grown > h.Head, h.Commands > h.Head, h.Links != h.Head, h.FarLinks > h.Head:
		return fmt.Errorf("eventstore: read snapshot: sizes %d, %d, %d, %d, %d do not fit a log of %d events",
			h.Singles, h.Grown, h.Commands, h.Links, h.FarLinks, h.Head)
	}
	return nil
}

// bytesOf views a slice of pointer-free values as its bytes.
func bytesOf[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}
