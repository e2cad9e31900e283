package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// threeNodes starts alpha, bravo and charlie as REPL nodes in one cluster
// (extra flags for each by alias) and waits until each lists all three.
func threeNodes(t *testing.T, extra map[string][]string) map[string]*replNode {
	t.Helper()
	nodes := map[string]*replNode{}
	ports := map[string]string{}
	for _, alias := range []string{"alpha", "bravo", "charlie"} {
		nodes[alias] = startREPLNode(t, alias, extra[alias]...)
	}
	ports["alpha"] = nodes["alpha"].startCluster()
	for _, alias := range []string{"bravo", "charlie"} {
		n := nodes[alias]
		n.send("!join_cluster 127.0.0.1 " + ports["alpha"])
		n.expect(`joined the cluster`)
		ports[alias] = n.startCluster()
	}
	for alias, n := range nodes {
		n.waitMembers(wantList(alias, ports))
	}
	return nodes
}

// eachMember spawns a worker on every member (0 .. NODES-1); each sends
// back its member index times 10 plus NODES, and the parent prints the
// values in the order the exit notices allow and the sum.
const eachMember = `
.data
sp: .asciiz ' '
.code
    nodes $20
    load $1 #0
    load $2 @worker
spawn:
    spawn $1 $2 $3
    djmpne @bad
    inc $1
    lt $1 $20
    djmpe @spawn
    load $21 #0         ; notices in
    load $22 #0         ; sum
collect:
    recv $4 $5
    djmpe @notice
    add $22 $4 $22
    djmp @collect
notice:
    inc $21
    lt $21 $20
    djmpe @collect
    prti $20
    prts @sp
    prti $22
    hlt
bad:
    igl
worker:
    load $6 #10
    mul $1 $6 $7
    add $7 $20 $7
    parent $8
    send $8 $7
    hlt
`

// TestProcessesAcrossTheCluster drives three REPL nodes: a program that
// spawns on every member collects every result, from each node; the
// split-work example spreads over all three; !spawn_on runs a file on
// another member and reports it; !processes lists every member's
// processes; !kill stops a process on another member; !send reaches one,
// whose answer a RECVT in a REPL line takes.
func TestProcessesAcrossTheCluster(t *testing.T) {
	nodes := threeNodes(t, nil)
	a, b, c := nodes["alpha"], nodes["bravo"], nodes["charlie"]

	each := writeFile(t, "each.iasm", eachMember)
	for _, n := range []*replNode{a, b, c} {
		n.send("!spawn " + each)
		n.expect(`#\d+ ` + regexp.QuoteMeta(each) + ` ended: exit code 0\n3 39\n`) // 3 + 13 + 23
	}

	split := filepath.Join("..", "..", "examples", "split.iasm")
	a.send("!spawn " + split)
	a.expect(`ended: exit code 0\nsum of squares 1\.\.1000 = 333833500\n`)

	// !spawn_on: the report, output included, comes back here.
	hello := writeFile(t, "hello.iasm", ".data\nhi: .asciiz 'hello from afar\\n'\n.code\n    prts @hi\n")
	a.send("!spawn_on charlie " + hello)
	hi := a.expect(`spawned (charlie:\d+)\n`)[1] // the report's lines start with that
	a.expect(hi + ` ` + regexp.QuoteMeta(hello) + ` ended: exit code 0\nhello from afar\n` + hi + ` event: .* Start\n` + hi + ` event: .* GracefulStop`)

	// A process waiting on each of bravo and charlie.
	echo := writeFile(t, "echo.iasm", "loop:\n    recv $1 $2\n    send $2 $1\n    djmp @loop\n")
	a.send("!spawn_on bravo " + echo)
	bPID := a.expect(`spawned bravo:(\d+)\n`)[1]
	a.send("!spawn_on charlie " + echo)
	cPID := a.expect(`spawned charlie:(\d+)\n`)[1]
	a.send("!processes")
	a.expect(`alpha:1 waiting repl mailbox 0 dropped 0\n`)
	a.expect(`bravo:1 waiting repl mailbox 0 dropped 0\n`)
	a.expect(`bravo:` + bPID + ` \w+ ` + regexp.QuoteMeta(echo) + ` mailbox 0 dropped 0\n`)
	a.expect(`charlie:1 waiting repl mailbox 0 dropped 0\n`)
	a.expect(`charlie:` + cPID + ` \w+ ` + regexp.QuoteMeta(echo) + ` mailbox 0 dropped 0\n`)

	// !send, then RECVT in a line: the echo's answer, from its handle.
	a.send("!send bravo:" + bPID + " 42")
	a.send("load $3 #10000")
	a.send("recvt $1 $2 $3")
	a.send("!registers")
	a.expect(`\$1 = 42\n\$2 = (-\d+)\n`)

	// !kill on another member: the job's report says it was interrupted.
	a.send("!kill charlie:" + cPID)
	a.expect(`charlie:` + cPID + ` ` + regexp.QuoteMeta(echo) + ` ended: exit code 2 \(interrupted at pc 0x0000 \(RECV\)\)\n`)
	a.send("!kill charlie:" + cPID)
	a.expect(`error: no process charlie:` + cPID + `\n`)
	b.send("!processes") // the others see it gone too
	b.send("!help")
	listing := b.expect(`(?s)(.*?)!help `)[1]
	if regexp.MustCompile(`charlie:`+cPID+` `).MatchString(listing) || !regexp.MustCompile(`bravo:`+bPID+` waiting`).MatchString(listing) {
		t.Errorf("bravo lists:\n%s", listing)
	}
}

