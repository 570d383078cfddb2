// Server scaffold of faas-deploy's go/of-watchdog template: serves the function's Handle on the
// address of upstream_url, behind the OpenFaaS of-watchdog (mode=http), which starts this program
// once and proxies every request to it. The import path below is replaced by the function's module
// path at build time.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	function "faas-deploy.invalid/function"
)

// duration reads a watchdog-style setting: whole seconds or a Go duration.
func duration(name string, fallback time.Duration) time.Duration {
	value := os.Getenv(name)
	if n, err := strconv.Atoi(value); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if d, err := time.ParseDuration(value); err == nil {
		return d
	}
	return fallback
}

// listenAddress is host:port of upstream_url, where the watchdog sends the requests.
func listenAddress() string {
	u, err := url.Parse(os.Getenv("upstream_url"))
	if err != nil || u.Host == "" {
		return "127.0.0.1:8082"
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return net.JoinHostPort(u.Host, "80")
	}
	return u.Host
}

// recovering turns a panic in the function into a 500 whose detail goes to the log, not the caller.
func recovering(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				fmt.Fprintf(os.Stderr, "function panicked: %v\n%s", v, debug.Stack())
				http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			}
		}()
		next(w, r)
	}
}

func main() {
	log.SetFlags(0)
	readyPath := os.Getenv("ready_path")
	if readyPath == "" {
		readyPath = "/_/ready"
	}
	writeTimeout := duration("write_timeout", 10*time.Second)
	mux := http.NewServeMux()
	mux.HandleFunc(readyPath, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("OK"))
	})
	mux.HandleFunc("/", recovering(function.Handle))
	server := &http.Server{
		Addr:           listenAddress(),
		Handler:        mux,
		ReadTimeout:    duration("read_timeout", 10*time.Second),
		WriteTimeout:   writeTimeout,
		MaxHeaderBytes: 1 << 20,
	}

	listener, err := net.Listen("tcp", server.Addr)
	if err != nil {
		log.Fatalf("cannot listen on %s: %v", server.Addr, err)
	}
	done := make(chan struct{})
	go func() {
		signals := make(chan os.Signal, 1)
		signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
		<-signals
		// The watchdog keeps routing requests here for healthcheck_interval after SIGTERM; serve
		// them, then finish the requests in flight for at most write_timeout.
		time.Sleep(duration("healthcheck_interval", writeTimeout))
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		defer cancel()
		if err := server.Shutdown(ctx); err != nil {
			log.Printf("shutdown: %v", err)
		}
		close(done)
	}()
	if err := server.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("serve: %v", err)
	}
	<-done
}
