// Command fwatchdog is this project's own implementation of the OpenFaaS classic watchdog contract,
// written from its documentation, for the test environment only: the Go module proxy reachable here
// does not serve github.com/openfaas/classic-watchdog (see docs/test-env-containers.md).
//
// Contract: every HTTP request (GET, POST, PUT, PATCH, DELETE) forks `fprocess`, writes the request
// body to its stdin and answers with its stdout. Settings come from the environment: fprocess,
// port (8080), read_timeout / write_timeout (30s), exec_timeout (0 = none), healthcheck_interval
// (= write_timeout), combine_output (true), cgi_headers (true), write_debug, content_type,
// max_inflight, suppress_lock. Timeouts are whole seconds or Go durations. GET /_/health answers 200
// while the lock file /tmp/.lock exists. On SIGTERM the lock file is removed, the server waits
// healthcheck_interval and then drains for at most write_timeout.
// Not implemented: marshal_request, debug_headers, jwt_auth and the Prometheus metrics port.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Set with -ldflags "-X main.Version=… -X main.GitCommit=…".
var (
	Version   = "dev"
	GitCommit = ""
)

type config struct {
	process       string
	port          int
	readTimeout   time.Duration
	writeTimeout  time.Duration
	execTimeout   time.Duration
	healthEvery   time.Duration
	combineOutput bool
	cgiHeaders    bool
	writeDebug    bool
	contentType   string
	maxInflight   int64
	suppressLock  bool
}

func duration(value string, fallback time.Duration) time.Duration {
	if value == "" {
		return fallback
	}
	if n, err := strconv.Atoi(value); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if d, err := time.ParseDuration(value); err == nil {
		return d
	}
	return fallback
}

func boolean(value string, fallback bool) bool {
	if value == "" {
		return fallback
	}
	return value == "true"
}

func integer(value string, fallback int) int {
	if n, err := strconv.Atoi(value); err == nil && n >= 0 {
		return n
	}
	return fallback
}

func readConfig() config {
	c := config{
		process:       os.Getenv("fprocess"),
		port:          integer(os.Getenv("port"), 8080),
		readTimeout:   duration(os.Getenv("read_timeout"), 30*time.Second),
		writeTimeout:  duration(os.Getenv("write_timeout"), 30*time.Second),
		execTimeout:   duration(os.Getenv("exec_timeout"), 0),
		combineOutput: boolean(os.Getenv("combine_output"), true),
		cgiHeaders:    boolean(os.Getenv("cgi_headers"), true),
		writeDebug:    boolean(os.Getenv("write_debug"), false),
		contentType:   os.Getenv("content_type"),
		maxInflight:   int64(integer(os.Getenv("max_inflight"), 0)),
		suppressLock:  boolean(os.Getenv("suppress_lock"), false),
	}
	c.healthEvery = duration(os.Getenv("healthcheck_interval"), c.writeTimeout)
	return c
}

var accepting atomic.Bool

func lockPath() string { return filepath.Join(os.TempDir(), ".lock") }

func lockPresent() bool {
	_, err := os.Stat(lockPath())
	return err == nil
}

func requestEnv(c *config, r *http.Request) []string {
	if !c.cgiHeaders {
		return nil
	}
	env := os.Environ()
	for k, v := range r.Header {
		env = append(env, fmt.Sprintf("Http_%s=%s", strings.ReplaceAll(k, "-", "_"), v[0]))
	}
	env = append(env,
		"Http_Method="+r.Method,
		fmt.Sprintf("Http_ContentLength=%d", r.ContentLength),
		fmt.Sprintf("Http_Content_Length=%d", r.ContentLength))
	if len(r.TransferEncoding) > 0 {
		env = append(env, "Http_Transfer_Encoding="+r.TransferEncoding[0])
	}
	if r.URL.RawQuery != "" {
		env = append(env, "Http_Query="+r.URL.RawQuery)
	}
	if r.URL.Path != "" {
		env = append(env, "Http_Path="+r.URL.Path)
	}
	if r.Host != "" {
		env = append(env, "Http_Host="+r.Host)
	}
	return env
}

