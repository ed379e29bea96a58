package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/kalm-go/kalm/framework/algo"
	"github.com/kalm-go/kalm/framework/env"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/plugin"
)

// Instance is a running plugin process.
type Instance struct {
	Plugin *Plugin

	client *goplugin.Client
	raw    any
	logs   *ring
	reg    *Registry
	once   sync.Once
}

// Env returns the instance as an env.Env (with Configure and Collect).
func (in *Instance) Env() (*env.Client, error) {
	c, ok := in.raw.(*env.Client)
	if !ok {
		return nil, fmt.Errorf("plugin %s is a %s plugin, not an env", in.Plugin.Name, in.Plugin.Kind)
	}
	return c, nil
}

// Algo returns the instance as an algo.Algo.
func (in *Instance) Algo() (*algo.Client, error) {
	c, ok := in.raw.(*algo.Client)
	if !ok {
		return nil, fmt.Errorf("plugin %s is a %s plugin, not an algo", in.Plugin.Name, in.Plugin.Kind)
	}
	return c, nil
}

// LM returns the instance as an lm.LM.
func (in *Instance) LM() (*lm.Client, error) {
	c, ok := in.raw.(*lm.Client)
	if !ok {
		return nil, fmt.Errorf("plugin %s is a %s plugin, not an lm", in.Plugin.Name, in.Plugin.Kind)
	}
	return c, nil
}

// Logs returns the plugin's last log lines.
func (in *Instance) Logs() []string { return in.logs.lines() }

// Exited reports whether the plugin process has ended.
func (in *Instance) Exited() bool { return in.client.Exited() }

// Close stops the plugin process and waits for it.
func (in *Instance) Close() error {
	in.once.Do(func() {
		in.client.Kill()
		in.reg.mu.Lock()
		delete(in.reg.running, in)
		in.reg.mu.Unlock()
	})
	return nil
}

// LaunchOption adjusts one launch.
type LaunchOption func(*launchOptions)

type launchOptions struct {
	threads int
}

// WithThreads gives the launched plugin n threads instead of Config.Threads
// (n ≤ 0 keeps Config.Threads): an LM that grounds on every core while the
// other plugins keep one each.
func WithThreads(n int) LaunchOption {
	return func(o *launchOptions) { o.threads = n }
}

func (r *Registry) launchOptions(opts []LaunchOption) launchOptions {
	o := launchOptions{threads: r.cfg.Threads}
	for _, opt := range opts {
		opt(&o)
	}
	if o.threads <= 0 {
		o.threads = r.cfg.Threads
	}
	return o
}

// Launch starts the plugin called name, which must be of kind, and connects to it.
func (r *Registry) Launch(ctx context.Context, name string, kind plugin.Kind, opts ...LaunchOption) (*Instance, error) {
	o := r.launchOptions(opts)
	p, err := r.Find(ctx, name)
	if err != nil {
		return nil, err
	}
	if p.Kind != kind {
		return nil, fmt.Errorf("plugin %s is a %s plugin, want a %s plugin", name, p.Kind, kind)
	}
	if !p.Builtin {
		if err := r.checkPin(name, p.Path); err != nil {
			return nil, err
		}
	}
	logs := newRing(50)
	in := &Instance{Plugin: p, logs: logs, reg: r}
	var stderr io.Writer = logs
	if r.cfg.Stderr != nil {
		stderr = io.MultiWriter(logs, r.cfg.Stderr)
	}
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = r.pluginEnv(o.threads)
	setParentDeathSignal(cmd)
	set := goplugin.PluginSet{
		string(plugin.Env):  &env.Plugin{},
		string(plugin.Algo): &algo.Plugin{},
		string(plugin.LM):   &lm.Plugin{},
	}
	call := callErrors{in: in}
	in.client = goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  plugin.Handshake,
		Plugins:          set,
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Managed:          true,
		StartTimeout:     r.cfg.StartTimeout,
		Stderr:           stderr,
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "kalm", Level: hclog.Off}),
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(plugin.MaxMessageSize), grpc.MaxCallSendMsgSize(plugin.MaxMessageSize)),
			grpc.WithChainUnaryInterceptor(call.unary),
			grpc.WithChainStreamInterceptor(call.stream),
		},
	})
	r.mu.Lock()
	r.running[in] = struct{}{}
	r.mu.Unlock()
	rpc, err := in.client.Client()
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("plugin %s (%s): start: %w%s", name, p.Path, err, tail(strings.Join(logs.lines(), "\n")))
	}
	raw, err := rpc.Dispense(string(kind))
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("plugin %s: %w", name, err)
	}
	in.raw = raw
	return in, nil
}

