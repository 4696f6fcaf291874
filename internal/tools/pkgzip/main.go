package main

import (
	"archive/zip"
	"compress/flate"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// epoch is every entry's modification time: the earliest an MS-DOS date in a
// zip can say, so that it is plainly not a real time.
var epoch = time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pkgzip:", err)
		os.Exit(1)
	}
}

// entry is one file of the zip: where it is read from and its name inside.
type entry struct {
	src, name string
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("pkgzip", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "the zip to write (required)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pkgzip -o OUT.zip FILE[=NAME]...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		fs.Usage()
		return errors.New("need -o and at least one file")
	}
	entries, err := parseEntries(fs.Args())
	if err != nil {
		return err
	}
	return writeFile(*out, entries)
}

// parseEntries reads FILE[=NAME] arguments and checks that the names are
// relative, clean and distinct.
func parseEntries(args []string) ([]entry, error) {
	seen := map[string]string{}
	entries := make([]entry, 0, len(args))
	for _, a := range args {
		src, name, renamed := strings.Cut(a, "=")
		if !renamed {
			name = filepath.Base(src)
		}
		if src == "" || name == "" {
			return nil, fmt.Errorf("%q: want FILE or FILE=NAME", a)
		}
		if path.IsAbs(name) || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, `\`) {
			return nil, fmt.Errorf("%q: the name in the zip must be a clean relative path with forward slashes", name)
		}
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("%s and %s would both be stored as %q", prev, src, name)
		}
		seen[name] = src
		entries = append(entries, entry{src: src, name: name})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, nil
}

// writeFile writes the zip next to out and renames it into place, so that a
// failed run never leaves a truncated package that looks complete.
func writeFile(out string, entries []entry) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".pkgzip-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if err := writeZip(tmp, entries); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// writeZip writes entries, already sorted, as a deterministic zip. It
// compresses at the best level: the platform downloads the package on every
// cold start, and the extra build time is paid once.
func writeZip(w io.Writer, entries []entry) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	for _, e := range entries {
		if err := addFile(zw, e); err != nil {
			return err
		}
	}
	return zw.Close()
}

func addFile(zw *zip.Writer, e entry) error {
	f, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", e.src)
	}
	mode := os.FileMode(0o644)
	if st.Mode().Perm()&0o100 != 0 {
		mode = 0o755
	}
	h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: epoch}
	h.SetMode(mode)
	dst, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, f); err != nil {
		return fmt.Errorf("%s: %w", e.src, err)
	}
	return nil
}
