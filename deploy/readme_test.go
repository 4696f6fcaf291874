package deploy_test

// The tests in this file keep the README a newcomer's page and the pages
// under docs/ reachable: the README's picture names every package the module
// has (and none it no longer has), the README stays short, every relative
// link of the documents reaches a file and, for an anchor, a heading, every
// page under docs/ is linked from the README and from the docs index, no
// table has a row that breaks it, and the chat commands shown are the bot's.

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/vpngw/vpngw/internal/webhook"
)

// readmeMaxLines is how long the README may grow: past it, reference
// material belongs in a page under docs/.
const readmeMaxLines = 300

// readmePictureHeading is the heading of the README section whose first
// fenced block is the picture of the packages.
const readmePictureHeading = "## The picture"

// TestREADMEPictureNamesEveryPackage fails when a package is added, moved or
// removed and the README's picture is not redrawn.
func TestREADMEPictureNamesEveryPackage(t *testing.T) {
	root := shipRoot(t)
	pkgs := docPackages(t, root)
	readme := string(shipReadFile(t, root, "README.md"))
	picture, err := readmePicture(readme)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pictureProblems(picture, pkgs) {
		t.Errorf("README.md, %s: %s", readmePictureHeading, p)
	}
}

// The check above can fail: a picture that leaves a package out, names only
// a package's subpackage, or names a package that is gone is reported.
func TestPictureCheckCatchesMissingAndStalePackages(t *testing.T) {
	pkgs := []string{"events", "internal/store", "internal/store/sqlstore", "internal/app", "cmd/vpngwctl"}
	good := "events/ the contract\n internal/store  internal/store/sqlstore\n|internal/app|\ncmd/vpngwctl"
	if got := pictureProblems(good, pkgs); len(got) != 0 {
		t.Errorf("a picture naming every package is reported: %q", got)
	}
	bad := "eventsource\n internal/store/sqlstore internal/appx internal/localstack\ncmd/vpngwctl"
	got := strings.Join(pictureProblems(bad, pkgs), "\n")
	for _, want := range []string{
		"does not name events", "does not name internal/store\n", "does not name internal/app\n",
		"names internal/appx", "names internal/localstack",
	} {
		if !strings.Contains(got+"\n", want) {
			t.Errorf("the picture check says\n%s\nwant it to report %q", got, want)
		}
	}
	if strings.Contains(got, "cmd/vpngwctl") || strings.Contains(got, "name internal/store/sqlstore") {
		t.Errorf("the picture check reports a package the picture names:\n%s", got)
	}
}

func TestREADMEIsShort(t *testing.T) {
	readme := string(shipReadFile(t, shipRoot(t), "README.md"))
	if n := strings.Count(readme, "\n"); n > readmeMaxLines {
		t.Errorf("README.md has %d lines, more than %d: move reference material to a page under docs/ and link it", n, readmeMaxLines)
	}
}

// TestDocLinksResolve follows every relative link of the README, the pages
// under docs/ and the other READMEs: each must reach a file, and an anchor a
// heading of that file.
func TestDocLinksResolve(t *testing.T) {
	root := shipRoot(t)
	for _, doc := range docFiles(t, root) {
		for _, p := range linkProblems(root, doc, string(shipReadFile(t, root, doc))) {
			t.Errorf("%s: %s", doc, p)
		}
	}
}

// TestEveryDocsPageIsLinked: a page under docs/ that neither the README nor
// the docs index links is a page nobody finds.
func TestEveryDocsPageIsLinked(t *testing.T) {
	root := shipRoot(t)
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no page under docs/: %v", err)
	}
	for _, index := range []string{"README.md", "docs/README.md"} {
		linked := map[string]bool{}
		for _, l := range docLinks(string(shipReadFile(t, root, index))) {
			target, _, _ := strings.Cut(l.target, "#")
			linked[path.Clean(path.Join(path.Dir(index), target))] = true
		}
		for _, p := range pages {
			rel := "docs/" + filepath.Base(p)
			if rel != index && !linked[rel] {
				t.Errorf("%s does not link %s", index, rel)
			}
		}
	}
}

