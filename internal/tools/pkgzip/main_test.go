package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeTestFile(t *testing.T, dir, name, content string, mode os.FileMode, mtime time.Time) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // the umask may have cut it
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSameInputGivesSameBytesWhateverTheFileTimes(t *testing.T) {
	dir := t.TempDir()
	bin := writeTestFile(t, dir, "provision", strings.Repeat("\x7fELF binary ", 1000), 0o755, time.Now())
	cfg := writeTestFile(t, dir, "config.json", `{"a":1}`, 0o600, time.Now())
	out1 := filepath.Join(dir, "out", "a.zip")
	if err := run([]string{"-o", out1, bin, cfg}, io.Discard); err != nil {
		t.Fatal(err)
	}

	// Another build: newer times, arguments in another order.
	later := time.Now().Add(48 * time.Hour)
	for _, p := range []string{bin, cfg} {
		if err := os.Chtimes(p, later, later); err != nil {
			t.Fatal(err)
		}
	}
	out2 := filepath.Join(dir, "out", "b.zip")
	if err := run([]string{"-o", out2, cfg, bin}, io.Discard); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out1)
	b, _ := os.ReadFile(out2)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("two runs over the same content differ (%d and %d bytes)", len(a), len(b))
	}
}

func TestEntriesAreSortedWithFixedTimeAndMode(t *testing.T) {
	dir := t.TempDir()
	bin := writeTestFile(t, dir, "provision", "binary", 0o700, time.Now())
	data := writeTestFile(t, dir, "data.txt", "text", 0o666, time.Now())
	out := filepath.Join(dir, "p.zip")
	if err := run([]string{"-o", out, bin + "=bootstrap", data}, io.Discard); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	want := []struct {
		name, content string
		mode          os.FileMode
	}{
		{"bootstrap", "binary", 0o755},
		{"data.txt", "text", 0o644},
	}
	if len(zr.File) != len(want) {
		t.Fatalf("zip holds %d entries, want %d", len(zr.File), len(want))
	}
	for i, f := range zr.File {
		w := want[i]
		if f.Name != w.name {
			t.Errorf("entry %d is %q, want %q (sorted by name)", i, f.Name, w.name)
		}
		if f.Mode() != w.mode {
			t.Errorf("%s: mode %v, want %v", f.Name, f.Mode(), w.mode)
		}
		if !f.Modified.Equal(epoch) {
			t.Errorf("%s: modified %v, want %v", f.Name, f.Modified, epoch)
		}
		if f.Method != zip.Deflate {
			t.Errorf("%s: method %d, want deflate", f.Name, f.Method)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != w.content {
			t.Errorf("%s holds %q (%v), want %q", f.Name, got, err, w.content)
		}
	}
}

func TestRefusesWhatWouldMakeABadPackage(t *testing.T) {
	dir := t.TempDir()
	bin := writeTestFile(t, dir, "provision", "binary", 0o755, time.Now())
	other := filepath.Join(dir, "sub")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	twin := writeTestFile(t, other, "provision", "another", 0o755, time.Now())
	out := filepath.Join(dir, "p.zip")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no output", []string{bin}, "need -o"},
		{"no files", []string{"-o", out}, "need -o"},
		{"two files under one name", []string{"-o", out, bin, twin}, "both be stored"},
		{"a name climbing out", []string{"-o", out, bin + "=../bootstrap"}, "clean relative path"},
		{"an absolute name", []string{"-o", out, bin + "=/bootstrap"}, "clean relative path"},
		{"an empty name", []string{"-o", out, bin + "="}, "FILE=NAME"},
		{"a missing file", []string{"-o", out, filepath.Join(dir, "nope")}, "no such file"},
		{"a directory", []string{"-o", out, other}, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
			if _, statErr := os.Stat(out); statErr == nil {
				t.Fatalf("a failed run left %s behind", out)
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".pkgzip-*"))
			if len(left) > 0 {
				t.Fatalf("a failed run left temporary files: %v", left)
			}
		})
	}
}

// A gzip on the PATH that answers with something else than a gzip member of
// the input fails the package; no zip is left where the package would be.
func TestAForeignGzipFailsThePackage(t *testing.T) {
	for name, script := range map[string]string{
		"not gzip":      "#!/bin/sh\ncat >/dev/null; echo not a gzip stream\n",
		"another input": "#!/bin/sh\ncat >/dev/null; echo other | " + realGzip(t) + " -9 -n -c\n",
		"failing":       "#!/bin/sh\ncat >/dev/null; echo broken >&2; exit 3\n",
	} {
		t.Run(name, func(t *testing.T) {
			bin := t.TempDir()
			if err := os.WriteFile(filepath.Join(bin, "gzip"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", bin)
			dir := t.TempDir()
			src := writeTestFile(t, dir, "provision", strings.Repeat("\x7fELF binary ", 1000), 0o755, time.Now())
			out := filepath.Join(dir, "p.zip")
			err := run([]string{"-o", out, src}, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "gzip -9 -n") {
				t.Errorf("run = %v, want an error naming gzip -9 -n", err)
			}
			if _, statErr := os.Stat(out); statErr == nil {
				t.Errorf("%s was written", out)
			}
		})
	}
}

// The package is compressed tighter than compress/flate's best level does,
// and unpacks to the same bytes. The test binary itself is the input: a Go
// binary, like the functions.
func TestPackageIsTighterThanFlateBest(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	var best bytes.Buffer
	fw, _ := flate.NewWriter(&best, flate.BestCompression)
	fw.Write(data)
	fw.Close()
	out := filepath.Join(t.TempDir(), "p.zip")
	if err := run([]string{"-o", out, self + "=bin"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f := zr.File[0]
	if f.CompressedSize64 >= uint64(best.Len()) {
		t.Errorf("the entry takes %d bytes compressed, compress/flate's best %d: want fewer", f.CompressedSize64, best.Len())
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	back, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(back, data) {
		t.Errorf("the entry unpacks to %d bytes (%v), want the %d of the input", len(back), err, len(data))
	}
}

func realGzip(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("gzip")
	if err != nil {
		t.Fatal(err)
	}
	return p
}
