// The Go peer of Ember's network benchmarks: a goroutine per connection on
// the standard library's net package, the same servers as
// benches/net_ember.rs.
//
//	go build -o netpeer main.go
//	./netpeer echo ADDR   # line echo, a 4 KiB bufio.Reader per connection
//	./netpeer http ADDR   # minimal HTTP/1.1 keep-alive "Hello, world!"
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
)

const body = "Hello, world!\n"

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: netpeer echo|http ADDR")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	handler := echo
	if os.Args[1] == "http" {
		handler = http
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go handler(c)
	}
}

func echo(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 4096)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		if _, err := c.Write(line); err != nil {
			return
		}
	}
}

// http answers keep-alive GETs: reads until a whole request head is in,
// answers, keeps the rest (the same loop as examples/http_hello.rs).
func http(c net.Conn) {
	defer c.Close()
	response := []byte("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	buf := make([]byte, 8192)
	filled := 0
	for {
		end := bytes.Index(buf[:filled], []byte("\r\n\r\n"))
		if end < 0 {
			if filled == len(buf) {
				return
			}
			n, err := c.Read(buf[filled:])
			if err != nil {
				return
			}
			filled += n
			continue
		}
		if _, err := c.Write(response); err != nil {
			return
		}
		consumed := end + 4
		copy(buf, buf[consumed:filled])
		filled -= consumed
	}
}
