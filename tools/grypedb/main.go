// Command grypedb writes a grype vulnerability database (schema v6: SQLite
// vulnerability.db plus import.json) from a directory of OSV entries, such as
// the Go vulnerability database a site imports for offline scanning.
//
//	grypedb build --osv DIR --out DBDIR
//
// The mapping from OSV to database rows is grype's own: each entry is put in
// a vunnel-style provider workspace (provider "govulndb", flat-file store,
// every entry wrapped in the envelope vunnel writes: schema URL, identifier,
// item) in a temporary directory, and grype's db.Build runs its OSV processor
// and v6 writer over it (grype/db/v6/build/transformers/osv: GO-* records
// become a vulnerability handle plus one affected-package handle per
// affected module, Go ranges, go-imports symbol qualifiers, withdrawn records
// marked rejected), then hydrates the database and writes import.json. No
// row is written by this program.
//
// DBDIR is what grype takes as GRYPE_DB_CACHE_DIR: the database lands in
// DBDIR/6/. The previous DBDIR/6 is replaced only when the new one is
// complete.
//
// Exit codes: 0 written; 2 usage, a missing or empty directory, an entry that
// is not a JSON object with an id, or no entry that gave an affected package
// (an empty database must never read as "no vulnerabilities"); 3 I/O or a
// failed build. A summary line goes to stderr; grype's own warnings (for
// example a record no OSV strategy claims) go to stderr too.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"

	iface "github.com/anchore/go-logger"
	logrusadapter "github.com/anchore/go-logger/adapter/logrus"
	"github.com/anchore/grype/grype"
	grypedb "github.com/anchore/grype/grype/db"
	"github.com/anchore/grype/grype/db/provider"
	v6 "github.com/anchore/grype/grype/db/v6"
)

const (
	providerName = "govulndb"
	// The schema of vunnel's provider workspace state (metadata.json).
	stateSchemaVersion = "1.0.3"
	stateSchemaURL     = "https://raw.githubusercontent.com/anchore/vunnel/main/schema/provider-workspace-state/schema-1.0.3.json"
	// The envelope schema selects grype's OSV processor (an "/osv/" segment,
	// major version 1); the version is the entry's own schema_version.
	osvSchemaURL = "https://raw.githubusercontent.com/anchore/vunnel/main/schema/vulnerability/osv/schema-%s.json"
)

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

type ioError struct{ err error }

func (e ioError) Error() string { return e.err.Error() }

func main() {
	code, err := run(os.Args[1:], os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "grypedb: %v\n", err)
	}
	os.Exit(code)
}

func run(args []string, stderr io.Writer) (int, error) {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "version") {
		fmt.Println(versionLine())
		return 0, nil
	}
	if len(args) == 0 || args[0] != "build" {
		return 2, usageError{"usage: grypedb build --osv DIR --out DBDIR"}
	}
	var osvDir, out string
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		flag, value, inline := strings.Cut(rest[i], "=")
		if !inline {
			if i+1 >= len(rest) {
				return 2, usageError{fmt.Sprintf("%s needs a value", flag)}
			}
			i++
			value = rest[i]
		}
		switch flag {
		case "--osv":
			osvDir = value
		case "--out":
			out = value
		default:
			return 2, usageError{fmt.Sprintf("unknown argument %q (usage: grypedb build --osv DIR --out DBDIR)", rest[i])}
		}
	}
	if osvDir == "" || out == "" {
		return 2, usageError{"usage: grypedb build --osv DIR --out DBDIR"}
	}
	err := build(osvDir, out, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ue):
		return 2, err
	default:
		return 3, err
	}
}

func versionLine() string {
	v := "grypedb"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/anchore/grype" {
				v += " (grype " + d.Version + ")"
			}
		}
	}
	return v
}

// entry is what this program reads of an OSV record: enough to name it and
// to date the provider state; everything else is grype's to interpret.
type entry struct {
	ID            string    `json:"id"`
	SchemaVersion string    `json:"schema_version"`
	Modified      time.Time `json:"modified"`
}

// entries lists DIR's top-level <ID>.json files, as govulncheck and the
// helper's matcher read the flat layout (db.json, modules.json and
// vulns.json are the index, not entries).
func entries(dir string) ([]string, error) {
	info, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usageError{fmt.Sprintf("--osv %s: no such directory", dir)}
		}
		return nil, ioError{err}
	}
	if !info.IsDir() {
		return nil, usageError{fmt.Sprintf("--osv %s: not a directory of OSV <ID>.json entries", dir)}
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, ioError{err}
	}
	var files []string
	for _, de := range des {
		n := de.Name()
		if !de.Type().IsRegular() || !strings.HasSuffix(n, ".json") || n == "db.json" || n == "modules.json" || n == "vulns.json" {
			continue
		}
		files = append(files, filepath.Join(dir, n))
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, usageError{fmt.Sprintf("--osv %s holds no OSV entries (<ID>.json): an empty database would report no vulnerabilities", dir)}
	}
	return files, nil
}

