package writer

// Why a snapshot was refused, for the tests to tell the cases apart.
var (
	ErrSnapshotChecksum = errSnapshotChecksum
	ErrSnapshotFormat   = errSnapshotFormat
	ErrSnapshotAhead    = errSnapshotAhead
	ErrSnapshotFork     = errSnapshotFork
)

// SnapshotFile is the snapshot's name in its directory.
const SnapshotFile = snapshotFile

// WithSnapshotAfter sets how many events an Open may replay before it
// writes a snapshot at once, so that a test need not replay a million.
func WithSnapshotAfter(events uint64) Option { return func(c *config) { c.snapshotAfter = events } }

// WithSnapshotEvery sets how many events are appended past the newest
// snapshot before another is rebuilt, so that a test need not append a million.
func WithSnapshotEvery(events uint64) Option { return func(c *config) { c.snapshotEvery = events } }
