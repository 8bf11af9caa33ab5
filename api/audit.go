package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Audit is the proof side of the log, for auditors: the Merkle tree over the
// log, the signed checkpoints recorded in it and the verification of the
// whole log (eventstore/audit, behind an adapter that cmd/ledger builds).
//
// Its answers mirror the audit package's JSON files field for field, so that
// what an auditor saves from the API is what `ledger audit verify-proof`
// reads, while the OpenAPI document, generated from these types, describes
// them truly.
type Audit interface {
	// Size is how many events the tree covers: proofs are for sizes up to it.
	Size() uint64
	// Verify re-checks the whole log: hash chain, stream versions, and every
	// checkpoint recorded in it against the tree and the deployment's key.
	Verify(ctx context.Context) (AuditReport, error)
	// Checkpoints lists the checkpoints recorded in the log, oldest first.
	Checkpoints(ctx context.Context) ([]RecordedCheckpoint, error)
	// InclusionProof proves the event at position is in the tree of size,
	// and carries the event. Errors wrap ErrProofRange outside the tree.
	InclusionProof(ctx context.Context, position, size uint64) (InclusionProof, error)
	// ConsistencyProof proves the tree of size from is a prefix of the tree
	// of size to. Errors wrap ErrProofRange outside the tree.
	ConsistencyProof(ctx context.Context, from, to uint64) (ConsistencyProof, error)
	// PublicKey is the deployment's checkpoint key, PEM (audit.pub).
	PublicKey() []byte
}

// ErrProofRange reports a size or position outside the tree; an Audit wraps
// it so that the API answers 400 naming the parameter.
var ErrProofRange = errors.New("api: size or position outside the tree")

// ErrLogAltered reports that the events a proof was computed from no longer
// hash to the Merkle tree built from them when the server started: an event
// was altered, removed or inserted underneath the ledger. An Audit wraps it
// so that the auditor is told so, not shown a bare internal error.
var ErrLogAltered = errors.New("api: the log no longer matches its Merkle tree")

// treeWaitPoll is how often a proof request for a size the log has but the
// tree has not reached yet looks again (the tree follows the log).
const treeWaitPoll = 10 * time.Millisecond

// AuditReport is the answer of GET /v1/audit/verify: audit.ChainReport.
type AuditReport struct {
	OK               bool   `json:"ok"`
	EventsChecked    uint64 `json:"events_checked"`
	Head             uint64 `json:"head"`      // the last good position
	HeadHash         string `json:"head_hash"` // its chain hash, hex
	FirstBadPosition uint64 `json:"first_bad_position,omitempty"`
	Fault            string `json:"fault,omitempty"` // hash, position, version or checkpoint
	Detail           string `json:"detail,omitempty"`
	Checkpoints      int    `json:"checkpoints_checked,omitempty"`
	RootHash         string `json:"root_hash,omitempty"` // Merkle root of the good prefix
}

// Checkpoint is a signed statement that the first LogSize events have the
// Merkle root RootHash: audit.Checkpoint, the --checkpoint file of
// `ledger audit verify-proof`.
type Checkpoint struct {
	LogSize   uint64 `json:"log_size"`
	RootHash  string `json:"root_hash"` // hex
	Time      string `json:"time"`      // RFC 3339, UTC
	KeyID     string `json:"key_id"`
	Signature string `json:"signature"` // Ed25519, base64
}

// RecordedCheckpoint is a checkpoint as the log records it: with the period
// it closes and its own position. Saved alone it is still a checkpoint file.
type RecordedCheckpoint struct {
	// The fields of Checkpoint, spelt out: the OpenAPI generator does not
	// flatten embedded structs as encoding/json does.
	LogSize   uint64 `json:"log_size"`
	RootHash  string `json:"root_hash"`
	Time      string `json:"time"`
	KeyID     string `json:"key_id"`
	Signature string `json:"signature"`
	Period    string `json:"period"`   // day, month, quarter or year
	Date      string `json:"date"`     // the last business date the period covers
	Position  uint64 `json:"position"` // where the checkpoint event is in the log
}