// Close kills every plugin process the registry started that is still running.
func (r *Registry) Close() {
	r.mu.Lock()
	var all []*Instance
	for in := range r.running {
		all = append(all, in)
	}
	r.mu.Unlock()
	for _, in := range all {
		in.Close()
	}
}

// Cleanup kills every plugin process any registry started; call it (deferred)
// in main, and on a signal, so that no plugin outlives the host.
func Cleanup() { goplugin.CleanupClients() }

// CallError is an error from a call to a plugin: the plugin's own error, a
// deadline, or the process dying. It names the plugin, and carries the
// plugin's last log lines when the process is gone.
type CallError struct {
	Plugin string
	Method string
	Err    error
	Logs   []string
}

func (e *CallError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plugin %s: %s: %v", e.Plugin, e.Method, e.Err)
	if len(e.Logs) > 0 {
		b.WriteString("\n  last plugin log lines:\n    ")
		b.WriteString(strings.Join(e.Logs, "\n    "))
	}
	return b.String()
}

func (e *CallError) Unwrap() error { return e.Err }

// callErrors wraps every gRPC error of one plugin's connection in a CallError.
type callErrors struct{ in *Instance }

func (c callErrors) wrap(method string, err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	e := &CallError{Plugin: c.in.Plugin.Name, Method: method[strings.LastIndex(method, "/")+1:], Err: plugin.Error(err)}
	if errors.Is(e.Err, plugin.ErrUnavailable) {
		e.Logs = c.in.logs.lines()
	}
	return e
}

func (c callErrors) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return c.wrap(method, invoker(ctx, method, req, reply, cc, opts...))
}

func (c callErrors) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, c.wrap(method, err)
	}
	return &wrappedStream{ClientStream: s, c: c, method: method}, nil
}

type wrappedStream struct {
	grpc.ClientStream
	c      callErrors
	method string
}

func (s *wrappedStream) RecvMsg(m any) error { return s.c.wrap(s.method, s.ClientStream.RecvMsg(m)) }

// ring keeps the last n lines written to it, formatted for people.
type ring struct {
	mu      sync.Mutex
	n       int
	buf     []string
	partial []byte
}

func newRing(n int) *ring { return &ring{n: n} }

func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.partial = append(r.partial, p...)
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			break
		}
		line := string(r.partial[:i])
		r.partial = r.partial[i+1:]
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		r.buf = append(r.buf, humanize(line))
		if len(r.buf) > r.n {
			r.buf = r.buf[len(r.buf)-r.n:]
		}
	}
	return len(p), nil
}

func (r *ring) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.buf...)
	if len(r.partial) > 0 {
		out = append(out, string(r.partial))
	}
	return out
}

// humanize turns an hclog JSON line into "level: message k=v".
func humanize(line string) string {
	var m map[string]any
	if json.Unmarshal([]byte(line), &m) != nil {
		return line
	}
	msg, _ := m["@message"].(string)
	lvl, _ := m["@level"].(string)
	var b strings.Builder
	if lvl != "" {
		b.WriteString(lvl + ": ")
	}
	b.WriteString(msg)
	var keys []string
	for k := range m {
		if !strings.HasPrefix(k, "@") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, m[k])
	}
	return b.String()
}
