// A QMP client written with go-qemu's qmp package (Debian: golang-github-digitalocean-go-qemu-dev),
// which this repository does not contain. ProxyIT builds it and points it at the proxy socket:
//
//	goqmp SOCKET
//
//	goqmp SOCKET same   (the same session without the command the proxy denies, for comparing
//	                     the proxy with a direct monitor)
//
// It prints one line per step; ProxyIT and ProxyClientsIT check them.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
)

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: goqmp SOCKET [same]")
		os.Exit(2)
	}
	same := len(os.Args) == 3 && os.Args[2] == "same"
	mon, err := qmp.NewSocketMonitor("unix", os.Args[1], 5*time.Second)
	if err != nil {
		fmt.Println("dial error:", err)
		os.Exit(1)
	}
	if err := mon.Connect(); err != nil {
		fmt.Println("connect error:", err)
		os.Exit(1)
	}
	defer mon.Disconnect()
	fmt.Println("version", mon.Version.String(), mon.Version.Package)

	// go-qemu hands events over an unbuffered channel from the goroutine that also reads
	// replies: drain it elsewhere, or a reply waits behind an unread event.
	stream, _ := mon.Events(context.Background())
	events := make(chan qmp.Event, 16)
	go func() {
		for e := range stream {
			events <- e
		}
	}()

	run := func(label, command string) {
		out, err := mon.Run([]byte(command))
		if err != nil {
			fmt.Println(label, "error:", err)
		} else {
			fmt.Println(label, string(out))
		}
	}
	run("status", `{"execute":"query-status"}`)
	if !same {
		run("quit", `{"execute":"quit"}`)
	}
	run("unknown", `{"execute":"no-such-command"}`)
	run("stop", `{"execute":"stop"}`)
	run("cont", `{"execute":"cont"}`)
	for i := 0; i < 2; i++ {
		select {
		case e := <-events:
			fmt.Println("event", e.Event)
		case <-time.After(10 * time.Second):
			fmt.Println("no event within 10 s")
			os.Exit(1)
		}
	}
}
