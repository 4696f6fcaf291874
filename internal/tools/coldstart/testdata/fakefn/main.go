// Command fakefn is a stand-in function for coldstart's tests: it speaks the
// Function Compute runtime API like a real function, and what it does with
// each invocation depends on the name it runs under: "ok" answers (after
// touching 32 MiB, so that its peak memory is known), "fails" answers with
// an error, "dies" exits at the first invocation.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

var ballast []byte

func main() {
	mode := filepath.Base(os.Args[0])
	base := "http://" + os.Getenv("FC_RUNTIME_API") + "/2020-11-11/runtime/invocation/"
	if mode == "ok" {
		ballast = make([]byte, 32<<20)
		for i := range ballast {
			ballast[i] = byte(i)
		}
	}
	for {
		resp, err := http.Get(base + "next")
		if err != nil {
			fmt.Fprintln(os.Stderr, "next:", err)
			os.Exit(2)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("x-fc-request-id")
		switch mode {
		case "ok":
			post(base+id+"/response", `{"ok":true}`)
		case "fails":
			post(base+id+"/error", `{"errorMessage":"boom","errorType":"FakeError"}`)
		default:
			fmt.Println("dying on purpose")
			os.Exit(3)
		}
	}
}

func post(url, body string) {
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		fmt.Fprintln(os.Stderr, "post:", err)
		os.Exit(2)
	}
	resp.Body.Close()
}
