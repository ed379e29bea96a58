package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"runtime/debug"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ProtocolVersion is the version of kalm's plugin protocol (kalm.proto). A
// host refuses plugins built for another version. Version 3 made an env's
// render and plausibility optional and its plausibility named shares.
const ProtocolVersion = 3

// Handshake is the go-plugin handshake every kalm plugin and host uses. The
// cookie only keeps a plugin binary from being run by hand by mistake.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "KALM_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "b7c1a9e24f3d86a0kalm",
}

// Kind is a plugin kind.
type Kind string

const (
	Env  Kind = "env"
	LM   Kind = "lm"
	Algo Kind = "algo"
)

// Kinds lists the plugin kinds.
var Kinds = []Kind{Env, LM, Algo}

// MaxMessageSize is the gRPC message cap both sides use (gRPC's default of
// 4 MiB is too small for large batches).
const MaxMessageSize = 256 << 20

// Description is what a plugin says of itself, as JSON, when run with the
// `describe` argument.
type Description struct {
	Name            string   `json:"name"`
	Kind            Kind     `json:"kind"`
	Version         string   `json:"version"`
	ProtocolVersion int      `json:"protocol_version"`
	Capabilities    []string `json:"capabilities"`
}

// Option configures Serve.
type Option func(*config)

type config struct {
	name, version string
	args          []string
	stdout        io.Writer
}

// WithName sets the plugin's name; by default it is the env's spec name, the
// algorithm's schema name or the binary's name.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithVersion sets the plugin's version; by default it is the main module's
// version from the build info, or "devel".
func WithVersion(v string) Option { return func(c *config) { c.version = v } }

// WithArgs sets the command-line arguments Serve looks at for `describe`
// (default os.Args[1:]). The kalm binary uses it for its built-in plugins.
func WithArgs(args []string) Option { return func(c *config) { c.args = args } }

// Component is one kind's half of Serve: how to describe the
// implementation, and how to register it on a gRPC server.
type Component struct {
	Kind     Kind
	Describe func(ctx context.Context) (name string, capabilities []string, err error)
	Plugin   goplugin.Plugin
}

// Serve serves one plugin component. When the arguments end in "describe" it
// prints the Description as JSON to stdout and returns; otherwise it serves
// gRPC over go-plugin until the host goes away. Serve exits the process on a
// fatal error.
func Serve(c Component, opts ...Option) {
	cfg := config{args: os.Args[1:], stdout: os.Stdout}
	for _, o := range opts {
		o(&cfg)
	}
	if len(cfg.args) > 0 && cfg.args[len(cfg.args)-1] == "describe" {
		if err := describe(c, cfg); err != nil {
			fmt.Fprintf(os.Stderr, "describe: %v\n", err)
			os.Exit(1)
		}
		return
	}
	logger := hclog.New(&hclog.LoggerOptions{
		Name:       cfg.name,
		Level:      hclog.Info,
		Output:     os.Stderr,
		JSONFormat: true,
	})
	log.SetFlags(0)
	log.SetOutput(logger.StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true}))
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         goplugin.PluginSet{string(c.Kind): c.Plugin},
		GRPCServer:      NewServer,
		Logger:          logger,
	})
}

func describe(c Component, cfg config) error {
	name, caps, err := c.Describe(context.Background())
	if err != nil {
		return err
	}
	if cfg.name != "" {
		name = cfg.name
	}
	d := Description{Name: name, Kind: c.Kind, Version: cfg.version, ProtocolVersion: ProtocolVersion, Capabilities: caps}
	if d.Version == "" {
		d.Version = buildVersion()
	}
	if d.Capabilities == nil {
		d.Capabilities = []string{}
	}
	enc := json.NewEncoder(cfg.stdout)
	return enc.Encode(d)
}

// buildVersion is the main module's version, or "devel".
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// NewServer makes the gRPC server a plugin serves on: message caps raised to
// MaxMessageSize, and a panic in a call turned into an error for that call
// instead of a crash.
func NewServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts,
		grpc.MaxRecvMsgSize(MaxMessageSize),
		grpc.MaxSendMsgSize(MaxMessageSize),
		grpc.ChainUnaryInterceptor(recoverUnary),
		grpc.ChainStreamInterceptor(recoverStream),
	)
	return grpc.NewServer(opts...)
}

func recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("[ERROR] panic in %s: %v\n%s", info.FullMethod, r, debug.Stack())
			err = status.Errorf(codes.Internal, "plugin panicked in %s: %v", info.FullMethod, r)
		}
	}()
	return h(ctx, req)
}

func recoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("[ERROR] panic in %s: %v\n%s", info.FullMethod, r, debug.Stack())
			err = status.Errorf(codes.Internal, "plugin panicked in %s: %v", info.FullMethod, r)
		}
	}()
	return h(srv, ss)
}

// Error turns an error returned over gRPC back into a plain error carrying
// the plugin's message, so hosts see "collect: episodes = 0 ..." and not
// "rpc error: code = Unknown desc = ...". Transport failures keep their code.
func Error(err error) error {
	if err == nil {
		return nil
	}
	s, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch s.Code() {
	case codes.Unknown, codes.InvalidArgument, codes.Internal, codes.FailedPrecondition:
		return &RemoteError{Code: s.Code().String(), Msg: s.Message()}
	case codes.Canceled:
		return fmt.Errorf("%s: %w", s.Message(), context.Canceled)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w", s.Message(), context.DeadlineExceeded)
	case codes.Unavailable:
		return fmt.Errorf("plugin process is gone (%s): %w", s.Message(), ErrUnavailable)
	}
	return err
}

// Receive reads a plugin's event stream to its end: handle sees every event
// in turn and reports done once one carried the result. A stream that ends
// before that is an error naming op ("train", "collect"), and a failed
// receive is returned through Error.
func Receive[E any](op string, recv func() (E, error), handle func(E) (done bool, err error)) error {
	for {
		ev, err := recv()
		if err == io.EOF {
			return fmt.Errorf("%s: plugin ended the stream without a result", op)
		}
		if err != nil {
			return Error(err)
		}
		if done, err := handle(ev); done || err != nil {
			return err
		}
	}
}

// ErrUnavailable reports that the plugin process died or closed its connection.
var ErrUnavailable = errors.New("plugin unavailable")

// RemoteError is an error a plugin returned.
type RemoteError struct {
	Code string
	Msg  string
}

func (e *RemoteError) Error() string { return e.Msg }

// Status turns an implementation's error into a gRPC status for the wire.
func Status(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}
