package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcmd "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hrss-ledger/ledger/eventstore"
)

// failingServer speaks just enough of KurrentDB's gRPC streams service to
// make client v4.2.0 produce its real error values: every call fails the way
// the test asks. It is not a store: it never keeps an event.
type failingServer struct {
	api.UnimplementedStreamsServer
	mu       sync.Mutex
	notFound bool      // Read answers "stream not found" in the stream
	wrong    bool      // Append answers "wrong expected version"
	trailer  grpcmd.MD // sent with err
	err      error
}

func (f *failingServer) set(notFound, wrong bool, trailer grpcmd.MD, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notFound, f.wrong, f.trailer, f.err = notFound, wrong, trailer, err
}

func (f *failingServer) Read(_ *api.ReadReq, stream api.Streams_ReadServer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.notFound {
		return stream.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte("ledger-log")},
		}}})
	}
	stream.SetTrailer(f.trailer)
	return f.err
}

func (f *failingServer) Append(stream api.Streams_AppendServer) error {
	for {
		if _, err := stream.Recv(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.wrong {
		return stream.SendAndClose(&api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{
			WrongExpectedVersion: &api.AppendResp_WrongExpectedVersion{},
		}})
	}
	stream.SetTrailer(f.trailer)
	return f.err
}

// startFailingServer serves on a loopback port and returns a client of it.
func startFailingServer(t *testing.T) (*failingServer, *esdb.Client, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fake := &failingServer{}
	server := grpc.NewServer()
	api.RegisterStreamsServer(server, fake)
	go server.Serve(lis)
	t.Cleanup(server.Stop)
	conf, err := esdb.ParseConnectionString("esdb://" + lis.Addr().String() + "?tls=false&maxDiscoverAttempts=1&discoveryInterval=1")
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = func(esdb.LogLevel, string, ...any) {}
	client, err := esdb.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return fake, client, lis.Addr().String()
}

// readErr is the error a client read ends with, from the call or from Recv.
func readErr(client *esdb.Client) error {
	stream, err := client.ReadStream(context.Background(), "ledger-log", esdb.ReadStreamOptions{}, 1)
	if err != nil {
		return err
	}
	defer stream.Close()
	_, err = stream.Recv()
	return err
}

func appendErr(client *esdb.Client) error {
	_, err := client.AppendToStream(context.Background(), "ledger-log",
		esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(4)}, esdb.EventData{EventType: "t", Data: []byte("{}")})
	return err
}

func TestMapErrorOfRealClientErrors(t *testing.T) {
	fake, client, addr := startFailingServer(t)
	host, port, _ := net.SplitHostPort(addr)
	notLeader := grpcmd.Pairs("exception", "not-leader", "leader-endpoint-host", host, "leader-endpoint-port", port)
	tests := []struct {
		name      string
		call      func() error
		notFound  bool
		wrong     bool
		trailer   grpcmd.MD
		err       error
		want      error // a contract sentinel, or nil for "none"
		transient bool
	}{
		{name: "a wrong expected version is a conflict", call: func() error { return appendErr(client) }, wrong: true, want: eventstore.ErrConflict},
		{name: "a missing stream, reported by Recv, is an empty log", call: func() error { return readErr(client) }, notFound: true, want: errNoStream},
		{name: "a deleted log stream is unsafe", call: func() error { return readErr(client) },
			trailer: grpcmd.Pairs("exception", "stream-deleted", "stream-name", "ledger-log"), err: status.Error(codes.FailedPrecondition, "deleted"), want: eventstore.ErrUnsafeStream},
		{name: "an unavailable node is retried", call: func() error { return readErr(client) }, err: status.Error(codes.Unavailable, "restarting"), want: eventstore.ErrUnavailable, transient: true},
		{name: "a lost leadership is retried", call: func() error { return readErr(client) }, trailer: notLeader, err: status.Error(codes.NotFound, "not leader"), want: eventstore.ErrUnavailable, transient: true},
		{name: "a server deadline is retried", call: func() error { return appendErr(client) }, err: status.Error(codes.DeadlineExceeded, "slow"), want: eventstore.ErrUnavailable, transient: true},
		{name: "an aborted call is retried", call: func() error { return appendErr(client) }, err: status.Error(codes.Aborted, "aborted"), want: eventstore.ErrUnavailable, transient: true},
		{name: "a denied write is unavailable but not retried", call: func() error { return appendErr(client) }, err: status.Error(codes.PermissionDenied, "acl"), want: eventstore.ErrUnavailable},
		{name: "an append over the server's size limit is invalid", call: func() error { return appendErr(client) }, err: status.Error(codes.InvalidArgument, "maximum append size exceeded"), want: eventstore.ErrInvalid},
		{name: "an internal server error has no contract meaning", call: func() error { return readErr(client) }, err: status.Error(codes.Internal, "bug"), want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.set(tt.notFound, tt.wrong, tt.trailer, tt.err)
			cause := tt.call()
			if cause == nil {
				t.Fatal("the client call succeeded; want an error")
			}
			checkMapped(t, mapError(context.Background(), "op", cause), cause, tt.want, tt.transient)
		})
	}
}

