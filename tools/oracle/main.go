// Command oracle is the differential oracle for src/semantic: it answers, with
// the pinned Mattermost server's own dependencies (lib/pq, the Go standard
// library the release is built with, server/public and server/v8), how a value
// is really interpreted. It is built by scripts/oracle-build.sh against exactly
// the module set the server release uses, and driven by tests/oracle.rs.
//
// Usage:
//
//	oracle            JSON lines on stdin, one verdict line per input on stdout:
//	                  {"kind":"dsn","value":"postgres://...","env":{"PGSSLMODE":"..."}}
//	                  {"kind":"list","value":"10.0.0.0/8, example.com"}
//	                  {"kind":"listen","value":"[::]:8067"}
//	oracle secrets [--detail]
//	                  the settings the server masks: catalog/server-secret-settings.json
//
// Nothing here reaches the network: PostgreSQL connections are served by an
// in-process fake over net.Pipe, DNS is answered "no such host" (only
// /etc/hosts is consulted) and listening sockets use port 0 and are closed at once.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
)

type request struct {
	Kind  string            `json:"kind"`
	Value string            `json:"value"`
	Env   map[string]string `json:"env,omitempty"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "secrets" {
		out, err := secrets(len(os.Args) > 2 && os.Args[2] == "--detail")
		if err != nil {
			fatal(err)
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			fatal(err)
		}
		os.Stdout.Write(append(b, '\n'))
		return
	}
	if len(os.Args) > 1 {
		fatal(fmt.Errorf("usage: oracle [secrets] (JSON lines on stdin)"))
	}
	// No query may leave the machine; names not in /etc/hosts simply do not resolve.
	net.DefaultResolver = &net.Resolver{
		PreferGo: true,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("oracle: DNS disabled")
		},
	}
	pg, err := newPGLab()
	if err != nil {
		fatal(err)
	}
	defer pg.cleanup()

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			emit(map[string]any{"error": "bad request line: " + err.Error()})
			continue
		}
		var verdict map[string]any
		switch req.Kind {
		case "dsn":
			verdict = pg.probe(req.Value, req.Env)
		case "list":
			verdict = classifyList(req.Value)
		case "listen":
			verdict = listenScope(req.Value)
		default:
			verdict = map[string]any{"error": "unknown kind " + req.Kind}
		}
		verdict["kind"] = req.Kind
		verdict["value"] = req.Value
		emit(verdict)
	}
	if err := in.Err(); err != nil {
		fatal(err)
	}
}

func emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fatal(err)
	}
	os.Stdout.Write(append(b, '\n'))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "oracle:", err)
	os.Exit(1)
}
