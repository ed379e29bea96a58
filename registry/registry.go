package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kalm-go/kalm/framework/plugin"
)

// Prefix is the file-name prefix of external plugin binaries.
const Prefix = "kalm-plugin-"

// Plugin is a plugin the registry knows: where it is and what it says of itself.
type Plugin struct {
	plugin.Description
	// Path is the binary: an external plugin's file, or the kalm binary for a built-in.
	Path string `json:"path"`
	// Args are the arguments that make Path serve the plugin.
	Args []string `json:"args,omitempty"`
	// Builtin reports whether the kalm binary itself serves the plugin.
	Builtin bool `json:"builtin"`
}

// Config configures a Registry.
type Config struct {
	// Dirs are the directories searched for kalm-plugin-* binaries, in order.
	Dirs []string
	// Self is the command that serves built-ins: Self + ["plugin", "serve", NAME].
	// Empty means no built-ins.
	Self []string
	// Builtins names the plugins Self serves.
	Builtins []string
	// Pins maps plugin names to the SHA-256 (hex) their binary must have.
	Pins map[string]string
	// Threads is the number of BLAS/Go threads each plugin may use (default 1).
	Threads int
	// Stderr, if set, receives every plugin's log lines as they come.
	Stderr io.Writer
	// StartTimeout bounds a plugin's start-up and describe (default 30 s).
	StartTimeout time.Duration
	// Unavailable names built-ins this build of kalm lacks, each with what it
	// needs (e.g. a library to install); Find reports it.
	Unavailable map[string]string
}

// DefaultDirs returns the plugin path: flagDirs, then $KALM_PLUGIN_PATH, then ~/.kalm/plugins.
func DefaultDirs(flagDirs []string) []string {
	dirs := append([]string(nil), flagDirs...)
	for _, d := range filepath.SplitList(os.Getenv("KALM_PLUGIN_PATH")) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".kalm", "plugins"))
	}
	return dirs
}

// Registry finds and launches plugins. It is safe for concurrent use.
type Registry struct {
	cfg Config

	mu        sync.Mutex
	described map[string]*Plugin // by binary path + args
	running   map[*Instance]struct{}
}

