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
