package bench

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDocsCountTheWorkloads wants every place that names the workloads by
// number or by name to agree with the files: compare.sh's list of them,
// and the count in words at the top of bench/README.md and in the
// repository's README (its tests section, the VM against Lua and the Go
// benchmarks). A program added here and counted in one of them only
// leaves the others saying what is no longer so.
func TestDocsCountTheWorkloads(t *testing.T) {
	files, _ := filepath.Glob("*.iasm")
	have := names(files)
	n := numberWords(len(have))

	script, err := os.ReadFile("compare.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\nall=\(([^)]*)\)`).FindSubmatch(script)
	if m == nil {
		t.Fatal("compare.sh: no all=(...) list")
	}
	listed := strings.Fields(string(m[1]))
	slices.Sort(listed)
	if !slices.Equal(listed, have) {
		t.Errorf("compare.sh lists\n%v\nthe workloads are\n%v", listed, have)
	}

	for _, c := range []struct{ file, sentence string }{
		{"README.md", n + " programs, each written once"},
		{"../README.md", "runs its " + n + " workloads"},
		{"../README.md", "runs " + n + " programs written once"},
		{"../README.md", "# the " + n + " programs"},
	} {
		doc, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(string(doc)), " ")
		if !strings.Contains(strings.ToLower(text), c.sentence) {
			t.Errorf("%s: no %q (there are %d workloads)", c.file, c.sentence, len(have))
		}
	}
}

// numberWords spells n, 1 to 99, as the READMEs do: "forty-five".
func numberWords(n int) string {
	ones := []string{"", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
		"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	tens := []string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
	switch {
	case n < 20:
		return ones[n]
	case n%10 == 0:
		return tens[n/10]
	}
	return tens[n/10] + "-" + ones[n%10]
}