// TestDocTablesAreWhole fails on a table row that does not belong to its
// table: a row with more or fewer cells than the header (an unescaped | in a
// cell), or a row cut off from its table by a blank line, which renders as
// text.
func TestDocTablesAreWhole(t *testing.T) {
	root := shipRoot(t)
	for _, doc := range docFiles(t, root) {
		for _, p := range tableProblems(string(shipReadFile(t, root, doc))) {
			t.Errorf("%s: %s", doc, p)
		}
	}
}

// The two checks above can fail: a missing file, a missing heading, a row
// cut off by a blank line and a row with a cell too many are each reported.
func TestDocChecksCatchBrokenLinksAndTables(t *testing.T) {
	root := shipRoot(t)
	doc := "# Title\n\n## A heading: with `code`\n\n" +
		"[ok](#a-heading-with-code) [ok](deploy/policy.sample.yaml) [ok](docs/DEPLOY.md#who-deploys) [web](https://example.com/x)\n" +
		"[gone](docs/NOPE.md) [bad anchor](#nowhere) [bad anchor there](docs/DEPLOY.md#nowhere)\n" +
		"```sh\n[not a link](in/a/code/block.md)\n| not | a table |\n```\n"
	got := strings.Join(linkProblems(root, "README.md", doc), "\n")
	for _, want := range []string{"docs/NOPE.md", "#nowhere", "docs/DEPLOY.md#nowhere"} {
		if !strings.Contains(got, want) {
			t.Errorf("the link check says\n%s\nwant it to report %q", got, want)
		}
	}
	for _, ok := range []string{"a-heading-with-code", "policy.sample.yaml", "who-deploys", "example.com", "in/a/code"} {
		if strings.Contains(got, ok) {
			t.Errorf("the link check reports the good link %q:\n%s", ok, got)
		}
	}
	table := "| a | b |\n|---|---|\n| `x\\|y` | 2 |\n| 3 | 4 |\n\n| 5 | 6 |\n\n| c | d |\n|---|---|\n| 7 | 8 | 9 |\n"
	got = strings.Join(tableProblems(table), "\n")
	for _, want := range []string{"line 6", "line 10"} {
		if !strings.Contains(got, want) {
			t.Errorf("the table check says\n%s\nwant it to report %s", got, want)
		}
	}
	if strings.Contains(got, "line 3") || strings.Contains(got, "line 4") {
		t.Errorf("the table check reports a whole row:\n%s", got)
	}
}

// TestChatOpsDocQuotesTheHelpText: the commands docs/CHATOPS.md shows are
// the ones the bot answers help with.
func TestChatOpsDocQuotesTheHelpText(t *testing.T) {
	doc := string(shipReadFile(t, shipRoot(t), "docs/CHATOPS.md"))
	if !strings.Contains(doc, "```text\n"+webhook.HelpText+"\n```") {
		t.Error("docs/CHATOPS.md does not quote webhook.HelpText as it is; paste it again")
	}
}

// TestDocMakeTargetsExist: every `make <target>` the documents tell a reader
// to run is a target of the Makefile.
func TestDocMakeTargetsExist(t *testing.T) {
	root := shipRoot(t)
	targets := makeTargets(string(shipReadFile(t, root, "Makefile")))
	for _, doc := range docFiles(t, root) {
		for _, p := range makeProblems(string(shipReadFile(t, root, doc)), targets) {
			t.Errorf("%s: %s", doc, p)
		}
	}
}

// The check above can fail: a target the Makefile lacks is reported, in a
// code span and in a shell block alike; prose that merely says "make" is not.
func TestMakeTargetCheckCatchesUnknownTargets(t *testing.T) {
	targets := makeTargets("run: ## x\n\t@go run .\ntest:\n\tgo test ./...\nFOO := bar\n")
	if !slices.Equal(targets, []string{"run", "test"}) {
		t.Fatalf("makeTargets = %q, want run and test", targets)
	}
	doc := "Run `make run`, then `make tset`; make sure it works.\n```sh\nmake test\nmake -s bench   # x\n```\n"
	got := strings.Join(makeProblems(doc, targets), "\n")
	if !strings.Contains(got, "make tset") || !strings.Contains(got, "make bench") {
		t.Errorf("the make check says %q, want it to report tset and bench", got)
	}
	if strings.Contains(got, "make run") || strings.Contains(got, "make test") || strings.Contains(got, "sure") {
		t.Errorf("the make check reports a target that exists, or prose: %q", got)
	}
}

