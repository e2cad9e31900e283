package repl

import (
	"bytes"
	"testing"
)

// fakePrompt stands for readline at a prompt. It writes to the console's
// stream, where it marks what it draws: <clean> for taking the prompt line
// off the screen, <prompt> for drawing it.
type fakePrompt struct {
	w    *bytes.Buffer
	live bool // reading keys
}

func (f *fakePrompt) reading() bool { return f.live }
func (f *fakePrompt) clean()        { f.w.WriteString("<clean>") }
func (f *fakePrompt) redraw()       { f.w.WriteString("<prompt>") }

func (f *fakePrompt) write(p []byte) {
	f.w.Write(p)
	if f.live {
		f.w.WriteString("<prompt>")
	}
}

func TestConsole(t *testing.T) {
	// The steps a console goes through: a program's output, the REPL's
	// output and errors, a background program's report, a prompt shown
	// and answered, the end of input.
	type step func(c *console)
	prog := func(s string) step { return func(c *console) { c.programOutput().Write([]byte(s)) } }
	print := func(s string) step { return func(c *console) { c.print([]byte(s)) } }
	printErr := func(s string) step { return func(c *console) { c.printErr([]byte(s)) } }
	report := func(s string) step { return func(c *console) { c.report([]byte(s)) } }
	var answer func()
	prompt := func(c *console) { answer = c.prompting() }
	answered := func(*console) { answer() }
	finish := func(c *console) { c.finish() }
	live := func(on bool) step { return func(c *console) { c.prompt.(*fakePrompt).live = on } }
	key := func(c *console) { c.key() }

	tests := []struct {
		name     string
		terminal bool // readline shows prompts
		steps    []step
		want     string // out and err, which share one stream here
	}{
		{"the REPL's output ends an open line", false,
			[]step{prog("42"), print("$0 = 0\n")}, "42\n$0 = 0\n"},
		{"so does an error", false,
			[]step{prog("42"), printErr("error: x\n")}, "42\nerror: x\n"},
		{"a line stays open across program writes", false,
			[]step{prog("4"), prog("2"), print("ok\n")}, "42\nok\n"},
		{"a whole line is left alone", false,
			[]step{prog("42\n"), print("ok\n")}, "42\nok\n"},
		{"a report between lines is shown at once", false,
			[]step{prog("5\n"), report("#1 ended\n"), prog("6\n")}, "5\n#1 ended\n6\n"},
		{"a report waits until the program ends its line", false,
			[]step{prog("5"), report("#1 ended\n"), prog(" and 6"), report("#2 ended\n"), prog("\n7")},
			"5 and 6\n#1 ended\n#2 ended\n7"},
		{"a held report follows the output that ends the line", false,
			[]step{prog("5"), report("#1 ended\n"), printErr("error: x\n")}, "5\nerror: x\n#1 ended\n"},
		{"a script's input ending ends the line and shows held reports", false,
			[]step{prog("5"), report("#1 ended\n"), finish}, "5\n#1 ended\n"},
		{"finish leaves a whole line alone", false,
			[]step{prog("5\n"), finish}, "5\n"},
		{"no prompt in a script: the line stays open", false,
			[]step{prog("4"), prompt, answered, prog("2"), finish}, "42\n"},
		{"a prompt ends an open line", true,
			[]step{prog("42"), prompt}, "42\n"},
		{"held reports are shown before the prompt", true,
			[]step{prog("5"), report("#1 ended\n"), prompt}, "5\n#1 ended\n"},
		{"at a live prompt, a report goes above it", true,
			[]step{prompt, live(true), report("#1 ended\n"), key, report("#2 ended\n"), answered, report("#3 ended\n")},
			"<clean>#1 ended\n<prompt><clean>#2 ended\n<prompt>#3 ended\n"},
		{"before readline reads keys, the prompt is drawn again", true,
			[]step{prompt, report("#1 ended\n")}, "<clean>#1 ended\n<prompt>"},
		{"while a key may be ending the line, a report waits for the line", true,
			[]step{prompt, live(true), key, live(false), report("#1 ended\n"), answered}, "#1 ended\n"},
		{"or for the next key", true,
			[]step{prompt, live(true), key, live(false), report("#1 ended\n"), live(true), key},
			"<clean>#1 ended\n<prompt>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			c := newConsole(&out, &out)
			if tc.terminal {
				c.setPrompt(&fakePrompt{w: &out})
			}
			for _, s := range tc.steps {
				s(c)
			}
			if got := out.String(); got != tc.want {
				t.Errorf("shows %q, want %q", got, tc.want)
			}
		})
	}
}
