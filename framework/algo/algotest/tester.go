package algotest

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// tester is a testing.TB that can run subtests. The suite runs over
// *testing.T in real use and over a recorder when it checks itself.
type tester interface {
	testing.TB
	run(name string, f func(tester)) bool
}

// realT adapts *testing.T.
type realT struct{ *testing.T }

func (t realT) run(name string, f func(tester)) bool {
	return t.T.Run(name, func(t *testing.T) { f(realT{t}) })
}

// recorder is a tester that records failures instead of reporting them, so
// a test can assert that a broken env fails the checks it should. It embeds
// the parent testing.TB for everything it does not override (TempDir,
// Cleanup, Context, Helper).
type recorder struct {
	testing.TB
	name   string
	report *report

	mu     sync.Mutex
	failed bool
}

// report collects the outcome of every (sub)test a recorder ran.
type report struct {
	mu     sync.Mutex
	failed map[string][]string // name → messages; present iff the test failed
	ran    []string
}

func newRecorder(parent testing.TB) (*recorder, *report) {
	rep := &report{failed: map[string][]string{}}
	return &recorder{TB: parent, report: rep}, rep
}

func (r *recorder) logf(format string, args ...any) {
	r.report.mu.Lock()
	defer r.report.mu.Unlock()
	r.report.failed[r.name] = append(r.report.failed[r.name], fmt.Sprintf(format, args...))
}

func (r *recorder) markFailed() {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	r.report.mu.Lock()
	if _, ok := r.report.failed[r.name]; !ok {
		r.report.failed[r.name] = nil
	}
	r.report.mu.Unlock()
}

func (r *recorder) Name() string                    { return r.name }
func (r *recorder) Log(args ...any)                 {}
func (r *recorder) Logf(format string, args ...any) {}
func (r *recorder) Error(args ...any)               { r.markFailed(); r.logf("%s", fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, args ...any) {
	r.markFailed()
	r.logf(format, args...)
}
func (r *recorder) Fatal(args ...any) { r.Error(args...); runtime.Goexit() }
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fail()    { r.markFailed() }
func (r *recorder) FailNow() { r.markFailed(); runtime.Goexit() }
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}
func (r *recorder) Skip(args ...any)                 { runtime.Goexit() }
func (r *recorder) Skipf(format string, args ...any) { runtime.Goexit() }
func (r *recorder) SkipNow()                         { runtime.Goexit() }

// run runs f as a subtest in its own goroutine, as testing does, so that
// Fatal ends only the subtest. A panic in f is recorded as a failure.
func (r *recorder) run(name string, f func(tester)) bool {
	child := &recorder{TB: r.TB, name: strings.TrimPrefix(r.name+"/"+name, "/"), report: r.report}
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
func (rep *report) Failed(name string) bool {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	_, ok := rep.failed[name]
	return ok
}

// Messages returns the failure messages of the test called name.
func (rep *report) Messages(name string) []string {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	return rep.failed[name]
}