// TestKilledMemberGivesStatus3: a member killed with SIGKILL while its
// processes are spawned and monitored from another: each gives its one
// notice, status 3, within the heartbeat timeout; a !spawn_on job there is
// reported lost; the third member goes on serving.
func TestKilledMemberGivesStatus3(t *testing.T) {
	nodes := threeNodes(t, nil)
	a, c := nodes["alpha"], nodes["charlie"]
	watch := writeFile(t, "watch.iasm", `
.data
sp: .asciiz ' '
.code
    load $1 #2              ; charlie
    load $2 @wait
    spawn $1 $2 $3
    spawn $1 $2 $10
    monitor $3              ; spawned too: still one notice for it
    self $6
    send $3 $6              ; both are up once they answered
    recv $4 $5
    send $10 $6
    recv $4 $5
    prts @sp                ; the parent's cue: waiting for the notices
    load $11 #0
notices:
    recv $4 $5
    djmpne @bad
    prti $4
    inc $11
    load $12 #2
    lt $11 $12
    djmpe @notices
    hlt
bad:
    igl
wait:
    recv $4 $5
    send $5 $4
    recv $4 $5
`)
	wait := writeFile(t, "wait.iasm", "recv $1 $2\n")
	a.send("!spawn_on charlie " + wait)
	a.expect(`spawned charlie:\d+\n`)
	a.send("!spawn " + watch)
	a.expect(`spawned #\d+: `)
	deadline := time.Now().Add(20 * time.Second)
	for {
		a.send("!processes")
		a.send("!help")
		listing := a.expect(`(?s)(.*?)!help `)[1]
		if len(regexp.MustCompile(`charlie:\d+ waiting `+regexp.QuoteMeta(watch)).FindAllString(listing, -1)) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("charlie's workers never waited:\n%s", listing)
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	c.cmd.Process.Kill()
	// The two reports, in either order.
	a.expect(`(?s)(` + regexp.QuoteMeta(wait) + ` ended: exit code 3 \(the member charlie was lost\)\n.*` +
		regexp.QuoteMeta(watch) + ` ended: exit code 0\n 33\n|` +
		regexp.QuoteMeta(watch) + ` ended: exit code 0\n 33\n.*` +
		regexp.QuoteMeta(wait) + ` ended: exit code 3 \(the member charlie was lost\)\n)`)
	took := time.Since(start)
	t.Logf("status 3 reports %v after SIGKILL", took.Round(time.Millisecond))
	if took > deadWithin {
		t.Errorf("took %v, want under %v", took, deadWithin)
	}
	a.send("!spawn_on bravo " + wait)
	pid := a.expect(`spawned bravo:(\d+)\n`)[1]
	a.send("!kill bravo:" + pid)
	a.expect(`ended: exit code 2 \(interrupted`)
}

// TestProcessesWithASilentMember: !processes while a member is stopped
// (SIGSTOP) lists the others and says that one did not answer (it waits
// 2 s for it, or less if the member is dropped first); a !kill there
// fails the same way.
func TestProcessesWithASilentMember(t *testing.T) {
	nodes := threeNodes(t, nil)
	a, b := nodes["alpha"], nodes["bravo"]
	b.stop()
	defer b.cmd.Process.Signal(syscall.SIGCONT)
	a.send("!processes")
	a.expect(`alpha:1 waiting repl mailbox 0 dropped 0\n`)
	a.expect(`bravo: (no answer within 2s|the member was lost before it answered)\n`)
	a.expect(`charlie:1 waiting repl mailbox 0 dropped 0\n`)
	a.send("!kill bravo:1")
	a.expect(`error: bravo: (no answer within 2s|the member was lost before it answered|not a connected member)\n`)
}

// TestSpawnRefusals: a member run with --remote-spawn=false or a full
// --max-processes refuses, and says why: SPAWN gets flag false and handle
// 0; !spawn_on prints the reason.
func TestSpawnRefusals(t *testing.T) {
	nodes := threeNodes(t, map[string][]string{"bravo": {"--remote-spawn=false"}, "charlie": {"--max-processes", "1"}})
	a := nodes["alpha"]
	hello := writeFile(t, "hello.iasm", "load $1 #1\nprti $1\n")
	a.send("!spawn_on bravo " + hello)
	a.expect(`error: bravo: the member refuses remote spawns \(--remote-spawn=false\)\n`)
	a.send("!spawn_on charlie " + hello)
	a.expect(`error: charlie: the member runs its maximum of processes \(--max-processes\)\n`)
	for member := 1; member <= 2; member++ {
		a.send("load $3 #9")
		a.send("load $1 #" + strconv.Itoa(member))
		a.send("load $2 #0")
		a.send("spawn $1 $2 $3")
		a.send("!registers")
		a.expect(`\$3 = 0\n`)
	}
	a.send("!spawn_on nobody " + hello)
	a.expect(`error: nobody: not a connected member\n`)
}
