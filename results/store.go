package results

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
)

// ApplicationID marks a SQLite file as a kalm results database
// (PRAGMA application_id, the bytes "kalm").
const ApplicationID = 0x6b616c6d

// Store is the results database: one SQLite file in WAL mode.
type Store struct {
	db   *sql.DB
	path string
}

// ErrForeign is returned by Open for a SQLite file that another program made.
var ErrForeign = errors.New("not a kalm results database")

// ErrCorrupt is returned by Open for a file that is not a readable SQLite database.
var ErrCorrupt = errors.New("corrupted or not a SQLite database")

// Open opens or creates the results database at path and brings its schema
// up to date. A file that is not SQLite, is damaged, or is some other
// program's SQLite database is refused with an error naming it; nothing in
// it is changed.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("results database %s: %w", path, err)
	}
	fresh := true
	if fi, err := os.Stat(path); err == nil {
		fresh = fi.Size() == 0
		if fi.IsDir() {
			return nil, fmt.Errorf("results database %s: is a directory", path)
		}
	}
	if !fresh {
		if err := checkHeader(path); err != nil {
			return nil, err
		}
	}
	if !fresh {
		// Look before touching: a read-only connection cannot change a
		// foreign file (not even its journal mode).
		ro, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
		if err != nil {
			return nil, fmt.Errorf("results database %s: %w", path, err)
		}
		err = (&Store{db: ro, path: path}).check(ctx, fresh)
		ro.Close()
		if err != nil {
			return nil, err
		}
	}
	dsn := "file:" + path + "?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("results database %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, s.openErr(err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// checkHeader refuses files that do not start with the SQLite magic header,
// before the driver can touch them.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("results database %s: %w", path, err)
	}
	defer f.Close()
	head := make([]byte, 16)
	n, _ := f.Read(head)
	if n < 16 || string(head) != "SQLite format 3\x00" {
		return fmt.Errorf("results database %s: %w (no SQLite header); move it away or pass another --db", path, ErrCorrupt)
	}
	return nil
}

func (s *Store) check(ctx context.Context, fresh bool) error {
	var appID int64
	if err := s.db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return s.openErr(err)
	}
	var tables int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type='table'").Scan(&tables); err != nil {
		return s.openErr(err)
	}
	if appID != ApplicationID && !(appID == 0 && tables == 0) {
		return fmt.Errorf("results database %s: %w (application_id %#x, %d tables); move it away or pass another --db", s.path, ErrForeign, appID, tables)
	}
	if fresh || tables == 0 {
		return nil
	}
	var res string
	if err := s.db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res); err != nil {
		return s.openErr(err)
	}
	if res != "ok" {
		return fmt.Errorf("results database %s: %w: quick_check says %q", s.path, ErrCorrupt, res)
	}
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return s.openErr(err)
	}
	if v > len(migrations) {
		return fmt.Errorf("results database %s: schema version %d is newer than this kalm knows (%d); use a newer kalm", s.path, v, len(migrations))
	}
	return nil
}

func (s *Store) openErr(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrNotADB, sqlite3.ErrCorrupt:
			return fmt.Errorf("results database %s: %w: %v", s.path, ErrCorrupt, err)
		case sqlite3.ErrReadonly, sqlite3.ErrCantOpen, sqlite3.ErrPerm:
			return fmt.Errorf("results database %s: cannot write (is the directory read-only?): %w", s.path, err)
		case sqlite3.ErrFull:
			return fmt.Errorf("results database %s: the disk is full: %w", s.path, err)
		}
	}
	return fmt.Errorf("results database %s: %w", s.path, err)
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB exposes the database for read-only queries by reports and tests.
func (s *Store) DB() *sql.DB { return s.db }