// checkpointList is the answer of GET /v1/audit/checkpoints.
type checkpointList struct {
	Checkpoints []RecordedCheckpoint `json:"checkpoints"`
}

// EventRecord is an event with its whole envelope, as audit.EventRecord
// writes it: enough to recompute its Merkle leaf and its chain hash.
type EventRecord struct {
	Position      uint64 `json:"position"`
	ID            string `json:"event_id"`
	Stream        string `json:"stream"`
	Version       uint64 `json:"version"`
	Type          string `json:"type"`
	Data          string `json:"data,omitempty"`        // the exact bytes of the log, when UTF-8
	DataBase64    string `json:"data_base64,omitempty"` // otherwise
	BusinessDate  string `json:"business_date"`
	Recorded      string `json:"recorded"`
	Actor         string `json:"actor"`
	CommandID     string `json:"command_id"`
	Fingerprint   string `json:"fingerprint"`
	CorrelationID string `json:"correlation_id"`
	Hash          string `json:"hash"`
}

// InclusionProof is audit.InclusionProof with the event it proves.
type InclusionProof struct {
	Format   string       `json:"format"`
	Position uint64       `json:"position"`
	TreeSize uint64       `json:"tree_size"`
	LeafHash string       `json:"leaf_hash"`
	RootHash string       `json:"root_hash"`
	Hashes   []string     `json:"hashes"`
	Event    *EventRecord `json:"event,omitempty"`
}

// ConsistencyProof is audit.ConsistencyProof.
type ConsistencyProof struct {
	Format   string   `json:"format"`
	FromSize uint64   `json:"from_size"`
	ToSize   uint64   `json:"to_size"`
	FromRoot string   `json:"from_root"`
	ToRoot   string   `json:"to_root"`
	Hashes   []string `json:"hashes"`
}

// The parameters of the proof endpoints.
var (
	positionParam = param{name: "position", in: "query", required: true, description: "log position of the event (from 1)",
		schema: map[string]any{"type": "integer", "format": "int64", "minimum": 1}}
	sizeParam = param{name: "size", in: "query", required: true, description: "tree size: the log_size of a checkpoint",
		schema: map[string]any{"type": "integer", "format": "int64", "minimum": 1}}
	fromSizeParam = param{name: "from", in: "query", required: true, description: "the older tree size",
		schema: map[string]any{"type": "integer", "format": "int64", "minimum": 0}}
	toSizeParam = param{name: "to", in: "query", required: true, description: "the newer tree size",
		schema: map[string]any{"type": "integer", "format": "int64", "minimum": 0}}
)

// auditProblems are the problem statuses of the audit endpoints.
var auditProblems = []int{http.StatusBadRequest, http.StatusInternalServerError, http.StatusServiceUnavailable}

// auditRoutes are the auditor's endpoints, entries of queryRoutes.
func (s *Server) auditRoutes() []queryRoute {
	return []queryRoute{
		{pattern: "GET /v1/audit/verify", name: "verify_log", summary: "Re-check the whole log: hash chain, versions, recorded checkpoints",
			roles: auditors, result: AuditReport{}, problems: auditProblems, handler: s.auditJSON(s.verifyLog)},
		{pattern: "GET /v1/audit/checkpoints", name: "get_checkpoints", summary: "The signed checkpoints recorded in the log, oldest first",
			roles: auditors, result: checkpointList{}, problems: auditProblems, handler: s.auditJSON(s.checkpoints)},
		{pattern: "GET /v1/audit/proof/inclusion", name: "get_inclusion_proof", summary: "Proof that an event is in the log of a checkpoint, with the event",
			roles: auditors, params: []param{positionParam, sizeParam}, result: InclusionProof{}, problems: auditProblems,
			handler: s.auditJSON(s.inclusionProof)},
		{pattern: "GET /v1/audit/proof/consistency", name: "get_consistency_proof", summary: "Proof that a later checkpoint's log only appended to an earlier one's",
			roles: auditors, params: []param{fromSizeParam, toSizeParam}, result: ConsistencyProof{}, problems: auditProblems,
			handler: s.auditJSON(s.consistencyProof)},
		{pattern: "GET /v1/audit/public-key", name: "get_public_key", summary: "The deployment's checkpoint key (PEM); obtain it also out of band",
			roles: auditors, media: []string{"application/x-pem-file"}, problems: auditProblems, handler: s.publicKey},
	}
}

