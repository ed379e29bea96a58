package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kalm-go/kalm/experiments"
	"github.com/mattn/go-isatty"
	"golang.org/x/sys/unix"
)

// Display shows the progress of a run.
type Display interface {
	Start(st *experiments.Stage)
	Progress(st *experiments.Stage, step, total int, metrics map[string]float64)
	Finish(st *experiments.Stage, err error, took time.Duration)
	Close()
}

// NewDisplay returns a display on w: one redrawn bar per running stage when
// w is a terminal, plain log lines otherwise (CI logs, files, pipes).
func NewDisplay(w io.Writer) Display {
	if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		d := newTermDisplay(w, 150*time.Millisecond)
		d.width = func() int {
			ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
			if err != nil || ws.Col == 0 {
				return 100
			}
			return int(ws.Col)
		}
		return d
	}
	return &plainDisplay{w: w, last: map[string]int{}, lastAt: map[string]time.Time{}}
}

// Label names a stage for people: kind, plugins and the cell that needs it.
func Label(st *experiments.Stage) string {
	var names []string
	for _, p := range st.Plugins {
		names = append(names, p.Name)
	}
	who := ""
	switch {
	case len(st.Cells) == 1:
		who = " (" + st.Cells[0] + ")"
	case len(st.Cells) > 1:
		who = fmt.Sprintf(" (%d cells)", len(st.Cells))
	}
	return fmt.Sprintf("%-8s %s%s %s", st.Kind, strings.Join(names, "+"), who, short(st.Key))
}

func formatMetrics(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%.4g", k, m[k])
	}
	return b.String()
}

// plainDisplay writes one line per start, finish and 10% of progress.
type plainDisplay struct {
	mu     sync.Mutex
	w      io.Writer
	last   map[string]int
	lastAt map[string]time.Time
}

func (d *plainDisplay) Start(st *experiments.Stage) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last[st.Key] = -1
	d.lastAt[st.Key] = time.Now()
	fmt.Fprintf(d.w, "start  %s\n", Label(st))
}

func (d *plainDisplay) Progress(st *experiments.Stage, step, total int, m map[string]float64) {
	if total <= 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	decile := step * 10 / total
	if decile <= d.last[st.Key] && time.Since(d.lastAt[st.Key]) < 30*time.Second {
		return
	}
	d.last[st.Key] = decile
	d.lastAt[st.Key] = time.Now()
	fmt.Fprintf(d.w, "       %s %d/%d%s\n", Label(st), step, total, formatMetrics(m))
}

func (d *plainDisplay) Finish(st *experiments.Stage, err error, took time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if errors.Is(err, ErrInterrupted) {
		fmt.Fprintf(d.w, "interrupted %s after %s\n", Label(st), took.Round(time.Millisecond))
		return
	}
	if err != nil {
		fmt.Fprintf(d.w, "FAILED %s: %s\n", Label(st), firstLine(err.Error()))
		return
	}
	fmt.Fprintf(d.w, "done   %s in %s\n", Label(st), took.Round(time.Millisecond))
}

func (d *plainDisplay) Close() {}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// termDisplay redraws a block of bars, one per running stage, below the
// lines of finished stages.
type termDisplay struct {
	mu      sync.Mutex
	w       io.Writer
	bars    map[string]*bar
	order   []string
	pending []string
	drawn   int
	drawnAt time.Time
	dirty   bool
	width   func() int // terminal columns; nil means unlimited
	stop    chan struct{}
	done    chan struct{}
}

type bar struct {
	label       string
	step, total int
	metrics     map[string]float64
	start       time.Time
}

func newTermDisplay(w io.Writer, every time.Duration) *termDisplay {
	d := &termDisplay{w: w, bars: map[string]*bar{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				d.mu.Lock()
				// Redraw on news, and every second for the ETAs.
				if d.dirty || time.Since(d.drawnAt) >= time.Second {
					d.redraw()
				}
				d.mu.Unlock()
			case <-d.stop:
				return
			}
		}
	}()
	return d
}

func (d *termDisplay) Start(st *experiments.Stage) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.bars[st.Key] = &bar{label: Label(st), start: time.Now()}
	d.order = append(d.order, st.Key)
	d.dirty = true
}

func (d *termDisplay) Progress(st *experiments.Stage, step, total int, m map[string]float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b, ok := d.bars[st.Key]; ok {
		b.step, b.total = step, total
		if len(m) > 0 {
			b.metrics = m
		}
		d.dirty = true
	}
}

func (d *termDisplay) Finish(st *experiments.Stage, err error, took time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	label := Label(st)
	if b, ok := d.bars[st.Key]; ok {
		label = b.label
		if took == 0 {
			took = time.Since(b.start)
		}
	}
	delete(d.bars, st.Key)
	for i, k := range d.order {
		if k == st.Key {
			d.order = append(d.order[:i], d.order[i+1:]...)
			break
		}
	}
	if errors.Is(err, ErrInterrupted) {
		d.pending = append(d.pending, fmt.Sprintf("\x1b[33minterrupted\x1b[0m %s after %s", label, took.Round(time.Millisecond)))
	} else if err != nil {
		d.pending = append(d.pending, fmt.Sprintf("\x1b[31mFAILED\x1b[0m %s: %s", label, firstLine(err.Error())))
	} else {
		d.pending = append(d.pending, fmt.Sprintf("\x1b[32mdone\x1b[0m   %s in %s", label, took.Round(time.Millisecond)))
	}
	d.redraw()
}

func (d *termDisplay) redraw() {
	var b strings.Builder
	if d.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", d.drawn)
	}
	b.WriteString("\r\x1b[J")
	for _, p := range d.pending {
		b.WriteString(p)
		b.WriteString("\n")
	}
	d.pending = nil
	for _, k := range d.order {
		line := d.bars[k].render()
		if d.width != nil {
			// A wrapped line would break the cursor arithmetic of the redraw.
			if r := []rune(line); len(r) >= d.width() {
				line = string(r[:max(1, d.width()-1)])
			}
		}
		b.WriteString(line)
		b.WriteString("\n")
	}
	d.drawn = len(d.order)
	d.drawnAt = time.Now()
	d.dirty = false
	io.WriteString(d.w, b.String())
}

func (b *bar) render() string {
	const width = 24
	frac := 0.0
	if b.total > 0 {
		frac = min(1, float64(b.step)/float64(b.total))
	}
	n := int(frac * width)
	eta := "ETA ?"
	if frac > 0 && frac < 1 {
		el := time.Since(b.start)
		eta = "ETA " + time.Duration(float64(el)*(1-frac)/frac).Round(time.Second).String()
	}
	count := "starting"
	if b.total > 0 {
		count = fmt.Sprintf("%d/%d %s", b.step, b.total, eta)
	}
	return fmt.Sprintf("[%s%s] %s%s  %s", strings.Repeat("█", n), strings.Repeat("░", width-n), count, formatMetrics(b.metrics), b.label)
}

func (d *termDisplay) Close() {
	select {
	case <-d.stop:
		return
	default:
	}
	close(d.stop)
	<-d.done
	d.mu.Lock()
	d.redraw()
	d.mu.Unlock()
}
