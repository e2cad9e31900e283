package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/chzyer/readline"
	"github.com/iridium-go/iridium/assembler"
	"github.com/iridium-go/iridium/internal/escape"
	"github.com/iridium-go/iridium/vm"
)

// command is one row of the command table, which drives dispatch, !help and
// tab completion.
type command struct {
	name string // without the '!'
	args string // argument synopsis for !help
	help string // one line
	path bool   // its argument is a file path (for completion)
	// cluster commands need the node's cluster manager; the dispatcher
	// refuses them in a REPL that has none.
	cluster bool
	run     func(r *REPL, ctx context.Context, args []string) error
}

// commands is filled in init because its handlers refer back to it (!help).
var commands []command

// askedFor ends the help of the commands whose PATH pathArg asks for.
const askedFor = " (no PATH: asks at a " + pathPrompt + "prompt)"

func init() {
	commands = []command{
		{name: "help", help: "list every command", run: (*REPL).cmdHelp},
		{name: "quit", help: "leave the REPL", run: (*REPL).cmdQuit},
		{name: "history", help: "the lines typed so far", run: (*REPL).cmdHistory},
		{name: "program", help: "the program as a disassembly listing, address by address", run: (*REPL).cmdProgram},
		{name: "clear_program", help: "empty the program", run: (*REPL).cmdClearProgram},
		{name: "registers", help: "the integer registers, one per line", run: (*REPL).cmdRegisters},
		{name: "float_registers", help: "the float registers, one per line", run: (*REPL).cmdFloatRegisters},
		{name: "clear_registers", help: "set every register to 0", run: (*REPL).cmdClearRegisters},
		{name: "symbols", help: "the symbol table: name, kind, value", run: (*REPL).cmdSymbols},
		{name: "load_file", args: "[PATH]", path: true, help: "assemble a file and run it on this VM" + askedFor, run: (*REPL).cmdLoadFile},
		{name: "spawn", args: "[PATH]", path: true, help: "run a file on a new VM in the background, report when it ends" + askedFor, run: (*REPL).cmdSpawn},
	}
	commands = append(commands, processCommands...)
	commands = append(commands, clusterCommands...)
}

func lookupCommand(name string) (*command, bool) {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i], true
		}
	}
	return nil, false
}

func (r *REPL) runCommand(ctx context.Context, line string) error {
	fields := strings.Fields(strings.TrimPrefix(line, "!"))
	if len(fields) == 0 {
		return errors.New("empty command; !help lists the commands")
	}
	c, ok := lookupCommand(strings.ToLower(fields[0]))
	if !ok {
		return fmt.Errorf("unknown command !%s; !help lists the commands", escape.Clip(fields[0]))
	}
	if c.cluster && r.cfg.Cluster == nil {
		return errNoCluster
	}
	return c.run(r, ctx, fields[1:])
}

func noArgs(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", escape.Clip(args[0]))
	}
	return nil
}