// errNoAudit answers when the server was built without the audit.
var errNoAudit = &Problem{Status: http.StatusServiceUnavailable, Title: "Service Unavailable",
	Detail: "this server keeps no audit tree"}

// auditJSON answers an audit query as JSON.
func (s *Server) auditJSON(answer func(*http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.audit == nil {
			writeProblem(w, r, errNoAudit)
			return
		}
		v, err := answer(r)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func (s *Server) verifyLog(r *http.Request) (any, error) {
	return s.audit.Verify(r.Context())
}

func (s *Server) checkpoints(r *http.Request) (any, error) {
	list, err := s.audit.Checkpoints(r.Context())
	if list == nil {
		list = []RecordedCheckpoint{}
	}
	return checkpointList{Checkpoints: list}, err
}

func (s *Server) inclusionProof(r *http.Request) (any, error) {
	position, err := sizeOf(r, "position")
	if err != nil {
		return nil, err
	}
	size, err := sizeOf(r, "size")
	if err != nil {
		return nil, err
	}
	if position == 0 || position > size {
		return nil, badRequest("position", "must be from 1 to size")
	}
	if err := s.waitForTree(r.Context(), size); err != nil {
		return nil, err
	}
	p, err := s.audit.InclusionProof(r.Context(), position, size)
	return p, s.rangeProblem(err, "size")
}

func (s *Server) consistencyProof(r *http.Request) (any, error) {
	from, err := sizeOf(r, "from")
	if err != nil {
		return nil, err
	}
	to, err := sizeOf(r, "to")
	if err != nil {
		return nil, err
	}
	if from > to {
		return nil, badRequest("from", "must not be larger than to")
	}
	if err := s.waitForTree(r.Context(), to); err != nil {
		return nil, err
	}
	p, err := s.audit.ConsistencyProof(r.Context(), from, to)
	return p, s.rangeProblem(err, "to")
}

// sizeOf reads a required whole-number query parameter.
func sizeOf(r *http.Request, name string) (uint64, error) {
	text := r.URL.Query().Get(name)
	if text == "" {
		return 0, badRequest(name, "is required")
	}
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return 0, badRequest(name, "must be a whole number")
	}
	return n, nil
}

// waitForTree lets a proof of a size this server has acknowledged wait,
// boundedly, for the tree that follows the log to reach it.
func (s *Server) waitForTree(ctx context.Context, size uint64) error {
	if size <= s.audit.Size() || s.commands == nil || size > s.commands.Head() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, viewWaitTimeout)
	defer cancel()
	tick := time.NewTicker(treeWaitPoll)
	defer tick.Stop()
	for s.audit.Size() < size {
		select {
		case <-ctx.Done():
			return errViewsBehind
		case <-tick.C:
		}
	}
	return nil
}

// rangeProblem names the parameter beyond the tree.
func (s *Server) rangeProblem(err error, param string) error {
	if errors.Is(err, ErrProofRange) {
		return badRequest(param, "the tree holds "+strconv.FormatUint(s.audit.Size(), 10)+" events")
	}
	return err
}

// publicKey answers the PEM key, so that `curl ... > audit.pub` saves it.
func (s *Server) publicKey(w http.ResponseWriter, r *http.Request) {
	if s.audit == nil {
		writeProblem(w, r, errNoAudit)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Content-Disposition", `attachment; filename="audit.pub"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(s.audit.PublicKey())
}