func checkMapped(t *testing.T, got, cause, want error, transient bool) {
	t.Helper()
	sentinels := []error{eventstore.ErrConflict, eventstore.ErrUnavailable, eventstore.ErrUnsafeStream, eventstore.ErrInvalid, errNoStream}
	for _, s := range sentinels {
		if is := errors.Is(got, s); is != (s == want) {
			t.Errorf("errors.Is(%v, %v) = %v", got, s, is)
		}
	}
	if is := errors.Is(got, errTransient); is != transient {
		t.Errorf("transient = %v, want %v (error %v)", is, transient, got)
	}
	var clientErr *esdb.Error
	if errors.As(cause, &clientErr) && !errors.As(got, &clientErr) {
		t.Errorf("the mapped error %v hides the client's *esdb.Error", got)
	}
}

func TestMapErrorOfAClosedClient(t *testing.T) {
	_, client, _ := startFailingServer(t)
	client.Close()
	cause := readErr(client)
	got := mapError(context.Background(), "read", cause)
	checkMapped(t, got, cause, eventstore.ErrUnavailable, true)
	if !errors.Is(got, errClientClosed) {
		t.Errorf("mapError(%v) does not ask for a new client", got)
	}
}

func TestMapErrorOfAFailedDiscovery(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(lis.Addr().(*net.TCPAddr).Port)
	lis.Close() // nothing listens there any more
	conf, err := esdb.ParseConnectionString("esdb://127.0.0.1:" + port + "?tls=false&maxDiscoverAttempts=1&discoveryInterval=1")
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = func(esdb.LogLevel, string, ...any) {}
	client, err := esdb.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	cause := appendErr(client)
	checkMapped(t, mapError(context.Background(), "append", cause), cause, eventstore.ErrUnavailable, true)
	// The client has now shut itself down for good: the store must renew it.
	cause = appendErr(client)
	if got := mapError(context.Background(), "append", cause); !errors.Is(got, errClientClosed) {
		t.Errorf("after a failed discovery: %v, want a request for a new client", got)
	}
}

func TestMapErrorPrefersTheContextsEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cause, _ := esdb.FromError(status.Error(codes.Canceled, "canceled"))
	got := mapError(ctx, "subscribe", cause)
	if !errors.Is(got, context.Canceled) || errors.Is(got, errTransient) {
		t.Errorf("mapError after cancel = %v, want context.Canceled, not transient", got)
	}
}

func TestMapErrorOfNil(t *testing.T) {
	if got := mapError(context.Background(), "op", nil); got != nil {
		t.Errorf("mapError(nil) = %v, want nil", got)
	}
}

func TestMapErrorReadsAsASentence(t *testing.T) {
	cause := fmt.Errorf("wrapped: %w", status.Error(codes.Unavailable, "down"))
	got := mapError(context.Background(), "append", cause).Error()
	if want := "kurrentdb: append: eventstore: unavailable: wrapped: rpc error: code = Unavailable desc = down"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