// tx runs f in one immediate transaction.
func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.openErr(err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return s.openErr(err)
	}
	if err := tx.Commit(); err != nil {
		return s.openErr(err)
	}
	return nil
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// migrations are applied in order; PRAGMA user_version counts those applied.
// Never edit one that has shipped: append a new one.
var migrations = []string{
	// 1: the initial schema.
	`PRAGMA application_id = ` + fmt.Sprint(ApplicationID) + `;
CREATE TABLE experiments (
	id            TEXT PRIMARY KEY,  -- hash of the resolved configuration
	name          TEXT NOT NULL,
	source        TEXT NOT NULL,     -- file path or shipped:NAME
	config_given  TEXT NOT NULL,     -- the file as written
	config        TEXT NOT NULL,     -- resolved configuration, canonical JSON
	kalm_version  TEXT NOT NULL,
	host          TEXT NOT NULL,
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL
) STRICT;
CREATE INDEX experiments_name ON experiments(name, updated_at);
CREATE TABLE environment (
	experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
	key           TEXT NOT NULL,
	value         TEXT NOT NULL,
	PRIMARY KEY (experiment_id, key)
) STRICT;
CREATE TABLE stages (
	key            TEXT PRIMARY KEY,
	kind           TEXT NOT NULL,     -- collect, ground, imagine, train, evaluate
	plugin         TEXT NOT NULL,
	plugin_version TEXT NOT NULL,
	config         TEXT NOT NULL,     -- JSON
	inputs         TEXT NOT NULL,     -- JSON list of stage keys
	seed           INTEGER NOT NULL,
	status         TEXT NOT NULL DEFAULT 'pending', -- pending, running, done, failed, interrupted
	attempts       INTEGER NOT NULL DEFAULT 0,
	error          TEXT NOT NULL DEFAULT '',
	log_tail       TEXT NOT NULL DEFAULT '',
	started_at     TEXT NOT NULL DEFAULT '',
	finished_at    TEXT NOT NULL DEFAULT '',
	seconds        REAL NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE cells (
	experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
	id            TEXT NOT NULL,     -- group and seed
	grp           TEXT NOT NULL,
	params        TEXT NOT NULL,     -- JSON object: axis key → value
	seed          INTEGER NOT NULL,
	PRIMARY KEY (experiment_id, id)
) STRICT;
CREATE TABLE cell_stages (
	experiment_id TEXT NOT NULL,
	cell_id       TEXT NOT NULL,
	kind          TEXT NOT NULL,
	stage_key     TEXT NOT NULL REFERENCES stages(key),
	PRIMARY KEY (experiment_id, cell_id, kind),
	FOREIGN KEY (experiment_id, cell_id) REFERENCES cells(experiment_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX cell_stages_stage ON cell_stages(stage_key);
CREATE TABLE artifacts (
	stage_key  TEXT PRIMARY KEY REFERENCES stages(key),
	path       TEXT NOT NULL,        -- relative to the work directory
	bytes      INTEGER NOT NULL,
	files      INTEGER NOT NULL,
	created_at TEXT NOT NULL
) STRICT;
CREATE TABLE plugins (
	kind     TEXT NOT NULL,
	name     TEXT NOT NULL,
	version  TEXT NOT NULL,
	checksum TEXT NOT NULL,
	path     TEXT NOT NULL,
	PRIMARY KEY (kind, name, version, checksum)
) STRICT;
CREATE TABLE metrics (
	stage_key TEXT NOT NULL REFERENCES stages(key),
	step      INTEGER NOT NULL,
	name      TEXT NOT NULL,
	value     REAL NOT NULL,
	PRIMARY KEY (stage_key, name, step)
) STRICT;
CREATE TABLE evaluations (
	stage_key    TEXT NOT NULL REFERENCES stages(key),
	checkpoint   INTEGER NOT NULL,   -- training step of the checkpoint
	level        TEXT NOT NULL,
	episodes     INTEGER NOT NULL,
	success_rate REAL NOT NULL,
	mean_return  REAL NOT NULL,
	PRIMARY KEY (stage_key, checkpoint, level)
) STRICT;`,
	// 2: which process runs a stage ("host:pid"), so that a run sharing the
	// database marks only the stages of dead processes interrupted.
	`ALTER TABLE stages ADD COLUMN owner TEXT NOT NULL DEFAULT ''`,
	// 3: the KALM_* variables and --set flags a run was given, so that runs
	// of one experiment file are told apart and can be planned again; and
	// facts about the database itself (the work directory its artifacts
	// are in).
	`ALTER TABLE experiments ADD COLUMN overrides TEXT NOT NULL DEFAULT '[]';
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT`,
	// 4: the batch job that runs or ran a stage (a Slurm job id) and the
	// state the host last saw of it, for kalm ls.
	`ALTER TABLE stages ADD COLUMN job TEXT NOT NULL DEFAULT '';
ALTER TABLE stages ADD COLUMN job_state TEXT NOT NULL DEFAULT ''`,
}

func (s *Store) migrate(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return s.openErr(err)
	}
	for i := v; i < len(migrations); i++ {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			for _, stmt := range strings.Split(migrations[i], ";\n") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("migration %d: %w", i+1, err)
				}
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