func (r *REPL) cmdHelp(_ context.Context, args []string) error {
	tw := tabwriter.NewWriter(r.out, 0, 4, 2, ' ', 0)
	if len(args) > 0 && strings.EqualFold(args[0], "instructions") {
		if err := noArgs(args[1:]); err != nil {
			return err
		}
		for _, op := range vm.Opcodes() {
			info, _ := op.Info()
			fmt.Fprintf(tw, "%d\t%s %s\t%s\n", op, info.Name, operands(info.Shape), info.Doc)
		}
		return tw.Flush()
	}
	if err := noArgs(args); err != nil {
		return err
	}
	for _, c := range commands {
		fmt.Fprintf(tw, "!%s %s\t%s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(tw, "!help instructions\tevery instruction: opcode, operands, effect")
	fmt.Fprintln(tw, "anything else\tassembly: appended to the program and run at once")
	return tw.Flush()
}

// operands is the operand synopsis of an instruction shape.
func operands(s vm.Shape) string {
	return [...]string{vm.ShapeNone: "", vm.ShapeR: "$a", vm.ShapeRR: "$a $b", vm.ShapeRRR: "$a $b $c",
		vm.ShapeRImm16: "$a #imm16", vm.ShapeRShift: "$a [#n]", vm.ShapeAddr24: "@addr24", vm.ShapeImm24: "#imm24",
		vm.ShapeData24: "@data24"}[s]
}

func (r *REPL) cmdQuit(_ context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	r.quit = true
	return nil
}

func (r *REPL) cmdHistory(_ context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	// The !history line itself is the last entry; it is shown too, as a
	// shell's history does.
	for _, h := range r.history.lines {
		fmt.Fprintln(r.out, h)
	}
	return nil
}

func (r *REPL) cmdProgram(_ context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	return assembler.WriteDisassembly(r.out, r.vm.Program(), r.session.Symbols())
}

func (r *REPL) cmdClearProgram(_ context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if err := r.vm.ClearProgram(); err != nil {
		return err
	}
	r.session.Reset(nil, nil)
	return nil
}

func (r *REPL) cmdRegisters(_ context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	regs := r.vm.Registers()
	var b strings.Builder
	for i, v := range regs {
		fmt.Fprintf(&b, "$%d = %d\n", i, v)
	}
	_, err := io.WriteString(r.out, b.String())
	return err
}

func (r *REPL) cmdClearRegisters(_ context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	r.vm.ClearRegisters()
	return nil
}

func (r *REPL) cmdSymbols(_ context.Context, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(r.out, 0, 4, 2, ' ', 0)
	for _, s := range r.session.Symbols() {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", s.Name, s.Kind, s.Value)
	}
	return tw.Flush()
}

// programArg reads the program named by the single PATH argument, or by
// the next input line when it is omitted (at a terminal, a "path: "
// prompt that completes file names): assembly, or bytecode told apart by
// its magic.
func (r *REPL) programArg(ctx context.Context, args []string) (string, *vm.Program, []assembler.Symbol, error) {
	path, err := r.pathArg(args)
	if err != nil {
		return "", nil, nil, err
	}
	// Only regular files are read: opening a FIFO waits for a writer,
	// which nothing interrupts. A regular file whose read waits
	// (/proc/kmsg) is given up on Ctrl-C or when the session ends.
	var data []byte
	err = r.interruptible(ctx, func(ctx context.Context) error {
		data, err = assembler.ReadFileContext(ctx, path, true)
		return err
	})
	if err != nil {
		return "", nil, nil, err
	}
	prog, syms, err := assembler.Load(data)
	if errs := assembler.Errors(err); len(errs) > 0 {
		// One line per error, each naming the file, as compilers do; the
		// first 20, as iridium FILE shows them.
		return "", nil, nil, errors.New(assembler.FormatErrors(errs, path+":"))
	}
	if err != nil {
		return "", nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return path, prog, syms, nil
}

var errNoPath = errors.New("no path given")

// pathArg is the single PATH argument or, without one, the next input line,
// asked for at a terminal at its own prompt. A line starting with '!' is
// refused: it is a command typed where the path was wanted (or a script
// that forgot the PATH), and opening it would only fail with a puzzling
// "open !registers: no such file". Not running it either keeps the mistake
// plain to see. A file whose name starts with '!' is ./!name.
func (r *REPL) pathArg(args []string) (string, error) {
	switch len(args) {
	case 1:
		return args[0], nil
	case 0:
	default:
		return "", fmt.Errorf("expected one PATH, got %d arguments (a path with spaces: the command alone, then the path on the next line)", len(args))
	}
	line, err := r.readLine(askPath)
	switch {
	case errors.Is(err, readline.ErrInterrupt), err == io.EOF:
		return "", errNoPath
	case err != nil:
		return "", fmt.Errorf("%w: %w", errNoPath, err)
	}
	path := strings.TrimSpace(line)
	switch {
	case path == "":
		return "", errNoPath
	case strings.HasPrefix(path, "!"):
		path = escape.Clip(path)
		return "", fmt.Errorf("%s is a command, not a path: not run (a file so named is ./%s)", path, path)
	}
	return path, nil
}

func (r *REPL) cmdLoadFile(ctx context.Context, args []string) error {
	_, prog, syms, err := r.programArg(ctx, args)
	if err != nil {
		return err
	}
	if err := r.vm.Load(prog); err != nil {
		return err
	}
	r.session.Reset(prog, syms)
	return r.runDefault(ctx)
}
