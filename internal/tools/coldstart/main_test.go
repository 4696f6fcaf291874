package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fakeDist builds testdata/fakefn and lays it out as `make package` would,
// once under each name it answers to.
func fakeDist(t *testing.T) string {
	t.Helper()
	dist := t.TempDir()
	bin := filepath.Join(dist, "fakefn")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/fakefn")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build fakefn: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ok", "fails", "dies"} {
		if err := os.MkdirAll(filepath.Join(dist, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dist, name, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dist, "ok.zip"), make([]byte, 1234), 0o644); err != nil {
		t.Fatal(err)
	}
	return dist
}

func TestMeasureTimesColdStartsAndReadsPeakMemory(t *testing.T) {
	dist := fakeDist(t)
	r, err := measure("ok", dist, []byte(`{}`), nil, 3, 2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.cold) != 3 || len(r.warm) != 6 {
		t.Fatalf("%d cold and %d warm times, want 3 and 6", len(r.cold), len(r.warm))
	}
	for _, d := range append(r.cold, r.warm...) {
		if d <= 0 || d > 10*time.Second {
			t.Errorf("a time of %v", d)
		}
	}
	if r.zipSize != 1234 {
		t.Errorf("zip size %d, want 1234", r.zipSize)
	}
	st, _ := os.Stat(filepath.Join(dist, "ok", "ok"))
	if r.binary != st.Size() {
		t.Errorf("binary size %d, want %d", r.binary, st.Size())
	}
	if runtime.GOOS == "linux" {
		if r.peakRSSKiB < 32<<10 {
			t.Errorf("peak RSS %d KiB, but the function touched 32 MiB", r.peakRSSKiB)
		}
		// Touching 32 MiB takes CPU; the process cannot have used more
		// than the wall-clock time on every CPU.
		if len(r.cpu) != 3 {
			t.Fatalf("%d CPU times, want 3", len(r.cpu))
		}
		for i, c := range r.cpu {
			if c <= 0 || c > r.cold[i]*time.Duration(runtime.NumCPU()) {
				t.Errorf("run %d: %v of CPU in %v on %d CPUs", i, c, r.cold[i], runtime.NumCPU())
			}
		}
	}
}

func TestMeasureFailsOnAnErrorAnswer(t *testing.T) {
	_, err := measure("fails", fakeDist(t), []byte(`{}`), nil, 1, 0, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want the function's error message", err)
	}
}

func TestMeasureFailsWhenTheProcessExits(t *testing.T) {
	start := time.Now()
	_, err := measure("dies", fakeDist(t), []byte(`{}`), nil, 1, 0, 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "dying on purpose") {
		t.Fatalf("err = %v, want one saying it exited, with its output", err)
	}
	if time.Since(start) > 15*time.Second {
		t.Error("waited for the timeout instead of noticing the exit")
	}
}

func TestRunReportsEveryFunction(t *testing.T) {
	dist := fakeDist(t)
	event := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(event, []byte(`{"any":"thing"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"-dist", dist, "-n", "2", "-warm", "1", "-event", event, "ok"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| ok | 0.0 MiB |") || !strings.Contains(out.String(), "2 cold starts per function") {
		t.Errorf("report:\n%s", out.String())
	}

	err := run([]string{"-dist", dist, "nosuch"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no first invocation") {
		t.Errorf("an unknown function without -event: err = %v", err)
	}
	err = run([]string{"-dist", t.TempDir(), "provision"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "make package") {
		t.Errorf("nothing built: err = %v, want it to say to run make package", err)
	}
}

func TestFirstEventsAreTheFunctionsOwnShapes(t *testing.T) {
	for fn := range firstEvents {
		b, err := firstEvent(fn, "")
		if err != nil || len(b) == 0 || b[0] != '{' {
			t.Errorf("%s: %q, %v", fn, b, err)
		}
	}
}

// With -floor, the floor binary is timed in the same run as the functions
// and each function's median is reported against the floor's.
func TestFloorIsTimedBesideTheFunctions(t *testing.T) {
	dist := fakeDist(t)
	var out, errs bytes.Buffer
	err := run([]string{"-dist", dist, "-n", "2", "-warm", "0", "-event", filepath.Join(dist, "ok.zip"),
		"-floor", filepath.Join(dist, "ok", "ok"), "ok"}, &out, &errs)
	if err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	rows := 0
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "| ok |") || strings.HasPrefix(line, "| "+floorName+" |") {
			rows++
			if !strings.HasSuffix(line, "x |") {
				t.Errorf("row without a ratio to the floor: %s", line)
			}
		}
	}
	if rows != 2 {
		t.Fatalf("report has %d of the function's and the floor's rows, want 2:\n%s", rows, out.String())
	}
}
