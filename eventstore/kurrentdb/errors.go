package kurrentdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hrss-ledger/ledger/eventstore"
)

// errTransient marks a failure worth retrying: the connection dropped, the
// node lost leadership or is restarting. It always travels together with
// eventstore.ErrUnavailable, so callers that give up see the contract's error.
var errTransient = errors.New("kurrentdb: transient")

// errNoStream: the log stream does not exist yet, i.e. the log is empty.
var errNoStream = errors.New("kurrentdb: stream not found")

// errClientClosed: the client shut itself down (it does so when node
// discovery fails), so the store must build a new one before retrying.
var errClientClosed = errors.New("kurrentdb: client closed")

// mapError is the one place where client errors become the contract's errors.
// The client wraps its *esdb.Error with fmt.Errorf on some paths and returns
// bare gRPC status errors on others, so it is matched with errors.As, never
// with esdb.FromError (which reports ok only for a nil error and does not
// unwrap).
func mapError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("kurrentdb: %s: %w", op, ctxErr)
	}
	return &opError{op: op, kinds: classify(err), cause: err}
}

// opError is a failed client call: the operation, the sentinels it stands
// for (errors.Is finds them) and the client's own error (errors.As finds it).
type opError struct {
	op    string
	kinds []error
	cause error
}

// Error reads "kurrentdb: append: eventstore: expectation failed: <client error>".
func (e *opError) Error() string {
	msg := "kurrentdb: " + e.op
	for _, kind := range e.kinds {
		if kind != errTransient && kind != errClientClosed {
			msg += ": " + kind.Error()
		}
	}
	return msg + ": " + e.cause.Error()
}

// Unwrap exposes the sentinels and the cause to errors.Is and errors.As.
func (e *opError) Unwrap() []error {
	return append(append([]error(nil), e.kinds...), e.cause)
}

// classify returns the sentinels an error stands for, in the order they are
// wrapped; nil means "no contract meaning": the error is reported as is.
func classify(err error) []error {
	code, ok := clientCode(err)
	if !ok {
		return classifyStatus(status.Code(err))
	}
	switch code {
	case esdb.ErrorCodeWrongExpectedVersion:
		return []error{eventstore.ErrConflict}
	case esdb.ErrorCodeResourceNotFound:
		return []error{errNoStream}
	case esdb.ErrorCodeStreamDeleted:
		// Someone deleted or tombstoned the ledger's stream behind its back.
		return []error{eventstore.ErrUnsafeStream}
	case esdb.ErrorCodeAccessDenied, esdb.ErrorCodeUnauthenticated:
		// Retrying will not grant the rights; the log cannot accept writes.
		return []error{eventstore.ErrUnavailable}
	case esdb.ErrorCodeConnectionClosed:
		return []error{eventstore.ErrUnavailable, errTransient, errClientClosed}
	case esdb.ErrorUnavailable, esdb.ErrorCodeNotLeader,
		esdb.ErrorCodeDeadlineExceeded, esdb.ErrorAborted:
		return []error{eventstore.ErrUnavailable, errTransient}
	case esdb.ErrorCodeUnknown:
		// Unknown wraps bare gRPC errors (e.g. a dropped subscription).
		return classifyStatus(status.Code(err))
	}
	return nil
}

// classifyStatus covers the paths where the client hands back a bare gRPC
// status instead of its own error type.
func classifyStatus(code codes.Code) []error {
	switch code {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		return []error{eventstore.ErrUnavailable, errTransient}
	case codes.PermissionDenied, codes.Unauthenticated:
		return []error{eventstore.ErrUnavailable}
	case codes.InvalidArgument:
		// The server refuses an append over its --max-append-size this way.
		return []error{eventstore.ErrInvalid}
	}
	return nil
}

// clientCode finds the client's error code anywhere in the chain.
func clientCode(err error) (esdb.ErrorCode, bool) {
	var clientErr *esdb.Error
	if !errors.As(err, &clientErr) {
		return 0, false
	}
	return clientErr.Code(), true
}