// New returns a registry.
func New(cfg Config) *Registry {
	if cfg.Threads <= 0 {
		cfg.Threads = 1
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	return &Registry{cfg: cfg, described: map[string]*Plugin{}, running: map[*Instance]struct{}{}}
}

// ErrNotInstalled reports a plugin that is neither built in nor on the plugin path.
var ErrNotInstalled = errors.New("not installed")

// candidate is a binary that may serve a plugin.
type candidate struct {
	name    string
	path    string
	args    []string
	builtin bool
}

func (r *Registry) candidates() []candidate {
	var out []candidate
	seen := map[string]bool{}
	for _, dir := range r.cfg.Dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(e.Name(), Prefix)
			if !ok || e.IsDir() || name == "" || seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, candidate{name: name, path: filepath.Join(dir, e.Name())})
		}
	}
	if len(r.cfg.Self) > 0 {
		for _, name := range r.cfg.Builtins {
			if seen[name] {
				continue
			}
			seen[name] = true
			args := append(append([]string(nil), r.cfg.Self[1:]...), "plugin", "serve", name)
			out = append(out, candidate{name: name, path: r.cfg.Self[0], args: args, builtin: true})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Names lists the names of all plugins found, without starting any.
func (r *Registry) Names() []string {
	var names []string
	for _, c := range r.candidates() {
		names = append(names, c.name)
	}
	return names
}

// List describes every plugin found. A plugin that fails to describe itself
// is reported in the returned error but does not hide the others.
func (r *Registry) List(ctx context.Context) ([]*Plugin, error) {
	var out []*Plugin
	var errs []error
	for _, c := range r.candidates() {
		p, err := r.describe(ctx, c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

// Find describes the plugin called name.
func (r *Registry) Find(ctx context.Context, name string) (*Plugin, error) {
	for _, c := range r.candidates() {
		if c.name == name {
			return r.describe(ctx, c)
		}
	}
	if why, ok := r.cfg.Unavailable[name]; ok {
		return nil, fmt.Errorf("plugin %s is %w: this kalm was built without it (%s)", name, ErrNotInstalled, why)
	}
	return nil, fmt.Errorf("plugin %s is %w (searched built-ins and %s)", name, ErrNotInstalled, strings.Join(r.cfg.Dirs, ", "))
}

// describe runs `PLUGIN describe` and checks what it says.
func (r *Registry) describe(ctx context.Context, c candidate) (*Plugin, error) {
	key := c.path + "\x00" + strings.Join(c.args, "\x00")
	r.mu.Lock()
	if p, ok := r.described[key]; ok {
		r.mu.Unlock()
		return p, nil
	}
	r.mu.Unlock()

	if !c.builtin {
		if err := checkExecutable(c.path); err != nil {
			return nil, fmt.Errorf("plugin %s: %w", c.name, err)
		}
		if err := r.checkPin(c.name, c.path); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.StartTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.path, append(append([]string(nil), c.args...), "describe")...)
	cmd.Env = r.pluginEnv(r.cfg.Threads)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("plugin %s (%s): describe failed: %w%s", c.name, c.path, err, tail(stderr.String()))
	}
	var d plugin.Description
	if err := json.Unmarshal(stdout.Bytes(), &d); err != nil {
		return nil, fmt.Errorf("plugin %s (%s): describe printed %q, want the JSON description: %w", c.name, c.path, clip(stdout.String()), err)
	}
	if d.ProtocolVersion != plugin.ProtocolVersion {
		return nil, fmt.Errorf("plugin %s (%s) speaks kalm plugin protocol %d, this kalm speaks %d: rebuild the plugin against a matching kalm SDK",
			c.name, c.path, d.ProtocolVersion, plugin.ProtocolVersion)
	}
	if d.Name == "" {
		d.Name = c.name
	}
	if d.Name != c.name {
		return nil, fmt.Errorf("plugin binary %s describes itself as %q, want %q", c.path, d.Name, c.name)
	}
	if !validKind(d.Kind) {
		return nil, fmt.Errorf("plugin %s (%s): kind %q, want one of %v", c.name, c.path, d.Kind, plugin.Kinds)
	}
	p := &Plugin{Description: d, Path: c.path, Args: c.args, Builtin: c.builtin}
	r.mu.Lock()
	r.described[key] = p
	r.mu.Unlock()
	return p, nil
}

func validKind(k plugin.Kind) bool {
	for _, v := range plugin.Kinds {
		if k == v {
			return true
		}
	}
	return false
}

func checkExecutable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("binary %s: %w", path, err)
	}
	if st.Mode()&0o111 == 0 {
		return fmt.Errorf("binary %s is not executable (mode %v): chmod +x it", path, st.Mode().Perm())
	}
	return nil
}

// Checksum returns the SHA-256 of a file, in hex.
func Checksum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (r *Registry) checkPin(name, path string) error {
	want, ok := r.cfg.Pins[name]
	if !ok {
		return nil
	}
	got, err := Checksum(path)
	if err != nil {
		return fmt.Errorf("plugin %s: checksum: %w", name, err)
	}
	if !strings.EqualFold(got, want) {
		return fmt.Errorf("plugin %s (%s): SHA-256 %s does not match the pinned %s", name, path, got, want)
	}
	return nil
}

// pluginEnv is the environment every plugin process gets: the host's, with
// thread counts pinned so that plugins sharing the cores do not oversubscribe
// them, and OpenBLAS's AVX-512 kernels where the CPU has them.
func (r *Registry) pluginEnv(threads int) []string {
	t := strconv.Itoa(threads)
	set := map[string]string{
		"OPENBLAS_NUM_THREADS": t,
		"OMP_NUM_THREADS":      t,
		"MKL_NUM_THREADS":      t,
		"GOMAXPROCS":           t,
	}
	// Debian's OpenBLAS 0.3.21 does not know recent CPUs and falls back to
	// old kernels (SSE3 on a current Xeon); name the best it has.
	if core := coreType(); core != "" && os.Getenv("OPENBLAS_CORETYPE") == "" {
		set["OPENBLAS_CORETYPE"] = core
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; ok {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return "\n  plugin output:\n    " + strings.Join(lines, "\n    ")
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