func build(osvDir, out string, stderr io.Writer) error {
	files, err := entries(osvDir)
	if err != nil {
		return err
	}
	lg, err := logrusadapter.New(logrusadapter.Config{EnableConsole: true, Level: iface.WarnLevel, Formatter: logrusadapter.DefaultTextFormatter()})
	if err != nil {
		return ioError{err}
	}
	grype.SetLogger(lg)

	if err := os.MkdirAll(out, 0o755); err != nil {
		return ioError{err}
	}
	work, err := os.MkdirTemp(out, ".grypedb-build-")
	if err != nil {
		return ioError{err}
	}
	defer os.RemoveAll(work)

	// The provider workspace: one envelope per entry.
	ws := provider.NewWorkspaceWriter(filepath.Join(work, "workspace"), providerName)
	var listing []provider.File
	var newest time.Time
	seen := map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return ioError{err}
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return usageError{fmt.Sprintf("%s: not an OSV entry: %v", f, err)}
		}
		if e.ID == "" {
			return usageError{fmt.Sprintf("%s: not an OSV entry: no id", f)}
		}
		if prev, dup := seen[strings.ToLower(e.ID)]; dup {
			return usageError{fmt.Sprintf("%s: id %s is also in %s", f, e.ID, prev)}
		}
		seen[strings.ToLower(e.ID)] = f
		if e.Modified.After(newest) {
			newest = e.Modified
		}
		sv := e.SchemaVersion
		if sv == "" {
			sv = "1.0.0"
		}
		envelope, err := json.Marshal(map[string]any{
			"schema":     fmt.Sprintf(osvSchemaURL, sv),
			"identifier": strings.ToLower(e.ID),
			"item":       json.RawMessage(raw),
		})
		if err != nil {
			return usageError{fmt.Sprintf("%s: %v", f, err)}
		}
		file, err := ws.WriteResult(safeName(e.ID)+".json", envelope)
		if err != nil {
			return ioError{err}
		}
		listing = append(listing, *file)
	}
	if err := ws.WriteListing(listing); err != nil {
		return ioError{err}
	}
	digest, err := provider.HashFileXXH64(ws.ListingPath())
	if err != nil {
		return ioError{err}
	}
	abs, _ := filepath.Abs(osvDir)
	// The provider's timestamp is the data's age (the newest entry), so the
	// same entries give the same provider record.
	if newest.IsZero() {
		newest = time.Unix(0, 0).UTC()
	}
	if err := ws.WriteState(provider.State{
		Provider:  providerName,
		Version:   1,
		Processor: versionLine(),
		Schema:    provider.Schema{Version: stateSchemaVersion, URL: stateSchemaURL},
		URLs:      []string{"file://" + abs},
		Timestamp: newest.UTC(),
		Listing:   &provider.File{Path: "results/listing.xxh64", Digest: digest, Algorithm: "xxh64"},
		Store:     "flat-file",
	}); err != nil {
		return ioError{err}
	}
	state, err := provider.ReadState(filepath.Join(ws.Path(), "metadata.json"))
	if err != nil {
		return ioError{err}
	}

	// grype's builder: processors, v6 writer, hydration, import.json.
	dbDir := filepath.Join(work, strconvModel())
	if err := grypedb.Build(grypedb.BuildConfig{
		SchemaVersion: v6.ModelVersion,
		Directory:     dbDir,
		States:        provider.States{*state},
		Timestamp:     newest.UTC(),
		Hydrate:       true,
	}); err != nil {
		return ioError{fmt.Errorf("grype's database build failed: %w", err)}
	}

	vulns, affected, err := counts(filepath.Join(dbDir, v6.VulnerabilityDBFileName))
	if err != nil {
		return ioError{err}
	}
	if affected == 0 {
		return usageError{fmt.Sprintf("--osv %s: none of its %d entries gave an affected package (grype's OSV transformer dropped them all): an empty database would report no vulnerabilities", osvDir, len(files))}
	}
	if _, err := os.Stat(filepath.Join(dbDir, "import.json")); err != nil {
		return ioError{fmt.Errorf("the build wrote no import.json: %w", err)}
	}

	final := filepath.Join(out, strconvModel())
	old := filepath.Join(work, "previous")
	if _, err := os.Stat(final); err == nil {
		if err := os.Rename(final, old); err != nil {
			return ioError{err}
		}
	}
	if err := os.Rename(dbDir, final); err != nil {
		return ioError{err}
	}
	fmt.Fprintf(stderr, "grypedb: %d OSV entries from %s: %d vulnerabilities, %d affected packages in %s\n",
		len(files), osvDir, vulns, affected, filepath.Join(final, v6.VulnerabilityDBFileName))
	return nil
}

func strconvModel() string { return fmt.Sprint(v6.ModelVersion) }

// safeName keeps an id usable as a file name (vunnel's rule: anything but
// [-._a-zA-Z0-9+] becomes '-').
func safeName(id string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_', r == '+':
			return r
		}
		return '-'
	}, strings.ToLower(id))
}

// counts reads back what the build wrote: vulnerability and affected-package rows.
func counts(path string) (vulns, affected int64, err error) {
	db, err := gorm.Open(sqlite.Open(path), &gorm.Config{Logger: gormlogger.Discard})
	if err != nil {
		return 0, 0, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return 0, 0, err
	}
	defer sqlDB.Close()
	if err := db.Table("vulnerability_handles").Count(&vulns).Error; err != nil {
		return 0, 0, err
	}
	if err := db.Table("affected_package_handles").Count(&affected).Error; err != nil {
		return 0, 0, err
	}
	return vulns, affected, nil
}
