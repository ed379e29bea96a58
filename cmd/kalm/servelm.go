package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/kalm-go/kalm/experiments/runner"
	"github.com/kalm-go/kalm/framework/lm"
	"github.com/kalm-go/kalm/framework/lm/openaiapi"
	"github.com/kalm-go/kalm/plugins/tinylm"
)

// cmdServeLM serves a tinylm checkpoint through the OpenAI HTTP API.
func cmdServeLM(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("serve-lm", "[flags] CHECKPOINT|GROUND-STAGE-DIR|GROUND-STAGE-KEY", stdout)
	var wf workFlags
	wf.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (port 0: any free port)")
	model := fs.String("model", "tinylm", "the model id the API serves")
	keyEnv := fs.String("api-key-env", "", "environment variable holding the key clients must send (default: no key)")
	batch := fs.Int("batch", 64, "most predict and act queries gathered into one model call")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return badUsage(fs, "want one tinylm checkpoint, a ground stage's artifact directory, or its key (kalm plan shows the keys; a unique prefix will do)")
	}
	ckpt, err := servedCheckpoint(pos[0], wf.work)
	if err != nil {
		return err
	}
	key := ""
	if *keyEnv != "" {
		if key = os.Getenv(*keyEnv); key == "" {
			return fmt.Errorf("-api-key-env %s: the variable is not set", *keyEnv)
		}
	}
	m := tinylm.New()
	// Load the checkpoint now, so that a bad one fails here, not at the first request.
	if _, err := m.Encode(ctx, lm.EncodeRequest{Checkpoint: ckpt, Texts: []string{"ok"}}); err != nil {
		return err
	}
	srv := openaiapi.NewServer(openaiapi.ServerConfig{LM: m, Checkpoint: ckpt, Model: *model, APIKey: key, MaxBatch: *batch,
		Log: log.New(stderr, "serve-lm: ", log.LstdFlags)})
	defer srv.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "serving %s as model %q on http://%s/v1\n", ckpt, *model, ln.Addr())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx) // waits for the requests being answered
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-stopped
	return nil
}

// servedCheckpoint is the checkpoint ref names: the file itself, the
// checkpoint of a ground stage's artifact directory, or of the ground stage
// whose key ref is (or starts) in the work directory.
func servedCheckpoint(ref, work string) (string, error) {
	path := ref
	if _, err := os.Stat(ref); err != nil {
		dirs, _ := filepath.Glob(filepath.Join(work, "artifacts", "ground", ref+"*"))
		if len(dirs) != 1 {
			return "", fmt.Errorf("%s is no file, and %d ground stages of work directory %s have a key starting with it", ref, len(dirs), work)
		}
		path = dirs[0]
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return path, nil
	}
	var g runner.GroundArtifact
	if err := runner.ReadJSON(filepath.Join(path, "ground.json"), &g); err != nil {
		return "", fmt.Errorf("%s is a directory but not a ground stage's artifact: %w", path, err)
	}
	return filepath.Join(path, g.Checkpoint), nil
}
