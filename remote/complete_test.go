package remote

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iridium-go/iridium/internal/testutil"
)

// The keys that move through readline's completion menu by rows (Up, Down,
// Home, End) leave the session answering, whether the candidates fit in a
// row of the menu on the client's terminal or one is too wide for a row of
// its own (readline, which counts the candidates of a row as the width
// over the widest, divided by none there, and the panic ended the node).
func TestCompletionMenuKeys(t *testing.T) {
	for _, name := range []string{"x", strings.Repeat("x", 40)} {
		dir := t.TempDir()
		for _, c := range "ab" { // two files with nothing in common to complete
			if err := os.WriteFile(filepath.Join(dir, string(c)+name), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for _, keys := range []string{
			"\x1b[B", "\x1b[A", "\x1b[H", "\x1b[F", // Down, Up, Home, End
			"\x0e", "\x10", "\x01", "\x05", // Ctrl-N, Ctrl-P, Ctrl-A, Ctrl-E
			"\x0e\x0e\x10\x05\x01\x1b[B\x1b[B\x1b[A",
		} {
			t.Run(fmt.Sprintf("%d-character names/%q", len(name)+1, keys), func(t *testing.T) {
				sess := ptySessionSized(t, startServer(t, ""), minWidth)
				stdin, out := atPrompt(t, sess)
				// Tab lists the two files, Tab again selects in the menu.
				io.WriteString(stdin, "!load_file "+dir+"/\t\t")
				testutil.WaitFor(t, out, "b"+name, bound)
				io.WriteString(stdin, "\t"+keys)
				// Ctrl-G leaves the menu (if the keys have not), Ctrl-E
				// and Ctrl-U erase the line.
				io.WriteString(stdin, "\x07\x05\x15load $1 #9\r!registers\r")
				testutil.WaitFor(t, out, "$1 = 9\r\n", bound)
			})
		}
	}
}