func runFunction(c *config, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "%s\n", err)
		return
	}
	parts := strings.Split(c.process, " ")
	ctx := context.Background()
	if c.execTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.execTimeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, parts[0], parts[1:]...)
	cmd.Env = requestEnv(c, r)
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	if c.combineOutput {
		cmd.Stderr = &stdout
	} else {
		cmd.Stderr = &stderr
	}
	log.Println("Forking fprocess.")
	err = cmd.Run()
	if stderr.Len() > 0 {
		log.Printf("stderr: %s", stderr.Bytes())
	}
	if ctx.Err() == context.DeadlineExceeded {
		log.Printf("Killing process: %s\n", c.process)
		w.WriteHeader(http.StatusRequestTimeout)
		io.WriteString(w, "Killed process.\n")
		return
	}
	if err != nil {
		if c.writeDebug {
			log.Printf("Error=%s\nOut=%s\n", err, stdout.Bytes())
		}
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "%s\n", err)
		w.Write(stdout.Bytes())
		return
	}
	if c.contentType != "" {
		w.Header().Set("Content-Type", c.contentType)
	} else if ct := r.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	elapsed := time.Since(start).Seconds()
	w.Header().Set("X-Duration-Seconds", fmt.Sprintf("%f", elapsed))
	w.WriteHeader(http.StatusOK)
	w.Write(stdout.Bytes())
	if c.writeDebug {
		os.Stdout.Write(stdout.Bytes())
		log.Printf("Duration: %fs", elapsed)
	} else {
		log.Printf("Wrote %d Bytes - Duration: %fs", stdout.Len(), elapsed)
	}
}

func handler(c *config) http.Handler {
	var inflight atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/_/health", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if !accepting.Load() || (!c.suppressLock && !lockPresent()) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "OK")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodGet:
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if c.maxInflight > 0 {
			if inflight.Add(1) > c.maxInflight {
				inflight.Add(-1)
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprintf(w, "Concurrent request limit exceeded. Max concurrent requests: %d\n", c.maxInflight)
				return
			}
			defer inflight.Add(-1)
		}
		runFunction(c, w, r)
	})
	return mux
}

func main() {
	showVersion := flag.Bool("version", false, "Print the version and exit")
	healthcheck := flag.Bool("run-healthcheck", false, "Exit 0 when the lock file exists, 1 otherwise")
	flag.Parse()
	if *healthcheck {
		if lockPresent() {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "unable to find lock file.")
		os.Exit(1)
	}
	sha := GitCommit
	if sha == "" {
		sha = "unknown"
	}
	log.Printf("Version: %v\tSHA: %v\n", Version, sha)
	if *showVersion {
		return
	}
	c := readConfig()
	if c.process == "" {
		log.Fatalln("Provide a valid process via fprocess environmental variable.")
	}
	server := &http.Server{
		Addr:           fmt.Sprintf(":%d", c.port),
		Handler:        handler(&c),
		ReadTimeout:    c.readTimeout,
		WriteTimeout:   c.writeTimeout,
		MaxHeaderBytes: 1 << 20,
	}
	log.Printf("Timeouts: read: %s write: %s hard: %s health: %s.\n",
		c.readTimeout, c.writeTimeout, c.execTimeout, c.healthEvery)
	log.Printf("Listening on port: %d\n", c.port)

	done := make(chan struct{})
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		log.Printf("SIGTERM: no new connections in %s\n", c.healthEvery)
		accepting.Store(false)
		os.Remove(lockPath())
		time.Sleep(c.healthEvery)
		ctx, cancel := context.WithTimeout(context.Background(), c.writeTimeout)
		defer cancel()
		if err := server.Shutdown(ctx); err != nil {
			log.Printf("Error in Shutdown: %v", err)
		}
		log.Println("Exiting.")
		close(done)
	}()
	go func() {
		if err := server.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			log.Printf("Error ListenAndServe: %v", err)
			os.Exit(1)
		}
	}()
	if !c.suppressLock {
		log.Printf("Writing lock-file to: %s\n", lockPath())
		if err := os.WriteFile(lockPath(), nil, 0o660); err != nil {
			log.Fatalf("Cannot write %s. To disable lock-file set env suppress_lock=true.\n Error: %s.\n", lockPath(), err)
		}
	}
	accepting.Store(true)
	<-done
}