var (
	makefileTarget = regexp.MustCompile(`(?m)^([a-z][a-z-]*):`)
	makeInCode     = regexp.MustCompile("`make((?: -[a-zA-Z]+)*) ([a-z][a-z-]*)")
	makeInBlock    = regexp.MustCompile(`(?m)^\s*make((?: -[a-zA-Z]+)*) ([a-z][a-z-]*)`)
)

// makeTargets lists the targets a Makefile defines.
func makeTargets(makefile string) []string {
	var out []string
	for _, m := range makefileTarget.FindAllStringSubmatch(makefile, -1) {
		out = append(out, m[1])
	}
	return out
}

// makeProblems lists the make commands of doc, in code spans and fenced
// blocks, whose target is not in targets.
func makeProblems(doc string, targets []string) []string {
	var named []string
	for _, m := range makeInCode.FindAllStringSubmatch(doc, -1) {
		named = append(named, m[2])
	}
	prose := proseLines(doc)
	var blocks strings.Builder
	for i, l := range strings.Split(doc, "\n") {
		if prose[i] == "" {
			blocks.WriteString(l + "\n")
		}
	}
	for _, m := range makeInBlock.FindAllStringSubmatch(blocks.String(), -1) {
		named = append(named, m[2])
	}
	var out []string
	for _, n := range named {
		if !slices.Contains(targets, n) {
			out = append(out, "make "+n+": the Makefile has no such target")
		}
	}
	return out
}

// docPackages lists the module's packages, relative to the module: every
// one under internal/, and elsewhere those that hold more than tests.
func docPackages(t *testing.T, root string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{len .GoFiles}}", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	var pkgs []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		imp, files, _ := strings.Cut(line, " ")
		rel, ok := strings.CutPrefix(imp, shipModule+"/")
		if !ok {
			continue
		}
		if n, _ := strconv.Atoi(files); n > 0 || strings.HasPrefix(rel, "internal/") {
			pkgs = append(pkgs, rel)
		}
	}
	if !slices.Contains(pkgs, "internal/app") {
		t.Fatalf("go list ./... does not list internal/app: %q", pkgs)
	}
	return pkgs
}

// readmePicture is the first fenced block after readmePictureHeading.
func readmePicture(readme string) (string, error) {
	_, section, ok := strings.Cut(readme, "\n"+readmePictureHeading+"\n")
	if !ok {
		return "", fmt.Errorf("README.md has no %q section", readmePictureHeading)
	}
	_, block, ok := strings.Cut(section, "```")
	if !ok {
		return "", fmt.Errorf("README.md's %q section has no fenced block", readmePictureHeading)
	}
	_, block, _ = strings.Cut(block, "\n") // the info string
	block, _, ok = strings.Cut(block, "```")
	if !ok {
		return "", fmt.Errorf("README.md's %q block is not closed", readmePictureHeading)
	}
	return block, nil
}

// pathChar is a character that continues a package path.
func pathChar(r byte) bool {
	return r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

// namesPackage says whether picture names pkg as a path of its own: not as a
// prefix of a longer path (internal/store in internal/store/sqlstore) nor a
// suffix of one. A trailing slash (events/) still names it.
func namesPackage(picture, pkg string) bool {
	for i := 0; ; {
		j := strings.Index(picture[i:], pkg)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(pkg)
		i = start + 1
		if start > 0 && (pathChar(picture[start-1]) || picture[start-1] == '/') {
			continue
		}
		if end < len(picture) && pathChar(picture[end]) {
			continue
		}
		if end < len(picture) && picture[end] == '/' && end+1 < len(picture) && pathChar(picture[end+1]) {
			continue
		}
		return true
	}
}

// internalPath is a path under internal/ as a picture writes it.
var internalPath = regexp.MustCompile(`(?:^|[^A-Za-z0-9_./-])(internal/[A-Za-z0-9_./-]*[A-Za-z0-9_])`)

// pictureProblems lists the packages the picture does not name, and the
// paths under internal/ it names that are not packages.
func pictureProblems(picture string, pkgs []string) []string {
	var out []string
	for _, p := range pkgs {
		if !namesPackage(picture, p) {
			out = append(out, "does not name "+p)
		}
	}
	for _, m := range internalPath.FindAllStringSubmatch(picture, -1) {
		if !slices.Contains(pkgs, m[1]) {
			out = append(out, "names "+m[1]+", which go list does not list")
		}
	}
	return out
}

// docFiles are the documents whose links and tables are checked.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{"README.md", "events/README.md", "deploy/README-ram.md"}
	for _, p := range pages {
		docs = append(docs, "docs/"+filepath.Base(p))
	}
	return docs
}

