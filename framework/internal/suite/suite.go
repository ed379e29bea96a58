// Package suite runs conformance suites as subtests over either a real
// *testing.T or a Recorder, which records failures instead of reporting them
// so that a suite can check that a deliberately broken implementation fails.
// envtest, algotest and lmtest share it.
package suite

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Tester is a testing.TB that can run subtests. A suite runs over
// *testing.T in real use and over a Recorder when it checks itself.
type Tester interface {
	testing.TB
	Run(name string, f func(Tester)) bool
}

// T adapts *testing.T.
type T struct{ *testing.T }

// Run runs f as a subtest of t.
func (t T) Run(name string, f func(Tester)) bool {
	return t.T.Run(name, func(t *testing.T) { f(T{t}) })
}

// Recorder is a Tester that records failures instead of reporting them, so
// a test can assert that a broken env fails the checks it should. It embeds
// the parent testing.TB for everything it does not override (TempDir,
// Cleanup, Context, Helper).
type Recorder struct {
	testing.TB
	name   string
	report *Report

	mu     sync.Mutex
	failed bool
}

// Report collects the outcome of every (sub)test a Recorder ran.
type Report struct {
	mu      sync.Mutex
	failed  map[string][]string // name → messages; present iff the test failed
	ran     []string
	skipped []string
}

// NewRecorder returns a Recorder under parent and the Report it fills.
func NewRecorder(parent testing.TB) (*Recorder, *Report) {
	rep := &Report{failed: map[string][]string{}}
	return &Recorder{TB: parent, report: rep}, rep
}

func (r *Recorder) logf(format string, args ...any) {
	r.report.mu.Lock()
	defer r.report.mu.Unlock()
	r.report.failed[r.name] = append(r.report.failed[r.name], fmt.Sprintf(format, args...))
}

func (r *Recorder) markFailed() {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	r.report.mu.Lock()
	if _, ok := r.report.failed[r.name]; !ok {
		r.report.failed[r.name] = nil
	}
	r.report.mu.Unlock()
}

func (r *Recorder) Name() string                    { return r.name }
func (r *Recorder) Log(args ...any)                 {}
func (r *Recorder) Logf(format string, args ...any) {}
func (r *Recorder) Error(args ...any)               { r.markFailed(); r.logf("%s", fmt.Sprint(args...)) }
func (r *Recorder) Errorf(format string, args ...any) {
	r.markFailed()
	r.logf(format, args...)
}
func (r *Recorder) Fatal(args ...any) { r.Error(args...); runtime.Goexit() }
func (r *Recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}
func (r *Recorder) Fail()    { r.markFailed() }
func (r *Recorder) FailNow() { r.markFailed(); runtime.Goexit() }
func (r *Recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}
func (r *Recorder) Skip(args ...any)                 { r.SkipNow() }
func (r *Recorder) Skipf(format string, args ...any) { r.SkipNow() }
func (r *Recorder) SkipNow() {
	r.report.mu.Lock()
	r.report.skipped = append(r.report.skipped, r.name)
	r.report.mu.Unlock()
	runtime.Goexit()
}

// Run runs f as a subtest in its own goroutine, as testing does, so that
// Fatal ends only the subtest. A panic in f is recorded as a failure.
func (r *Recorder) Run(name string, f func(Tester)) bool {
	child := &Recorder{TB: r.TB, name: strings.TrimPrefix(r.name+"/"+name, "/"), report: r.report}
	r.report.mu.Lock()
	r.report.ran = append(r.report.ran, child.name)
	r.report.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				child.Errorf("panic: %v", p)
			}
		}()
		f(child)
	}()
	<-done
	if child.Failed() {
		r.markFailed()
	}
	return !child.Failed()
}

// Failed reports whether the test called name failed.
func (rep *Report) Failed(name string) bool {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	_, ok := rep.failed[name]
	return ok
}

// Messages returns the failure messages of the test called name.
func (rep *Report) Messages(name string) []string {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	return rep.failed[name]
}

// Failures returns the failure messages by test name, for every test that failed.
func (rep *Report) Failures() map[string][]string {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	out := make(map[string][]string, len(rep.failed))
	for k, v := range rep.failed {
		out[k] = v
	}
	return out
}

// Skipped reports whether the test called name was skipped.
func (rep *Report) Skipped(name string) bool {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	return slices.Contains(rep.skipped, name)
}

// Ran returns the names of the tests run, in order.
func (rep *Report) Ran() []string {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	return append([]string(nil), rep.ran...)
}

// ErrPanic marks the error Call returns for a method that panicked.
var ErrPanic = errors.New("panicked")

// Call runs one method of the implementation under test and turns a panic
// into an error, so a panicking implementation fails its check instead of
// crashing the test binary.
func Call[R any](f func() (R, error)) (r R, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrPanic, p)
		}
	}()
	return f()
}

// Rejects checks that a call given bad input returns an error, without panicking.
func Rejects[R any](t Tester, what string, f func() (R, error)) {
	t.Helper()
	_, err := Call(f)
	switch {
	case err == nil:
		t.Errorf("%s returned no error", what)
	case errors.Is(err, ErrPanic):
		t.Errorf("%s panicked instead of returning an error: %v", what, err)
	}
}

// Once returns a suite's New: it calls launch when a check first asks for
// the implementation and hands every check that one, so that one plugin
// subprocess serves a whole suite. A launch error fails each check that
// asks, named by who (the suite's package).
func Once[T any](who string, launch func() (T, error)) func(tb testing.TB) T {
	var (
		once sync.Once
		impl T
		err  error
	)
	return func(tb testing.TB) T {
		once.Do(func() { impl, err = launch() })
		if err != nil {
			tb.Fatalf("%s: launch: %v", who, err)
		}
		return impl
	}
}
