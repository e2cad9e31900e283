package repl

type Cluster interface{ Leave() error }

var clusterCommands []command