// proseLines is doc with the fenced blocks blanked (kept as empty lines, so
// that line numbers stay right).
func proseLines(doc string) []string {
	lines := strings.Split(doc, "\n")
	fenced := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			lines[i] = ""
			continue
		}
		if fenced {
			lines[i] = ""
		}
	}
	return lines
}

type docLink struct {
	line   int
	target string
}

var (
	codeSpan     = regexp.MustCompile("`[^`]*`")
	markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
)

// docLinks lists the relative links of doc, outside code.
func docLinks(doc string) []docLink {
	var out []docLink
	for i, l := range proseLines(doc) {
		l = codeSpan.ReplaceAllString(l, "code")
		for _, m := range markdownLink.FindAllStringSubmatch(l, -1) {
			if u := m[1]; !strings.Contains(u, "://") && !strings.HasPrefix(u, "mailto:") {
				out = append(out, docLink{line: i + 1, target: u})
			}
		}
	}
	return out
}

// headingAnchors lists the anchors GitHub gives the headings of doc.
func headingAnchors(doc string) map[string]bool {
	anchors := map[string]bool{}
	for _, l := range proseLines(doc) {
		hashes := len(l) - len(strings.TrimLeft(l, "#"))
		if hashes == 0 || hashes > 6 || !strings.HasPrefix(l[hashes:], " ") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(l[hashes:])) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		for n := 1; anchors[a]; n++ {
			a = b.String() + "-" + strconv.Itoa(n)
		}
		anchors[a] = true
	}
	return anchors
}

// linkProblems lists the links of doc (at rel under root) that reach no
// file, or no heading of it.
func linkProblems(root, rel, doc string) []string {
	var out []string
	for _, l := range docLinks(doc) {
		target, anchor, _ := strings.Cut(l.target, "#")
		text := doc
		if target != "" {
			file := filepath.Join(root, filepath.FromSlash(path.Join(path.Dir(rel), target)))
			data, err := os.ReadFile(file)
			if err != nil {
				if fi, serr := os.Stat(file); serr != nil || !fi.IsDir() {
					out = append(out, fmt.Sprintf("line %d: %s: no such file", l.line, l.target))
				}
				continue
			}
			if !strings.HasSuffix(target, ".md") {
				continue
			}
			text = string(data)
		}
		if anchor != "" && !headingAnchors(text)[anchor] {
			out = append(out, fmt.Sprintf("line %d: %s: no heading has the anchor #%s", l.line, l.target, anchor))
		}
	}
	return out
}

// tableCells counts the cells of a table row: its unescaped pipes less one.
func tableCells(row string) int {
	n := 0
	for i := 0; i < len(row); i++ {
		switch row[i] {
		case '\\':
			i++
		case '|':
			n++
		}
	}
	return n - 1
}

var tableDelimiter = regexp.MustCompile(`^\|(\s*:?-+:?\s*\|)+\s*$`)

// tableProblems lists the rows of doc's tables that do not belong to them.
func tableProblems(doc string) []string {
	var out []string
	lines := proseLines(doc)
	cells := 0 // the cells of the table being read; 0 outside a table
	for i, l := range lines {
		if !strings.HasPrefix(l, "|") {
			cells = 0
			continue
		}
		if cells == 0 {
			if i+1 >= len(lines) || !tableDelimiter.MatchString(lines[i+1]) {
				out = append(out, fmt.Sprintf("line %d: a table row outside a table (a blank line before it?): %.60s", i+1, l))
				continue
			}
			cells = tableCells(l)
			continue
		}
		if n := tableCells(l); n != cells {
			out = append(out, fmt.Sprintf("line %d: %d cells in a table of %d (an unescaped | ?): %.60s", i+1, n, cells, l))
		}
	}
	return out
}
