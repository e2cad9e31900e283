package cluster

import (
	"fmt"
	"testing"
	"time"
)

func TestThreeNodes(t *testing.T) {
	a := newNode(t, testConfig(t, "a"))
	b := newNode(t, testConfig(t, "b"))
	c := newNode(t, testConfig(t, "c"))
	join(t, b, a)
	join(t, c, a)
	nodes := []*Manager{a, b, c}
	waitMesh(t, nodes, 5*time.Second)
}

func TestTenNodes(t *testing.T) {
	var nodes []*Manager
	for i := range 10 {
		n := newNode(t, testConfig(t, fmt.Sprintf("n%02d", i)))
		if i > 0 {
			join(t, n, nodes[(i-1)/2])
		}
		nodes = append(nodes, n)
	}
	waitMesh(t, nodes, 5*time.Second)
}
